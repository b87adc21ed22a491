//! Trusted calls, apart from the rights-checked API: they check no rights,
//! so nothing a person asks for goes through them. The chat layer uses them
//! to decide what each surface may show and to remember where it posted
//! ([`crate::surfaces`], [`crate::links`], [`crate::followers`]); e-mail to
//! find who follows a ticket.

use crate::db::Db;
use crate::engine::Engine;

/// The engine's trusted side: `engine.system()`.
#[derive(Debug, Clone, Copy)]
pub struct System<'a> {
    engine: &'a Engine,
}

impl<'a> System<'a> {
    /// The database.
    pub fn db(&self) -> &'a Db {
        self.engine.db()
    }

    /// The engine's settings.
    pub fn settings(&self) -> &'a crate::Settings {
        self.engine.settings()
    }
}

impl Engine {
    /// The trusted calls that check no rights (see [`System`]).
    pub fn system(&self) -> System<'_> {
        System { engine: self }
    }
}
