//! What review found: staff who leave, partial failures, reused modal ids,
//! two-step commands, unchanged edits, escaped command text.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use std::time::Duration;
use threadesk_core::outbox::Outbox;
use threadesk_core::TicketId;

fn texts(calls: Vec<threadesk_slack::testing::Call>) -> Vec<String> {
    calls
        .into_iter()
        .map(|c| c.args["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[apply(backends)]
#[tokio::test]
async fn leaving_the_staff_channel_ends_staff_rights_but_granted_staff_stay(#[case] kind: Kind) {
    let w = world(kind).await;
    let sam = w.person(SAM).await;
    assert!(w.h.engine.person(sam).await.unwrap().person.is_staff);
    let carol = w.person(CAROL).await;
    w.command(SAM, &format!("staff add <@{CAROL}|carol>")).await;
    assert!(w.h.engine.person(carol).await.unwrap().person.is_staff);
    w.fake.set_members(STAFF_CHANNEL, &["UBOT"]);
    for user in [SAM, CAROL] {
        w.event(json!({ "type": "member_left_channel", "user": user, "channel": STAFF_CHANNEL, "channel_type": "C", "team": "T1" })).await;
    }
    assert!(
        !w.h.engine.person(sam).await.unwrap().person.is_staff,
        "Sam left the staff channel"
    );
    assert!(
        w.h.engine.person(carol).await.unwrap().person.is_staff,
        "Carol was granted staff by a command"
    );
    let refused = w.command(SAM, "queue").await;
    assert!(
        refused["text"].as_str().unwrap().contains("staff"),
        "{refused}"
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_card_whose_history_failed_gets_it_on_the_retry_and_nothing_twice(#[case] kind: Kind) {
    let w = world(kind).await;
    // the staff card goes out; the copy of the first message under it fails.
    w.fake.fail_after("chat.postMessage", 1, 500);
    let answer = w.submit_new_ticket(BOB, "VPN", "first words").await;
    assert_eq!(answer["response_action"], "update");
    w.drain().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    w.drain().await;
    let staff_card = w.fake.posts(STAFF_CHANNEL, None);
    assert_eq!(staff_card.len(), 1);
    let staff_ts = staff_card[0].answer["ts"].as_str().unwrap().to_owned();
    let copies = texts(w.fake.posts(STAFF_CHANNEL, Some(&staff_ts)));
    assert_eq!(
        copies.iter().filter(|t| t.contains("first words")).count(),
        1,
        "{copies:?}"
    );
    let dm = w.fake.posts("DUBOB", None);
    assert_eq!(dm.len(), 1, "one DM card");
    let dm_thread = texts(
        w.fake
            .posts("DUBOB", Some(dm[0].answer["ts"].as_str().unwrap())),
    );
    assert_eq!(
        dm_thread.iter().filter(|t| t.contains("is open")).count(),
        1,
        "{dm_thread:?}"
    );
    assert_eq!(
        dm_thread
            .iter()
            .filter(|t| t.contains("first words"))
            .count(),
        1,
        "{dm_thread:?}"
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_channel_that_refuses_the_bot_does_not_hold_up_the_others(#[case] kind: Kind) {
    let w = world(kind).await;
    w.fake.refuse_channel(STAFF_CHANNEL, "not_in_channel");
    let answer = w.submit_new_ticket(BOB, "VPN", "down").await;
    assert_eq!(answer["response_action"], "update");
    w.drain().await;
    assert_eq!(w.fake.posts("DUBOB", None).len(), 1, "Bob's card went out");
    let lag = Outbox::new(w.h.engine.db().clone())
        .lag("slack")
        .await
        .unwrap();
    assert_eq!(
        (lag.pending, lag.failed),
        (0, 0),
        "the event is done, not retried forever"
    );
}

#[apply(backends)]
#[tokio::test]
async fn two_invitations_from_one_delegates_modal_both_happen(#[case] kind: Kind) {
    let w = world(kind).await;
    w.open_ticket(BOB, "VPN", "down").await;
    for (hash, invitee) in [("h1", CAROL), ("h2", EVE)] {
        let answer = w.interact(BOB, json!({ "type": "view_submission", "view": { "id": "VSAME", "hash": hash,
            "callback_id": "td_delegates", "private_metadata": "1",
            "state": { "values": { "invitee": { "value": { "type": "users_select", "selected_user": invitee } } } } } })).await;
        assert_eq!(answer["response_action"], "update", "{answer}");
    }
    let bob = w.person(BOB).await;
    assert_eq!(
        w.h.engine.delegates(bob, TicketId(1)).await.unwrap().len(),
        2
    );
}

#[apply(backends)]
#[tokio::test]
async fn putting_someone_in_a_new_organization_creates_it_and_moves_them(#[case] kind: Kind) {
    let w = world(kind).await;
    let bob = w.person(BOB).await;
    let answer = w
        .command(SAM, &format!("org <@{BOB}|bob> R&amp;D Labs"))
        .await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("is now in R&amp;D Labs"),
        "{answer}"
    );
    let org =
        w.h.engine
            .organization_named("R&D Labs")
            .await
            .unwrap()
            .expect("stored as typed");
    assert_eq!(
        w.h.engine.person(bob).await.unwrap().person.org_id,
        Some(org.id)
    );
    let answer = w.command(SAM, "department add Sales &amp; Renewals").await;
    assert!(
        answer["text"].as_str().unwrap().contains("created"),
        "{answer}"
    );
    let names: Vec<String> =
        w.h.engine
            .departments(true)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
    assert_eq!(names, vec!["Sales & Renewals"]);
}

#[apply(backends)]
#[tokio::test]
async fn a_link_preview_is_not_an_edit_and_staff_notes_stay_notes_everywhere(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w
        .open_ticket(BOB, "VPN", "see https://status.example")
        .await;
    let ts = w
        .say(BOB, &t.dm, &t.card_ts, "also https://status.example")
        .await;
    let before = w.fake.calls_of("chat.postEphemeral").len();
    w.event(json!({ "type": "message", "subtype": "message_changed", "channel": t.dm, "hidden": true, "ts": "1800000002.1",
        "message": { "type": "message", "user": BOB, "text": "also https://status.example", "ts": ts, "attachments": [{ "title": "Status" }] },
        "previous_message": { "type": "message", "user": BOB, "text": "also https://status.example", "ts": ts } })).await;
    assert_eq!(
        w.fake.calls_of("chat.postEphemeral").len(),
        before,
        "no complaint about an edit nobody made"
    );
    let bob = w.person(BOB).await;
    assert_eq!(
        w.h.engine.thread(bob, TicketId(1)).await.unwrap().messages[1].revision,
        1
    );

    // Sam follows the ticket in his DMs and writes a note there.
    w.command(SAM, "show #1001").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sam_card = w.fake.posts("DUSAM", None).pop().unwrap();
    let sam_ts = sam_card.answer["ts"].as_str().unwrap().to_owned();
    w.say(SAM, "DUSAM", &sam_ts, "note: refund approved").await;
    w.drain().await;
    let sam = w.person(SAM).await;
    let last =
        w.h.engine
            .thread(sam, TicketId(1))
            .await
            .unwrap()
            .messages
            .pop()
            .unwrap();
    assert!(last.internal && last.body == "refund approved");
    assert!(!texts(w.fake.posts(&t.dm, Some(&t.card_ts)))
        .iter()
        .any(|t| t.contains("refund")));
    assert!(texts(w.fake.posts(STAFF_CHANNEL, Some(&t.staff_ts)))
        .iter()
        .any(|t| t.contains("refund approved")));
}

#[apply(backends)]
#[tokio::test]
async fn a_direct_message_outside_a_ticket_gets_directions_and_opens_nothing(#[case] kind: Kind) {
    let w = world(kind).await;
    w.event(json!({ "type": "message", "channel": "DUBOB", "user": BOB, "text": "help me please", "ts": "1800000003.1", "channel_type": "im" })).await;
    let hint = w
        .fake
        .calls_of("chat.postEphemeral")
        .pop()
        .expect("directions");
    assert!(hint["text"].as_str().unwrap().contains("/ticket"));
    assert_eq!(w.h.events().await, 0, "nothing written");
}
