//! Block Kit: cards, mirrored messages, modals, lists and App Home. Every
//! piece of text a person wrote goes through [`escape`], so it can never
//! ping a channel or hide a link.

use crate::text::{clip, escape};
use serde_json::{json, Value};
use threadesk_chat::input::TicketPage;
use threadesk_core::domain::{Delegate, Department, Message, Status};
use threadesk_core::surfaces::CardFacts;
use threadesk_core::TicketNumber;

/// Action and callback ids: the contract between what we render and what
/// comes back as interactions.
pub mod ids {
    /// Card button: close (with Slack's confirmation dialog).
    pub const CLOSE: &str = "td_close";
    /// Card button: the delegates modal.
    pub const DELEGATES: &str = "td_delegates";
    /// Card button: the edit-subject modal.
    pub const EDIT_SUBJECT: &str = "td_edit_subject";
    /// Staff card select: set the status by hand.
    pub const SET_STATUS: &str = "td_set_status";
    /// Staff card button: take the ticket.
    pub const CLAIM: &str = "td_claim";
    /// Invitation button: accept.
    pub const ACCEPT: &str = "td_accept";
    /// Invitation button: decline.
    pub const DECLINE: &str = "td_decline";
    /// Delegates modal button: revoke one delegate.
    pub const REVOKE: &str = "td_revoke";
    /// Opens the new-ticket modal; the value pre-fills the message.
    pub const NEW_TICKET: &str = "td_new_ticket";
    /// A list's "More" button; the value is `scope:view:cursor`.
    pub const LIST_MORE: &str = "td_list_more";
    /// App Home: switch scope or view; the value is `scope:view`.
    pub const HOME_VIEW: &str = "td_home_view";
    /// A list row's "Follow in DM" button: a card of one's own.
    pub const FOLLOW: &str = "td_follow";
    /// Modal: open a ticket.
    pub const NEW_TICKET_VIEW: &str = "td_new_ticket";
    /// Modal: edit the subject.
    pub const EDIT_SUBJECT_VIEW: &str = "td_edit_subject";
    /// Modal: invite a delegate.
    pub const DELEGATES_VIEW: &str = "td_delegates";
    /// Modal: write an internal note.
    pub const NOTE_VIEW: &str = "td_note";
    /// Message shortcut: an internal note on the thread's ticket.
    pub const NOTE_SHORTCUT: &str = "td_internal_note";
    /// Message shortcut: a saved reply on the thread's ticket.
    pub const SAVED_SHORTCUT: &str = "td_saved_reply";
    /// Modal: choose a saved reply to send.
    pub const SAVED_VIEW: &str = "td_saved";
    /// Closed card buttons: rate the help (`td_rate1` … `td_rate5`; the
    /// value is the ticket).
    pub const RATE: &str = "td_rate";
    /// Modal: a rating, with an optional comment.
    pub const RATE_VIEW: &str = "td_rate";
}

fn plain(text: &str) -> Value {
    json!({ "type": "plain_text", "text": clip(text, 150), "emoji": true })
}

/// Option text may be 75 characters.
fn option_text(text: &str) -> Value {
    json!({ "type": "plain_text", "text": clip(text, 75), "emoji": true })
}

fn mrkdwn(text: &str) -> Value {
    json!({ "type": "mrkdwn", "text": clip(text, 3000) })
}

fn button(text: &str, action: &str, value: &str) -> Value {
    json!({ "type": "button", "text": plain(text), "action_id": action, "value": value })
}

pub use threadesk_chat::CardFor;

