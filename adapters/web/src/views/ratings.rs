//! Satisfaction ratings: the form a requester rates a closed ticket with
//! (on its page, or from the closing mail's link without signing in), the
//! rating as staff see it, and the report per department and per owner.

use super::{capitalized, csrf_field, layout, when, Chrome};
use maud::{html, Markup};
use threadesk_core::domain::{score_label, stars, Rating, Ticket, MAX_COMMENT_CHARS};
use threadesk_core::engine::{RatingLink, RatingReport, RatingRow, RATING_WINDOW};
use threadesk_core::time::Timestamp;
use threadesk_core::TicketNumber;

/// The rating form as the person left it: the score chosen (preselected)
/// and the comment typed.
#[derive(Debug, Default)]
pub(crate) struct RatingDraft<'a> {
    pub score: Option<u8>,
    pub comment: &'a str,
}

/// A score in stars and in words: `★★★★☆ (4 of 5: Very good)`.
pub(crate) fn in_words(score: u8) -> String {
    format!("{} ({score} of 5: {})", stars(score), score_label(score))
}

/// Stars alone (a queue cell), with the words for screen readers and on
/// hover.
pub(crate) fn stars_cell(score: u8) -> Markup {
    let words = format!("{score} of 5: {}", score_label(score));
    html! {
        span.stars-shown title=(words) aria-hidden="true" { (stars(score)) }
        span.sr { (words) }
    }
}

/// The five choices and the comment box: radio buttons drawn as stars,
/// each labelled in words for screen readers.
fn rating_fields(draft: &RatingDraft<'_>) -> Markup {
    html! {
        fieldset.stars {
            legend { "Your rating" }
            div.star-row {
                @for score in 1..=5u8 {
                    input #{ "score-" (score) } type="radio" name="score" value=(score) required checked[draft.score == Some(score)];
                    label for={ "score-" (score) } title=(score_label(score)) {
                        span.off aria-hidden="true" { "☆" }
                        span.on aria-hidden="true" { "★" }
                        span.sr { (score) " of 5 stars: " (score_label(score)) }
                    }
                }
            }
            p.muted.snug { "1 star: Poor · 5 stars: Excellent" }
        }
        label for="rating-comment" { "Comment " span.muted { "(optional)" } }
        textarea #rating-comment name="comment" maxlength=(MAX_COMMENT_CHARS) { (draft.comment) }
    }
}

/// A rating's comment, as text.
fn comment(rating: &Rating) -> Markup {
    html! {
        @if let Some(c) = &rating.comment { blockquote.comment { (c) } }
    }
}

/// The last moment a closed ticket's rating may be given or changed.
fn rating_until(ticket: &Ticket) -> Option<Timestamp> {
    let window = i64::try_from(RATING_WINDOW.as_micros()).unwrap_or(i64::MAX);
    ticket
        .closed_at
        .map(|c| Timestamp(c.0.saturating_add(window)))
}

/// The ticket page's rating, for staff: what the requester gave, if any.
pub(crate) fn staff_rating(ticket: &Ticket, rating: Option<&Rating>) -> Markup {
    html! {
        @if let Some(r) = rating {
            section.card.rating aria-label="Rating" {
                p.snug {
                    strong { "Rating: " } (in_words(r.score))
                    span.muted {
                        " · rated " (when(r.created_at))
                        @if r.updated_at != r.created_at { ", changed " (when(r.updated_at)) }
                    }
                }
                (comment(r))
            }
        } @else if ticket.status.is_closed() {
            p.muted.snug { "Not rated yet." }
        }
    }
}

