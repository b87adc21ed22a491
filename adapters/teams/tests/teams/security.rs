//! Who may post to `/teams/messages`: only the Bot Framework, for this
//! bot, for this channel and service URL. Everything else is refused with
//! no effect.

use crate::helpers::*;
use axum::http::StatusCode;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;

#[apply(backends)]
#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_refused_with_no_effect(#[case] kind: Kind) {
    let w = world(kind).await;
    let a = w.make.task_submit(
        &ann(),
        json!({ "dialog": "new", "subject": "Forged", "message": "x" }),
    );
    let body = a.to_string();
    let now = threadesk_core::time::Timestamp::now().0 / 1_000_000;
    let signed = |kid: &str, claims| format!("Bearer {}", w.fake.sign(kid, &a, claims));
    let mut other = a.clone();
    other["serviceUrl"] = json!("https://smba.trafficmanager.net/amer/");
    let valid = w.fake.sign(KEY_ID, &a, json!({}));
    let (head, rest) = valid.split_once('.').unwrap();
    let tampered = format!("Bearer {head}.{}", rest.replacen('e', "f", 1));
    let none_alg = w.fake.sign_raw(
        &json!({ "alg": "none", "kid": KEY_ID }),
        &json!({ "iss": "https://api.botframework.com", "aud": threadesk_teams::testing::APP_ID }),
    );
    let cases: Vec<(&str, Option<String>, StatusCode)> = vec![
        ("no token", None, StatusCode::UNAUTHORIZED),
        (
            "not a bearer token",
            Some("Basic abc".into()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "garbage",
            Some("Bearer not.a.jwt".into()),
            StatusCode::UNAUTHORIZED,
        ),
        ("tampered", Some(tampered), StatusCode::UNAUTHORIZED),
        (
            "alg none",
            Some(format!("Bearer {none_alg}")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "expired",
            Some(signed(KEY_ID, json!({ "exp": now - 301 }))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "not yet valid",
            Some(signed(KEY_ID, json!({ "nbf": now + 400 }))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong audience",
            Some(signed(KEY_ID, json!({ "aud": "someone-else" }))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong issuer",
            Some(signed(
                KEY_ID,
                json!({ "iss": "https://sts.windows.net/x/" }),
            )),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown key",
            Some(signed("no-such-key", json!({}))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unendorsed key",
            Some(signed(UNENDORSED_KEY_ID, json!({}))),
            StatusCode::FORBIDDEN,
        ),
        (
            "another service URL",
            Some(format!("Bearer {}", w.fake.sign(KEY_ID, &other, json!({})))),
            StatusCode::FORBIDDEN,
        ),
        (
            "no service URL claim",
            Some(signed(KEY_ID, json!({ "serviceurl": null }))),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, auth, want) in cases {
        let (status, _) = w.post_raw(&body, auth.as_deref()).await;
        assert_eq!(status, want, "{what}");
    }
    assert_eq!(w.tickets_of(&ann()).await, 0, "nothing was opened");
    assert_eq!(w.h.events().await, 0, "nothing happened");
    // within the skew, and with the audience as `api://`, it is accepted.
    let (status, _) = w
        .post_raw(&body, Some(&signed(KEY_ID, json!({ "exp": now - 200, "aud": format!("api://{}", threadesk_teams::testing::APP_ID) }))))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.tickets_of(&ann()).await, 1);
}

#[apply(backends)]
#[tokio::test]
async fn one_activity_delivered_twice_acts_once(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "Printer", "It jams").await;
    let said = w.make.personal(&ann(), "It jams again");
    w.send(&said).await;
    w.send(&said).await;
    w.settle().await;
    let thread =
        w.h.engine
            .thread(w.person(&ann()).await, t.id)
            .await
            .unwrap();
    assert_eq!(
        thread
            .messages
            .iter()
            .filter(|m| m.body == "It jams again")
            .count(),
        1
    );
    let copies = w
        .texts(&t.thread)
        .iter()
        .filter(|x| x.contains("It jams again"))
        .count();
    assert_eq!(copies, 1, "one copy in the staff thread");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn bodies_over_a_mebibyte_are_refused(#[case] kind: Kind) {
    let w = world(kind).await;
    let mut a = w.make.personal(&ann(), "x");
    a["text"] = json!("y".repeat(1024 * 1024 + 10));
    let token = w.fake.sign(KEY_ID, &a, json!({}));
    let (status, _) = w
        .post_raw(&a.to_string(), Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(w.h.events().await, 0);
}

#[apply(backends)]
#[tokio::test]
async fn a_rate_limited_call_is_waited_out_and_nothing_is_dropped(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "VPN", "down").await;
    let sam_id = w.h.staff("Sam").await;
    w.fake.fail_next(429, Some(1));
    w.fake.fail_next(503, None);
    w.h.reply(sam_id, t.id, "Restart the client").await.unwrap();
    w.settle().await;
    let chat = FakeTeams::chat_of(&ann().id);
    assert_eq!(
        w.texts(&chat)
            .iter()
            .filter(|x| x.contains("Restart the client"))
            .count(),
        1,
        "delivered once after the waits"
    );
    let statuses: Vec<String> = w.fake.calls().iter().map(|c| c.method.clone()).collect();
    assert!(statuses.len() >= 3);
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn keys_and_tokens_are_cached_and_an_unknown_key_refetches_at_most_hourly(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    for i in 0..3 {
        w.open_ticket(&ann(), &format!("Question {i}"), "body")
            .await;
    }
    assert_eq!(
        w.fake.keys_fetched(),
        1,
        "one fetch for every request since"
    );
    assert_eq!(
        w.fake.tokens_issued(),
        1,
        "one Connector token for every call"
    );
    let a = w.make.personal(&ann(), "hello");
    for _ in 0..3 {
        let token = w.fake.sign("rotated-key", &a, json!({}));
        let (status, _) = w
            .post_raw(&a.to_string(), Some(&format!("Bearer {token}")))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        w.fake.keys_fetched(),
        2,
        "an unknown key fetches the keys again, once within the hour"
    );
}

#[apply(backends)]
#[tokio::test]
async fn sends_to_one_conversation_keep_teams_pace(#[case] kind: Kind) {
    let w = world(kind).await;
    let api = w.teams.api();
    let chat = FakeTeams::chat_of(&ann().id);
    let url = w.fake.service_url();
    let started = std::time::Instant::now();
    let mut at = vec![];
    for i in 0..8 {
        api.send(
            &url,
            &chat,
            &json!({ "type": "message", "text": format!("line {i}") }),
        )
        .await
        .unwrap();
        at.push(started.elapsed());
    }
    // at most 7 a second: the eighth waits for the first to be a second old.
    assert!(at[6] < std::time::Duration::from_millis(900), "{at:?}");
    assert!(at[7] >= std::time::Duration::from_secs(1), "{at:?}");
    // another conversation is not held back meanwhile.
    let other = std::time::Instant::now();
    api.send(
        &url,
        &FakeTeams::chat_of(&bo().id),
        &json!({ "type": "message", "text": "hi" }),
    )
    .await
    .unwrap();
    assert!(other.elapsed() < std::time::Duration::from_millis(500));
    assert_eq!(w.fake.in_conversation(&chat).len(), 8);
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn with_the_key_service_down_requests_are_refused_without_each_waiting_on_it(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    w.fake.keys_down(true);
    for _ in 0..5 {
        let a = w.make.personal(&ann(), "hello");
        let token = w.fake.sign(KEY_ID, &a, json!({}));
        let (status, _) = w
            .post_raw(&a.to_string(), Some(&format!("Bearer {token}")))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        w.fake.keys_fetched(),
        1,
        "one attempt, then a rest before the next"
    );
    assert_eq!(w.h.events().await, 0);
}
