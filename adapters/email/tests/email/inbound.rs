//! Replies by e-mail: the notification's own reply address, posted to
//! `/email/inbound` as inbound-mail services post it.

use crate::outbound::{backends, world, World, INBOUND};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::Value;
use threadesk_core::domain::Status;
use threadesk_core::engine::NewMessage;
use threadesk_core::testing::Kind;
use threadesk_core::{Ctx, TicketId};
use tower::ServiceExt;

fn basic(secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("inbound:{secret}"))
    )
}

impl World {
    async fn post(
        &self,
        content_type: &str,
        auth: Option<String>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::post("/email/inbound").header("content-type", content_type);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = threadesk_email::router(self.mail.clone())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn mail_in(&self, raw: &str) -> (StatusCode, Value) {
        self.post(
            "message/rfc822",
            Some(basic(INBOUND)),
            raw.replace('\n', "\r\n").into_bytes(),
        )
        .await
    }

    /// Bob's ticket, with Sam's reply mailed to him; the reply address.
    async fn notified(&self) -> (TicketId, String) {
        let sam = self.h.staff("Sam Support").await;
        let bob = self.customer("Bob Builder", "bob@customer.test").await;
        let t = self.h.open(bob, "Printer").await.ticket;
        self.h
            .engine
            .reply(
                &Ctx::new(sam),
                t.id,
                NewMessage::text("Try turning it off and on"),
            )
            .await
            .unwrap();
        self.settle().await;
        let m = self.sink.to("bob@customer.test").pop().unwrap();
        let reply_to = m.header("Reply-To").unwrap();
        (
            t.id,
            reply_to
                .rsplit('<')
                .next()
                .unwrap()
                .trim_end_matches('>')
                .to_owned(),
        )
    }

    async fn bodies(&self, ticket: TicketId) -> Vec<String> {
        let staff = self.h.staff("Auditor").await;
        self.h
            .engine
            .thread(staff, ticket)
            .await
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.body)
            .collect()
    }
}

fn reply(from: &str, to: &str, id: &str, extra: &str, text: &str) -> String {
    format!(
        "From: {from}\nTo: {to}\nSubject: Re: [#1001] Printer\nMessage-ID: <{id}@customer.test>\nIn-Reply-To: <ticket-1@reply.acme.test>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n{extra}\n{text}\n"
    )
}

