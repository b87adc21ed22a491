//! The portal's routes. Handlers parse the request, call the engine (which
//! checks every right), and render a page or redirect after a change
//! (post/redirect/get, so a reload never repeats a command).

mod list;
mod ratings;
mod search;
mod signin;
mod staff;
mod ticket;

use crate::error::WebError;
use crate::session::Me;
use crate::views::Chrome;
use crate::{Portal, SignIn};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::Markup;

/// A GET on a form's address (a refreshed result, a bookmarked action):
/// the page the form belongs to, not a bare 405.
async fn form_page(uri: axum::http::Uri) -> Redirect {
    Redirect::to(&page_of_form(uri.path()))
}

/// The page a form's address belongs to.
fn page_of_form(path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["tickets", n, ..] if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("/tickets/{n}")
        }
        ["staff", "replies", ..] => "/staff/replies".to_owned(),
        ["staff", ..] => "/staff/people".to_owned(),
        ["invitations", ..] => "/invitations".to_owned(),
        ["signin", ..] => "/signin".to_owned(),
        _ => "/tickets".to_owned(),
    }
}

/// Every route of the portal.
pub(crate) fn router() -> Router<Portal> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tickets") }))
        .route("/signin", get(signin::page).post(signin::submit))
        .route("/signout", get(form_page).post(signin::sign_out))
        .route(
            "/signout/everywhere",
            get(form_page).post(signin::sign_out_everywhere),
        )
        .route("/signin/link", get(form_page).post(signin::send_link))
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
        .route(
            "/invitations/{id}/accept",
            get(form_page).post(list::accept),
        )
        .route(
            "/invitations/{id}/decline",
            get(form_page).post(list::decline),
        )
        .route("/tickets/{number}", get(ticket::show))
        .route(
            "/tickets/{number}/reply",
            get(form_page).post(ticket::reply),
        )
        .route(
            "/tickets/{number}/close",
            get(form_page).post(ticket::close),
        )
        .route(
            "/tickets/{number}/subject",
            get(form_page).post(ticket::subject),
        )
        .route(
            "/tickets/{number}/status",
            get(form_page).post(ticket::status),
        )
        .route(
            "/tickets/{number}/rating",
            get(form_page).post(ratings::rate),
        )
        .route(
            "/tickets/{number}/auto-close",
            get(form_page).post(ticket::auto_close),
        )
        .route(
            "/tickets/{number}/owner",
            get(form_page).post(ticket::owner),
        )
        .route(
            "/tickets/{number}/department",
            get(form_page).post(ticket::department),
        )
        .route(
            "/tickets/{number}/messages/{id}/edit",
            get(form_page).post(ticket::edit_message),
        )
        .route(
            "/tickets/{number}/delegates",
            get(form_page).post(ticket::invite),
        )
        .route(
            "/tickets/{number}/delegates/{id}/revoke",
            get(form_page).post(ticket::revoke),
        )
        .route("/tickets/{number}/files/{id}", get(ticket::file))
        .route("/tickets/{number}/transcript", get(ticket::transcript))
        .route("/search", get(search::search))
        .route("/staff", get(staff::queue))
        .route("/staff/people", get(staff::people))
        .route("/staff/ratings", get(ratings::report))
        // the closing mail links here (one link per score): keep these paths.
        .route(
            "/rate/{token}",
            get(ratings::link).post(ratings::rate_by_link),
        )
        .route(
            "/staff/people/{id}/company-admin",
            get(form_page).post(staff::company_admin),
        )
        .route(
            "/staff/people/{id}/staff",
            get(form_page).post(staff::set_staff),
        )
        .route(
            "/staff/people/{id}/organization",
            get(form_page).post(staff::organization),
        )
        .route(
            "/staff/organizations",
            get(form_page).post(staff::create_organization),
        )
        .route(
            "/staff/departments",
            get(form_page).post(staff::create_department),
        )
        .route(
            "/staff/replies",
            get(staff::saved_replies).post(staff::save_saved_reply),
        )
        .route(
            "/staff/replies/{id}/remove",
            get(form_page).post(staff::remove_saved_reply),
        )
        .route(
            "/staff/departments/{id}/rename",
            get(form_page).post(staff::rename_department),
        )
        .route(
            "/staff/departments/{id}/active",
            get(form_page).post(staff::department_active),
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
    /// The largest file, and the most in one form, in bytes.
    uploads: (u64, u64),
}

impl Frame {
    pub async fn load(portal: &Portal, me: &Me) -> Result<Frame, WebError> {
        // read with the session's check when this request made it.
        let invitations = match me.invitations {
            Some(n) => n,
            None => portal.engine().invitation_count(me.person.id).await?,
        };
        Ok(Frame {
            csrf: me.session.csrf(&portal.config().session_key),
            invitations,
            local: portal.config().sign_in == SignIn::Local,
            uploads: (
                portal.engine().settings().max_attachment_bytes,
                u64::try_from(portal.config().max_upload_bytes).unwrap_or(u64::MAX),
            ),
        })
    }

    pub fn chrome<'a>(&'a self, me: &'a Me) -> Chrome<'a> {
        Chrome {
            me: &me.person,
            csrf: &self.csrf,
            local: self.local,
            invitations: self.invitations,
            uploads: self.uploads,
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

#[cfg(test)]
mod tests {
    use super::page_of_form;

    #[test]
    fn a_form_address_leads_back_to_its_page() {
        assert_eq!(page_of_form("/tickets/1004/reply"), "/tickets/1004");
        assert_eq!(
            page_of_form("/tickets/1004/delegates/3/revoke"),
            "/tickets/1004"
        );
        assert_eq!(page_of_form("/tickets/%2F%2Fevil/close"), "/tickets");
        assert_eq!(page_of_form("/staff/departments/2/rename"), "/staff/people");
        assert_eq!(page_of_form("/invitations/7/accept"), "/invitations");
        assert_eq!(page_of_form("/signout"), "/tickets");
        assert_eq!(page_of_form("/signin/link"), "/signin");
    }
}
