//! The Threadesk ticket engine.
//!
//! Everything that is true about tickets lives here: the domain types and
//! rules ([`domain`]), storage on SQLite or PostgreSQL through one code path
//! ([`db`]), the commands and queries that enforce the rights table
//! ([`engine`]), and the outbox that tells the platform adapters what changed
//! ([`outbox`]). Adapters never touch SQL or rules; they turn platform events
//! into [`engine::Engine`] calls and outbox events into platform messages.
#![forbid(unsafe_code)]

pub mod autoclose;
pub mod blobs;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod faults;
pub mod followers;
pub mod ids;
pub mod inbound;
pub mod links;
pub mod markdown;
pub mod metrics;
pub mod outbox;
pub mod readers;
pub mod service;
pub mod sessions;
pub mod surfaces;
pub mod system;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub use rstest_reuse;
pub mod time;
pub mod timeline;
pub mod writer;

pub use db::{Backend, Db};
pub use engine::{Ctx, Engine, Settings};
pub use error::EngineError;
pub use ids::*;
