//! Discord messages, components and modals as JSON bodies. Every message
//! the bot sends parses no mentions: relayed text never pings anyone.

use serde_json::{json, Value};
use threadesk_core::domain::{Department, Message, Status};
use threadesk_core::surfaces::CardFacts;

/// Discord's limit on a message's `content`.
pub const CONTENT_MAX: usize = 2000;
/// The ephemeral flag of an interaction answer.
pub const EPHEMERAL: u64 = 64;

/// Custom ids of buttons, selects and modals: `<kind>:<id>`.
pub mod ids {
    /// The card's Close button (asks for a confirmation).
    pub const CLOSE: &str = "close";
    /// The confirmation's "Yes, close it".
    pub const CLOSE_CONFIRMED: &str = "close-yes";
    /// The card's Delegates button.
    pub const DELEGATES: &str = "delegates";
    /// The card's Edit subject button and its modal.
    pub const SUBJECT: &str = "subject";
    /// The staff card's status select.
    pub const STATUS: &str = "status";
    /// The staff card's Claim button.
    pub const CLAIM: &str = "claim";
    /// The Delegates panel's user select.
    pub const INVITE: &str = "invite";
    /// The Delegates panel's Revoke buttons.
    pub const REVOKE: &str = "revoke";
    /// The invitation's Accept button.
    pub const ACCEPT: &str = "accept";
    /// The invitation's Decline button.
    pub const DECLINE: &str = "decline";
    /// The New ticket modal (`open:<department id or 0>`).
    pub const OPEN: &str = "open";
    /// "Try again" after a refused New ticket modal (`retry:<department>`).
    pub const RETRY: &str = "retry";
    /// The list's "More" button (`list:<scope>:<state>:<page>`).
    pub const LIST: &str = "list";
    /// The saved-reply picker (`saved:<ticket id>`), a select whose
    /// values are saved replies' ids.
    pub const SAVED: &str = "saved";
    /// A closed card's rating buttons (`rate:<ticket id>:<score>`), and
    /// the modal they open for a comment (`rating:<ticket id>:<score>`).
    pub const RATE: &str = "rate";
    /// The rating modal.
    pub const RATING: &str = "rating";
    /// The message command that opens the saved-reply picker.
    pub const SAVED_COMMAND: &str = "Send saved reply";

    /// `<kind>:<id>`.
    pub fn make(kind: &str, id: impl std::fmt::Display) -> String {
        format!("{kind}:{id}")
    }

    /// Splits a custom id into its kind and the rest.
    pub fn split(custom_id: &str) -> (&str, &str) {
        custom_id.split_once(':').unwrap_or((custom_id, ""))
    }
}

/// No pings, ever.
pub fn no_pings() -> Value {
    json!({ "parse": [] })
}

pub use threadesk_chat::text::clip;

/// Escapes Discord markdown in a name (people's text keeps its markdown).
pub fn escape(text: &str) -> String {
    threadesk_chat::text::escape_markdown(text)
}

