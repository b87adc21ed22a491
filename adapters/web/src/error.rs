//! Engine errors and bad requests become pages: a sentence for the person,
//! the cause in the logs only (and only for faults on our side).

use crate::views;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::Markup;
use threadesk_core::EngineError;

/// Why a request did not go through.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebError {
    /// The engine said no (or failed).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The form's CSRF token is missing or not this session's.
    #[error("this form has expired; go back, reload the page and try again")]
    Csrf,
    /// The page needs a signed-in person.
    #[error("please sign in")]
    SignIn,
    /// A malformed request (a bad number in the URL, a broken upload).
    #[error("{0}")]
    BadRequest(String),
    /// A fault on our side; the text is for the logs.
    #[error("something went wrong on our side; please try again")]
    Internal(String),
    /// A page already rendered, e.g. a form shown again with its error and
    /// everything the person typed.
    #[error("{1}")]
    Page(StatusCode, String, Markup),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::Engine(e) => engine_status(e),
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::SignIn => StatusCode::SEE_OTHER,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Page(status, ..) => *status,
        }
    }
}

/// The HTTP status an engine error answers with.
pub(crate) fn engine_status(e: &EngineError) -> StatusCode {
    match e {
        EngineError::NotFound(_) => StatusCode::NOT_FOUND,
        EngineError::NotAllowed(_) | EngineError::StaffOnly(_) | EngineError::NotAuthor => {
            StatusCode::FORBIDDEN
        }
        EngineError::TicketClosed { .. }
        | EngineError::Conflict(_)
        | EngineError::SameStatus(_)
        | EngineError::IdempotencyMismatch => StatusCode::CONFLICT,
        EngineError::Invalid(_) | EngineError::TooManyOpenTickets { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        EngineError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        EngineError::Database(_) | EngineError::Corrupt(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What an error page said, kept on its response so that the session
/// layer, which knows who is signed in, can draw it again inside the
/// portal's frame (header, navigation).
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            WebError::SignIn | WebError::Page(..) => None,
            WebError::Internal(_) => Some(WebError::Internal(String::new()).to_string()),
            other => Some(other.to_string()),
        };
        let mut response = self.page(status);
        if let Some(message) = message {
            response
                .extensions_mut()
                .insert(Refusal { status, message });
        }
        response
    }
}

impl WebError {
    fn page(self, status: StatusCode) -> Response {
        match self {
            WebError::SignIn => Redirect::to("/signin").into_response(),
            WebError::Page(status, _, page) => (status, Html(page.into_string())).into_response(),
            WebError::Internal(cause) => {
                tracing::error!(error = %cause, "portal request failed");
                let text = WebError::Internal(String::new()).to_string();
                (status, Html(views::error_page(status, &text).into_string())).into_response()
            }
            WebError::Engine(e) => {
                if e.is_internal() {
                    tracing::error!(error = ?e, "portal request failed in the engine");
                }
                (
                    status,
                    Html(views::error_page(status, &e.to_string()).into_string()),
                )
                    .into_response()
            }
            other => (
                status,
                Html(views::error_page(status, &other.to_string()).into_string()),
            )
                .into_response(),
        }
    }
}
