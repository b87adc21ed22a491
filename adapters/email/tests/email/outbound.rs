//! Confirmations and notifications, as they arrive in mailboxes.

use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::{PlatformIdentity, Status};
use threadesk_core::engine::{Invitee, NewMessage, NewTicket};
use threadesk_core::links::PlatformRef;
use threadesk_core::outbox::Consumer;
use threadesk_core::surfaces::Audience;
use threadesk_core::testing::{Harness, Kind};
use threadesk_core::{Ctx, PersonId};
use threadesk_email::testing::SmtpSink;
use threadesk_email::{token, EmailAdapter, EmailConfig};

pub use threadesk_core::testing::backends;

pub const SECRET: &[u8] = b"mail token secret";
pub const INBOUND: &str = "an-inbound-webhook-secret";

pub struct World {
    pub h: Harness,
    pub mail: EmailAdapter,
    pub sink: SmtpSink,
    pub blobs: threadesk_core::blobs::BlobStore,
    _dir: tempfile::TempDir,
}

pub async fn world(kind: Kind) -> World {
    world_with(kind, threadesk_core::Settings::default()).await
}

pub async fn world_with(kind: Kind, settings: threadesk_core::Settings) -> World {
    let h = threadesk_core::testing::harness_with(kind, settings, 5).await;
    let sink = SmtpSink::start().await;
    let (host, port, security, credentials) = EmailConfig::parse_smtp_url(&sink.url()).unwrap();
    let config = EmailConfig {
        host,
        port,
        security,
        credentials,
        from: "Acme Support <help@acme.test>".into(),
        reply_domain: "reply.acme.test".into(),
        secret: SECRET.to_vec(),
        public_url: "https://help.acme.test".into(),
        inbound_secret: Some(INBOUND.as_bytes().to_vec()),
    };
    let dir = tempfile::tempdir().unwrap();
    let blobs = threadesk_core::blobs::BlobStore::open(dir.path()).unwrap();
    let mail = EmailAdapter::new(h.engine.clone(), config)
        .unwrap()
        .with_blobs(blobs.clone());
    assert!(mail.connect().await.unwrap(), "the sink answers");
    World {
        h,
        mail,
        sink,
        blobs,
        _dir: dir,
    }
}

impl World {
    pub async fn settle(&self) {
        for _ in 0..20 {
            if self.mail.pump().await.unwrap() == 0 {
                return;
            }
        }
        panic!("the outbox did not settle");
    }

    pub async fn customer(&self, name: &str, address: &str) -> PersonId {
        self.h
            .engine
            .ensure_person(&PlatformIdentity::email(address), name)
            .await
            .unwrap()
            .id
    }
}

#[apply(backends)]
#[tokio::test]
async fn the_requester_gets_a_confirmation_that_starts_the_mail_thread(#[case] kind: Kind) {
    let w = world(kind).await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let input = NewTicket {
        subject: "VPN down".into(),
        body: "It drops every hour".into(),
        ..Default::default()
    };
    let opened = w.h.engine.open_ticket(&Ctx::new(bob), input).await.unwrap();
    w.settle().await;
    let got = w.sink.to("bob@customer.test");
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.mail_from, "help@acme.test");
    assert_eq!(
        m.header("Subject").unwrap(),
        format!("[{}] VPN down", opened.ticket.number)
    );
    assert_eq!(
        m.header("Message-ID").unwrap(),
        format!("<ticket-{}@reply.acme.test>", opened.ticket.id.0)
    );
    assert_eq!(m.header("Auto-Submitted").unwrap(), "auto-generated");
    let text = m.text();
    assert!(text.contains(&opened.ticket.number.to_string()), "{text}");
    assert!(text.contains("> It drops every hour"), "{text}");
    // the link opens the ticket people know by its number (not its row id).
    assert!(
        text.contains(&format!(
            "Follow it in the portal: https://help.acme.test/tickets/{}",
            opened.ticket.number.0
        )),
        "{text}"
    );
    assert!(m.parsed().body_html(0).is_some(), "an HTML part too");
    // the reply address is signed for Bob and this ticket.
    let reply_to = m.header("Reply-To").unwrap();
    let address = reply_to.rsplit('<').next().unwrap().trim_end_matches('>');
    let t = token::token_of_address(address, "reply.acme.test").expect("our reply domain");
    assert_eq!(token::verify(SECRET, t), Some((opened.ticket.id, bob)));
    assert!(address.starts_with("help+"), "{address}");
    // handed out again, nothing is sent twice.
    w.settle().await;
    assert_eq!(w.sink.received().len(), 1);
}

