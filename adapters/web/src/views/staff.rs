//! Staff pages: the queue, and people, organizations and departments.

use super::{csrf_field, layout, sort_header, status_badge, when, Chrome};
use maud::{html, Markup};
use threadesk_core::domain::{
    Department, Organization, Page, Person, Rating, Status, TicketListItem,
};
use threadesk_core::engine::{OwnerFilter, Sort, SortBy};
use threadesk_core::{DepartmentId, PersonId, TicketId};

/// The staff queue: unanswered first, filtered by department and status.
pub(crate) struct QueuePage<'a> {
    pub chrome: Chrome<'a>,
    pub departments: &'a [Department],
    pub department: Option<DepartmentId>,
    pub status: Option<Status>,
    /// Whose tickets (none: anybody's).
    pub owner: Option<OwnerFilter>,
    /// The support team, to name owners and filter by them.
    pub staff: &'a [Person],
    /// The requesters of the tickets shown.
    pub requesters: &'a std::collections::HashMap<PersonId, Person>,
    /// Every organization, to name them.
    pub organizations: &'a [Organization],
    /// The ratings of the tickets shown, when the list shows closed
    /// tickets (the Rating column).
    pub ratings: Option<&'a std::collections::HashMap<TicketId, Rating>>,
    pub page: Page<TicketListItem>,
    /// The query string of the current filter (without the order), for
    /// the next-page and sorting links.
    pub filter_query: String,
    /// The order shown.
    pub sort: Sort,
}

/// A due time in a queue row: "due in 2 h", or "overdue 35 min" marked.
pub(crate) fn due_cell(
    due: Option<threadesk_core::time::Timestamp>,
    now: threadesk_core::time::Timestamp,
) -> Markup {
    match due {
        None => html! { span.muted { "—" } },
        Some(d) if d < now => {
            html! { strong.overdue { (threadesk_core::service::due_words(d, now)) } }
        }
        Some(d) => html! { span { (threadesk_core::service::due_words(d, now)) } },
    }
}

