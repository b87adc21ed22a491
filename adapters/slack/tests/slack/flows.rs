//! The ticket lifecycle from Slack, as customers and staff live it.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use threadesk_core::domain::Status;
use threadesk_core::{Ctx, TicketId};

#[apply(backends)]
#[tokio::test]
async fn slash_ticket_opens_the_new_ticket_modal(#[case] kind: Kind) {
    let w = world(kind).await;
    let answer = w.command(BOB, "").await;
    assert_eq!(answer, serde_json::Value::Null, "an empty acknowledgement");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let views = w.fake.calls_of("views.open");
    let blocks = views[0]["view"]["blocks"].as_array().unwrap();
    let ids: Vec<&str> = blocks
        .iter()
        .map(|b| b["block_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["subject", "message", "attachments"],
        "no department select without departments"
    );

    let sam = w.person(SAM).await;
    w.h.department(sam, "Billing").await;
    w.command(BOB, "open Printer on fire").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let views = w.fake.calls_of("views.open");
    let view = &views[1]["view"];
    assert_eq!(
        view["blocks"][0]["element"]["initial_value"],
        "Printer on fire"
    );
    assert_eq!(view["blocks"][1]["block_id"], "department");
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn submitting_the_modal_opens_a_ticket_with_a_dm_card_and_a_staff_card(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN down", "It drops every hour").await;
    let dm_card = &w.fake.posts(&t.dm, None)[0].args;
    assert!(dm_card["text"]
        .as_str()
        .unwrap()
        .starts_with(&format!("#{} VPN down", t.number)));
    let buttons: Vec<&str> = dm_card["blocks"][2]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, vec!["td_close", "td_delegates", "td_edit_subject"]);
    assert!(
        dm_card["blocks"][2]["elements"][0]["confirm"].is_object(),
        "close asks first"
    );
    // the DM thread has the confirmation and the first message; the staff thread the first message.
    let dm_thread: Vec<String> = w
        .fake
        .posts(&t.dm, Some(&t.card_ts))
        .iter()
        .map(|c| c.args["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(dm_thread[0].contains(&format!("#{}", t.number)) && dm_thread[0].contains("is open"));
    assert!(dm_thread[1].contains("It drops every hour"));
    let staff_thread = w.fake.posts(STAFF_CHANNEL, Some(&t.staff_ts));
    assert!(staff_thread[0].args["text"]
        .as_str()
        .unwrap()
        .contains("*Bob Builder* (requester)"));
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn invalid_modal_input_comes_back_inline_and_opens_nothing(#[case] kind: Kind) {
    let w = world(kind).await;
    let answer = w.submit_new_ticket(BOB, "   ", "body").await;
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["subject"]
        .as_str()
        .unwrap()
        .contains("subject"));
    let answer = w.submit_new_ticket(BOB, "ok", "x".repeat(16_001)).await;
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["message"].is_string());
    let bob = w.person(BOB).await;
    let mine =
        w.h.engine
            .my_tickets(bob, Default::default())
            .await
            .unwrap();
    assert!(mine.items.is_empty());
}

#[apply(backends)]
#[tokio::test]
async fn staff_answer_in_their_thread_and_notes_stay_on_the_staff_side(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    w.say(SAM, STAFF_CHANNEL, &t.staff_ts, "Try reconnecting")
        .await;
    w.say(
        SAM,
        STAFF_CHANNEL,
        &t.staff_ts,
        "note: customer is on the old client",
    )
    .await;
    w.drain().await;
    let bob_sees: Vec<String> = w
        .fake
        .posts(&t.dm, Some(&t.card_ts))
        .iter()
        .map(|c| c.args["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        bob_sees
            .iter()
            .any(|s| s.contains("*Sam Support* (staff): Try reconnecting")),
        "{bob_sees:?}"
    );
    assert!(!bob_sees.iter().any(|s| s.contains("old client")));
    let bob = w.person(BOB).await;
    let thread = w.h.engine.thread(bob, TicketId(1)).await.unwrap();
    assert_eq!(thread.ticket.status, Status::AwaitingClient);
    // every card shows the new status.
    let updates = w.fake.calls_of("chat.update");
    assert!(updates.iter().any(|u| u["ts"] == t.card_ts.as_str()
        && u["blocks"].to_string().contains("Awaiting your reply")));
    assert!(updates
        .iter()
        .any(|u| u["ts"] == t.staff_ts.as_str()
            && u["blocks"].to_string().contains("Awaiting client")));
    // Bob answers: client_replied, and staff see it.
    w.say(BOB, &t.dm, &t.card_ts, "Did that, still down").await;
    w.drain().await;
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().status,
        Status::ClientReplied
    );
    assert!(w
        .fake
        .posts(STAFF_CHANNEL, Some(&t.staff_ts))
        .iter()
        .any(|c| c.args["text"].as_str().unwrap().contains("still down")));
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn delegates_are_invited_accept_reply_and_lose_access_when_revoked(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    w.click(BOB, &t.dm, "td_delegates", "1").await;
    let answer = w
        .submit(
            BOB,
            "td_delegates",
            "1",
            json!({ "invitee": { "value": { "type": "users_select", "selected_user": CAROL } } }),
        )
        .await;
    assert_eq!(answer["response_action"], "update");
    assert!(answer["view"]["blocks"].to_string().contains("Carol Chen"));
    w.drain().await;
    let invite = w
        .fake
        .posts(&format!("D{CAROL}"), None)
        .pop()
        .expect("an invitation DM");
    let accept = &invite.args["blocks"][1]["elements"][0];
    assert_eq!(accept["action_id"], "td_accept");
    w.click(
        CAROL,
        &format!("D{CAROL}"),
        "td_accept",
        accept["value"].as_str().unwrap(),
    )
    .await;
    w.drain().await;
    // Carol's own card, with the history so far.
    let carol_card = w.fake.posts(&format!("D{CAROL}"), None).pop().unwrap();
    let carol_ts = carol_card.answer["ts"].as_str().unwrap().to_owned();
    let history = w.fake.posts(&format!("D{CAROL}"), Some(&carol_ts));
    assert!(history
        .iter()
        .any(|c| c.args["text"].as_str().unwrap().contains("down")));
    // staff answer; Carol replies: client_replied, and Bob sees her reply.
    w.say(SAM, STAFF_CHANNEL, &t.staff_ts, "Which office?")
        .await;
    w.say(CAROL, &format!("D{CAROL}"), &carol_ts, "Berlin office")
        .await;
    w.drain().await;
    let bob = w.person(BOB).await;
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().status,
        Status::ClientReplied
    );
    assert!(w
        .fake
        .posts(&t.dm, Some(&t.card_ts))
        .iter()
        .any(|c| c.args["text"]
            .as_str()
            .unwrap()
            .contains("*Carol Chen* (delegate): Berlin office")));
    // Bob revokes her: her card says so, and her next reply is refused.
    let carol = w.person(CAROL).await;
    let d =
        w.h.engine
            .delegates(bob, TicketId(1))
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.person_id == Some(carol))
            .unwrap();
    w.interact(BOB, json!({ "type": "block_actions", "view": { "id": "VDEL" },
        "actions": [{ "action_id": "td_revoke", "value": d.id.0.to_string(), "block_id": "b", "action_ts": "1" }] })).await;
    w.drain().await;
    assert!(w
        .fake
        .calls_of("chat.update")
        .iter()
        .any(|u| u["ts"] == carol_ts.as_str() && u["blocks"].to_string().contains("revoked")));
    let ephemerals_before = w.fake.calls_of("chat.postEphemeral").len();
    w.say(CAROL, &format!("D{CAROL}"), &carol_ts, "one more thing")
        .await;
    let refused = w.fake.calls_of("chat.postEphemeral");
    assert_eq!(refused.len(), ephemerals_before + 1);
    assert_eq!(refused.last().unwrap()["user"], CAROL);
    let thread = w.h.engine.thread(bob, TicketId(1)).await.unwrap();
    assert!(!thread.messages.iter().any(|m| m.body == "one more thing"));
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn a_closed_ticket_refuses_replies_and_offers_a_new_ticket_with_the_text(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    w.click(BOB, &t.dm, "td_close", "1").await;
    w.drain().await;
    let bob = w.person(BOB).await;
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().status,
        Status::Closed
    );
    assert!(w
        .fake
        .calls_of("chat.update")
        .iter()
        .any(|u| u["ts"] == t.card_ts.as_str() && u["blocks"].to_string().contains("closed")));
    w.say(BOB, &t.dm, &t.card_ts, "It broke again").await;
    let offer = w.fake.calls_of("chat.postEphemeral").pop().unwrap();
    assert!(offer["text"].as_str().unwrap().contains("is closed"));
    assert!(offer["text"].as_str().unwrap().contains("It broke again"));
    let button = &offer["blocks"][1]["elements"][0];
    assert_eq!(
        (button["action_id"].as_str(), button["value"].as_str()),
        (Some("td_new_ticket"), Some("It broke again"))
    );
    assert_eq!(
        w.h.engine
            .thread(bob, TicketId(1))
            .await
            .unwrap()
            .messages
            .len(),
        1
    );
    // the button opens the modal with the text.
    w.click(BOB, &t.dm, "td_new_ticket", "It broke again").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let view = w.fake.calls_of("views.open").pop().unwrap();
    assert!(view["view"].to_string().contains("It broke again"));
}

#[apply(backends)]
#[tokio::test]
async fn a_check_mark_on_the_card_closes_it_only_for_those_who_may(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let react = |user: &'static str| {
        json!({ "type": "reaction_added", "user": user, "reaction": "white_check_mark",
        "item": { "type": "message", "channel": t.dm.clone(), "ts": t.card_ts.clone() }, "event_ts": "1" })
    };
    w.event(react(EVE)).await;
    let bob = w.person(BOB).await;
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().status,
        Status::Open
    );
    w.event(react(BOB)).await;
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().status,
        Status::Closed
    );
}

