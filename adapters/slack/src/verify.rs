//! Every request from Slack is signed: `X-Slack-Signature` is
//! `v0=` + HMAC-SHA256 over `v0:{X-Slack-Request-Timestamp}:{body}` with the
//! app's signing secret. The check is slack-morphism's verifier (constant
//! time, timestamp within 5 minutes); refusals answer 401 and log only that
//! a request was refused, never a signature.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use slack_morphism::SlackSigningSecret;
use std::sync::Arc;

/// The largest body accepted from Slack.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The verifier, shared by the routes.
#[derive(Clone)]
pub struct Verifier(Arc<SlackEventSignatureVerifier>);

impl Verifier {
    /// A verifier for the app's signing secret.
    pub fn new(secret: &str) -> Self {
        Verifier(Arc::new(SlackEventSignatureVerifier::new(
            &SlackSigningSecret::new(secret.to_owned()),
        )))
    }
}

/// Middleware: refuses unsigned, forged, stale and oversized requests, and
/// hands the body on untouched.
pub async fn signed(State(verifier): State<Verifier>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request too large").into_response();
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER),
        header(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP),
    ) else {
        tracing::warn!(target: "audit", path = %parts.uri.path(), "unsigned slack request refused");
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if verifier.0.verify(signature, text, timestamp).is_err() {
        tracing::warn!(target: "audit", path = %parts.uri.path(), "slack request with a bad or stale signature refused");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