/// The queue page.
pub(crate) fn queue_page(p: QueuePage<'_>) -> Markup {
    let now = threadesk_core::time::Timestamp::now();
    let dept_name = |id: Option<DepartmentId>| {
        id.and_then(|id| p.departments.iter().find(|d| d.id == id))
            .map(|d| d.name.as_str())
            .unwrap_or("—")
    };
    let owner_name = |id: Option<PersonId>| match id {
        None => "Unassigned",
        Some(id) => p
            .staff
            .iter()
            .find(|s| s.id == id)
            .map_or("(former staff)", |s| s.display_name.as_str()),
    };
    let base = format!("/staff?{}&", p.filter_query);
    let body = html! {
        h1 { "Staff queue" }
        (super::search_box(""))
        form.row method="get" action="/staff" {
            label.tight for="department" { "Department" }
            select.narrow #department name="department" {
                option value="" { "All" }
                @for d in p.departments {
                    option value=(d.id.0) selected[p.department == Some(d.id)] { (d.name) @if !d.active { " (inactive)" } }
                }
            }
            label.tight for="status" { "Status" }
            select.narrow #status name="status" {
                option value="" { "Not closed" }
                @for s in Status::ALL { option value=(s.as_str()) selected[p.status == Some(s)] { (s.label()) } }
            }
            label.tight for="owner" { "Owner" }
            select.narrow #owner name="owner" {
                option value="" { "Anybody" }
                option value="mine" selected[p.owner == Some(OwnerFilter::Mine)] { "Mine" }
                option value="unassigned" selected[p.owner == Some(OwnerFilter::Unassigned)] { "Unassigned" }
                @for s in p.staff {
                    option value=(s.id.0) selected[p.owner == Some(OwnerFilter::Person(s.id))] { (s.display_name) }
                }
            }
            label.tight for="sort" { "Order" }
            select.narrow #sort name="sort" { (super::sort_options(p.sort, |_| true)) }
            button.plain type="submit" { "Filter" }
        }
        @if p.page.items.is_empty() {
            p.card.muted { "Nothing waiting." }
        } @else {
            table.stack {
                thead { tr {
                    (sort_header("Ticket", SortBy::Number, p.sort, &base))
                    th { "Subject" }
                    th { "Requester" }
                    (sort_header("Department", SortBy::Department, p.sort, &base))
                    (sort_header("Owner", SortBy::Owner, p.sort, &base))
                    (sort_header("Status", SortBy::Status, p.sort, &base))
                    (sort_header("Answer", SortBy::Due, p.sort, &base))
                    (sort_header("Last activity", SortBy::Activity, p.sort, &base))
                    @if p.ratings.is_some() { th { "Rating" } }
                } }
                tbody {
                    @for item in &p.page.items {
                        tr {
                            td data-label="Ticket" { (item.ticket.number) }
                            td data-label="Subject" { a href={ "/tickets/" (item.ticket.number.0) } { (item.ticket.subject) } }
                            td data-label="Requester" {
                                (p.requesters.get(&item.ticket.requester_id).map_or("—", |r| r.display_name.as_str()))
                                @if let Some(org) = item.ticket.org_id.and_then(|o| p.organizations.iter().find(|x| x.id == o)) {
                                    div.muted { (org.name) }
                                }
                            }
                            td data-label="Department" { (dept_name(item.ticket.department_id)) }
                            td data-label="Owner" { (owner_name(item.ticket.owner_id)) }
                            td data-label="Status" { (status_badge(item.ticket.status, true)) }
                            td data-label="Answer" { (due_cell(item.ticket.due_at, now)) }
                            td.muted data-label="Last activity" { (when(item.ticket.last_activity_at)) }
                            @if let Some(ratings) = p.ratings {
                                td data-label="Rating" {
                                    @match ratings.get(&item.ticket.id) {
                                        Some(r) => (super::ratings::stars_cell(r.score)),
                                        None => span.muted { "—" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = p.page.next {
                p { a href={ "/staff?" (p.filter_query) "&sort=" (p.sort) "&after=" (next) } { "More →" } }
            }
        }
    };
    layout("Staff queue", Some(&p.chrome), body)
}

/// The people page: a page of the directory (what was looked for, from
/// where), the organizations and the departments.
pub(crate) struct PeoplePageView<'a> {
    pub chrome: Chrome<'a>,
    pub found: &'a threadesk_core::engine::PeoplePage,
    pub find: &'a str,
    pub from: usize,
    pub orgs: &'a [Organization],
    pub departments: &'a [Department],
    pub notice: Option<&'a str>,
}

/// People, organizations and departments, for staff.
pub(crate) fn people_page(v: PeoplePageView<'_>) -> Markup {
    let PeoplePageView {
        chrome,
        found,
        find,
        from,
        orgs,
        departments,
        notice,
    } = v;
    let (people, addresses) = (&found.people, &found.addresses);
    let csrf = chrome.csrf;
    let me: PersonId = chrome.me.id;
    let find_query =
        percent_encoding::utf8_percent_encode(find, percent_encoding::NON_ALPHANUMERIC).to_string();
    let body = html! {
        h1 { "People & departments" }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        section.card aria-label="People" {
            h2 { "People" }
            form.row method="get" action="/staff/people" role="search" {
                input.narrow type="search" name="find" value=(find) placeholder="Name or e-mail" aria-label="Find people by name or e-mail";
                button.plain type="submit" { "Find" }
                @if !find.is_empty() { a href="/staff/people" { "Everybody" } }
            }
            @if people.is_empty() {
                p.muted { @if find.is_empty() { "Nobody yet." } @else { "Nobody's name or e-mail contains “" (find) "”." } }
            }
            table {
                thead { tr { th { "Name and e-mail" } th { "Organization" } th { "Company ticket admin" } th { "Staff" } } }
                tbody {
                    @for person in people {
                        tr {
                            td {
                                (person.display_name)
                                @if let Some(list) = addresses.get(&person.id) {
                                    div.muted.address { (list.join(", ")) }
                                }
                            }
                            td {
                                form.row method="post" action={ "/staff/people/" (person.id.0) "/organization" } {
                                    (csrf_field(csrf))
                                    select.narrow name="org" aria-label={ "Organization of " (person.display_name) } {
                                        option value="" { "None" }
                                        @for o in orgs { option value=(o.id.0) selected[person.org_id == Some(o.id)] { (o.name) } }
                                    }
                                    button.plain type="submit" { "Set" }
                                }
                            }
                            td {
                                @if person.org_id.is_some() {
                                    form.inline method="post" action={ "/staff/people/" (person.id.0) "/company-admin" } {
                                        (csrf_field(csrf))
                                        input type="hidden" name="back" value="/staff/people";
                                        @if person.is_company_admin {
                                            input type="hidden" name="admin" value="0";
                                            "Yes " button.danger type="submit" { "Revoke" }
                                        } @else {
                                            input type="hidden" name="admin" value="1";
                                            "No " button.plain type="submit" { "Grant" }
                                        }
                                    }
                                } @else { span.muted { "needs an organization" } }
                            }
                            td {
                                @if person.id != me {
                                    form.inline method="post" action={ "/staff/people/" (person.id.0) "/staff" } {
                                        (csrf_field(csrf))
                                        @if person.is_staff {
                                            input type="hidden" name="staff" value="0";
                                            "Yes " button.danger type="submit" { "Remove" }
                                        } @else {
                                            input type="hidden" name="staff" value="1";
                                            "No " button.plain type="submit" { "Make staff" }
                                        }
                                    }
                                } @else { "Yes (you)" }
                            }
                        }
                    }
                }
            }
            @if from > 0 || found.more {
                p.row {
                    @if from > 0 {
                        a href={ "/staff/people?find=" (find_query) "&from=" (from.saturating_sub(threadesk_core::engine::PEOPLE_AT_ONCE)) } { "← Earlier" }
                    }
                    @if found.more {
                        a href={ "/staff/people?find=" (find_query) "&from=" (from + people.len()) } { "More →" }
                    }
                }
            }
        }
        section.card aria-label="Organizations" {
            h2 { "Organizations" }
            ul { @for o in orgs { li { (o.name) } } }
            form.row method="post" action="/staff/organizations" {
                (csrf_field(csrf))
                input.narrow type="text" name="name" placeholder="New organization" aria-label="New organization" required;
                button.plain type="submit" { "Create" }
            }
        }
        section.card aria-label="Departments" {
            h2 { "Departments" }
            @for d in departments {
                div.row.snug {
                    form.row method="post" action={ "/staff/departments/" (d.id.0) "/rename" } {
                        (csrf_field(csrf))
                        input.narrow type="text" name="name" value=(d.name) aria-label={ "Name of " (d.name) } required;
                        button.plain type="submit" { "Rename" }
                    }
                    form.inline method="post" action={ "/staff/departments/" (d.id.0) "/active" } {
                        (csrf_field(csrf))
                        @if d.active {
                            input type="hidden" name="active" value="0";
                            button.danger type="submit" { "Deactivate" }
                        } @else {
                            input type="hidden" name="active" value="1";
                            span.muted { "inactive " } button.plain type="submit" { "Reactivate" }
                        }
                    }
                }
            }
            form.row method="post" action="/staff/departments" {
                (csrf_field(csrf))
                input.narrow type="text" name="name" placeholder="New department" aria-label="New department" required;
                button.plain type="submit" { "Create" }
            }
        }
    };
    layout("People & departments", Some(&chrome), body)
}

/// The saved replies page: every reply, a form to keep a new one (or
/// change one by its name), and a Remove button each.
pub(crate) struct SavedRepliesPage<'a> {
    pub chrome: Chrome<'a>,
    pub replies: &'a [threadesk_core::domain::SavedReply],
    pub departments: &'a [Department],
    pub notice: Option<&'a str>,
    /// A refusal, with what was typed.
    pub error: Option<&'a str>,
    pub name: &'a str,
    pub body: &'a str,
}

/// The saved replies page.
pub(crate) fn saved_replies_page(p: SavedRepliesPage<'_>) -> Markup {
    let csrf = p.chrome.csrf;
    let dept_name = |id: Option<DepartmentId>| match id {
        None => "Every department".to_owned(),
        Some(id) => p
            .departments
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| "—".to_owned(), |d| d.name.clone()),
    };
    let body = html! {
        h1 { "Saved replies" }
        @if let Some(n) = p.notice { p.notice role="status" { (n) } }
        @if let Some(e) = p.error { p.error role="alert" { (super::capitalized(e)) "." } }
        @if p.replies.is_empty() {
            p.card.muted { "No saved replies yet." }
        }
        @for r in p.replies {
            section.card aria-label=(r.name) {
                h2 { (r.name) " " span.muted { "· " (dept_name(r.department_id)) } }
                div.body { (r.body) }
                div.row.spaced {
                    form.inline method="post" action={ "/staff/replies/" (r.id.0) "/remove" } {
                        (csrf_field(csrf))
                        button.plain type="submit" { "Remove" }
                    }
                }
            }
        }
        form.card method="post" action="/staff/replies" {
            (csrf_field(csrf))
            h2 { "Keep a reply" }
            p.muted { "Saving a name that exists (in the same place) changes that reply. "
                "{name}, {first_name} and {ticket} are filled in with the requester's name and the ticket's number." }
            label for="saved-name" { "Name" }
            input #saved-name type="text" name="name" value=(p.name) maxlength="100" required;
            label for="saved-department" { "For" }
            select #saved-department name="department" {
                option value="" { "Every department" }
                @for d in p.departments { option value=(d.id.0) { (d.name) } }
            }
            label for="saved-body" { "Text" }
            textarea #saved-body name="body" maxlength="16000" required { (p.body) }
            p { button type="submit" { "Save" } }
        }
    };
    layout("Saved replies", Some(&p.chrome), body)
}
