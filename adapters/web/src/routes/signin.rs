//! Signing in and out.

use super::{form_id, see_other};
use crate::error::WebError;
use crate::session::{self, Session};
use crate::{views, Portal, SignIn};
use axum::extract::{Path, State};
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
            let addresses = portal.engine().all_email_addresses().await?;
            let csrf = session.csrf(&portal.config().session_key);
            Ok(page_ok(views::sign_in_local(
                &csrf, &people, &orgs, &addresses,
            )))
        }
        SignIn::Link if portal.mailer().is_some() => {
            let csrf = session.csrf(&portal.config().session_key);
            Ok(page_ok(views::sign_in_link_form(&csrf, None, None)))
        }
        SignIn::Link => Ok(page_ok(views::sign_in_link())),
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
    let person = portal.engine().person_alone(PersonId(id)).await?;
    let id = person.id.0;
    tracing::event!(target: "audit", tracing::Level::INFO, person.id = id, "portal sign-in in local mode");
    let cookie = session::start(&portal, Some(person.id))?;
    Ok(([(SET_COOKIE, cookie)], see_other(landing(&person))).into_response())
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
    // over on every replica, even where the old cookie is still kept.
    portal
        .engine()
        .system()
        .end_session(
            session.nonce(),
            session.expires_at(portal.config().session_max),
        )
        .await?;
    let cookie = session::start(&portal, None)?;
    Ok(([(SET_COOKIE, cookie)], see_other("/signin")).into_response())
}

/// Ends every session of the signed-in person, on every device.
pub(super) async fn sign_out_everywhere(
    State(portal): State<Portal>,
    session: Session,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    session.check_csrf(&portal.config().session_key, &form.csrf)?;
    if let Some(person) = session.person {
        portal.engine().system().end_all_sessions(person).await?;
    }
    let cookie = session::start(&portal, None)?;
    Ok(([(SET_COOKIE, cookie)], see_other("/signin")).into_response())
}

/// How long a mailed sign-in link works.
const SIGN_IN_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

