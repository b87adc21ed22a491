//! One ticket: its thread as the person may see it, and the actions the
//! engine says they may take.

use super::{capitalized, csrf_field, layout, size, status_badge, when, Chrome};
use maud::{html, Markup, PreEscaped};
use std::collections::HashMap;
use threadesk_core::domain::{
    Action, Delegate, DelegateStatus, Department, Message, Person, Revision, Status, Thread,
};
use threadesk_core::timeline::Change;
use threadesk_core::MessageId;

/// Everything the ticket page shows.
pub(crate) struct TicketPage<'a> {
    pub chrome: Chrome<'a>,
    pub thread: &'a Thread,
    pub department: Option<&'a Department>,
    /// Every department, for staff moving the ticket.
    pub departments: &'a [Department],
    /// The delegates, when the person may manage them.
    pub delegates: Option<&'a [Delegate]>,
    /// Staff only: the requester, for granting company admin.
    pub requester: Option<&'a Person>,
    /// Staff only: people to pick to invite (bounded: see
    /// [`threadesk_core::Engine::invite_choices`]).
    pub invite_choices: &'a [Person],
    /// Staff only: the support team, to assign the ticket to.
    pub team: &'a [Person],
    /// Staff only: who owns the ticket.
    pub owner: Option<&'a Person>,
    /// Customers, when shown: the first name of who handles the ticket.
    pub handled_by: Option<&'a str>,
    /// A refusal to show at the top.
    pub error: Option<String>,
    /// A confirmation to show at the top.
    pub notice: Option<&'a str>,
    /// What the person typed in the reply box, shown again after an error.
    pub draft: &'a str,
    /// Text of a refused change (an edit), shown back so it is not lost.
    pub unsaved: Option<&'a str>,
    /// The earlier texts of edited messages.
    pub revisions: &'a HashMap<MessageId, Vec<Revision>>,
    /// Whether ticket mail goes out.
    pub email_enabled: bool,
    /// Staff only: mail about the ticket that could not be delivered.
    pub mail_failures: &'a [threadesk_core::engine::MailFailure],
    /// Staff only: the saved replies that fit the ticket.
    pub saved_replies: &'a [threadesk_core::domain::SavedReply],
    /// The ticket's rating, for staff and its requester.
    pub rating: Option<&'a threadesk_core::domain::Rating>,
    /// Whether the person may rate the ticket now (the form is offered).
    pub may_rate: bool,
    /// The rating form as the person left it, after a refusal.
    pub rating_draft: super::RatingDraft<'a>,
    /// An older page of the conversation is shown (not the latest).
    pub older_page: bool,
}

fn delegate_status(s: DelegateStatus) -> &'static str {
    match s {
        DelegateStatus::Invited => "Invited",
        DelegateStatus::Accepted => "Accepted",
        DelegateStatus::Declined => "Declined",
        DelegateStatus::Revoked => "Revoked",
    }
}

fn role_label(role: &str) -> &'static str {
    match role {
        "staff" => "Support",
        "requester" => "Requester",
        "delegate" => "Delegate",
        "company_admin" => "Company admin",
        _ => "",
    }
}