/// A ticket's card: `(fallback text, blocks)`.
pub fn card(facts: &CardFacts, who: CardFor) -> (String, Value) {
    let t = &facts.ticket;
    let staff = who == CardFor::Staff;
    let title = format!("{} {}", t.number, escape(&t.subject));
    let mut fields = vec![
        mrkdwn(&format!("*Status*\n{}", t.status.label_for(staff))),
        mrkdwn(&format!("*Requester*\n{}", escape(&facts.requester_name))),
    ];
    if let Some(d) = &facts.department {
        fields.push(mrkdwn(&format!("*Department*\n{}", escape(d))));
    }
    if staff {
        let owner = facts
            .owner_name
            .as_deref()
            .map_or("Unassigned".to_owned(), escape);
        fields.push(mrkdwn(&format!("*Owner*\n{owner}")));
        if let Some(due) = t.due_at {
            let now = threadesk_core::time::Timestamp::now();
            fields.push(mrkdwn(&format!(
                "*Answer*\n{}",
                threadesk_core::service::due_text(due, now)
            )));
        }
    }
    let mut blocks = vec![
        json!({ "type": "header", "text": plain(&title) }),
        json!({ "type": "section", "fields": fields }),
    ];
    if let (CardFor::Customer, Some(name)) = (who, &facts.handled_by) {
        blocks.push(json!({ "type": "context", "elements": [mrkdwn(&format!("👤 {} is handling your ticket.", escape(name)))] }));
    }
    let id = t.id.0.to_string();
    match who {
        CardFor::Revoked | CardFor::Moved => blocks.push(json!({
            "type": "context",
            "elements": [mrkdwn(&escape(&who.notice(facts).unwrap_or_default()))],
        })),
        _ if t.status.is_closed() => {
            blocks.push(json!({
                "type": "context",
                "elements": [mrkdwn("🔒 This ticket is closed. Use `/ticket` to open a new one.")],
            }));
            blocks.extend(rating_blocks(facts, who));
        }
        _ => {
            let mut close = button("Close", ids::CLOSE, &id);
            close["style"] = json!("danger");
            close["confirm"] = json!({
                "title": plain("Close this ticket?"),
                "text": mrkdwn(&format!("Closing {} is final: nobody can reply to it afterwards.", t.number)),
                "confirm": plain("Close it"),
                "deny": plain("Keep it open"),
            });
            let mut elements = vec![
                close,
                button("Delegates", ids::DELEGATES, &id),
                button("Edit subject", ids::EDIT_SUBJECT, &id),
            ];
            if staff {
                elements.insert(0, button("Claim", ids::CLAIM, &id));
                let options: Vec<Value> = Status::ALL
                    .iter()
                    .filter(|s| !s.is_closed())
                    .map(|s| json!({ "text": option_text(s.label()), "value": s.as_str() }))
                    .collect();
                elements.push(json!({
                    "type": "static_select",
                    "action_id": ids::SET_STATUS,
                    "placeholder": plain("Set status"),
                    "options": options,
                }));
            }
            blocks.push(json!({ "type": "actions", "block_id": format!("card:{id}"), "elements": elements }));
            blocks.push(json!({
                "type": "context",
                "elements": [mrkdwn(if staff {
                    "Reply in this thread to answer the customer; start with `note:` for an internal note."
                } else {
                    "Reply in this thread to add to your ticket. React with ✅ to close it."
                })],
            }));
        }
    }
    (title, Value::Array(blocks))
}

/// A closed ticket's rating: on staff cards as it stands; on customer
/// cards the five buttons while it may be given or changed (the engine
/// decides who may: only the requester).
fn rating_blocks(facts: &CardFacts, who: CardFor) -> Vec<Value> {
    use threadesk_core::domain::score_label;
    let rated = facts.rating.as_ref();
    match who {
        CardFor::Staff => rated
            .map(|r| {
                let comment = r
                    .comment
                    .as_deref()
                    .map(|c| format!(": “{}”", escape(&clip(c, 500))))
                    .unwrap_or_default();
                json!({ "type": "context", "elements": [mrkdwn(&format!(
                    "Rated {} ({}/5, {}){comment}", r.stars(), r.score, score_label(r.score)
                ))] })
            })
            .into_iter()
            .collect(),
        CardFor::Customer => {
            let Some(until) = facts.rate_until else {
                return vec![];
            };
            let until = threadesk_core::time::when(until);
            let ask = match rated {
                Some(r) => format!(
                    "You rated {} ({}). You can change it until {until}.",
                    r.stars(),
                    score_label(r.score)
                ),
                None => format!("*How did we do?* Rate the help (until {until}):"),
            };
            let id = facts.ticket.id.0.to_string();
            let buttons: Vec<Value> = (1..=5u8)
                .map(|score| {
                    let mut b =
                        button(&format!("{score} ★"), &format!("{}{score}", ids::RATE), &id);
                    if rated.is_some_and(|r| r.score == score) {
                        b["style"] = json!("primary");
                    }
                    b
                })
                .collect();
            vec![
                json!({ "type": "section", "text": mrkdwn(&ask) }),
                json!({ "type": "actions", "block_id": format!("rate:{id}"), "elements": buttons }),
            ]
        }
        CardFor::Revoked | CardFor::Moved => vec![],
    }
}

