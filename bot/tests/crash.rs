//! Killed at every step boundary of delivery, `threadesk` still posts each
//! message exactly once. A workload (two tickets: opened, answered, a note,
//! one closed) is written to a fresh database; then the binary delivers it
//! to a fake Slack, Discord or SMTP server with a crash point armed
//! (`THREADESK_CRASH_AT` with a `THREADESK_CRASH_LOG`): each process aborts,
//! as `kill -9` would, at the first step whose boundary was not crashed at
//! yet, and is started again, until one drains the outbox without reaching
//! a new one. So every step's boundary (intent written but call not made;
//! platform accepted but nothing recorded; recorded but intent open) is
//! crashed at once. What the platform holds at the end is
//! compared with an uninterrupted run of the same workload.

mod support;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use threadesk_core::domain::PlatformIdentity;
use threadesk_core::engine::NewMessage;
use threadesk_core::faults;
use threadesk_core::outbox::{Outbox, PARALLEL};
use threadesk_core::testing::{harness, Harness, Kind};
use threadesk_core::Ctx;

/// The lease the processes run with: a crashed one's events are taken up
/// again this soon.
const LEASE_MS: &str = "300";

/// The workload: Bob opens two tickets; on the first staff answer, Bob
/// answers back, staff add a note and close it; the second gets an answer.
async fn workload(h: &Harness, bob: PlatformIdentity, consumer: &str) {
    Outbox::new(h.engine.db().clone())
        .register(consumer)
        .await
        .unwrap();
    let staff = h.staff("Sam Staff").await;
    let bob = h
        .engine
        .ensure_person(&bob, "Bob Builder")
        .await
        .unwrap()
        .id;
    let a = h.open(bob, "VPN down").await.ticket.id;
    h.reply(staff, a, "Which office are you in?").await.unwrap();
    h.reply(bob, a, "Berlin, third floor").await.unwrap();
    h.engine
        .note(
            &Ctx::new(staff),
            a,
            NewMessage::text("Known outage in Berlin"),
        )
        .await
        .unwrap();
    h.engine.close(&Ctx::new(staff), a).await.unwrap();
    let b = h.open(bob, "Printer jams").await.ticket.id;
    h.reply(staff, b, "Try the other tray").await.unwrap();
}

/// Runs `threadesk` on the harness's database until `consumer` has nothing
/// pending, restarting it after each crash; with `point`, each process
/// crashes there in the first step not crashed in before. Returns the
/// crashes.
fn deliver_through_crashes(
    h: &Harness,
    rt: &tokio::runtime::Runtime,
    consumer: &str,
    env: &[(&str, String)],
    point: Option<&str>,
    parallel: usize,
) -> usize {
    let dir = tempfile::tempdir().expect("dir");
    let pending = || {
        rt.block_on(Outbox::new(h.engine.db().clone()).lag(consumer))
            .expect("lag")
            .pending
    };
    let mut crashes = 0;
    for i in 1..=400 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_threadesk"));
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &h.url)
            .env("OUTBOX_LEASE_MS", LEASE_MS)
            .env("OUTBOX_PARALLEL", parallel.to_string())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = point {
            cmd.env(faults::VARIABLE, p)
                .env(faults::LOG_VARIABLE, dir.path().join("crashed"));
        }
        let mut child = cmd.spawn().expect("threadesk starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                assert_eq!(
                    status.signal(),
                    Some(6),
                    "process {i} ended otherwise than at its crash point: {status}"
                );
                crashes += 1;
                break;
            }
            if pending() == 0 {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let status = child.wait().expect("wait");
                assert!(status.success() || status.signal() == Some(6), "{status}");
                return crashes;
            }
            assert!(
                Instant::now() < deadline,
                "process {i} did not drain the outbox"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("400 processes did not drain the outbox");
}

/// What a run delivered (each thing, how often), how often it crashed,
/// and how many of the things were made by a step with crash points (a
/// Discord triage thread is not: Discord makes one per message at most).
type Delivered = (BTreeMap<String, usize>, usize, usize);

/// How often each thing appears.
/// How many times each thing arrived, with clock times blanked: a rating
/// deadline ("until 2026-12-07 18:17 UTC") is counted from when that run
/// closed the ticket, and runs compared here are a minute or more apart.
fn counted(items: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for i in items {
        *out.entry(timeless(&i)).or_insert(0) += 1;
    }
    out
}

