//! One ticket across platforms: opened on Discord, worked by staff in
//! Slack's triage channel, replies both ways, closed from either side.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::{json, Value};
use threadesk_core::domain::Status;
use threadesk_core::outbox::Consumer;
use threadesk_slack::testing::FakeSlack;
use threadesk_slack::{SlackAdapter, SlackConfig};

async fn slack_world(w: &World) -> (SlackAdapter, FakeSlack) {
    let fake = FakeSlack::start().await;
    fake.add_user("USAM", "Sam Support", "T1");
    fake.set_members("CSTAFF", &["USAM", "UBOT"]);
    let mut config = SlackConfig::new("xoxb-test-token", "secret");
    config.api_url = fake.api_url.clone();
    config.staff_channel = Some("CSTAFF".into());
    let slack = SlackAdapter::new(w.h.engine.clone(), config).unwrap();
    slack.connect().await.unwrap();
    (slack, fake)
}

async fn settle_both(w: &World, slack: &SlackAdapter) {
    for _ in 0..20 {
        let a = w.discord.mirror().pump().await.unwrap();
        let b = slack.mirror().pump().await.unwrap();
        if a + b == 0 {
            return;
        }
    }
    panic!("the outboxes did not settle");
}

fn slack_event(id: &str, event: Value) -> Value {
    json!({ "type": "event_callback", "team_id": "T1", "event_id": id, "event": event })
}

#[apply(backends)]
#[tokio::test]
async fn a_discord_ticket_is_worked_from_slack_and_closed_on_both(#[case] kind: Kind) {
    let w = world_with(kind, |c| c.staff_channel = None).await;
    let (slack, sfake) = slack_world(&w).await;
    let t = w.open_ticket(&bob(), "Cross", "Opened on Discord").await;
    settle_both(&w, &slack).await;
    assert!(
        t.triage.is_empty(),
        "no Discord triage without a staff channel"
    );

    // the ticket appears in Slack's triage channel with its first message.
    let card = sfake.posts("CSTAFF", None);
    assert_eq!(card.len(), 1);
    assert!(card[0].args["text"].as_str().unwrap().contains("Cross"));
    let root = card[0].answer["ts"].as_str().unwrap().to_owned();
    let thread = sfake.posts("CSTAFF", Some(&root));
    assert!(thread.iter().any(|c| c.args["text"]
        .as_str()
        .unwrap()
        .contains("Opened on Discord")));

    // Sam answers from Slack: the customer reads it on Discord.
    let sam_says = json!({ "type": "message", "channel": "CSTAFF", "user": "USAM", "text": "Looking into it", "ts": "1700000100.000100", "thread_ts": root });
    slack.on_event(&slack_event("Ev1", sam_says)).await;
    settle_both(&w, &slack).await;
    assert!(
        w.contents(&t.thread)
            .iter()
            .any(|c| c == "**Sam Support** (staff): Looking into it"),
        "{:?}",
        w.contents(&t.thread)
    );

    // Bob answers on Discord: staff read it in Slack, with his name.
    let m = w
        .fake
        .user_message(&t.thread, &bob(), "Thanks, it is urgent");
    w.discord.on_message(&m).await;
    settle_both(&w, &slack).await;
    let thread = sfake.posts("CSTAFF", Some(&root));
    let texts: Vec<&str> = thread
        .iter()
        .map(|c| c.args["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Bob Builder") && t.contains("Thanks, it is urgent")),
        "{texts:?}"
    );
    assert!(
        !w.contents(&t.thread)
            .iter()
            .any(|c| c.contains("Thanks, it is urgent") && c.starts_with("**")),
        "not echoed back to Discord"
    );

    // Sam closes it with ✅ in Slack: the Discord thread is locked and archived.
    let react = json!({ "type": "reaction_added", "user": "USAM", "reaction": "white_check_mark", "item": { "type": "message", "channel": "CSTAFF", "ts": root } });
    slack.on_event(&slack_event("Ev2", react)).await;
    settle_both(&w, &slack).await;
    let staff = w.h.staff("Checker").await;
    assert_eq!(
        w.h.engine.ticket(staff, t.id).await.unwrap().status,
        Status::Closed
    );
    let th = w.fake.channel(&t.thread).unwrap();
    assert!(th.locked && th.archived);
    assert!(sfake.violations().is_empty(), "{:?}", sfake.violations());
    w.no_violations();

    // and the other way round: closed on Discord, the Slack card shows it.
    let t2 = w.open_ticket(&bob(), "Second", "Another one").await;
    settle_both(&w, &slack).await;
    w.interact(&interaction::component(
        &bob(),
        &t2.thread,
        &format!("close-yes:{}", t2.id.0),
        2,
        None,
    ))
    .await;
    settle_both(&w, &slack).await;
    let updates: Vec<Value> = sfake
        .calls()
        .into_iter()
        .filter(|c| c.method == "chat.update")
        .map(|c| c.args)
        .collect();
    assert!(
        updates.iter().any(
            |u| u["text"].as_str().unwrap_or_default().contains("Second")
                && u.to_string().contains("Closed")
        ),
        "{updates:?}"
    );
}
