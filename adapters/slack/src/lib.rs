//! The Slack adapter: Threadesk from a Slack workspace.
//!
//! Inbound, Slack's slash commands, interactions and events (over HTTP,
//! signed, or over Socket Mode) become engine commands, each with the
//! platform's own id as its idempotency key, so a redelivery acts once.
//! Outbound, the outbox consumer `slack` turns engine events into cards,
//! thread messages, DMs and card updates. Rules live in the engine: this
//! crate only maps.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
mod inbound;
mod people;
pub mod platform;
pub mod render;
mod routes;
pub mod socket;
#[cfg(feature = "testing")]
pub mod testing;
mod text;
pub mod verify;

pub use config::SlackConfig;
pub use inbound::ANSWER_BUDGET;
pub use routes::router;

use api::{ApiError, SlackApi};
use std::sync::{Arc, OnceLock};
use threadesk_core::Engine;

/// The outbox consumer name of the Slack surface.
pub const CONSUMER: &str = threadesk_core::domain::Platform::Slack.as_str();

/// Who the bot is in its workspace, learned from `auth.test` at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    /// The workspace (team) the app is installed in.
    pub team_id: String,
    /// The bot's own user id.
    pub user_id: String,
    /// The bot's bot id, if Slack told us.
    pub bot_id: Option<String>,
}

/// The adapter, shared by the routes, the Socket Mode client and the
/// outbox worker.
#[derive(Clone)]
pub struct SlackAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    hub: threadesk_chat::Hub,
    api: SlackApi,
    config: SlackConfig,
    me: OnceLock<BotIdentity>,
    people: people::Directory,
    /// Set when requests are acknowledged first ([`SlackAdapter::acknowledge_first`]).
    late: threadesk_chat::late::Slot,
}

impl SlackAdapter {
    /// An adapter over an engine; call [`SlackAdapter::connect`] before use.
    pub fn new(engine: Engine, config: SlackConfig) -> std::io::Result<Self> {
        let api = SlackApi::new(&config)?;
        Ok(SlackAdapter {
            inner: Arc::new(Inner {
                hub: threadesk_chat::Hub::new(engine),
                api,
                config,
                me: OnceLock::new(),
                people: people::Directory::default(),
                late: Default::default(),
            }),
        })
    }

    /// Learns who the bot is (`auth.test`) and registers the outbox
    /// consumer. Fails if the token is refused.
    pub async fn connect(&self) -> Result<BotIdentity, ConnectError> {
        let (team_id, user_id, bot_id) = self
            .inner
            .api
            .whoami()
            .await
            .map_err(ConnectError::Platform)?;
        let me = BotIdentity {
            team_id,
            user_id,
            bot_id,
        };
        let _ = self.inner.me.set(me.clone());
        threadesk_core::outbox::Outbox::new(self.engine().db().clone())
            .register(CONSUMER)
            .await?;
        Ok(me)
    }

    /// The configured staff channels (triage and departments') that are
    /// public: anybody who joins one becomes staff and reads internal
    /// notes. Channels Slack says nothing about are left out.
    pub async fn public_staff_channels(&self) -> Vec<String> {
        let mut public = Vec::new();
        for channel in self.inner.config.staff_channels() {
            match self.inner.api.channel_is_private(channel).await {
                Ok(Some(false)) => public.push(channel.to_owned()),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(channel, error = %e, "cannot tell whether a staff channel is private")
                }
            }
        }
        public
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.inner.hub.engine()
    }

    /// The Web API client.
    pub fn api(&self) -> &SlackApi {
        &self.inner.api
    }

    /// The settings.
    pub fn config(&self) -> &SlackConfig {
        &self.inner.config
    }

    /// The workspace the bot lives in ("" before [`SlackAdapter::connect`]).
    pub fn team(&self) -> &str {
        self.inner.me.get().map_or("", |m| m.team_id.as_str())
    }

    fn me(&self) -> Option<&BotIdentity> {
        self.inner.me.get()
    }
}

/// Why the adapter could not start.
pub type ConnectError = threadesk_chat::ConnectError<ApiError>;
