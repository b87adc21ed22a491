//! The seed manuals' flows, through the portal's routes.

use crate::helpers::{backends, files_in, Site};
use axum::http::{header, StatusCode};
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::testing::Kind;

#[apply(backends)]
#[tokio::test]
async fn a_visitor_without_a_session_is_sent_to_sign_in_and_the_form_needs_its_token(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    // a second browser without a session.
    let mut anon = crate::helpers::Browser::from_site(&site);
    let page = anon.get("/tickets").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/signin"));
    let forged = anon
        .post_raw(
            "/signin",
            &[("csrf", &b.csrf), ("person", &bob.0.to_string())],
        )
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "another session's token is refused"
    );
    assert!(anon.get("/tickets").await.status == StatusCode::SEE_OTHER);
    // signing out ends the session.
    let out = b.post("/signout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/tickets").await.status, StatusCode::SEE_OTHER);
}

#[apply(backends)]
#[tokio::test]
async fn a_customer_opens_a_ticket_with_a_file_and_downloads_it_safely(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let page = b
        .post_files(
            "/tickets",
            &[
                ("subject", "VPN drops"),
                ("body", "Every hour since Monday."),
            ],
            &[(
                "files",
                "log <1>.html",
                "text/html",
                b"<script>alert(1)</script>",
            )],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location.unwrap();
    assert!(
        location.starts_with("/tickets/1001?done=opened"),
        "{location}"
    );
    let ticket = b.get(&location).await;
    assert_eq!(ticket.status, StatusCode::OK);
    assert!(ticket.shows("#1001 VPN drops"));
    assert!(ticket.shows("Every hour since Monday."));
    assert!(ticket.shows("Your ticket is open"));
    assert!(ticket.shows("log &lt;1&gt;.html"));
    let at = ticket
        .body
        .find("/tickets/1001/files/")
        .expect("a file link");
    let link: String = ticket.body[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let file = b.get(&link).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, "<script>alert(1)</script>");
    let h = |name| file.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h(header::CONTENT_TYPE), "application/octet-stream");
    assert!(h(header::CONTENT_DISPOSITION).starts_with("attachment; filename="));
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    // listed under My tickets, Active.
    let list = b.get("/tickets").await;
    assert!(list.shows("VPN drops") && list.shows("#1001"));
    assert!(!b.get("/tickets?view=closed").await.shows("VPN drops"));
}

#[apply(backends)]
#[tokio::test]
async fn bad_input_comes_back_with_everything_typed(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let page = b
        .post_files(
            "/tickets",
            &[("subject", "   "), ("body", "my long careful text")],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.shows("The subject cannot be empty"));
    assert!(
        page.shows("my long careful text"),
        "the message is not lost"
    );
    let n = b.open("Printer", "It jams.").await;
    let empty = b
        .post_files(&format!("/tickets/{n}/reply"), &[("body", "  ")], &[])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.shows("The message cannot be empty"));
    let subject = b
        .post(
            &format!("/tickets/{n}/subject"),
            &[("subject", &"x".repeat(201))],
        )
        .await;
    assert_eq!(subject.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(subject.shows("the limit is 200"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_and_customer_talk_and_statuses_follow(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let mut s = site.browser(site.staff).await;
    let n = b.open("VPN drops", "Every hour.").await;
    let queue = s.get("/staff").await;
    assert!(queue.shows("VPN drops"));
    let reply = s
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "Which version?")],
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let note = s
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "looks like the 4.2 bug"), ("internal", "1")],
            &[],
        )
        .await;
    assert_eq!(note.status, StatusCode::SEE_OTHER);
    let seen = b.get(&format!("/tickets/{n}")).await;
    assert!(seen.shows("Which version?"));
    assert!(seen.shows("Awaiting your reply"));
    assert!(!seen.shows("4.2 bug"), "internal notes stay with staff");
    assert!(s.get(&format!("/tickets/{n}")).await.shows("4.2 bug"));
    b.post_files(&format!("/tickets/{n}/reply"), &[("body", "4.1.7")], &[])
        .await;
    assert!(s
        .get(&format!("/tickets/{n}"))
        .await
        .shows("Client replied"));
    let set = s
        .post(&format!("/tickets/{n}/status"), &[("status", "on_hold")])
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert!(b.get(&format!("/tickets/{n}")).await.shows("On hold"));
    // customers cannot set a status or write notes.
    let refused = b
        .post(&format!("/tickets/{n}/status"), &[("status", "open")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let sneaky = b
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "sneaky"), ("internal", "1")],
            &[],
        )
        .await;
    assert_eq!(sneaky.status, StatusCode::FORBIDDEN);
    assert!(sneaky.shows("sneaky"), "the refused text is shown back");
    assert!(!s.get(&format!("/tickets/{n}")).await.shows("sneaky"));
}

#[apply(backends)]
#[tokio::test]
async fn a_delegate_accepts_replies_and_loses_access_when_revoked(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let dana = site
        .customer("Dana Delegate", "dana@partner.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let mut d = site.browser(dana).await;
    let n = b.open("Renewal", "Please renew.").await;
    assert!(
        b.get(&format!("/tickets/{n}"))
            .await
            .shows("E-mail is off on this deployment"),
        "the invite form says no mail will go out"
    );
    let mut s = site.browser(site.staff).await;
    s.post_files(
        &format!("/tickets/{n}/reply"),
        &[("body", "Which plan?")],
        &[],
    )
    .await;
    let invited = b
        .post(
            &format!("/tickets/{n}/delegates"),
            &[("email", "dana@partner.example")],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER, "{}", invited.body);
    let after = b.get(invited.location.as_deref().unwrap()).await;
    assert!(after.shows("Invited"));
    // e-mail is off in this portal: it does not claim a mail went out.
    assert!(!after.shows("Invitation sent."), "{}", after.body);
    assert!(after.shows("no mail was sent"), "{}", after.body);
    // an address nobody has yet: the panel says what the invitee must do.
    let nobody = b
        .post(
            &format!("/tickets/{n}/delegates"),
            &[("email", "new.person@partner.example")],
        )
        .await;
    assert_eq!(nobody.status, StatusCode::SEE_OTHER);
    let panel = b.get(&format!("/tickets/{n}")).await;
    assert!(
        panel.shows("No account yet, and e-mail is off here: they accept once they sign in to the portal with this address."),
        "{}",
        panel.body
    );
    // an invitee sees only the subject until they accept.
    assert_eq!(
        d.get(&format!("/tickets/{n}")).await.status,
        StatusCode::NOT_FOUND
    );
    let inv = d.get("/invitations").await;
    assert!(inv.shows("Renewal"));
    // every page's frame counts the invitations waiting (read with the
    // session's check).
    for page in [&inv, &d.get("/tickets").await] {
        assert!(page.body.contains("Invitations (1)</a>"), "{}", page.body);
    }
    let at = inv.body.find("/invitations/").unwrap();
    let accept: String = inv.body[at..].chars().take_while(|c| *c != '"').collect();
    assert!(accept.ends_with("/accept"));
    let accepted = d.post(&accept, &[]).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    let followed = d.get(&format!("/tickets/{n}")).await;
    assert!(
        followed.body.contains("Invitations</a>"),
        "{}",
        followed.body
    );
    d.post_files(
        &format!("/tickets/{n}/reply"),
        &[("body", "I can help")],
        &[],
    )
    .await;
    let seen = b.get(&format!("/tickets/{n}")).await;
    assert!(seen.shows("I can help") && seen.shows("Accepted"));
    assert!(seen.shows("Client replied"));
    assert!(
        d.get("/tickets").await.shows("shared with you"),
        "shared tickets are marked in words"
    );
    // revoke: immediate.
    let at = seen.body.find("/delegates/").unwrap();
    let tail: String = seen.body[at..].chars().take_while(|c| *c != '"').collect();
    let revoked = b.post(&format!("/tickets/{n}{tail}"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(
        d.get(&format!("/tickets/{n}")).await.status,
        StatusCode::NOT_FOUND
    );
    let late = d
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "still here?")],
            &[],
        )
        .await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
    assert!(!b.get(&format!("/tickets/{n}")).await.shows("still here?"));
}