/// The rating modal: the score chosen on the card, and a comment.
pub fn rate_modal(ticket: i64, number: TicketNumber, score: u8, comment: Option<&str>) -> Value {
    use threadesk_core::domain::{score_label, stars};
    let option = |s: u8| json!({ "text": option_text(&format!("{} {}", stars(s), score_label(s))), "value": s.to_string() });
    let options: Vec<Value> = (1..=5u8).rev().map(option).collect();
    let mut comment_input = json!({ "type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": 2000 });
    if let Some(c) = comment {
        comment_input["initial_value"] = json!(c);
    }
    json!({
        "type": "modal", "callback_id": ids::RATE_VIEW, "private_metadata": ticket.to_string(),
        "title": plain(&format!("Rate {number}")), "submit": plain("Rate"), "close": plain("Cancel"),
        "blocks": [
            { "type": "input", "block_id": "score", "label": plain("How did we do?"),
              "element": { "type": "static_select", "action_id": "value", "options": options, "initial_option": option(score.clamp(1, 5)) } },
            { "type": "input", "block_id": "comment", "optional": true, "label": plain("Anything to add? (optional)"),
              "element": comment_input },
        ],
    })
}

/// Section text may be 3,000 characters; a message up to 16,000 is split
/// over several sections (on line breaks where it can be).
fn sections(body: &str) -> Vec<Value> {
    const MAX: usize = 3000;
    let mut out = vec![];
    let mut chunk = String::new();
    for line in body.split_inclusive('\n') {
        for piece in split_chars(line, MAX) {
            if chunk.chars().count() + piece.chars().count() > MAX {
                out.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": std::mem::take(&mut chunk) } }));
            }
            chunk.push_str(&piece);
        }
    }
    if !chunk.is_empty() || out.is_empty() {
        out.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": if chunk.is_empty() { " ".to_owned() } else { chunk } } }));
    }
    out
}

fn split_chars(s: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(max).map(|c| c.iter().collect()).collect()
}

/// A link to an attachment: only http(s), and nothing that could end the
/// link early and show other text than the file's name.
fn file_link(url: &str, name: &str) -> String {
    let safe = url.starts_with("https://") || url.starts_with("http://");
    let url = url.replace('|', "%7C");
    if safe {
        format!("<{}|{}>", escape(&url), escape(name))
    } else {
        escape(name)
    }
}

/// A message mirrored into a thread: `(fallback text, blocks)`.
pub fn message(m: &Message) -> (String, Value) {
    let role = m.author_role.replace('_', " ");
    let who = format!("*{}* ({})", escape(&m.author_name), escape(&role));
    let marker = if m.internal {
        "🔒 Internal note · "
    } else {
        ""
    };
    let edited = if m.edited_at.is_some() {
        " _(edited)_"
    } else {
        ""
    };
    let body = escape(&m.body);
    let text = format!("{marker}{who}: {}", clip(&body, 39_000));
    let mut blocks =
        vec![json!({ "type": "context", "elements": [mrkdwn(&format!("{marker}{who}{edited}"))] })];
    blocks.extend(sections(&body));
    if !m.attachments.is_empty() {
        let files: Vec<String> = m
            .attachments
            .iter()
            .map(|a| format!("📎 {} ({} bytes)", file_link(&a.url, &a.name), a.size_bytes))
            .collect();
        blocks.push(json!({ "type": "context", "elements": [mrkdwn(&files.join("\n"))] }));
    }
    (text, Value::Array(blocks))
}

