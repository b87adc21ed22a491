//! The Slack Web API, through slack-morphism's hyper client: JSON for the
//! methods that take it, query strings for the read methods that do not.
//! A 429 is waited out (`Retry-After`) and retried by slack-morphism's rate
//! controller; what still fails comes back as [`ApiError`], which tells a
//! failure worth retrying from one that is not.

use crate::config::SlackConfig;
use serde_json::{json, Value};
use slack_morphism::errors::SlackClientError;
use slack_morphism::hyper_tokio::SlackClientHyperConnector;
use slack_morphism::prelude::SlackApiRateControlConfig;
use slack_morphism::{
    SlackApiToken, SlackApiTokenValue, SlackClient, SlackClientApiCallContext,
    SlackClientHttpConnector,
};
use std::sync::Arc;

type Connector = SlackClientHyperConnector<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

/// How many times a 429 is waited out before the call counts as failed.
const RATE_LIMIT_RETRIES: usize = 5;

/// A failed Web API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Worth retrying later: Slack is down, slow, or still rate limiting.
    #[error("slack is unavailable: {why}")]
    Transient {
        /// What failed: Slack's error code, an HTTP status, or what was
        /// missing from the answer.
        why: String,
    },
    /// Slack answered `ok: false` with this error code (or the call was
    /// not made, for the reason given as the code).
    #[error("slack refused the call: {code}")]
    Refused {
        /// Slack's error code, e.g. `channel_not_found`.
        code: String,
    },
}

impl ApiError {
    /// A failure worth retrying later, for this reason.
    pub(crate) fn transient(why: impl Into<String>) -> Self {
        ApiError::Transient { why: why.into() }
    }

    /// A refusal with this error code.
    pub(crate) fn refused(code: impl Into<String>) -> Self {
        ApiError::Refused { code: code.into() }
    }

    /// The error code of a refused call.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Refused { code } => Some(code),
            ApiError::Transient { .. } => None,
        }
    }
}

fn classify(e: SlackClientError) -> ApiError {
    // never the response body: it can echo what we sent.
    match e {
        SlackClientError::ApiError(e) => match e.code.as_str() {
            "ratelimited"
            | "internal_error"
            | "fatal_error"
            | "service_unavailable"
            | "request_timeout"
            // a token an admin is fixing: worth waiting for, not dropping.
            | "invalid_auth"
            | "not_authed"
            | "token_revoked"
            | "token_expired"
            | "account_inactive" => ApiError::transient(e.code),
            _ => ApiError::refused(e.code),
        },
        SlackClientError::HttpError(e) => ApiError::transient(format!("http {}", e.status_code)),
        SlackClientError::RateLimitError(_) => ApiError::transient("rate limited"),
        SlackClientError::HttpProtocolError(_) => ApiError::transient("connection failed"),
        SlackClientError::EndOfStream(_) => ApiError::transient("connection closed"),
        SlackClientError::ProtocolError(_) => ApiError::transient("unreadable answer"),
        other => ApiError::transient(other.to_string()),
    }
}

/// The Web API with our bot token.
#[derive(Clone)]
pub struct SlackApi {
    client: Arc<SlackClient<Connector>>,
    base: Option<url::Url>,
    bot: SlackApiToken,
    app: Option<SlackApiToken>,
}

