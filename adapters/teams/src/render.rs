//! Teams messages: Adaptive Cards (version 1.5) for tickets, invitations,
//! lists, dialogs and questions, and plain message activities for copies
//! and lines. Buttons are `Action.Execute` (an `adaptiveCard/action`
//! invoke whose answer redraws the card); forms open as dialogs
//! (`task/fetch`). Names are escaped: text never turns into markup.

use serde_json::{json, Value};
use threadesk_chat::input::{More, TicketPage};
use threadesk_chat::CardFor;
use threadesk_core::domain::{Delegate, Department, Message, Status};
use threadesk_core::surfaces::CardFacts;
use threadesk_core::TicketNumber;

pub use threadesk_chat::text::clip;

/// Card action verbs and dialog kinds: the contract between what we draw
/// and what comes back.
pub mod verbs {
    /// Close (asks for a confirmation).
    pub const CLOSE: &str = "close";
    /// "Yes, close it".
    pub const CLOSE_CONFIRMED: &str = "close-yes";
    /// Set the status (staff card).
    pub const STATUS: &str = "status";
    /// Take the ticket (staff card).
    pub const CLAIM: &str = "claim";
    /// The delegates panel.
    pub const DELEGATES: &str = "delegates";
    /// Invite by e-mail address (delegates panel).
    pub const INVITE: &str = "invite";
    /// Revoke a delegate.
    pub const REVOKE: &str = "revoke";
    /// Accept an invitation.
    pub const ACCEPT: &str = "accept";
    /// Decline an invitation.
    pub const DECLINE: &str = "decline";
    /// The next page of a list.
    pub const LIST: &str = "list";
    /// Send the saved reply chosen in the picker.
    pub const SAVED: &str = "saved";
    /// Rate a closed ticket (its card's score and comment).
    pub const RATE: &str = "rate";
    /// Add a kept message to the chosen ticket.
    pub const ROUTE: &str = "route";
    /// Dialog: a new ticket.
    pub const NEW: &str = "new";
    /// Dialog: edit the subject.
    pub const SUBJECT: &str = "subject";
}

/// The card content type.
pub const CARD: &str = "application/vnd.microsoft.card.adaptive";

/// Escapes Teams markdown in a name or subject.
pub fn escape(text: &str) -> String {
    threadesk_chat::text::escape_markdown(text)
}

/// An Adaptive Card (1.5) with body and actions.
pub fn adaptive(body: Vec<Value>, actions: Vec<Value>) -> Value {
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = Value::Array(actions);
    }
    card
}

/// A message activity carrying one card.
pub fn card_activity(card: Value, summary: &str) -> Value {
    json!({
        "type": "message",
        "summary": clip(summary, 200),
        "attachments": [{ "contentType": CARD, "content": card }],
    })
}

/// A plain (markdown) message activity.
pub fn text_activity(text: &str) -> Value {
    json!({ "type": "message", "textFormat": "markdown", "text": clip(text, 25_000) })
}

fn text(t: &str) -> Value {
    json!({ "type": "TextBlock", "text": t, "wrap": true })
}

fn heading(t: &str) -> Value {
    json!({ "type": "TextBlock", "text": t, "wrap": true, "weight": "Bolder", "size": "Medium" })
}

fn note(t: &str) -> Value {
    json!({ "type": "TextBlock", "text": t, "wrap": true, "isSubtle": true })
}

fn warning(t: &str) -> Value {
    json!({ "type": "TextBlock", "text": t, "wrap": true, "color": "Attention" })
}

/// A button that comes back as an `adaptiveCard/action` invoke.
pub fn execute(title: &str, verb: &str, data: Value) -> Value {
    json!({ "type": "Action.Execute", "title": title, "verb": verb, "data": data })
}

/// A button that opens a dialog (`task/fetch`).
pub fn dialog_button(title: &str, kind: &str, data: Value) -> Value {
    let mut d = data;
    d["msteams"] = json!({ "type": "task/fetch" });
    d["dialog"] = json!(kind);
    json!({ "type": "Action.Submit", "title": title, "data": d })
}

