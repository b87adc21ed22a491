//! Search: the box on the lists, and the results page.

use super::{day, layout, status_badge, when, Chrome};
use maud::{html, Markup};
use threadesk_core::domain::Page;
use threadesk_core::domain::{Department, Organization, Person, Status, View};
use threadesk_core::engine::{OwnerFilter, SearchHit, SearchQuery};

/// The search box the lists and the queue carry.
pub(crate) fn search_box(words: &str) -> Markup {
    html! {
        form.row.search method="get" action="/search" role="search" {
            label.tight for="q" { "Search" }
            input #q type="search" name="q" value=(words) maxlength="200"
                placeholder="Words in subjects and messages, or #1042";
            button.plain type="submit" { "Search" }
        }
    }
}

/// The results page: the query, its filters and one page of tickets.
pub(crate) struct SearchPage<'a> {
    pub chrome: Chrome<'a>,
    pub query: &'a SearchQuery,
    /// Staff only: the filters that need names.
    pub departments: &'a [Department],
    pub staff: &'a [Person],
    pub organizations: &'a [Organization],
    pub page: Page<SearchHit>,
    /// The query string of this search without `after`, for the next page.
    pub filter_query: String,
}

fn view_name(view: View) -> &'static str {
    match view {
        View::Active => "active",
        View::Closed => "closed",
        View::All => "all",
    }
}

/// The results.
pub(crate) fn search_page(p: SearchPage<'_>) -> Markup {
    let staff = p.chrome.me.is_staff;
    let q = p.query;
    let body = html! {
        h1 { "Search" }
        form.card method="get" action="/search" role="search" {
            label for="q" { "Words " span.muted { "(in subjects and messages; #1042 opens that ticket)" } }
            input #q type="search" name="q" value=(q.words) maxlength="200";
            div.filters {
                span.pair {
                    label.tight for="view" { "Tickets" }
                    select.narrow #view name="view" {
                        @for (v, label) in [(View::All, "All"), (View::Active, "Active"), (View::Closed, "Closed")] {
                            option value=(view_name(v)) selected[q.view == v] { (label) }
                        }
                    }
                }
                span.pair {
                    label.tight for="status" { "Status" }
                    select.narrow #status name="status" {
                        option value="" { "Any" }
                        @for s in Status::ALL { option value=(s.as_str()) selected[q.status == Some(s)] { (s.label_for(staff)) } }
                    }
                }
                @if staff {
                    span.pair {
                        label.tight for="department" { "Department" }
                        select.narrow #department name="department" {
                            option value="" { "Any" }
                            @for d in p.departments { option value=(d.id.0) selected[q.department == Some(d.id)] { (d.name) } }
                        }
                    }
                    span.pair {
                        label.tight for="owner" { "Owner" }
                        select.narrow #owner name="owner" {
                            option value="" { "Anybody" }
                            option value="mine" selected[q.owner == Some(OwnerFilter::Mine)] { "Mine" }
                            option value="unassigned" selected[q.owner == Some(OwnerFilter::Unassigned)] { "Unassigned" }
                            @for s in p.staff { option value=(s.id.0) selected[q.owner == Some(OwnerFilter::Person(s.id))] { (s.display_name) } }
                        }
                    }
                    span.pair {
                        label.tight for="org" { "Organization" }
                        select.narrow #org name="org" {
                            option value="" { "Any" }
                            @for o in p.organizations { option value=(o.id.0) selected[q.organization == Some(o.id)] { (o.name) } }
                        }
                    }
                }
                span.pair {
                    label.tight for="from" { "Opened from" }
                    input.narrow #from type="date" name="from" value=(q.from.map(day).unwrap_or_default());
                }
                span.pair {
                    label.tight for="to" { "to" }
                    input.narrow #to type="date" name="to" value=(q.to.map(|t| day(t.plus_millis(-1))).unwrap_or_default());
                }
                @if let Some(r) = q.requester { input type="hidden" name="requester" value=(r.0); }
                button type="submit" { "Search" }
            }
        }
        @if p.page.items.is_empty() {
            p.card.muted { "No tickets with those words." }
        } @else {
            table.results.stack {
                thead { tr { th { "Ticket" } th { "Subject" } th { "Status" } th { "Last activity" } } }
                tbody {
                    @for hit in &p.page.items {
                        @let t = &hit.item.ticket;
                        tr {
                            td data-label="Ticket" { (t.number) }
                            td data-label="Subject" {
                                a href={ "/tickets/" (t.number.0) } { (t.subject) }
                                @if hit.item.shared { " " span.shared title="Shared with you" { "shared with you" } }
                                @if let Some(e) = &hit.excerpt {
                                    p.excerpt.muted {
                                        @if hit.internal { span.internal-mark { "Internal note: " } }
                                        (e)
                                    }
                                }
                            }
                            td data-label="Status" { (status_badge(t.status, staff)) }
                            td.muted data-label="Last activity" { (when(t.last_activity_at)) }
                        }
                    }
                }
            }
            @if let Some(next) = p.page.next {
                p { a href={ "/search?" (p.filter_query) "&after=" (next) } { "More results →" } }
            }
        }
    };
    layout("Search", Some(&p.chrome), body)
}
