//! Signing in and out.

use super::{form_id, see_other};
use crate::error::WebError;
use crate::session::{self, Session};
use crate::{views, Portal, SignIn};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use threadesk_core::PersonId;

pub(super) async fn page(
    State(portal): State<Portal>,
    session: Session,
) -> Result<Response, WebError> {
    match portal.config().sign_in {
        SignIn::Local => {
            let people = portal.engine().all_people().await?;
            let orgs = portal.engine().organizations().await?;
            let csrf = session.csrf(&portal.config().session_key);
            Ok(page_ok(views::sign_in_local(&csrf, &people, &orgs)))
        }
        SignIn::Link => Ok(page_ok(views::sign_in_link(portal.config().email_enabled))),
    }
}

fn page_ok(markup: maud::Markup) -> Response {
    super::page(StatusCode::OK, markup)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
}

/// Local mode only: become the chosen person, in a new session.
pub(super) async fn submit(
    State(portal): State<Portal>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    if portal.config().sign_in != SignIn::Local {
        return Err(WebError::Engine(threadesk_core::EngineError::NotFound(
            "page",
        )));
    }
    session.check_csrf(&portal.config().session_key, &form.csrf)?;
    let id = form_id(&form.person, "person")?
        .ok_or_else(|| WebError::BadRequest("choose a person".into()))?;
    let person = portal.engine().person(PersonId(id)).await?.person;
    let id = person.id.0;
    tracing::event!(target: "audit", tracing::Level::INFO, person.id = id, "portal sign-in in local mode");
    let cookie = session::start(&portal, Some(person.id))?;
    Ok(([(SET_COOKIE, cookie)], see_other("/tickets")).into_response())
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Ends the session (a new, anonymous one replaces it).
pub(super) async fn sign_out(
    State(portal): State<Portal>,
    session: Session,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    session.check_csrf(&portal.config().session_key, &form.csrf)?;
    let cookie = session::start(&portal, None)?;
    Ok(([(SET_COOKIE, cookie)], see_other("/signin")).into_response())
}