#[apply(backends)]
#[tokio::test]
async fn a_reply_to_the_notification_is_posted_without_the_quoted_mail(#[case] kind: Kind) {
    let w = world(kind).await;
    let (ticket, address) = w.notified().await;
    let text = "It worked, thanks!\n\nOn Mon, 23 Nov 2026 at 10:00, Acme Support <help@acme.test>\nwrote:\n> Try turning it off and on\n>\n-- \nBob";
    let (status, answer) = w
        .mail_in(&reply(
            "Bob Builder <bob@customer.test>",
            &address,
            "r1",
            "",
            text,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"], "posted");
    assert_eq!(w.bodies(ticket).await.last().unwrap(), "It worked, thanks!");
    let staff = w.h.staff("Checker").await;
    assert_eq!(
        w.h.engine.ticket(staff, ticket).await.unwrap().status,
        Status::ClientReplied
    );
    // the service delivering it again posts nothing new.
    w.mail_in(&reply(
        "Bob Builder <bob@customer.test>",
        &address,
        "r1",
        "",
        text,
    ))
    .await;
    assert_eq!(w.bodies(ticket).await.len(), 3);
    // a multipart form with the message in `email`, signed with an HMAC.
    let raw = reply(
        "bob@customer.test",
        &address,
        "r2",
        "",
        "Second thought: it smells funny",
    )
    .replace('\n', "\r\n");
    let body = format!(
        "--XYZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n{address}\r\n--XYZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n{raw}\r\n--XYZ--\r\n"
    );
    let sig = {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(INBOUND.as_bytes()).unwrap();
        m.update(body.as_bytes());
        hex::encode(m.finalize().into_bytes())
    };
    let req = Request::post("/email/inbound")
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .header("x-threadesk-signature", format!("sha256={sig}"))
        .body(Body::from(body))
        .unwrap();
    let res = threadesk_email::router(w.mail.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        w.bodies(ticket).await.last().unwrap(),
        "Second thought: it smells funny"
    );
}

#[apply(backends)]
#[tokio::test]
async fn forged_senders_tampered_tokens_and_automatic_mail_are_never_posted(#[case] kind: Kind) {
    let w = world(kind).await;
    let (ticket, address) = w.notified().await;
    let before = w.bodies(ticket).await.len();
    let mails_before = w.sink.received().len();
    // unauthenticated or wrong secret: 401.
    let raw = reply("bob@customer.test", &address, "a1", "", "hello").into_bytes();
    assert_eq!(
        w.post("message/rfc822", None, raw.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.post("message/rfc822", Some(basic("wrong-secret-value")), raw)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // someone else writing to Bob's address.
    let (_, a) = w
        .mail_in(&reply("Eve <eve@evil.test>", &address, "a2", "", "pay me"))
        .await;
    assert_eq!(a["result"], "refused", "{a}");
    // a token changed by one character.
    let mut tampered = address.clone();
    let at = tampered.find('@').unwrap() - 1;
    let c = if tampered.as_bytes()[at] == b'0' {
        "1"
    } else {
        "0"
    };
    tampered.replace_range(at..at + 1, c);
    let (_, a) = w
        .mail_in(&reply(
            "bob@customer.test",
            &tampered,
            "a3",
            "",
            "forged ticket",
        ))
        .await;
    assert_eq!(a["result"], "refused", "{a}");
    // an out-of-office reply, a bounce, a list mail.
    for (n, extra) in [
        "Auto-Submitted: auto-replied",
        "Return-Path: <>",
        "Precedence: bulk",
        "List-Id: <all.customer.test>",
        "X-Autoreply: yes",
    ]
    .into_iter()
    .enumerate()
    {
        let (_, a) = w
            .mail_in(&reply(
                "bob@customer.test",
                &address,
                &format!("auto{n}"),
                &format!("{extra}\n"),
                "I am away",
            ))
            .await;
        assert_eq!(a["result"], "ignored", "{extra}: {a}");
    }
    let bounce = format!(
        "From: MAILER-DAEMON@customer.test\nTo: {address}\nSubject: Undelivered Mail\nMessage-ID: <b1@customer.test>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: text/plain\n\nDelivery failed\n--B--\n"
    );
    assert_eq!(w.mail_in(&bounce).await.1["result"], "ignored");
    assert_eq!(w.bodies(ticket).await.len(), before, "nothing posted");
    let staff = w.h.staff("Checker").await;
    let problems = w.h.engine.mail_failures(staff, ticket).await.unwrap();
    assert_eq!(
        problems.len(),
        1,
        "the forged sender is shown to staff: {problems:?}"
    );
    assert_eq!(problems[0].address, "eve@evil.test");
    assert_eq!(w.sink.received().len(), mails_before, "nothing answered");
}

#[apply(backends)]
#[tokio::test]
async fn a_reply_to_a_closed_ticket_is_answered_once(#[case] kind: Kind) {
    let w = world(kind).await;
    let (ticket, address) = w.notified().await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    w.h.engine.close(&Ctx::new(bob), ticket).await.unwrap();
    w.settle().await;
    let before = w.sink.to("bob@customer.test").len();
    let late = reply("bob@customer.test", &address, "late1", "", "One more thing");
    let (status, a) = w.mail_in(&late).await;
    assert_eq!(
        (status, a["result"].as_str()),
        (StatusCode::ACCEPTED, Some("closed"))
    );
    w.mail_in(&late).await;
    let answers: Vec<_> = w
        .sink
        .to("bob@customer.test")
        .into_iter()
        .skip(before)
        .collect();
    assert_eq!(answers.len(), 1, "one answer for a mail delivered twice");
    assert!(answers[0].text().contains("is closed"));
    assert!(
        answers[0].text().contains("> One more thing"),
        "the text is given back"
    );
    assert_eq!(
        answers[0].header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(!w.bodies(ticket).await.iter().any(|b| b == "One more thing"));
    // after a restart (a new channel over the same database), still once.
    let restarted =
        threadesk_email::EmailAdapter::new(w.h.engine.clone(), w.mail.config().clone()).unwrap();
    let outcome = restarted
        .receive(late.replace('\n', "\r\n").as_bytes())
        .await
        .unwrap();
    assert!(
        matches!(outcome, threadesk_email::inbound::Outcome::Closed { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        w.sink.to("bob@customer.test").len(),
        before + 1,
        "not answered again"
    );
    // the SMTP server refusing the answer: the service is told to deliver again.
    let other = reply("bob@customer.test", &address, "late3", "", "And another");
    w.sink.refuse_next("451 4.3.0 try again later");
    assert_eq!(w.mail_in(&other).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(w.mail_in(&other).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        w.sink.to("bob@customer.test").len(),
        before + 2,
        "answered on the redelivery"
    );
    // an auto-reply to that answer is not answered again.
    w.mail_in(&reply(
        "bob@customer.test",
        &address,
        "late2",
        "Auto-Submitted: auto-replied\n",
        "Out of office",
    ))
    .await;
    assert_eq!(w.sink.to("bob@customer.test").len(), before + 2);
}

#[apply(backends)]
#[tokio::test]
async fn attachments_of_an_emailed_reply_become_ticket_attachments(#[case] kind: Kind) {
    let w = world(kind).await;
    let (ticket, address) = w.notified().await;
    let raw = format!(
        "From: bob@customer.test\nTo: {address}\nSubject: Re: Printer\nMessage-ID: <att1@customer.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain; charset=utf-8\n\nThe error log is attached.\n--B\nContent-Type: application/pdf; name=\"log.pdf\"\nContent-Disposition: attachment; filename=\"../log.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IK\n--B--\n"
    );
    let (status, a) = w.mail_in(&raw).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let staff = w.h.staff("Checker").await;
    let thread = w.h.engine.thread(staff, ticket).await.unwrap();
    let last = thread.messages.last().unwrap();
    assert_eq!(last.body, "The error log is attached.");
    assert_eq!(last.attachments.len(), 1);
    let file = &last.attachments[0];
    assert_eq!(file.name, ".._log.pdf", "no path in a name");
    assert_eq!(file.content_type, "application/pdf");
    let path = w.blobs.path_of(&file.url).expect("kept in the store");
    assert_eq!(
        std::fs::read(path).unwrap(),
        b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n"
    );
    assert_eq!(file.size_bytes, 15);
    // delivered again: one reply, and no second copy of the file is kept.
    let files = |w: &World| {
        let dir = w.blobs.path_of(&file.url).unwrap();
        std::fs::read_dir(dir.parent().unwrap()).unwrap().count()
    };
    let before = files(&w);
    w.mail_in(&raw).await;
    assert_eq!(files(&w), before);
    let staff = w.h.staff("Checker").await;
    let again = w.h.engine.thread(staff, ticket).await.unwrap();
    assert_eq!(again.messages.len(), thread.messages.len());
}

#[apply(backends)]
#[tokio::test]
async fn mail_with_nul_bytes_gets_a_final_answer_on_both_databases(#[case] kind: Kind) {
    let w = world(kind).await;
    let (ticket, address) = w.notified().await;
    // a NUL in the body (as quoted-printable `=00`) and in the Message-ID:
    // the text is kept without it.
    let qp = "Content-Transfer-Encoding: quoted-printable\n";
    let raw = reply(
        "Bob Builder <bob@customer.test>",
        &address,
        "n\u{0}ul",
        qp,
        "Still=00 broken",
    );
    let (status, answer) = w.mail_in(&raw).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"], "posted");
    assert_eq!(w.bodies(ticket).await.last().unwrap(), "Still broken");
    // a NUL in From: refused for good, not "try again" for ever.
    let raw = reply(
        "Bob\u{0} <bob\u{0}@customer.test>",
        &address,
        "n2",
        "",
        "hello",
    );
    let (status, answer) = w.mail_in(&raw).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["result"], "refused");
    assert!(!w.bodies(ticket).await.contains(&"hello".to_owned()));
}

#[apply(backends)]
#[tokio::test]
async fn an_invitee_answering_the_invitation_mail_is_told_how_to_accept_then_heard(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let bob = w.customer("Bob Builder", "bob@customer.test").await;
    let t = w.h.open(bob, "Printer").await.ticket;
    w.h.engine
        .invite_delegate(
            &Ctx::new(bob),
            t.id,
            threadesk_core::engine::Invitee::Email("dana@partner.test".into()),
        )
        .await
        .unwrap();
    w.settle().await;
    let invitation = w
        .sink
        .to("dana@partner.test")
        .pop()
        .expect("the invitation");
    let address = invitation
        .header("Reply-To")
        .unwrap()
        .rsplit('<')
        .next()
        .unwrap()
        .trim_end_matches('>')
        .to_owned();
    // before accepting: not posted, and told how, with a fresh link and the text.
    let early = reply("dana@partner.test", &address, "dana1", "", "Happy to help");
    let (status, answer) = w.mail_in(&early).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["result"], "refused");
    w.mail_in(&early).await;
    let told: Vec<_> = w.sink.to("dana@partner.test").into_iter().skip(1).collect();
    assert_eq!(told.len(), 1, "told once for a mail delivered twice");
    let text = told[0].text();
    assert!(text.contains("have not accepted yet"), "{text}");
    assert!(text.contains("> Happy to help"), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/invitations/accept/"))
        .expect("an accept link")
        .to_owned();
    assert!(!w.bodies(t.id).await.iter().any(|b| b == "Happy to help"));
    // a stranger writing to the same address is nobody.
    let stranger = reply("eve@else.test", &address, "eve1", "", "Let me in");
    let (_, refused) = w.mail_in(&stranger).await;
    assert_eq!(refused["result"], "refused");
    assert!(
        w.sink.to("eve@else.test").is_empty(),
        "strangers get no link"
    );
    // accepted through the link: the same address now posts as Dana.
    let token = link.rsplit('/').next().unwrap();
    let redeemed =
        w.h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::Accept, token)
            .await
            .unwrap();
    let dana = redeemed.person.id;
    w.h.engine
        .accept_delegation(&Ctx::new(dana), redeemed.delegate.unwrap())
        .await
        .unwrap();
    let later = reply("dana@partner.test", &address, "dana2", "", "Now I am in");
    let (_, posted) = w.mail_in(&later).await;
    assert_eq!(posted["result"], "posted", "{posted}");
    assert!(w.bodies(t.id).await.iter().any(|b| b == "Now I am in"));
}
