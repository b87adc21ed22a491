//! `POST /teams/messages` on the bot's listener: the Bot Framework's
//! messaging endpoint. The token is checked before anything is read into
//! an activity; a refusal answers 401 or 403 with no effect, and no token
//! is logged. Bodies over 1 MiB are refused.

use crate::auth::{Expected, Refusal};
use crate::inbound::parse::Activity;
use crate::inbound::Answer;
use crate::TeamsAdapter;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

/// The largest activity accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// The Teams route, ready to merge into the bot's router.
pub fn router(adapter: TeamsAdapter) -> Router {
    Router::new()
        .route("/teams/messages", post(messages))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(adapter)
}

async fn messages(
    State(adapter): State<TeamsAdapter>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(raw) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not an activity").into_response();
    };
    let expected = Expected {
        app_id: &adapter.config().app_id,
        channel: raw["channelId"].as_str().unwrap_or_default(),
        service_url: raw["serviceUrl"].as_str().unwrap_or_default(),
    };
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err(refusal) = adapter.inner.keys.check(authorization, expected).await {
        tracing::warn!(%refusal, "teams request refused");
        let status = match refusal {
            Refusal::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
        };
        return status.into_response();
    }
    let activity = match Activity::try_from(&raw) {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(why = e.0, "teams body is no activity we act on");
            return StatusCode::OK.into_response();
        }
    };
    match adapter.on_activity(activity).await {
        Answer::Ok => StatusCode::OK.into_response(),
        Answer::Json(v) => Json(v).into_response(),
        Answer::Again => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
