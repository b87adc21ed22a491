//! HTTP mode: `POST /slack/commands`, `/slack/interactions` and
//! `/slack/events` on the bot's listener, each signature-checked.
//!
//! Slack wants an answer within 3 seconds. The engine's work is quick, so a
//! handler normally answers with its result; if it takes longer than
//! [`inbound::ANSWER_BUDGET`], Slack gets a plain acknowledgement and the work goes
//! on (a redelivery would find it done: every command is idempotent). An
//! event, which Slack delivers again only when it was not acknowledged, is
//! acknowledged past the budget only once it is stored for late handling
//! ([`SlackAdapter::on_event`]); one not handled for a reason on our side
//! gets `503`, so that Slack delivers it again.

use crate::inbound::{self, Answer};
use crate::verify::{signed, Verifier};
use crate::SlackAdapter;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{middleware, Json, Router};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;

/// The Slack routes, ready to merge into the bot's router.
pub fn router(adapter: SlackAdapter) -> Router {
    let verifier = Verifier::new(&adapter.config().signing_secret);
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .route("/slack/events", post(events))
        .route_layer(middleware::from_fn_with_state(verifier, signed))
        .with_state(adapter)
}

async fn within_budget<F>(work: F) -> Response
where
    F: Future<Output = Answer> + Send + 'static,
{
    respond(inbound::within_budget(work).await)
}

fn respond(answer: Answer) -> Response {
    match answer {
        Answer::Ack => StatusCode::OK.into_response(),
        Answer::Json(v) => Json(v).into_response(),
        Answer::Again => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn commands(
    State(adapter): State<SlackAdapter>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    within_budget(async move { adapter.on_command(&form).await }).await
}

async fn interactions(
    State(adapter): State<SlackAdapter>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(payload) = form
        .get("payload")
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
    else {
        return (StatusCode::BAD_REQUEST, "no interaction payload").into_response();
    };
    within_budget(async move { adapter.on_interaction(&payload).await }).await
}

async fn events(State(adapter): State<SlackAdapter>, Json(envelope): Json<Value>) -> Response {
    // within the budget, or not acknowledged before it is durable.
    respond(adapter.on_event(&envelope).await)
}
