//! What every chat adapter holds alike.

use threadesk_core::{Engine, TicketId};
use tokio::sync::{Mutex, Notify};

/// How many locks cards are made under: a ticket takes one by its id, so
/// tickets' cards are made side by side and one ticket's one at a time.
const CARD_LOCKS: usize = 64;

/// The engine, the outbox worker's wake signal and the locks under which
/// cards are made: the part of a chat adapter the chat layer works with.
#[derive(Debug)]
pub struct Hub {
    engine: Engine,
    wake: Notify,
    cards: [Mutex<()>; CARD_LOCKS],
}

impl Hub {
    /// A hub over an engine.
    pub fn new(engine: Engine) -> Self {
        Hub {
            engine,
            wake: Notify::new(),
            cards: std::array::from_fn(|_| Mutex::new(())),
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

    /// Held while a card of `ticket` is created, so that one audience
    /// gets one card even when a follow races the worker. Per ticket (a
    /// few tickets share one): one platform's openings no longer wait for
    /// each other's calls (create a thread, add a member, post the card).
    pub fn cards_lock(&self, ticket: TicketId) -> &Mutex<()> {
        let at = usize::try_from(ticket.0.rem_euclid(CARD_LOCKS as i64)).unwrap_or(0);
        &self.cards[at]
    }
}
