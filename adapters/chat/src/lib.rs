//! The chat layer shared by every chat platform (Slack, Discord, Teams).
//!
//! A platform adapter implements [`ChatPlatform`]: what the platform can do
//! (post a card, post in a thread, edit, open a DM, add or remove a thread
//! member, …) and how it draws things. Everything else is decided here once,
//! from core's rules: which surfaces a ticket has on the platform, what each
//! may show ([`threadesk_core::Engine::may_show`]), who is taken out of a
//! thread when they lose access, and how an engine event is mirrored without
//! posting anything twice ([`Mirror`]). Engine refusals become one sentence
//! for the person, and internal errors are logged once ([`reply`]).
#![forbid(unsafe_code)]

pub mod channels;
mod deliver;
mod failure;
mod hub;
pub mod input;
pub mod late;
mod platform;
pub mod reply;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;

pub use deliver::Mirror;
pub use deliver::MAX_POSTED_TRANSCRIPT;
pub use failure::{ConnectError, Failure, PlatformError};
pub use hub::Hub;
pub use platform::{
    CardFor, ChatPlatform, CustomerSide, Invitation, Place, TranscriptChannel, Upload,
};