/// The New ticket modal, pre-filled with what the person had.
pub fn new_ticket_modal(departments: &[Department], subject: &str, body: &str) -> Value {
    let mut subject_input =
        json!({ "type": "plain_text_input", "action_id": "value", "max_length": 200 });
    if !subject.is_empty() {
        subject_input["initial_value"] = json!(clip(subject, 200));
    }
    let mut body_input = json!({ "type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": 3000 });
    if !body.is_empty() {
        body_input["initial_value"] = json!(clip(body, 3000));
    }
    let mut blocks = vec![
        json!({ "type": "input", "block_id": "subject", "label": plain("Subject"), "element": subject_input }),
    ];
    let active: Vec<Value> = departments
        .iter()
        .filter(|d| d.active)
        .map(|d| json!({ "text": option_text(&d.name), "value": d.id.0.to_string() }))
        .collect();
    if !active.is_empty() {
        blocks.push(json!({
            "type": "input", "block_id": "department", "optional": true, "label": plain("Department"),
            "element": { "type": "static_select", "action_id": "value", "placeholder": plain("Choose a department"), "options": active },
        }));
    }
    blocks.push(json!({ "type": "input", "block_id": "message", "label": plain("Message"), "element": body_input }));
    blocks.push(json!({
        "type": "input", "block_id": "attachments", "optional": true, "label": plain("Attachments"),
        "element": { "type": "file_input", "action_id": "value", "max_files": 10 },
    }));
    json!({
        "type": "modal", "callback_id": ids::NEW_TICKET_VIEW,
        "title": plain("New ticket"), "submit": plain("Open ticket"), "close": plain("Cancel"),
        "blocks": blocks,
    })
}

/// A slash command's acknowledgement when it is handled afterwards: its
/// answer replaces this (through the command's `response_url`).
pub fn working() -> Value {
    json!({ "response_type": "ephemeral", "text": "⏳ Working on it…" })
}

/// The New ticket modal while the ticket is being opened: replaced by
/// [`opened_modal`], or by the form again with what went wrong.
pub fn opening_modal() -> Value {
    json!({
        "type": "modal", "title": plain("New ticket"), "close": plain("Close"),
        "blocks": [{ "type": "section", "text": mrkdwn("⏳ Opening your ticket…") }],
    })
}

/// The New ticket form again, as typed, with why it was not opened.
pub fn new_ticket_modal_refused(
    departments: &[Department],
    subject: &str,
    body: &str,
    why: &str,
) -> Value {
    let mut view = new_ticket_modal(departments, subject, body);
    if let Some(blocks) = view["blocks"].as_array_mut() {
        blocks.insert(
            0,
            json!({ "type": "section", "text": mrkdwn(&format!("⚠️ {}", escape(why))) }),
        );
    }
    view
}

/// What the New ticket modal turns into once the ticket is open.
pub fn opened_modal(number: TicketNumber, subject: &str) -> Value {
    json!({
        "type": "modal", "title": plain("Ticket opened"), "close": plain("Done"),
        "blocks": [{ "type": "section", "text": mrkdwn(&format!(
            "✅ Your ticket *{number}* “{}” is open. Its card is in your direct messages with me; replies arrive in its thread.",
            escape(subject)
        )) }],
    })
}

/// The Edit subject modal.
pub fn edit_subject_modal(ticket: i64, number: TicketNumber, subject: &str) -> Value {
    json!({
        "type": "modal", "callback_id": ids::EDIT_SUBJECT_VIEW, "private_metadata": ticket.to_string(),
        "title": plain(&format!("Edit {number}")), "submit": plain("Save"), "close": plain("Cancel"),
        "blocks": [{ "type": "input", "block_id": "subject", "label": plain("Subject"),
            "element": { "type": "plain_text_input", "action_id": "value", "max_length": 200, "initial_value": clip(subject, 200) } }],
    })
}