#[apply(backends)]
#[tokio::test]
async fn replies_and_status_changes_reach_followers_by_mail_threaded(#[case] kind: Kind) {
    let w = world(kind).await;
    let sam = w.h.staff("Sam Support").await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let carol = w.customer("Carol Chen", "carol@customer.test").await;
    let t = w.h.open(bob, "Printer").await.ticket;
    let d =
        w.h.engine
            .invite_delegate(&Ctx::new(bob), t.id, Invitee::Person(carol))
            .await
            .unwrap();
    w.h.engine
        .accept_delegation(&Ctx::new(carol), d.id)
        .await
        .unwrap();
    w.settle().await;
    let before = w.sink.received().len();

    w.h.engine
        .reply(
            &Ctx::new(sam),
            t.id,
            NewMessage::text("Try turning it off and on"),
        )
        .await
        .unwrap();
    w.h.engine
        .note(
            &Ctx::new(sam),
            t.id,
            NewMessage::text("internal: third time"),
        )
        .await
        .unwrap();
    w.h.engine
        .reply(&Ctx::new(bob), t.id, NewMessage::text("It worked, thanks"))
        .await
        .unwrap();
    w.settle().await;
    let new: Vec<_> = w.sink.received().into_iter().skip(before).collect();
    let root = format!("<ticket-{}@reply.acme.test>", t.id.0);
    let to_bob: Vec<_> = new
        .iter()
        .filter(|m| m.rcpt_to == ["bob@customer.test"])
        .collect();
    let to_carol: Vec<_> = new
        .iter()
        .filter(|m| m.rcpt_to == ["carol@customer.test"])
        .collect();
    assert_eq!(to_bob.len(), 1, "Bob hears of Sam's reply, not of his own");
    assert_eq!(
        to_carol.len(),
        2,
        "the accepted delegate hears of both replies"
    );
    for m in new.iter() {
        assert!(
            !m.text().contains("third time"),
            "internal notes never go out"
        );
        assert_eq!(m.header("In-Reply-To").unwrap(), root);
        assert_eq!(m.header("References").unwrap(), root);
        assert!(m
            .header("Subject")
            .unwrap()
            .starts_with(&format!("[{}]", t.number)));
    }
    assert!(
        to_bob[0].text().contains("Sam Support (staff) replied"),
        "{}",
        to_bob[0].text()
    );
    assert!(to_bob[0].text().contains("> Try turning it off and on"));
    // each mail's reply address is its recipient's own.
    let reply_to = to_carol[0].header("Reply-To").unwrap();
    let address = reply_to
        .rsplit('<')
        .next()
        .unwrap()
        .trim_end_matches('>')
        .to_owned();
    let tok = token::token_of_address(&address, "reply.acme.test").unwrap();
    assert_eq!(token::verify(SECRET, tok), Some((t.id, carol)));

    let before = w.sink.received().len();
    w.h.engine
        .set_status(&Ctx::new(sam), t.id, Status::OnHold)
        .await
        .unwrap();
    w.h.engine.close(&Ctx::new(bob), t.id).await.unwrap();
    w.settle().await;
    let new: Vec<_> = w.sink.received().into_iter().skip(before).collect();
    assert_eq!(
        new.iter()
            .filter(|m| m.text().contains("is now: On hold"))
            .count(),
        2
    );
    let closed: Vec<_> = new
        .iter()
        .filter(|m| m.text().contains("is closed"))
        .collect();
    assert_eq!(
        closed.len(),
        1,
        "Carol hears Bob closed it; Bob does not get his own change"
    );
    assert_eq!(closed[0].rcpt_to, ["carol@customer.test"]);
    // the closing mail carries the public transcript.
    assert!(
        closed[0].text().contains("transcript is attached"),
        "{}",
        closed[0].text()
    );
    let parsed = closed[0].parsed();
    let file = parsed.attachment(0).expect("the transcript attached");
    assert_eq!(
        mail_parser::MimeHeaders::attachment_name(file),
        Some(format!("ticket-{}.html", t.number.0).as_str())
    );
    let html = String::from_utf8_lossy(file.contents()).into_owned();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("Try turning it off and on"), "{html}");
    assert!(html.contains("End of the transcript"));
    assert!(
        !html.contains("third time"),
        "no internal note in a customer's transcript"
    );
}

