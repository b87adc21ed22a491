//! The ticket list, the "Open a support ticket" form and invitations.

use super::{capitalized, csrf_field, layout, sort_header, status_badge, when, Chrome};
use maud::{html, Markup};
use std::collections::HashMap;
use threadesk_core::domain::{Department, Invitation, Page, Person, TicketListItem, View};
use threadesk_core::engine::{Sort, SortBy};
use threadesk_core::{DepartmentId, PersonId};

/// One page of a ticket list.
pub(crate) struct ListPage<'a> {
    pub chrome: Chrome<'a>,
    /// `mine` or `org`.
    pub scope: &'a str,
    pub view: View,
    pub page: Page<TicketListItem>,
    /// Whether the person may use "Owned by organization".
    pub can_org: bool,
    /// The order of "Owned by organization".
    pub sort: Sort,
    /// "Owned by organization": the requesters shown.
    pub requesters: &'a HashMap<PersonId, Person>,
    /// "Owned by organization": owners' names as customers may see them.
    pub owners: &'a HashMap<PersonId, String>,
    /// "Owned by organization": department names.
    pub departments: &'a [Department],
    /// Whether the deployment shows owners to customers.
    pub show_owner: bool,
}

fn view_name(view: View) -> &'static str {
    match view {
        View::Active => "active",
        View::Closed => "closed",
        View::All => "all",
    }
}

/// "My tickets" or "Owned by organization", with Active / Closed / All tabs.
pub(crate) fn ticket_list(p: ListPage<'_>) -> Markup {
    let staff = p.chrome.me.is_staff;
    let org = p.scope == "org";
    let base = format!("/tickets?scope=org&view={}&", view_name(p.view));
    let dept_name = |id: Option<DepartmentId>| {
        id.and_then(|id| p.departments.iter().find(|d| d.id == id))
            .map_or("—", |d| d.name.as_str())
    };
    let body = html! {
        div.row {
            h1 { @if p.scope == "org" { "Owned by organization" } @else { "My tickets" } }
            a.push href="/tickets/new" { "Open a support ticket" }
        }
        @if p.can_org {
            form.row method="get" action="/tickets" {
                label.tight for="scope" { "View" }
                select.narrow #scope name="scope" {
                    option value="mine" selected[p.scope == "mine"] { "My tickets" }
                    option value="org" selected[p.scope == "org"] { "Owned by organization" }
                }
                input type="hidden" name="view" value=(view_name(p.view));
                @if org {
                    label.tight for="sort" { "Order" }
                    select.narrow #sort name="sort" {
                        // no due times for customers; owners where shown.
                        (super::sort_options(p.sort, |s| {
                            s.by != SortBy::Due && (p.show_owner || s.by != SortBy::Owner)
                        }))
                    }
                }
                button.plain type="submit" { "Show" }
            }
        }
        (super::search_box(""))
        nav.tabs aria-label="Ticket state" {
            @for (view, label) in [(View::Active, "Active"), (View::Closed, "Closed"), (View::All, "View all")] {
                a class=@if view == p.view { "on" } href={ "/tickets?scope=" (p.scope) "&view=" (view_name(view)) } { (label) }
            }
        }
        @if p.page.items.is_empty() {
            p.card.muted { "No tickets here." }
        } @else {
            table.stack {
                @if org {
                    thead { tr {
                        (sort_header("Ticket", SortBy::Number, p.sort, &base))
                        th { "Subject" }
                        th { "Requester" }
                        (sort_header("Department", SortBy::Department, p.sort, &base))
                        @if p.show_owner { (sort_header("Handled by", SortBy::Owner, p.sort, &base)) }
                        (sort_header("Status", SortBy::Status, p.sort, &base))
                        (sort_header("Opened", SortBy::Opened, p.sort, &base))
                        (sort_header("Last activity", SortBy::Activity, p.sort, &base))
                    } }
                } @else {
                    thead { tr { th { "Ticket" } th { "Subject" } th { "Status" } th { "Last activity" } } }
                }
                tbody {
                    @for item in &p.page.items {
                        tr {
                            td data-label="Ticket" { (item.ticket.number) }
                            td data-label="Subject" {
                                a href={ "/tickets/" (item.ticket.number.0) } { (item.ticket.subject) }
                                @if item.shared {
                                    " " span.shared title="Shared with you" { "shared with you" }
                                }
                            }
                            @if org {
                                td data-label="Requester" {
                                    (p.requesters.get(&item.ticket.requester_id).map_or("—", |r| r.display_name.as_str()))
                                }
                                td data-label="Department" { (dept_name(item.ticket.department_id)) }
                                @if p.show_owner {
                                    td data-label="Handled by" {
                                        (item.ticket.owner_id.and_then(|o| p.owners.get(&o)).map_or("—", String::as_str))
                                    }
                                }
                            }
                            td data-label="Status" { (status_badge(item.ticket.status, staff)) }
                            @if org {
                                td.muted data-label="Opened" { (when(item.ticket.created_at)) }
                            }
                            td.muted data-label="Last activity" { (when(item.ticket.last_activity_at)) }
                        }
                    }
                }
            }
            @if let Some(next) = p.page.next {
                p { a href={ "/tickets?scope=" (p.scope) "&view=" (view_name(p.view)) "&sort=" (p.sort) "&after=" (next) } { "Older tickets →" } }
            }
        }
    };
    layout("Tickets", Some(&p.chrome), body)
}

