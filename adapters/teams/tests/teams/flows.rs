//! The ticket lifecycle from Teams, as customers and staff live it.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use threadesk_core::domain::Status;

#[apply(backends)]
#[tokio::test]
async fn a_customer_opens_a_ticket_in_a_dialog_and_talks_with_staff_in_its_thread(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let e = w.h.engine.clone();
    w.h.department(w.h.staff("Root").await, "Billing").await;
    // the New ticket button asks for the dialog: subject, department, message.
    let form = w
        .send(&w.make.task_fetch(&ann(), json!({ "dialog": "new" })))
        .await;
    assert_eq!(form["task"]["type"], "continue", "{form}");
    let card = form["task"]["value"]["card"]["content"].to_string();
    for field in ["\"subject\"", "\"department\"", "\"message\"", "Billing"] {
        assert!(card.contains(field), "{field} in {card}");
    }
    let t = w
        .open_ticket(&ann(), "Printer on fire", "Smoke everywhere")
        .await;
    let chat = FakeTeams::chat_of(&ann().id);
    let staff_card = &w.fake.in_conversation(&t.thread)[0];
    assert!(
        staff_card.text().contains("Set status"),
        "staff cards carry status controls"
    );
    assert!(w
        .texts(&chat)
        .iter()
        .any(|x| x.contains(&t.number) && x.contains("is open")));

    // Sam answers in the ticket's thread in the triage channel.
    w.send(&w.make.in_thread(&sam(), &t.thread, "Unplug it, please"))
        .await;
    w.settle().await;
    assert!(
        w.h.engine
            .person(w.person(&sam()).await)
            .await
            .unwrap()
            .person
            .is_staff,
        "working from the triage channel makes Sam staff"
    );
    assert!(
        w.texts(&chat)
            .iter()
            .any(|x| x.contains("Unplug it, please") && x.contains(&t.number)),
        "the reply reaches Ann's chat, naming its ticket"
    );

    // Ann answers in her 1:1 chat: her only open ticket gets it.
    w.send(&w.make.personal(&ann(), "Unplugged, the smoke stopped"))
        .await;
    w.settle().await;
    assert!(w
        .texts(&t.thread)
        .iter()
        .any(|x| x.contains("Unplugged, the smoke stopped")));

    // a staff note stays on the staff side.
    w.send(
        &w.make
            .in_thread(&sam(), &t.thread, "note: replace the fuser"),
    )
    .await;
    w.settle().await;
    let thread = e.thread(w.person(&sam()).await, t.id).await.unwrap();
    let note = thread
        .messages
        .iter()
        .find(|m| m.body == "replace the fuser")
        .expect("the note");
    assert!(note.internal);
    assert!(!w
        .texts(&chat)
        .iter()
        .any(|x| x.contains("replace the fuser")));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn with_two_tickets_open_a_message_goes_where_it_points_or_the_bot_asks_which(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let first = w.open_ticket(&ann(), "VPN drops", "Every hour").await;
    let second = w.open_ticket(&ann(), "Laptop slow", "Since Monday").await;
    let chat = FakeTeams::chat_of(&ann().id);
    let ann_id = w.person(&ann()).await;
    let bodies = |t| {
        let e = w.h.engine.clone();
        async move {
            e.thread(ann_id, t)
                .await
                .unwrap()
                .messages
                .into_iter()
                .map(|m| m.body)
                .collect::<Vec<_>>()
        }
    };

    // a reply to the first ticket's card goes to the first ticket.
    w.send(
        &w.make
            .personal_reply(&ann(), "It dropped at noon", &first.card),
    )
    .await;
    assert!(bodies(first.id)
        .await
        .contains(&"It dropped at noon".to_owned()));

    // no pointer: the bot asks, keeping the text, and files it nowhere yet.
    w.send(&w.make.personal(&ann(), "Any news?")).await;
    let question = w
        .fake
        .in_conversation(&chat)
        .into_iter()
        .rev()
        .find(|p| p.text().contains("Which one is this for"))
        .expect("the bot asks which ticket");
    assert!(question.text().contains("VPN drops") && question.text().contains("Laptop slow"));
    assert!(!bodies(first.id).await.contains(&"Any news?".to_owned()));
    assert!(!bodies(second.id).await.contains(&"Any news?".to_owned()));
    // the person picks the second: it gets the text kept in the card.
    let route = question.activity["attachments"][0]["content"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap_or_default()
                .contains("Laptop slow")
        })
        .cloned()
        .expect("a button for the second ticket");
    let answer = w
        .send(
            &w.make
                .card_action(&ann(), &chat, &question.id, "route", route["data"].clone()),
        )
        .await;
    assert!(
        answer["value"].to_string().contains("Added to ticket"),
        "{answer}"
    );
    assert!(bodies(second.id).await.contains(&"Any news?".to_owned()));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn close_asks_first_then_closes_and_status_is_set_from_the_staff_card(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "Monitor flickers", "Left one").await;
    let chat = FakeTeams::chat_of(&ann().id);
    let root = t.thread.split(";messageid=").nth(1).unwrap().to_owned();
    // staff set a status from the card in the thread.
    w.send(&w.make.in_thread(&sam(), &t.thread, "Looking at it"))
        .await;
    let set = w
        .press(
            &sam(),
            &t.thread,
            &root,
            "status",
            json!({ "ticket": t.id.0, "status": "on_hold" }),
        )
        .await;
    assert!(set["value"].to_string().contains("On hold"), "{set}");
    let sam_id = w.person(&sam()).await;
    assert_eq!(
        w.h.engine.ticket(sam_id, t.id).await.unwrap().status,
        Status::OnHold
    );

    let ask = w
        .send(
            &w.make
                .card_action(&ann(), &chat, &t.card, "close", json!({ "ticket": t.id.0 })),
        )
        .await;
    assert!(ask["value"].to_string().contains("Yes, close it"), "{ask}");
    let ann_id = w.person(&ann()).await;
    assert_ne!(
        w.h.engine.ticket(ann_id, t.id).await.unwrap().status,
        Status::Closed
    );
    let done = w
        .press(
            &ann(),
            &chat,
            &t.card,
            "close-yes",
            json!({ "ticket": t.id.0 }),
        )
        .await;
    assert!(
        done["value"].to_string().contains("This ticket is closed"),
        "{done}"
    );
    assert_eq!(
        w.h.engine.ticket(ann_id, t.id).await.unwrap().status,
        Status::Closed
    );
    w.settle().await;
    let staff_card = w.fake.posted().into_iter().find(|p| p.id == root).unwrap();
    assert!(
        staff_card.text().contains("This ticket is closed"),
        "the staff card is redrawn"
    );
    // a message after closing is given back, not lost.
    w.send(&w.make.personal_reply(&ann(), "One more thing", &t.card))
        .await;
    assert!(w
        .texts(&chat)
        .iter()
        .any(|x| x.contains("is closed") && x.contains("One more thing")));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn dialogs_keep_what_was_typed_and_a_message_can_become_a_ticket(#[case] kind: Kind) {
    let w = world(kind).await;
    let refused = w
        .send(&w.make.task_submit(
            &ann(),
            json!({ "dialog": "new", "subject": "", "message": "My long story" }),
        ))
        .await;
    assert_eq!(
        refused["task"]["type"], "continue",
        "the form again: {refused}"
    );
    let card = refused["task"]["value"]["card"]["content"].to_string();
    assert!(
        card.contains("My long story") && card.contains("Attention"),
        "{card}"
    );
    assert_eq!(w.tickets_of(&ann()).await, 0);

    let form = w
        .send(
            &w.make
                .create_from_message(&ann(), "<p>The <b>VPN</b> drops every hour</p>"),
        )
        .await;
    let card = form["task"]["value"]["card"]["content"].to_string();
    assert!(card.contains("The VPN drops every hour"), "{card}");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn commands_in_the_chat_and_staff_commands_in_the_channel(#[case] kind: Kind) {
    let w = world(kind).await;
    w.open_ticket(&ann(), "Wi-Fi", "No signal in room 4").await;
    let chat = FakeTeams::chat_of(&ann().id);
    w.send(&w.make.personal(&ann(), "help")).await;
    assert!(w
        .texts(&chat)
        .iter()
        .any(|x| x.contains("Threadesk help") && x.contains("Close")));
    w.send(&w.make.personal(&ann(), "list")).await;
    assert!(w
        .texts(&chat)
        .iter()
        .any(|x| x.contains("My tickets") && x.contains("Wi-Fi")));
    // a stranger's command from the menu opens nothing.
    w.send(&w.make.personal(&bo(), "new")).await;
    assert_eq!(w.tickets_of(&bo()).await, 0);
    assert!(w
        .texts(&FakeTeams::chat_of(&bo().id))
        .iter()
        .any(|x| x.contains("New ticket")));
    // staff @mention the bot in the triage channel.
    w.send(&w.make.staff_post(&sam(), "queue")).await;
    assert!(w
        .texts(STAFF_CHANNEL)
        .iter()
        .any(|x| x.contains("Queue") && x.contains("Wi-Fi")));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn an_edit_edits_the_ticket_and_its_copies(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "Mail", "Outlook crashes").await;
    let said = w.make.personal(&ann(), "It crashes on start");
    w.send(&said).await;
    w.settle().await;
    w.send(&w.make.edited(&said, "It crashes when I open the calendar"))
        .await;
    w.settle().await;
    let ann_id = w.person(&ann()).await;
    let bodies: Vec<String> =
        w.h.engine
            .thread(ann_id, t.id)
            .await
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.body)
            .collect();
    assert!(
        bodies.contains(&"It crashes when I open the calendar".to_owned()),
        "{bodies:?}"
    );
    let copies = w.texts(&t.thread);
    assert!(
        copies
            .iter()
            .any(|x| x.contains("It crashes when I open the calendar")),
        "{copies:?}"
    );
    assert!(!copies.iter().any(|x| x.contains("It crashes on start")));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_staff_member_who_leaves_the_team_is_staff_no_longer(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "Keyboard", "Sticky keys").await;
    w.send(&w.make.in_thread(&sam(), &t.thread, "On it")).await;
    let sam_id = w.person(&sam()).await;
    assert!(w.h.engine.person(sam_id).await.unwrap().person.is_staff);
    w.send(&w.make.left_team(&sam(), &bo())).await;
    assert!(!w.h.engine.person(sam_id).await.unwrap().person.is_staff);
}

#[apply(backends)]
#[tokio::test]
async fn delegates_are_invited_by_address_and_accept_in_their_chat_or_the_inviter_is_told(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "Shared drive", "Access denied").await;
    let chat = FakeTeams::chat_of(&ann().id);
    // Bo and Cy are known on Teams and by e-mail; Cy has not installed the app.
    let cy = User::new(4, "Cy Colleague");
    for (who, mail) in [(bo(), "bo@acme.test"), (cy.clone(), "cy@acme.test")] {
        w.known_by_mail(&who, mail).await;
    }
    w.fake.not_installed(&cy.id);
    let panel = w
        .press(
            &ann(),
            &chat,
            &t.card,
            "delegates",
            json!({ "ticket": t.id.0 }),
        )
        .await;
    assert!(
        panel["value"].to_string().contains("Nobody else follows"),
        "{panel}"
    );
    for mail in ["bo@acme.test", "cy@acme.test"] {
        let invited = w
            .press(
                &ann(),
                &chat,
                &t.card,
                "invite",
                json!({ "ticket": t.id.0, "email": mail }),
            )
            .await;
        assert!(
            invited["value"].to_string().contains("Invited"),
            "{invited}"
        );
    }
    w.settle().await;
    // Bo gets Accept / Decline in his chat and accepts.
    let bo_chat = FakeTeams::chat_of(&bo().id);
    let invitation = w
        .fake
        .in_conversation(&bo_chat)
        .into_iter()
        .find(|p| p.text().contains("invited you to follow"))
        .expect("an invitation card");
    let accept = invitation.activity["attachments"][0]["content"]["actions"][0].clone();
    assert_eq!(accept["title"], "Accept");
    w.press(
        &bo(),
        &bo_chat,
        &invitation.id,
        "accept",
        accept["data"].clone(),
    )
    .await;
    w.settle().await;
    assert!(
        w.fake
            .in_conversation(&bo_chat)
            .iter()
            .any(|p| p.text().contains("Shared drive")
                && p.text().contains("AdaptiveCard")
                && p.text().contains("Close")),
        "Bo follows the ticket on a card of his own"
    );
    // Cy could not be reached: Ann is told on her card's chat.
    assert!(w
        .texts(&chat)
        .iter()
        .any(|x| x.contains("could not send Cy Colleague the invitation")));
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn files_sent_in_the_chat_become_attachments_in_the_blob_store(#[case] kind: Kind) {
    let w = world(kind).await;
    let dir = tempfile::tempdir().unwrap();
    let store = threadesk_core::blobs::BlobStore::open(dir.path()).unwrap();
    w.teams.keep_files_in(store.clone());
    let t = w.open_ticket(&ann(), "Invoice wrong", "See attached").await;
    let url = format!("{}/files/invoice.pdf", w.fake.base);
    w.send(&w.make.personal_file(&ann(), "", "invoice.pdf", &url))
        .await;
    let missing = format!("{}/files/missing.png", w.fake.base);
    w.send(
        &w.make
            .personal_file(&ann(), "and a photo", "missing.png", &missing),
    )
    .await;
    let ann_id = w.person(&ann()).await;
    let thread = w.h.engine.thread(ann_id, t.id).await.unwrap();
    let sent = thread
        .messages
        .iter()
        .find(|m| m.attachments.iter().any(|a| a.name == "invoice.pdf"))
        .expect("the file is on the ticket");
    let link = &sent.attachments[0].url;
    assert!(link.starts_with("blob:"), "{link}");
    let kept = std::fs::read(store.path_of(link).unwrap()).unwrap();
    assert_eq!(kept, b"the bytes of invoice.pdf");
    // a file that cannot be fetched is said so; the text still arrives.
    assert!(thread.messages.iter().any(|m| m.body == "and a photo"));
    assert!(w
        .texts(&FakeTeams::chat_of(&ann().id))
        .iter()
        .any(|x| x.contains("could not fetch missing.png")));
}

#[apply(backends)]
#[tokio::test]
async fn installing_the_app_greets_with_the_new_ticket_button(#[case] kind: Kind) {
    let w = world(kind).await;
    w.send(&w.make.installed(&ann())).await;
    let welcome = w.texts(&FakeTeams::chat_of(&ann().id));
    assert!(
        welcome
            .iter()
            .any(|x| x.contains("Threadesk help") && x.contains("New ticket")),
        "{welcome:?}"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn subject_edits_revokes_declines_organization_lists_and_no_pings(#[case] kind: Kind) {
    let w = world(kind).await;
    let root = w.h.staff("Root").await;
    let e = w.h.engine.clone();
    let t = w
        .open_ticket(&ann(), "Old subject", "Ping <at>everyone</at> @here")
        .await;
    let chat = FakeTeams::chat_of(&ann().id);
    // Edit subject: the dialog shows the subject, a submit changes it.
    let form = w
        .send(
            &w.make
                .task_fetch(&ann(), json!({ "dialog": "subject", "ticket": t.id.0 })),
        )
        .await;
    assert!(form["task"]["value"]["card"]["content"]
        .to_string()
        .contains("Old subject"));
    let refused = w
        .send(&w.make.task_submit(
            &ann(),
            json!({ "dialog": "subject", "ticket": t.id.0, "subject": "  " }),
        ))
        .await;
    assert_eq!(refused["task"]["type"], "continue", "{refused}");
    let done = w
        .send(&w.make.task_submit(
            &ann(),
            json!({ "dialog": "subject", "ticket": t.id.0, "subject": "New subject" }),
        ))
        .await;
    assert!(
        done["task"]["value"].as_str().unwrap().contains("changed"),
        "{done}"
    );
    let ann_id = w.person(&ann()).await;
    assert_eq!(e.ticket(ann_id, t.id).await.unwrap().subject, "New subject");

    // two invitations: one declined, one revoked from the panel.
    for (who, mail) in [(bo(), "bo@acme.test"), (User::new(5, "Di"), "di@acme.test")] {
        w.known_by_mail(&who, mail).await;
        w.press(
            &ann(),
            &chat,
            &t.card,
            "invite",
            json!({ "ticket": t.id.0, "email": mail }),
        )
        .await;
    }
    w.settle().await;
    let bo_chat = FakeTeams::chat_of(&bo().id);
    let invitation = w
        .fake
        .in_conversation(&bo_chat)
        .into_iter()
        .find(|p| p.text().contains("invited you to follow"))
        .unwrap();
    let decline = invitation.activity["attachments"][0]["content"]["actions"][1].clone();
    let answer = w
        .press(
            &bo(),
            &bo_chat,
            &invitation.id,
            "decline",
            decline["data"].clone(),
        )
        .await;
    assert!(answer["value"].to_string().contains("declined"), "{answer}");
    let delegates = e.delegates(ann_id, t.id).await.unwrap();
    let di = delegates
        .iter()
        .find(|d| d.status.is_revocable() && d.display_name() != "Bo Colleague")
        .unwrap();
    let panel = w
        .press(
            &ann(),
            &chat,
            &t.card,
            "revoke",
            json!({ "delegate": di.id.0, "ticket": t.id.0 }),
        )
        .await;
    assert!(
        panel["value"].to_string().contains("Access revoked"),
        "{panel}"
    );
    let after = e.delegates(ann_id, t.id).await.unwrap();
    assert!(after.iter().all(|d| !d.status.is_revocable()), "{after:?}");

    // a company admin lists the organization's tickets.
    let acme = w.h.org(root, "Acme").await;
    let ca = User::new(6, "Cara Admin");
    w.send(&w.make.personal(&ca, "help")).await;
    let ca_id = w.person(&ca).await;
    for p in [ann_id, ca_id] {
        e.set_organization(&threadesk_core::Ctx::new(root), p, Some(acme))
            .await
            .unwrap();
    }
    e.grant_company_admin(&threadesk_core::Ctx::new(root), ca_id)
        .await
        .unwrap();
    w.send(&w.make.personal(&ca, "list org")).await;
    assert!(w
        .texts(&FakeTeams::chat_of(&ca.id))
        .iter()
        .any(|x| x.contains("Owned by organization") && x.contains("New subject")));

    // nothing the bot posted can ping: no mention entities, ever.
    w.settle().await;
    for p in w.fake.posted() {
        assert!(p.activity.get("entities").is_none(), "{:?}", p.activity);
    }
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn staff_choose_a_saved_reply_from_a_card(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&ann(), "Wi-Fi", "No signal in room 4").await;
    w.send(&w.make.staff_post(
        &sam(),
        "saved add fixed = Hi {first_name}, {ticket} is fixed.",
    ))
    .await;
    w.send(&w.make.staff_post(&sam(), &format!("reply {}", t.number)))
        .await;
    let picker = w
        .fake
        .in_conversation(STAFF_CHANNEL)
        .into_iter()
        .rev()
        .find(|p| p.text().contains("Saved reply on"))
        .expect("the picker card");
    let card = picker.activity["attachments"][0]["content"].clone();
    assert!(threadesk_teams::testing::card_problems(&card).is_empty());
    let choices = card["body"][2]["choices"].as_array().unwrap().clone();
    assert!(
        choices[0]["title"].as_str().unwrap().contains("is fixed."),
        "{card}"
    );
    let reply = choices[0]["value"].clone();
    let root = picker.id.clone();
    let sent = w
        .press(
            &sam(),
            STAFF_CHANNEL,
            &root,
            "saved",
            json!({ "ticket": t.id.0, "reply": reply }),
        )
        .await;
    assert!(sent["value"].to_string().contains("sent on"), "{sent}");
    w.settle().await;
    let ann_id = w.person(&ann()).await;
    let thread = w.h.engine.thread(ann_id, t.id).await.unwrap();
    assert_eq!(
        thread
            .messages
            .iter()
            .filter(|m| m.body.contains("is fixed."))
            .count(),
        1
    );
    // nothing chosen: said, nothing sent; a customer's press: staff only.
    let empty = w
        .press(
            &sam(),
            STAFF_CHANNEL,
            &root,
            "saved",
            json!({ "ticket": t.id.0 }),
        )
        .await;
    assert!(
        empty["value"].to_string().contains("Choose a saved reply"),
        "{empty}"
    );
    let chat = FakeTeams::chat_of(&ann().id);
    let ann_try = w
        .press(
            &ann(),
            &chat,
            &t.card,
            "saved",
            json!({ "ticket": t.id.0, "reply": reply }),
        )
        .await;
    assert!(
        !ann_try["value"].to_string().contains("sent on"),
        "{ann_try}"
    );
    let thread = w.h.engine.thread(ann_id, t.id).await.unwrap();
    assert_eq!(
        thread
            .messages
            .iter()
            .filter(|m| m.body.contains("is fixed."))
            .count(),
        1
    );
    w.no_violations();
}

/// A message that could not be taken in for a reason on our side (the
/// database out of reach) is answered `503`, so that the channel delivers
/// it again, and never `200` as though it were kept.
#[apply(backends)]
#[tokio::test]
async fn a_message_not_taken_in_for_our_sake_is_refused_for_redelivery(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w
        .open_ticket(&ann(), "VPN down", "since this morning")
        .await;
    let activity = w.make.in_thread(&sam(), &t.thread, "Rebooting it now.");
    w.h.engine.db().pool().close().await;
    let token = w.fake.sign(KEY_ID, &activity, json!({}));
    let (status, answer) = w
        .post_raw(&activity.to_string(), Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(
        status,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "{answer}"
    );
}
