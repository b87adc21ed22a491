//! After the answer on Teams: the reminder and the closing line with its
//! reason in the customer's chat, and the rating on the closed card (a
//! score and a comment); staff see it on their card.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use std::time::Duration;
use threadesk_teams::testing::FakeTeams;

const DAY: Duration = Duration::from_secs(24 * 3600);

#[apply(backends)]
#[tokio::test]
async fn a_quiet_customer_is_reminded_in_their_chat_and_rates_the_closed_ticket_on_its_card(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "VPN", "down").await;
    let staff = w.h.staff("Sam Support").await;
    let ann_id = w.person(&ann()).await;
    w.h.reply(staff, t.id, "Is it back?").await.unwrap();
    w.settle().await;
    // the deployment closes quiet tickets (a replica so configured).
    let replica = w.h.auto_closing("3d/2d").await;
    w.h.engine
        .clock()
        .advance(3 * DAY + Duration::from_secs(60));
    assert_eq!(replica.run_auto_close(10).await.unwrap().reminded, 1);
    w.settle().await;
    let chat = FakeTeams::chat_of(&ann().id);
    let said = w.texts(&chat);
    assert!(
        said.iter()
            .any(|l| l.contains("We haven't heard from you for 3 days: this ticket closes on")),
        "{said:?}"
    );
    w.h.engine.clock().advance(2 * DAY);
    assert_eq!(replica.run_auto_close(10).await.unwrap().closed, 1);
    w.settle().await;
    let said = w.texts(&chat);
    assert!(
        said.iter().any(|l| l.contains(&format!(
            "Threadesk closed ticket {}: no reply for 5 days.",
            t.number
        ))),
        "{said:?}"
    );
    let card = |w: &World| {
        w.fake
            .in_conversation(&chat)
            .into_iter()
            .find(|p| p.id == t.card)
            .expect("the card")
            .text()
    };
    assert!(card(&w).contains("How did we do?"), "{}", card(&w));
    assert!(card(&w).contains("\"verb\":\"rate\""), "{}", card(&w));
    // no score chosen: asked for one; then the score and a comment.
    let none = w
        .press(&ann(), &chat, &t.card, "rate", json!({ "ticket": t.id.0 }))
        .await;
    assert!(none.to_string().contains("Choose a rating"), "{none}");
    w.press(
        &ann(),
        &chat,
        &t.card,
        "rate",
        json!({ "ticket": t.id.0, "score": "4", "comment": "Quick, thanks" }),
    )
    .await;
    w.settle().await;
    let rated = w.h.engine.rating(ann_id, t.id).await.unwrap().unwrap();
    assert_eq!(
        (rated.score, rated.comment.as_deref()),
        (4, Some("Quick, thanks"))
    );
    assert!(
        card(&w).contains("You rated ★★★★☆ (Very good)"),
        "{}",
        card(&w)
    );
    let staff_card: Vec<String> = w
        .fake
        .posted()
        .into_iter()
        .filter(|p| p.conversation.starts_with(STAFF_CHANNEL))
        .map(|p| p.text())
        .collect();
    assert!(
        staff_card
            .iter()
            .any(|c| c.contains("Rated ★★★★☆ (4/5, Very good): “Quick, thanks”")),
        "{staff_card:?}"
    );
    w.no_violations();
}