impl SlackApi {
    /// A client for the configured API base; plain http is allowed so the
    /// base may point at a proxy or a test server on loopback.
    pub fn new(config: &SlackConfig) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector = SlackClientHyperConnector::with_connector(https)
            .with_slack_api_url(config.api_url.trim_end_matches('/'))
            .with_rate_control(
                SlackApiRateControlConfig::new().with_max_retries(RATE_LIMIT_RETRIES),
            );
        Ok(SlackApi {
            client: Arc::new(SlackClient::new(connector)),
            base: config.api_url.parse().ok(),
            bot: SlackApiToken::new(SlackApiTokenValue::new(config.bot_token.clone())),
            app: config
                .app_token
                .as_ref()
                .map(|t| SlackApiToken::new(SlackApiTokenValue::new(t.clone()))),
        })
    }

    /// A write method, with a JSON body.
    pub async fn post(&self, method: &str, body: Value) -> Result<Value, ApiError> {
        self.post_as(&self.bot, method, body).await
    }

    async fn post_as(
        &self,
        token: &SlackApiToken,
        method: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        let session = self.client.open_session(token);
        session
            .http_session_api
            .http_post(method, &body, None)
            .await
            .map_err(classify)
    }

    /// A read method, with query parameters.
    pub async fn get(&self, method: &str, params: &[(&str, &str)]) -> Result<Value, ApiError> {
        let session = self.client.open_session(&self.bot);
        let params: Vec<(&str, Option<&str>)> =
            params.iter().map(|(k, v)| (*k, Some(*v))).collect();
        session
            .http_session_api
            .http_get(method, &params, None)
            .await
            .map_err(classify)
    }

    /// Answers an interaction through its `response_url` (replacing an
    /// ephemeral message, say). Only Slack's own hooks host, or the host of
    /// the configured API base, is ever called: a payload cannot make the bot
    /// post elsewhere.
    pub async fn respond(&self, response_url: &str, body: Value) -> Result<(), ApiError> {
        let url: url::Url = response_url
            .parse()
            .map_err(|_| ApiError::refused("response_url is not a URL"))?;
        let slack = url.scheme() == "https" && url.host_str() == Some("hooks.slack.com");
        let ours = self
            .base
            .as_ref()
            .is_some_and(|b| b.origin() == url.origin());
        if !(slack || ours) {
            return Err(ApiError::refused("response_url is not Slack's"));
        }
        let span = tracing::debug_span!("slack response_url");
        let context = SlackClientApiCallContext {
            rate_control_params: None,
            token: None,
            tracing_span: &span,
            is_sensitive_url: true,
        };
        self.client
            .http_api
            .connector
            .http_post_uri::<Value, Value>(url, &body, context)
            .await
            .map(drop)
            .map_err(classify)
    }

    /// Posts a message that a retry can find again: it carries `token` in
    /// its metadata (`find_delivery`). Returns its `ts`.
    pub async fn post_delivery(&self, mut body: Value, token: &str) -> Result<String, ApiError> {
        body["metadata"] =
            json!({ "event_type": DELIVERY_EVENT, "event_payload": { "token": token } });
        self.post_message(body).await
    }

    /// Posts a message; returns its `ts`.
    pub async fn post_message(&self, mut body: Value) -> Result<String, ApiError> {
        body["unfurl_links"] = json!(false);
        body["unfurl_media"] = json!(false);
        let answer = self.post("chat.postMessage", body).await?;
        string_at(&answer, "ts")
    }

    /// Rewrites a message the bot posted.
    pub async fn update_message(&self, body: Value) -> Result<(), ApiError> {
        self.post("chat.update", body).await.map(drop)
    }

    /// A message only `user` sees.
    pub async fn post_ephemeral(&self, body: Value) -> Result<(), ApiError> {
        self.post("chat.postEphemeral", body).await.map(drop)
    }

    /// The direct-message channel with a user.
    pub async fn open_dm(&self, user: &str) -> Result<String, ApiError> {
        let answer = self
            .post("conversations.open", json!({ "users": user }))
            .await?;
        answer["channel"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::transient("conversations.open gave no channel"))
    }

    /// Opens a modal for an interaction.
    pub async fn open_view(&self, trigger_id: &str, view: Value) -> Result<(), ApiError> {
        self.post(
            "views.open",
            json!({ "trigger_id": trigger_id, "view": view }),
        )
        .await
        .map(drop)
    }

    /// Shows a user's App Home.
    pub async fn publish_home(&self, user: &str, view: Value) -> Result<(), ApiError> {
        self.post("views.publish", json!({ "user_id": user, "view": view }))
            .await
            .map(drop)
    }

    /// Reads a paged method page by page (at most `pages`), following the
    /// cursor, until `each` finds what it looks for in a page.
    async fn paged<T>(
        &self,
        method: &str,
        params: &[(&str, &str)],
        pages: usize,
        mut each: impl FnMut(&Value) -> Option<T>,
    ) -> Result<Option<T>, ApiError> {
        let mut cursor = String::new();
        for _ in 0..pages {
            let mut page = params.to_vec();
            if !cursor.is_empty() {
                page.push(("cursor", cursor.as_str()));
            }
            let answer = self.get(method, &page).await?;
            if let Some(found) = each(&answer) {
                return Ok(Some(found));
            }
            cursor = answer["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    /// Every member of a channel, following the cursor.
    pub async fn channel_members(&self, channel: &str) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        // bounded: 50 pages of 1,000 members.
        let params = [("channel", channel), ("limit", "1000")];
        self.paged("conversations.members", &params, 50, |answer| {
            let ids = answer["members"].as_array().into_iter().flatten();
            out.extend(ids.filter_map(Value::as_str).map(str::to_owned));
            None::<()>
        })
        .await?;
        Ok(out)
    }

    /// The message the bot posted under a delivery token (in its
    /// `metadata`) since `oldest` (a Slack `ts`): in a thread when
    /// `thread` is its root's `ts`, else at the top of the channel. Its
    /// `ts`, if there is one.
    pub async fn find_delivery(
        &self,
        channel: &str,
        thread: Option<&str>,
        token: &str,
        oldest: &str,
    ) -> Result<Option<String>, ApiError> {
        let (method, mut params) = match thread {
            Some(ts) => (
                "conversations.replies",
                vec![("channel", channel), ("ts", ts)],
            ),
            None => ("conversations.history", vec![("channel", channel)]),
        };
        params.extend([
            ("oldest", oldest),
            ("include_all_metadata", "true"),
            ("limit", "200"),
        ]);
        // bounded: 20 pages of 200 messages since the attempt.
        self.paged(method, &params, 20, |answer| {
            answer["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| {
                    m["metadata"]["event_type"] == DELIVERY_EVENT
                        && m["metadata"]["event_payload"]["token"] == token
                })
                .and_then(|m| m["ts"].as_str().map(str::to_owned))
        })
        .await
    }

    /// A user's profile.
    pub async fn user_info(&self, user: &str) -> Result<Value, ApiError> {
        Ok(self.get("users.info", &[("user", user)]).await?["user"].take())
    }

    /// A team's name.
    pub async fn team_name(&self, team: &str) -> Result<String, ApiError> {
        let answer = self.get("team.info", &[("team", team)]).await?;
        string_at(&answer["team"], "name")
    }

    /// Whether a channel is private (`None` when Slack does not say).
    pub async fn channel_is_private(&self, channel: &str) -> Result<Option<bool>, ApiError> {
        let answer = self
            .get("conversations.info", &[("channel", channel)])
            .await?;
        Ok(answer["channel"]["is_private"].as_bool())
    }

    /// Who the bot is: `(team_id, user_id, bot_id)`.
    pub async fn whoami(&self) -> Result<(String, String, Option<String>), ApiError> {
        let answer = self.get("auth.test", &[]).await?;
        Ok((
            string_at(&answer, "team_id")?,
            string_at(&answer, "user_id")?,
            answer["bot_id"].as_str().map(str::to_owned),
        ))
    }

    /// A Socket Mode websocket address (needs the app-level token).
    pub async fn open_socket(&self) -> Result<String, ApiError> {
        let token = self
            .app
            .as_ref()
            .ok_or_else(|| ApiError::refused("no app-level token"))?;
        let answer = self
            .post_as(token, "apps.connections.open", json!({}))
            .await?;
        string_at(&answer, "url")
    }
}

/// The metadata event type of the bot's deliveries.
pub const DELIVERY_EVENT: &str = "threadesk_delivery";

fn string_at(v: &Value, key: &str) -> Result<String, ApiError> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::transient(format!("slack's answer has no {key}")))
}