/// A ticket's card for one audience.
pub fn card(facts: &CardFacts, to: CardFor) -> Value {
    let t = &facts.ticket;
    let staff = to == CardFor::Staff;
    let mut facts_shown = vec![
        json!({ "title": "Status", "value": t.status.label_for(staff) }),
        json!({ "title": "Requester", "value": escape(&facts.requester_name) }),
    ];
    if let Some(d) = &facts.department {
        facts_shown.push(json!({ "title": "Department", "value": escape(d) }));
    }
    if staff {
        let owner = facts
            .owner_name
            .as_deref()
            .map_or("Unassigned".to_owned(), escape);
        facts_shown.push(json!({ "title": "Owner", "value": owner }));
        if let Some(due) = t.due_at {
            let now = threadesk_core::time::Timestamp::now();
            facts_shown.push(
                json!({ "title": "Answer", "value": threadesk_core::service::due_text(due, now) }),
            );
        }
    }
    let mut body = vec![
        heading(&format!("{} {}", t.number, escape(&clip(&t.subject, 200)))),
        json!({ "type": "FactSet", "facts": facts_shown }),
    ];
    if let (CardFor::Customer, Some(name)) = (to, &facts.handled_by) {
        body.push(text(&format!("{} is handling your ticket.", escape(name))));
    }
    let id = t.id.0;
    let mut actions = vec![];
    if let Some(notice) = to.notice(facts) {
        body.push(warning(&escape(&notice)));
    } else if !t.status.is_closed() {
        if staff {
            let choices: Vec<Value> = Status::ALL
                .iter()
                .filter(|s| !s.is_closed())
                .map(|s| json!({ "title": s.label_for(true), "value": s.as_str() }))
                .collect();
            body.push(
                json!({ "type": "Input.ChoiceSet", "id": "status", "label": "Status",
                "value": t.status.as_str(), "choices": choices }),
            );
            actions.push(execute(
                "Set status",
                verbs::STATUS,
                json!({ "ticket": id }),
            ));
            actions.push(execute("Claim", verbs::CLAIM, json!({ "ticket": id })));
        }
        actions.push(execute("Close", verbs::CLOSE, json!({ "ticket": id })));
        actions.push(execute(
            "Delegates",
            verbs::DELEGATES,
            json!({ "ticket": id }),
        ));
        actions.push(dialog_button(
            "Edit subject",
            verbs::SUBJECT,
            json!({ "ticket": id }),
        ));
        if !staff {
            body.push(note(
                "Write here to reply: reply to this card (or to a message of this ticket) when you have more than one ticket open.",
            ));
        }
    } else {
        body.push(note("This ticket is closed."));
        rating(facts, to, &mut body, &mut actions);
    }
    adaptive(body, actions)
}

/// A closed ticket's rating: on the staff card as it stands; on the
/// customer's card a score and a comment to give or change while the
/// window is open (the engine decides who may: only the requester).
fn rating(facts: &CardFacts, to: CardFor, body: &mut Vec<Value>, actions: &mut Vec<Value>) {
    use threadesk_core::domain::{score_label, stars};
    let rated = facts.rating.as_ref();
    match to {
        CardFor::Staff => {
            if let Some(r) = rated {
                let comment = r
                    .comment
                    .as_deref()
                    .map(|c| format!(": “{}”", escape(&clip(c, 500))))
                    .unwrap_or_default();
                body.push(text(&format!(
                    "Rated {} ({}/5, {}){comment}",
                    r.stars(),
                    r.score,
                    score_label(r.score)
                )));
            }
        }
        CardFor::Customer => {
            let Some(until) = facts.rate_until else {
                return;
            };
            let until = threadesk_core::time::when(until);
            body.push(text(&match rated {
                Some(r) => format!(
                    "You rated {} ({}). You can change it until {until}.",
                    r.stars(),
                    score_label(r.score)
                ),
                None => format!("**How did we do?** Rate the help (until {until})."),
            }));
            let choices: Vec<Value> = (1..=5u8)
                .rev()
                .map(|s| json!({ "title": format!("{} {}", stars(s), score_label(s)), "value": s.to_string() }))
                .collect();
            let mut score = json!({ "type": "Input.ChoiceSet", "id": "score", "label": "Your rating", "choices": choices });
            if let Some(r) = rated {
                score["value"] = json!(r.score.to_string());
            }
            body.push(score);
            let mut comment = json!({ "type": "Input.Text", "id": "comment", "label": "Anything to add? (optional)",
                "isMultiline": true, "maxLength": 2000 });
            if let Some(c) = rated.and_then(|r| r.comment.as_deref()) {
                comment["value"] = json!(c);
            }
            body.push(comment);
            actions.push(execute(
                "Rate",
                verbs::RATE,
                json!({ "ticket": facts.ticket.id.0 }),
            ));
        }
        CardFor::Revoked | CardFor::Moved => {}
    }
}