#[apply(backends)]
#[tokio::test]
async fn editing_a_reply_in_slack_edits_the_message_and_its_copies(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let ts = w.say(BOB, &t.dm, &t.card_ts, "typo hre").await;
    w.drain().await;
    w.event(json!({ "type": "message", "subtype": "message_changed", "channel": t.dm, "hidden": true, "ts": "1800000001.000001",
        "message": { "type": "message", "user": BOB, "text": "typo here", "ts": ts, "thread_ts": t.card_ts, "edited": { "user": BOB, "ts": "1800000001.000001" } },
        "previous_message": { "type": "message", "user": BOB, "text": "typo hre", "ts": ts } })).await;
    w.drain().await;
    let bob = w.person(BOB).await;
    let thread = w.h.engine.thread(bob, TicketId(1)).await.unwrap();
    assert_eq!(thread.messages[1].body, "typo here");
    assert_eq!(thread.messages[1].revision, 2);
    let staff_copy = w
        .fake
        .posts(STAFF_CHANNEL, Some(&t.staff_ts))
        .into_iter()
        .find(|c| c.args["text"].as_str().unwrap().contains("typo hre"))
        .unwrap();
    let update = w
        .fake
        .calls_of("chat.update")
        .into_iter()
        .find(|u| u["ts"] == staff_copy.answer["ts"])
        .expect("the copy is updated");
    assert!(update["text"].as_str().unwrap().contains("typo here"));
}

