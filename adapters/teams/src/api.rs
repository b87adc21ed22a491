//! Outbound: the Bot Connector REST API, spoken directly. A
//! client-credentials token from the tenant's authority (cached until
//! shortly before it expires) goes only to trusted service URLs. 429 waits
//! `Retry-After` (exponential back-off with jitter when absent); 412, 502,
//! 503 and 504 are retried; sends stay under Teams' per-conversation pace
//! (7 a second, 60 in 30 seconds).

use crate::config::TeamsConfig;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The scope of a Bot Connector token.
pub const SCOPE: &str = "https://api.botframework.com/.default";
/// Attempts of one call before it is given back as transient.
const ATTEMPTS: u32 = 5;

/// What went wrong with a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Teams answered with a refusal that a retry will not change.
    #[error("teams refused ({status}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The error code (`BotNotInConversationRoster`, …), if given.
        code: Option<String>,
        /// What Teams said.
        message: String,
    },
    /// Worth trying again later (network, 5xx, rate limit held too long).
    #[error("teams unavailable: {0}")]
    Transient(String),
    /// The service URL is not one the token may be sent to.
    #[error("untrusted service URL {0}")]
    Untrusted(String),
    /// No token: the credentials were refused.
    #[error("no token: {0}")]
    Token(String),
}

impl ApiError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Teams' error code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl threadesk_chat::PlatformError for ApiError {
    fn is_permanent(&self) -> bool {
        matches!(self, ApiError::Refused { .. } | ApiError::Untrusted(_))
    }

    fn is_gone(&self) -> bool {
        self.status() == Some(404)
    }
}

/// Path segments as the Connector wants them: ids with `:`, `;`, `@`
/// and `=` kept, anything else that is not plain escaped.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'/')
    .add(b'?')
    .add(b'#')
    .add(b'%')
    .add(b'"')
    .add(b'<')
    .add(b'>');