/// The internal note modal.
pub fn note_modal(ticket: i64, number: TicketNumber) -> Value {
    json!({
        "type": "modal", "callback_id": ids::NOTE_VIEW, "private_metadata": ticket.to_string(),
        "title": plain(&format!("Note on {number}")), "submit": plain("Add note"), "close": plain("Cancel"),
        "blocks": [{ "type": "input", "block_id": "message", "label": plain("Internal note (staff only)"),
            "element": { "type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": 3000 } }],
    })
}

/// The saved-reply modal: the replies that fit the ticket, as a select
/// (Slack lists 100), each with the start of its text.
pub fn saved_modal(picker: &threadesk_chat::input::SavedPicker) -> Value {
    let t = &picker.ticket;
    let options: Vec<Value> = picker
        .replies
        .iter()
        .take(100)
        .map(|r| {
            let mut option = json!({ "text": option_text(&r.name), "value": r.id.0.to_string() });
            if !r.preview.trim().is_empty() {
                option["description"] = option_text(&r.preview);
            }
            option
        })
        .collect();
    json!({
        "type": "modal", "callback_id": ids::SAVED_VIEW, "private_metadata": t.id.0.to_string(),
        "title": plain(&format!("Reply on {}", t.number)), "submit": plain("Send"), "close": plain("Cancel"),
        "blocks": [
            { "type": "section", "text": mrkdwn(&format!("*{}* {}", t.number, escape(&clip(&t.subject, 200)))) },
            { "type": "input", "block_id": "saved", "label": plain("Saved reply"),
              "element": { "type": "static_select", "action_id": "value",
                "placeholder": plain("Choose a saved reply"), "options": options } }
        ],
    })
}

/// The Delegates modal: who has access, and a user picker to invite.
pub fn delegates_modal(ticket: i64, number: TicketNumber, delegates: &[Delegate]) -> Value {
    let mut blocks = vec![json!({ "type": "section", "text": mrkdwn(
        "Delegates read the whole public conversation and can reply. Revoking takes effect at once."
    ) })];
    if delegates.is_empty() {
        blocks.push(json!({ "type": "context", "elements": [mrkdwn("Nobody yet.")] }));
    }
    for d in delegates {
        let who = d.display_name();
        let mut row = json!({ "type": "section", "text": mrkdwn(&format!("*{}* · {}", escape(who), d.status.as_str())) });
        if d.status.is_revocable() {
            let mut revoke = button("Revoke", ids::REVOKE, &d.id.0.to_string());
            revoke["style"] = json!("danger");
            row["accessory"] = revoke;
        }
        blocks.push(row);
    }
    blocks.push(json!({
        "type": "input", "block_id": "invitee", "optional": true, "label": plain("Invite someone"),
        "element": { "type": "users_select", "action_id": "value", "placeholder": plain("Choose a person") },
    }));
    json!({
        "type": "modal", "callback_id": ids::DELEGATES_VIEW, "private_metadata": ticket.to_string(),
        "title": plain(&format!("Delegates of {number}")), "submit": plain("Invite"), "close": plain("Done"),
        "blocks": blocks,
    })
}

/// A delegate invitation with Accept / Decline: `(fallback text, blocks)`.
pub fn invitation(delegate: i64, number: TicketNumber, subject: &str, by: &str) -> (String, Value) {
    let text = format!(
        "{} invited you to follow ticket {number} “{}”.",
        escape(by),
        escape(subject)
    );
    let value = delegate.to_string();
    let mut accept = button("Accept", ids::ACCEPT, &value);
    accept["style"] = json!("primary");
    let blocks = json!([
        { "type": "section", "text": mrkdwn(&text) },
        { "type": "actions", "elements": [accept, button("Decline", ids::DECLINE, &value)] },
    ]);
    (text, blocks)
}

/// A short line with no buttons: `(text, blocks)`.
pub fn line(text: &str) -> (String, Value) {
    (
        text.to_owned(),
        json!([{ "type": "section", "text": mrkdwn(text) }]),
    )
}