#[apply(backends)]
#[tokio::test]
async fn a_closed_ticket_refuses_replies_and_offers_the_text_as_a_new_ticket(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Done soon", "Thanks.").await;
    let closed = b.post(&format!("/tickets/{n}/close"), &[]).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let page = b.get(closed.location.as_deref().unwrap()).await;
    assert!(page.shows("This ticket is closed"));
    assert_eq!(
        page.body.matches("class=\"notice\"").count(),
        1,
        "one notice says it is closed: {}",
        page.body
    );
    assert!(!page.shows("Your reply"), "no reply box on a closed ticket");
    let late = b
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "one more thing")],
            &[],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.shows("is closed"));
    assert!(late.shows("Open a support ticket"), "the new-ticket form");
    assert!(late.shows("one more thing"), "what they wrote is kept");
    assert!(late.shows("Follow-up to Done soon"));
    assert!(b.get("/tickets?view=closed").await.shows("Done soon"));
    let edit = b
        .post(&format!("/tickets/{n}/subject"), &[("subject", "Changed")])
        .await;
    assert_eq!(edit.status, StatusCode::CONFLICT);
}

#[apply(backends)]
#[tokio::test]
async fn authors_edit_their_own_messages_and_nobody_else_s(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let mut s = site.browser(site.staff).await;
    let n = b.open("Typo", "Teh printer.").await;
    let page = b.get(&format!("/tickets/{n}")).await;
    let at = page.body.find("/messages/").unwrap();
    let tail: String = page.body[at..].chars().take_while(|c| *c != '"').collect();
    let edited = b
        .post(&format!("/tickets/{n}{tail}"), &[("body", "The printer.")])
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/tickets/{n}")).await;
    assert!(page.shows("The printer.") && page.shows("edited"));
    assert!(page.shows("Earlier versions (1)") && page.shows("Teh printer."));
    let refused = s
        .post(&format!("/tickets/{n}{tail}"), &[("body", "Staff rewrite")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.shows("Staff rewrite"),
        "the refused text is shown back"
    );
    let subject = b
        .post(
            &format!("/tickets/{n}/subject"),
            &[("subject", "Printer typo")],
        )
        .await;
    assert_eq!(subject.status, StatusCode::SEE_OTHER);
    assert!(b.get(&format!("/tickets/{n}")).await.shows("Printer typo"));
}

#[apply(backends)]
#[tokio::test]
async fn company_admins_get_the_organization_view_from_staff(kind: Kind) {
    let site = Site::new(kind).await;
    let alice = site
        .customer("Alice Admin", "alice@acme.example", true)
        .await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut a = site.browser(alice).await;
    let mut b = site.browser(bob).await;
    let mut s = site.browser(site.staff).await;
    let n = b.open("Bob's issue", "Details.").await;
    assert_eq!(
        a.get(&format!("/tickets/{n}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get("/tickets?scope=org").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!a.get("/tickets").await.shows("Owned by organization"));
    let granted = s
        .post(
            &format!("/staff/people/{}/company-admin", alice.0),
            &[("admin", "1"), ("back", "/staff/people")],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER);
    let org = a.get("/tickets?scope=org").await;
    assert_eq!(org.status, StatusCode::OK);
    assert!(org.shows("Bob&#39;s issue") || org.shows("Bob's issue"));
    assert!(a.get("/tickets").await.shows("Owned by organization"));
    let reply = a
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "Adding context")],
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let revoked = s
        .post(
            &format!("/staff/people/{}/company-admin", alice.0),
            &[("admin", "0"), ("back", &format!("/tickets/{n}"))],
        )
        .await;
    assert_eq!(
        revoked.location.as_deref(),
        Some(format!("/tickets/{n}?done=admin").as_str())
    );
    assert_eq!(
        a.get(&format!("/tickets/{n}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[apply(backends)]
#[tokio::test]
async fn staff_manage_departments_and_customers_choose_them(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let mut s = site.browser(site.staff).await;
    assert!(!b.get("/tickets/new").await.shows("Department"));
    let made = s.post("/staff/departments", &[("name", "Billing")]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let form = b.get("/tickets/new").await;
    assert!(form.shows("Department") && form.shows("Billing"));
    let people = s.get("/staff/people").await;
    assert!(people.shows("Bob Builder") && people.shows("Billing"));
    let at = people.body.find("/staff/departments/").unwrap();
    let tail: String = people.body[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let id = tail
        .trim_start_matches("/staff/departments/")
        .split('/')
        .next()
        .unwrap();
    let renamed = s
        .post(
            &format!("/staff/departments/{id}/rename"),
            &[("name", "Invoices")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let page = b
        .post_files(
            "/tickets",
            &[
                ("subject", "VAT"),
                ("body", "Wrong VAT."),
                ("department", id),
            ],
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let ticket = b.get(page.location.as_deref().unwrap()).await;
    assert!(ticket.shows("Department: Invoices"));
    let off = s
        .post(
            &format!("/staff/departments/{id}/active"),
            &[("active", "0")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(!b.get("/tickets/new").await.shows("Invoices"));
    let queue = s.get(&format!("/staff?department={id}")).await;
    assert!(queue.shows("VAT"));
}

#[apply(backends)]
#[tokio::test]
async fn pages_escape_user_content(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob <b>Builder</b>", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b
        .open("<img src=x onerror=alert(1)>", "<script>alert(2)</script>")
        .await;
    let page = b.get(&format!("/tickets/{n}")).await;
    assert!(!page.body.contains("<img src=x"));
    assert!(!page.body.contains("<script>alert(2)"));
    assert!(page.shows("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(!page.body.contains("<b>Builder</b>"));
    // the Markdown chat users type shows as they meant it, nothing more.
    let reply = b
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[(
                "body",
                "Steps:\n- **restart** it\n- see https://help.example/a?b=1&c=2\n\n> quoted\n[x](javascript:alert(3))",
            )],
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("/tickets/{n}")).await;
    assert!(
        page.shows("<ul><li><strong>restart</strong> it</li>"),
        "{}",
        page.body
    );
    assert!(page.shows(
        "<a href=\"https://help.example/a?b=1&amp;c=2\" rel=\"nofollow noopener noreferrer\">"
    ));
    assert!(
        page.shows("<blockquote><p>quoted</p></blockquote><p>[x](javascript:alert(3))</p>"),
        "{}",
        page.body
    );
    assert!(!page.shows("href=\"javascript"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_manage_people_and_organizations_and_invitees_may_decline(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let carol = site
        .customer("Carol Chen", "carol@acme.example", false)
        .await;
    let mut s = site.browser(site.staff).await;
    let made = s.post("/staff/organizations", &[("name", "Globex")]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let globex = site
        .h
        .engine
        .organizations()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "Globex")
        .expect("created");
    let moved = s
        .post(
            &format!("/staff/people/{}/organization", bob.0),
            &[("org", &globex.id.0.to_string())],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let staffed = s
        .post(
            &format!("/staff/people/{}/staff", carol.0),
            &[("staff", "1")],
        )
        .await;
    assert_eq!(staffed.status, StatusCode::SEE_OTHER);
    let people = s.get("/staff/people?done=saved").await;
    assert!(people.shows("Saved.") && people.shows("Globex"));
    assert_eq!(
        site.h.engine.person(bob).await.unwrap().person.org_id,
        Some(globex.id)
    );
    assert!(site.h.engine.person(carol).await.unwrap().person.is_staff);
    // staff cannot drop their own membership from the page either.
    let own = s
        .post(
            &format!("/staff/people/{}/staff", site.staff.0),
            &[("staff", "0")],
        )
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT);

    // an invitation can be declined; the ticket stays hidden.
    let dana = site.customer("Dana", "dana@partner.example", false).await;
    let mut b = site.browser(bob).await;
    let mut d = site.browser(dana).await;
    let n = b.open("Renewal", "Please renew.").await;
    b.post(
        &format!("/tickets/{n}/delegates"),
        &[("email", "dana@partner.example")],
    )
    .await;
    let inv = d.get("/invitations").await;
    let at = inv.body.find("/invitations/").unwrap();
    let accept: String = inv.body[at..].chars().take_while(|c| *c != '"').collect();
    let decline = accept.replace("/accept", "/decline");
    assert_eq!(d.post(&decline, &[]).await.status, StatusCode::SEE_OTHER);
    assert!(d.get("/invitations").await.shows("Nobody has invited you"));
    assert_eq!(
        d.get(&format!("/tickets/{n}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(b.get(&format!("/tickets/{n}")).await.shows("Declined"));
    // the root sends people to their tickets; unknown pages are 404.
    assert_eq!(d.get("/").await.location.as_deref(), Some("/tickets"));
    assert_eq!(d.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
}

#[apply(backends)]
#[tokio::test]
async fn a_double_submitted_form_acts_once(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let fields = [
        ("subject", "Twice?"),
        ("body", "Clicked twice."),
        ("request", "00112233445566778899aabbccddeeff"),
    ];
    let first = b.post_files("/tickets", &fields, &[]).await;
    let second = b.post_files("/tickets", &fields, &[]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(
        first.location, second.location,
        "the same ticket both times"
    );
    let n = b.open("Another", "A different form.").await;
    assert_eq!(n, 1002, "only one ticket came of the double submit");
    let reply = [
        ("body", "only once"),
        ("request", "ffeeddccbbaa99887766554433221100"),
    ];
    let r1 = b
        .post_files(&format!("/tickets/{n}/reply"), &reply, &[])
        .await;
    let r2 = b
        .post_files(&format!("/tickets/{n}/reply"), &reply, &[])
        .await;
    assert_eq!(r1.location, r2.location);
    let page = b.get(&format!("/tickets/{n}")).await;
    let shown = page
        .body
        .matches("<div class=\"body\"><p>only once</p></div>")
        .count();
    assert_eq!(shown, 1, "one reply");
    // the same id from another person is their own request.
    let carol = site.customer("Carol", "carol@acme.example", false).await;
    let mut c = site.browser(carol).await;
    let theirs = c.post_files("/tickets", &fields, &[]).await;
    assert_ne!(theirs.location, first.location);
}

#[apply(backends)]
#[tokio::test]
async fn a_form_with_a_file_sent_again_keeps_one_file(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Logs", "Attached below.").await;
    let path = format!("/tickets/{n}/reply");
    let fields = [
        ("body", "the log"),
        ("request", "0123456789abcdef0123456789abcdef"),
    ];
    let log: &[u8] = b"line 1\nline 2\n";
    let files = [("files", "vpn.log", "text/plain", log)];
    // four at once (a double click and two retries)...
    let mut copies: Vec<_> = (0..4).map(|_| b.copy()).collect();
    let sent = futures_util::future::join_all(
        copies
            .iter_mut()
            .map(|c| c.post_files(&path, &fields, &files)),
    )
    .await;
    assert!(sent.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    assert_eq!(
        files_in(site.blobs.path()),
        1,
        "one message, one attachment, one file"
    );
    // ... and once more later: nothing new is even written.
    let again = b.post_files(&path, &fields, &files).await;
    assert_eq!(again.location, sent[0].location);
    assert_eq!(files_in(site.blobs.path()), 1);
    let page = b.get(&format!("/tickets/{n}")).await;
    assert_eq!(page.body.matches("vpn.log").count(), 1, "{}", page.body);
}

#[apply(backends)]
#[tokio::test]
async fn every_page_forbids_framing_scripts_and_referrers(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    for path in ["/", "/tickets/new", "/tickets/999999"] {
        let page = b.get(path).await;
        let h = |name: header::HeaderName| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = h(header::CONTENT_SECURITY_POLICY);
        for part in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        // one script, allowed by its hash; nothing else may run.
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        let scripts = csp
            .split(';')
            .find_map(|d| d.trim().strip_prefix("script-src "))
            .unwrap_or_default();
        assert!(
            scripts.starts_with("'sha256-") && !scripts.contains(' '),
            "{csp}"
        );
        // no script from elsewhere, no inline handler (`onclick="…"`).
        let handler = page.body.match_indices(" on").any(|(at, _)| {
            let rest = &page.body[at + 3..];
            let name = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            name > 0 && rest[name..].starts_with("=\"")
        });
        assert!(!page.body.contains("<script src") && !handler, "{path}");
        assert_eq!(h(header::X_FRAME_OPTIONS), "DENY", "{path}");
        assert_eq!(h(header::REFERRER_POLICY), "same-origin", "{path}");
        assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        // the page's own style is allowed by its hash, and nothing styles
        // an element inline (the policy would block it).
        assert!(csp.contains("style-src 'sha256-"), "{csp}");
        assert!(
            !page.body.contains(" style=\""),
            "{path} has an inline style"
        );
    }
}

#[apply(backends)]
#[tokio::test]
async fn revoking_through_another_tickets_address_acts_on_nothing(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let first = b.open("Renewal", "Please renew.").await;
    let second = b.open("Invoice", "Wrong amount.").await;
    b.post(
        &format!("/tickets/{second}/delegates"),
        &[("email", "dana@partner.example")],
    )
    .await;
    let page = b.get(&format!("/tickets/{second}")).await;
    let at = page.body.find("/delegates/").unwrap();
    let tail: String = page.body[at..].chars().take_while(|c| *c != '"').collect();
    // the second ticket's invitation, through the first ticket's address.
    let wrong = b.post(&format!("/tickets/{first}{tail}"), &[]).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND, "{}", wrong.body);
    assert!(
        b.get(&format!("/tickets/{second}")).await.shows("Invited"),
        "the invitation was not touched"
    );
    let right = b.post(&format!("/tickets/{second}{tail}"), &[]).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    assert!(b.get(&format!("/tickets/{second}")).await.shows("Revoked"));
}

#[apply(backends)]
#[tokio::test]
async fn a_form_with_text_that_is_not_utf8_is_refused_and_changes_nothing(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let n = b.open("Renewal", "Please renew.").await;
    let before = b.get(&format!("/tickets/{n}")).await;
    b.csrf = before.csrf();
    let bad = b
        .post_encoded(&format!("/tickets/{n}/subject"), "subject=Caf%E9+latte")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.shows("not UTF-8"), "{}", bad.body);
    let after = b.get(&format!("/tickets/{n}")).await;
    assert!(after.shows("Renewal") && !after.body.contains('\u{FFFD}'));
    // the same, well encoded, is taken.
    let good = b
        .post_encoded(&format!("/tickets/{n}/subject"), "subject=Caf%C3%A9+latte")
        .await;
    assert!(good.status.is_redirection(), "{}", good.body);
    assert!(b.get(&format!("/tickets/{n}")).await.shows("Café latte"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_claim_and_assign_in_the_portal_and_the_queue_filters_by_owner(kind: Kind) {
    let site = Site::new(kind).await;
    let kim = site.h.staff("Kim Keeper").await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    let other = b.open("Scanner", "It hums.").await;
    let mut s = site.browser(site.staff).await;
    let page = s.get(&format!("/tickets/{n}")).await;
    assert!(
        page.shows("Owner: <strong>nobody yet</strong>"),
        "{}",
        page.body
    );
    let claimed = s
        .post(&format!("/tickets/{n}/owner"), &[("owner", "me")])
        .await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    let page = s.get(claimed.location.as_deref().unwrap()).await;
    assert!(page.shows("Owner saved."));
    assert!(
        page.shows("Owner: <strong>Sam Support</strong>"),
        "{}",
        page.body
    );
    // the queue: mine, unassigned, a colleague's; owners named in rows.
    let mine = s.get("/staff?owner=mine").await;
    assert!(
        mine.shows("Printer") && !mine.shows("Scanner"),
        "{}",
        mine.body
    );
    let unassigned = s.get("/staff?owner=unassigned").await;
    assert!(unassigned.shows("Scanner") && !unassigned.shows("Printer"));
    let moved = s
        .post(
            &format!("/tickets/{other}/owner"),
            &[("owner", &kim.0.to_string())],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let kims = s.get(&format!("/staff?owner={}", kim.0)).await;
    assert!(
        kims.shows("Scanner") && kims.shows("Kim Keeper"),
        "{}",
        kims.body
    );
    let all = s.get("/staff").await;
    assert!(all.shows("Sam Support") && all.shows("Kim Keeper"));
    // nobody again.
    s.post(&format!("/tickets/{other}/owner"), &[("owner", "")])
        .await;
    assert!(s.get("/staff?owner=unassigned").await.shows("Scanner"));
    // customers cannot, and never see the staff controls.
    let refused = b
        .post(&format!("/tickets/{n}/owner"), &[("owner", "me")])
        .await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.shows("only support staff"), "{}", refused.body);
    let theirs = b.get(&format!("/tickets/{n}")).await;
    assert!(!theirs.shows("Owner:") && !theirs.shows("Assign to"));
}

#[apply(backends)]
#[tokio::test]
async fn a_get_on_a_form_address_goes_to_the_page_of_the_form(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    for (path, to) in [
        (format!("/tickets/{n}/reply"), format!("/tickets/{n}")),
        (format!("/tickets/{n}/close"), format!("/tickets/{n}")),
        (
            "/invitations/1/accept".to_owned(),
            "/invitations".to_owned(),
        ),
        ("/staff/departments".to_owned(), "/staff/people".to_owned()),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some(to.as_str()), "{path}");
    }
    // nothing happened: the ticket is still open.
    assert!(!b
        .get(&format!("/tickets/{n}"))
        .await
        .shows("This ticket is closed"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_move_a_ticket_to_another_department_in_the_portal(kind: Kind) {
    let site = Site::new(kind).await;
    let billing = site.h.department(site.staff, "Billing").await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Invoice", "Charged twice.").await;
    let mut s = site.browser(site.staff).await;
    let moved = s
        .post(
            &format!("/tickets/{n}/department"),
            &[("department", &billing.0.to_string())],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let page = s.get(moved.location.as_deref().unwrap()).await;
    assert!(page.shows("Department: Billing"), "{}", page.body);
    let queue = s.get(&format!("/staff?department={}", billing.0)).await;
    assert!(queue.shows("Invoice"));
    let refused = b
        .post(&format!("/tickets/{n}/department"), &[("department", "")])
        .await;
    assert!(refused.shows("only support staff"), "{}", refused.body);
    assert!(b
        .get(&format!("/tickets/{n}"))
        .await
        .shows("Department: Billing"));
}

#[apply(backends)]
#[tokio::test]
async fn the_reply_box_has_a_reply_button_and_for_staff_a_separate_note_button(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    let theirs = b.get(&format!("/tickets/{n}")).await;
    assert!(theirs.shows(">Reply</button>"), "{}", theirs.body);
    assert!(!theirs.shows("Add internal note"));
    assert!(!theirs.shows("type=\"checkbox\" name=\"internal\""));
    let mut s = site.browser(site.staff).await;
    let page = s.get(&format!("/tickets/{n}")).await;
    assert!(
        page.shows(r#"<button class="internal" type="submit" name="internal" value="1">Add internal note</button>"#),
        "{}",
        page.body
    );
    // the note button posts a note, which the customer never sees.
    s.post_files(
        &format!("/tickets/{n}/reply"),
        &[("body", "Toner is fake"), ("internal", "1")],
        &[],
    )
    .await;
    assert!(s.get(&format!("/tickets/{n}")).await.shows("Toner is fake"));
    assert!(!b.get(&format!("/tickets/{n}")).await.shows("Toner is fake"));
}

#[apply(backends)]
#[tokio::test]
async fn replying_comes_before_closing_in_the_page_order(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    let page = b.get(&format!("/tickets/{n}")).await;
    let reply = page.body.find(">Reply</button>").expect("a reply button");
    let close = page.body.find("Mark as Closed").expect("a close control");
    assert!(reply < close, "the reply box comes first in tab order");
}

#[apply(backends)]
#[tokio::test]
async fn the_forms_with_files_say_how_much_they_take(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    // this portal takes 1 MiB per form; files may be larger by default.
    let new = b.get("/tickets/new").await;
    assert!(
        new.shows("(optional; up to 1.0 MiB in all)"),
        "{}",
        new.body
    );
    let n = b.open("Printer", "It jams.").await;
    let page = b.get(&format!("/tickets/{n}")).await;
    assert!(
        page.shows("(optional; up to 1.0 MiB in all)"),
        "{}",
        page.body
    );
}

#[apply(backends)]
#[tokio::test]
async fn pictures_show_inline_only_when_their_bytes_are_pictures(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let eve = site.customer("Eve Else", "eve@else.example", false).await;
    let mut b = site.browser(bob).await;
    let png: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let svg: &[u8] = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    let page = b
        .post_files(
            "/tickets",
            &[("subject", "Screen"), ("body", "See the pictures.")],
            &[
                ("files", "screen.png", "image/png", png),
                ("files", "fake.png", "image/png", svg),
                ("files", "drawing.svg", "image/svg+xml", svg),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let ticket = b.get("/tickets/1001").await;
    // thumbnails for what says it is a raster picture; never for SVG.
    let thumbs: Vec<String> = ticket
        .body
        .match_indices("<img src=\"")
        .map(|(at, _)| {
            ticket.body[at + 10..]
                .chars()
                .take_while(|c| *c != '"')
                .collect()
        })
        .collect();
    assert_eq!(thumbs.len(), 2, "{thumbs:?}");
    assert!(ticket.shows("alt=\"Picture: screen.png\""));
    let real = b.get(&thumbs[0]).await;
    assert_eq!(real.status, StatusCode::OK);
    assert_eq!(real.header(header::CONTENT_TYPE), "image/png");
    assert!(real
        .header(header::CONTENT_DISPOSITION)
        .starts_with("inline;"));
    // an SVG calling itself a PNG stays a download, whatever is asked.
    let fake = b.get(&thumbs[1]).await;
    assert_eq!(
        fake.header(header::CONTENT_TYPE),
        "application/octet-stream"
    );
    assert!(fake
        .header(header::CONTENT_DISPOSITION)
        .starts_with("attachment;"));
    assert_eq!(fake.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    // the same rights as the download: nobody else sees it.
    let mut e = site.browser(eve).await;
    assert_eq!(e.get(&thumbs[0]).await.status, StatusCode::NOT_FOUND);
}

#[apply(backends)]
#[tokio::test]
async fn text_survives_files_too_large_and_access_taken_away(kind: Kind) {
    let site = Site::with_settings(
        kind,
        threadesk_core::Settings {
            max_attachment_bytes: 300 * 1024,
            ..threadesk_core::Settings::default()
        },
    )
    .await;
    let alice = site
        .customer("Alice Admin", "alice@acme.example", true)
        .await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    let part = vec![b'x'; 290 * 1024];
    let four: Vec<(&str, &str, &str, &[u8])> = (0..4)
        .map(|_| {
            (
                "files",
                "part.bin",
                "application/octet-stream",
                part.as_slice(),
            )
        })
        .collect();
    let medium = vec![b'y'; 400 * 1024];
    // more than the form takes: the page again, the text in the box.
    let reply = b
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "Here is the log I promised")],
            &four,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert!(
        reply.shows("too large for one message (up to 1.0 MiB in all)"),
        "{}",
        reply.body
    );
    assert!(
        reply.shows(">Here is the log I promised</textarea>"),
        "{}",
        reply.body
    );
    assert!(reply.shows("<header>"), "the page keeps its frame");
    // a file over the per-file limit: said with the limit.
    let reply = b
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "Second try")],
            &[("files", "dump.bin", "application/octet-stream", &medium)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        reply.shows("The file dump.bin is larger than the limit of 300 KiB per file"),
        "{}",
        reply.body
    );
    assert!(reply.shows(">Second try</textarea>"));
    // far over the limit (four times the form's): refused before reading, in words.
    let huge = vec![b'z'; 4 * 1024 * 1024 + 1];
    let refused = b
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "Lost cause")],
            &[("files", "huge.bin", "application/octet-stream", &huge)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(refused.shows("too large"), "{}", refused.body);
    // nothing was posted, and no file kept.
    let page = b.get(&format!("/tickets/{n}")).await;
    assert!(!page.shows("Here is the log") && !page.shows("Second try"));
    assert_eq!(crate::helpers::files_in(site.blobs.path()), 0);
    // opening a ticket: subject and message kept.
    let open = b
        .post_files(
            "/tickets",
            &[("subject", "Scanner"), ("body", "It hums loudly")],
            &four,
        )
        .await;
    assert_eq!(open.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        open.shows("value=\"Scanner\"") && open.shows(">It hums loudly</textarea>"),
        "{}",
        open.body
    );
    // access taken away while writing: the text comes back in a new-ticket form.
    let mut s = site.browser(site.staff).await;
    s.post(
        &format!("/staff/people/{}/company-admin", alice.0),
        &[("admin", "1"), ("back", "/staff/people")],
    )
    .await;
    let mut a = site.browser(alice).await;
    assert_eq!(a.get(&format!("/tickets/{n}")).await.status, StatusCode::OK);
    s.post(
        &format!("/staff/people/{}/company-admin", alice.0),
        &[("admin", "0"), ("back", "/staff/people")],
    )
    .await;
    let late = a
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "My long answer")],
            &[],
        )
        .await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
    assert!(
        late.shows("you can no longer reply to that ticket")
            || late.shows("You can no longer reply to that ticket"),
        "{}",
        late.body
    );
    assert!(late.shows(">My long answer</textarea>"), "{}", late.body);
}

#[apply(backends)]
#[tokio::test]
async fn search_finds_words_within_rights_jumps_on_a_number_and_pages(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let eve = site.customer("Eve Else", "eve@else.example", false).await;
    let mut b = site.browser(bob).await;
    let mut e = site.browser(eve).await;
    let n = b
        .open("Printer jams", "The toner light blinks on tray 2.")
        .await;
    let theirs = e.open("Toner order", "We need more toner & paper.").await;
    let mut s = site.browser(site.staff).await;
    let note = s
        .post_files(
            &format!("/tickets/{n}/reply"),
            &[("body", "zebra fee applies"), ("internal", "1")],
            &[],
        )
        .await;
    assert_eq!(note.status, StatusCode::SEE_OTHER);
    // the lists and the queue carry the box.
    assert!(b.get("/tickets").await.shows("action=\"/search\""));
    assert!(s.get("/staff").await.shows("action=\"/search\""));
    // Bob finds his own, with where the words are; not Eve's.
    let found = b.get("/search?q=toner").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.shows("Printer jams"), "{}", found.body);
    assert!(found.shows("The toner light blinks"), "{}", found.body);
    assert!(!found.shows("Toner order"), "{}", found.body);
    // internal notes: staff only.
    assert!(b
        .get("/search?q=zebra")
        .await
        .shows("No tickets with those words."));
    let staff_found = s.get("/search?q=zebra").await;
    assert!(
        staff_found.shows("Internal note: ") && staff_found.shows("Printer jams"),
        "{}",
        staff_found.body
    );
    assert!(s.get("/search?q=toner").await.shows("Toner order"));
    // what is typed is shown back escaped, never as markup.
    let odd = b.get("/search?q=%3Cscript%3E").await;
    // the page's own script only.
    assert!(odd.shows("&lt;script&gt;") && odd.body.matches("<script>").count() == 1);
    // #N opens a ticket one may read; another's is not found.
    let jump = b.get(&format!("/search?q=%23{n}")).await;
    assert_eq!(jump.status, StatusCode::SEE_OTHER);
    assert_eq!(
        jump.location.as_deref(),
        Some(format!("/tickets/{n}").as_str())
    );
    let not_mine = b.get(&format!("/search?q=%23{theirs}")).await;
    assert_eq!(not_mine.status, StatusCode::OK);
    assert!(not_mine.shows("No tickets with those words."));
    // filters: closed only; a bad date is a clear refusal.
    b.post(&format!("/tickets/{n}/close"), &[]).await;
    assert!(b
        .get("/search?q=toner&view=active")
        .await
        .shows("No tickets with those words."));
    assert!(b
        .get("/search?q=toner&view=closed")
        .await
        .shows("Printer jams"));
    let bad = b.get("/search?q=toner&from=2026-02-31").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // staff page through many results with nothing twice.
    for i in 0..27 {
        // closed as they go: a requester has only so many open at once.
        let r = b.open(&format!("Refund {i}"), "Please refund.").await;
        b.post(&format!("/tickets/{r}/close"), &[]).await;
    }
    let first = s.get("/search?q=refund").await;
    let more = first
        .body
        .split("href=\"/search?")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|q| format!("/search?{}", q.replace("&amp;", "&")))
        .expect("a next-page link");
    assert!(
        more.contains("q=refund") && more.contains("after="),
        "{more}"
    );
    let second = s.get(&more).await;
    let count = |p: &str| p.matches("Refund ").count();
    assert_eq!(count(&first.body) + count(&second.body), 27);
}

#[apply(backends)]
#[tokio::test]
async fn the_ticket_page_shows_changes_where_they_happened_and_owners_only_to_staff(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    let mut s = site.browser(site.staff).await;
    s.post(&format!("/tickets/{n}/owner"), &[("owner", "me")])
        .await;
    s.post(&format!("/tickets/{n}/status"), &[("status", "on_hold")])
        .await;
    let reply = s
        .post_files(&format!("/tickets/{n}/reply"), &[("body", "Looking.")], &[])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let staff_page = s.get(&format!("/tickets/{n}")).await;
    let at = |page: &str, text: &str| page.find(text).unwrap_or_else(|| panic!("{text}: {page}"));
    let took = at(&staff_page.body, "Sam Support took the ticket.");
    let held = at(&staff_page.body, "Sam Support set the status to On hold.");
    let first = at(&staff_page.body, "It jams.");
    let answer = at(&staff_page.body, "Looking.");
    assert!(first < took && took < held && held < answer, "in order");
    assert!(staff_page.shows("staff only"));
    let customer_page = b.get(&format!("/tickets/{n}")).await;
    assert!(customer_page.shows("Sam Support set the status to On hold."));
    assert!(
        !customer_page.shows("took the ticket"),
        "{}",
        customer_page.body
    );
}

#[apply(backends)]
#[tokio::test]
async fn staff_keep_saved_replies_and_insert_one_filled_in_on_a_ticket(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    let mut s = site.browser(site.staff).await;
    // a refusal keeps what was typed.
    let refused = s
        .post("/staff/replies", &[("name", "fixed"), ("body", "   ")])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.shows("value=\"fixed\"") && refused.shows("empty"),
        "{}",
        refused.body
    );
    let kept = s
        .post(
            "/staff/replies",
            &[
                ("name", "fixed"),
                ("body", "Hi {first_name}, {ticket} is fixed."),
            ],
        )
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let listed = s.get("/staff/replies?done=saved").await;
    assert!(listed.shows("Saved reply kept.") && listed.shows("Hi {first_name}"));
    // the ticket page offers it; Insert fills the reply box.
    let page = s.get(&format!("/tickets/{n}")).await;
    assert!(page.shows("name=\"saved\""), "{}", page.body);
    let id = page
        .body
        .split("<option value=\"")
        .find_map(|o| o.split_once("\">fixed<").map(|(v, _)| v.to_owned()))
        .expect("the saved reply offered");
    let filled = s.get(&format!("/tickets/{n}?saved={id}")).await;
    assert!(
        filled.shows(&format!(">Hi Bob, #{n} is fixed.</textarea>")),
        "{}",
        filled.body
    );
    // customers see no picker and cannot use the page.
    assert!(!b
        .get(&format!("/tickets/{n}"))
        .await
        .shows("name=\"saved\""));
    assert!(!b
        .get(&format!("/tickets/{n}?saved={id}"))
        .await
        .shows("is fixed"));
    assert_ne!(b.get("/staff/replies").await.status, StatusCode::OK);
    let removed = s.post(&format!("/staff/replies/{id}/remove"), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(s.get("/staff/replies").await.shows("No saved replies yet."));
}

#[apply(backends)]
#[tokio::test]
async fn the_queue_and_the_ticket_say_when_staff_should_answer(kind: Kind) {
    let settings = threadesk_core::Settings {
        service: threadesk_core::service::ServiceTargets::parse("4h/1h", None, None).unwrap(),
        ..Default::default()
    };
    let site = Site::with_settings(kind, settings).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer", "It jams.").await;
    let mut s = site.browser(site.staff).await;
    let ann = site.customer("Ann Acme", "ann@acme.example", true).await;
    site.browser(ann).await.open("Scanner", "It hums.").await;
    let queue = s.get("/staff").await;
    assert!(
        queue.shows("title=\"Sort by answer\">Answer ↑"),
        "{}",
        queue.body
    );
    // who asked, and for which organization.
    assert!(queue.shows("<th>Requester</th>") && queue.shows("Bob Builder"));
    assert!(
        queue.shows("Ann Acme<div class=\"muted\">Acme</div>"),
        "{}",
        queue.body
    );
    assert!(
        queue.shows("due in 3 h") || queue.shows("due in 4 h"),
        "{}",
        queue.body
    );
    let page = s.get(&format!("/tickets/{n}")).await;
    assert!(page.shows("Answer: "), "{}", page.body);
    // customers never see it.
    assert!(!b.get(&format!("/tickets/{n}")).await.shows("Answer: "));
    // answered: nothing due.
    s.post_files(&format!("/tickets/{n}/reply"), &[("body", "On it.")], &[])
        .await;
    assert!(!s.get("/staff?status=awaiting_client").await.shows("due in"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_land_on_the_queue_and_customers_on_their_tickets(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    for (who, landing) in [(site.staff, "/staff"), (bob, "/tickets")] {
        let mut b = crate::helpers::Browser::from_site(&site);
        let page = b.get("/signin").await;
        b.csrf = page.csrf();
        // who is who: the sign-in page shows addresses.
        assert!(page.shows("bob@acme.example"), "{}", page.body);
        let done = b.post("/signin", &[("person", &who.0.to_string())]).await;
        assert_eq!(done.location.as_deref(), Some(landing));
    }
    let mut s = site.browser(site.staff).await;
    assert!(s.get("/staff/people").await.shows("bob@acme.example"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_sort_the_queue_by_its_columns_and_admins_their_organization_list(kind: Kind) {
    let site = Site::with_settings(
        kind,
        threadesk_core::Settings {
            show_owner_to_customers: true,
            ..threadesk_core::Settings::default()
        },
    )
    .await;
    let alice = site
        .customer("Alice Admin", "alice@acme.example", true)
        .await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let mut s = site.browser(site.staff).await;
    let first = b.open("Aardvark first", "One.").await;
    b.open("Zebra second", "Two.").await;
    let at = |body: &str, text: &str| body.find(text).unwrap_or_else(|| panic!("{text} missing"));
    // by number, ascending then descending.
    let up = s.get("/staff?sort=number").await;
    assert_eq!(up.status, StatusCode::OK);
    assert!(at(&up.body, "Aardvark first") < at(&up.body, "Zebra second"));
    assert!(up.shows("aria-sort=\"ascending\""));
    // the header links to the other direction, keeping the filters.
    assert!(up.shows("href=\"/staff?department=&amp;status=&amp;owner=&amp;sort=-number\""));
    let down = s.get("/staff?sort=-number").await;
    assert!(at(&down.body, "Zebra second") < at(&down.body, "Aardvark first"));
    assert!(down.shows("aria-sort=\"descending\""));
    // a claimed ticket: by owner, unassigned first.
    let claim = s
        .post(&format!("/tickets/{first}/owner"), &[("owner", "me")])
        .await;
    assert_eq!(claim.status, StatusCode::SEE_OTHER);
    let owners = s.get("/staff?sort=owner").await;
    assert!(at(&owners.body, "Zebra second") < at(&owners.body, "Aardvark first"));
    // a wrong order is refused in words.
    let wrong = s.get("/staff?sort=size").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.shows("use one of due"), "{}", wrong.body);

    // the organization's list: requester, department, who handles it, opened.
    s.post(
        &format!("/staff/people/{}/company-admin", alice.0),
        &[("admin", "1"), ("back", "/staff/people")],
    )
    .await;
    let mut a = site.browser(alice).await;
    let org = a.get("/tickets?scope=org&sort=number").await;
    assert_eq!(org.status, StatusCode::OK);
    for column in [
        "Requester",
        "Department",
        "Handled by",
        "Opened",
        "Last activity",
    ] {
        assert!(org.shows(column), "{column} missing");
    }
    assert!(org.shows("Bob Builder"));
    // who handles it: a first name only, as on customers' cards.
    assert!(
        org.shows("<td data-label=\"Handled by\">Sam</td>"),
        "{}",
        org.body
    );
    assert!(!org.shows("Sam Support"));
    assert!(at(&org.body, "Aardvark first") < at(&org.body, "Zebra second"));
    let org_down = a.get("/tickets?scope=org&sort=-number").await;
    assert!(at(&org_down.body, "Zebra second") < at(&org_down.body, "Aardvark first"));
    assert!(
        org_down.shows("sort=number\""),
        "the header turns the order round"
    );
}

#[apply(backends)]
#[tokio::test]
async fn error_pages_keep_the_signed_in_frame(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    for (path, status, title) in [
        (
            "/tickets/999999",
            StatusCode::NOT_FOUND,
            "We could not find that",
        ),
        (
            "/tickets?view=soon",
            StatusCode::BAD_REQUEST,
            "That request could not be read",
        ),
        (
            "/staff",
            StatusCode::FORBIDDEN,
            "That is not something you can do here",
        ),
    ] {
        let page = b.get(path).await;
        assert_eq!(page.status, status, "{path}");
        assert!(
            page.shows(&format!("<title>{title} · Threadesk</title>")),
            "{path}: {}",
            page.body
        );
        // the header as on every page: who is signed in, the navigation, sign-out.
        assert!(
            page.shows("<span>Bob Builder</span>"),
            "{path}: {}",
            page.body
        );
        assert!(page.shows("action=\"/signout\""), "{path}");
        assert!(
            page.shows("<a href=\"/tickets/new\">Open a support ticket</a>"),
            "{path}"
        );
    }
    // nobody signed in: the page has its own way on.
    let mut anon = crate::helpers::Browser::from_site(&site);
    let page = anon.get("/signin/link/not-a-token").await;
    assert!(!page.shows("action=\"/signout\""), "{}", page.body);
}

#[apply(backends)]
#[tokio::test]
async fn anyone_who_reads_a_ticket_downloads_its_transcript(kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let eve = site.customer("Eve Else", "eve@else.example", false).await;
    let mut b = site.browser(bob).await;
    let mut s = site.browser(site.staff).await;
    let n = b.open("Printer", "It jams <badly>.").await;
    s.post_files(
        &format!("/tickets/{n}/reply"),
        &[("body", "Only for us"), ("internal", "1")],
        &[],
    )
    .await;
    let page = b.get(&format!("/tickets/{n}")).await;
    assert!(
        page.shows(&format!("href=\"/tickets/{n}/transcript\"")),
        "{}",
        page.body
    );
    assert!(
        !page.shows("kind=full"),
        "customers are not offered the full one"
    );
    let html = b.get(&format!("/tickets/{n}/transcript")).await;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(
        html.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert!(html
        .header(header::CONTENT_DISPOSITION)
        .starts_with(&format!("attachment; filename=\"ticket-{n}.html\"")));
    assert!(html.shows("It jams &lt;badly&gt;."));
    assert!(!html.shows("Only for us"));
    let text = b.get(&format!("/tickets/{n}/transcript?format=text")).await;
    assert_eq!(
        text.header(header::CONTENT_TYPE),
        "text/plain; charset=utf-8"
    );
    assert!(text.body.contains("It jams <badly>."));
    // the full one: staff only.
    assert_eq!(
        b.get(&format!("/tickets/{n}/transcript?kind=full"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let full = s
        .get(&format!("/tickets/{n}/transcript?kind=full&format=text"))
        .await;
    assert!(full.body.contains("Only for us") && full.body.contains("INTERNAL NOTE"));
    assert!(s.get(&format!("/tickets/{n}")).await.shows("kind=full"));
    // others: not found; nonsense: said.
    let mut e = site.browser(eve).await;
    assert_eq!(
        e.get(&format!("/tickets/{n}/transcript")).await.status,
        StatusCode::NOT_FOUND
    );
    let odd = b.get(&format!("/tickets/{n}/transcript?format=pdf")).await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    assert!(odd.shows("use html or text"));
}

/// A long ticket's page shows its latest messages and links to earlier
/// ones, page by page.
#[apply(backends)]
#[tokio::test]
async fn a_long_ticket_shows_its_latest_messages_and_pages_back(#[case] kind: Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let t = site.h.open(bob, "Chatty").await.ticket;
    for i in 1..=60 {
        site.h
            .reply(bob, t.id, &format!("line number {i}."))
            .await
            .unwrap();
    }
    let mut b = site.browser(bob).await;
    let path = format!("/tickets/{}", t.number.0);
    let latest = b.get(&path).await;
    assert!(latest.shows("line number 60."), "{}", latest.body);
    assert!(
        !latest.shows("line number 10."),
        "an early message on the latest page"
    );
    assert!(latest.shows("Opened by Bob Builder"), "{}", latest.body);
    assert!(!latest.shows("Latest messages"));
    let link = latest
        .body
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("?before="))
        .expect("a link to earlier messages")
        .replace("&amp;", "&");
    let earlier = b.get(&link).await;
    assert_eq!(earlier.status, StatusCode::OK);
    assert!(
        earlier.shows("line number 10.") && earlier.shows("about Chatty"),
        "{}",
        earlier.body
    );
    assert!(!earlier.shows("line number 60."));
    assert!(earlier.shows("Latest messages"));
    assert!(
        !earlier.shows("?before="),
        "the first page has nothing earlier"
    );
    let bad = b.get(&format!("{path}?before=soon")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// With more people than a page shows, the people page shows a page at a
/// time (found by a piece of a name or an address), and a staff member's
/// ticket page offers to invite the requester's colleagues, not the
/// whole directory.
#[apply(backends)]
#[tokio::test]
async fn staff_pages_show_a_page_of_people_however_many_there_are(kind: Kind) {
    use threadesk_core::engine::{PEOPLE_AT_ONCE, PICK_AT_MOST};
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    site.customer("Alice Colleague", "alice@acme.example", true)
        .await;
    for i in 0..PICK_AT_MOST {
        site.h.person(&format!("Customer {i:03}")).await;
    }
    let rows = |body: &str| body.matches("/organization\"").count();
    let mut s = site.browser(site.staff).await;
    let first = s.get("/staff/people").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(rows(&first.body), PEOPLE_AT_ONCE);
    assert!(first.shows("More →") && !first.shows("← Earlier"));
    let next = s
        .get(&format!("/staff/people?find=&from={PEOPLE_AT_ONCE}"))
        .await;
    assert_eq!(rows(&next.body), PEOPLE_AT_ONCE);
    assert!(next.shows("← Earlier"));
    let found = s.get("/staff/people?find=BOB%40acme").await;
    assert_eq!(rows(&found.body), 1);
    assert!(found.shows("Bob Builder") && found.shows("bob@acme.example"));
    assert!(s
        .get("/staff/people?find=nobody+at+all")
        .await
        .shows("contains “nobody at all”"));
    assert_eq!(
        s.get("/staff/people?from=many").await.status,
        StatusCode::BAD_REQUEST
    );

    let mut b = site.browser(bob).await;
    let n = b.open("Renewal", "Please renew.").await;
    let page = s.get(&format!("/tickets/{n}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("Alice Colleague"), "a colleague to invite");
    assert!(!page.shows("Customer 000"), "not the whole directory");
    // Bob cannot see the directory, whatever he asks for.
    assert_eq!(
        b.get("/staff/people?find=a").await.status,
        StatusCode::FORBIDDEN
    );
}