/// One path segment.
pub fn segment(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

struct Token {
    value: String,
    until: Instant,
}

/// The Bot Connector client.
pub struct Connector {
    http: reqwest::Client,
    config: TeamsConfig,
    token: Mutex<Option<Token>>,
    pace: std::sync::Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Connector {
    /// A client with the adapter's settings.
    pub fn new(config: &TeamsConfig, http: reqwest::Client) -> Self {
        Connector {
            http,
            config: config.clone(),
            token: Mutex::new(None),
            pace: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// A token for the Bot Connector, cached until five minutes before it
    /// expires.
    pub async fn token(&self) -> Result<String, ApiError> {
        let mut held = self.token.lock().await;
        if let Some(t) = held.as_ref().filter(|t| t.until > Instant::now()) {
            return Ok(t.value.clone());
        }
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.config.login_url.trim_end_matches('/'),
            segment(&self.config.tenant_id)
        );
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.app_id.as_str()),
            ("client_secret", self.config.app_password.as_str()),
            ("scope", SCOPE),
        ];
        let r = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| ApiError::Transient(format!("token authority: {e}")))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let why = body["error"].as_str().unwrap_or("refused").to_owned();
            return Err(if status.is_server_error() {
                ApiError::Transient(format!("token authority: HTTP {status}"))
            } else {
                ApiError::Token(format!("HTTP {status}, {why}"))
            });
        }
        let value = body["access_token"]
            .as_str()
            .ok_or_else(|| ApiError::Token("no access_token in the answer".into()))?
            .to_owned();
        let lasts = body["expires_in"].as_u64().unwrap_or(3600);
        *held = Some(Token {
            value: value.clone(),
            until: Instant::now() + Duration::from_secs(lasts.saturating_sub(300).max(30)),
        });
        Ok(value)
    }

    /// Waits until one more send to a conversation keeps Teams' pace.
    async fn keep_pace(&self, conversation: &str) {
        // a channel thread counts as its channel.
        let key = conversation
            .split(';')
            .next()
            .unwrap_or(conversation)
            .to_owned();
        loop {
            let wait = {
                let mut all = self.pace.lock().unwrap_or_else(|p| p.into_inner());
                if all.len() > 10_000 {
                    all.retain(|_, q| {
                        q.back()
                            .is_some_and(|t| t.elapsed() < Duration::from_secs(30))
                    });
                }
                let q = all.entry(key.clone()).or_default();
                while q
                    .front()
                    .is_some_and(|t| t.elapsed() >= Duration::from_secs(30))
                {
                    q.pop_front();
                }
                let in_second = q
                    .iter()
                    .rev()
                    .take_while(|t| t.elapsed() < Duration::from_secs(1))
                    .count();
                if q.len() >= 60 {
                    Some(Duration::from_secs(30).saturating_sub(q[0].elapsed()))
                } else if in_second >= 7 {
                    let oldest = q[q.len() - in_second];
                    Some(Duration::from_secs(1).saturating_sub(oldest.elapsed()))
                } else {
                    q.push_back(Instant::now());
                    None
                }
            };
            match wait {
                Some(d) => tokio::time::sleep(d + Duration::from_millis(5)).await,
                None => return,
            }
        }
    }

    /// One Connector call: `path` is after `{serviceUrl}/v3`.
    pub async fn call(
        &self,
        service_url: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        if !self.config.trusts(service_url) {
            return Err(ApiError::Untrusted(service_url.to_owned()));
        }
        let url = format!("{}/v3{path}", service_url.trim_end_matches('/'));
        let mut backoff = Duration::from_millis(200);
        for attempt in 1..=ATTEMPTS {
            let token = self.token().await?;
            let mut req = self.http.request(method.clone(), &url).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let r = match req.send().await {
                Ok(r) => r,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::info!(error = %e, "teams call failed; trying again");
                    tokio::time::sleep(jitter(backoff)).await;
                    backoff *= 2;
                    continue;
                }
                Err(e) => return Err(ApiError::Transient(e.to_string())),
            };
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|s| Duration::from_secs_f64(s.clamp(0.0, 60.0)));
            let text = r.text().await.unwrap_or_default();
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match status {
                200..=299 => return Ok(value),
                429 | 412 | 502 | 503 | 504 if attempt < ATTEMPTS => {
                    let wait = retry_after.unwrap_or_else(|| jitter(backoff));
                    tracing::info!(
                        status,
                        wait_ms = wait.as_millis() as u64,
                        "teams asked us to wait"
                    );
                    tokio::time::sleep(wait).await;
                    backoff *= 2;
                }
                401 if attempt == 1 => {
                    // a token revoked early: one more try with a new one.
                    *self.token.lock().await = None;
                }
                s if s >= 500 || s == 429 || s == 412 => {
                    return Err(ApiError::Transient(format!("HTTP {s}")))
                }
                s => {
                    return Err(ApiError::Refused {
                        status: s,
                        code: value["error"]["code"].as_str().map(str::to_owned),
                        message: value["error"]["message"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| text.chars().take(200).collect()),
                    })
                }
            }
        }
        Err(ApiError::Transient("gave up after retries".into()))
    }

    /// `POST /conversations`: a 1:1 chat with a user, or a new thread in
    /// a channel. Its id and, for a thread, the first activity's id.
    pub async fn create_conversation(
        &self,
        service_url: &str,
        parameters: &Value,
    ) -> Result<(String, Option<String>), ApiError> {
        if let Some(channel) = parameters["channelData"]["channel"]["id"].as_str() {
            self.keep_pace(channel).await;
        }
        let v = self
            .call(
                service_url,
                reqwest::Method::POST,
                "/conversations",
                Some(parameters),
            )
            .await?;
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        if id.is_empty() {
            return Err(ApiError::Transient("a conversation without an id".into()));
        }
        Ok((id, v["activityId"].as_str().map(str::to_owned)))
    }

    /// `POST /conversations/{id}/activities`: the new activity's id.
    pub async fn send(
        &self,
        service_url: &str,
        conversation: &str,
        activity: &Value,
    ) -> Result<String, ApiError> {
        self.keep_pace(conversation).await;
        let path = format!("/conversations/{}/activities", segment(conversation));
        let v = self
            .call(service_url, reqwest::Method::POST, &path, Some(activity))
            .await?;
        Ok(v["id"].as_str().unwrap_or_default().to_owned())
    }

    /// `PUT /conversations/{id}/activities/{activityId}`: the bot's own.
    pub async fn update(
        &self,
        service_url: &str,
        conversation: &str,
        activity_id: &str,
        activity: &Value,
    ) -> Result<(), ApiError> {
        self.keep_pace(conversation).await;
        let path = format!(
            "/conversations/{}/activities/{}",
            segment(conversation),
            segment(activity_id)
        );
        let mut body = activity.clone();
        body["id"] = json!(activity_id);
        self.call(service_url, reqwest::Method::PUT, &path, Some(&body))
            .await
            .map(drop)
    }

    /// `DELETE /conversations/{id}/activities/{activityId}`.
    pub async fn delete(
        &self,
        service_url: &str,
        conversation: &str,
        activity_id: &str,
    ) -> Result<(), ApiError> {
        let path = format!(
            "/conversations/{}/activities/{}",
            segment(conversation),
            segment(activity_id)
        );
        self.call(service_url, reqwest::Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    /// `GET /conversations/{id}/members/{userId}`.
    pub async fn member(
        &self,
        service_url: &str,
        conversation: &str,
        user: &str,
    ) -> Result<Value, ApiError> {
        let path = format!(
            "/conversations/{}/members/{}",
            segment(conversation),
            segment(user)
        );
        self.call(service_url, reqwest::Method::GET, &path, None)
            .await
    }
}

/// A wait of `base` to twice `base`.
fn jitter(base: Duration) -> Duration {
    let mut b = [0u8; 2];
    let _ = getrandom::getrandom(&mut b);
    let spread = u64::from(u16::from_le_bytes(b)) % (base.as_millis() as u64 + 1);
    base + Duration::from_millis(spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_teams_punctuation_in_paths() {
        assert_eq!(
            segment("19:abc@thread.tacv2;messageid=1700"),
            "19:abc@thread.tacv2;messageid=1700"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn back_off_waits_between_one_and_two_times_its_base() {
        for _ in 0..50 {
            let d = jitter(Duration::from_millis(100));
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(200));
        }
    }
}
