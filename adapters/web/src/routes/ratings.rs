//! Satisfaction ratings: the requester rates a closed ticket from its page
//! or from a link in the closing mail (no sign-in: the single-use link is
//! the credential, and its form carries the visitor's session token like
//! every other form), and staff read the report.

use super::ticket::{find, render, Drafts};
use super::{page, present, see_other, Frame};
use crate::error::{engine_status, WebError};
use crate::session::{Me, Session, SignedForm};
use crate::views::{self, RatingDraft};
use crate::Portal;
use axum::extract::{Path, Query, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use threadesk_core::time::{day, day_start, Timestamp};
use threadesk_core::EngineError;

/// What the form says when no score was chosen.
const CHOOSE: &str = "choose a rating from 1 to 5 stars";

/// A score as the form sends it; `None` when there is no number to give
/// the engine (nothing chosen, or not a number). Numbers out of range go
/// to the engine, which says why.
fn score_of(text: &str) -> Option<i64> {
    present(text).and_then(|s| s.parse().ok())
}

/// A score to preselect: 1 to 5 only.
fn preselect(text: &str) -> Option<u8> {
    present(text)
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=5).contains(s))
}

#[derive(Deserialize)]
pub(super) struct RatingForm {
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

/// Rates a ticket, or changes the rating, from its page (its requester).
pub(super) async fn rate(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, form }: SignedForm<RatingForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let drafts = || Drafts {
        rating: RatingDraft {
            score: preselect(&form.score),
            comment: &form.comment,
        },
        ..Drafts::default()
    };
    let Some(score) = score_of(&form.score) else {
        let drafts = Drafts {
            refused: Some((StatusCode::UNPROCESSABLE_ENTITY, CHOOSE)),
            ..drafts()
        };
        return render(&portal, &me, &ticket, None, None, drafts).await;
    };
    let rated = portal
        .engine()
        .rate(&me.ctx(), ticket.id, score, present(&form.comment))
        .await;
    match rated {
        Ok(r) => {
            let done = if r.updated_at == r.created_at {
                "rated"
            } else {
                "rating-changed"
            };
            Ok(see_other(&format!(
                "/tickets/{}?done={done}",
                ticket.number.0
            )))
        }
        Err(e) => render(&portal, &me, &ticket, Some(&e), None, drafts()).await,
    }
}

/// A page of a rating link: never cached (it carries the link).
fn link_page(status: StatusCode, markup: maud::Markup) -> Response {
    ([(CACHE_CONTROL, "no-store")], page(status, markup)).into_response()
}

/// An unknown, used or expired rating link.
fn gone() -> Response {
    link_page(StatusCode::NOT_FOUND, views::rating_link_gone())
}

#[derive(Deserialize, Default)]
pub(super) struct LinkQuery {
    /// The score chosen in the mail, preselected.
    #[serde(default)]
    score: String,
}

