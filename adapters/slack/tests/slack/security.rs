//! Signatures, redeliveries, escaping and bots.

use crate::helpers::*;
use axum::http::StatusCode;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;

#[apply(backends)]
#[tokio::test]
async fn forged_stale_and_unsigned_requests_are_refused_with_no_effect(#[case] kind: Kind) {
    let w = world(kind).await;
    let body = "command=%2Fticket&text=help&user_id=UBOB&team_id=T1&trigger_id=t1".to_owned();
    let form = "application/x-www-form-urlencoded";
    let ts = now();
    let forged = signature("not-the-secret", &ts, &body);
    let (s, _) = w
        .send(
            "/slack/commands",
            form,
            body.clone(),
            &[
                ("x-slack-request-timestamp", ts.clone()),
                ("x-slack-signature", forged),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let stale = (now().parse::<i64>().unwrap() - 600).to_string();
    let old = signature(SECRET, &stale, &body);
    let (s, _) = w
        .send(
            "/slack/commands",
            form,
            body.clone(),
            &[
                ("x-slack-request-timestamp", stale),
                ("x-slack-signature", old),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = w.send("/slack/commands", form, body.clone(), &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // a body changed after signing.
    let sig = signature(SECRET, &ts, &body);
    let (s, _) = w
        .send(
            "/slack/commands",
            form,
            body.replace("help", "list"),
            &[
                ("x-slack-request-timestamp", ts),
                ("x-slack-signature", sig),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let huge = "x".repeat(1024 * 1024 + 1);
    let (s, _) = w.signed("/slack/events", "application/json", huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // nothing reached the engine or Slack.
    assert_eq!(w.h.events().await, 0);
    assert!(
        w.fake.calls().iter().all(|c| c.method == "auth.test"),
        "{:?}",
        w.fake.calls()
    );
}

#[apply(backends)]
#[tokio::test]
async fn the_events_url_answers_slacks_challenge(#[case] kind: Kind) {
    let w = world(kind).await;
    let body = json!({ "type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
    let (s, answer) = w
        .signed("/slack/events", "application/json", body.to_string())
        .await;
    assert_eq!(s, StatusCode::OK);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[apply(backends)]
#[tokio::test]
async fn four_deliveries_of_one_event_give_one_reply(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN down", "It drops every hour").await;
    let event = json!({ "type": "message", "channel": t.dm, "user": BOB, "text": "Still down", "ts": "1800000000.000001",
        "thread_ts": t.card_ts, "channel_type": "im" });
    for _ in 0..4 {
        let (s, _) = w.event_with_id("EvSAME", event.clone()).await;
        assert_eq!(s, StatusCode::OK);
    }
    w.drain().await;
    let bodies = w.bodies(BOB, 1).await;
    assert_eq!(bodies.iter().filter(|b| *b == "Still down").count(), 1);
    let copies = w.fake.posts(STAFF_CHANNEL, Some(&t.staff_ts));
    assert_eq!(
        copies
            .iter()
            .filter(|c| c.args["text"].as_str().unwrap().contains("Still down"))
            .count(),
        1
    );
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

/// An event without an id has no idempotency key: two such events are two
/// replies, not one replayed.
#[apply(backends)]
#[tokio::test]
async fn two_events_without_an_id_are_two_replies(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN down", "It drops every hour").await;
    for (ts, text) in [
        ("1800000000.000011", "First words"),
        ("1800000000.000012", "Second words"),
    ] {
        let event = json!({ "type": "message", "channel": t.dm, "user": BOB, "text": text, "ts": ts,
            "thread_ts": t.card_ts, "channel_type": "im" });
        let (s, body) = w.event_with_id("", event).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    w.drain().await;
    let bodies = w.bodies(BOB, 1).await;
    for text in ["First words", "Second words"] {
        assert_eq!(bodies.iter().filter(|b| *b == text).count(), 1, "{text}");
    }
    let copies = w.fake.posts(STAFF_CHANNEL, Some(&t.staff_ts));
    for text in ["First words", "Second words"] {
        assert_eq!(
            copies
                .iter()
                .filter(|c| c.args["text"].as_str().unwrap().contains(text))
                .count(),
            1,
            "{text}"
        );
    }
}

#[apply(backends)]
#[tokio::test]
async fn mirrored_text_can_never_ping_a_channel_or_hide_a_link(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w
        .open_ticket(
            BOB,
            "Hello <!here>",
            "<!channel> see <https://evil.example|bank>",
        )
        .await;
    let staff_posts = w.fake.posts(STAFF_CHANNEL, Some(&t.staff_ts));
    let all: String = w
        .fake
        .calls_of("chat.postMessage")
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert!(
        !all.contains("<!channel>") && !all.contains("<!here>") && !all.contains("<https://evil"),
        "{all}"
    );
    assert!(staff_posts[0].args["text"]
        .as_str()
        .unwrap()
        .contains("&lt;!channel&gt;"));
    // the engine keeps what Bob typed.
    let bob = w.person(BOB).await;
    let thread =
        w.h.engine
            .thread(bob, threadesk_core::TicketId(1))
            .await
            .unwrap();
    assert_eq!(
        thread.messages[0].body,
        "<!channel> see <https://evil.example|bank>"
    );
}

#[apply(backends)]
#[tokio::test]
async fn the_bot_never_acts_on_bot_messages_and_takes_broadcasts_as_replies(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let bob = w.person(BOB).await;
    // our own message, even without a subtype, and another app's.
    w.event(json!({ "type": "message", "channel": t.dm, "user": "UBOT", "text": "echo", "ts": "1800000000.1", "thread_ts": t.card_ts })).await;
    w.event(json!({ "type": "message", "channel": t.dm, "bot_id": "BOTHER", "text": "bot", "ts": "1800000000.2", "thread_ts": t.card_ts, "subtype": "bot_message" })).await;
    w.event(json!({ "type": "message", "channel": t.dm, "user": BOB, "text": "broadcast", "ts": "1800000000.3", "thread_ts": t.card_ts, "subtype": "thread_broadcast" })).await;
    let bodies: Vec<String> =
        w.h.engine
            .thread(bob, threadesk_core::TicketId(1))
            .await
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.body)
            .collect();
    assert_eq!(bodies, vec!["down", "broadcast"]);
}

#[apply(backends)]
#[tokio::test]
async fn slack_down_then_back_posts_each_message_once(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    w.fake.fail_next("chat.postMessage", 500);
    w.say(BOB, &t.dm, &t.card_ts, "are you there?").await;
    w.drain().await;
    let copies = |w: &World| {
        w.fake
            .posts(STAFF_CHANNEL, Some(&t.staff_ts))
            .iter()
            .filter(|c| c.args["text"].as_str().unwrap().contains("are you there?"))
            .count()
    };
    assert_eq!(copies(&w), 0, "the failed post is not counted");
    // the event waits for its back-off, then goes out once.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.drain().await;
    w.drain().await;
    assert_eq!(copies(&w), 1);
    let lag = threadesk_core::outbox::Outbox::new(w.h.engine.db().clone())
        .lag("slack")
        .await
        .unwrap();
    assert_eq!((lag.pending, lag.failed), (0, 0));
}

#[apply(backends)]
#[tokio::test]
async fn a_rate_limited_call_is_waited_out_not_dropped(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    w.fake.fail_next("chat.postMessage", 429);
    w.say(BOB, &t.dm, &t.card_ts, "hello?").await;
    w.drain().await;
    let tries: Vec<_> = w
        .fake
        .calls()
        .into_iter()
        .filter(|c| {
            c.method == "chat.postMessage"
                && c.args["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("hello?")
        })
        .collect();
    assert_eq!(tries.len(), 2, "one 429, then the retry after Retry-After");
    assert_eq!(tries[0].answer["error"], "ratelimited");
    assert_eq!(tries[1].answer["ok"], true);
}

#[test]
fn the_app_manifest_asks_for_what_the_adapter_uses() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.yml")).unwrap();
    for needed in [
        "/slack/commands",
        "/slack/interactions",
        "/slack/events",
        "command: /ticket",
        "should_escape: true",
        "callback_id: td_internal_note",
        "callback_id: td_saved_reply",
        "home_tab_enabled: true",
        "- app_home_opened",
        "- message.im",
        "- message.channels",
        "- message.groups",
        "- reaction_added",
        "- chat:write",
        "- im:write",
        "- im:history",
        "- channels:history",
        "- groups:history",
        "- channels:read",
        "- groups:read",
        "- users:read",
        "- team:read",
        "- reactions:read",
        "- commands",
        "- files:read",
        "- files:write",
    ] {
        assert!(manifest.contains(needed), "manifest.yml lacks {needed}");
    }
}

#[apply(backends)]
#[tokio::test]
async fn a_post_slack_made_but_whose_answer_was_lost_is_found_not_posted_again(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    // Slack posts the copy in the staff thread, but the answer never
    // arrives: the event is retried with its intent still open.
    w.fake.lose_answer_next("chat.postMessage");
    w.say(BOB, &t.dm, &t.card_ts, "are you there?").await;
    w.drain().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.drain().await;
    w.drain().await;
    let copies = w
        .fake
        .posts(STAFF_CHANNEL, Some(&t.staff_ts))
        .iter()
        .filter(|c| c.args["text"].as_str().unwrap().contains("are you there?"))
        .count();
    assert_eq!(copies, 1, "posted once, then found by its metadata");
    let asked = w.fake.calls_of("conversations.replies");
    assert!(
        asked.iter().any(|a| a["include_all_metadata"] == "true"),
        "the retry asked Slack first: {asked:?}"
    );
    let lag = threadesk_core::outbox::Outbox::new(w.h.engine.db().clone())
        .lag("slack")
        .await
        .unwrap();
    assert_eq!((lag.pending, lag.failed), (0, 0));
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}