/// The ticket page's rating, for its requester: their rating, and the
/// form while they may rate.
pub(crate) fn requester_rating(
    ticket: &Ticket,
    csrf: &str,
    rating: Option<&Rating>,
    may_rate: bool,
    draft: &RatingDraft<'_>,
) -> Markup {
    let until = rating_until(ticket);
    html! {
        @if may_rate || rating.is_some() {
            section.card.rating aria-label="Rating" {
                h2 { "How did we do?" }
                @if let Some(r) = rating {
                    p {
                        "You rated " (in_words(r.score))
                        @if let (true, Some(until)) = (may_rate, until) {
                            " — you can change it until " (when(until)) "."
                        } @else {
                            "."
                        }
                    }
                    (comment(r))
                }
                @if may_rate {
                    form method="post" action={ "/tickets/" (ticket.number.0) "/rating" } {
                        (csrf_field(csrf))
                        @if rating.is_none() {
                            p.snug { "Please rate the help you got on this ticket, from 1 to 5 stars." }
                        }
                        (rating_fields(draft))
                        p {
                            button type="submit" {
                                @if rating.is_some() { "Change my rating" } @else { "Send rating" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The page a rating link from the closing mail opens: the ticket and the
/// form, nothing used until it is sent.
pub(crate) struct RatingLinkPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub link: &'a RatingLink,
    pub draft: RatingDraft<'a>,
    /// Why the last try was refused.
    pub error: Option<&'a str>,
}

/// The rating link's page.
pub(crate) fn rating_link_page(p: RatingLinkPage<'_>) -> Markup {
    let action = format!(
        "/rate/{}",
        percent_encoding::utf8_percent_encode(p.token, percent_encoding::NON_ALPHANUMERIC)
    );
    let body = html! {
        h1 { "How did we do?" }
        p { "Ticket " strong { (p.link.number) } ": " (p.link.subject) }
        @if let Some(e) = p.error { p.error role="alert" { (capitalized(e)) "." } }
        @if let Some(r) = &p.link.rating {
            p.notice { "You rated it " (in_words(r.score)) " before; sending this changes your rating." }
        }
        form.card method="post" action=(action) {
            (csrf_field(p.csrf))
            (rating_fields(&p.draft))
            p { button type="submit" { "Send rating" } }
        }
        p.muted { "This link works once. You can also rate from the ticket's page after signing in." }
    };
    layout("Rate your ticket", None, body)
}

/// After rating by link.
pub(crate) fn rating_thanks(number: TicketNumber, rating: &Rating) -> Markup {
    let body = html! {
        h1 { "Thank you" }
        p.notice role="status" { "Thanks — you rated ticket " (number) " " (in_words(rating.score)) "." }
        (comment(rating))
        p {
            "To change it, sign in and open "
            a href={ "/tickets/" (number.0) } { "the ticket" } "."
        }
    };
    layout("Thank you", None, body)
}

/// A rating link that was used already, expired, or never was.
pub(crate) fn rating_link_gone() -> Markup {
    let body = html! {
        h1 { "This link no longer works" }
        p.notice {
            "Rating links from our e-mails work once, and only while a rating can still be given (7 days after the ticket closed). "
            "If you already rated with this link, your rating was saved."
        }
        p { "You can rate, or change your rating, from the ticket's page after signing in." }
        p { a href="/signin" { "Sign in" } }
    };
    layout("Link no longer works", None, body)
}

/// The staff report: ratings over a period.
pub(crate) struct ReportPage<'a> {
    pub chrome: Chrome<'a>,
    /// The period's first and last day (`YYYY-MM-DD`), both included.
    pub from: &'a str,
    pub to: &'a str,
    pub report: &'a RatingReport,
}

/// An average to one decimal, or a dash.
fn average(row: &RatingRow) -> String {
    row.average()
        .map_or_else(|| "—".to_owned(), |a| format!("{a:.1}"))
}

/// The column headers of a distribution, 1 to 5 stars.
fn distribution_headers() -> Markup {
    html! {
        @for score in 1..=5u8 {
            th {
                span aria-hidden="true" { (score) "★" }
                span.sr { (score) " stars" }
            }
        }
    }
}

/// A table of rows (departments or owners), `none` naming the row of
/// tickets without one.
fn rows_table(label: &str, rows: &[RatingRow], none: &str) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { "None." }
        } @else {
            table.stack {
                thead { tr {
                    th { (label) } th { "Ratings" } th { "Average" } (distribution_headers())
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td data-label=(label) { (r.name.as_deref().unwrap_or(none)) }
                            td data-label="Ratings" { (r.total()) }
                            td data-label="Average" { (average(r)) }
                            @for (i, n) in r.counts.iter().enumerate() {
                                td data-label={ (i + 1) "★" } { (n) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The ratings report page.
pub(crate) fn report_page(p: ReportPage<'_>) -> Markup {
    let all = &p.report.all;
    let body = html! {
        h1 { "Ratings" }
        form.filters method="get" action="/staff/ratings" {
            span.pair {
                label.tight for="from" { "From" }
                input.narrow #from type="date" name="from" value=(p.from) required;
            }
            span.pair {
                label.tight for="to" { "To" }
                input.narrow #to type="date" name="to" value=(p.to) required;
            }
            button.plain type="submit" { "Show" }
        }
        p.muted { "Ratings given or changed from " (p.from) " to " (p.to) " (UTC), both days included." }
        @if all.total() == 0 {
            p.card.muted { "No ratings in this period." }
        } @else {
            section.card aria-label="All ratings" {
                h2 { "All ratings" }
                p {
                    strong { (all.total()) } @if all.total() == 1 { " rating" } @else { " ratings" }
                    ", on average " strong { (average(all)) } " of 5."
                }
                table.distribution {
                    thead { tr { th { "Stars" } th { "Ratings" } th { "Share" } } }
                    tbody {
                        @for (i, n) in all.counts.iter().enumerate().rev() {
                            @let score = u8::try_from(i + 1).unwrap_or(5);
                            tr {
                                td { (stars_cell(score)) }
                                td { (n) }
                                td {
                                    meter min="0" max=(all.total()) value=(n) { (n) " of " (all.total()) }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-label="By department" {
                h2 { "By department" }
                (rows_table("Department", &p.report.departments, "No department"))
            }
            section.card aria-label="By owner" {
                h2 { "By owner" }
                (rows_table("Owner", &p.report.owners, "Unassigned"))
            }
            section.card aria-label="Latest comments" {
                h2 { "Latest comments" }
                @if p.report.comments.is_empty() {
                    p.muted { "No comments in this period." }
                }
                @for c in &p.report.comments {
                    article.rated {
                        div.row.snug {
                            a href={ "/tickets/" (c.number.0) } { (c.number) " " (c.subject) }
                            (stars_cell(c.rating.score))
                            span.muted { (when(c.rating.updated_at)) }
                        }
                        (comment(&c.rating))
                    }
                }
            }
        }
    };
    layout("Ratings", Some(&p.chrome), body)
}
