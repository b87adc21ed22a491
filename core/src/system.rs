//! Trusted calls, apart from the rights-checked API: they check no rights,
//! so nothing a person asks for goes through them. The chat layer uses them
//! to decide what each surface may show and to remember where it posted
//! ([`crate::surfaces`], [`crate::links`], [`crate::followers`]); e-mail to
//! find who follows a ticket; the chat layer to post a closed ticket's
//! public transcript to a transcript channel ([`System::public_transcript`]).

use crate::db::Db;
use crate::engine::{rows, Engine, Transcript, TranscriptFormat, TranscriptKind};
use crate::error::{EngineError, Result};
use crate::ids::TicketId;

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

    /// The engine.
    pub fn engine(&self) -> &'a Engine {
        self.engine
    }

    /// The engine's settings.
    pub fn settings(&self) -> &'a crate::Settings {
        self.engine.settings()
    }
}

impl System<'_> {
    /// The public transcript of a ticket (no internal notes), whoever asks:
    /// for a platform's transcript channel, the support team's archive,
    /// whose members core cannot check, so there is no full transcript
    /// here. The same file a customer downloads ([`Engine::transcript`]).
    pub async fn public_transcript(
        &self,
        ticket: TicketId,
        format: TranscriptFormat,
        portal: &str,
    ) -> Result<Transcript> {
        let mut conn = self.db().pool().acquire().await?;
        let sql = format!(
            "select {} from tickets t where t.id = $1",
            rows::TICKET_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(ticket.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(EngineError::NotFound("ticket"))?;
        let ticket = rows::ticket(&row)?;
        self.engine
            .start_transcript(&mut conn, ticket, TranscriptKind::Public, format, portal)
            .await
    }
}

impl Engine {
    /// The trusted calls that check no rights (see [`System`]).
    pub fn system(&self) -> System<'_> {
        System { engine: self }
    }
}
