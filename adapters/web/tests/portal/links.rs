//! Links from e-mails: signing in, and accepting an invitation. Each works
//! once, expires, and is used by a button (a link scanner fetching the page
//! uses nothing up).

use crate::helpers::*;
use axum::http::StatusCode;
use rstest::rstest;
use rstest_reuse::apply;
use std::time::Duration;
use threadesk_core::engine::{Invitee, LinkPurpose};
use threadesk_core::outbox::Consumer;
use threadesk_core::Ctx;

#[apply(backends)]
#[tokio::test]
async fn a_mailed_link_signs_in_once(#[case] kind: threadesk_core::testing::Kind) {
    let mailer = Outbox::default();
    let site = Site::with_links(kind, mailer.clone()).await;
    let mut b = Browser::from_site(&site);
    let form = b.get("/signin").await;
    assert!(form.shows("Send me a sign-in link"), "{}", form.body);
    b.csrf = form.csrf();
    let bad = b.post("/signin/link", &[("email", "not an address")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sent = b
        .post("/signin/link", &[("email", "New.Customer@Example.com")])
        .await;
    assert!(sent.shows("on its way"), "{}", sent.body);
    let (to, token) = mailer.0.lock().unwrap().pop().expect("a link was mailed");
    assert_eq!(to, "New.Customer@Example.com");

    // opening the link only shows a button.
    let mut visitor = Browser::from_site(&site);
    let page = visitor.get(&format!("/signin/link/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    visitor.csrf = page.csrf();
    let again = visitor.get(&format!("/signin/link/{token}")).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "fetching it twice uses nothing"
    );
    let used = visitor.post(&format!("/signin/link/{token}"), &[]).await;
    assert_eq!(used.status, StatusCode::SEE_OTHER);
    assert_eq!(used.location.as_deref(), Some("/tickets"));
    let tickets = visitor.get("/tickets").await;
    assert_eq!(tickets.status, StatusCode::OK);
    assert!(
        tickets.shows("new.customer"),
        "signed in as the address's new person"
    );

    // a second use, from anywhere, finds nothing.
    let mut other = Browser::from_site(&site);
    other.csrf = other.get(&format!("/signin/link/{token}")).await.csrf();
    let reused = other.post(&format!("/signin/link/{token}"), &[]).await;
    assert_eq!(reused.status, StatusCode::NOT_FOUND);
    assert!(reused.shows("no longer works"));
    // an expired one neither.
    let old = site
        .h
        .engine
        .issue_link_token(LinkPurpose::SignIn, "x@example.com", Duration::ZERO)
        .await
        .unwrap();
    let expired = other.post(&format!("/signin/link/{old}"), &[]).await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
}

#[apply(backends)]
#[tokio::test]
async fn an_invitation_link_accepts_and_the_delegate_can_reply(
    #[case] kind: threadesk_core::testing::Kind,
) {
    let site = Site::with_links(kind, Outbox::default()).await;
    let (_, t, d) = dana_invited(&site).await;
    let token = link_for(&site, LinkPurpose::Accept(d.id)).await;
    let mut dana = Browser::from_site(&site);
    let page = dana.get(&format!("/invitations/accept/{token}")).await;
    assert!(page.shows("Accept and sign in"), "{}", page.body);
    dana.csrf = page.csrf();
    let accepted = dana
        .post(&format!("/invitations/accept/{token}"), &[])
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    let at = accepted.location.clone().unwrap();
    assert_eq!(at, format!("/tickets/{}", t.number.0));
    let seen = dana.get(&at).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.shows("Renewal"));
    dana.csrf = seen.csrf();
    let replied = dana
        .post_files(
            &format!("{at}/reply"),
            &[("body", "Dana here: approved")],
            &[],
        )
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
    let staff = site.staff;
    let thread = site.h.engine.thread(staff, t.id).await.unwrap();
    let last = thread.messages.last().unwrap();
    assert_eq!(
        (last.body.as_str(), last.author_role.as_str()),
        ("Dana here: approved", "delegate")
    );
    // the link is spent.
    let mut again = Browser::from_site(&site);
    again.csrf = again
        .get(&format!("/invitations/accept/{token}"))
        .await
        .csrf();
    let reused = again
        .post(&format!("/invitations/accept/{token}"), &[])
        .await;
    assert_eq!(reused.status, StatusCode::NOT_FOUND);
}

#[apply(backends)]
#[tokio::test]
async fn staff_see_mail_that_could_not_be_delivered(#[case] kind: threadesk_core::testing::Kind) {
    let site = Site::new(kind).await;
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let t = site.h.open(bob, "Bounced").await.ticket;
    site.h
        .engine
        .record_mail_failure(t.id, "bob@acme.example", "550 5.1.1 no such user")
        .await
        .unwrap();
    let mut staff = site.browser(site.staff).await;
    let page = staff.get(&format!("/tickets/{}", t.number.0)).await;
    assert!(page.shows("E-mail problems"), "{}", page.body);
    assert!(page.shows("550 5.1.1 no such user"));
    let mut customer = site.browser(bob).await;
    let theirs = customer.get(&format!("/tickets/{}", t.number.0)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.shows("E-mail problems"), "staff only");
}

#[apply(backends)]
#[tokio::test]
async fn an_invitation_link_declines(#[case] kind: threadesk_core::testing::Kind) {
    use threadesk_core::domain::DelegateStatus;
    let site = Site::with_links(kind, Outbox::default()).await;
    let (bob, t, d) = dana_invited(&site).await;
    let token = link_for(&site, LinkPurpose::Decline(d.id)).await;
    let mut dana = Browser::from_site(&site);
    // an accept page does not take a decline link.
    dana.csrf = dana
        .get(&format!("/invitations/accept/{token}"))
        .await
        .csrf();
    let wrong = dana
        .post(&format!("/invitations/accept/{token}"), &[])
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let page = dana.get(&format!("/invitations/decline/{token}")).await;
    assert!(page.shows("Decline"), "{}", page.body);
    dana.csrf = page.csrf();
    let done = dana
        .post(&format!("/invitations/decline/{token}"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let delegates = site.h.engine.delegates(bob, t.id).await.unwrap();
    assert_eq!(delegates[0].status, DelegateStatus::Declined);
}

#[apply(backends)]
#[tokio::test]
async fn a_ticket_opened_in_the_portal_is_confirmed_by_mail(
    #[case] kind: threadesk_core::testing::Kind,
) {
    use threadesk_email::testing::SmtpSink;
    use threadesk_email::{EmailAdapter, EmailConfig};
    let site = Site::new(kind).await;
    let sink = SmtpSink::start().await;
    let (host, port, security, credentials) = EmailConfig::parse_smtp_url(&sink.url()).unwrap();
    let mail = EmailAdapter::new(
        site.h.engine.clone(),
        EmailConfig {
            host,
            port,
            security,
            credentials,
            from: "Acme Support <help@acme.example>".into(),
            reply_domain: "reply.acme.example".into(),
            secret: b"a-token-secret-for-tests".to_vec(),
            public_url: "https://help.acme.example".into(),
            inbound_secret: None,
        },
    )
    .unwrap();
    mail.connect().await.unwrap();
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let mut b = site.browser(bob).await;
    let n = b.open("Printer jam", "Paper everywhere").await;
    while mail.pump().await.unwrap() > 0 {}
    let got = sink.to("bob@acme.example");
    assert_eq!(got.len(), 1, "one confirmation");
    assert_eq!(
        got[0].header("Subject").unwrap(),
        format!("[#{n}] Printer jam")
    );
    assert!(got[0].text().contains("> Paper everywhere"));
}

/// Bob's ticket with Dana invited by e-mail.
async fn dana_invited(
    site: &Site,
) -> (
    threadesk_core::PersonId,
    threadesk_core::domain::Ticket,
    threadesk_core::domain::Delegate,
) {
    let bob = site.customer("Bob Builder", "bob@acme.example", true).await;
    let t = site.h.open(bob, "Renewal").await.ticket;
    let d = site
        .h
        .engine
        .invite_delegate(
            &Ctx::new(bob),
            t.id,
            Invitee::Email("dana@partner.example".into()),
        )
        .await
        .unwrap();
    (bob, t, d)
}

/// What the invitation e-mail carries.
async fn link_for(site: &Site, purpose: LinkPurpose) -> String {
    site.h
        .engine
        .issue_link_token(purpose, "dana@partner.example", Duration::from_secs(3600))
        .await
        .unwrap()
}

#[apply(backends)]
#[tokio::test]
async fn sign_in_links_are_throttled_per_address_and_odd_addresses_refused(
    #[case] kind: threadesk_core::testing::Kind,
) {
    let mailer = Outbox::default();
    let site = Site::with_links(kind, mailer.clone()).await;
    let mut b = Browser::from_site(&site);
    b.csrf = b.get("/signin").await.csrf();
    let mut pages = vec![];
    for _ in 0..6 {
        let page = b
            .post("/signin/link", &[("email", "bob@acme.example")])
            .await;
        assert_eq!(page.status, StatusCode::OK);
        pages.push(page.body);
    }
    assert_eq!(
        mailer.0.lock().unwrap().len(),
        threadesk_core::engine::SIGN_IN_LINKS_PER_WINDOW as usize,
        "three links, then nothing more for a while"
    );
    // the answer does not tell a throttled request apart (tokens aside).
    let shape = |p: &str| {
        p.split('"')
            .filter(|x| x.len() < 30)
            .collect::<Vec<_>>()
            .join("\"")
    };
    assert!(pages.iter().all(|p| p.contains("on its way")));
    assert!(pages.windows(2).all(|w| shape(&w[0]) == shape(&w[1])));
    // another address is not held back by Bob's.
    b.post("/signin/link", &[("email", "cy@acme.example")])
        .await;
    assert_eq!(mailer.0.lock().unwrap().len(), 4);
    // an address literal is no address: said at once, nothing stored.
    let literal = b
        .post("/signin/link", &[("email", "bob@[127.0.0.1]")])
        .await;
    assert_eq!(
        literal.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        literal.body
    );
    assert!(literal.shows("not an e-mail address"));
    assert_eq!(mailer.0.lock().unwrap().len(), 4);
}

#[apply(backends)]
#[tokio::test]
async fn signing_out_ends_the_session_everywhere_a_copy_of_it_is_kept(
    #[case] kind: threadesk_core::testing::Kind,
) {
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    let n = b.open("Renewal", "Please renew.").await;
    let mut copied = b.copy();
    assert_eq!(
        copied.get(&format!("/tickets/{n}")).await.status,
        StatusCode::OK
    );
    let out = b.post("/signout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // the copied cookie no longer signs anybody in, nor changes anything.
    let page = copied.get(&format!("/tickets/{n}")).await;
    assert_ne!(page.status, StatusCode::OK, "{}", page.body);
    let changed = copied
        .post(&format!("/tickets/{n}/subject"), &[("subject", "Hijacked")])
        .await;
    assert!(!changed.status.is_success() || !changed.shows("Hijacked"));
    let mut again = site.browser(bob).await;
    assert!(again.get(&format!("/tickets/{n}")).await.shows("Renewal"));

    // sign out everywhere: every session of Bob's ends, another person's stays.
    let mut phone = site.browser(bob).await;
    let carol = site.customer("Carol", "carol@acme.example", false).await;
    let mut other = site.browser(carol).await;
    let everywhere = again.post("/signout/everywhere", &[]).await;
    assert_eq!(everywhere.status, StatusCode::SEE_OTHER);
    assert_ne!(phone.get("/tickets").await.status, StatusCode::OK);
    assert_eq!(other.get("/tickets").await.status, StatusCode::OK);
    // signing in afresh works at once.
    let mut fresh = site.browser(bob).await;
    assert_eq!(fresh.get("/tickets").await.status, StatusCode::OK);
}

#[apply(backends)]
#[tokio::test]
async fn an_idle_session_ends(#[case] kind: threadesk_core::testing::Kind) {
    crate::helpers::set_session_idle(1);
    let site = Site::new(kind).await;
    let bob = site
        .customer("Bob Builder", "bob@acme.example", false)
        .await;
    let mut b = site.browser(bob).await;
    assert_eq!(b.get("/tickets").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_ne!(
        b.get("/tickets").await.status,
        StatusCode::OK,
        "idle past the limit"
    );
}
