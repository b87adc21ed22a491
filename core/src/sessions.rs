//! Housekeeping the adapters ask of the database: whether a portal
//! session still counts, and which stored files attachments refer to.
//!
//! Whether a portal session still counts. Sessions live in signed cookies;
//! what ends one early (signing out, "sign out everywhere") is kept here,
//! in the database, so every replica agrees at once.

use crate::error::Result;
use crate::ids::PersonId;
use crate::system::System;
use crate::time::Timestamp;

impl System<'_> {
    /// Whether a person's session (its nonce, started at `started`) is
    /// still theirs: not signed out, and started after the last "sign out
    /// everywhere". An unknown person has no sessions.
    pub async fn session_live(
        &self,
        person: PersonId,
        nonce: &str,
        started: Timestamp,
    ) -> Result<bool> {
        let since: Option<i64> =
            sqlx::query_scalar("select sessions_since from people where id = $1")
                .bind(person.0)
                .fetch_optional(self.db().pool())
                .await?;
        let Some(since) = since else {
            return Ok(false);
        };
        if started.0 < since {
            return Ok(false);
        }
        let ended: i64 = sqlx::query_scalar("select count(*) from ended_sessions where nonce = $1")
            .bind(nonce)
            .fetch_one(self.db().pool())
            .await?;
        Ok(ended == 0)
    }

    /// Ends one session (signing out) until `expires_at`, when it would
    /// have ended anyway; rows of sessions long over are swept.
    pub async fn end_session(&self, nonce: &str, expires_at: Timestamp) -> Result<()> {
        let now = Timestamp::now();
        sqlx::query("delete from ended_sessions where expires_at < $1")
            .bind(now.0)
            .execute(self.db().pool())
            .await?;
        sqlx::query(
            "insert into ended_sessions (nonce, expires_at) values ($1, $2) on conflict (nonce) do nothing",
        )
        .bind(nonce)
        .bind(expires_at.0)
        .execute(self.db().pool())
        .await?;
        Ok(())
    }

    /// Ends every session a person has, on every device.
    pub async fn end_all_sessions(&self, person: PersonId) -> Result<()> {
        sqlx::query("update people set sessions_since = $2 where id = $1")
            .bind(person.0)
            .bind(Timestamp::now().0)
            .execute(self.db().pool())
            .await?;
        Ok(())
    }
}

impl System<'_> {
    /// Every `blob:` link an attachment refers to (what the blob store
    /// must keep).
    pub async fn blob_links(&self) -> Result<std::collections::HashSet<String>> {
        let links: Vec<String> =
            sqlx::query_scalar("select url from attachments where url like 'blob:%'")
                .fetch_all(self.db().pool())
                .await?;
        Ok(links.into_iter().collect())
    }
}
