//! `POST /discord/interactions`: Discord's HTTP interactions endpoint, on
//! the bot's listener. Each request is checked with the application's
//! Ed25519 public key over timestamp + body (serenity's `Verifier`) and
//! refused when its timestamp is more than 5 minutes away; refusals answer
//! 401 and act on nothing.

use crate::DiscordAdapter;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

/// How far a request's timestamp may be from now.
const MAX_SKEW_SECS: i64 = 300;

/// The routes, when a public key is configured (none otherwise).
pub fn router(adapter: DiscordAdapter) -> Router {
    if adapter.inner.verifier.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/discord/interactions", post(interactions))
        .layer(DefaultBodyLimit::max(1 << 20))
        .with_state(adapter)
}

/// Whether a request carries a valid signature of a fresh timestamp.
pub fn verified(adapter: &DiscordAdapter, headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let Some(verifier) = &adapter.inner.verifier else {
        return false;
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return false;
    };
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now - t).abs() <= MAX_SKEW_SECS);
    fresh && verifier.verify(signature, timestamp, body).is_ok()
}

async fn interactions(
    State(adapter): State<DiscordAdapter>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = threadesk_core::time::Timestamp::now().0 / 1_000_000;
    if !verified(&adapter, &headers, &body, now) {
        tracing::warn!("discord interaction refused: bad or stale signature");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let Ok(interaction) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    Json(adapter.on_interaction(interaction).await).into_response()
}
