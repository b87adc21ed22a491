//! A closed ticket's public transcript in the transcript channel
//! (`SLACK_TRANSCRIPT_CHANNEL`).

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use std::time::Duration;
use threadesk_core::engine::NewMessage;
use threadesk_core::outbox::{Consumer, Intent, Outbox};
use threadesk_core::{Ctx, TicketId};
use threadesk_slack::api::file_marker;

const TRANSCRIPTS: &str = "CTRANSCRIPTS";
const NOTE: &str = "customer is still on the old client, do not tell them";

/// Runs the outbox until nothing is due, however many events wait.
async fn drain_all(w: &World) {
    for _ in 0..1000 {
        if w.slack.mirror().pump().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the outbox did not drain");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("the transcript is UTF-8")
}

#[apply(backends)]
#[tokio::test]
async fn closing_uploads_the_public_transcript_to_the_transcript_channel_once(#[case] kind: Kind) {
    let w = world_with(kind, |c| {
        c.transcript_channel = Some(TRANSCRIPTS.into());
        c.public_url = "https://help.example.com".into();
    })
    .await;
    let t = w
        .open_ticket(BOB, "VPN drops", "my VPN drops every hour")
        .await;
    let sam = w.person(SAM).await;
    w.h.engine
        .reply(
            &Ctx::new(sam),
            TicketId(1),
            NewMessage::text("Try the new client, please"),
        )
        .await
        .unwrap();
    w.h.engine
        .note(&Ctx::new(sam), TicketId(1), NewMessage::text(NOTE))
        .await
        .unwrap();
    w.drain().await;
    assert!(
        w.fake.uploads().is_empty(),
        "nothing before the ticket closes"
    );

    w.h.engine.close(&Ctx::new(sam), TicketId(1)).await.unwrap();
    // the close event is handed out more than once before it is done with
    // (a worker crashed before acknowledging it, its lease ran out): each
    // delivery after the first uploads nothing.
    let closed = w.h.newest_event("ticket_closed").await;
    let mirror = w.slack.mirror();
    mirror.deliver(&closed).await.unwrap();
    mirror.deliver(&closed).await.unwrap();
    w.drain().await;

    let uploads = w.fake.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    let u = &uploads[0];
    let name = format!("ticket-{}.html", t.number);
    assert_eq!(u.channel.as_deref(), Some(TRANSCRIPTS));
    assert_eq!(u.filename, name);
    assert_eq!(u.length, u.content().len(), "the length announced");
    assert!(
        u.content_type.starts_with("text/html"),
        "{}",
        u.content_type
    );
    assert!(!u.with_token, "the signed upload URL gets no bot token");
    assert_eq!(u.title.as_deref(), Some("Ticket #1001 VPN drops"));
    let comment = u.initial_comment.clone().unwrap_or_default();
    assert!(
        comment.contains("#1001") && comment.contains("Sam Support"),
        "{comment}"
    );
    // the share's text carries the intent's token, for a retry to find.
    let token = Intent::new(format!("transcript:{}", closed.id)).token();
    assert!(comment.ends_with(&file_marker(&token)), "{comment}");
    let html = text(u.content());
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("my VPN drops every hour"), "{html}");
    assert!(html.contains("Try the new client, please"), "{html}");
    assert!(
        html.contains("End of the transcript"),
        "the whole file: {html}"
    );
    assert!(
        !html.contains(NOTE),
        "no internal note in the channel: {html}"
    );
    assert!(!html.contains("internal note"), "{html}");
    // the upload is shared in the channel: nothing else is posted there.
    assert!(w.fake.posts(TRANSCRIPTS, None).is_empty());
    for step in [
        "files.getUploadURLExternal",
        "upload_url",
        "files.completeUploadExternal",
    ] {
        assert_eq!(w.fake.calls_of(step).len(), 1, "{step} once");
    }
    let complete = &w.fake.calls_of("files.completeUploadExternal")[0];
    assert_eq!(
        complete["files"],
        json!([{ "id": u.id, "title": "Ticket #1001 VPN drops" }])
    );
    assert_eq!(complete["channel_id"], TRANSCRIPTS);
    assert!(w.fake.calls_of("files.upload").is_empty(), "retired");
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn without_a_transcript_channel_nothing_is_uploaded(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN drops", "my VPN drops").await;
    let sam = w.person(SAM).await;
    w.h.engine.close(&Ctx::new(sam), TicketId(1)).await.unwrap();
    w.drain().await;
    // the close was delivered (its line is in the requester's thread)…
    let closed_line = w.fake.posts(&t.dm, Some(&t.card_ts)).iter().any(|c| {
        c.args["text"]
            .as_str()
            .is_some_and(|s| s.contains("closed ticket #1001"))
    });
    assert!(closed_line, "the close was delivered");
    // …and no transcript went anywhere.
    assert!(w.fake.uploads().is_empty());
    assert!(w.fake.calls_of("files.getUploadURLExternal").is_empty());
    assert!(w.fake.calls_of("files.completeUploadExternal").is_empty());
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn a_transcript_whose_answer_was_lost_is_not_posted_again(#[case] kind: Kind) {
    let w = world_with(kind, |c| c.transcript_channel = Some(TRANSCRIPTS.into())).await;
    w.open_ticket(BOB, "Lost answer", "hello").await;
    let sam = w.person(SAM).await;
    // Slack shares the file in the channel, but its answer never arrives
    // (as after a crash between Slack's share and our record): the event
    // is retried with its intent still open.
    w.fake.lose_answer_next("files.completeUploadExternal");
    w.h.engine.close(&Ctx::new(sam), TicketId(1)).await.unwrap();
    w.drain().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.drain().await;
    w.drain().await;
    // the retry read the channel's history, found the share by the token
    // at the end of its comment, and uploaded nothing more.
    let asked = w.fake.calls_of("conversations.history");
    assert!(
        asked.iter().any(|a| a["channel"] == TRANSCRIPTS),
        "the retry asked Slack first: {asked:?}"
    );
    assert_eq!(w.fake.uploads().len(), 1, "shared once");
    assert_eq!(w.fake.upload_attempts().len(), 1, "uploaded once");
    assert_eq!(w.fake.calls_of("files.getUploadURLExternal").len(), 1);
    assert_eq!(w.fake.calls_of("files.completeUploadExternal").len(), 1);
    let lag = Outbox::new(w.h.engine.db().clone())
        .lag("slack")
        .await
        .unwrap();
    assert_eq!((lag.pending, lag.failed), (0, 0));
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn a_transcript_whose_share_failed_is_uploaded_again_and_shared_once(#[case] kind: Kind) {
    let w = world_with(kind, |c| c.transcript_channel = Some(TRANSCRIPTS.into())).await;
    w.open_ticket(BOB, "Share failed", "hello").await;
    let sam = w.person(SAM).await;
    // the bytes went up, but Slack failed the share: nothing is in the
    // channel, so the retry finds nothing and starts over.
    w.fake.fail_next("files.completeUploadExternal", 500);
    w.h.engine.close(&Ctx::new(sam), TicketId(1)).await.unwrap();
    w.drain().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.drain().await;
    w.drain().await;
    let attempts = w.fake.upload_attempts();
    assert_eq!(attempts.len(), 2, "a new upload URL: {attempts:?}");
    assert!(!attempts[0].completed, "the first file was never shared");
    assert_eq!(attempts[0].content(), attempts[1].content());
    let shared = w.fake.uploads();
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert_eq!(shared[0].id, attempts[1].id);
    let lag = Outbox::new(w.h.engine.db().clone())
        .lag("slack")
        .await
        .unwrap();
    assert_eq!((lag.pending, lag.failed), (0, 0));
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

/// The fake's own checks of the upload flow, which the specification
/// predates: a test would catch steps in a wrong order or a wrong length.
#[tokio::test]
async fn the_fake_refuses_uploads_out_of_order_or_of_the_wrong_length() {
    let w = world(Kind::Sqlite).await;
    let api = w.slack.api();
    let refused = |r: Result<String, threadesk_slack::api::ApiError>| {
        r.expect_err("refused")
            .code()
            .unwrap_or_default()
            .to_owned()
    };
    // a file never handed out.
    let unknown = api.complete_upload("F404", "t", TRANSCRIPTS, "c").await;
    assert_eq!(refused(unknown), "file_not_found");
    // shared before its bytes went up.
    let (url, id) = api.upload_url("a.html", 5).await.unwrap();
    let early = api.complete_upload(&id, "t", TRANSCRIPTS, "c").await;
    assert_eq!(refused(early), "file_not_found");
    // bytes other than announced.
    assert!(api
        .send_upload(&url, "text/html", b"toolong")
        .await
        .is_err());
    // the right order and length.
    api.send_upload(&url, "text/html", b"hello").await.unwrap();
    let done = api.complete_upload(&id, "t", TRANSCRIPTS, "c").await;
    assert_eq!(done.unwrap(), id);
    assert_eq!(w.fake.uploads()[0].content(), b"hello");
    // shared twice.
    let again = api.complete_upload(&id, "t", TRANSCRIPTS, "c").await;
    assert_eq!(refused(again), "file_not_found");
    let violations = w.fake.violations();
    for wrong in [
        "file F404 was never handed an upload URL",
        "has not received its bytes",
        "7 bytes, but files.getUploadURLExternal was told length 5",
        "was completed already",
    ] {
        assert!(
            violations.iter().any(|v| v.contains(wrong)),
            "{wrong}: {violations:?}"
        );
    }
    // arguments: a channel name for an id, a file item with more than
    // {id, title}, no length; and the retired method.
    let bad = [
        (
            "files.completeUploadExternal",
            json!({ "files": [{ "id": id }], "channel_id": "#transcripts" }),
        ),
        (
            "files.completeUploadExternal",
            json!({ "files": [{ "id": id, "title": "t", "size": 5 }] }),
        ),
        (
            "files.getUploadURLExternal",
            json!({ "filename": "a.html" }),
        ),
        ("files.upload", json!({ "channels": TRANSCRIPTS })),
    ];
    for (method, args) in bad {
        assert!(api.post(method, args).await.is_err(), "{method}");
    }
    let violations = w.fake.violations();
    for wrong in [
        "channel_id is not a channel id",
        "files is not a JSON array",
        "files.getUploadURLExternal: missing required length",
        "files.upload: retired",
    ] {
        assert!(
            violations.iter().any(|v| v.contains(wrong)),
            "{wrong}: {violations:?}"
        );
    }
}

#[apply(backends)]
#[tokio::test]
async fn a_transcript_over_the_limit_is_a_link_to_the_portal_instead(#[case] kind: Kind) {
    // no triage channel: the ticket lives on the portal only, and Slack
    // hears of it through its close.
    let w = world_with(kind, |c| {
        c.staff_channel = None;
        c.transcript_channel = Some(TRANSCRIPTS.into());
        c.public_url = "https://help.example.com/".into();
    })
    .await;
    let bob = w.h.person("Bob Builder").await;
    let t = w.h.open(bob, "Huge").await;
    // every `&` is five bytes of HTML: 70 of these make more than 5 MiB.
    let long = "&".repeat(16_000);
    for _ in 0..70 {
        w.h.reply(bob, t.ticket.id, &long).await.unwrap();
    }
    w.h.engine.close(&Ctx::new(bob), t.ticket.id).await.unwrap();
    drain_all(&w).await;
    assert!(w.fake.uploads().is_empty(), "too long to upload");
    let posts = w.fake.posts(TRANSCRIPTS, None);
    assert_eq!(posts.len(), 1, "{posts:?}");
    let line = posts[0].args["text"].as_str().unwrap_or_default();
    let number = t.ticket.number.0;
    assert!(
        line.contains(&format!("https://help.example.com/tickets/{number}")),
        "{line}"
    );
    assert!(line.contains("too long"), "{line}");
    // the line carries its delivery token, as every post does.
    assert_eq!(
        posts[0].args["metadata"]["event_type"], "threadesk_delivery",
        "{:?}",
        posts[0].args
    );
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}