#[apply(backends)]
#[tokio::test]
async fn smtp_failures_retry_what_is_missing_and_skip_what_cannot_work(#[case] kind: Kind) {
    let w = world(kind).await;
    let sam = w.h.staff("Sam Support").await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let carol = w.customer("Carol Chen", "carol@customer.test").await;
    let t = w.h.open(bob, "Outage").await.ticket;
    let d =
        w.h.engine
            .invite_delegate(&Ctx::new(bob), t.id, Invitee::Person(carol))
            .await
            .unwrap();
    w.h.engine
        .accept_delegation(&Ctx::new(carol), d.id)
        .await
        .unwrap();
    w.settle().await;
    let before = w.sink.received().len();

    // the server is busy for the first recipient: that mail waits; the next is sent.
    w.sink.refuse_next("451 4.3.0 try again later");
    w.h.engine
        .reply(&Ctx::new(sam), t.id, NewMessage::text("We are on it"))
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.sink.received().len() - before, 1, "one of two went out");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.settle().await;
    let new: Vec<_> = w.sink.received().into_iter().skip(before).collect();
    let mut to: Vec<String> = new.iter().map(|m| m.rcpt_to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["bob@customer.test", "carol@customer.test"],
        "each once"
    );

    // a mailbox that does not exist: skipped for good, the other still mailed.
    let before = w.sink.received().len();
    w.sink.refuse_next("550 5.1.1 no such user");
    w.h.engine
        .reply(&Ctx::new(sam), t.id, NewMessage::text("Fixed"))
        .await
        .unwrap();
    w.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.settle().await;
    assert_eq!(w.sink.received().len() - before, 1);
    let lag = threadesk_core::outbox::Outbox::new(w.h.engine.db().clone())
        .lag("email")
        .await
        .unwrap();
    assert_eq!(lag.pending, 0, "nothing left waiting: {lag:?}");
    // staff see the refused mailbox on the ticket.
    let failures = w.h.engine.mail_failures(sam, t.id).await.unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].reason.contains("no such user"), "{failures:?}");
    assert!(
        w.h.engine.mail_failures(bob, t.id).await.is_err(),
        "staff only"
    );
}

#[apply(backends)]
#[tokio::test]
async fn followers_reading_the_ticket_in_a_chat_thread_get_no_mail(#[case] kind: Kind) {
    let w = world(kind).await;
    let sam = w.h.staff("Sam Support").await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let t = w.h.open(bob, "Chatty").await.ticket;
    w.settle().await;
    // Bob follows the ticket in his Slack DMs.
    let card = PlatformRef {
        platform: threadesk_core::domain::Platform::Slack,
        workspace: "T1".into(),
        channel: "DBOB".into(),
        message_id: "1.1".into(),
    };
    w.h.engine
        .system()
        .put_surface(t.id, &card, Audience::Person(bob))
        .await
        .unwrap();
    let before = w.sink.received().len();
    w.h.engine
        .reply(&Ctx::new(sam), t.id, NewMessage::text("Seen in Slack"))
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(
        w.sink.received().len(),
        before,
        "no mail for what Bob reads in Slack"
    );
    // once that card lost access, mail takes over.
    w.h.engine.system().close_surface(&card).await.unwrap();
    w.h.engine
        .reply(&Ctx::new(sam), t.id, NewMessage::text("Now by mail"))
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.sink.received().len(), before + 1);
}

