//! Whether a portal session still counts. Sessions live in signed cookies;
//! what ends one early (signing out, "sign out everywhere") is kept here,
//! in the database, so every replica agrees at once.

use crate::domain::Person;
use crate::error::Result;
use crate::ids::PersonId;
use crate::system::System;
use crate::time::Timestamp;
use sqlx::Row;

/// The person of a live session, and what every page's frame shows of
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPerson {
    /// Who it is.
    pub person: Person,
    /// How many invitations to follow a ticket wait for their answer
    /// (as [`crate::Engine::invitation_count`]).
    pub invitations: usize,
}

impl System<'_> {
    /// The person a session (its nonce, started at `started`) belongs to
    /// while it is still theirs: not signed out, and started after the last
    /// "sign out everywhere"; `None` otherwise, and for an unknown person.
    /// The check, the person and the number of their open invitations
    /// (every signed-in page shows it), in the one round trip each request
    /// pays.
    pub async fn session_person(
        &self,
        person: PersonId,
        nonce: &str,
        started: Timestamp,
    ) -> Result<Option<SessionPerson>> {
        let row = sqlx::query(&format!(
            "select {}, p.sessions_since as since, \
                    (select count(*) from ended_sessions e where e.nonce = $2) as ended, \
                    (select count(*) {}) as invitations \
             from people p where p.id = $1",
            crate::engine::rows::PERSON_COLUMNS,
            crate::engine::queries::INVITED,
        ))
        .bind(person.0)
        .bind(nonce)
        .fetch_optional(self.db().pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (since, ended): (i64, i64) = (row.try_get("since")?, row.try_get("ended")?);
        if started.0 >= since && ended == 0 {
            let invitations: i64 = row.try_get("invitations")?;
            Ok(Some(SessionPerson {
                person: crate::engine::rows::person(&row)?,
                invitations: usize::try_from(invitations).unwrap_or(0),
            }))
        } else {
            Ok(None)
        }
    }

    /// Ends one session (signing out) until `expires_at`, when it would
    /// have ended anyway; rows of sessions long over are swept.
    pub async fn end_session(&self, nonce: &str, expires_at: Timestamp) -> Result<()> {
        let now = Timestamp::now();
        self.db()
            .write(sqlx::query("delete from ended_sessions where expires_at < $1").bind(now.0))
            .await?;
        self.db().write(sqlx::query(
            "insert into ended_sessions (nonce, expires_at) values ($1, $2) on conflict (nonce) do nothing",
        )
        .bind(nonce)
        .bind(expires_at.0)
        )
        .await?;
        Ok(())
    }

    /// Ends every session a person has, on every device.
    pub async fn end_all_sessions(&self, person: PersonId) -> Result<()> {
        self.db()
            .write(
                sqlx::query("update people set sessions_since = $2 where id = $1")
                    .bind(person.0)
                    .bind(Timestamp::now().0),
            )
            .await?;
        Ok(())
    }
}
