//! A closed ticket's public transcript in the transcript channel
//! (`DISCORD_TRANSCRIPT_CHANNEL`).

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::engine::NewMessage;
use threadesk_core::outbox::{Consumer, Outbox};
use threadesk_core::Ctx;
use threadesk_discord::testing::TRANSCRIPT_CHANNEL;

const NOTE: &str = "customer is still on the old client, do not tell them";

fn transcripts() -> String {
    TRANSCRIPT_CHANNEL.to_string()
}

/// Runs the outbox until nothing is due, however many events wait.
async fn settle_all(w: &World) {
    for _ in 0..1000 {
        if w.discord.mirror().pump().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the outbox did not settle");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("the transcript is UTF-8")
}

/// Requests that posted a message in the transcript channel.
fn posts_there(w: &World) -> Vec<threadesk_discord::testing::Call> {
    w.fake
        .calls_to("POST", &format!("/channels/{}/messages", transcripts()))
}

#[apply(backends)]
#[tokio::test]
async fn closing_posts_the_public_transcript_as_a_file_in_the_transcript_channel_once(
    #[case] kind: Kind,
) {
    let w = world_with(kind, |c| {
        c.transcript_channel = Some(TRANSCRIPT_CHANNEL);
        c.public_url = "https://help.example.com".into();
    })
    .await;
    let t = w
        .open_ticket(&bob(), "VPN drops", "my VPN drops every hour")
        .await;
    let sam = w.h.staff("Sam Support").await;
    w.h.engine
        .reply(
            &Ctx::new(sam),
            t.id,
            NewMessage::text("Try the new client, please"),
        )
        .await
        .unwrap();
    w.h.engine
        .note(&Ctx::new(sam), t.id, NewMessage::text(NOTE))
        .await
        .unwrap();
    w.settle().await;
    assert!(
        w.fake.files_in(&transcripts()).is_empty(),
        "nothing before the ticket closes"
    );

    w.h.engine.close(&Ctx::new(sam), t.id).await.unwrap();
    // the close event is handed out more than once before it is done with
    // (a worker crashed before acknowledging it, its lease ran out): each
    // delivery after the first posts nothing.
    let closed = w.h.newest_event("ticket_closed").await;
    let mirror = w.discord.mirror();
    mirror.deliver(&closed).await.unwrap();
    mirror.deliver(&closed).await.unwrap();
    w.settle().await;

    let files = w.fake.files_in(&transcripts());
    assert_eq!(files.len(), 1, "{files:?}");
    let f = &files[0];
    let number = t.number.trim_start_matches('#');
    assert_eq!(f.filename, format!("ticket-{number}.html"));
    assert_eq!(f.part, "files[0]");
    assert!(
        f.content_type.starts_with("text/html"),
        "{}",
        f.content_type
    );
    let html = text(&f.bytes);
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
    // one message carries it, with its comment and its nonce.
    let messages = w.fake.messages_in(&transcripts());
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["id"].as_str(), Some(f.message.as_str()));
    let content = messages[0]["content"].as_str().unwrap_or_default();
    assert!(
        content.contains(&t.number) && content.contains("Sam Support"),
        "{content}"
    );
    let posted = posts_there(&w);
    assert_eq!(posted.len(), 1, "asked once");
    assert_eq!(posted[0].body["enforce_nonce"], true);
    assert!(posted[0].body["nonce"].is_string(), "{}", posted[0].body);
    assert_eq!(
        posted[0].body["attachments"][0]["filename"],
        format!("ticket-{number}.html")
    );

    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn without_a_transcript_channel_nothing_is_posted(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "VPN drops", "my VPN drops").await;
    let sam = w.h.staff("Sam Support").await;
    w.h.engine.close(&Ctx::new(sam), t.id).await.unwrap();
    w.settle().await;
    // the close was delivered (the ticket's thread is locked)…
    let thread = w.fake.channel(&t.thread).expect("the ticket's thread");
    assert!(thread.locked, "the close was delivered");
    // …and no transcript went anywhere.
    assert!(posts_there(&w).is_empty());
    assert!(w.fake.messages_in(&transcripts()).is_empty());
    let any_file = w
        .fake
        .messages()
        .iter()
        .any(|m| m["attachments"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(!any_file, "no file posted anywhere");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_transcript_whose_answer_was_lost_is_not_posted_again(#[case] kind: Kind) {
    let w = world_with(kind, |c| c.transcript_channel = Some(TRANSCRIPT_CHANNEL)).await;
    let t = w.open_ticket(&bob(), "Lost answer", "Hello").await;
    let sam = w.h.staff("Sam Support").await;
    // Discord makes the message with its file, but the answer never
    // arrives: the retry sends the same nonce and gets that message back.
    w.fake
        .lose_answer_next(&format!("/channels/{}/messages", transcripts()));
    w.h.engine.close(&Ctx::new(sam), t.id).await.unwrap();
    w.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.settle().await;
    let tries = posts_there(&w);
    assert_eq!(tries.len(), 2, "tried twice: {tries:?}");
    assert_eq!(tries[0].body["nonce"], tries[1].body["nonce"]);
    assert_eq!(w.fake.files_in(&transcripts()).len(), 1, "made once");
    assert_eq!(w.fake.messages_in(&transcripts()).len(), 1);
    let lag = Outbox::new(w.h.engine.db().clone())
        .lag("discord")
        .await
        .unwrap();
    assert_eq!((lag.pending, lag.failed), (0, 0));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_transcript_over_the_limit_is_a_link_to_the_portal_instead(#[case] kind: Kind) {
    // no triage channel, and a ticket of the portal's: Discord hears of it
    // through its close only.
    let w = world_with(kind, |c| {
        c.staff_channel = None;
        c.transcript_channel = Some(TRANSCRIPT_CHANNEL);
        c.public_url = "https://help.example.com".into();
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
    settle_all(&w).await;
    assert!(
        w.fake.files_in(&transcripts()).is_empty(),
        "too long to post"
    );
    let lines = w.contents(&transcripts());
    assert_eq!(lines.len(), 1, "{lines:?}");
    let number = t.ticket.number.0;
    assert!(
        lines[0].contains(&format!("https://help.example.com/tickets/{number}")),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("too long"), "{}", lines[0]);
    assert_eq!(posts_there(&w)[0].body["enforce_nonce"], true);
    w.no_violations();
}
