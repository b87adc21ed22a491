// The browser walk: starts the threadesk binary on a fresh SQLite file (with
// its demo data), then walks the seed manuals' flows in headless Chromium as
// several people, each in a browser context of their own:
//   Bob (requester) opens a ticket with a file and replies; Sam (staff)
//   answers; Bob invites Carol by e-mail; Carol accepts and replies, and Bob
//   sees "Client replied"; Bob revokes Carol, who is refused afterwards;
//   Alice (company ticket admin) finds the ticket in "Owned by
//   organization"; Bob closes the ticket and can no longer reply.
// Screenshots of the main pages go to test-output/browser/. Any failed
// check exits non-zero. Run from the repository root after `cargo build`:
//   node tests/browser/walk.mjs
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';

const root = resolve(new URL('../..', import.meta.url).pathname);
const bin = process.env.THREADESK_BIN ? resolve(process.env.THREADESK_BIN) : join(root, 'target/debug/threadesk');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = join(root, 'test-output/browser');
mkdirSync(shots, { recursive: true });

const work = mkdtempSync(join(tmpdir(), 'threadesk-walk-'));
const server = spawn(bin, [], {
  cwd: work,
  env: { PATH: process.env.PATH, LISTEN_ADDR: '127.0.0.1:0', RUST_LOG: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const exited = new Promise((done) => server.on('exit', (code, signal) => done({ code, signal })));
server.on('error', (e) => {
  console.error(`walk: cannot start ${bin}: ${e.message} (build it with cargo build --bin threadesk)`);
  process.exit(1);
});

// the start-up report names the address; it ends with the Discord line.
const base = await new Promise((done, fail) => {
  let seen = '';
  const timer = setTimeout(() => fail(new Error(`no start-up report: ${seen}`)), 60_000);
  server.stdout.on('data', (chunk) => {
    seen += chunk;
    const m = seen.match(/listening on (\S+)\)/);
    if (m && seen.includes('Discord:')) {
      clearTimeout(timer);
      done(`http://${m[1]}`);
    }
  });
  server.on('exit', (code) => fail(new Error(`threadesk exited (${code}) before serving: ${seen}`)));
});
console.log(`walk: portal at ${base}`);

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox'],
});
let failed = false;
try {
  const as = async (name) => {
    const context = await browser.newContext({ viewport: { width: 420, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/signin`);
    await page.getByRole('button', { name: `Continue as ${name}` }).click();
    // staff land on the queue, everybody else on their tickets.
    await page.waitForURL(new RegExp(`^${base}/(tickets|staff)$`));
    return page;
  };
  const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  const signin = await (await browser.newContext()).newPage();
  await signin.goto(`${base}/signin`);
  await shot(signin, '01-sign-in');

  // Bob opens a ticket with an attachment.
  const bob = await as('Bob Builder');
  await shot(bob, '02-my-tickets');
  await bob.getByRole('link', { name: 'Open a support ticket' }).first().click();
  await bob.fill('#subject', 'Laptop will not dock');
  await bob.selectOption('#department', { label: 'Technical support' });
  await bob.fill('#body', 'Since the update the dock is not detected.');
  const file = join(work, 'dock-log.txt');
  writeFileSync(file, 'usb 3-1: device not accepting address\n');
  const picture = join(work, 'dock.png');
  // a 1×1 PNG: shown as a thumbnail on the ticket.
  writeFileSync(picture, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'));
  await bob.setInputFiles('#files', [file, picture]);
  // the files chosen are listed before sending.
  await bob.locator('#files-chosen li', { hasText: 'dock-log.txt' }).waitFor();
  await bob.locator('#files-chosen li', { hasText: 'dock.png' }).waitFor();
  await shot(bob, '03-new-ticket');
  await bob.getByRole('button', { name: 'Create ticket' }).click();
  await bob.waitForURL(/\/tickets\/\d+\?done=opened/);
  const ticketUrl = bob.url().split('?')[0];
  const number = ticketUrl.split('/').pop();
  await assert.doesNotReject(bob.getByText(`#${number} Laptop will not dock`).waitFor());
  // the picture is drawn inline, through the same rights check.
  const thumb = bob.locator('a.thumb img').first();
  await thumb.waitFor();
  assert.ok(await thumb.evaluate((img) => img.complete && img.naturalWidth === 1), 'the thumbnail is drawn');
  await bob.getByRole('link', { name: 'dock-log.txt' }).waitFor();
  await shot(bob, '03b-ticket-with-thumbnail');
  // Markdown as chat users type it: bold, and a bare link made clickable.
  await bob.fill('#reply', 'It happens with **both** USB-C ports.\nSee https://example.com/dock-faq');
  await bob.getByRole('button', { name: 'Reply', exact: true }).click();
  await bob.locator('.msg .body', { hasText: 'It happens with both USB-C ports.' }).first().waitFor();
  await bob.locator('.msg .body strong', { hasText: 'both' }).waitFor();
  await bob.locator('.msg .body a[href="https://example.com/dock-faq"]').waitFor();

  // Sam (staff) answers from the queue, with an internal note.
  const sam = await as('Sam Support');
  await sam.getByRole('link', { name: 'Staff queue' }).click();
  // the queue at phone width: stacked rows, sortable by its columns.
  await sam.selectOption('#sort', { label: 'Newest activity' });
  await sam.getByRole('button', { name: 'Filter' }).click();
  await sam.waitForURL(/sort=-activity/);
  assert.ok(await sam.evaluate(() => document.documentElement.scrollWidth <= 420), 'the queue fits a phone');
  await shot(sam, '04a-staff-queue-phone');
  await sam.getByRole('link', { name: 'Laptop will not dock' }).click();
  await sam.fill('#reply', 'Thanks Bob. Which dock model is it?');
  await sam.getByRole('button', { name: 'Reply', exact: true }).click();
  await sam.fill('#reply', 'Firmware 2.1 breaks these docks.');
  await sam.getByRole('button', { name: 'Add internal note' }).click();
  await sam.locator('.msg .body', { hasText: 'Firmware 2.1 breaks these docks.' }).first().waitFor();
  await shot(sam, '04-staff-ticket');

  // Sam claims it, moves it to Billing; both are in its history, for staff.
  await sam.getByRole('button', { name: 'Claim' }).click();
  await sam.getByText('Owner saved.').waitFor();
  await sam.selectOption('#department', { label: 'Billing' });
  await sam.getByRole('button', { name: 'Move' }).click();
  await sam.getByText('Department: Billing').waitFor();
  await sam.locator('.change', { hasText: 'Sam Support took the ticket.' }).waitFor();
  await sam.locator('.change', { hasText: 'moved the ticket from Technical support to Billing' }).waitFor();
  await shot(sam, '04b-staff-claimed-and-moved');

  // Sam finds it again by a word from its messages, and by its number.
  await sam.getByRole('link', { name: 'Staff queue' }).click();
  await sam.fill('#q', 'firmware');
  await sam.getByRole('button', { name: 'Search', exact: true }).click();
  await sam.getByRole('heading', { name: 'Search' }).waitFor();
  await sam.getByRole('link', { name: 'Laptop will not dock' }).waitFor();
  await sam.getByText('Internal note:').first().waitFor();
  await shot(sam, '04c-staff-search');
  await sam.fill('#q', `#${number}`);
  await sam.getByRole('button', { name: 'Search', exact: true }).first().click();
  await sam.waitForURL(ticketUrl);

  // Bob sees the answer (not the note) and invites Carol by e-mail.
  await bob.goto(ticketUrl);
  await bob.locator('.msg .body', { hasText: 'Which dock model is it?' }).first().waitFor();
  assert.equal(await bob.locator('.msg .body', { hasText: 'Firmware 2.1' }).count(), 0, 'internal note leaked to the customer');
  assert.equal(await bob.locator('.change', { hasText: 'took the ticket' }).count(), 0, 'who owns it leaked to the customer');
  // a customer's search never finds what is in a note.
  await bob.goto(`${base}/search?q=firmware`);
  await bob.getByText('No tickets with those words.').waitFor();
  await bob.goto(ticketUrl);
  await bob.getByText('Awaiting your reply').first().waitFor();
  await bob.fill('#invite-email', 'carol@acme.example');
  await bob.getByRole('button', { name: 'Invite' }).click();
  await bob.getByRole('cell', { name: 'Invited' }).waitFor();

  // Carol accepts and replies.
  const carol = await as('Carol Chen');
  await carol.getByRole('link', { name: /Invitations/ }).click();
  await carol.getByText('Laptop will not dock').waitFor();
  await shot(carol, '05-invitation');
  await carol.getByRole('button', { name: 'Accept' }).first().click();
  await carol.waitForURL(/done=accepted/);
  await carol.fill('#reply', 'It is the Model 7 dock; I sit next to Bob.');
  await carol.getByRole('button', { name: 'Reply', exact: true }).click();
  await carol.locator('.msg .body', { hasText: 'It is the Model 7 dock' }).first().waitFor();
  await carol.goto(`${base}/tickets`);
  await carol.getByText('shared').first().waitFor();

  // Bob sees Client replied and Carol's reply, then revokes her.
  await bob.goto(ticketUrl);
  await bob.locator('.msg .body', { hasText: 'It is the Model 7 dock' }).first().waitFor();
  await bob.getByText('Client replied').first().waitFor();
  await bob.getByRole('cell', { name: 'Accepted' }).waitFor();
  await shot(bob, '06-ticket-with-delegate');
  await bob.getByRole('button', { name: 'Revoke' }).click();
  await bob.getByRole('cell', { name: 'Revoked' }).waitFor();

  // Carol is refused at once, and what she typed is not posted.
  const refused = await carol.goto(ticketUrl);
  assert.equal(refused.status(), 404, 'a revoked delegate must not see the ticket');
  // an error page in words, inside the portal's frame.
  await carol.getByRole('heading', { name: 'We could not find that' }).waitFor();
  await carol.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
  await shot(carol, '07-revoked-delegate');

  // Alice, company ticket admin, finds it under Owned by organization.
  const alice = await as('Alice Admin');
  await alice.selectOption('#scope', 'org');
  await alice.getByRole('button', { name: 'Show' }).click();
  await alice.getByRole('heading', { name: 'Owned by organization' }).waitFor();
  await alice.getByRole('link', { name: 'Laptop will not dock' }).waitFor();
  await shot(alice, '08-organization-view');

  // Bob closes the ticket; no more replies.
  await bob.goto(ticketUrl);
  await bob.getByText('Mark as Closed').click();
  await bob.getByRole('button', { name: `Yes, close ticket #${number}` }).click();
  await bob.getByText('This ticket is closed').waitFor();
  assert.equal(await bob.locator('#reply').count(), 0, 'a closed ticket still offers a reply box');
  await shot(bob, '09-closed-ticket');
  // Bob rates the help: the fourth star (its label, as a person clicks it).
  await bob.getByRole('heading', { name: 'How did we do?' }).waitFor();
  await bob.locator('label[for="score-4"]').click();
  assert.ok(await bob.locator('#score-4').isChecked(), 'the fourth star is chosen');
  await bob.fill('#rating-comment', 'Quick and *clear*');
  await shot(bob, '09a-rating-form');
  await bob.getByRole('button', { name: 'Send rating' }).click();
  await bob.getByText('Change my rating').waitFor();
  await bob.goto(`${base}/tickets?view=closed`);
  await bob.getByRole('link', { name: 'Laptop will not dock' }).waitFor();
  // Sam reads it in the report, at phone width too.
  await sam.goto(`${base}/staff/ratings`);
  await sam.getByRole('heading', { name: 'Ratings', exact: true }).waitFor();
  await sam.getByText('Quick and *clear*').waitFor();
  assert.ok(await sam.evaluate(() => document.documentElement.scrollWidth <= 420), 'the report fits a phone');
  await shot(sam, '10-ratings-report-phone');
  console.log(`walk: every flow passed; screenshots in ${shots}`);
} catch (e) {
  failed = true;
  console.error('walk: FAILED:', e);
} finally {
  await browser.close();
  server.kill('SIGTERM');
  const { code, signal } = await exited;
  rmSync(work, { recursive: true, force: true });
  if (code !== 0) {
    console.error(`walk: threadesk exited with ${code ?? signal} on SIGTERM`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
