//! The rest of what a person can do from Slack, and the 3-second rule.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use std::time::{Duration, Instant};
use threadesk_core::domain::{PlatformIdentity, Status};
use threadesk_core::engine::NewTicket;
use threadesk_core::outbox::Consumer;
use threadesk_core::{Ctx, TicketId};

#[apply(backends)]
#[tokio::test]
async fn a_slow_slack_call_never_delays_the_acknowledgement_past_three_seconds(#[case] kind: Kind) {
    let w = world(kind).await;
    // meeting a new user needs users.info, which Slack answers slowly here.
    w.fake.delay_next("users.info", Duration::from_secs(4));
    let started = Instant::now();
    let answer = w.command(EVE, "help").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "acknowledged after {:?}",
        started.elapsed()
    );
    assert_eq!(answer, serde_json::Value::Null, "a bare acknowledgement");
    // the work goes on after the acknowledgement: Eve becomes known.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let eve =
        w.h.engine
            .person_by_identity(&PlatformIdentity::slack("T1", EVE))
            .await
            .unwrap();
    assert_eq!(eve.unwrap().display_name, "Eve Outsider");
}

#[apply(backends)]
#[tokio::test]
async fn edit_subject_opens_a_modal_and_saving_updates_every_card(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPM", "down").await;
    w.click(BOB, &t.dm, "td_edit_subject", "1").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let modal = w.fake.calls_of("views.open").pop().unwrap();
    assert_eq!(
        modal["view"]["blocks"][0]["element"]["initial_value"],
        "VPM"
    );
    let answer = w
        .submit(
            BOB,
            "td_edit_subject",
            "1",
            json!({ "subject": { "value": { "type": "plain_text_input", "value": "" } } }),
        )
        .await;
    assert_eq!(
        answer["response_action"], "errors",
        "an empty subject is refused inline"
    );
    let answer = w
        .submit(
            BOB,
            "td_edit_subject",
            "1",
            json!({ "subject": { "value": { "type": "plain_text_input", "value": "VPN" } } }),
        )
        .await;
    assert_eq!(answer, serde_json::Value::Null);
    w.drain().await;
    for ts in [&t.card_ts, &t.staff_ts] {
        assert!(w
            .fake
            .calls_of("chat.update")
            .iter()
            .any(|u| u["ts"] == ts.as_str() && u["text"].as_str().unwrap().ends_with("VPN")));
    }
    // Eve may not.
    let refused = w
        .submit(
            EVE,
            "td_edit_subject",
            "1",
            json!({ "subject": { "value": { "type": "plain_text_input", "value": "mine now" } } }),
        )
        .await;
    assert!(
        refused["errors"]["subject"]
            .as_str()
            .unwrap()
            .contains("can't find"),
        "{refused}"
    );
}