/// `s` with each `YYYY-MM-DD HH:MM` replaced by `<time>`.
fn timeless(s: &str) -> String {
    let shape = b"dddd-dd-dd dd:dd";
    let bytes = s.as_bytes();
    let fits = |at: usize| {
        bytes.len() >= at + shape.len()
            && shape
                .iter()
                .zip(&bytes[at..])
                .all(|(want, got)| match want {
                    b'd' => got.is_ascii_digit(),
                    other => got == other,
                })
    };
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    while at < bytes.len() {
        if fits(at) {
            out.push_str("<time>");
            at += shape.len();
        } else {
            let c = s[at..].chars().next().expect("a char at a boundary");
            out.push(c);
            at += c.len_utf8();
        }
    }
    out
}

#[test]
fn clock_times_are_blanked_and_nothing_else() {
    assert_eq!(
        timeless("Rate the help (until 2026-12-07 18:17 UTC). 🔒 #1001"),
        "Rate the help (until <time> UTC). 🔒 #1001"
    );
    assert_eq!(timeless("2026-12-07 1817"), "2026-12-07 1817");
}

fn slack(point: Option<&str>, parallel: usize) -> Delivered {
    use threadesk_slack::testing::FakeSlack;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeSlack::start());
    fake.add_user("UBOB", "Bob Builder", "T1");
    let h = rt.block_on(harness(Kind::Sqlite));
    rt.block_on(workload(&h, PlatformIdentity::slack("T1", "UBOB"), "slack"));
    let env = [
        ("SLACK_BOT_TOKEN", "xoxb-test".to_owned()),
        ("SLACK_SIGNING_SECRET", "a-signing-secret".to_owned()),
        ("SLACK_API_URL", fake.api_url.clone()),
        ("SLACK_STAFF_CHANNEL", "CSTAFF".to_owned()),
    ];
    let crashes = deliver_through_crashes(&h, &rt, "slack", &env, point, parallel);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    // each post: where (channel, top or thread) and what.
    let posts = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "chat.postMessage" && c.answer["ok"] == true)
        .map(|c| {
            format!(
                "{} {} {}",
                c.args["channel"].as_str().unwrap_or_default(),
                if c.args["thread_ts"].is_string() {
                    "thread"
                } else {
                    "top"
                },
                c.args["text"].as_str().unwrap_or_default()
            )
        });
    let posts = counted(posts);
    let steps = posts.len();
    (posts, crashes, steps)
}

fn discord(point: Option<&str>, parallel: usize) -> Delivered {
    use threadesk_discord::testing::{FakeDiscord, GUILD, STAFF_CHANNEL, SUPPORT_CHANNEL};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeDiscord::start());
    let h = rt.block_on(harness(Kind::Sqlite));
    rt.block_on(workload(
        &h,
        PlatformIdentity::discord(GUILD, "700000000000000001"),
        "discord",
    ));
    let dir = tempfile::tempdir().expect("dir");
    let env = fake.settings_in(dir.path());
    let crashes = deliver_through_crashes(&h, &rt, "discord", &env, point, parallel);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    // each message: the channel or thread it is in (by name; ids differ
    // between runs) and what it shows.
    let posts = fake.messages().into_iter().map(|m| {
        let channel = m["channel_id"].as_str().unwrap_or_default();
        let name = |id: &str| {
            fake.channel(id)
                .map(|c| match (c.recipient, c.parent) {
                    (Some(r), _) => format!("dm:{r}"),
                    (None, Some(p)) => format!(
                        "{}/{}",
                        fake.channel(&p).map(|p| p.name).unwrap_or(p),
                        c.name
                    ),
                    (None, None) => c.name,
                })
                .unwrap_or_else(|| id.to_owned())
        };
        let place = name(channel);
        format!("{place} {} {}", m["content"], m["embeds"])
    });
    // and each thread made (a ticket's private thread, a triage thread).
    let threads = [SUPPORT_CHANNEL, STAFF_CHANNEL]
        .into_iter()
        .flat_map(|parent| fake.threads_in(parent))
        .map(|(_, t)| format!("thread {} {}", t.parent.unwrap_or_default(), t.name));
    let all = counted(posts.chain(threads));
    let triage_threads = fake.threads_in(STAFF_CHANNEL).len();
    let steps = all.len() - triage_threads;
    (all, crashes, steps)
}

