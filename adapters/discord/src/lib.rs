//! The Discord adapter: Threadesk from a Discord server.
//!
//! Inbound, slash commands, buttons and modals (over the gateway or the
//! signed HTTP interactions endpoint) and thread messages, edits and
//! reactions (over the gateway) become engine commands, each keyed by
//! Discord's own id so a redelivery acts once. Outbound, the outbox consumer
//! `discord` turns engine events into private ticket threads, cards, thread
//! messages, DMs and card updates. Rules live in the engine: this crate only
//! maps.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod gateway;
mod inbound;
mod people;
pub mod platform;
pub mod render;
mod routes;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{DiscordConfig, SetupError};
pub use inbound::ANSWER_BUDGET;
pub use routes::router;

use api::{ApiError, DiscordApi};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ChannelId, GuildId};
use std::sync::{Arc, OnceLock};
use threadesk_core::Engine;

/// The outbox consumer name of the Discord surface.
pub const CONSUMER: &str = threadesk_core::domain::Platform::Discord.as_str();

/// Who the bot is and where it serves, learned at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    /// The bot's user id.
    pub user_id: String,
    /// The bot's user name.
    pub name: String,
    /// The server (guild) of the support channel.
    pub guild_id: String,
}

/// The adapter, shared by the gateway, the HTTP endpoint and the outbox
/// worker.
#[derive(Clone)]
pub struct DiscordAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    hub: threadesk_chat::Hub,
    api: DiscordApi,
    config: DiscordConfig,
    me: OnceLock<BotIdentity>,
    verifier: Option<serenity::interactions_endpoint::Verifier>,
    /// What people typed into a New ticket modal that was refused, by user
    /// id: the Try again button opens the modal with it.
    drafts: std::sync::Mutex<std::collections::HashMap<String, (String, String)>>,
    /// Set when interactions are acknowledged first ([`DiscordAdapter::acknowledge_first`]).
    late: threadesk_chat::late::Slot,
}

impl DiscordAdapter {
    /// An adapter over an engine; call [`DiscordAdapter::connect`] before use.
    pub fn new(engine: Engine, config: DiscordConfig) -> Result<Self, SetupError> {
        let api = DiscordApi::new(&config)?;
        let verifier = config
            .public_key
            .as_deref()
            .map(serenity::interactions_endpoint::Verifier::new);
        Ok(DiscordAdapter {
            inner: Arc::new(Inner {
                hub: threadesk_chat::Hub::new(engine),
                api,
                config,
                me: OnceLock::new(),
                verifier,
                drafts: Default::default(),
                late: Default::default(),
            }),
        })
    }

    /// Learns who the bot is and which server the support channel is in,
    /// registers `/ticket` there and the outbox consumer. Fails if the
    /// token is refused or the channel cannot be seen.
    pub async fn connect(&self) -> Result<BotIdentity, ConnectError> {
        let user = self
            .api()
            .call(Route::UserMe, LightMethod::Get, None, None)
            .await
            .map_err(ConnectError::Platform)?;
        let channel = self
            .api()
            .call(
                Route::Channel {
                    channel_id: ChannelId::new(self.config().support_channel),
                },
                LightMethod::Get,
                None,
                None,
            )
            .await
            .map_err(ConnectError::Platform)?;
        let guild_id = channel["guild_id"]
            .as_str()
            .ok_or(ConnectError::Setup(
                "the support channel is not a server text channel",
            ))?
            .to_owned();
        let me = BotIdentity {
            user_id: user["id"].as_str().unwrap_or_default().to_owned(),
            name: user["username"].as_str().unwrap_or("Threadesk").to_owned(),
            guild_id,
        };
        let _ = self.inner.me.set(me.clone());
        self.register_commands().await?;
        threadesk_core::outbox::Outbox::new(self.engine().db().clone())
            .register(CONSUMER)
            .await?;
        Ok(me)
    }

    /// Registers (overwrites) `/ticket` in the server, with the current
    /// departments as choices.
    pub async fn register_commands(&self) -> Result<(), ConnectError> {
        let departments = self.engine().departments(false).await?;
        let commands = render::commands(&departments);
        let guild = self.guild().parse::<u64>().unwrap_or(1);
        self.api()
            .call(
                Route::GuildCommands {
                    application_id: self.config().application_id.into(),
                    guild_id: GuildId::new(guild.max(1)),
                },
                LightMethod::Put,
                Some(&commands),
                None,
            )
            .await
            .map_err(ConnectError::Platform)?;
        Ok(())
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.inner.hub.engine()
    }

    /// The REST client.
    pub fn api(&self) -> &DiscordApi {
        &self.inner.api
    }

    /// The settings.
    pub fn config(&self) -> &DiscordConfig {
        &self.inner.config
    }

    /// The server the bot serves ("" before [`DiscordAdapter::connect`]).
    pub fn guild(&self) -> &str {
        self.inner.me.get().map_or("", |m| m.guild_id.as_str())
    }

    /// The bot's own user id ("" before [`DiscordAdapter::connect`]).
    pub fn bot_user(&self) -> &str {
        self.inner.me.get().map_or("", |m| m.user_id.as_str())
    }
}

/// Why the adapter could not start.
pub type ConnectError = threadesk_chat::ConnectError<ApiError>;

/// Sends an id to Discord as it wants snowflakes: a string.
pub(crate) fn snowflake(raw: &str) -> Option<u64> {
    raw.parse::<u64>().ok().filter(|n| *n > 0)
}

/// The thread a surface's messages go to: a triage card's thread has the
/// card's id; a ticket's private thread holds its card.
pub(crate) fn thread_of(s: &threadesk_core::surfaces::Surface) -> &str {
    match s.audience {
        threadesk_core::surfaces::Audience::Staff => &s.card.message_id,
        threadesk_core::surfaces::Audience::Person(_)
        | threadesk_core::surfaces::Audience::Shared => &s.card.channel,
    }
}
