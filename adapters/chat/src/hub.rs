//! What every chat adapter holds alike.

use threadesk_core::Engine;
use tokio::sync::{Mutex, Notify};

/// The engine, the outbox worker's wake signal and the lock under which
/// cards are made: the part of a chat adapter the chat layer works with.
#[derive(Debug)]
pub struct Hub {
    engine: Engine,
    wake: Notify,
    cards: Mutex<()>,
}

impl Hub {
    /// A hub over an engine.
    pub fn new(engine: Engine) -> Self {
        Hub {
            engine,
            wake: Notify::new(),
            cards: Mutex::new(()),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Wakes the outbox worker: something just changed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// What the outbox worker waits on.
    pub fn wake_signal(&self) -> &Notify {
        &self.wake
    }

    /// Held while a card is created, so that one audience gets one card
    /// even when a follow races the worker.
    pub fn cards_lock(&self) -> &Mutex<()> {
        &self.cards
    }
}
