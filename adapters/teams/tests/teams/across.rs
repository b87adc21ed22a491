//! One engine, several platforms: a ticket opened on Teams is worked from
//! Slack's triage channel, and the answer reaches the Teams customer.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use threadesk_core::outbox::Consumer;
use threadesk_slack::testing::FakeSlack;
use threadesk_slack::{SlackAdapter, SlackConfig};

const SLACK_STAFF: &str = "CSTAFF";

#[apply(backends)]
#[tokio::test]
async fn a_teams_customers_ticket_is_worked_from_slacks_triage_channel(#[case] kind: Kind) {
    let w = world(kind).await;
    let sfake = FakeSlack::start().await;
    sfake.add_user("USAM", "Sam on Slack", "T1");
    sfake.set_members(SLACK_STAFF, &["UBOT", "USAM"]);
    let mut config = SlackConfig::new("xoxb-test-token", "secret");
    config.api_url = sfake.api_url.clone();
    config.staff_channel = Some(SLACK_STAFF.into());
    let slack = SlackAdapter::new(w.h.engine.clone(), config).unwrap();
    slack.connect().await.unwrap();
    let settle_both = || async {
        for _ in 0..50 {
            let a = w.teams.mirror().pump().await.unwrap();
            let b = slack.mirror().pump().await.unwrap();
            if a + b == 0 {
                return;
            }
        }
        panic!("the outboxes did not settle");
    };

    let t = w
        .open_ticket(&ann(), "Laptop won't boot", "Black screen")
        .await;
    settle_both().await;
    let card = sfake
        .posts(SLACK_STAFF, None)
        .into_iter()
        .find(|c| c.args.to_string().contains("Laptop won't boot"))
        .expect("a triage card on Slack");
    let card_ts = card.answer["ts"].as_str().unwrap().to_owned();

    // Sam answers in the Slack card's thread.
    let event = json!({ "type": "event_callback", "event_id": "Ev1", "team_id": "T1",
        "event": { "type": "message", "channel": SLACK_STAFF, "user": "USAM",
            "text": "Hold the power button for 30 seconds", "ts": "1700000001.000200",
            "thread_ts": card_ts } });
    slack.on_event(&event).await;
    settle_both().await;
    let chat = FakeTeams::chat_of(&ann().id);
    assert!(
        w.texts(&chat)
            .iter()
            .any(|x| x.contains("Hold the power button") && x.contains(&t.number)),
        "the Slack answer reaches Ann's Teams chat"
    );
    // Ann's answer from Teams reaches Slack's thread.
    w.send(&w.make.personal(&ann(), "It booted!")).await;
    settle_both().await;
    assert!(sfake
        .posts(SLACK_STAFF, Some(&card_ts))
        .iter()
        .any(|c| c.args.to_string().contains("It booted!")));
    w.no_violations();
    assert!(sfake.violations().is_empty(), "{:?}", sfake.violations());
}
