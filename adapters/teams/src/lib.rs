//! The Microsoft Teams adapter: Threadesk from Teams, speaking the Bot
//! Framework REST protocol directly (there is no Rust SDK).
//!
//! Inbound, activities posted to `/teams/messages` (each with a JWT the
//! Bot Framework signed, checked in [`auth`]) become engine commands with
//! the activity's id as their idempotency key. Outbound, the outbox
//! consumer `teams` mirrors every ticket through the chat layer: customers
//! get a card in their 1:1 chat with the bot, staff a thread in the triage
//! channel started by the ticket's card. Rules live in the engine and the
//! chat layer: this crate only maps.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
mod inbound;
mod people;
pub mod platform;
pub mod render;
mod routes;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::TeamsConfig;
pub use routes::router;

use api::{ApiError, Connector};
use std::sync::{Arc, RwLock};
use threadesk_core::Engine;

/// The outbox consumer name of the Teams surface.
pub const CONSUMER: &str = threadesk_core::domain::Platform::Teams.as_str();

/// Why the adapter could not start.
pub type ConnectError = threadesk_chat::ConnectError<ApiError>;

/// The adapter, shared by the route and the outbox worker.
#[derive(Clone)]
pub struct TeamsAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    hub: threadesk_chat::Hub,
    config: TeamsConfig,
    api: Connector,
    keys: auth::Keys,
    /// The service URL the last trusted activity came from.
    service_url: RwLock<String>,
    /// Downloads files people send.
    http: reqwest::Client,
    /// Where files people send are kept.
    blobs: std::sync::OnceLock<threadesk_core::blobs::BlobStore>,
}

impl TeamsAdapter {
    /// An adapter over an engine; call [`TeamsAdapter::connect`] before use.
    pub fn new(engine: Engine, config: TeamsConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()?;
        Ok(TeamsAdapter {
            inner: Arc::new(Inner {
                hub: threadesk_chat::Hub::new(engine),
                api: Connector::new(&config, http.clone()),
                keys: auth::Keys::new(&config.openid_url, http.clone()),
                service_url: RwLock::new(config.service_url.clone()),
                http,
                blobs: std::sync::OnceLock::new(),
                config,
            }),
        })
    }

    /// Checks the credentials (a token from the tenant's authority) and
    /// registers the outbox consumer.
    pub async fn connect(&self) -> Result<(), ConnectError> {
        self.inner
            .api
            .token()
            .await
            .map_err(ConnectError::Platform)?;
        threadesk_core::outbox::Outbox::new(self.engine().db().clone())
            .register(CONSUMER)
            .await?;
        Ok(())
    }

    /// Keeps the files people send in this store (the portal's): a
    /// Teams download link lasts minutes, a ticket's attachment for good.
    pub fn keep_files_in(&self, store: threadesk_core::blobs::BlobStore) {
        let _ = self.inner.blobs.set(store);
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.inner.hub.engine()
    }

    /// The settings.
    pub fn config(&self) -> &TeamsConfig {
        &self.inner.config
    }

    /// The Bot Connector client.
    pub fn api(&self) -> &Connector {
        &self.inner.api
    }

    /// The tenant people are in.
    pub fn tenant(&self) -> &str {
        &self.inner.config.tenant_id
    }

    /// The bot's own id in conversations (`28:<app id>`).
    pub fn bot_id(&self) -> String {
        format!("28:{}", self.inner.config.app_id)
    }

    /// Where to post now.
    pub fn service_url(&self) -> String {
        self.inner
            .service_url
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// An authenticated activity named its service URL: later posts go
    /// there (when the token may be sent there).
    pub(crate) fn saw_service_url(&self, url: &str) {
        if url.is_empty() || !self.config().trusts(url) {
            return;
        }
        if let Ok(mut s) = self.inner.service_url.write() {
            if *s != url {
                *s = url.to_owned();
            }
        }
    }
}
