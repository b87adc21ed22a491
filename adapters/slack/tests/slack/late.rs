//! Acknowledged first (as the binary runs): a command or a New ticket form
//! is stored and acknowledged at once, then handled, and its answer takes
//! the acknowledgement's place.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::{json, Value};
use std::time::Duration;
use threadesk_core::inbound::Inbound;

impl World {
    /// `/ticket <text>` with a `response_url` on the fake; the JSON answer.
    async fn command_answerable(&self, user: &str, text: &str) -> Value {
        let trigger = unique("trigger-");
        let url = self.fake.response_url();
        let body = form_encode(&[
            ("team_id", "T1"),
            ("channel_id", "CGENERAL"),
            ("user_id", user),
            ("command", "/ticket"),
            ("text", text),
            ("trigger_id", &trigger),
            ("response_url", &url),
        ]);
        let (status, answer) = self
            .signed("/slack/commands", "application/x-www-form-urlencoded", body)
            .await;
        assert_eq!(status, axum::http::StatusCode::OK, "{answer}");
        serde_json::from_str(&answer).unwrap_or(Value::Null)
    }

    /// Waits (bounded) until the fake has `n` calls of `method`; them.
    async fn calls_of_at_least(&self, method: &str, n: usize) -> Vec<Value> {
        for _ in 0..400 {
            let calls = self.fake.calls_of(method);
            if calls.len() >= n {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no {method}: {:?}", self.fake.calls());
    }

    /// Waits (bounded) until nothing is stored to be handled.
    async fn nothing_stored(&self) {
        let inbound = Inbound::new(self.h.engine.db().clone());
        for _ in 0..400 {
            if inbound.backlog("slack").await.unwrap().pending == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("requests stay stored");
    }
}

#[apply(backends)]
#[tokio::test]
async fn a_command_acknowledged_first_is_answered_in_place_of_working_on_it(#[case] kind: Kind) {
    let w = world(kind).await;
    let opened = w.open_ticket(BOB, "Printer jams", "tray 2").await;
    w.slack.acknowledge_first();
    let ack = w.command_answerable(BOB, "list").await;
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    assert!(
        ack["text"].as_str().unwrap().contains("Working on it"),
        "{ack}"
    );
    let answers = w.calls_of_at_least("response_url", 1).await;
    assert_eq!(answers.len(), 1);
    let list = &answers[0];
    assert_eq!(list["replace_original"], true, "{list}");
    assert!(
        list["blocks"].to_string().contains("Printer jams"),
        "{list}"
    );
    w.nothing_stored().await;

    // a command that changes something: done once, answered in place.
    w.command_answerable(SAM, "saved add greet = Hello {first_name}")
        .await;
    let answers = w.calls_of_at_least("response_url", 2).await;
    assert_eq!(answers[1]["replace_original"], true, "{answers:?}");
    assert!(
        answers[1]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("greet"),
        "{answers:?}"
    );
    // a command whose answer is a form opens it before it is answered:
    // its trigger is good for 3 seconds only.
    let forms = w.fake.calls_of("views.open").len();
    let ack = w
        .command_answerable(SAM, &format!("reply #{}", opened.number))
        .await;
    assert_eq!(ack, Value::Null, "{ack}");
    w.calls_of_at_least("views.open", forms + 1).await;
    assert_eq!(w.fake.calls_of("response_url").len(), 2);
    // so does a button that opens one; a button that changes something is
    // acknowledged first, its change shown on the card.
    let forms = w.fake.calls_of("views.open").len();
    w.click(BOB, &opened.dm, "td_edit_subject", "1").await;
    w.calls_of_at_least("views.open", forms + 1).await;
    let ack = w.click(BOB, &opened.dm, "td_close", "1").await;
    assert_eq!(ack, Value::Null);
    for _ in 0..400 {
        let t =
            w.h.engine
                .system()
                .card_facts(threadesk_core::TicketId(1))
                .await
                .unwrap()
                .ticket;
        if t.status == threadesk_core::domain::Status::Closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        w.h.engine
            .system()
            .card_facts(threadesk_core::TicketId(1))
            .await
            .unwrap()
            .ticket
            .status,
        threadesk_core::domain::Status::Closed
    );
    w.nothing_stored().await;
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn a_new_ticket_form_acknowledged_first_turns_into_the_opened_ticket(#[case] kind: Kind) {
    let w = world(kind).await;
    w.slack.acknowledge_first();
    // what was typed wrong is shown beside its field at once, as before.
    let refused = w.submit_new_ticket(BOB, "  ", "words").await;
    assert_eq!(refused["response_action"], "errors", "{refused}");
    assert!(refused["errors"]["subject"].is_string(), "{refused}");

    let ack = w.submit_new_ticket(BOB, "VPN down", "since 9").await;
    assert_eq!(ack["response_action"], "update", "{ack}");
    assert!(
        ack["view"].to_string().contains("Opening your ticket"),
        "{ack}"
    );
    let updates = w.calls_of_at_least("views.update", 1).await;
    assert_eq!(updates.len(), 1);
    let view = updates[0]["view"].to_string();
    assert!(
        view.contains("is open") && view.contains("VPN down"),
        "{view}"
    );
    assert!(updates[0]["view_id"].as_str().unwrap().starts_with('V'));
    let bob = w.person(BOB).await;
    let mine =
        w.h.engine
            .my_tickets(
                bob,
                threadesk_core::domain::PageRequest::first(threadesk_core::domain::View::All),
            )
            .await
            .unwrap();
    assert_eq!(mine.items.len(), 1);
    w.nothing_stored().await;
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn a_form_refused_after_its_acknowledgement_comes_back_as_typed_with_why(#[case] kind: Kind) {
    let w = world(kind).await;
    w.slack.acknowledge_first();
    let ack = w
        .submit(
            BOB,
            "td_new_ticket",
            "",
            json!({
                "subject": { "value": { "type": "plain_text_input", "value": "Lost badge" } },
                "department": { "value": { "type": "static_select", "selected_option": { "value": "424242" } } },
                "message": { "value": { "type": "plain_text_input", "value": "cannot get in" } },
            }),
        )
        .await;
    assert_eq!(ack["response_action"], "update", "{ack}");
    let updates = w.calls_of_at_least("views.update", 1).await;
    let view = &updates[0]["view"];
    assert_eq!(
        view["callback_id"], "td_new_ticket",
        "the form again: {view}"
    );
    let text = view.to_string();
    assert!(text.contains("no longer available"), "{text}");
    assert!(
        text.contains("Lost badge") && text.contains("cannot get in"),
        "{text}"
    );
    w.nothing_stored().await;
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

impl World {
    /// Messages in all tickets whose text contains `needle`.
    async fn messages_saying(&self, needle: &str) -> i64 {
        sqlx::query_scalar("select count(*) from messages where body like $1")
            .bind(format!("%{needle}%"))
            .fetch_one(self.h.engine.db().pool())
            .await
            .unwrap()
    }

    /// Sam's reply in the staff thread of `opened`, as Slack delivers it.
    fn sam_replies(opened: &Opened, text: &str) -> Value {
        json!({ "type": "message", "channel": STAFF_CHANNEL, "user": SAM, "text": text,
            "ts": format!("1800000000.{}", unique("")), "thread_ts": opened.staff_ts,
            "channel_type": "channel" })
    }
}

/// Slack delivers an event again only when it was not acknowledged: one
/// still being handled when the answer is due is stored first, and the
/// handling goes on to a single message.
#[apply(backends)]
#[tokio::test]
async fn an_event_handled_past_the_budget_is_stored_before_it_is_acknowledged(#[case] kind: Kind) {
    let w = world(kind).await;
    let opened = w.open_ticket(BOB, "Printer jams", "tray 2").await;
    w.slack.acknowledge_first();
    // Sam is new to the bot: his profile is read first, and Slack is slow.
    let slow = threadesk_slack::ANSWER_BUDGET * 3;
    w.fake.delay_next("users.info", slow);
    let asked = std::time::Instant::now();
    let (status, body) = w
        .event_with_id(
            "EvSlow1",
            World::sam_replies(&opened, "Try the other tray."),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    assert!(asked.elapsed() < slow, "acknowledged before it was handled");
    // acknowledged while still being handled: durable in the store.
    let inbound = Inbound::new(w.h.engine.db().clone());
    assert_eq!(inbound.backlog("slack").await.unwrap().pending, 1);
    assert_eq!(w.messages_saying("Try the other tray").await, 0);
    // the handling goes on (bounded: 30 s); then the request is forgotten.
    for _ in 0..1200 {
        if w.messages_saying("Try the other tray").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(w.messages_saying("Try the other tray").await, 1);
    w.nothing_stored().await;
    w.drain().await;
    let mirrored = w
        .fake
        .posts(&opened.dm, Some(&opened.card_ts))
        .iter()
        .filter(|p| p.args["text"].to_string().contains("Try the other tray"))
        .count();
    assert_eq!(mirrored, 1, "{:?}", w.fake.calls());
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

/// An event handled within the budget is answered at once and never stored.
#[apply(backends)]
#[tokio::test]
async fn an_event_handled_in_time_is_acknowledged_without_being_stored(#[case] kind: Kind) {
    let w = world(kind).await;
    let opened = w.open_ticket(BOB, "Printer jams", "tray 2").await;
    w.slack.acknowledge_first();
    let (status, body) = w
        .event_with_id("EvQuick1", World::sam_replies(&opened, "On my way."))
        .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    assert_eq!(w.messages_saying("On my way").await, 1);
    let stored: i64 = sqlx::query_scalar("select count(*) from inbound_requests")
        .fetch_one(w.h.engine.db().pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing stored for an event answered in time");
}

/// An event that could not be handled for a reason on our side is not
/// acknowledged: Slack delivers it again (a `503`), and nothing is lost.
#[apply(backends)]
#[tokio::test]
async fn an_event_not_handled_for_our_sake_is_not_acknowledged(#[case] kind: Kind) {
    let w = world(kind).await;
    let opened = w.open_ticket(BOB, "Printer jams", "tray 2").await;
    let event = World::sam_replies(&opened, "Rebooting it now.");
    // the database out of reach.
    w.h.engine.db().pool().close().await;
    let (status, body) = w.event_with_id("EvDown1", event.clone()).await;
    assert_eq!(
        status,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "{body}"
    );
}

/// An event still being handled when the budget runs out, and that cannot
/// be stored then (the database gone), is not acknowledged: `503`, so
/// that Slack delivers it again.
#[apply(backends)]
#[tokio::test]
async fn an_event_past_the_budget_that_cannot_be_stored_is_not_acknowledged(#[case] kind: Kind) {
    let w = world(kind).await;
    let opened = w.open_ticket(BOB, "Printer jams", "tray 2").await;
    w.slack.acknowledge_first();
    // Sam is new to the bot, and Slack is slow to say who he is.
    w.fake
        .delay_next("users.info", threadesk_slack::ANSWER_BUDGET * 3);
    let db = w.h.engine.db().clone();
    let closing = tokio::spawn(async move {
        // the database goes away while the event is being handled.
        tokio::time::sleep(threadesk_slack::ANSWER_BUDGET / 2).await;
        db.close().await;
    });
    let (status, body) = w
        .event_with_id(
            "EvLost1",
            World::sam_replies(&opened, "Try the other tray."),
        )
        .await;
    closing.await.unwrap();
    assert_eq!(
        status,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "{body}"
    );
}