#[apply(backends)]
#[tokio::test]
async fn the_internal_note_shortcut_works_in_staff_threads_only(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    w.interact(SAM, json!({ "type": "message_action", "callback_id": "td_internal_note", "channel": { "id": STAFF_CHANNEL },
        "message": { "ts": "1800000000.5", "thread_ts": t.staff_ts, "text": "x" } })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let modal = w.fake.calls_of("views.open").pop().expect("the note modal");
    assert_eq!(modal["view"]["callback_id"], "td_note");
    w.submit(
        SAM,
        "td_note",
        "1",
        json!({ "message": { "value": { "type": "plain_text_input", "value": "VIP customer" } } }),
    )
    .await;
    w.drain().await;
    let sam = w.person(SAM).await;
    let thread = w.h.engine.thread(sam, TicketId(1)).await.unwrap();
    assert!(thread
        .messages
        .iter()
        .any(|m| m.internal && m.body == "VIP customer"));
    assert!(w
        .fake
        .posts(STAFF_CHANNEL, Some(&t.staff_ts))
        .iter()
        .any(|c| c.args["text"].as_str().unwrap().contains("Internal note")));
    assert!(!w
        .fake
        .posts(&t.dm, Some(&t.card_ts))
        .iter()
        .any(|c| c.args["text"].as_str().unwrap().contains("VIP")));
    // in Bob's own thread the shortcut explains itself instead.
    let before = w.fake.calls_of("views.open").len();
    w.interact(BOB, json!({ "type": "message_action", "callback_id": "td_internal_note", "channel": { "id": t.dm },
        "message": { "ts": "1800000000.6", "thread_ts": t.card_ts, "text": "x" } })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.fake.calls_of("views.open").len(), before);
    assert!(w.fake.calls_of("chat.postEphemeral").pop().unwrap()["text"]
        .as_str()
        .unwrap()
        .contains("staff thread"));
}

#[apply(backends)]
#[tokio::test]
async fn a_departments_tickets_go_to_its_own_triage_channel(#[case] kind: Kind) {
    let w = world_with(kind, |config| {
        config.department_channels =
            threadesk_slack::config::parse_department_channels("Billing=CBILL").unwrap();
    })
    .await;
    let (h, slack, fake) = (&w.h, &w.slack, &w.fake);
    let sam = h.staff("Sam").await;
    let billing = h.department(sam, "Billing").await;
    let bob = h
        .engine
        .ensure_person(&PlatformIdentity::slack("T1", BOB), "Bob Builder")
        .await
        .unwrap()
        .id;
    let input = NewTicket {
        subject: "Invoice".into(),
        department: Some(billing),
        body: "twice charged".into(),
        attachments: vec![],
    };
    h.engine.open_ticket(&Ctx::new(bob), input).await.unwrap();
    h.open(bob, "No department").await;
    while slack.mirror().pump().await.unwrap() > 0 {}
    let cards = |ch: &str| {
        fake.posts(ch, None)
            .iter()
            .map(|c| c.args["text"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(cards("CBILL").len(), 1);
    assert!(cards("CBILL")[0].ends_with("Invoice"));
    assert!(cards(STAFF_CHANNEL)[0].ends_with("No department"));
    // both were opened outside Slack (the portal, say): Bob still gets his DM cards.
    assert_eq!(cards("DUBOB").len(), 2);
}

#[apply(backends)]
#[tokio::test]
async fn a_slack_connect_guest_joins_their_home_teams_organization(#[case] kind: Kind) {
    let w = world(kind).await;
    w.fake.add_user("UGUEST", "Gail Guest", "T9");
    w.command("UGUEST", "help").await;
    let gail =
        w.h.engine
            .person_by_identity(&PlatformIdentity::slack("T1", "UGUEST"))
            .await
            .unwrap()
            .unwrap();
    let org =
        w.h.engine
            .organization_named("Team T9")
            .await
            .unwrap()
            .expect("the home team's organization");
    assert_eq!(gail.org_id, Some(org.id));
    // a member of our own workspace is in no organization by default.
    let bob = w.person(BOB).await;
    assert_eq!(w.h.engine.person(bob).await.unwrap().person.org_id, None);
}

#[apply(backends)]
#[tokio::test]
async fn lists_are_paged_with_a_more_button(#[case] kind: Kind) {
    let w = world(kind).await;
    let bob = w.person(BOB).await;
    for i in 0..12 {
        w.h.open(bob, &format!("Ticket {i}")).await;
    }
    let first = w.command(BOB, "list").await;
    let blocks = first["blocks"].as_array().unwrap();
    let more = blocks.last().unwrap()["elements"][0].clone();
    assert_eq!(more["action_id"], "td_list_more");
    assert_eq!(
        blocks
            .iter()
            .filter(|b| b["accessory"]["action_id"] == "td_follow")
            .count(),
        10
    );
    w.interact(BOB, json!({ "type": "block_actions", "container": { "type": "message", "is_ephemeral": true, "channel_id": "CGENERAL" },
        "response_url": w.fake.response_url(),
        "actions": [{ "action_id": "td_list_more", "value": more["value"], "block_id": "b", "action_ts": "1" }] })).await;
    let page2 = w
        .fake
        .calls_of("response_url")
        .pop()
        .expect("the next page replaces the list");
    assert_eq!(page2["replace_original"], true);
    let rows = page2["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["accessory"]["action_id"] == "td_follow")
        .count();
    assert_eq!(rows, 2);
    assert!(
        page2["blocks"].to_string().contains("Ticket 0"),
        "oldest activity last"
    );
    // a response_url anywhere else is never called.
    let before = w.fake.calls().len();
    w.interact(BOB, json!({ "type": "block_actions", "container": { "type": "message", "channel_id": "CGENERAL" },
        "response_url": "http://127.0.0.1:9/steal",
        "actions": [{ "action_id": "td_list_more", "value": more["value"], "block_id": "b", "action_ts": "1" }] })).await;
    assert_eq!(w.fake.calls().len(), before);
}

#[apply(backends)]
#[tokio::test]
async fn staff_set_a_status_from_the_card_and_customers_cannot(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let select = |user: &str| {
        json!({ "type": "block_actions", "container": { "type": "message", "channel_id": STAFF_CHANNEL, "message_ts": t.staff_ts },
            "actions": [{ "action_id": "td_set_status", "block_id": "card:1", "type": "static_select",
                "selected_option": { "value": "on_hold" }, "action_ts": "1" }], "user": user })
    };
    w.interact(EVE, select(EVE)).await;
    let bob = w.person(BOB).await;
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().status,
        Status::Open
    );
    w.interact(SAM, select(SAM)).await;
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().status,
        Status::OnHold
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_company_admin_follows_an_org_ticket_in_dm_and_replies_as_admin(#[case] kind: Kind) {
    let w = world(kind).await;
    w.open_ticket(BOB, "VPN", "down").await;
    let (sam, bob, carol) = (
        w.person(SAM).await,
        w.person(BOB).await,
        w.person(CAROL).await,
    );
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
    let refused = w.command(CAROL, "show #1001").await;
    assert!(
        refused["text"].as_str().unwrap().contains("can't find"),
        "{refused}"
    );
    w.h.engine
        .grant_company_admin(&Ctx::new(sam), carol)
        .await
        .unwrap();
    let ok = w.command(CAROL, "show #1001").await;
    assert!(ok["text"].as_str().unwrap().contains("#1001"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let card = w.fake.posts("DUCAROL", None).pop().expect("Carol's card");
    let ts = card.answer["ts"].as_str().unwrap().to_owned();
    assert!(w
        .fake
        .posts("DUCAROL", Some(&ts))
        .iter()
        .any(|c| c.args["text"].as_str().unwrap().contains("down")));
    w.say(CAROL, "DUCAROL", &ts, "Approved from our side").await;
    let thread = w.h.engine.thread(bob, TicketId(1)).await.unwrap();
    assert_eq!(thread.messages.last().unwrap().author_role, "company_admin");
    w.drain().await;
    let shown = w.fake.posts(STAFF_CHANNEL, None).pop().unwrap();
    let staff_ts = shown.answer["ts"].as_str().unwrap().to_owned();
    assert!(w
        .fake
        .posts(STAFF_CHANNEL, Some(&staff_ts))
        .iter()
        .any(|c| c.args["text"]
            .as_str()
            .unwrap()
            .contains("*Carol Chen* (company admin): Approved")));
}

#[apply(backends)]
#[tokio::test]
async fn a_declined_invitation_is_reported_to_the_requester(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    w.submit(
        BOB,
        "td_delegates",
        "1",
        json!({ "invitee": { "value": { "type": "users_select", "selected_user": CAROL } } }),
    )
    .await;
    w.drain().await;
    let invite = w.fake.posts("DUCAROL", None).pop().unwrap();
    let value = invite.args["blocks"][1]["elements"][1]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    w.click(CAROL, "DUCAROL", "td_decline", &value).await;
    w.drain().await;
    assert!(w
        .fake
        .posts(&t.dm, Some(&t.card_ts))
        .iter()
        .any(|c| c.args["text"]
            .as_str()
            .unwrap()
            .contains("Carol Chen declined")));
    assert!(w
        .fake
        .calls_of("chat.update")
        .iter()
        .any(|u| u["channel"] == "DUCAROL" && u["text"].as_str().unwrap().contains("declined")));
}

#[apply(backends)]
#[tokio::test]
async fn files_in_the_form_and_in_replies_become_attachments(#[case] kind: Kind) {
    let w = world(kind).await;
    let file = json!([{ "id": "F1", "name": "screenshot.png", "mimetype": "image/png", "size": 2048,
        "url_private": "https://files.slack.com/files-pri/T1-F1/screenshot.png" }]);
    let answer = w
        .submit(
            BOB,
            "td_new_ticket",
            "",
            json!({
                "subject": { "value": { "type": "plain_text_input", "value": "Broken" } },
                "message": { "value": { "type": "plain_text_input", "value": "see file" } },
                "attachments": { "value": { "type": "file_input", "files": file } },
            }),
        )
        .await;
    assert_eq!(answer["response_action"], "update", "{answer}");
    w.drain().await;
    let card = w.fake.posts("DUBOB", None).pop().unwrap();
    let ts = card.answer["ts"].as_str().unwrap().to_owned();
    w.event(json!({ "type": "message", "subtype": "file_share", "channel": "DUBOB", "user": BOB, "text": "another",
        "ts": "1800000000.7", "thread_ts": ts, "files": [{ "id": "F2", "name": "log.txt", "mimetype": "text/plain", "size": 10,
        "url_private": "https://files.slack.com/files-pri/T1-F2/log.txt" }] })).await;
    w.drain().await;
    let bob = w.person(BOB).await;
    let thread = w.h.engine.thread(bob, TicketId(1)).await.unwrap();
    assert_eq!(thread.messages[0].attachments[0].name, "screenshot.png");
    assert_eq!(thread.messages[1].attachments[0].name, "log.txt");
    let staff_copies = w.fake.posts(STAFF_CHANNEL, None);
    let staff_ts = staff_copies.last().unwrap().answer["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(w
        .fake
        .posts(STAFF_CHANNEL, Some(&staff_ts))
        .iter()
        .any(|c| c.args["blocks"].to_string().contains("log.txt")));
}

#[apply(backends)]
#[tokio::test]
async fn staff_claim_from_the_card_and_assign_by_command_and_the_card_shows_the_owner(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let claim = |user: &str| {
        json!({ "type": "block_actions", "container": { "type": "message", "channel_id": STAFF_CHANNEL, "message_ts": t.staff_ts },
            "actions": [{ "action_id": "td_claim", "block_id": "card:1", "type": "button", "value": "1", "action_ts": "1" }], "user": user })
    };
    let staff_card = |w: &World| {
        w.fake
            .calls_of("chat.update")
            .into_iter()
            .rfind(|a| a["ts"] == t.staff_ts.as_str())
            .map(|a| a["blocks"].to_string())
            .unwrap_or_default()
    };
    let bob = w.person(BOB).await;
    let sam = w.person(SAM).await;
    // a customer's click is refused and changes nothing.
    w.interact(EVE, claim(EVE)).await;
    w.drain().await;
    assert_eq!(
        w.h.engine.ticket(sam, TicketId(1)).await.unwrap().owner_id,
        None
    );
    w.interact(SAM, claim(SAM)).await;
    w.drain().await;
    assert_eq!(
        w.h.engine.ticket(sam, TicketId(1)).await.unwrap().owner_id,
        Some(sam)
    );
    let card = staff_card(&w);
    assert!(card.contains("*Owner*"), "{card}");
    assert!(
        card.contains("Sam"),
        "the owner's name on the staff card: {card}"
    );
    // customers' cards never show the owner.
    let dm_card = w
        .fake
        .calls_of("chat.update")
        .into_iter()
        .rfind(|a| a["ts"] == t.card_ts.as_str())
        .map(|a| a["blocks"].to_string())
        .unwrap_or_default();
    assert!(!dm_card.contains("Owner"), "{dm_card}");
    // by command: only staff can own a ticket; unassign; the queue filters.
    let refused = w.command(SAM, "assign #1001 <@UBOB>").await;
    assert!(
        refused.to_string().contains("not on the support team"),
        "{refused}"
    );
    let mine = w.command(SAM, "queue mine").await;
    assert!(mine.to_string().contains("VPN"), "{mine}");
    let done = w.command(SAM, "unassign #1001").await;
    assert!(done.to_string().contains("has no owner now"), "{done}");
    let open = w.command(SAM, "queue unassigned").await;
    assert!(open.to_string().contains("VPN"), "{open}");
    let mine = w.command(SAM, "queue mine").await;
    assert!(!mine.to_string().contains("VPN"), "{mine}");
    w.drain().await;
    assert!(staff_card(&w).contains("Unassigned"));
    let customer = w.command(BOB, "claim #1001").await;
    assert!(
        customer.to_string().contains("only support staff"),
        "{customer}"
    );
    assert_eq!(
        w.h.engine.ticket(bob, TicketId(1)).await.unwrap().owner_id,
        None
    );
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn the_owner_is_told_in_their_dms_of_each_customer_reply(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let told = |w: &World| {
        w.fake
            .posts(&format!("D{SAM}"), None)
            .iter()
            .filter(|c| {
                c.args["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("replied on your ticket")
            })
            .count()
    };
    // nobody owns it: nobody is told (the triage thread has the copy).
    w.say(BOB, &t.dm, &t.card_ts, "still down").await;
    w.drain().await;
    assert_eq!(told(&w), 0);
    let said = w.command(SAM, "claim #1001").await;
    assert!(said.to_string().contains("You now own"), "{said}");
    w.say(BOB, &t.dm, &t.card_ts, "and now the printer too")
        .await;
    w.drain().await;
    w.drain().await;
    assert_eq!(told(&w), 1, "once per reply, redelivery included");
    let dm = w.fake.posts(&format!("D{SAM}"), None);
    let line = dm.last().unwrap().args["text"].as_str().unwrap().to_owned();
    assert!(
        line.contains("#1001") && line.contains("and now the printer too"),
        "{line}"
    );
    // the owner's own messages and internal notes tell nobody.
    w.say(SAM, STAFF_CHANNEL, &t.staff_ts, "note: checking the switch")
        .await;
    w.say(SAM, STAFF_CHANNEL, &t.staff_ts, "On it").await;
    w.drain().await;
    assert_eq!(told(&w), 1);
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn a_ticket_moved_to_another_department_moves_its_triage_card_there(#[case] kind: Kind) {
    let w = world_with(kind, |config| {
        config.department_channels =
            threadesk_slack::config::parse_department_channels("Billing=CBILL").unwrap();
    })
    .await;
    w.fake.set_members("CBILL", &[SAM, "UBOT"]);
    let t = w.open_ticket(BOB, "Invoice", "charged twice").await;
    let sam = w.person(SAM).await;
    w.h.department(sam, "Billing").await;
    w.say(SAM, STAFF_CHANNEL, &t.staff_ts, "note: looks like billing")
        .await;
    let moved = w.command(SAM, "department #1001 Billing").await;
    assert!(moved.to_string().contains("is now in Billing"), "{moved}");
    w.drain().await;
    w.drain().await;
    // the old thread says where it went; the new card carries the history.
    let old = w.fake.posts(STAFF_CHANNEL, Some(&t.staff_ts));
    assert!(
        old.iter().any(|c| c.args["text"]
            .as_str()
            .unwrap()
            .contains("Moved to Billing")),
        "{old:?}"
    );
    // the card left behind points there, its buttons gone.
    let old_card = w
        .fake
        .calls_of("chat.update")
        .into_iter()
        .rfind(|a| a["ts"] == t.staff_ts.as_str())
        .map(|a| a["blocks"].to_string())
        .unwrap_or_default();
    assert!(
        old_card.contains("Moved to Billing: it goes on in that department"),
        "{old_card}"
    );
    assert!(!old_card.contains("td_claim"), "{old_card}");
    let cards = w.fake.posts("CBILL", None);
    assert_eq!(cards.len(), 1, "one new card");
    let new_ts = cards[0].answer["ts"].as_str().unwrap().to_owned();
    let history: Vec<String> = w
        .fake
        .posts("CBILL", Some(&new_ts))
        .iter()
        .map(|c| c.args["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        history.iter().any(|h| h.contains("charged twice")),
        "{history:?}"
    );
    assert!(
        history.iter().any(|h| h.contains("looks like billing")),
        "{history:?}"
    );
    // the conversation goes on in the new thread, both ways.
    w.say(SAM, "CBILL", &new_ts, "Refund is on its way").await;
    w.drain().await;
    let bob = w.person(BOB).await;
    let bodies: Vec<String> =
        w.h.engine
            .thread(bob, TicketId(1))
            .await
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.body)
            .collect();
    assert!(
        bodies.contains(&"Refund is on its way".to_owned()),
        "{bodies:?}"
    );
    w.say(BOB, &t.dm, &t.card_ts, "thanks!").await;
    w.drain().await;
    assert!(w
        .fake
        .posts("CBILL", Some(&new_ts))
        .iter()
        .any(|c| c.args["text"].as_str().unwrap().contains("thanks!")));
    // moving it again where it is says so; customers cannot move tickets.
    let again = w.command(SAM, "department #1001 Billing").await;
    assert!(again.to_string().contains("already there"), "{again}");
    let refused = w.command(BOB, "department #1001 none").await;
    assert!(
        refused.to_string().contains("only support staff"),
        "{refused}"
    );
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn search_by_command_finds_within_rights_pages_with_more_and_jumps_on_a_number(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    for i in 0..12 {
        w.open_ticket(
            BOB,
            &format!("Order {i}"),
            "Please refund the duplicate charge",
        )
        .await;
    }
    w.open_ticket(EVE, "Refund for Eve", "mine alone").await;
    w.drain().await;
    let first = w.command(BOB, "search refund").await;
    let text = first.to_string();
    assert_eq!(first["response_type"], "ephemeral");
    assert!(text.contains("Search · refund"), "{text}");
    assert!(
        text.contains("duplicate charge"),
        "where the words are: {text}"
    );
    assert!(!text.contains("Refund for Eve"), "{text}");
    assert_eq!(
        text.matches("*Order ").count() + text.matches("* Order ").count(),
        10,
        "{text}"
    );
    let more = first["blocks"]
        .as_array()
        .and_then(|b| {
            b.iter()
                .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
                .find(|e| e["action_id"] == "td_list_more")
        })
        .expect("a More button");
    let value = more["value"].as_str().unwrap().to_owned();
    assert!(value.starts_with("find:"), "{value}");
    w.click(BOB, "DBOB", "td_list_more", &value).await;
    let next = w
        .fake
        .calls_of("chat.postEphemeral")
        .into_iter()
        .last()
        .map(|a| a["blocks"].to_string())
        .unwrap_or_default();
    assert!(
        next.contains("Order 1") && next.contains("Order 0"),
        "{next}"
    );
    assert!(!next.contains("Order 11"), "{next}");
    // another customer's words are not found; staff find everyone's.
    let eve = w.command(EVE, "search duplicate").await.to_string();
    assert!(eve.contains("No tickets with those words."), "{eve}");
    let sam = w.command(SAM, "search refund eve").await.to_string();
    assert!(sam.contains("Refund for Eve"), "{sam}");
    // #N: the ticket itself when one may read it.
    let jump = w.command(BOB, "search #1001").await.to_string();
    assert!(jump.contains("sending you the card of #1001"), "{jump}");
    let other = w.command(EVE, "search #1001").await.to_string();
    assert!(other.contains("No tickets with those words."), "{other}");
    let usage = w.command(BOB, "search").await.to_string();
    assert!(usage.contains("Usage: `/ticket search <words>"), "{usage}");
    // filters: closed ones only; an unknown status or department is said.
    let closed = w.command(BOB, "close #1001").await.to_string();
    assert!(closed.contains("is closed"), "{closed}");
    let only_closed = w.command(BOB, "search refund is:closed").await.to_string();
    assert!(only_closed.contains("Order 0"), "{only_closed}");
    assert!(!only_closed.contains("Order 1"), "{only_closed}");
    let open = w
        .command(SAM, "search refund status:open owner:unassigned")
        .await
        .to_string();
    assert!(
        open.contains("Order 11") && !open.contains("Order 0\\n"),
        "{open}"
    );
    let bad = w
        .command(BOB, "search refund status:someday")
        .await
        .to_string();
    assert!(bad.contains("No such status"), "{bad}");
    let nowhere = w
        .command(SAM, "search refund dept:Nowhere")
        .await
        .to_string();
    assert!(nowhere.contains("No department by that name"), "{nowhere}");
    // whose, and when opened.
    let bobs = w
        .command(BOB, "search refund requester:me")
        .await
        .to_string();
    assert!(bobs.contains("Order 11"), "{bobs}");
    let sams = w
        .command(SAM, "search refund requester:me")
        .await
        .to_string();
    assert!(sams.contains("No tickets with those words."), "{sams}");
    let stranger = w
        .command(BOB, "search refund requester:nobody@example.com")
        .await
        .to_string();
    assert!(stranger.contains("Nobody you can search for"), "{stranger}");
    let not_address = w
        .command(BOB, "search refund requester:bob")
        .await
        .to_string();
    assert!(
        not_address.contains("takes an e-mail address"),
        "{not_address}"
    );
    let future = w
        .command(SAM, "search refund after:2999-01-01")
        .await
        .to_string();
    assert!(future.contains("No tickets with those words."), "{future}");
    let since = w
        .command(SAM, "search refund after:2000-01-01 before:2999-01-01")
        .await
        .to_string();
    assert!(since.contains("Order 11"), "{since}");
    let bad_day = w
        .command(SAM, "search refund before:yesterday")
        .await
        .to_string();
    assert!(bad_day.contains("takes a date"), "{bad_day}");
    let no_org = w
        .command(SAM, "search refund org:Nowhere")
        .await
        .to_string();
    assert!(no_org.contains("No organization by that name"), "{no_org}");
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn changes_are_lines_in_the_threads_and_assignment_only_on_the_staff_side(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let sam = w.person(SAM).await;
    let ctx = Ctx::new(sam);
    w.h.engine
        .set_status(&ctx, TicketId(1), Status::OnHold)
        .await
        .unwrap();
    w.h.engine.claim(&ctx, TicketId(1)).await.unwrap();
    w.h.engine
        .edit_subject(&ctx, TicketId(1), "VPN drops hourly")
        .await
        .unwrap();
    w.drain().await;
    // redelivered events post nothing twice.
    w.drain().await;
    let lines = |channel: &str, ts: &str| -> Vec<String> {
        w.fake
            .posts(channel, Some(ts))
            .iter()
            .filter_map(|c| c.args["text"].as_str().map(str::to_owned))
            .collect()
    };
    let staff = lines(STAFF_CHANNEL, &t.staff_ts);
    let customer = lines(&t.dm, &t.card_ts);
    let count = |all: &[String], text: &str| all.iter().filter(|l| l.as_str() == text).count();
    assert_eq!(
        count(&staff, "Sam Support set the status to On hold."),
        1,
        "{staff:?}"
    );
    assert_eq!(
        count(&staff, "Sam Support took the ticket."),
        1,
        "{staff:?}"
    );
    assert_eq!(
        count(
            &staff,
            "Sam Support changed the subject from “VPN” to “VPN drops hourly”."
        ),
        1,
        "{staff:?}"
    );
    assert_eq!(
        count(&customer, "Sam Support set the status to On hold."),
        1,
        "{customer:?}"
    );
    assert_eq!(
        count(
            &customer,
            "Sam Support changed the subject from “VPN” to “VPN drops hourly”."
        ),
        1
    );
    assert!(
        !customer.iter().any(|l| l.contains("took the ticket")),
        "who owns it is staff business: {customer:?}"
    );
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn staff_keep_saved_replies_and_answer_with_one_filled_in(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let kept = w
        .command(
            SAM,
            "saved add fixed = Hi {first_name}, {ticket} is fixed &amp; closed soon.",
        )
        .await
        .to_string();
    assert!(kept.contains("Saved reply \\\"fixed\\\" kept"), "{kept}");
    let listed = w.command(SAM, "saved").await.to_string();
    assert!(listed.contains("fixed"), "{listed}");
    let sent = w.command(SAM, "reply #1001 FIXED").await.to_string();
    assert!(sent.contains("sent on #1001"), "{sent}");
    w.drain().await;
    let bob_name =
        w.h.engine
            .person(w.person(BOB).await)
            .await
            .unwrap()
            .person
            .display_name;
    let first = bob_name.split_whitespace().next().unwrap().to_owned();
    let expected = format!("Hi {first}, #1001 is fixed &amp; closed soon.");
    assert!(
        w.fake
            .posts(&t.dm, Some(&t.card_ts))
            .iter()
            .any(|c| c.args.to_string().contains(&expected)),
        "the customer gets the reply, filled in: {expected}"
    );
    let unknown = w.command(SAM, "reply #1001 nope").await.to_string();
    assert!(unknown.contains("There is no saved reply"), "{unknown}");
    // customers can neither list, keep nor use them.
    let bob = w.command(BOB, "saved").await.to_string();
    assert!(bob.contains("Only support staff"), "{bob}");
    let bob_reply = w.command(BOB, "reply #1001 fixed").await.to_string();
    assert!(bob_reply.contains("staff can do that"), "{bob_reply}");
    let removed = w.command(SAM, "saved remove fixed").await.to_string();
    assert!(removed.contains("removed"), "{removed}");
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn the_saved_reply_shortcut_and_picker_send_the_chosen_reply(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    // none saved yet: the shortcut says how to save one.
    w.interact(SAM, json!({ "type": "message_action", "callback_id": "td_saved_reply", "channel": { "id": STAFF_CHANNEL },
        "message": { "ts": "1800000000.5", "thread_ts": t.staff_ts, "text": "x" } })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let told = w.fake.calls_of("chat.postEphemeral").pop().unwrap();
    assert!(
        told["text"].as_str().unwrap().contains("saved add"),
        "{told}"
    );
    for (name, text) in [
        ("fixed", "Hi {first_name}, {ticket} is fixed."),
        ("later", "We look at it tomorrow."),
    ] {
        let kept = w
            .command(SAM, &format!("saved add {name} = {text}"))
            .await
            .to_string();
        assert!(kept.contains("kept"), "{kept}");
    }
    // on a message in the staff thread: a modal listing them, filled in.
    w.interact(SAM, json!({ "type": "message_action", "callback_id": "td_saved_reply", "channel": { "id": STAFF_CHANNEL },
        "message": { "ts": "1800000000.6", "thread_ts": t.staff_ts, "text": "x" } })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let modal = w
        .fake
        .calls_of("views.open")
        .pop()
        .expect("the saved-reply modal");
    assert_eq!(modal["view"]["callback_id"], "td_saved");
    let options = modal["view"]["blocks"][1]["element"]["options"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(options.len(), 2, "{modal}");
    assert_eq!(options[0]["text"]["text"], "fixed");
    assert!(options[0]["description"]["text"]
        .as_str()
        .unwrap()
        .contains("#1001 is fixed"));
    let fixed = options[0]["value"].as_str().unwrap().to_owned();
    // nothing chosen: the modal says so and nothing is sent.
    let none = w.submit(SAM, "td_saved", "1", json!({})).await;
    assert!(
        none["errors"]["saved"].as_str().unwrap().contains("Choose"),
        "{none}"
    );
    let chosen = json!({ "saved": { "value": { "type": "static_select",
        "selected_option": { "text": { "type": "plain_text", "text": "fixed" }, "value": fixed } } } });
    w.submit(SAM, "td_saved", "1", chosen.clone()).await;
    w.drain().await;
    let sam = w.person(SAM).await;
    let sent = |thread: &threadesk_core::domain::Thread| {
        thread
            .messages
            .iter()
            .filter(|m| m.body.contains("is fixed."))
            .count()
    };
    assert_eq!(sent(&w.h.engine.thread(sam, TicketId(1)).await.unwrap()), 1);
    assert!(w
        .fake
        .posts(&t.dm, Some(&t.card_ts))
        .iter()
        .any(|c| c.args.to_string().contains("#1001 is fixed.")));
    // `/ticket reply #N` without a name opens the same picker.
    let before = w.fake.calls_of("views.open").len();
    w.command(SAM, "reply #1001").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let opened = w.fake.calls_of("views.open");
    assert_eq!(opened.len(), before + 1);
    assert_eq!(opened.last().unwrap()["view"]["callback_id"], "td_saved");
    // a customer on their own thread: staff only, and nothing opens.
    w.interact(BOB, json!({ "type": "message_action", "callback_id": "td_saved_reply", "channel": { "id": t.dm },
        "message": { "ts": "1800000000.7", "thread_ts": t.card_ts, "text": "x" } })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.fake.calls_of("views.open").len(), before + 1);
    let refused = w.fake.calls_of("chat.postEphemeral").pop().unwrap();
    assert!(
        refused["text"].as_str().unwrap().contains("staff"),
        "{refused}"
    );
    // the same submission of Bob's (forged with Sam's modal) is refused by core.
    let forged = w.submit(BOB, "td_saved", "1", chosen).await;
    assert!(forged["errors"]["saved"].is_string(), "{forged}");
    assert_eq!(sent(&w.h.engine.thread(sam, TicketId(1)).await.unwrap()), 1);
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}

#[apply(backends)]
#[tokio::test]
async fn the_queue_shows_ones_own_tickets_first(#[case] kind: Kind) {
    let w = world(kind).await;
    w.open_ticket(BOB, "Older printer", "jams").await;
    w.open_ticket(CAROL, "Newer scanner", "hums").await;
    let before = w.command(SAM, "queue").await.to_string();
    let at = |text: &str, what: &str| text.find(what).unwrap_or_else(|| panic!("{what}: {text}"));
    assert!(
        at(&before, "Newer scanner") < at(&before, "Older printer"),
        "newest first: {before}"
    );
    let claimed = w.command(SAM, "claim #1001").await.to_string();
    assert!(claimed.contains("You now own"), "{claimed}");
    let after = w.command(SAM, "queue").await.to_string();
    assert!(after.contains("yours first"), "{after}");
    assert!(
        at(&after, "Older printer") < at(&after, "Newer scanner"),
        "theirs first: {after}"
    );
    assert_eq!(after.matches("Older printer").count(), 1, "once: {after}");
}

#[apply(backends)]
#[tokio::test]
async fn a_public_staff_channel_is_found_at_start_up(#[case] kind: Kind) {
    let w = world(kind).await;
    assert!(
        w.slack.public_staff_channels().await.is_empty(),
        "private by default"
    );
    w.fake.set_public(STAFF_CHANNEL);
    assert_eq!(
        w.slack.public_staff_channels().await,
        vec![STAFF_CHANNEL.to_owned()]
    );
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}
