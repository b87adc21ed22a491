//! The ticket lifecycle from Discord, as customers and staff live it.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;

#[apply(backends)]
#[tokio::test]
async fn connecting_registers_ticket_with_the_departments(#[case] kind: Kind) {
    let w = world(kind).await;
    let puts = w.fake.calls_to("PUT", "/applications/*/guilds/*/commands");
    assert_eq!(puts.len(), 1);
    let cmd = &puts[0].body[0];
    assert_eq!(cmd["name"], "ticket");
    let subs: Vec<&str> = cmd["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        subs,
        [
            "open",
            "list",
            "show",
            "close",
            "rate",
            "search",
            "help",
            "queue",
            "claim",
            "reply",
            "saved",
            "assign",
            "move",
            "status",
            "autoclose",
            "note",
            "admin",
            "staff",
            "org",
            "department",
            "link"
        ]
    );
    let sam = w.h.staff("Sam").await;
    w.h.department(sam, "Billing").await;
    // a department made anywhere (here: the engine, as the portal does)
    // reaches the choices through the outbox.
    w.settle().await;
    let puts = w.fake.calls_to("PUT", "/applications/*/guilds/*/commands");
    assert_eq!(
        puts[1].body[0]["options"][0]["options"][0]["choices"][0]["name"],
        "Billing"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_ticket_opened_with_the_modal_gets_a_private_thread_a_card_and_a_triage_card(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let t = w
        .open_ticket(&bob(), "VPN down", "It drops every hour")
        .await;
    let thread = w.fake.channel(&t.thread).expect("a private thread");
    assert_eq!(thread.kind, 12, "private");
    assert_eq!(thread.name, format!("{} VPN down", t.number));
    assert!(thread.members.contains(&bob().id), "the requester is in it");
    let posted = w.fake.messages_in(&t.thread);
    let card = &posted[0];
    assert_eq!(card["embeds"][0]["title"], format!("{} VPN down", t.number));
    let buttons: Vec<&str> = card["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["Close", "Delegates", "Edit subject"]);
    assert_eq!(
        w.contents(&t.thread)[1],
        "**Bob Builder** (requester): It drops every hour"
    );

    let triage = w.fake.messages_in(&STAFF_CHANNEL.to_string());
    assert_eq!(
        triage[0]["embeds"][0]["title"],
        format!("{} VPN down", t.number)
    );
    assert_eq!(
        triage[0]["id"],
        t.triage.as_str(),
        "the triage thread hangs off the card"
    );
    assert_eq!(
        w.contents(&t.triage),
        ["**Bob Builder** (requester): It drops every hour"]
    );
    for body in w
        .fake
        .calls_to("POST", "/channels/*/messages")
        .iter()
        .map(|c| &c.body)
    {
        assert_eq!(
            body["allowed_mentions"],
            json!({ "parse": [] }),
            "nothing the bot posts pings"
        );
    }
    // handing the same events out again posts nothing new.
    let before = w.fake.calls().len();
    w.settle().await;
    assert_eq!(w.fake.calls().len(), before);
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn the_same_interaction_delivered_twice_opens_one_ticket(#[case] kind: Kind) {
    let w = world(kind).await;
    let submit = interaction::modal(
        &bob(),
        &SUPPORT_CHANNEL.to_string(),
        "open:0",
        &[("subject", "Twice"), ("message", "Once please")],
    );
    let a = w.interact(&submit).await;
    let b = w.interact(&submit).await;
    assert_eq!(a, b, "the same answer");
    w.settle().await;
    assert_eq!(w.fake.threads_in(SUPPORT_CHANNEL).len(), 1);
    assert_eq!(w.tickets_of(&bob()).await, 1, "one ticket");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn invalid_input_is_explained_and_given_back(#[case] kind: Kind) {
    let w = world(kind).await;
    let unknown = w
        .interact(&interaction::command(
            &bob(),
            &SUPPORT_CHANNEL.to_string(),
            "open",
            json!([{ "type": 3, "name": "department", "value": "Astrology" }]),
        ))
        .await;
    assert_eq!(unknown["type"], 4);
    assert!(unknown["data"]["content"]
        .as_str()
        .unwrap()
        .contains("no department \"Astrology\""));
    let blank = w
        .interact(&interaction::modal(
            &bob(),
            &SUPPORT_CHANNEL.to_string(),
            "open:0",
            &[
                ("subject", "   "),
                ("message", "My long story about the printer"),
            ],
        ))
        .await;
    let text = blank["data"]["content"].as_str().unwrap();
    assert!(text.contains("My long story about the printer"), "{text}");
    assert_eq!(blank["data"]["flags"], 64);
    assert_eq!(w.tickets_of(&bob()).await, 0, "nothing opened");
    // Try again opens the modal with what was typed.
    let retry = blank["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap();
    let modal = w
        .interact(&interaction::component(
            &bob(),
            &SUPPORT_CHANNEL.to_string(),
            retry,
            2,
            None,
        ))
        .await;
    assert_eq!(modal["type"], 9);
    assert_eq!(
        modal["data"]["components"][1]["components"][0]["value"],
        "My long story about the printer"
    );
}

#[apply(backends)]
#[tokio::test]
async fn lists_staff_commands_and_subject_edits(#[case] kind: Kind) {
    let w = world(kind).await;
    let mut last = None;
    for i in 0..12 {
        last = Some(
            w.open_ticket(&bob(), &format!("Question {i}"), "body")
                .await,
        );
    }
    let t = last.unwrap();
    let channel = SUPPORT_CHANNEL.to_string();
    let list = w
        .interact(&interaction::command(&bob(), &channel, "list", json!([])))
        .await;
    let text = list["data"]["content"].as_str().unwrap();
    assert_eq!(text.lines().count(), 11, "a title and 10 tickets: {text}");
    let more = list["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap();
    assert!(more.starts_with("list:mine:active:"), "a cursor: {more}");
    // a ticket opened meanwhile goes to the top: the next page, read from
    // its cursor, neither repeats nor skips a ticket.
    w.open_ticket(&bob(), "Question late", "body").await;
    let page2 = w
        .interact(&interaction::component(&bob(), &channel, more, 2, None))
        .await;
    assert_eq!(page2["type"], 7, "the list is replaced");
    let page2 = page2["data"]["content"].as_str().unwrap();
    assert_eq!(page2.lines().count(), 3, "{page2}");
    assert!(
        page2.contains("Question 1*") && page2.contains("Question 0*"),
        "{page2}"
    );
    let none = w
        .interact(&interaction::command(
            &eve(),
            &channel,
            "list",
            json!([{ "type": 3, "name": "scope", "value": "org" }]),
        ))
        .await;
    assert!(
        none["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Only company ticket admins"),
        "{none}"
    );

    // staff commands are for staff.
    let number = t.number.trim_start_matches('#').parse::<i64>().unwrap();
    let set = json!([{ "type": 4, "name": "number", "value": number }, { "type": 3, "name": "status", "value": "on_hold" }]);
    let refused = w
        .interact(&interaction::command(
            &bob(),
            &channel,
            "status",
            set.clone(),
        ))
        .await;
    assert!(
        refused["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not allowed"),
        "{refused}"
    );
    let done = w
        .interact(&interaction::command(&sam(), &channel, "status", set))
        .await;
    assert!(
        done["data"]["content"]
            .as_str()
            .unwrap()
            .contains("On hold"),
        "{done}"
    );
    let note = json!([{ "type": 4, "name": "number", "value": number }, { "type": 3, "name": "text", "value": "VIP customer" }]);
    w.interact(&interaction::command(&sam(), &channel, "note", note))
        .await;
    let queue = w
        .interact(&interaction::command(&sam(), &channel, "queue", json!([])))
        .await;
    assert!(
        queue["data"]["content"]
            .as_str()
            .unwrap()
            .contains("Question 11"),
        "{queue}"
    );
    w.settle().await;
    assert!(
        w.contents(&t.triage)
            .iter()
            .any(|c| c.contains("VIP customer")),
        "the note reaches the triage thread"
    );
    assert!(
        !w.contents(&t.thread)
            .iter()
            .any(|c| c.contains("VIP customer")),
        "and never the customer's"
    );
    let card = &w.fake.messages_in(&t.thread)[0];
    assert_eq!(
        card["embeds"][0]["fields"][0]["value"], "On hold",
        "the card is redrawn"
    );

    // Edit subject: a modal with the subject, then the thread is renamed.
    let modal = w
        .interact(&interaction::component(
            &bob(),
            &t.thread,
            &format!("subject:{}", t.id.0),
            2,
            None,
        ))
        .await;
    assert_eq!(
        modal["data"]["components"][0]["components"][0]["value"],
        "Question 11"
    );
    w.interact(&interaction::modal(
        &bob(),
        &t.thread,
        &format!("subject:{}", t.id.0),
        &[("subject", "Printer question")],
    ))
    .await;
    w.settle().await;
    assert_eq!(
        w.fake.channel(&t.thread).unwrap().name,
        format!("{} Printer question", t.number)
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn staff_manage_people_and_departments_from_discord(#[case] kind: Kind) {
    let w = world(kind).await;
    let channel = SUPPORT_CHANNEL.to_string();
    let say = |v: &serde_json::Value| v["data"]["content"].as_str().unwrap().to_owned();
    let t = w.open_ticket(&carol(), "Carol's", "hers").await;

    // customers cannot.
    let refused = w
        .interact(&interaction::command_on(
            &bob(),
            &channel,
            "staff",
            &eve(),
            json!([{ "type": 3, "name": "action", "value": "add" }]),
        ))
        .await;
    assert!(!say(&refused).contains("is now staff"), "{refused}");

    let org = w
        .interact(&interaction::command_on(
            &sam(),
            &channel,
            "org",
            &bob(),
            json!([{ "type": 3, "name": "name", "value": "Acme" }]),
        ))
        .await;
    assert_eq!(say(&org), "Bob Builder is now in Acme.");
    w.interact(&interaction::command_on(
        &sam(),
        &channel,
        "org",
        &carol(),
        json!([{ "type": 3, "name": "name", "value": "Acme" }]),
    ))
    .await;
    let admin = w
        .interact(&interaction::command_on(
            &sam(),
            &channel,
            "admin",
            &bob(),
            json!([{ "type": 3, "name": "action", "value": "grant" }]),
        ))
        .await;
    assert_eq!(say(&admin), "Bob Builder is now a company ticket admin.");
    let list = w
        .interact(&interaction::command(
            &bob(),
            &channel,
            "list",
            json!([{ "type": 3, "name": "scope", "value": "org" }]),
        ))
        .await;
    assert!(
        say(&list).contains("Carol's"),
        "the company admin sees Carol's ticket: {list}"
    );
    // following it brings Bob into Carol's thread.
    let number = t.number.trim_start_matches('#').parse::<i64>().unwrap();
    w.interact(&interaction::command(
        &bob(),
        &channel,
        "show",
        json!([{ "type": 4, "name": "number", "value": number }]),
    ))
    .await;
    assert!(w
        .fake
        .channel(&t.thread)
        .unwrap()
        .members
        .contains(&bob().id));

    let dept = w
        .interact(&interaction::command(&sam(), &channel, "department", json!([{ "type": 3, "name": "action", "value": "add" }, { "type": 3, "name": "name", "value": "Billing" }])))
        .await;
    assert_eq!(say(&dept), "Department \"Billing\" created.");
    w.settle().await;
    let puts = w.fake.calls_to("PUT", "/applications/*/guilds/*/commands");
    assert_eq!(
        puts.last().unwrap().body[0]["options"][0]["options"][0]["choices"][0]["name"],
        "Billing",
        "choices follow"
    );
    let renamed = w
        .interact(&interaction::command(&sam(), &channel, "department", json!([{ "type": 3, "name": "action", "value": "rename" }, { "type": 3, "name": "name", "value": "billing" }, { "type": 3, "name": "new_name", "value": "Invoices" }])))
        .await;
    assert_eq!(say(&renamed), "Renamed to \"Invoices\".");

    let staff = w
        .interact(&interaction::command_on(
            &sam(),
            &channel,
            "staff",
            &eve(),
            json!([{ "type": 3, "name": "action", "value": "add" }]),
        ))
        .await;
    assert_eq!(say(&staff), "Eve Outsider is now staff.");
    let link = w
        .interact(&interaction::command_on(
            &sam(),
            &channel,
            "link",
            &bob(),
            json!([{ "type": 3, "name": "email", "value": "bob@acme.test" }]),
        ))
        .await;
    assert_eq!(
        say(&link),
        "Bob Builder and bob@acme.test are now one person."
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn staff_claim_from_the_triage_card_and_unassign_by_command(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(&bob(), "Claim me", "Please").await;
    let channel = STAFF_CHANNEL.to_string();
    let claim = format!("claim:{}", t.id.0);
    let owner_on_card = |w: &World| {
        w.fake
            .messages_in(&channel)
            .into_iter()
            .find(|m| m["id"] == t.triage.as_str())
            .map(|m| m["embeds"][0]["fields"].to_string())
            .unwrap_or_default()
    };
    // a customer cannot; staff can, and the triage card says who.
    let refused = w
        .interact(&interaction::component(&bob(), &channel, &claim, 2, None))
        .await;
    assert!(
        refused.to_string().contains("only support staff"),
        "{refused}"
    );
    let done = w
        .interact(&interaction::component(&sam(), &channel, &claim, 2, None))
        .await;
    assert!(done.to_string().contains("You now own ticket"), "{done}");
    w.settle().await;
    let sam_id = w.person(&sam()).await;
    assert_eq!(
        w.h.engine.ticket(sam_id, t.id).await.unwrap().owner_id,
        Some(sam_id)
    );
    let fields = owner_on_card(&w);
    assert!(
        fields.contains("\"Owner\"") && fields.contains("Sam Support"),
        "{fields}"
    );
    // the customers' thread card never shows it.
    let theirs: Vec<String> = w
        .fake
        .messages_in(&t.thread)
        .into_iter()
        .map(|m| m["embeds"].to_string())
        .collect();
    assert!(theirs.iter().all(|e| !e.contains("Owner")), "{theirs:?}");
    let number = t.number.trim_start_matches('#').parse::<i64>().unwrap();
    let unassign = json!([{ "type": 4, "name": "number", "value": number }]);
    let said = w
        .interact(&interaction::command(&sam(), &channel, "assign", unassign))
        .await;
    assert!(said.to_string().contains("has no owner now"), "{said}");
    w.settle().await;
    assert!(owner_on_card(&w).contains("Unassigned"));
    let queue = json!([{ "type": 3, "name": "owner", "value": "unassigned" }]);
    let listed = w
        .interact(&interaction::command(&sam(), &channel, "queue", queue))
        .await;
    assert!(listed.to_string().contains("Claim me"), "{listed}");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_direct_message_outside_a_ticket_gets_directions(#[case] kind: Kind) {
    let w = world(kind).await;
    w.gateway().await;
    // Bob writes to the bot in a DM channel (no server).
    let mut said = w.fake.user_message("900000000000000077", &bob(), "hello?");
    said.as_object_mut().unwrap().remove("guild_id");
    said.as_object_mut().unwrap().remove("member");
    w.fake.gateway().dispatch("MESSAGE_CREATE", said);
    let bob_id = bob().id.to_string();
    w.wait_for("directions in Bob's DMs", || {
        w.fake
            .dm_of(&bob_id)
            .is_some_and(|dm| w.contents(&dm).iter().any(|c| c.contains("/ticket open")))
    })
    .await;
    // written in a server channel that is no ticket's: nothing is said.
    let bots = |w: &World| {
        w.fake
            .messages()
            .iter()
            .filter(|m| m["author"]["bot"] == true)
            .count()
    };
    let before = bots(&w);
    let elsewhere = w
        .fake
        .user_message(&SUPPORT_CHANNEL.to_string(), &carol(), "hi all");
    w.fake.gateway().dispatch("MESSAGE_CREATE", elsewhere);
    w.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(bots(&w), before, "the bot said nothing");
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn search_finds_within_rights_pages_with_more_and_jumps_on_a_number(#[case] kind: Kind) {
    let w = world(kind).await;
    for i in 0..12 {
        w.open_ticket(
            &bob(),
            &format!("Order {i}"),
            "Please refund the duplicate charge",
        )
        .await;
    }
    w.settle().await;
    let channel = SUPPORT_CHANNEL.to_string();
    let words = |w: &str| json!([{ "type": 3, "name": "words", "value": w }]);
    let first = w
        .interact(&interaction::command(
            &bob(),
            &channel,
            "search",
            words("refund"),
        ))
        .await;
    let text = first["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        first["data"]["flags"], 64,
        "only the person sees it: {first}"
    );
    assert!(text.contains("duplicate charge"), "{text}");
    assert_eq!(text.matches("*Order ").count(), 10, "{text}");
    let more = first["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .expect("a More button")
        .to_owned();
    assert!(more.len() <= 100 && more.contains("find:"), "{more}");
    let next = w
        .interact(&interaction::component(&bob(), &channel, &more, 2, None))
        .await;
    let next_text = next["data"]["content"].as_str().unwrap_or_default();
    assert_eq!(next["type"], 7, "the next page replaces the first: {next}");
    assert_eq!(next_text.matches("*Order ").count(), 2, "{next_text}");
    // nobody else's tickets; #N only when one may read it.
    let eve = w
        .interact(&interaction::command(
            &eve(),
            &channel,
            "search",
            words("duplicate"),
        ))
        .await;
    assert!(eve["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .contains("No tickets with those words."));
    let jump = w
        .interact(&interaction::command(
            &bob(),
            &channel,
            "search",
            words("#1001"),
        ))
        .await;
    assert!(
        jump.to_string().contains("1001"),
        "brought to the ticket: {jump}"
    );
    assert!(w.fake.violations().is_empty(), "{:?}", w.fake.violations());
}
