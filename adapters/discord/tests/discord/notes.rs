//! Internal notes are staff's on every surface: a staff member's `note:`
//! is a note wherever it is written, and one written in a customer thread
//! is taken out of it.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::{json, Value};
use threadesk_core::domain::Status;

/// Contents of the DMs the bot sent a user.
fn dms(w: &World, user: &str) -> Vec<String> {
    w.fake
        .dm_of(user)
        .map(|c| w.contents(&c))
        .unwrap_or_default()
}

/// Sam writes a `note:` in the customer thread (Discord refusing its
/// removal when `refused`); it is recorded as a note and kept for staff.
async fn staff_note_in_customer_thread(w: &World, t: &Opened, refused: bool) -> Value {
    w.gateway().await;
    let note = w.fake.user_message(
        &t.thread,
        &sam(),
        "note: third fire this month, check the wiring",
    );
    if refused {
        // the bot lacks Manage Messages in the support channel.
        let id = note["id"].as_str().unwrap();
        w.fake.fail_next(&format!("/messages/{id}"), 403);
    }
    w.fake.gateway().dispatch("MESSAGE_CREATE", note.clone());
    w.wait_messages(t.id, 2).await;
    assert_eq!(
        w.bodies(t.id).await[1],
        (
            "staff".into(),
            true,
            "third fire this month, check the wiring".into()
        ),
        "recorded as an internal note"
    );
    w.settle().await;
    assert!(
        w.contents(&t.triage)
            .iter()
            .any(|c| c.contains("third fire this month, check the wiring")),
        "kept on the staff side: {:?}",
        w.contents(&t.triage)
    );
    let staff = w.h.staff("Checker").await;
    assert_eq!(
        w.h.engine.ticket(staff, t.id).await.unwrap().status,
        Status::Open,
        "a note is no answer to the customer"
    );
    note
}

#[apply(backends)]
#[tokio::test]
async fn a_staff_note_in_a_customer_thread_stays_internal_and_is_removed_there(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Printer", "It is on fire").await;
    let note = staff_note_in_customer_thread(&w, &t, false).await;
    let id = note["id"].as_str().unwrap();
    w.wait_for("the note removed from the customer thread", || {
        !w.contents(&t.thread)
            .iter()
            .any(|c| c.contains("third fire"))
    })
    .await;
    assert_eq!(
        w.fake
            .calls_to("DELETE", &format!("/channels/{}/messages/{id}", t.thread))
            .len(),
        1
    );
    w.wait_for("the author told privately", || {
        dms(&w, &sam().id)
            .iter()
            .any(|c| c.contains("removed from the customer thread"))
    })
    .await;
    assert!(
        dms(&w, &bob().id).is_empty(),
        "the customer is told nothing"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_note_that_cannot_be_removed_is_told_to_its_author_at_once(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Printer", "It is on fire").await;
    let note = staff_note_in_customer_thread(&w, &t, true).await;
    let id = note["id"].as_str().unwrap().to_owned();
    w.wait_for("the author warned", || {
        dms(&w, &sam().id)
            .iter()
            .any(|c| c.contains("the customer can see it"))
    })
    .await;
    assert!(
        w.fake
            .messages_in(&t.thread)
            .iter()
            .any(|m| m["id"] == id.as_str()),
        "still there: Discord refused"
    );
}

#[apply(backends)]
#[tokio::test]
async fn staff_answer_with_a_saved_reply_from_a_messages_apps_menu(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "VPN", "down").await;
    let menu = |who: &Person, channel: &str| {
        interaction::message_command(who, channel, "Send saved reply", "1")
    };
    // registered beside /ticket.
    let puts = w.fake.calls_to("PUT", "/applications/*/guilds/*/commands");
    assert_eq!(puts[0].body[1]["name"], "Send saved reply");
    assert_eq!(puts[0].body[1]["type"], 3);
    // none yet: how to save one.
    let none = w.interact(&menu(&sam(), &t.triage)).await;
    assert!(
        none["data"]["content"]
            .as_str()
            .unwrap()
            .contains("saved add"),
        "{none}"
    );
    let saved = w
        .interact(&interaction::command(
            &sam(),
            &t.triage,
            "saved",
            json!([{ "type": 3, "name": "action", "value": "add" },
                   { "type": 3, "name": "name", "value": "fixed" },
                   { "type": 3, "name": "text", "value": "Hi {first_name}, {ticket} is fixed." }]),
        ))
        .await;
    assert!(
        saved["data"]["content"].as_str().unwrap().contains("kept"),
        "{saved}"
    );
    // in the triage thread: a select of the replies, filled in for the ticket.
    let picker = w.interact(&menu(&sam(), &t.triage)).await;
    let select = &picker["data"]["components"][0]["components"][0];
    assert_eq!(select["type"], 3, "{picker}");
    assert_eq!(select["options"][0]["label"], "fixed");
    assert!(select["options"][0]["description"]
        .as_str()
        .unwrap()
        .contains("is fixed."));
    let custom = select["custom_id"].as_str().unwrap().to_owned();
    let value = select["options"][0]["value"].clone();
    let choose = interaction::component(&sam(), &t.triage, &custom, 3, Some(json!([value])));
    let sent = w.interact(&choose).await;
    assert!(
        sent["data"]["content"]
            .as_str()
            .unwrap()
            .contains("sent on"),
        "{sent}"
    );
    // Discord redelivers: the reply is posted once.
    w.interact(&choose).await;
    w.settle().await;
    let bodies = w.bodies(t.id).await;
    assert_eq!(
        bodies
            .iter()
            .filter(|(_, _, b)| b.contains("is fixed."))
            .count(),
        1,
        "{bodies:?}"
    );
    // `/ticket reply` without a name opens the same picker.
    let by_command = w
        .interact(&interaction::command(&sam(), &t.triage, "reply",
            json!([{ "type": 4, "name": "number", "value": t.number.trim_start_matches('#').parse::<i64>().unwrap() }])))
        .await;
    assert_eq!(
        by_command["data"]["components"][0]["components"][0]["type"], 3,
        "{by_command}"
    );
    // a customer in their own thread: staff only.
    let bob_try = w.interact(&menu(&bob(), &t.thread)).await;
    assert!(
        bob_try["data"]["content"]
            .as_str()
            .unwrap()
            .contains("staff"),
        "{bob_try}"
    );
    let forged = w
        .interact(&interaction::component(
            &bob(),
            &t.thread,
            &custom,
            3,
            Some(json!([select["options"][0]["value"].clone()])),
        ))
        .await;
    assert!(
        !forged["data"]["content"]
            .as_str()
            .unwrap()
            .contains("sent on"),
        "{forged}"
    );
    // outside a ticket's thread the command says where it works.
    let elsewhere = w
        .interact(&menu(&sam(), &SUPPORT_CHANNEL.to_string()))
        .await;
    assert!(
        elsewhere["data"]["content"]
            .as_str()
            .unwrap()
            .contains("ticket's thread"),
        "{elsewhere}"
    );
    // the check on answers can fail: a select without options is no callback.
    let bad = threadesk_discord::testing::spec_problems(
        "POST",
        "/interactions/1/token/callback",
        &serde_json::Map::new(),
        &json!({ "type": 4, "data": { "components": [{ "type": 1, "components": [{ "type": 3, "custom_id": 5 }] }] } }),
    );
    assert!(!bad.is_empty());
    w.no_violations();
}