fn email(point: Option<&str>, parallel: usize) -> Delivered {
    use threadesk_email::testing::SmtpSink;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sink = rt.block_on(SmtpSink::start());
    let h = rt.block_on(harness(Kind::Sqlite));
    rt.block_on(workload(
        &h,
        PlatformIdentity::email("bob@acme.example"),
        "email",
    ));
    let env = [
        ("SMTP_URL", sink.url()),
        (
            "MAIL_FROM",
            "Acme Support <help@support.example>".to_owned(),
        ),
        ("MAIL_REPLY_DOMAIN", "reply.support.example".to_owned()),
        ("MAIL_TOKEN_SECRET", "a-test-token-secret".to_owned()),
    ];
    let crashes = deliver_through_crashes(&h, &rt, "email", &env, point, parallel);
    // each mail by recipient and Message-ID.
    let mails = sink.received().into_iter().map(|m| {
        format!(
            "{} {}",
            m.rcpt_to.join(","),
            m.header("Message-ID").unwrap_or_default()
        )
    });
    let mails = counted(mails);
    let steps = mails.len();
    (mails, crashes, steps)
}

/// Crashes at `point` through the whole workload; what arrived is what an
/// uninterrupted run delivers, each once.
fn exactly_once(platform: &str, run: fn(Option<&str>, usize) -> Delivered, point: &str) {
    let (baseline, none, steps) = run(None, PARALLEL);
    assert_eq!(none, 0);
    assert!(baseline.len() >= 10, "the workload posts: {baseline:#?}");
    assert!(
        baseline.values().all(|n| *n == 1),
        "an uninterrupted run posts each thing once: {baseline:#?}"
    );
    // one event at a time: a kill lands at each step in turn.
    let (crashed, crashes, _) = run(Some(point), 1);
    assert!(
        crashes >= steps,
        "{platform}: crashed at each of its {steps} steps at {point}, not {crashes} times"
    );
    assert_eq!(crashed, baseline, "{platform}: killed at {point}");
    // several tickets' events at once, as a replica delivers them: each
    // kill lands at whichever step reaches the point first, with others
    // in flight.
    let (together, kills, _) = run(Some(point), PARALLEL);
    assert!(kills >= 1, "{platform}: never killed at {point}");
    assert_eq!(
        together, baseline,
        "{platform}: killed at {point} delivering {PARALLEL} at once"
    );
    println!(
        "CRASH {platform} {point} kills={crashes}+{kills} delivered={} duplicates=0 lost=0",
        baseline.len()
    );
}

#[test]
fn slack_killed_before_each_call() {
    exactly_once("slack", slack, faults::BEFORE_CALL);
}

#[test]
fn slack_killed_after_slack_accepted_each_call() {
    exactly_once("slack", slack, faults::AFTER_CALL);
}

#[test]
fn slack_killed_after_each_record() {
    exactly_once("slack", slack, faults::AFTER_RECORD);
}

#[test]
fn discord_killed_before_each_call() {
    exactly_once("discord", discord, faults::BEFORE_CALL);
}

#[test]
fn discord_killed_after_discord_accepted_each_call() {
    exactly_once("discord", discord, faults::AFTER_CALL);
}

#[test]
fn discord_killed_after_each_record() {
    exactly_once("discord", discord, faults::AFTER_RECORD);
}

/// E-mail: SMTP cannot be asked whether a mail got through, so a crash
/// after the server accepted it and before the record sends it again, with
/// the same `Message-ID` (the event's and the recipient's), which mail
/// clients show once. Every mail arrives under its one id, none is lost,
/// and only the crash after acceptance repeats one.
fn mail_once(point: &str) {
    let (baseline, _, _) = email(None, PARALLEL);
    assert!(baseline.len() >= 5, "the workload mails: {baseline:#?}");
    assert!(baseline.values().all(|n| *n == 1), "{baseline:#?}");
    // SMTP cannot be asked, so mail goes out one at a time whatever
    // OUTBOX_PARALLEL says: a kill lands at each mail in turn.
    let (crashed, crashes, _) = email(Some(point), PARALLEL);
    assert!(crashes >= baseline.len(), "crashed {crashes} times");
    assert_eq!(
        crashed.keys().collect::<Vec<_>>(),
        baseline.keys().collect::<Vec<_>>(),
        "the same mails under the same Message-IDs, killed at {point}"
    );
    let repeats: usize = crashed.values().map(|n| n - 1).sum();
    if point == faults::AFTER_CALL {
        assert!(
            repeats <= crashes,
            "{repeats} repeats for {crashes} crashes"
        );
    } else {
        assert_eq!(repeats, 0, "killed at {point}: {crashed:#?}");
    }
    println!(
        "CRASH email {point} kills={crashes} delivered={} repeats_with_same_message_id={repeats} lost=0",
        baseline.len()
    );
}

#[test]
fn email_killed_before_each_send() {
    mail_once(faults::BEFORE_CALL);
}

#[test]
fn email_killed_after_the_server_accepted_each_mail() {
    mail_once(faults::AFTER_CALL);
}

