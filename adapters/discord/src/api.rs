//! Discord's REST API through serenity's HTTP client, which keeps Discord's
//! rate limits (a 429 is waited out and the request sent again). Bodies and
//! answers are plain JSON, so a field serenity does not model is never lost.

use crate::config::{DiscordConfig, SetupError, DEFAULT_API_URL};
use serde_json::Value;
use serenity::builder::CreateAttachment;
use serenity::http::{HttpBuilder, LightMethod, Multipart, MultipartUpload, Request, Route};
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
    Refused(Refusal),
}

/// What was refused, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Discord answered with an error status and a JSON error, e.g.
    /// `403 /api/v10/channels/1 (code 50001: Missing Access)`.
    #[error("{status} {path} (code {code}: {message})")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The request's path, without its query, interaction tokens hidden.
        path: String,
        /// Discord's JSON error code, e.g. 50001 (Missing Access).
        code: i64,
        /// Discord's error message.
        message: String,
    },
    /// The request was not sent: it could not be made (a bad id, a body
    /// that is no JSON).
    #[error("{0}")]
    NotSent(String),
}

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Refusal::NotSent(why)
    }
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Self {
        Refusal::NotSent(why.to_owned())
    }
}

impl ApiError {
    /// Discord's JSON error code, when it refused with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Refused(Refusal::Http { code, .. }) => Some(*code),
            ApiError::Refused(Refusal::NotSent(_)) | ApiError::Transient(_) => None,
        }
    }
}

fn classify(e: serenity::Error) -> ApiError {
    use serenity::http::HttpError;
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            let refusal = Refusal::Http {
                status,
                path: redact_path(r.url.split('?').next().unwrap_or_default()),
                code: r.error.code as i64,
                message: r.error.message,
            };
            // 401: a token being replaced; 429 after the limiter's own waits.
            if status >= 500 || status == 429 || status == 401 || status == 408 {
                ApiError::Transient(refusal.to_string())
            } else {
                ApiError::Refused(refusal)
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
    /// Requests sent, for [`DiscordApi::forget_spent_limits`] every
    /// [`FORGET_SPENT_EVERY`] of them.
    sent: Arc<std::sync::atomic::AtomicU64>,
}

/// How many requests go between two sweeps of serenity's rate-limit
/// buckets ([`DiscordApi::forget_spent_limits`]).
pub const FORGET_SPENT_EVERY: u64 = 256;

impl DiscordApi {
    /// A client for the configured origin, with serenity's rate limiter on.
    pub fn new(config: &DiscordConfig) -> Result<Self, SetupError> {
        Ok(DiscordApi {
            http: Arc::new(build_http(config)?),
            sent: Arc::default(),
        })
    }

    /// Forgets the rate-limit buckets whose window is over; how many went.
    /// serenity keeps one per route and channel it has called and never lets
    /// one go, and every ticket has its own thread (a channel): without this
    /// the map grows with every ticket for as long as the process runs (0.65
    /// MiB after the soak's first 135,000 events, and growing). A bucket
    /// whose window is over
    /// holds nothing back (its count is full again), so the route's next
    /// request starts a fresh one, as its first did; a bucket still
    /// counting down, or held by a request in flight, stays. Runs by itself
    /// every [`FORGET_SPENT_EVERY`] requests.
    pub async fn forget_spent_limits(&self) -> usize {
        let Some(limiter) = &self.http.ratelimiter else {
            return 0;
        };
        let routes = limiter.routes();
        let mut routes = routes.write().await;
        let before = routes.len();
        let now = std::time::SystemTime::now();
        routes.retain(|_, bucket| {
            Arc::strong_count(bucket) > 1
                || bucket
                    .try_lock()
                    .map_or(true, |b| b.reset().is_some_and(|at| at > now))
        });
        if routes.capacity() > 2 * routes.len() + 64 {
            routes.shrink_to_fit();
        }
        before - routes.len()
    }

    /// How many rate-limit buckets serenity holds now.
    pub async fn rate_limit_buckets(&self) -> usize {
        match &self.http.ratelimiter {
            Some(limiter) => limiter.routes().read().await.len(),
            None => 0,
        }
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
            .map_err(|e| ApiError::Refused(e.to_string().into()))?;
        self.send(Request::new(route, method).body(body).params(params))
            .await
    }

    /// One call with a file, as `multipart/form-data`: the JSON body as the
    /// part `payload_json`, the file as the part `files[0]` (the body's
    /// `attachments` names it with id 0); the JSON answer.
    pub async fn call_with_file(
        &self,
        route: Route<'_>,
        method: LightMethod,
        payload: &Value,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<Value, ApiError> {
        let payload_json =
            serde_json::to_string(payload).map_err(|e| ApiError::Refused(e.to_string().into()))?;
        let form = Multipart {
            upload: MultipartUpload::Attachments(vec![CreateAttachment::bytes(
                bytes.to_vec(),
                file_name,
            )]),
            fields: vec![],
            payload_json: Some(payload_json),
        };
        self.send(Request::new(route, method).multipart(Some(form)))
            .await
    }

    /// Sends a request; its JSON answer (`null` for 204).
    async fn send(&self, req: Request<'_>) -> Result<Value, ApiError> {
        let sent = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if sent % FORGET_SPENT_EVERY == FORGET_SPENT_EVERY - 1 {
            self.forget_spent_limits().await;
        }
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
pub fn build_http(config: &DiscordConfig) -> Result<serenity::http::Http, SetupError> {
    Ok(HttpBuilder::new(&config.token)
        .client(reqwest_client(config)?)
        .application_id(ApplicationId::new(config.application_id.max(1)))
        .build())
}

/// The HTTP client: Discord's own address by default; another origin is
/// reached by resolving discord.com to it, so every route serenity builds
/// (and its rate limiter) stays as it is, and TLS still checks the name
/// discord.com against the trusted roots (plus the configured extra one).
fn reqwest_client(config: &DiscordConfig) -> Result<reqwest::Client, SetupError> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30));
    if config.api_url != DEFAULT_API_URL {
        let url = url::Url::parse(&config.api_url).map_err(SetupError::ApiUrl)?;
        let host = url.host_str().ok_or(SetupError::ApiUrlHost)?;
        let port = url.port_or_known_default().unwrap_or(443);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|reason| SetupError::Resolve {
                url: config.api_url.clone(),
                reason,
            })?
            .collect();
        b = b.resolve_to_addrs("discord.com", &addrs);
    }
    if let Some(pem) = &config.extra_root_pem {
        let cert = reqwest::Certificate::from_pem(pem).map_err(SetupError::Certificate)?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(SetupError::Client)
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
        let e = ApiError::Refused(Refusal::Http {
            status: 403,
            path: "/api/v10/channels/1".into(),
            code: 50001,
            message: "Missing Access".into(),
        });
        assert_eq!(e.code(), Some(50001));
        assert_eq!(
            e.to_string(),
            "discord refused: 403 /api/v10/channels/1 (code 50001: Missing Access)"
        );
        assert_eq!(ApiError::Refused("bad message id".into()).code(), None);
        assert_eq!(ApiError::Transient("x".into()).code(), None);
    }
}