#[apply(backends)]
#[tokio::test]
async fn company_admins_list_their_organizations_tickets_and_members_cannot(#[case] kind: Kind) {
    let w = world(kind).await;
    w.open_ticket(BOB, "VPN", "down").await;
    let sam = w.person(SAM).await;
    let bob = w.person(BOB).await;
    w.command(CAROL, "help").await;
    let carol = w.person(CAROL).await;
    let acme =
        w.h.engine
            .create_organization(&Ctx::new(sam), "Acme")
            .await
            .unwrap();
    for p in [bob, carol] {
        w.h.engine
            .set_organization(&Ctx::new(sam), p, Some(acme.id))
            .await
            .unwrap();
    }
    let listed = w.command(CAROL, "list org").await;
    assert!(
        listed["text"]
            .as_str()
            .unwrap_or_default()
            .contains("not allowed")
            || !listed.to_string().contains("VPN"),
        "{listed}"
    );
    w.command(SAM, &format!("admin grant <@{CAROL}|carol>"))
        .await;
    let listed = w.command(CAROL, "list org all").await;
    assert!(listed["blocks"].to_string().contains("VPN"), "{listed}");
    let mine = w.command(CAROL, "list").await;
    assert!(!mine["blocks"].to_string().contains("VPN"));
}

#[apply(backends)]
#[tokio::test]
async fn staff_commands_are_for_staff_only(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let refused = w
        .command(BOB, &format!("status #{} on_hold", t.number))
        .await;
    assert!(
        refused["text"].as_str().unwrap().contains("staff"),
        "{refused}"
    );
    let done = w
        .command(SAM, &format!("status #{} on_hold", t.number))
        .await;
    assert!(done["text"].as_str().unwrap().contains("On hold"), "{done}");
    let help = w.command(SAM, "help").await;
    assert!(help["text"].as_str().unwrap().contains("For staff"));
    let help = w.command(BOB, "help").await;
    assert!(!help["text"].as_str().unwrap().contains("For staff"));
    let queue = w.command(SAM, "queue").await;
    assert!(queue["blocks"].to_string().contains("VPN"));
}

#[apply(backends)]
#[tokio::test]
async fn app_home_offers_a_new_ticket_and_the_persons_tickets(#[case] kind: Kind) {
    let w = world(kind).await;
    w.open_ticket(BOB, "VPN", "down").await;
    w.event(json!({ "type": "app_home_opened", "user": BOB, "channel": "DUBOB", "tab": "home" }))
        .await;
    let home = w.fake.calls_of("views.publish").pop().unwrap();
    assert_eq!(home["user_id"], BOB);
    let text = home["view"].to_string();
    assert!(
        text.contains("Open a support ticket") && text.contains("VPN"),
        "{text}"
    );
    assert!(!text.contains("Owned by organization"));
}