/// The confirmation asked before closing.
pub fn confirm_close(number: TicketNumber, subject: &str, ticket: i64) -> Value {
    adaptive(
        vec![text(&format!(
            "Close ticket {number} {}? Replies to it stop.",
            escape(subject)
        ))],
        vec![
            execute(
                "Yes, close it",
                verbs::CLOSE_CONFIRMED,
                json!({ "ticket": ticket }),
            ),
            execute(
                "No, keep it open",
                verbs::DELEGATES,
                json!({ "ticket": ticket, "back": true }),
            ),
        ],
    )
}

/// A copy of a ticket message in a chat without threads (a 1:1 chat) or
/// in a ticket's channel thread.
pub fn message(m: &Message, number: Option<TicketNumber>) -> Value {
    let label = if m.internal { " · internal note" } else { "" };
    let head = match number {
        Some(n) => format!(
            "**{n}** · **{}** ({}){label}",
            escape(&m.author_name),
            m.author_role
        ),
        None => format!("**{}** ({}){label}", escape(&m.author_name), m.author_role),
    };
    let mut text = format!("{head}\n\n{}", m.body);
    for a in &m.attachments {
        text.push_str(&format!("\n\n📎 {}", escape(&a.name)));
    }
    text_activity(&text)
}

/// A line of the bot's.
pub fn line(text: &str) -> Value {
    text_activity(&format!("_{}_", text.replace('_', "\\_")))
}

/// An invitation with Accept / Decline.
pub fn invitation(delegate: i64, number: TicketNumber, subject: &str, by: &str) -> Value {
    adaptive(
        vec![
            heading("An invitation to follow a ticket"),
            text(&format!(
                "{} invited you to follow ticket {number} {}.",
                escape(by),
                escape(subject)
            )),
        ],
        vec![
            execute("Accept", verbs::ACCEPT, json!({ "delegate": delegate })),
            execute("Decline", verbs::DECLINE, json!({ "delegate": delegate })),
        ],
    )
}

/// A card that only says something (a card's answer after an action).
pub fn said(t: &str) -> Value {
    adaptive(vec![text(t)], vec![])
}

/// The saved replies that fit a ticket, to choose one and send it.
pub fn saved_picker(picker: &threadesk_chat::input::SavedPicker) -> Value {
    let t = &picker.ticket;
    let choices: Vec<Value> = picker
        .replies
        .iter()
        .map(|r| {
            let title = if r.preview.trim().is_empty() {
                r.name.clone()
            } else {
                format!("{} · {}", r.name, r.preview)
            };
            json!({ "title": threadesk_chat::text::clip(&title, 120), "value": r.id.0.to_string() })
        })
        .collect();
    adaptive(
        vec![
            heading(&format!("Saved reply on {}", t.number)),
            text(&escape(&t.subject)),
            json!({ "type": "Input.ChoiceSet", "id": "reply", "label": "Saved reply",
                "isRequired": true, "errorMessage": "Choose a saved reply.", "choices": choices }),
        ],
        vec![execute("Send", verbs::SAVED, json!({ "ticket": t.id.0 }))],
    )
}

