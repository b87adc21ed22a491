//! After the answer on Slack: the reminder and the closing line with its
//! reason in the customer's card thread, and the rating from the closed
//! card's buttons (a modal for the comment); staff see it on their card.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use std::time::Duration;
use threadesk_core::TicketId;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The last drawing of a card (its update, or its first post).
fn card(w: &World, channel: &str, ts: &str) -> String {
    w.fake
        .calls_of("chat.update")
        .into_iter()
        .rfind(|a| a["ts"] == ts && a["channel"] == channel)
        .map(|a| a["blocks"].to_string())
        .unwrap_or_default()
}

#[apply(backends)]
#[tokio::test]
async fn a_quiet_customer_is_reminded_in_the_card_thread_and_rates_the_closed_ticket_from_its_card(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let sam = w.person(SAM).await;
    let bob = w.person(BOB).await;
    w.h.reply(sam, TicketId(1), "Is it back?").await.unwrap();
    w.drain().await;
    // the deployment closes quiet tickets (a replica so configured).
    let replica = w.h.auto_closing("3d/2d").await;
    w.h.engine
        .clock()
        .advance(3 * DAY + Duration::from_secs(60));
    assert_eq!(replica.run_auto_close(10).await.unwrap().reminded, 1);
    w.drain().await;
    let in_thread = |w: &World| -> Vec<String> {
        w.fake
            .posts(&t.dm, Some(&t.card_ts))
            .iter()
            .map(|c| c.args["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert!(
        in_thread(&w)
            .iter()
            .any(|l| l.contains("We haven't heard from you for 3 days: this ticket closes on")),
        "{:?}",
        in_thread(&w)
    );
    let staff_lines: Vec<String> = w
        .fake
        .posts(STAFF_CHANNEL, Some(&t.staff_ts))
        .iter()
        .map(|c| c.args["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        staff_lines
            .iter()
            .any(|l| l.contains("reminded the customer after 3 days without a reply")),
        "{staff_lines:?}"
    );
    w.h.engine.clock().advance(2 * DAY);
    assert_eq!(replica.run_auto_close(10).await.unwrap().closed, 1);
    w.drain().await;
    assert!(
        in_thread(&w)
            .iter()
            .any(|l| l.contains("Threadesk closed ticket #1001: no reply for 5 days.")),
        "{:?}",
        in_thread(&w)
    );
    // the closed card asks Bob to rate; the staff card has no buttons.
    let bob_card = card(&w, &t.dm, &t.card_ts);
    assert!(
        bob_card.contains("How did we do?") && bob_card.contains("td_rate4"),
        "{bob_card}"
    );
    assert!(!card(&w, STAFF_CHANNEL, &t.staff_ts).contains("td_rate"));
    // a button opens the modal with the score chosen; submitting rates.
    w.click(BOB, &t.dm, "td_rate4", "1").await;
    // the modal is opened in the background, after the click's answer.
    let mut opened = None;
    for _ in 0..100 {
        opened = w.fake.calls_of("views.open").pop();
        if opened.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let modal = opened.expect("the rating modal");
    assert_eq!(modal["view"]["callback_id"], "td_rate");
    assert_eq!(
        modal["view"]["blocks"][0]["element"]["initial_option"]["value"],
        "4"
    );
    let values = |score: &str, comment: &str| {
        json!({
            "score": { "value": { "type": "static_select", "selected_option": { "value": score } } },
            "comment": { "value": { "type": "plain_text_input", "value": comment } },
        })
    };
    // staff cannot rate a customer's ticket: told in the modal.
    let refused = w.submit(SAM, "td_rate", "1", values("1", "")).await;
    assert_eq!(refused["response_action"], "errors", "{refused}");
    let answer = w
        .submit(BOB, "td_rate", "1", values("4", "Quick, thanks"))
        .await;
    assert_eq!(answer, serde_json::Value::Null, "{answer}");
    w.drain().await;
    let rated = w.h.engine.rating(bob, TicketId(1)).await.unwrap().unwrap();
    assert_eq!(
        (rated.score, rated.comment.as_deref()),
        (4, Some("Quick, thanks"))
    );
    let bob_card = card(&w, &t.dm, &t.card_ts);
    assert!(
        bob_card.contains("You rated ★★★★☆ (Very good)"),
        "{bob_card}"
    );
    let staff_card = card(&w, STAFF_CHANNEL, &t.staff_ts);
    assert!(
        staff_card.contains("Rated ★★★★☆ (4/5, Very good): “Quick, thanks”"),
        "{staff_card}"
    );
    // by command too: a change, within the window.
    let said = w.command(BOB, "rate #1001 5 even better").await;
    assert!(said.to_string().contains("You rated #1001 ★★★★★"), "{said}");
    let usage = w.command(BOB, "rate #1001").await;
    assert!(usage.to_string().contains("rate #N 1-5"), "{usage}");
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn staff_pause_and_resume_automatic_closing_by_command(#[case] kind: Kind) {
    let w = world(kind).await;
    w.open_ticket(BOB, "VPN", "down").await;
    let paused = w.command(SAM, "autoclose #1001 pause").await;
    assert!(
        paused
            .to_string()
            .contains("Automatic closing of #1001 is paused."),
        "{paused}"
    );
    let again = w.command(SAM, "autoclose #1001 pause").await;
    assert!(again.to_string().contains("already paused"), "{again}");
    let refused = w.command(BOB, "autoclose #1001 resume").await;
    assert!(!refused.to_string().contains("on again"), "{refused}");
    let resumed = w.command(SAM, "autoclose #1001 resume").await;
    assert!(resumed.to_string().contains("is on again"), "{resumed}");
    let sam = w.person(SAM).await;
    assert!(
        !w.h.engine
            .ticket(sam, TicketId(1))
            .await
            .unwrap()
            .auto_close_paused
    );
}
