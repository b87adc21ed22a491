//! Internal notes are staff's on every surface: a staff member's `note:`
//! is a note wherever it is written, and one written in a customer thread
//! is taken out of it.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::Value;
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