/// A page of tickets.
pub fn list(page: &TicketPage) -> Value {
    let mut body = vec![heading(&escape(&page.title))];
    if page.items.is_empty() {
        body.push(note(page.empty));
    }
    for (i, it) in page.items.iter().enumerate() {
        let t = &it.ticket;
        let shared = if it.shared { " · shared with you" } else { "" };
        body.push(text(&format!(
            "**{}** {} · {}{}{shared}",
            t.number,
            escape(&clip(&t.subject, 80)),
            t.status.label_for(page.staff),
            page.due(it)
        )));
        if let Some(e) = page.excerpt(i) {
            body.push(text(&format!("> {}", escape(&clip(e, 200)))));
        }
    }
    let actions = match &page.more {
        Some(at) => vec![execute(
            "More",
            verbs::LIST,
            json!({ "at": at.to_string() }),
        )],
        None => vec![],
    };
    adaptive(body, actions)
}

/// The place a More button continues (a list's or a search's).
pub fn list_at(data: &Value) -> More {
    data["at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

/// The new-ticket dialog, filled with what was typed, and why it was
/// refused when it was.
pub fn new_ticket_form(
    departments: &[Department],
    subject: &str,
    department: Option<i64>,
    message: &str,
    refused: Option<&str>,
) -> Value {
    let mut body = vec![];
    if let Some(why) = refused {
        body.push(warning(why));
    }
    body.push(
        json!({ "type": "Input.Text", "id": "subject", "label": "Subject", "isRequired": true,
        "errorMessage": "A subject, please.", "maxLength": 200, "value": clip(subject, 200) }),
    );
    if !departments.is_empty() {
        let choices: Vec<Value> = departments
            .iter()
            .map(|d| json!({ "title": d.name, "value": d.id.0.to_string() }))
            .collect();
        let mut pick = json!({ "type": "Input.ChoiceSet", "id": "department", "label": "Department",
            "placeholder": "Which team should answer", "choices": choices });
        if let Some(d) = department {
            pick["value"] = json!(d.to_string());
        }
        body.push(pick);
    }
    body.push(json!({ "type": "Input.Text", "id": "message", "label": "Message", "isMultiline": true,
        "isRequired": true, "errorMessage": "Tell us what happened.", "value": clip(message, 20_000) }));
    adaptive(
        body,
        vec![
            json!({ "type": "Action.Submit", "title": "Open ticket", "data": { "dialog": verbs::NEW } }),
        ],
    )
}

/// The edit-subject dialog.
pub fn subject_form(ticket: i64, subject: &str, refused: Option<&str>) -> Value {
    let mut body = vec![];
    if let Some(why) = refused {
        body.push(warning(why));
    }
    body.push(
        json!({ "type": "Input.Text", "id": "subject", "label": "Subject", "isRequired": true,
        "maxLength": 200, "value": clip(subject, 200) }),
    );
    adaptive(
        body,
        vec![
            json!({ "type": "Action.Submit", "title": "Save", "data": { "dialog": verbs::SUBJECT, "ticket": ticket } }),
        ],
    )
}

/// A dialog's answer: show a card in it.
pub fn dialog(title: &str, card: Value) -> Value {
    json!({ "task": { "type": "continue", "value": { "title": title, "card": { "contentType": CARD, "content": card } } } })
}

/// A dialog's answer: close it with a message.
pub fn dialog_done(message: &str) -> Value {
    json!({ "task": { "type": "message", "value": message } })
}

/// An `adaptiveCard/action` answer: the card redrawn.
pub fn card_answer(card: Value) -> Value {
    json!({ "statusCode": 200, "type": CARD, "value": card })
}

/// The delegates panel: who follows the ticket, Revoke buttons, and an
/// e-mail address to invite.
pub fn delegates(
    ticket: i64,
    number: TicketNumber,
    subject: &str,
    list: &[Delegate],
    said: Option<&str>,
) -> Value {
    let mut body = vec![heading(&format!(
        "Delegates of {number} {}",
        escape(subject)
    ))];
    if let Some(s) = said.filter(|s| !s.is_empty()) {
        body.push(note(s));
    }
    if list.is_empty() {
        body.push(note("Nobody else follows this ticket yet."));
    }
    let mut actions = vec![];
    for d in list {
        body.push(text(&format!(
            "• {} · {}",
            escape(d.display_name()),
            d.status.as_str()
        )));
        if d.status.is_revocable() && actions.len() < 4 {
            actions.push(execute(
                &clip(&format!("Revoke {}", d.display_name()), 60),
                verbs::REVOKE,
                json!({ "delegate": d.id.0, "ticket": ticket }),
            ));
        }
    }
    body.push(
        json!({ "type": "Input.Text", "id": "email", "label": "Invite someone to follow it",
        "style": "Email", "placeholder": "their e-mail address" }),
    );
    actions.insert(
        0,
        execute("Invite", verbs::INVITE, json!({ "ticket": ticket })),
    );
    adaptive(body, actions)
}

/// "Which ticket is this for?", with the message kept in each button.
pub fn which_ticket(tickets: &[(i64, TicketNumber, String)], kept: &str) -> Value {
    let mut body = vec![
        text("You have more than one ticket open. Which one is this for?"),
        note(&format!("“{}”", clip(kept, 300))),
    ];
    let mut actions: Vec<Value> = tickets
        .iter()
        .take(5)
        .map(|(id, n, s)| {
            execute(
                &clip(&format!("{n} {s}"), 60),
                verbs::ROUTE,
                json!({ "ticket": id, "text": clip(kept, 20_000) }),
            )
        })
        .collect();
    if tickets.len() > 5 {
        body.push(note("Only your five most recent tickets are listed; reply to a ticket's card to reach another."));
    }
    actions.push(dialog_button(
        "A new ticket",
        verbs::NEW,
        json!({ "message": clip(kept, 20_000) }),
    ));
    adaptive(body, actions)
}

/// The welcome and help card of the 1:1 chat.
pub fn help(staff: bool) -> Value {
    let mut body = vec![
        heading("Threadesk help"),
        text("**new** (or **New ticket** below, or *Create ticket* on any message) opens a ticket: subject, department, message."),
        text("**list** [mine|org] [active|closed|all] lists your tickets; **show** #N brings a ticket's card here; **close** #N closes one; **rate** #N 1-5 [comment] rates the help on a closed ticket of yours (or its card's buttons; you can change it for 7 days); **search** words finds your tickets by what they say (#N goes straight to one)."),
        text("Write here to reply to your ticket. With more than one open, reply to the ticket's card (or one of its messages), or I ask which ticket you mean. Files you send here are added to the ticket."),
        text("Each ticket's card has **Close** (Teams has no ✅ reaction for bots: close with the button), **Delegates** and **Edit subject**."),
    ];
    if staff {
        body.push(text("**Staff**: every ticket is a thread in the triage channel, started by its card (with its status). Reply in the thread to answer; a message that starts with `note:` is an internal note wherever you write it. In the channel, @mention me with **queue** [status] [department] [mine|unassigned], **claim** #N, **assign** #N @user, **unassign** #N, **department** #N name, **status** #N status, **note** #N text, **autoclose** #N pause|resume, **reply** #N saved-reply-name (or **reply** #N alone to choose one from a card), **saved** list|add name = text|remove name, **admin**, **staff**, **org**, **link** and **department**. Files posted in channels do not reach bots: attach them from the portal."));
    }
    adaptive(
        body,
        vec![dialog_button("New ticket", verbs::NEW, json!({}))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_cards_name_the_owner_and_customers_see_a_first_name_only_when_shown() {
        use threadesk_core::testing::card_facts;
        let staff = card(&card_facts(Some("Sam Support"), true), CardFor::Staff).to_string();
        assert!(
            staff.contains("\"Owner\"") && staff.contains("Sam Support"),
            "{staff}"
        );
        assert!(staff.contains(verbs::CLAIM), "{staff}");
        let hidden = card(&card_facts(Some("Sam Support"), false), CardFor::Customer).to_string();
        assert!(!hidden.contains("Sam"), "{hidden}");
        let shown = card(&card_facts(Some("Sam Support"), true), CardFor::Customer).to_string();
        assert!(shown.contains("Sam is handling your ticket."), "{shown}");
    }

    #[test]
    fn names_never_become_markup() {
        assert_eq!(escape("*Ann* <b>"), "\\*Ann\\* \\<b\\>");
        let c = said("x");
        assert_eq!(c["version"], "1.5");
        assert!(c.get("actions").is_none());
    }
}
