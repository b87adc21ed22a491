//! The portal's routes. Handlers parse the request, call the engine (which
//! checks every right), and render a page or redirect after a change
//! (post/redirect/get, so a reload never repeats a command).

mod list;
mod signin;
mod staff;
mod ticket;

use crate::error::WebError;
use crate::session::Me;
use crate::views::Chrome;
use crate::{Portal, SignIn};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;

/// Every route of the portal.
pub(crate) fn router() -> Router<Portal> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tickets") }))
        .route("/signin", get(signin::page).post(signin::submit))
        .route("/signout", post(signin::sign_out))
        .route("/signout/everywhere", post(signin::sign_out_everywhere))
        .route("/signin/link", post(signin::send_link))
        .route(
            "/signin/link/{token}",
            get(signin::confirm_link).post(signin::use_link),
        )
        .route(
            "/invitations/accept/{token}",
            get(signin::confirm_accept).post(signin::use_accept),
        )
        .route(
            "/invitations/decline/{token}",
            get(signin::confirm_decline).post(signin::use_decline),
        )
        .route("/tickets", get(list::tickets).post(list::open))
        .route("/tickets/new", get(list::new_form))
        .route("/invitations", get(list::invitations))
        .route("/invitations/{id}/accept", post(list::accept))
        .route("/invitations/{id}/decline", post(list::decline))
        .route("/tickets/{number}", get(ticket::show))
        .route("/tickets/{number}/reply", post(ticket::reply))
        .route("/tickets/{number}/close", post(ticket::close))
        .route("/tickets/{number}/subject", post(ticket::subject))
        .route("/tickets/{number}/status", post(ticket::status))
        .route("/tickets/{number}/owner", post(ticket::owner))
        .route(
            "/tickets/{number}/messages/{id}/edit",
            post(ticket::edit_message),
        )
        .route("/tickets/{number}/delegates", post(ticket::invite))
        .route(
            "/tickets/{number}/delegates/{id}/revoke",
            post(ticket::revoke),
        )
        .route("/tickets/{number}/files/{id}", get(ticket::file))
        .route("/staff", get(staff::queue))
        .route("/staff/people", get(staff::people))
        .route(
            "/staff/people/{id}/company-admin",
            post(staff::company_admin),
        )
        .route("/staff/people/{id}/staff", post(staff::set_staff))
        .route("/staff/people/{id}/organization", post(staff::organization))
        .route("/staff/organizations", post(staff::create_organization))
        .route("/staff/departments", post(staff::create_department))
        .route(
            "/staff/departments/{id}/rename",
            post(staff::rename_department),
        )
        .route(
            "/staff/departments/{id}/active",
            post(staff::department_active),
        )
        .fallback(not_found)
}

async fn not_found() -> Response {
    let page = crate::views::error_page(StatusCode::NOT_FOUND, "page not found");
    (StatusCode::NOT_FOUND, Html(page.into_string())).into_response()
}

/// What every signed-in page's header needs, loaded once per request.
pub(crate) struct Frame {
    csrf: String,
    invitations: usize,
    local: bool,
}

impl Frame {
    pub async fn load(portal: &Portal, me: &Me) -> Result<Frame, WebError> {
        let invitations = portal.engine().my_invitations(me.person.id).await?.len();
        Ok(Frame {
            csrf: me.session.csrf(&portal.config().session_key),
            invitations,
            local: portal.config().sign_in == SignIn::Local,
        })
    }

    pub fn chrome<'a>(&'a self, me: &'a Me) -> Chrome<'a> {
        Chrome {
            me: &me.person,
            csrf: &self.csrf,
            local: self.local,
            invitations: self.invitations,
        }
    }
}

/// A rendered page with a status.
pub(crate) fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A redirect after a change (303: the browser follows with GET).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// An optional form value: empty means absent.
pub(crate) fn present(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty()).then_some(v)
}

/// An id from a form or path; junk reads as "not found" for paths and as
/// a bad request for forms.
pub(crate) fn form_id(value: &str, what: &str) -> Result<Option<i64>, WebError> {
    match present(value) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| WebError::BadRequest(format!("{v:?} is not a valid {what}"))),
    }
}
