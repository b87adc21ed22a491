//! What arrives over the gateway: thread messages, edits, reactions and
//! interactions, and what was written while the bot was away.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::{json, Value};
use threadesk_core::domain::Status;

/// The ticket's status as staff see it.
async fn status(w: &World, t: &Opened) -> Status {
    let staff = w.h.staff("Checker").await;
    w.h.engine.ticket(staff, t.id).await.unwrap().status
}

#[apply(backends)]
#[tokio::test]
async fn thread_messages_are_replies_by_their_authors_mirrored_without_pings(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Printer", "It is on fire").await;
    w.gateway().await;

    let m = w
        .fake
        .user_message(&t.thread, &bob(), "@everyone please help <@&1>");
    w.fake.gateway().dispatch("MESSAGE_CREATE", m.clone());
    w.fake.gateway().dispatch("MESSAGE_CREATE", m);
    w.wait_messages(t.id, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let bodies = w.bodies(t.id).await;
    assert_eq!(
        bodies.len(),
        2,
        "one reply for a redelivered message: {bodies:?}"
    );
    assert_eq!(
        bodies[1],
        (
            "requester".into(),
            false,
            "@everyone please help <@&1>".into()
        )
    );
    w.settle().await;
    let copies = w.fake.messages_in(&t.triage);
    let last = copies.last().unwrap();
    assert_eq!(
        last["content"],
        "**Bob Builder** (requester): @everyone please help <@&1>"
    );
    let post = w
        .fake
        .calls_to("POST", &format!("/channels/{}/messages", t.triage))
        .pop()
        .unwrap();
    assert_eq!(post.body["allowed_mentions"], json!({ "parse": [] }));
    assert_eq!(
        w.contents(&t.thread).len(),
        3,
        "not copied back into its own thread"
    );

    // the bot's own copies (and other bots) are never replies.
    let mut own = w
        .fake
        .user_message(&t.thread, &bob(), "a copy the bot posted");
    own["author"] = json!({ "id": threadesk_discord::testing::BOT_USER, "username": "threadesk", "discriminator": "0", "avatar": null, "bot": true });
    w.fake.gateway().dispatch("MESSAGE_CREATE", own);
    let mut other = w.fake.user_message(&t.thread, &bob(), "another app");
    other["author"]["bot"] = json!(true);
    other["author"]["id"] = json!("555");
    w.fake.gateway().dispatch("MESSAGE_CREATE", other);

    // staff answer in the customer thread; a note in the triage thread.
    let sam_says = w.fake.user_message(&t.thread, &sam(), "Unplug it");
    w.fake.gateway().dispatch("MESSAGE_CREATE", sam_says);
    let note = w
        .fake
        .user_message(&t.triage, &sam(), "note: third fire this month");
    w.fake.gateway().dispatch("MESSAGE_CREATE", note);
    w.wait_messages(t.id, 4).await;
    let bodies = w.bodies(t.id).await;
    assert_eq!(
        bodies.len(),
        4,
        "bots' messages are not recorded: {bodies:?}"
    );
    assert!(
        bodies.contains(&("staff".into(), false, "Unplug it".into())),
        "{bodies:?}"
    );
    assert!(
        bodies.contains(&("staff".into(), true, "third fire this month".into())),
        "{bodies:?}"
    );
    assert_eq!(status(&w, &t).await, Status::AwaitingClient);
    w.settle().await;
    let customer = w.contents(&t.thread).join("\n");
    assert!(!customer.contains("third fire"), "notes stay with staff");
    assert!(w
        .contents(&t.triage)
        .iter()
        .any(|c| c == "**Sam Support** (staff): Unplug it"));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn interactions_over_the_gateway_are_answered_through_the_callback(#[case] kind: Kind) {
    let w = world(kind).await;
    w.gateway().await;
    let i = interaction::command(&bob(), &SUPPORT_CHANNEL.to_string(), "help", json!([]));
    w.fake.gateway().dispatch("INTERACTION_CREATE", i.clone());
    let path = format!(
        "/interactions/{}/{}/callback",
        i["id"].as_str().unwrap(),
        i["token"].as_str().unwrap()
    );
    w.wait_for("the callback", || {
        !w.fake.calls_to("POST", &path).is_empty()
    })
    .await;
    let answer = &w.fake.calls_to("POST", &path)[0].body;
    assert_eq!(answer["type"], 4);
    assert_eq!(answer["data"]["flags"], 64);
    assert!(answer["data"]["content"]
        .as_str()
        .unwrap()
        .contains("/ticket open"));
    assert!(
        !answer["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Staff"),
        "no staff section for customers"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn close_asks_first_then_locks_and_archives_the_thread(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Close me", "Done soon").await;
    let id = t.id.0;
    let ask = w
        .interact(&interaction::component(
            &bob(),
            &t.thread,
            &format!("close:{id}"),
            2,
            None,
        ))
        .await;
    assert_eq!(
        ask["data"]["components"][0]["components"][0]["custom_id"],
        format!("close-yes:{id}")
    );
    assert_eq!(
        status(&w, &t).await,
        Status::Open,
        "not closed before confirming"
    );
    let done = w
        .interact(&interaction::component(
            &bob(),
            &t.thread,
            &format!("close-yes:{id}"),
            2,
            None,
        ))
        .await;
    assert_eq!(done["type"], 7);
    assert_eq!(status(&w, &t).await, Status::Closed);
    w.settle().await;
    let thread = w.fake.channel(&t.thread).unwrap();
    assert!(thread.locked && thread.archived);
    let card = &w.fake.messages_in(&t.thread)[0];
    // a closed card keeps only the rating buttons, one per score.
    let buttons: Vec<&str> = card["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    let id = t.id.0;
    assert_eq!(
        buttons,
        (1..=5)
            .map(|s| format!("rate:{id}:{s}"))
            .collect::<Vec<_>>(),
        "only the rating buttons on a closed card"
    );
    assert_eq!(card["components"].as_array().unwrap().len(), 1);
    assert!(w
        .contents(&t.thread)
        .iter()
        .any(|c| c.starts_with("🔒 Bob Builder closed ticket")));
    assert!(w
        .contents(&t.triage)
        .iter()
        .any(|c| c.starts_with("🔒 Bob Builder closed ticket")));

    // a late message (staff can still write in a locked thread) is not recorded.
    w.gateway().await;
    let late = w.fake.user_message(&t.thread, &sam(), "One more thing");
    w.fake.gateway().dispatch("MESSAGE_CREATE", late);
    w.wait_for("the closed notice", || {
        w.fake
            .dm_of(&sam().id)
            .is_some_and(|dm| !w.fake.messages_in(&dm).is_empty())
    })
    .await;
    let dm = w.fake.dm_of(&sam().id).unwrap();
    assert!(w.contents(&dm)[0].contains("is closed"));
    assert!(
        w.contents(&dm)[0].contains("One more thing"),
        "the text is given back"
    );
    assert_eq!(w.bodies(t.id).await.len(), 1);
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_check_mark_closes_for_those_who_may(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "React", "to close").await;
    w.gateway().await;
    let react = |who: &Person| -> Value {
        json!({
            "user_id": who.id, "channel_id": t.thread, "message_id": w.fake.messages_in(&t.thread)[0]["id"],
            "guild_id": threadesk_discord::testing::GUILD, "member": who.member(),
            "emoji": { "id": null, "name": "✅" }, "burst": false, "type": 0
        })
    };
    w.fake
        .gateway()
        .dispatch("MESSAGE_REACTION_ADD", react(&eve()));
    w.wait_for("the refusal", || {
        w.fake
            .dm_of(&eve().id)
            .is_some_and(|dm| !w.fake.messages_in(&dm).is_empty())
    })
    .await;
    assert_eq!(
        status(&w, &t).await,
        Status::Open,
        "a stranger cannot close it"
    );
    let dm = w.fake.dm_of(&eve().id).unwrap();
    assert!(
        w.contents(&dm)[0].contains("can't find that ticket"),
        "{:?}",
        w.contents(&dm)
    );
    w.fake
        .gateway()
        .dispatch("MESSAGE_REACTION_ADD", react(&bob()));
    for _ in 0..800 {
        if status(&w, &t).await == Status::Closed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(status(&w, &t).await, Status::Closed);
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn an_edit_in_discord_edits_the_ticket_message_and_its_copies(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Edits", "first").await;
    w.gateway().await;
    let m = w.fake.user_message(&t.thread, &bob(), "teh typo");
    w.fake.gateway().dispatch("MESSAGE_CREATE", m.clone());
    w.wait_messages(t.id, 2).await;
    w.settle().await;
    let mut edited = m.clone();
    edited["content"] = json!("the typo, fixed");
    edited["edited_timestamp"] = json!("2026-11-23T10:05:00.000000+00:00");
    w.fake.gateway().dispatch("MESSAGE_UPDATE", edited);
    for _ in 0..800 {
        if w.bodies(t.id).await[1].2 == "the typo, fixed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(w.bodies(t.id).await[1].2, "the typo, fixed");
    w.settle().await;
    let copy = w.contents(&t.triage).pop().unwrap();
    assert_eq!(
        copy,
        "**Bob Builder** (requester) *(edited)*: the typo, fixed"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn messages_written_during_a_reconnect_gap_are_recorded_once(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Gap", "before").await;
    w.gateway().await;
    let live = w.fake.user_message(&t.thread, &bob(), "seen live");
    w.fake.gateway().dispatch("MESSAGE_CREATE", live);
    w.wait_messages(t.id, 2).await;
    // written while the connection is lost: never dispatched, only in history.
    w.fake
        .history_only(&t.thread, &bob(), "written during the gap");
    w.fake
        .history_only(&t.thread, &carol(), "a stranger in the thread");
    // meanwhile staff answer from elsewhere: the bot's copy is newer than
    // what was missed.
    let sam = w.h.staff("Sam Elsewhere").await;
    w.h.engine
        .reply(
            &threadesk_core::Ctx::new(sam),
            t.id,
            threadesk_core::engine::NewMessage::text("answered from the portal"),
        )
        .await
        .unwrap();
    w.settle().await;
    let before = w.fake.gateway().handshakes();
    w.fake.gateway().drop_connections();
    for _ in 0..800 {
        if w.fake.gateway().handshakes() > before && w.bodies(t.id).await.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let bodies: Vec<String> = w.bodies(t.id).await.into_iter().map(|b| b.2).collect();
    assert_eq!(
        bodies,
        [
            "before",
            "seen live",
            "answered from the portal",
            "written during the gap"
        ],
        "back-filled once, strangers refused"
    );
    let told = |w: &World| {
        w.fake
            .dm_of(&carol().id)
            .map_or(0, |dm| w.fake.messages_in(&dm).len())
    };
    w.wait_for("the stranger's refusal", || told(&w) == 1).await;
    // another reconnect reads the history again: nothing new, nobody told twice.
    let before = w.fake.gateway().handshakes();
    w.fake.gateway().drop_connections();
    w.wait_for("the reconnect", || w.fake.gateway().handshakes() > before)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(w.bodies(t.id).await.len(), 4);
    assert_eq!(told(&w), 1, "the refusal is told once");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn the_staff_channel_itself_is_no_tickets_thread(#[case] kind: Kind) {
    let w = world(kind).await;
    let first = w.open_ticket(&bob(), "First", "one").await;
    let second = w.open_ticket(&bob(), "Second", "two").await;
    w.gateway().await;
    let staff = threadesk_discord::testing::STAFF_CHANNEL.to_string();
    let chat = w.fake.user_message(&staff, &sam(), "lunch at noon?");
    w.fake.gateway().dispatch("MESSAGE_CREATE", chat);
    // a check mark on the second ticket's triage card closes that one.
    let react = json!({
        "user_id": sam().id, "channel_id": staff, "message_id": second.triage,
        "guild_id": threadesk_discord::testing::GUILD, "member": sam().member(),
        "emoji": { "id": null, "name": "✅" }, "burst": false, "type": 0
    });
    w.fake.gateway().dispatch("MESSAGE_REACTION_ADD", react);
    for _ in 0..800 {
        if status(&w, &second).await == Status::Closed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(status(&w, &second).await, Status::Closed);
    assert_eq!(
        status(&w, &first).await,
        Status::Open,
        "not the oldest card's ticket"
    );
    for t in [&first, &second] {
        assert!(
            !w.bodies(t.id).await.iter().any(|b| b.2.contains("lunch")),
            "a staff-channel chat is no reply"
        );
    }
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_delegate_is_invited_joins_the_thread_and_is_removed_when_revoked(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w
        .open_ticket(&bob(), "Shared", "Carol should see this")
        .await;
    w.gateway().await;
    let panel = w
        .interact(&interaction::component(
            &bob(),
            &t.thread,
            &format!("delegates:{}", t.id.0),
            2,
            None,
        ))
        .await;
    assert_eq!(
        panel["data"]["components"][0]["components"][0]["type"], 5,
        "a user select"
    );
    let invited = w
        .interact(&interaction::user_select(
            &bob(),
            &t.thread,
            &format!("invite:{}", t.id.0),
            &[&carol()],
        ))
        .await;
    assert!(
        invited["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Invited Carol Chen"),
        "{invited}"
    );
    w.settle().await;
    let dm = w
        .fake
        .dm_of(&carol().id)
        .expect("an invitation in Carol's DMs");
    let invitation = &w.fake.messages_in(&dm)[0];
    let accept = invitation["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(accept.starts_with("accept:"));
    let delegate = accept.trim_start_matches("accept:").to_owned();
    let answered = w
        .interact(&interaction::dm_component(&carol(), &dm, &accept))
        .await;
    assert_eq!(answered["type"], 7);
    w.settle().await;
    assert!(
        w.fake
            .channel(&t.thread)
            .unwrap()
            .members
            .contains(&carol().id),
        "added to the private thread"
    );

    let said = w.fake.user_message(&t.thread, &carol(), "Carol here");
    w.fake.gateway().dispatch("MESSAGE_CREATE", said);
    w.wait_messages(t.id, 2).await;
    assert_eq!(
        w.bodies(t.id).await[1],
        ("delegate".into(), false, "Carol here".into())
    );

    let revoked = w
        .interact(&interaction::component(
            &bob(),
            &t.thread,
            &format!("revoke:{delegate}"),
            2,
            None,
        ))
        .await;
    assert!(
        revoked["data"]["content"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{revoked}"
    );
    w.settle().await;
    assert!(
        !w.fake
            .channel(&t.thread)
            .unwrap()
            .members
            .contains(&carol().id),
        "removed at once"
    );
    let late = w.fake.user_message(&t.thread, &carol(), "Still here?");
    w.fake.gateway().dispatch("MESSAGE_CREATE", late);
    w.wait_for("the refusal", || {
        w.contents(&dm)
            .iter()
            .any(|c| c.contains("no longer have access"))
    })
    .await;
    assert_eq!(
        w.bodies(t.id).await.len(),
        2,
        "nothing recorded after revocation"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn files_in_the_thread_become_ticket_attachments(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Files", "see attached").await;
    w.gateway().await;
    let m = w.fake.user_message_with_files(
        &t.thread,
        &bob(),
        "the invoice",
        &[("invoice.pdf", 48_213)],
    );
    w.fake.gateway().dispatch("MESSAGE_CREATE", m);
    w.wait_messages(t.id, 2).await;
    let bob_id = w.person(&bob()).await;
    let thread = w.h.engine.thread(bob_id, t.id).await.unwrap();
    let files = &thread.messages[1].attachments;
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].name.as_str(), files[0].size_bytes),
        ("invoice.pdf", 48_213)
    );
    assert!(files[0]
        .url
        .starts_with("https://cdn.discordapp.com/attachments/"));
    w.settle().await;
    let copy = w.contents(&t.triage).pop().unwrap();
    assert!(copy.contains("📎 [invoice.pdf]"), "{copy}");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_declined_invitation_is_told_in_the_thread(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Declines", "ask Eve").await;
    w.interact(&interaction::user_select(
        &bob(),
        &t.thread,
        &format!("invite:{}", t.id.0),
        &[&eve()],
    ))
    .await;
    w.settle().await;
    let dm = w.fake.dm_of(&eve().id).expect("an invitation");
    let decline = w.fake.messages_in(&dm)[0]["components"][0]["components"][1]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(decline.starts_with("decline:"));
    let answered = w
        .interact(&interaction::dm_component(&eve(), &dm, &decline))
        .await;
    assert_eq!(answered["data"]["content"], "Invitation declined.");
    w.settle().await;
    assert!(w
        .contents(&t.thread)
        .iter()
        .any(|c| c == "Eve Outsider declined the invitation to follow the ticket."));
    assert!(!w
        .fake
        .channel(&t.thread)
        .unwrap()
        .members
        .contains(&eve().id));
    // pressing it again changes nothing and says so.
    let again = w
        .interact(&interaction::dm_component(&eve(), &dm, &decline))
        .await;
    assert!(
        again["data"]["content"]
            .as_str()
            .unwrap()
            .contains("no longer open"),
        "{again}"
    );
    w.no_violations();
}
