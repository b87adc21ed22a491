//! Discord's REST API through serenity's HTTP client, which keeps Discord's
//! rate limits (a 429 is waited out and the request sent again). Bodies and
//! answers are plain JSON, so a field serenity does not model is never lost.

use crate::config::{DiscordConfig, DEFAULT_API_URL};
use serde_json::Value;
use serenity::http::{HttpBuilder, LightMethod, Request, Route};
use serenity::model::id::ApplicationId;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Worth trying again later: Discord down or slow, rate limited past
    /// the retries, the token being fixed.
    #[error("discord unavailable: {0}")]
    Transient(String),
    /// Discord refused this request for good (missing access, unknown
    /// channel, invalid body).
    #[error("discord refused: {0}")]
    Refused(String),
}

impl ApiError {
    /// Discord's JSON error code, when it refused with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Refused(s) => s
                .split_once("code ")
                .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok()),
            ApiError::Transient(_) => None,
        }
    }
}

fn classify(e: serenity::Error) -> ApiError {
    use serenity::http::HttpError;
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            let what = format!(
                "{} {} (code {}: {})",
                status,
                redact_path(r.url.split('?').next().unwrap_or_default()),
                r.error.code,
                r.error.message
            );
            // 401: a token being replaced; 429 after the limiter's own waits.
            if status >= 500 || status == 429 || status == 401 || status == 408 {
                ApiError::Transient(what)
            } else {
                ApiError::Refused(what)
            }
        }
        serenity::Error::Http(HttpError::Request(e)) => ApiError::Transient(strip(&e)),
        other => ApiError::Transient(other.to_string()),
    }
}

/// A transport error with its URL's path only, interaction tokens hidden.
fn strip(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), &redact_path(u.path()));
    }
    s
}

/// A URL or path with interaction tokens (which let anyone answer as the
/// app for 15 minutes) replaced by `***`.
pub fn redact_path(url: &str) -> String {
    let mut parts: Vec<String> = url.split('/').map(str::to_owned).collect();
    for i in 0..parts.len() {
        let token_at = match parts[i].as_str() {
            "webhooks" | "interactions" => Some(i + 2),
            _ => None,
        };
        if let Some(t) = token_at.filter(|t| *t < parts.len()) {
            parts[t] = "***".to_owned();
        }
    }
    parts.join("/")
}

/// The REST client.
#[derive(Clone)]
pub struct DiscordApi {
    http: Arc<serenity::http::Http>,
}

impl DiscordApi {
    /// A client for the configured origin, with serenity's rate limiter on.
    pub fn new(config: &DiscordConfig) -> Result<Self, String> {
        Ok(DiscordApi {
            http: Arc::new(build_http(config)?),
        })
    }

    /// serenity's client, for the gateway.
    pub fn http(&self) -> &Arc<serenity::http::Http> {
        &self.http
    }

    /// One call; the JSON answer (`null` for 204).
    pub async fn call(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: Option<&Value>,
        params: Option<Vec<(&'static str, String)>>,
    ) -> Result<Value, ApiError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ApiError::Refused(e.to_string()))?;
        let req = Request::new(route, method).body(body).params(params);
        let response = self.http.request(req).await.map_err(classify)?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ApiError::Transient(strip(&e)))?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Transient(format!("bad JSON: {e}")))
    }
}

/// serenity's HTTP client for the configured origin, rate limiter on.
pub fn build_http(config: &DiscordConfig) -> Result<serenity::http::Http, String> {
    Ok(HttpBuilder::new(&config.token)
        .client(reqwest_client(config)?)
        .application_id(ApplicationId::new(config.application_id.max(1)))
        .build())
}

/// The HTTP client: Discord's own address by default; another origin is
/// reached by resolving discord.com to it, so every route serenity builds
/// (and its rate limiter) stays as it is, and TLS still checks the name
/// discord.com against the trusted roots (plus the configured extra one).
fn reqwest_client(config: &DiscordConfig) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30));
    if config.api_url != DEFAULT_API_URL {
        let url = url::Url::parse(&config.api_url).map_err(|e| e.to_string())?;
        let host = url.host_str().ok_or("DISCORD_API_URL has no host")?;
        let port = url.port_or_known_default().unwrap_or(443);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", config.api_url))?
            .collect();
        b = b.resolve_to_addrs("discord.com", &addrs);
    }
    if let Some(pem) = &config.extra_root_pem {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| e.to_string())?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_tokens_never_reach_a_message() {
        assert_eq!(
            redact_path(
                "https://discord.com/api/v10/webhooks/83/aW50ZXJhY3Rpb24/messages/@original"
            ),
            "https://discord.com/api/v10/webhooks/83/***/messages/@original"
        );
        assert_eq!(
            redact_path("/api/v10/interactions/11/secret-token/callback"),
            "/api/v10/interactions/11/***/callback"
        );
        assert_eq!(
            redact_path("/api/v10/channels/1/messages"),
            "/api/v10/channels/1/messages"
        );
    }

    #[test]
    fn refusal_codes_are_read() {
        let e = ApiError::Refused("403 /api/v10/channels/1 (code 50001: Missing Access)".into());
        assert_eq!(e.code(), Some(50001));
        assert_eq!(ApiError::Transient("x".into()).code(), None);
    }
}