/// The "Open a support ticket" form, possibly shown again with an error and
/// everything that was typed.
pub(crate) struct NewTicketForm<'a> {
    pub chrome: Chrome<'a>,
    pub departments: &'a [Department],
    pub subject: &'a str,
    pub department: Option<DepartmentId>,
    pub body: &'a str,
    pub error: Option<String>,
}

/// The new-ticket form.
pub(crate) fn new_ticket(f: NewTicketForm<'_>) -> Markup {
    let body = html! {
        h1 { "Open a support ticket" }
        @if let Some(e) = &f.error { p.error role="alert" { (capitalized(e)) "." } }
        form.card method="post" action="/tickets" enctype="multipart/form-data" {
            (csrf_field(f.chrome.csrf))
            label for="subject" { "Subject" }
            input #subject type="text" name="subject" value=(f.subject) maxlength="200" required;
            @if !f.departments.is_empty() {
                label for="department" { "Department " span.muted { "(optional)" } }
                select #department name="department" {
                    option value="" { "Choose a department" }
                    @for d in f.departments {
                        option value=(d.id.0) selected[f.department == Some(d.id)] { (d.name) }
                    }
                }
            }
            label for="body" { "Message" }
            textarea #body name="body" maxlength="16000" required { (f.body) }
            (super::files_field(f.chrome.uploads))
            p { button type="submit" { "Create ticket" } }
        }
    };
    layout("Open a support ticket", Some(&f.chrome), body)
}

/// Invitations waiting for the person: only the subject shows until they
/// accept.
pub(crate) fn invitations(chrome: Chrome<'_>, list: &[Invitation]) -> Markup {
    let body = html! {
        h1 { "Invitations" }
        @if list.is_empty() {
            p.card.muted { "Nobody has invited you to a ticket." }
        }
        @for inv in list {
            div.card {
                p { strong { (inv.number) " " (inv.subject) } }
                p.muted { (inv.invited_by_name) " invited you to follow this ticket and reply to it." }
                div.row {
                    form.inline method="post" action={ "/invitations/" (inv.delegate_id.0) "/accept" } {
                        (csrf_field(chrome.csrf)) button type="submit" { "Accept" }
                    }
                    form.inline method="post" action={ "/invitations/" (inv.delegate_id.0) "/decline" } {
                        (csrf_field(chrome.csrf)) button.plain type="submit" { "Decline" }
                    }
                }
            }
        }
    };
    layout("Invitations", Some(&chrome), body)
}
