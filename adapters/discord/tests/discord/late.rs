//! Acknowledged first (as the binary runs): a `/ticket` command or a New
//! ticket form is stored and deferred at once (a private "thinking…"),
//! then handled, and its answer edited into that message.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use threadesk_core::inbound::Inbound;
use threadesk_discord::testing::{interaction, SUPPORT_CHANNEL};

impl World {
    /// Waits (bounded) until `n` answers were edited in; their bodies.
    async fn edited_answers(&self, n: usize) -> Vec<serde_json::Value> {
        let edits = || {
            self.fake
                .calls_to("PATCH", "/webhooks/*/*/messages/@original")
        };
        self.wait_for("the late answers", || edits().len() >= n)
            .await;
        edits().into_iter().map(|c| c.body).collect()
    }

    async fn nothing_stored(&self) {
        let inbound = Inbound::new(self.h.engine.db().clone());
        for _ in 0..400 {
            if inbound.backlog("discord").await.unwrap().pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("interactions stay stored");
    }
}

#[apply(backends)]
#[tokio::test]
async fn a_command_and_a_form_acknowledged_first_are_edited_into_their_deferral(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let first = w.open_ticket(&bob(), "Printer jams", "tray 2").await;
    w.discord.acknowledge_first();
    let channel = SUPPORT_CHANNEL.to_string();
    // a form still opens as the first answer.
    let form = w
        .interact(&interaction::command(&bob(), &channel, "open", json!([])))
        .await;
    assert_eq!(form["type"], 9, "{form}");

    let ack = w
        .interact(&interaction::command(&bob(), &channel, "list", json!([])))
        .await;
    assert_eq!(ack, json!({ "type": 5, "data": { "flags": 64 } }));
    let answers = w.edited_answers(1).await;
    let list = answers[0]["content"].as_str().unwrap();
    assert!(list.contains("Printer jams"), "{list}");
    assert!(list.contains(&first.number), "{list}");

    let custom = form["data"]["custom_id"].as_str().unwrap();
    let ack = w
        .interact(&interaction::modal(
            &bob(),
            &channel,
            custom,
            &[("subject", "VPN down"), ("message", "since 9")],
        ))
        .await;
    assert_eq!(ack["type"], 5, "{ack}");
    let answers = w.edited_answers(2).await;
    let opened = answers[1]["content"].as_str().unwrap();
    assert!(
        opened.contains("VPN down") && opened.contains("is open"),
        "{opened}"
    );
    assert_eq!(w.tickets_of(&bob()).await, 2);
    w.nothing_stored().await;
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_form_refused_after_its_deferral_keeps_what_was_typed(#[case] kind: Kind) {
    let w = world(kind).await;
    w.discord.acknowledge_first();
    let channel = SUPPORT_CHANNEL.to_string();
    let long = "x".repeat(300);
    let ack = w
        .interact(&interaction::modal(
            &bob(),
            &channel,
            "open:0",
            &[("subject", long.as_str()), ("message", "cannot get in")],
        ))
        .await;
    assert_eq!(ack["type"], 5, "{ack}");
    let answers = w.edited_answers(1).await;
    let told = answers[0].to_string();
    assert!(
        told.contains("Nothing was lost") && told.contains("cannot get in"),
        "{told}"
    );
    assert!(told.contains("Try again"), "{told}");
    assert_eq!(w.tickets_of(&bob()).await, 0);
    w.nothing_stored().await;
    w.no_violations();
}
