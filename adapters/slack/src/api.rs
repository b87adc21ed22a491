//! The Slack Web API, through slack-morphism's hyper client: JSON for the
//! methods that take it, query strings for the read methods that do not.
//! A 429 is waited out (`Retry-After`) and retried by slack-morphism's rate
//! controller; what still fails comes back as [`ApiError`], which tells a
//! failure worth retrying from one that is not.

use crate::config::SlackConfig;
use crate::BotIdentity;
use serde_json::{json, Value};
use slack_morphism::errors::SlackClientError;
use slack_morphism::hyper_tokio::SlackClientHyperConnector;
use slack_morphism::prelude::SlackApiRateControlConfig;
use slack_morphism::{
    SlackApiToken, SlackApiTokenValue, SlackClient, SlackClientApiCallContext,
    SlackClientHttpConnector,
};
use std::sync::Arc;
use threadesk_chat::Upload;

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
        let context = without_token(&span);
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

    /// Uploads a file and shares it in a channel with a comment, by
    /// Slack's external upload flow (`files.upload` was retired in November
    /// 2025): a URL for the bytes ([`SlackApi::upload_url`]), the bytes
    /// ([`SlackApi::send_upload`]), then the share
    /// ([`SlackApi::complete_upload`]). The file's id.
    pub async fn upload_file(
        &self,
        channel: &str,
        comment: &str,
        file: &Upload<'_>,
    ) -> Result<String, ApiError> {
        let (url, id) = self.upload_url(file.name, file.bytes.len()).await?;
        self.send_upload(&url, file.content_type, file.bytes)
            .await?;
        self.complete_upload(&id, file.title, channel, comment)
            .await
    }

    /// Where to send a file's bytes (`files.getUploadURLExternal`, with
    /// its arguments in the query, as slack-morphism sends them):
    /// `(upload_url, file_id)`. `length` is the exact number of bytes
    /// [`SlackApi::send_upload`] will send.
    pub async fn upload_url(
        &self,
        filename: &str,
        length: usize,
    ) -> Result<(String, String), ApiError> {
        let length = length.to_string();
        let answer = self
            .get(
                "files.getUploadURLExternal",
                &[("filename", filename), ("length", &length)],
            )
            .await?;
        Ok((
            string_at(&answer, "upload_url")?,
            string_at(&answer, "file_id")?,
        ))
    }

    /// Sends a file's bytes, as the raw body, to the `upload_url` that
    /// [`SlackApi::upload_url`] gave (Slack answers 200 `OK - <length>`).
    /// The URL is signed for this one file, so no token goes with it (as
    /// Slack's own SDKs send it), and only a Slack host, or the configured
    /// API base's, is ever sent to.
    pub async fn send_upload(
        &self,
        upload_url: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<(), ApiError> {
        let url: url::Url = upload_url
            .parse()
            .map_err(|_| ApiError::refused("upload_url is not a URL"))?;
        if !self.is_slack_or_ours(&url) {
            return Err(ApiError::refused("upload_url is not Slack's"));
        }
        let span = tracing::debug_span!("slack upload_url");
        let context = without_token(&span);
        self.client
            .http_api
            .connector
            .http_post_uri_binary::<Value>(url, content_type.to_owned(), bytes, context)
            .await
            .map(drop)
            .map_err(classify)
    }

    /// Shares an uploaded file in a channel with a comment
    /// (`files.completeUploadExternal`, as JSON: `files` an array of
    /// `{id, title}`). The file's id.
    pub async fn complete_upload(
        &self,
        file_id: &str,
        title: &str,
        channel: &str,
        comment: &str,
    ) -> Result<String, ApiError> {
        let answer = self
            .post(
                "files.completeUploadExternal",
                json!({
                    "files": [{ "id": file_id, "title": title }],
                    "channel_id": channel,
                    "initial_comment": comment,
                }),
            )
            .await?;
        string_at(&answer["files"][0], "id")
    }

    /// Whether a URL Slack handed us is Slack's (https, on `slack.com`,
    /// `slack-gov.com` or a subdomain of the configured API base's host) or
    /// on the configured API base itself (a proxy, or a test server).
    fn is_slack_or_ours(&self, url: &url::Url) -> bool {
        let ours = self
            .base
            .as_ref()
            .is_some_and(|b| b.origin() == url.origin());
        let host = url.host_str().unwrap_or_default();
        let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
        let base_host = self.base.as_ref().and_then(|b| b.host_str());
        let slack = url.scheme() == "https"
            && (under("slack.com")
                || under("slack-gov.com")
                || base_host.is_some_and(|b| host.ends_with(&format!(".{b}"))));
        ours || slack
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

    /// The message the bot posted under a delivery token since `oldest` (a
    /// Slack `ts`): in a thread when `thread` is its root's `ts`, else at
    /// the top of the channel. Its `ts`, if there is one; for a file share,
    /// its file's id. A message carries the token in its `metadata`; a
    /// file share (which takes no metadata) in its text, the share's
    /// `initial_comment`, which ends in [`file_marker`] (looked for
    /// anywhere in the text, should Slack wrap it); only a share by `bot`
    /// (when known) counts, not a person's message quoting the marker.
    pub async fn find_delivery(
        &self,
        channel: &str,
        thread: Option<&str>,
        token: &str,
        oldest: &str,
        bot: Option<&BotIdentity>,
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
        let marker = file_marker(token);
        self.paged(method, &params, 20, |answer| {
            answer["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|m| {
                    if m["metadata"]["event_type"] == DELIVERY_EVENT
                        && m["metadata"]["event_payload"]["token"] == token
                    {
                        return m["ts"].as_str().map(str::to_owned);
                    }
                    let file = m["files"][0]["id"].as_str()?;
                    let by_bot = bot.is_none_or(|b| {
                        m["user"] == b.user_id.as_str()
                            || b.bot_id.as_deref().is_some_and(|id| m["bot_id"] == id)
                    });
                    let text = m["text"].as_str().unwrap_or_default();
                    (by_bot && text.contains(&marker)).then(|| file.to_owned())
                })
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

/// What a file share's comment ends with so that a retry can find it
/// again ([`SlackApi::find_delivery`]): `files.completeUploadExternal`
/// takes no message `metadata`, and Slack posts its `initial_comment` as
/// the share's text, which `conversations.history` returns with the
/// share's files. A small reference in italics, the delivery token in it.
pub fn file_marker(token: &str) -> String {
    format!("_(ref {token})_")
}

fn string_at(v: &Value, key: &str) -> Result<String, ApiError> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::transient(format!("slack's answer has no {key}")))
}

/// A call to an address Slack gave us (a `response_url`, an `upload_url`):
/// signed in itself, so it carries no bot token, and the address is kept
/// out of logs.
fn without_token(span: &tracing::Span) -> SlackClientApiCallContext<'_> {
    SlackClientApiCallContext {
        rate_control_params: None,
        token: None,
        tracing_span: span,
        is_sensitive_url: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_slack_or_the_configured_base_is_sent_a_file() {
        let mut config = SlackConfig::new("xoxb-test", "secret");
        config.api_url = "http://127.0.0.1:9/api".into();
        let api = SlackApi::new(&config).unwrap();
        let allowed = |u: &str| api.is_slack_or_ours(&u.parse().unwrap());
        assert!(allowed("https://files.slack.com/upload/v1/CwABAAAA"));
        assert!(allowed("https://files.slack-gov.com/upload/v1/CwABAAAA"));
        assert!(allowed("http://127.0.0.1:9/upload/v1/F1"));
        assert!(!allowed("http://files.slack.com/upload/v1/CwABAAAA"));
        assert!(!allowed("https://files.slack.com.example.net/upload"));
        assert!(!allowed("https://evilslack.com/upload"));
        assert!(!allowed("http://127.0.0.1:10/upload/v1/F1"));
        let refused = api
            .send_upload("https://example.net/upload", "text/html", b"x")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Some("upload_url is not Slack's"));
    }
}