/// One thing in the conversation: a message, or a change where it
/// happened.
enum Entry<'a> {
    Message(&'a Message),
    Change(&'a Change),
}

/// Messages and changes in the order they happened.
fn conversation<'a>(messages: &'a [Message], changes: &'a [Change]) -> Vec<Entry<'a>> {
    let mut out = Vec::with_capacity(messages.len() + changes.len());
    let mut pending = changes.iter().peekable();
    for m in messages {
        while let Some(c) = pending.next_if(|c| c.at < m.created_at) {
            out.push(Entry::Change(c));
        }
        out.push(Entry::Message(m));
    }
    out.extend(pending.map(Entry::Change));
    out
}

/// The ticket page.
pub(crate) fn ticket_page(p: TicketPage<'_>) -> Markup {
    let t = &p.thread.ticket;
    let me = p.chrome.me;
    let can = |a: Action| p.thread.allowed.contains(&a) && !t.status.is_closed();
    let base = format!("/tickets/{}", t.number.0);
    let csrf = p.chrome.csrf;
    let opened_by = Some(p.thread.requester_name.as_str()).filter(|n| !n.is_empty());
    let entries = conversation(&p.thread.messages, &p.thread.changes);
    let body = html! {
        div.row {
            h1 { (t.number) " " (t.subject) }
        }
        p.row {
            (status_badge(t.status, me.is_staff))
            @if let Some(d) = p.department { span.muted { "Department: " (d.name) } }
            @if let Some(name) = opened_by { span.muted { "Opened by " (name) " on " (when(t.created_at)) } }
            @if let Some(name) = p.handled_by { span.muted { (name) " is handling your ticket." } }
        }
        @if me.is_staff { (super::ratings::staff_rating(t, p.rating)) }
        p.row.snug.transcript {
            span.muted { "Transcript:" }
            a href={ "/tickets/" (t.number.0) "/transcript" } download { "HTML" }
            a href={ "/tickets/" (t.number.0) "/transcript?format=text" } download { "Text" }
            @if me.is_staff {
                span.muted { "With internal notes:" }
                a href={ "/tickets/" (t.number.0) "/transcript?kind=full" } download { "HTML" }
                a href={ "/tickets/" (t.number.0) "/transcript?kind=full&format=text" } download { "Text" }
            }
        }
        @if let Some(n) = p.notice { p.notice role="status" { (n) } }
        @if let Some(e) = &p.error { p.error role="alert" { (capitalized(e)) "." } }
        @if !p.mail_failures.is_empty() {
            div.error {
                strong { "E-mail problems" }
                ul {
                    @for f in p.mail_failures {
                        li { (f.address) ": " (f.reason) }
                    }
                }
            }
        }
        @if let Some(text) = p.unsaved {
            div.card {
                label for="unsaved" { "What you wrote (not saved)" }
                textarea #unsaved readonly { (text) }
            }
        }
        @if t.status.is_closed() {
            p.notice { "This ticket is closed. " a href="/tickets/new" { "Open a new ticket" } " if you need more help." }
            @if !me.is_staff {
                (super::ratings::requester_rating(t, csrf, p.rating, p.may_rate, &p.rating_draft))
            }
        }
        @if can(Action::EditSubject) {
            details.card {
                summary { "Edit subject" }
                form method="post" action={ (base) "/subject" } {
                    (csrf_field(csrf))
                    label for="subject" { "Subject" }
                    input #subject type="text" name="subject" value=(t.subject) maxlength="200" required;
                    p { button type="submit" { "Save" } }
                }
            }
        }
        section aria-label="Conversation" {
            @if p.thread.earlier {
                @if let Some(first) = p.thread.messages.first() {
                    p.row.snug { a href={ (base) "?before=" (first.id.0) } { "← Earlier messages" } }
                }
            }
            @for entry in &entries {
                @if let Entry::Change(c) = entry {
                    p class={ "change" @if c.internal { " internal" } } {
                        (c.text) " " span.muted { "· " (when(c.at)) @if c.internal { " · staff only" } }
                    }
                }
                @if let Entry::Message(m) = entry {
                article class={ "msg" @if m.author_role == "staff" { " staff" } @if m.internal { " internal" } } id={ "m" (m.id.0) } {
                    div.meta {
                        strong { (m.author_name) } " · " (role_label(&m.author_role))
                        @if m.internal { " · internal note (staff only)" }
                        " · " (when(m.created_at))
                        @if m.edited_at.is_some() { " · edited" }
                    }
                    div.body { (rendered(&m.body)) }
                    @if let Some(revs) = p.revisions.get(&m.id).filter(|r| !r.is_empty()) {
                        details {
                            summary { "Earlier versions (" (revs.len()) ")" }
                            @for r in revs {
                                div.meta { "Version " (r.revision) ", replaced " (when(r.replaced_at)) }
                                div.body { (rendered(&r.body)) }
                            }
                        }
                    }
                    @if !m.attachments.is_empty() {
                        ul {
                            @for a in &m.attachments {
                                li {
                                    @if is_image(&a.content_type) {
                                        // drawn only if its bytes are an image (the route checks).
                                        a.thumb href={ (base) "/files/" (a.id.0) } {
                                            img src={ (base) "/files/" (a.id.0) "?view=inline" } alt={ "Picture: " (a.name) } loading="lazy";
                                        }
                                    }
                                    a href={ (base) "/files/" (a.id.0) } { (a.name) } " " span.muted { "(" (size(a.size_bytes)) ")" }
                                }
                            }
                        }
                    }
                    @if m.author_id == me.id && !t.status.is_closed() {
                        details {
                            summary { "Edit" }
                            form method="post" action={ (base) "/messages/" (m.id.0) "/edit" } {
                                (csrf_field(csrf))
                                textarea name="body" maxlength="16000" aria-label="Edited message" required { (m.body) }
                                button type="submit" { "Save" }
                            }
                        }
                    }
                }
                }
            }
            @if p.older_page {
                p.row.snug { a href=(base) { "Latest messages →" } }
            }
        }
        @if can(Action::Reply) && !p.saved_replies.is_empty() {
            // no script: the page comes back with the reply filled in.
            form.row.saved method="get" action=(base) {
                label.tight for="saved" { "Saved reply" }
                select.narrow #saved name="saved" {
                    @for r in p.saved_replies { option value=(r.id.0) { (r.name) } }
                }
                button.plain type="submit" { "Insert" }
                a href="/staff/replies" { "Manage" }
            }
        }
        @if can(Action::Reply) {
            form.card method="post" action={ (base) "/reply" } enctype="multipart/form-data" {
                (csrf_field(csrf))
                label for="reply" { "Your reply" }
                textarea #reply name="body" maxlength="16000" required { (p.draft) }
                (super::files_field(p.chrome.uploads))
                div.row.spaced {
                    button type="submit" { "Reply" }
                    @if can(Action::Note) {
                        // a second button, styled as internal: a note is
                        // never sent by mistake through a missed checkbox.
                        button.internal type="submit" name="internal" value="1" { "Add internal note" }
                        span.muted { "Notes are for staff only." }
                    }
                }
            }
        }
        // after the reply box: replying is the main thing done here.
        @if can(Action::Close) {
            details.card {
                summary { "Mark as Closed" }
                form method="post" action={ (base) "/close" } {
                    (csrf_field(csrf))
                    p { "Closing is final: nobody can reply afterwards." }
                    button.danger type="submit" { "Yes, close ticket " (t.number) }
                }
            }
        }
        @if let Some(delegates) = p.delegates {
            section.card aria-label="Delegates" {
                h2 { "Delegates" }
                @if delegates.is_empty() { p.muted { "Nobody else follows this ticket." } }
                @if !delegates.is_empty() {
                    table {
                        @for d in delegates {
                            tr {
                                td { (d.display_name()) }
                                td {
                                    (delegate_status(d.status))
                                    @if d.status == DelegateStatus::Invited && d.person_id.is_none() {
                                        div.muted {
                                            @if p.email_enabled {
                                                "No account yet: they accept with the link in the invitation mail (it works for 7 days), which also signs them in."
                                            } @else {
                                                "No account yet, and e-mail is off here: they accept once they sign in to the portal with this address."
                                            }
                                        }
                                    }
                                }
                                td {
                                    @if can(Action::ManageDelegates) && d.status.is_revocable() {
                                        form.inline method="post" action={ (base) "/delegates/" (d.id.0) "/revoke" } {
                                            (csrf_field(csrf)) button.danger type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if can(Action::ManageDelegates) {
                    form method="post" action={ (base) "/delegates" } {
                        (csrf_field(csrf))
                        label for="invite-email" { "Invite by e-mail" }
                        input #invite-email type="email" name="email" placeholder="name@example.com";
                        p.muted {
                            @if p.email_enabled {
                                "They get the invitation by e-mail."
                            } @else {
                                "E-mail is off on this deployment: no invitation is mailed; they see it under Invitations once they sign in with that address."
                            }
                        }
                        @if !p.invite_choices.is_empty() {
                            label for="invite-person" { "…or an existing person" }
                            select #invite-person name="person" {
                                option value="" { "Choose a person" }
                                @for person in p.invite_choices {
                                    option value=(person.id.0) { (person.display_name) }
                                }
                            }
                        }
                        p { button type="submit" { "Invite" } }
                    }
                }
            }
        }
        @if me.is_staff && !t.status.is_closed() {
            section.card aria-label="Staff" {
                h2 { "Staff" }
                @if can(Action::Assign) {
                    @let owner = p.owner;
                    form.row method="post" action={ (base) "/owner" } {
                        (csrf_field(csrf))
                        span { "Owner: " strong { (owner.map_or("nobody yet", |o| o.display_name.as_str())) } }
                        @if let Some(due) = t.due_at {
                            " " span { "Answer: " (super::staff::due_cell(Some(due), threadesk_core::time::Timestamp::now())) }
                        }
                        @if t.owner_id != Some(me.id) {
                            input type="hidden" name="owner" value="me";
                            button.plain type="submit" { "Claim" }
                        }
                    }
                    form.row method="post" action={ (base) "/owner" } {
                        (csrf_field(csrf))
                        label.tight for="owner" { "Assign to" }
                        select.narrow #owner name="owner" {
                            option value="" selected[t.owner_id.is_none()] { "Nobody" }
                            @for s in p.team {
                                option value=(s.id.0) selected[t.owner_id == Some(s.id)] { (s.display_name) }
                            }
                        }
                        button.plain type="submit" { "Assign" }
                    }
                }
                @if can(Action::Move) {
                    form.row method="post" action={ (base) "/department" } {
                        (csrf_field(csrf))
                        label.tight for="department" { "Department" }
                        select.narrow #department name="department" {
                            option value="" selected[t.department_id.is_none()] { "None" }
                            @for d in p.departments.iter().filter(|d| d.active || Some(d.id) == t.department_id) {
                                option value=(d.id.0) selected[t.department_id == Some(d.id)] { (d.name) }
                            }
                        }
                        button.plain type="submit" { "Move" }
                    }
                }
                @if can(Action::SetStatus) {
                    form.row method="post" action={ (base) "/status" } {
                        (csrf_field(csrf))
                        label.tight for="status" { "Status" }
                        select.narrow #status name="status" {
                            @for s in Status::ALL.into_iter().filter(|s| !s.is_closed()) { option value=(s.as_str()) selected[s == t.status] { (s.label()) } }
                        }
                        button.plain type="submit" { "Set status" }
                    }
                    // automatic closing: what is due, and the switch.
                    @if t.auto_close_paused || t.auto_close_at.is_some() {
                        form.row method="post" action={ (base) "/auto-close" } {
                            (csrf_field(csrf))
                            @if t.auto_close_paused {
                                span { "Automatic closing is paused." }
                                input type="hidden" name="paused" value="0";
                                button.plain type="submit" { "Resume automatic closing" }
                            } @else if let Some(at) = t.auto_close_at {
                                span {
                                    @if t.reminded { "Reminded; closes automatically on " } @else { "Reminds the customer on " }
                                    (threadesk_core::time::when(at)) "."
                                }
                                input type="hidden" name="paused" value="1";
                                button.plain type="submit" { "Pause automatic closing" }
                            }
                        }
                    }
                }
                @if let Some(r) = p.requester {
                    @if r.org_id.is_some() {
                        form.row method="post" action={ "/staff/people/" (r.id.0) "/company-admin" } {
                            (csrf_field(csrf))
                            input type="hidden" name="back" value=(base);
                            @if r.is_company_admin {
                                span { (r.display_name) " is a company ticket admin." }
                                input type="hidden" name="admin" value="0";
                                button.danger type="submit" { "Revoke company admin" }
                            } @else {
                                span { (r.display_name) " is not a company ticket admin." }
                                input type="hidden" name="admin" value="1";
                                button.plain type="submit" { "Grant company admin" }
                            }
                        }
                    } @else {
                        p.muted { (r.display_name) " belongs to no organization." }
                    }
                }
            }
        }
    };
    layout(
        &format!("{} {}", t.number, t.subject),
        Some(&p.chrome),
        body,
    )
}

/// A message's text: the Markdown people type, as safe HTML (everything
/// not in the subset escaped).
fn rendered(body: &str) -> Markup {
    PreEscaped(threadesk_core::markdown::to_html(body))
}

/// Whether an attachment says it is a picture a browser draws (SVG is not
/// one: it can carry script).
fn is_image(content_type: &str) -> bool {
    matches!(
        content_type.trim().to_ascii_lowercase().as_str(),
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}