/// Splits text into pieces Discord accepts, at line ends where it can.
pub fn chunks(text: &str, max: usize) -> Vec<String> {
    let mut out = vec![];
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if current.chars().count() + line.chars().count() > max && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if line.chars().count() > max {
            let chars: Vec<char> = line.chars().collect();
            for piece in chars.chunks(max) {
                out.push(piece.iter().collect());
            }
        } else {
            current.push_str(line);
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// The `/ticket` command with its subcommands (the departments as choices).
pub fn commands(departments: &[Department]) -> Value {
    let choices: Vec<Value> = departments
        .iter()
        .filter(|d| d.active)
        .take(25)
        .map(|d| json!({ "name": clip(&d.name, 100), "value": d.id.0.to_string() }))
        .collect();
    let mut department = json!({ "type": 3, "name": "department", "description": "Which team should answer", "required": false });
    if !choices.is_empty() {
        department["choices"] = Value::Array(choices);
    }
    let scope = json!({ "type": 3, "name": "scope", "description": "Your tickets, or your organization's", "required": false,
        "choices": [{ "name": "mine", "value": "mine" }, { "name": "organization", "value": "org" }] });
    let state = json!({ "type": 3, "name": "state", "description": "Which tickets", "required": false,
        "choices": [{ "name": "active", "value": "active" }, { "name": "closed", "value": "closed" }, { "name": "all", "value": "all" }] });
    let user =
        |what: &str| json!({ "type": 6, "name": "user", "description": what, "required": true });
    let number = |what: &str| json!({ "type": 4, "name": "number", "description": what, "required": true, "min_value": 1 });
    let statuses: Vec<Value> = Status::ALL
        .iter()
        .map(|s| json!({ "name": s.label_for(true), "value": s.as_str() }))
        .collect();
    json!([{
        "name": "ticket",
        "type": 1,
        "description": "Support tickets: open, follow and close them",
        "contexts": [0],
        "options": [
            { "type": 1, "name": "open", "description": "Open a new support ticket", "options": [department] },
            { "type": 1, "name": "list", "description": "List tickets", "options": [scope, state] },
            { "type": 1, "name": "show", "description": "Follow a ticket: its thread, with you in it", "options": [number("The ticket number")] },
            { "type": 1, "name": "close", "description": "Close a ticket", "options": [number("The ticket number")] },
            { "type": 1, "name": "rate", "description": "Rate the help on a closed ticket of yours (you can change it for 7 days)", "options": [
                number("The ticket number"),
                { "type": 4, "name": "score", "description": "1 (poor) to 5 (excellent)", "required": true, "min_value": 1, "max_value": 5 },
                { "type": 3, "name": "comment", "description": "Anything to add", "required": false, "max_length": 2000 }
            ] },
            { "type": 1, "name": "search", "description": "Find tickets by words in their subject or messages (#N: that ticket)", "options": [
                { "type": 3, "name": "words", "description": "The words to look for, or #N", "required": true, "max_length": 200 }
            ] },
            { "type": 1, "name": "help", "description": "What /ticket can do" },
            { "type": 1, "name": "queue", "description": "Staff: the tickets waiting for support", "options": [
                { "type": 3, "name": "status", "description": "Only this status", "required": false, "choices": statuses.clone() },
                { "type": 3, "name": "department", "description": "Only this department", "required": false, "max_length": 100 },
                { "type": 3, "name": "owner", "description": "Only yours, or only unassigned ones", "required": false,
                  "choices": [{ "name": "mine", "value": "mine" }, { "name": "unassigned", "value": "unassigned" }] }
            ] },
            { "type": 1, "name": "claim", "description": "Staff: take a ticket (you become its owner)", "options": [number("The ticket number")] },
            { "type": 1, "name": "reply", "description": "Staff: answer a ticket with a saved reply", "options": [
                number("The ticket number"),
                { "type": 3, "name": "name", "description": "The saved reply's name (leave out to choose from a list)", "required": false, "max_length": 100 }
            ] },
            { "type": 1, "name": "saved", "description": "Staff: saved replies (list, add, remove)", "options": [
                { "type": 3, "name": "action", "description": "What to do", "required": true,
                  "choices": [{ "name": "list", "value": "list" }, { "name": "add", "value": "add" }, { "name": "remove", "value": "remove" }] },
                { "type": 3, "name": "name", "description": "The reply's name", "required": false, "max_length": 100 },
                { "type": 3, "name": "text", "description": "The text ({name}, {first_name}, {ticket} are filled in)", "required": false, "max_length": 4000 }
            ] },
            { "type": 1, "name": "assign", "description": "Staff: give a ticket to a colleague (leave out who to unassign it)", "options": [
                number("The ticket number"),
                { "type": 6, "name": "user", "description": "The colleague", "required": false }
            ] },
            { "type": 1, "name": "move", "description": "Staff: move a ticket to another department", "options": [
                number("The ticket number"),
                { "type": 3, "name": "department", "description": "The department (or none)", "required": true, "max_length": 100 }
            ] },
            { "type": 1, "name": "status", "description": "Staff: set a ticket's status", "options": [
                number("The ticket number"),
                { "type": 3, "name": "status", "description": "The new status", "required": true, "choices": statuses }
            ] },
            { "type": 1, "name": "autoclose", "description": "Staff: keep a ticket waiting on its customer from closing by itself, or let it again", "options": [
                number("The ticket number"),
                { "type": 3, "name": "action", "description": "Pause or resume", "required": true,
                  "choices": [{ "name": "pause", "value": "pause" }, { "name": "resume", "value": "resume" }] }
            ] },
            { "type": 1, "name": "note", "description": "Staff: add an internal note to a ticket", "options": [
                number("The ticket number"),
                { "type": 3, "name": "text", "description": "The note (only staff see it)", "required": true, "max_length": 4000 }
            ] },
            { "type": 1, "name": "admin", "description": "Staff: make someone their company's ticket admin, or not", "options": [
                user("Who"),
                { "type": 3, "name": "action", "description": "Grant or revoke", "required": true,
                  "choices": [{ "name": "grant", "value": "grant" }, { "name": "revoke", "value": "revoke" }] }
            ] },
            { "type": 1, "name": "staff", "description": "Staff: add someone to the support team, or remove them", "options": [
                user("Who"),
                { "type": 3, "name": "action", "description": "Add or remove", "required": true,
                  "choices": [{ "name": "add", "value": "add" }, { "name": "remove", "value": "remove" }] }
            ] },
            { "type": 1, "name": "org", "description": "Staff: put someone in an organization", "options": [
                user("Who"),
                { "type": 3, "name": "name", "description": "The organization (created if new), or none", "required": true, "max_length": 200 }
            ] },
            { "type": 1, "name": "department", "description": "Staff: list, add, rename, deactivate or activate departments", "options": [
                { "type": 3, "name": "action", "description": "What to do", "required": true, "choices": [
                    { "name": "list", "value": "list" }, { "name": "add", "value": "add" }, { "name": "rename", "value": "rename" },
                    { "name": "deactivate", "value": "deactivate" }, { "name": "activate", "value": "activate" }
                ] },
                { "type": 3, "name": "name", "description": "The department", "required": false, "max_length": 100 },
                { "type": 3, "name": "new_name", "description": "Its new name (rename)", "required": false, "max_length": 100 }
            ] },
            { "type": 1, "name": "link", "description": "Staff: link someone's Discord account and e-mail address", "options": [
                user("Who"),
                { "type": 3, "name": "email", "description": "Their e-mail address", "required": true, "max_length": 254 }
            ] }
        ]
    }, {
        // a message's Apps menu: answer the ticket with a saved reply.
        "type": 3, "name": ids::SAVED_COMMAND, "description": ""
    }])
}

/// The saved replies that fit a ticket, as a select (Discord lists 25).
pub fn saved_picker(picker: &threadesk_chat::input::SavedPicker) -> Value {
    let t = &picker.ticket;
    let options: Vec<Value> = picker
        .replies
        .iter()
        .take(25)
        .map(|r| {
            let mut option = json!({ "label": clip(&r.name, 100), "value": r.id.0.to_string() });
            if !r.preview.trim().is_empty() {
                option["description"] = json!(clip(&r.preview, 100));
            }
            option
        })
        .collect();
    let mut text = format!(
        "Send a saved reply on ticket {} *{}*:",
        t.number,
        escape(&clip(&t.subject, 80))
    );
    if picker.replies.len() > 25 {
        text.push_str(&format!(
            "\nThe first 25 of {}; `/ticket reply` with a name sends any of them.",
            picker.replies.len()
        ));
    }
    ephemeral_with(
        &text,
        json!([{ "type": 1, "components": [{ "type": 3, "custom_id": ids::make(ids::SAVED, t.id.0),
            "placeholder": "Choose a saved reply", "options": options }] }]),
    )
}

pub use threadesk_chat::CardFor;

fn colour(status: Status) -> u32 {
    match status {
        Status::Closed => 0x95a5a6,
        Status::AwaitingClient => 0xf1c40f,
        Status::ClientReplied | Status::Open => 0x3498db,
        _ => 0x2ecc71,
    }
}

/// A ticket's card: embed and buttons (none once it is closed).
pub fn card(facts: &CardFacts, who: CardFor) -> Value {
    let t = &facts.ticket;
    let staff = who == CardFor::Staff;
    let mut fields = vec![
        json!({ "name": "Status", "value": t.status.label_for(staff), "inline": true }),
        json!({ "name": "Requester", "value": clip(&escape(&facts.requester_name), 1024), "inline": true }),
    ];
    if let Some(d) = &facts.department {
        fields
            .push(json!({ "name": "Department", "value": clip(&escape(d), 1024), "inline": true }));
    }
    if staff {
        let owner = facts
            .owner_name
            .as_deref()
            .map_or("Unassigned".to_owned(), escape);
        fields.push(json!({ "name": "Owner", "value": clip(&owner, 1024), "inline": true }));
        if let Some(due) = t.due_at {
            let now = threadesk_core::time::Timestamp::now();
            fields.push(json!({ "name": "Answer", "value": threadesk_core::service::due_text(due, now), "inline": true }));
        }
    }
    let mut embed = json!({
        "title": clip(&format!("{} {}", t.number, t.subject), 256),
        "color": colour(t.status),
        "fields": fields,
    });
    if let Some(notice) = who.notice(facts) {
        embed["description"] = json!(escape(&notice));
    } else if let (CardFor::Customer, Some(name)) = (who, &facts.handled_by) {
        embed["description"] = json!(format!("{} is handling your ticket.", escape(name)));
    }
    let id = t.id.0;
    if t.status.is_closed() {
        if let Some(r) = facts.rating.as_ref().filter(|_| staff) {
            let comment = r
                .comment
                .as_deref()
                .map(|c| format!(": “{}”", clip(&escape(c), 900)))
                .unwrap_or_default();
            if let Some(fields) = embed["fields"].as_array_mut() {
                fields.push(json!({ "name": "Rating", "value": format!("{} ({}/5){comment}", r.stars(), r.score), "inline": false }));
            }
        }
    }
    let components = if t.status.is_closed() && who == CardFor::Customer {
        rating_row(facts, &mut embed)
    } else if t.status.is_closed() || who.notice(facts).is_some() {
        json!([])
    } else {
        let mut rows = vec![json!({ "type": 1, "components": [
            { "type": 2, "style": 4, "label": "Close", "custom_id": ids::make(ids::CLOSE, id) },
            { "type": 2, "style": 2, "label": "Delegates", "custom_id": ids::make(ids::DELEGATES, id) },
            { "type": 2, "style": 2, "label": "Edit subject", "custom_id": ids::make(ids::SUBJECT, id) }
        ] })];
        if staff {
            let options: Vec<Value> = Status::ALL
                .iter()
                .filter(|s| !s.is_closed())
                .map(|s| json!({ "label": s.label_for(true), "value": s.as_str(), "default": *s == t.status }))
                .collect();
            rows.push(json!({ "type": 1, "components": [
                { "type": 3, "custom_id": ids::make(ids::STATUS, id), "placeholder": "Set status", "options": options }
            ] }));
            rows.push(json!({ "type": 1, "components": [
                { "type": 2, "style": 1, "label": "Claim", "custom_id": ids::make(ids::CLAIM, id) }
            ] }));
        }
        Value::Array(rows)
    };
    json!({
        "content": "",
        "embeds": [embed],
        "components": components,
        "allowed_mentions": no_pings(),
    })
}

/// A closed ticket's rating on the customer's card: the five buttons
/// while it may be given or changed (only the requester may: the engine
/// decides), and what was given.
fn rating_row(facts: &CardFacts, embed: &mut Value) -> Value {
    use threadesk_core::domain::score_label;
    let Some(until) = facts.rate_until else {
        return json!([]);
    };
    let until = threadesk_core::time::when(until);
    embed["description"] = json!(match &facts.rating {
        Some(r) => format!(
            "You rated {} ({}). You can change it until {until}.",
            r.stars(),
            score_label(r.score)
        ),
        None => format!("**How did we do?** Rate the help (until {until})."),
    });
    let id = facts.ticket.id.0;
    let buttons: Vec<Value> = (1..=5u8)
        .map(|score| {
            let chosen = facts.rating.as_ref().is_some_and(|r| r.score == score);
            json!({ "type": 2, "style": if chosen { 1 } else { 2 }, "label": format!("{score} ★"),
                    "custom_id": ids::make(ids::RATE, format!("{id}:{score}")) })
        })
        .collect();
    json!([{ "type": 1, "components": buttons }])
}

/// The rating modal: a comment for the score chosen on the card.
pub fn rating_modal(ticket: i64, number: &str, score: u8, comment: &str) -> Value {
    use threadesk_core::domain::{score_label, stars};
    json!({ "type": 9, "data": {
        "custom_id": ids::make(ids::RATING, format!("{ticket}:{score}")),
        "title": clip(&format!("Rate {number}: {} {}", stars(score), score_label(score)), 45),
        "components": [input("comment", "Anything to add? (optional)", true, 2000, comment, false)]
    } })
}

/// The lines of a copied message: "**Name** (role): text", attachments as
/// links, cut into messages Discord accepts.
pub fn message(m: &Message) -> Vec<String> {
    let role = m.author_role.replace('_', " ");
    let marker = if m.internal {
        "🔒 Internal note · "
    } else {
        ""
    };
    let edited = if m.edited_at.is_some() {
        " *(edited)*"
    } else {
        ""
    };
    let mut text = format!(
        "{marker}**{}** ({}){edited}: {}",
        escape(&m.author_name),
        escape(&role),
        m.body
    );
    for a in &m.attachments {
        text.push_str(&format!(
            "\n📎 [{}](<{}>) ({} bytes)",
            escape(&a.name),
            a.url,
            a.size_bytes
        ));
    }
    chunks(&text, CONTENT_MAX)
}

/// A plain line from the bot in a thread.
pub fn line(text: &str) -> Value {
    json!({ "content": clip(text, CONTENT_MAX), "allowed_mentions": no_pings() })
}

/// A message body of text that is already cut to size.
pub fn line_raw(text: &str) -> Value {
    json!({ "content": text, "allowed_mentions": no_pings() })
}

/// An ephemeral answer to an interaction.
pub fn ephemeral(text: &str) -> Value {
    json!({ "type": 4, "data": { "content": clip(text, CONTENT_MAX), "flags": EPHEMERAL, "allowed_mentions": no_pings() } })
}

/// An ephemeral answer with components.
pub fn ephemeral_with(text: &str, components: Value) -> Value {
    json!({ "type": 4, "data": { "content": clip(text, CONTENT_MAX), "flags": EPHEMERAL, "components": components, "allowed_mentions": no_pings() } })
}

/// Replaces the message a component sits on.
pub fn update(text: &str, components: Value) -> Value {
    json!({ "type": 7, "data": { "content": clip(text, CONTENT_MAX), "components": components, "allowed_mentions": no_pings() } })
}

/// A text input row of a modal.
fn input(id: &str, label: &str, long: bool, max: usize, value: &str, required: bool) -> Value {
    let mut i = json!({ "type": 4, "custom_id": id, "label": label, "style": if long { 2 } else { 1 }, "max_length": max, "required": required });
    if !value.is_empty() {
        i["value"] = json!(clip(value, max));
    }
    json!({ "type": 1, "components": [i] })
}

/// The New ticket modal, pre-filled with what the person had.
pub fn new_ticket_modal(department: i64, subject: &str, body: &str) -> Value {
    json!({ "type": 9, "data": {
        "custom_id": ids::make(ids::OPEN, department),
        "title": "New support ticket",
        "components": [
            input("subject", "Subject", false, 200, subject, true),
            input("message", "How can we help?", true, 4000, body, true)
        ]
    } })
}

/// The Edit subject modal.
pub fn subject_modal(ticket: i64, subject: &str) -> Value {
    json!({ "type": 9, "data": {
        "custom_id": ids::make(ids::SUBJECT, ticket),
        "title": "Edit subject",
        "components": [input("subject", "Subject", false, 200, subject, true)]
    } })
}

/// A delegate invitation in the invitee's DMs.
pub fn invitation(delegate: i64, number: &str, subject: &str, by: &str) -> Value {
    json!({
        "content": clip(&format!("**{}** invited you to follow support ticket {} *{}*: you will see its replies and can answer in its thread.", escape(by), number, escape(subject)), CONTENT_MAX),
        "components": [{ "type": 1, "components": [
            { "type": 2, "style": 3, "label": "Accept", "custom_id": ids::make(ids::ACCEPT, delegate) },
            { "type": 2, "style": 2, "label": "Decline", "custom_id": ids::make(ids::DECLINE, delegate) }
        ] }],
        "allowed_mentions": no_pings(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_into_accepted_pieces() {
        let text = format!("{}\n{}", "a".repeat(1500), "b".repeat(4500));
        let parts = chunks(&text, CONTENT_MAX);
        assert!(parts.iter().all(|p| p.chars().count() <= CONTENT_MAX));
        assert_eq!(parts.concat(), text);
        assert_eq!(chunks("", 10), vec![String::new()]);
    }

    #[test]
    fn staff_cards_name_the_owner_and_customers_see_a_first_name_only_when_shown() {
        use threadesk_core::testing::card_facts;
        let staff = card(&card_facts(Some("Sam Support"), true), CardFor::Staff).to_string();
        assert!(
            staff.contains("\"Owner\"") && staff.contains("Sam Support"),
            "{staff}"
        );
        assert!(staff.contains("\"claim:1\""), "{staff}");
        let hidden = card(&card_facts(Some("Sam Support"), false), CardFor::Customer).to_string();
        assert!(
            !hidden.contains("Sam") && !hidden.contains("claim:"),
            "{hidden}"
        );
        let shown = card(&card_facts(Some("Sam Support"), true), CardFor::Customer).to_string();
        assert!(shown.contains("Sam is handling your ticket."), "{shown}");
    }

    #[test]
    fn names_cannot_format_or_mention() {
        assert_eq!(escape("<@1> *x*"), "\\<@1\\> \\*x\\*");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(ids::split("close:12"), ("close", "12"));
    }
}