#[apply(backends)]
#[tokio::test]
async fn an_invitation_by_email_carries_a_single_use_accept_link(#[case] kind: Kind) {
    let w = world(kind).await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let t = w.h.open(bob, "Shared").await.ticket;
    let d =
        w.h.engine
            .invite_delegate(
                &Ctx::new(bob),
                t.id,
                Invitee::Email("dana@partner.test".into()),
            )
            .await
            .unwrap();
    w.settle().await;
    w.settle().await;
    let got = w.sink.to("dana@partner.test");
    assert_eq!(got.len(), 1, "one invitation");
    let text = got[0].text();
    assert!(text.contains("Bob Builder invited you"), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/invitations/accept/"))
        .expect("an accept link")
        .to_owned();
    assert!(link.starts_with("https://help.acme.test/invitations/accept/"));
    let token = link.rsplit('/').next().unwrap();
    let r =
        w.h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::Accept, token)
            .await
            .unwrap();
    assert_eq!(r.delegate, Some(d.id));
    assert!(
        w.h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::Accept, token)
            .await
            .is_err(),
        "once"
    );
    let decline = text
        .split_whitespace()
        .find(|w| w.contains("/invitations/decline/"))
        .expect("a decline link")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let r =
        w.h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::Decline, &decline)
            .await
            .unwrap();
    assert_eq!(r.delegate, Some(d.id));
    // a sign-in link mail, for the portal.
    w.mail
        .send_sign_in("dana@partner.test", "abc123")
        .await
        .unwrap();
    let signin = w.sink.to("dana@partner.test").pop().unwrap();
    assert!(signin
        .text()
        .contains("https://help.acme.test/signin/link/abc123"));
    assert_eq!(
        signin.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_owner_without_a_chat_account_gets_customer_replies_by_mail(#[case] kind: Kind) {
    let w = world(kind).await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let kim = w.customer("Kim Keeper", "kim@acme.test").await;
    let boss = w.h.staff("Boss").await;
    w.h.engine
        .set_staff(&Ctx::new(boss), kim, true)
        .await
        .unwrap();
    let t = w.h.open(bob, "VPN down").await.ticket;
    w.h.reply(bob, t.id, "before anyone owns it").await.unwrap();
    w.settle().await;
    assert!(w.sink.to("kim@acme.test").is_empty(), "not the owner yet");
    w.h.engine.claim(&Ctx::new(kim), t.id).await.unwrap();
    w.h.reply(bob, t.id, "any news?").await.unwrap();
    w.h.reply(kim, t.id, "working on it").await.unwrap();
    w.settle().await;
    w.settle().await;
    let got = w.sink.to("kim@acme.test");
    assert_eq!(got.len(), 1, "one mail: Bob's reply, not her own");
    let text = got[0].text();
    assert!(
        text.contains("replied on ticket #1001 that you own"),
        "{text}"
    );
    assert!(text.contains("> any news?"), "{text}");
    // an owner who has a chat account is told there instead.
    w.h.engine
        .link_identities(
            &Ctx::new(boss),
            &PlatformIdentity::email("kim@acme.test"),
            &PlatformIdentity::slack("T1", "UKIM"),
        )
        .await
        .unwrap();
    w.h.reply(bob, t.id, "hello again").await.unwrap();
    w.settle().await;
    assert_eq!(w.sink.to("kim@acme.test").len(), 1, "no second mail");
}

#[apply(backends)]
#[tokio::test]
async fn a_quiet_customer_is_reminded_by_mail_and_rates_the_closed_ticket_from_the_closing_mail(
    #[case] kind: Kind,
) {
    use std::time::Duration;
    const DAY: Duration = Duration::from_secs(24 * 3600);
    let settings = threadesk_core::Settings {
        auto_close: threadesk_core::autoclose::AutoClose::parse("3d/2d").unwrap(),
        ..Default::default()
    };
    let w = world_with(kind, settings).await;
    let sam = w.h.staff("Sam Support").await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let t = w.h.open(bob, "Outage").await.ticket;
    w.h.reply(sam, t.id, "Is it back?").await.unwrap();
    w.settle().await;
    let before = w.sink.received().len();
    w.h.engine
        .clock()
        .advance(3 * DAY + Duration::from_secs(60));
    assert_eq!(w.h.engine.run_auto_close(10).await.unwrap().reminded, 1);
    w.settle().await;
    let new: Vec<_> = w.sink.received().into_iter().skip(before).collect();
    assert_eq!(new.len(), 1, "one reminder, to Bob");
    assert_eq!(new[0].rcpt_to, ["bob@customer.test"]);
    let text = new[0].text();
    assert!(
        text.contains(&format!(
            "We haven't heard from you on ticket {} for 3 days. If we don't hear from you, it closes automatically on",
            t.number
        )),
        "{text}"
    );
    w.h.engine.clock().advance(2 * DAY);
    assert_eq!(w.h.engine.run_auto_close(10).await.unwrap().closed, 1);
    w.settle().await;
    let new: Vec<_> = w.sink.received().into_iter().skip(before + 1).collect();
    assert_eq!(new.len(), 1, "one closing mail, to Bob");
    let text = new[0].text();
    assert!(
        text.contains(&format!(
            "Ticket {} was closed automatically: no reply for 5 days.",
            t.number
        )),
        "{text}"
    );
    assert!(text.contains("transcript is attached"), "{text}");
    // five rating links, best first; each asks to confirm on its page.
    let links: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("https://help.acme.test/rate/").nth(1))
        .collect();
    assert_eq!(links.len(), 5, "{text}");
    assert!(
        links[0].ends_with("?score=5") && links[4].ends_with("?score=1"),
        "{links:?}"
    );
    let token = links[1].trim_end_matches("?score=4");
    assert!(
        links.iter().all(|l| l.starts_with(token)),
        "one token for the five"
    );
    assert!(new[0].html().contains(&format!("/rate/{token}?score=4")));
    let rated =
        w.h.engine
            .rate_by_link(token, 4, Some("Fine"))
            .await
            .unwrap();
    assert_eq!((rated.score, rated.rated_by), (4, bob));
    let again = w.h.engine.rate_by_link(token, 1, None).await;
    assert!(
        matches!(again, Err(threadesk_core::EngineError::NotFound(_))),
        "{again:?}"
    );
    // staff get no rating links when they close a ticket of their own.
    let own = w.h.open(sam, "Internal").await.ticket;
    let mark = w.sink.received().len();
    w.h.engine.close(&Ctx::new(sam), own.id).await.unwrap();
    w.settle().await;
    assert!(w
        .sink
        .received()
        .into_iter()
        .skip(mark)
        .all(|m| !m.text().contains("/rate/")));
}