/// One page of a ticket list. `more` is the value of the "More" button.
pub fn ticket_list(page: &TicketPage) -> Vec<Value> {
    let staff = page.staff;
    let mut blocks =
        vec![json!({ "type": "section", "text": mrkdwn(&format!("*{}*", escape(&page.title))) })];
    if page.items.is_empty() {
        blocks.push(json!({ "type": "context", "elements": [mrkdwn(page.empty)] }));
    }
    for (i, item) in page.items.iter().enumerate() {
        let t = &item.ticket;
        let shared = if item.shared {
            " · shared with you"
        } else {
            ""
        };
        let found = page
            .excerpt(i)
            .map(|e| format!("\n> {}", escape(&clip(e, 200))))
            .unwrap_or_default();
        let mut row = json!({ "type": "section", "text": mrkdwn(&format!(
            "*{}* {}\n{}{}{shared}{found}", t.number, escape(&t.subject), t.status.label_for(staff), page.due(item)
        )) });
        row["accessory"] = button("Follow in DM", ids::FOLLOW, &t.id.0.to_string());
        blocks.push(row);
    }
    if let Some(more) = &page.more {
        blocks.push(
            json!({ "type": "actions", "elements": [button("More", ids::LIST_MORE, &more.to_string())] }),
        );
    }
    blocks
}

/// App Home: open a ticket, and the person's lists.
pub fn home(scope: &str, view: &str, company_admin: bool, list: Vec<Value>) -> Value {
    let mut new = button("Open a support ticket", ids::NEW_TICKET, "");
    new["style"] = json!("primary");
    let mut switches = vec![];
    let scopes: &[(&str, &str)] = if company_admin {
        &[("mine", "My tickets"), ("org", "Owned by organization")]
    } else {
        &[("mine", "My tickets")]
    };
    for (s, label) in scopes {
        for (v, vlabel) in [("active", "Active"), ("closed", "Closed"), ("all", "All")] {
            let mut b = button(
                &format!("{label} · {vlabel}"),
                ids::HOME_VIEW,
                &format!("{s}:{v}"),
            );
            if *s == scope && v == view {
                b["style"] = json!("primary");
            }
            b["action_id"] = json!(format!("{}:{s}:{v}", ids::HOME_VIEW));
            switches.push(b);
        }
    }
    let mut blocks = vec![
        json!({ "type": "header", "text": plain("Support") }),
        json!({ "type": "actions", "elements": [new] }),
        json!({ "type": "actions", "elements": switches }),
        json!({ "type": "divider" }),
    ];
    blocks.extend(list);
    json!({ "type": "home", "blocks": blocks })
}

