//! Signatures, redelivery, outages and rate limits.

use crate::helpers::*;
use axum::http::StatusCode;
use rstest::rstest;
use rstest_reuse::apply;

#[apply(backends)]
#[tokio::test]
async fn ping_is_answered_and_bad_signatures_are_refused_with_no_effect(#[case] kind: Kind) {
    let w = world(kind).await;
    assert_eq!(
        w.interact(&interaction::ping()).await,
        serde_json::json!({ "type": 1 })
    );
    let submit = interaction::modal(
        &bob(),
        &SUPPORT_CHANNEL.to_string(),
        "open:0",
        &[("subject", "Forged"), ("message", "x")],
    )
    .to_string();
    let ts = now().to_string();
    let good = sign(&ts, submit.as_bytes());
    let mut forged = good.clone().into_bytes();
    forged[10] = if forged[10] == b'0' { b'1' } else { b'0' };
    let stale = (now() - 600).to_string();
    let cases = [
        vec![],
        vec![
            ("x-signature-ed25519", String::from_utf8(forged).unwrap()),
            ("x-signature-timestamp", ts.clone()),
        ],
        vec![
            ("x-signature-ed25519", sign(&stale, submit.as_bytes())),
            ("x-signature-timestamp", stale.clone()),
        ],
        vec![
            ("x-signature-ed25519", good.clone()),
            ("x-signature-timestamp", (now() + 1).to_string()),
        ],
    ];
    for headers in cases {
        let (status, _) = w.post(&submit, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = w
        .post(
            &submit.replace("Forged", "Tampered"),
            &[("x-signature-ed25519", good), ("x-signature-timestamp", ts)],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.tickets_of(&bob()).await, 0, "nothing happened");
}

#[apply(backends)]
#[tokio::test]
async fn a_429_is_waited_out_and_an_outage_retried_once_each(#[case] kind: Kind) {
    let w = world(kind).await;
    w.fake
        .fail_next(&format!("/channels/{SUPPORT_CHANNEL}/threads"), 429);
    let t = w.open_ticket(&bob(), "Rate limited", "Hello").await;
    let creates = w.fake.calls_to("POST", "/channels/*/threads");
    assert_eq!(
        creates.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 201],
        "retried after Retry-After"
    );
    assert_eq!(w.fake.threads_in(super::helpers::SUPPORT_CHANNEL).len(), 1);
    assert!(!t.thread.is_empty());

    // Discord down for one message: the reply waits, then goes out once.
    let carol_free = w.person(&bob()).await;
    w.fake
        .fail_next(&format!("/channels/{}/messages", t.thread), 500);
    w.h.reply(carol_free, t.id, "Still there?").await.unwrap();
    w.settle().await;
    assert_eq!(
        w.contents(&t.thread)
            .iter()
            .filter(|c| c.contains("Still there?"))
            .count(),
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.settle().await;
    assert_eq!(
        w.contents(&t.thread)
            .iter()
            .filter(|c| c.contains("Still there?"))
            .count(),
        1
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_message_discord_made_but_whose_answer_was_lost_is_not_made_again(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Lost answer", "Hello").await;
    let bob_id = w.person(&bob()).await;
    // Discord creates the copy, but the answer never arrives: the retry
    // sends the same nonce with enforce_nonce and gets that message back.
    w.fake
        .lose_answer_next(&format!("/channels/{}/messages", t.thread));
    w.h.reply(bob_id, t.id, "Anyone?").await.unwrap();
    w.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.settle().await;
    let copies = || {
        w.contents(&t.thread)
            .iter()
            .filter(|c| c.contains("Anyone?"))
            .count()
    };
    assert_eq!(copies(), 1, "made once");
    let tries: Vec<_> = w
        .fake
        .calls_to("POST", &format!("/channels/{}/messages", t.thread))
        .into_iter()
        .filter(|c| {
            c.body["content"]
                .as_str()
                .unwrap_or_default()
                .contains("Anyone?")
        })
        .collect();
    assert_eq!(tries.len(), 2, "tried twice: {tries:?}");
    assert_eq!(tries[0].body["nonce"], tries[1].body["nonce"]);
    assert_eq!(tries[1].body["enforce_nonce"], true);
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn slow_work_is_deferred_within_three_seconds_and_edited_in(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Slow", "Discord is slow today").await;
    w.fake
        .delay_next("/thread-members/", std::time::Duration::from_millis(3500));
    let started = std::time::Instant::now();
    let number = t.number.trim_start_matches('#').parse::<i64>().unwrap();
    let answer = w
        .interact(&interaction::command(
            &bob(),
            &SUPPORT_CHANNEL.to_string(),
            "show",
            serde_json::json!([{ "type": 4, "name": "number", "value": number }]),
        ))
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(
        answer,
        serde_json::json!({ "type": 5, "data": { "flags": 64 } }),
        "a deferral"
    );
    w.wait_for("the edited answer", || {
        !w.fake
            .calls_to("PATCH", "/webhooks/*/*/messages/@original")
            .is_empty()
    })
    .await;
    let edit = &w.fake.calls_to("PATCH", "/webhooks/*/*/messages/@original")[0].body;
    assert!(
        edit["content"]
            .as_str()
            .unwrap()
            .contains(&format!("<#{}>", t.thread)),
        "{edit}"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn rate_limit_buckets_whose_window_is_over_are_forgotten(#[case] kind: Kind) {
    let w = world(kind).await;
    let api = w.discord.api();
    let mut last = api.rate_limit_buckets().await;
    let mut swept_by_itself = false;
    // each ticket's thread is a channel of its own: a bucket each, until
    // the sweep every FORGET_SPENT_EVERY requests lets the spent ones go.
    for i in 0..150 {
        let t = w.open_ticket(&bob(), &format!("Ticket {i}"), "Hello").await;
        let bob_id = w.person(&bob()).await;
        // closed again: a requester has only so many open at once.
        w.h.engine
            .close(&threadesk_core::Ctx::new(bob_id), t.id)
            .await
            .unwrap();
        w.settle().await;
        let now = api.rate_limit_buckets().await;
        if now < last {
            swept_by_itself = true;
            break;
        }
        assert!(now >= 2, "buckets are kept between sweeps: {now}");
        last = now;
    }
    assert!(
        swept_by_itself,
        "the buckets grew to {last} and never shrank"
    );
    let t = w.open_ticket(&bob(), "After", "Hello").await;
    assert!(api.rate_limit_buckets().await >= 2);
    // none of the fake's answers opens a window: all are spent.
    assert!(api.forget_spent_limits().await >= 2);
    assert_eq!(api.rate_limit_buckets().await, 0);
    // and the routes work as before.
    let bob_id = w.person(&bob()).await;
    w.h.reply(bob_id, t.id, "Still there?").await.unwrap();
    w.settle().await;
    assert!(
        w.contents(&t.thread)
            .iter()
            .any(|c| c.contains("Still there?")),
        "{:?}",
        w.contents(&t.thread)
    );
}