/// `GET /rate/{token}?score=N`: the ticket and the form with the mail's
/// choice preselected. It rates nothing: mail scanners open links.
pub(super) async fn link(
    State(portal): State<Portal>,
    session: Session,
    Path(token): Path<String>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, WebError> {
    let link = match portal.engine().rating_link(&token).await {
        Ok(l) => l,
        Err(EngineError::NotFound(_)) => return Ok(gone()),
        Err(e) => return Err(e.into()),
    };
    let comment = link
        .rating
        .as_ref()
        .and_then(|r| r.comment.clone())
        .unwrap_or_default();
    let csrf = session.csrf(&portal.config().session_key);
    Ok(link_page(
        StatusCode::OK,
        views::rating_link_page(views::RatingLinkPage {
            csrf: &csrf,
            token: &token,
            link: &link,
            draft: RatingDraft {
                score: preselect(&q.score),
                comment: &comment,
            },
            error: None,
        }),
    ))
}

#[derive(Deserialize)]
pub(super) struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

/// `POST /rate/{token}`: rates through the link, which is used up with
/// the rating (a refusal leaves it usable).
pub(super) async fn rate_by_link(
    State(portal): State<Portal>,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response, WebError> {
    // the session's token: a form posted from another site has neither
    // (the cookie is SameSite=Lax).
    session.check_csrf(&portal.config().session_key, &form.csrf)?;
    let engine = portal.engine();
    let link = match engine.rating_link(&token).await {
        Ok(l) => l,
        Err(EngineError::NotFound(_)) => return Ok(gone()),
        Err(e) => return Err(e.into()),
    };
    let (status, error) = match score_of(&form.score) {
        None => (StatusCode::UNPROCESSABLE_ENTITY, CHOOSE.to_owned()),
        Some(score) => match engine
            .rate_by_link(&token, score, present(&form.comment))
            .await
        {
            Ok(rating) => {
                return Ok(link_page(
                    StatusCode::OK,
                    views::rating_thanks(link.number, &rating),
                ))
            }
            Err(EngineError::NotFound(_)) => return Ok(gone()),
            Err(e) if e.is_internal() => return Err(e.into()),
            Err(e) => (engine_status(&e), e.to_string()),
        },
    };
    let csrf = session.csrf(&portal.config().session_key);
    Ok(link_page(
        status,
        views::rating_link_page(views::RatingLinkPage {
            csrf: &csrf,
            token: &token,
            link: &link,
            draft: RatingDraft {
                score: preselect(&form.score),
                comment: &form.comment,
            },
            error: Some(&error),
        }),
    ))
}

#[derive(Deserialize, Default)]
pub(super) struct ReportQuery {
    /// The period's first day, `YYYY-MM-DD`.
    #[serde(default)]
    from: String,
    /// Its last day, included.
    #[serde(default)]
    to: String,
}

/// One day, in microseconds.
const DAY: i64 = 24 * 3600 * 1_000_000;

/// A date from the report's query, or why not.
fn date(text: &str, default: Timestamp) -> Result<Timestamp, WebError> {
    match present(text) {
        None => Ok(default),
        Some(t) => day_start(t)
            .ok_or_else(|| WebError::BadRequest(format!("{t:?} is not a date; use YYYY-MM-DD"))),
    }
}

/// `GET /staff/ratings`: the ratings of a period (the last 30 days unless
/// asked), in all, per department and per owner, with the latest comments.
pub(super) async fn report(
    State(portal): State<Portal>,
    me: Me,
    Query(q): Query<ReportQuery>,
) -> Result<Response, WebError> {
    let engine = portal.engine();
    let today = Timestamp(engine.now().0.div_euclid(DAY) * DAY);
    let to = date(&q.to, today)?;
    let from = date(&q.from, Timestamp(to.0.saturating_sub(29 * DAY)))?;
    if from > to {
        return Err(WebError::BadRequest(
            "the period starts after it ends; choose a first day on or before the last".into(),
        ));
    }
    let report = engine
        .rating_report(me.person.id, from, Timestamp(to.0.saturating_add(DAY)))
        .await?;
    let frame = Frame::load(&portal, &me).await?;
    Ok(page(
        StatusCode::OK,
        views::report_page(views::ReportPage {
            chrome: frame.chrome(&me),
            from: &day(from),
            to: &day(to),
            report: &report,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbers_reach_the_engine_and_only_one_to_five_is_preselected() {
        assert_eq!(score_of(" 4 "), Some(4));
        assert_eq!(score_of("9"), Some(9), "the engine says why not");
        assert_eq!(score_of(""), None);
        assert_eq!(score_of("four"), None);
        assert_eq!(preselect("5"), Some(5));
        assert_eq!(preselect("0"), None);
        assert_eq!(preselect("6"), None);
        assert_eq!(preselect("<b>"), None);
    }

    #[test]
    fn report_dates_are_days_or_refused() {
        let fallback = Timestamp(7);
        assert_eq!(date("", fallback).unwrap(), fallback);
        assert_eq!(day(date("2026-03-01", fallback).unwrap()), "2026-03-01");
        assert!(date("2026-02-31", fallback).is_err());
        assert!(date("yesterday", fallback).is_err());
    }
}