#[test]
fn email_killed_after_each_record() {
    mail_once(faults::AFTER_RECORD);
}

/// Automatic closing killed with a step written but not committed, and
/// again with it committed: each quiet customer is reminded once and each
/// ticket closes once. The history is written "days ago" by the test's
/// engine (its clock moved back), so the binary, on the real clock, finds
/// two reminders and two closings due; each process dies at the first
/// step it has not died at yet, and is started again.
fn auto_close_once(point: &str) {
    use std::time::Duration as D;
    use threadesk_core::autoclose::AutoClose;
    use threadesk_core::domain::Status;
    use threadesk_core::testing::harness_with;
    const DAY: D = D::from_secs(24 * 3600);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let settings = threadesk_core::Settings {
        auto_close: AutoClose::parse("1d/1d").unwrap(),
        ..Default::default()
    };
    let h = rt.block_on(harness_with(Kind::Sqlite, settings, 4));
    let (remind, close) = rt.block_on(async {
        let sam = h.staff("Sam Staff").await;
        let bob = h.person("Bob").await;
        h.engine.clock().rewind(3 * DAY);
        let mut tickets = vec![];
        for subject in ["VPN", "Printer", "Mail", "Badge"] {
            let t = h.open(bob, subject).await.ticket.id;
            h.reply(sam, t, "Does this help?").await.unwrap();
            tickets.push(t);
        }
        // the last two were reminded two days ago: they are due to close.
        h.engine.clock().advance(DAY + D::from_secs(60));
        let first = h.engine.run_auto_close(10).await.unwrap();
        assert_eq!(first.reminded, 4);
        let (remind, close) = tickets.split_at(2);
        // the first two answered later by staff again: reminders due.
        for t in remind {
            h.reply(sam, *t, "Any news?").await.unwrap();
        }
        (remind.to_vec(), close.to_vec())
    });
    let count = |kind: &str, t: threadesk_core::TicketId| -> i64 {
        rt.block_on(
            sqlx::query_scalar(
                "select count(*) from outbox_events where ticket_id = $1 and kind = $2",
            )
            .bind(t.0)
            .bind(kind)
            .fetch_one(h.engine.db().pool()),
        )
        .expect("count")
    };
    let done = || {
        remind.iter().all(|t| count("auto_close_reminder", *t) >= 2)
            && close.iter().all(|t| count("ticket_closed", *t) >= 1)
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut crashes = 0;
    for i in 1..=20 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_threadesk"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &h.url)
            .env("AUTO_CLOSE", "1d/1d")
            .env(faults::VARIABLE, point)
            .env(faults::LOG_VARIABLE, dir.path().join("crashed"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("threadesk starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        let finished = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                assert_eq!(status.signal(), Some(6), "process {i}: {status}");
                crashes += 1;
                break false;
            }
            if done() {
                // a little longer: a step done twice would show now.
                std::thread::sleep(Duration::from_millis(300));
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let status = child.wait().expect("wait");
                assert!(status.success() || status.signal() == Some(6), "{status}");
                // killed after the last step's commit: it was done (and
                // seen done) just before the process aborted.
                if status.signal() == Some(6) {
                    crashes += 1;
                }
                break true;
            }
            assert!(
                Instant::now() < deadline,
                "process {i} did not do the due steps"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        if finished {
            break;
        }
    }
    assert!(done(), "20 processes did not do the due steps");
    assert_eq!(crashes, 4, "one crash at each of the four steps");
    for t in &remind {
        assert_eq!(count("auto_close_reminder", *t), 2, "reminded once more");
        assert_eq!(count("ticket_closed", *t), 0);
    }
    for t in &close {
        assert_eq!(count("auto_close_reminder", *t), 1);
        assert_eq!(count("ticket_closed", *t), 1, "closed once");
        let status: String = rt
            .block_on(
                sqlx::query_scalar("select status from tickets where id = $1")
                    .bind(t.0)
                    .fetch_one(h.engine.db().pool()),
            )
            .unwrap();
        assert_eq!(status, Status::Closed.as_str());
    }
}

#[test]
fn automatic_closing_killed_before_each_commit() {
    auto_close_once(threadesk_core::engine::BEFORE_COMMIT);
}

#[test]
fn automatic_closing_killed_after_each_commit() {
    auto_close_once(threadesk_core::engine::AFTER_COMMIT);
}

/// A delivery writes nothing down before its calls (its attempt number
/// says whether one may have been made before), so a step outside it
/// that makes the same thing must learn of it another way: killed after
/// Slack took Bob's card, and before the event is handed out again (its
/// lease still held by the dead process), Bob's `/ticket show` in the
/// next process makes his card. It asks Slack first (the ticket has an
/// event claimed and not acknowledged), finds the card and takes it: one
/// card, each message copied once, and the retry after the lease adds
/// nothing.
#[test]
fn a_follow_after_a_crash_finds_the_card_the_dead_process_posted() {
    use support::{post_slack, terminate, threadesk, wait_exit, wait_for_portal};
    use threadesk_core::domain::Platform;
    use threadesk_core::surfaces::Audience;
    use threadesk_slack::testing::{form_encode, FakeSlack};
    const LEASE: &str = "20000";
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeSlack::start());
    fake.add_user("UBOB", "Bob Builder", "T1");
    let h = rt.block_on(harness(Kind::Sqlite));
    let (bob, ticket) = rt.block_on(async {
        let bob = support::slack_bob(&h).await;
        let opened = h.open(bob, "VPN down").await;
        (bob, opened.ticket)
    });
    let secret = "a-signing-secret";
    let dir = tempfile::tempdir().expect("dir");
    let start = |crash: bool| {
        let mut cmd = threadesk(dir.path());
        cmd.env("DATABASE_URL", &h.url)
            .env("OUTBOX_LEASE_MS", LEASE)
            .env("SLACK_BOT_TOKEN", "xoxb-test")
            .env("SLACK_SIGNING_SECRET", secret)
            .env("SLACK_API_URL", &fake.api_url)
            .env("SLACK_STAFF_CHANNEL", "CSTAFF")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if crash {
            cmd.env(faults::VARIABLE, faults::AFTER_CALL).env(
                faults::STEP_VARIABLE,
                format!("card:{}:p{}", ticket.id.0, bob.0),
            );
        }
        cmd.spawn().expect("threadesk starts")
    };
    let cards = || fake.posts("DUBOB", None);
    let attempts = || -> i64 {
        rt.block_on(
            sqlx::query_scalar(
                "select attempts from outbox_deliveries where consumer = 'slack' and ticket_key = $1",
            )
            .bind(ticket.id.0)
            .fetch_one(h.engine.db().pool()),
        )
        .expect("the opening still pending")
    };

    let mut first = start(true);
    let status = wait_exit(&mut first);
    assert_eq!(status.signal(), Some(6), "killed after the card: {status}");
    assert_eq!(cards().len(), 1, "Slack took the card: {:?}", fake.calls());
    assert_eq!(attempts(), 1);

    let mut second = start(false);
    let (addr, _) = wait_for_portal(&mut second);
    let body = form_encode(&[
        ("team_id", "T1"),
        ("channel_id", "CGENERAL"),
        ("user_id", "UBOB"),
        ("command", "/ticket"),
        ("text", &format!("show {}", ticket.number)),
        ("trigger_id", "trigger-1"),
        ("response_url", &fake.response_url()),
    ]);
    let (status, answer) = post_slack(&addr, "/slack/commands", secret, &body);
    assert!(status.contains("200"), "{status} {answer}");
    let surface = || {
        rt.block_on(h.engine.system().surface_for(
            ticket.id,
            Platform::Slack,
            Audience::Person(bob),
        ))
        .expect("surface")
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let card = loop {
        if let Some(s) = surface() {
            break s;
        }
        assert!(Instant::now() < deadline, "no card: {:?}", fake.calls());
        std::thread::sleep(Duration::from_millis(50));
    };
    // the follow came before the event was handed out again.
    assert_eq!(attempts(), 1, "the lease had lapsed: the test was too slow");
    assert_eq!(cards().len(), 1, "the follow took the dead process's card");
    assert_eq!(card.card.message_id, cards()[0].answer["ts"]);

    // the retry, once the lease lapses, finds everything done.
    let pending = || {
        rt.block_on(Outbox::new(h.engine.db().clone()).lag("slack"))
            .expect("lag")
            .pending
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending() > 0 {
        assert!(Instant::now() < deadline, "the retry did not deliver");
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(&second);
    assert!(wait_exit(&mut second).success());
    assert_eq!(cards().len(), 1, "one card: {:?}", fake.calls());
    let copies = counted(
        fake.posts("DUBOB", Some(&card.card.message_id))
            .into_iter()
            .map(|c| c.args["text"].as_str().unwrap_or_default().to_owned()),
    );
    assert!(!copies.is_empty(), "the history was copied");
    assert!(copies.values().all(|n| *n == 1), "each once: {copies:#?}");
    assert_eq!(fake.posts("CSTAFF", None).len(), 1, "one staff card");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
