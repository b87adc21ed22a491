//! Why one delivery step failed: the platform, or the engine.

use threadesk_core::outbox::Permanence;
use threadesk_core::EngineError;

/// A platform API error, as the chat layer needs to know it.
pub trait PlatformError: std::error::Error + Send + Sync + 'static {
    /// `true` when retrying cannot help (the bot lost access to a channel,
    /// a request the platform refuses as malformed).
    fn is_permanent(&self) -> bool;

    /// `true` when the platform says the thing acted on is not there (a
    /// member no longer in a thread, a message already deleted): what was
    /// asked is as good as done.
    fn is_gone(&self) -> bool {
        false
    }
}

/// Why delivering an event (or one step of it) failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure<E: PlatformError> {
    /// The platform refused or could not be reached.
    #[error(transparent)]
    Platform(E),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl<E: PlatformError> Permanence for Failure<E> {
    fn is_permanent(&self) -> bool {
        match self {
            Failure::Platform(e) => e.is_permanent(),
            Failure::Engine(EngineError::NotFound(_)) => true,
            Failure::Engine(_) => false,
        }
    }
}

/// Why a chat adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError<E: PlatformError> {
    /// The platform refused the credentials or could not be reached.
    #[error(transparent)]
    Platform(E),
    /// The database failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The platform is not set up as the settings say (a support channel
    /// that is no server channel, say).
    #[error("{0}")]
    Setup(&'static str),
}