#[derive(Deserialize)]
pub(super) struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// Link mode: mails a sign-in link to the address given.
pub(super) async fn send_link(
    State(portal): State<Portal>,
    client: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    session: Session,
    Form(form): Form<LinkForm>,
) -> Result<Response, WebError> {
    let Some(mailer) = portal
        .mailer()
        .filter(|_| portal.config().sign_in == SignIn::Link)
    else {
        return Err(WebError::Engine(threadesk_core::EngineError::NotFound(
            "page",
        )));
    };
    session.check_csrf(&portal.config().session_key, &form.csrf)?;
    let csrf = session.csrf(&portal.config().session_key);
    let sent = || {
        page_ok(views::sign_in_link_form(
            &csrf,
            Some("A sign-in link is on its way: open it from your mailbox."),
            None,
        ))
    };
    // asked too often from one place: answered as if sent, nothing sent.
    if client.is_some_and(|c| !portal.clients().allow(c.0 .0.ip())) {
        tracing::info!("sign-in link not sent: this client asked too often");
        return Ok(sent());
    }
    let token = match portal
        .engine()
        .issue_sign_in_token(&form.email, SIGN_IN_LINK_TTL)
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(sent()),
        Err(threadesk_core::EngineError::Invalid(_)) => {
            return Ok(super::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                views::sign_in_link_form(&csrf, None, Some("That is not an e-mail address.")),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = mailer.send_sign_in(form.email.trim(), &token).await {
        tracing::warn!(error = %e, "sign-in link not sent");
        return Ok(super::page(
            StatusCode::SERVICE_UNAVAILABLE,
            views::sign_in_link_form(
                &csrf,
                None,
                Some("The link could not be sent just now; please try again in a moment."),
            ),
        ));
    }
    Ok(sent())
}

pub(super) async fn confirm_link(
    State(portal): State<Portal>,
    session: Session,
) -> Result<Response, WebError> {
    let csrf = session.csrf(&portal.config().session_key);
    Ok(page_ok(views::use_link(
        &csrf,
        "Sign in",
        "Continue to sign in to the support portal.",
        "Sign in",
    )))
}

/// Uses a sign-in link: a new session for the person behind the address.
pub(super) async fn use_link(
    State(portal): State<Portal>,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    session.check_csrf(&portal.config().session_key, &form.csrf)?;
    match portal
        .engine()
        .redeem_link_token(threadesk_core::engine::LinkKind::SignIn, &token)
        .await
    {
        Ok(r) => {
            let id = r.person.id.0;
            tracing::event!(target: "audit", tracing::Level::INFO, person.id = id, "portal sign-in by e-mailed link");
            let cookie = session::start(&portal, Some(r.person.id))?;
            Ok(([(SET_COOKIE, cookie)], see_other(landing(&r.person))).into_response())
        }
        Err(threadesk_core::EngineError::NotFound(_)) => {
            Ok(super::page(StatusCode::NOT_FOUND, views::link_gone()))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn confirm_accept(
    State(portal): State<Portal>,
    session: Session,
) -> Result<Response, WebError> {
    let csrf = session.csrf(&portal.config().session_key);
    Ok(page_ok(views::use_link(
        &csrf,
        "Accept the invitation",
        "You were invited to follow a support ticket: you will see its replies and can answer.",
        "Accept and sign in",
    )))
}

/// Uses an invitation link: signs the invitee in and accepts.
pub(super) async fn use_accept(
    State(portal): State<Portal>,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    answer_invitation(portal, session, token, form, true).await
}

pub(super) async fn confirm_decline(
    State(portal): State<Portal>,
    session: Session,
) -> Result<Response, WebError> {
    let csrf = session.csrf(&portal.config().session_key);
    Ok(page_ok(views::use_link(
        &csrf,
        "Decline the invitation",
        "You were invited to follow a support ticket. Declining tells whoever invited you.",
        "Decline",
    )))
}

/// Uses an invitation's Decline link: signs the invitee in and declines.
pub(super) async fn use_decline(
    State(portal): State<Portal>,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    answer_invitation(portal, session, token, form, false).await
}

async fn answer_invitation(
    portal: Portal,
    session: Session,
    token: String,
    form: CsrfOnly,
    accept: bool,
) -> Result<Response, WebError> {
    use threadesk_core::engine::LinkKind;
    session.check_csrf(&portal.config().session_key, &form.csrf)?;
    let kind = if accept {
        LinkKind::Accept
    } else {
        LinkKind::Decline
    };
    let r = match portal.engine().redeem_link_token(kind, &token).await {
        Ok(r) => r,
        Err(threadesk_core::EngineError::NotFound(_)) => {
            return Ok(super::page(StatusCode::NOT_FOUND, views::link_gone()))
        }
        Err(e) => return Err(e.into()),
    };
    let cookie = session::start(&portal, Some(r.person.id))?;
    let Some(delegate) = r.delegate else {
        return Ok(([(SET_COOKIE, cookie)], see_other("/invitations")).into_response());
    };
    let ctx = threadesk_core::Ctx::new(r.person.id)
        .with_key(format!("web:invitation-link:{}:{accept}", delegate.0));
    let to = if accept {
        match portal.engine().accept_delegation(&ctx, delegate).await {
            Ok(d) => match portal.engine().ticket(r.person.id, d.ticket_id).await {
                Ok(t) => format!("/tickets/{}", t.number.0),
                Err(_) => "/tickets".to_owned(),
            },
            // declined or revoked meanwhile: the invitations page says how it stands.
            Err(_) => "/invitations".to_owned(),
        }
    } else {
        if let Err(e) = portal.engine().decline_delegation(&ctx, delegate).await {
            tracing::info!(error = %e, "invitation not declined by link");
        }
        "/invitations".to_owned()
    };
    Ok(([(SET_COOKIE, cookie)], see_other(&to)).into_response())
}

/// Where a person lands after signing in: staff on the queue, everybody
/// else on their tickets.
fn landing(person: &threadesk_core::domain::Person) -> &'static str {
    if person.is_staff {
        "/staff"
    } else {
        "/tickets"
    }
}
