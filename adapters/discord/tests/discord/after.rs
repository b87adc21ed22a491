//! After the answer on Discord: the reminder and the closing line with its
//! reason in the ticket's thread, and the rating from the closed card's
//! buttons (a modal for the comment) or `/ticket rate`; staff see it on
//! their card.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

#[apply(backends)]
#[tokio::test]
async fn a_quiet_customer_is_reminded_in_the_thread_and_rates_the_closed_ticket_from_its_card(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "VPN", "down").await;
    let sam_id = w.h.staff("Sam Support").await;
    let bob_id = w.person(&bob()).await;
    w.h.reply(sam_id, t.id, "Is it back?").await.unwrap();
    w.settle().await;
    // the deployment closes quiet tickets (a replica so configured).
    let replica = w.h.auto_closing("3d/2d").await;
    w.h.engine
        .clock()
        .advance(3 * DAY + Duration::from_secs(60));
    assert_eq!(replica.run_auto_close(10).await.unwrap().reminded, 1);
    w.settle().await;
    let said = w.contents(&t.thread);
    assert!(
        said.iter()
            .any(|l| l.contains("We haven't heard from you for 3 days: this ticket closes on")),
        "{said:?}"
    );
    w.h.engine.clock().advance(2 * DAY);
    assert_eq!(replica.run_auto_close(10).await.unwrap().closed, 1);
    w.settle().await;
    let said = w.contents(&t.thread);
    assert!(
        said.iter().any(|l| l.contains(&format!(
            "Threadesk closed ticket {}: no reply for 5 days.",
            t.number
        ))),
        "{said:?}"
    );
    let card = || w.fake.messages_in(&t.thread)[0].to_string();
    let rate4 = format!("rate:{}:4", t.id.0);
    assert!(
        card().contains(&rate4) && card().contains("How did we do?"),
        "{}",
        card()
    );
    // a button opens the modal for a comment; submitting it rates.
    let modal = w
        .interact(&interaction::component(&bob(), &t.thread, &rate4, 2, None))
        .await;
    assert_eq!(modal["type"], 9, "{modal}");
    let custom = modal["data"]["custom_id"].as_str().unwrap().to_owned();
    assert_eq!(custom, format!("rating:{}:4", t.id.0));
    let refused = w
        .interact(&interaction::modal(
            &sam(),
            &t.thread,
            &custom,
            &[("comment", "")],
        ))
        .await;
    assert!(!refused.to_string().contains("You rated"), "{refused}");
    assert_eq!(w.h.engine.rating(bob_id, t.id).await.unwrap(), None);
    let thanks = w
        .interact(&interaction::modal(
            &bob(),
            &t.thread,
            &custom,
            &[("comment", "Quick, thanks")],
        ))
        .await;
    assert!(
        thanks
            .to_string()
            .contains(&format!("You rated {} ★★★★☆", t.number)),
        "{thanks}"
    );
    w.settle().await;
    let rated = w.h.engine.rating(bob_id, t.id).await.unwrap().unwrap();
    assert_eq!(
        (rated.score, rated.comment.as_deref()),
        (4, Some("Quick, thanks"))
    );
    assert!(card().contains("You rated ★★★★☆ (Very good)"), "{}", card());
    let staff_cards: Vec<String> = w
        .fake
        .messages_in(&STAFF_CHANNEL.to_string())
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert!(
        staff_cards
            .iter()
            .any(|c| c.contains("★★★★☆ (4/5): “Quick, thanks”")),
        "{staff_cards:?}"
    );
    // by command: a change.
    let changed = w
        .interact(&interaction::command(
            &bob(),
            &SUPPORT_CHANNEL.to_string(),
            "rate",
            json!([{ "type": 4, "name": "number", "value": 1001 }, { "type": 4, "name": "score", "value": 5 }]),
        ))
        .await;
    assert!(changed.to_string().contains("★★★★★"), "{changed}");
    w.no_violations();
}