/// `/ticket help`.
pub fn help(staff: bool) -> String {
    let mut text = String::from(
        "*Threadesk help*\n\
         • `/ticket` — open a new ticket (a form)\n\
         • `/ticket open <subject>` — the same form, subject filled in\n\
         • `/ticket list [mine|org] [active|closed|all]` — your tickets (`org`: all of your organization's, for company ticket admins)\n\
         • `/ticket show #N` — get a ticket's card in your DMs to follow and reply\n\
         • `/ticket close #N` — close a ticket\n\
         • `/ticket rate #N <1-5> [comment]` — rate the help on a ticket of yours that is closed (or its card's buttons; you can change it for 7 days)\n\
         • `/ticket search <words>` — find your tickets by words in their subject or messages (`#N` goes straight to one; narrow with `is:closed`, `status:on_hold`, `owner:mine`, `dept:Billing`, `requester:me`, `after:2026-11-01`)\n\
         • `/ticket help` — this help\n\
         Reply to a ticket in its card's thread. The card's buttons close it (✅ on the card does too), manage delegates and edit the subject.",
    );
    if staff {
        text.push_str(
            "\n\n*For staff*\n\
             • A message of yours that starts with `note:` is an internal note wherever you write it, on every platform (or use the message shortcut *Internal note*)\n\
             • `/ticket queue [department] [status] [mine|unassigned]` — the queue, unanswered first\n\
             • `/ticket claim #N` — take a ticket (or the card's *Claim* button); `/ticket assign #N @user`, `/ticket unassign #N`\n\
             • `/ticket department #N <name>` — move a ticket to another department (its triage card moves to that department's channel)\n\
             • `/ticket status #N <open|in_progress|on_hold|awaiting_client|client_replied>`\n\
             • `/ticket note #N <text>` — an internal note on a ticket\n\
             • `/ticket autoclose #N pause|resume` — keep a ticket that waits on its customer from closing by itself (or let it again)\n\
             • `/ticket reply #N <name>` — answer with a saved reply (without a name, or with the message shortcut *Send saved reply*: choose one from a list); `/ticket saved list | add <name> = <text> | remove <name>` (`{name}`, `{first_name}`, `{ticket}` are filled in)\n\
             • `/ticket admin grant|revoke @user` — company ticket admin\n\
             • `/ticket staff add|remove @user`\n\
             • `/ticket org @user <organization name>` — put someone in an organization\n\
             • `/ticket department list | add <name> | rename <old> = <new> | deactivate <name> | activate <name>`\n\
             • `/ticket link @user <email address>` — the same person by e-mail (portal)",
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_split_into_sections_without_losing_text() {
        let body = format!("{}\n{}", "a".repeat(2500), "b".repeat(7000));
        let blocks = sections(&body);
        let texts: Vec<&str> = blocks
            .iter()
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect();
        assert!(
            texts.iter().all(|t| t.chars().count() <= 3000),
            "{:?}",
            texts.iter().map(|t| t.len()).collect::<Vec<_>>()
        );
        assert_eq!(texts.concat(), body);
        assert_eq!(sections("")[0]["text"]["text"], " ");
    }

    #[test]
    fn attachment_links_are_http_only_and_cannot_be_disguised() {
        assert_eq!(
            file_link("https://x.example/a|b", "f.png"),
            "<https://x.example/a%7Cb|f.png>"
        );
        assert_eq!(file_link("javascript:alert(1)", "f.png"), "f.png");
        assert_eq!(
            file_link("https://x.example/<!channel>", "<b>"),
            "<https://x.example/&lt;!channel&gt;|&lt;b&gt;>"
        );
    }

    #[test]
    fn staff_cards_say_when_to_answer_and_customer_cards_do_not() {
        use threadesk_core::testing::card_facts;
        let mut facts = card_facts(None, false);
        facts.ticket.due_at =
            Some(threadesk_core::time::Timestamp::now().plus_millis(-35 * 60_000));
        let (_, staff) = card(&facts, CardFor::Staff);
        assert!(
            staff.to_string().contains("*Answer*\\noverdue 35 min (by "),
            "{staff}"
        );
        let (_, customer) = card(&facts, CardFor::Customer);
        assert!(!customer.to_string().contains("Answer"), "{customer}");
        facts.ticket.due_at = None;
        let (_, none) = card(&facts, CardFor::Staff);
        assert!(!none.to_string().contains("Answer"), "{none}");
    }

    #[test]
    fn staff_cards_name_the_owner_and_customers_see_a_first_name_only_when_shown() {
        use threadesk_core::testing::card_facts;
        let (_, staff) = card(&card_facts(Some("Sam Support"), false), CardFor::Staff);
        assert!(
            staff.to_string().contains("*Owner*\\nSam Support"),
            "{staff}"
        );
        assert!(staff.to_string().contains(ids::CLAIM));
        let (_, nobody) = card(&card_facts(None, true), CardFor::Staff);
        assert!(nobody.to_string().contains("Unassigned"));
        let (_, hidden) = card(&card_facts(Some("Sam Support"), false), CardFor::Customer);
        assert!(!hidden.to_string().contains("Sam"), "{hidden}");
        assert!(!hidden.to_string().contains(ids::CLAIM));
        let (_, shown) = card(&card_facts(Some("Sam Support"), true), CardFor::Customer);
        assert!(
            shown.to_string().contains("Sam is handling your ticket"),
            "{shown}"
        );
        assert!(!shown.to_string().contains("Support is"), "{shown}");
    }

    #[test]
    fn select_options_fit_slacks_limit() {
        let long = "d".repeat(100);
        assert_eq!(
            option_text(&long)["text"].as_str().unwrap().chars().count(),
            75
        );
    }
}
