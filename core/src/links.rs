//! Where tickets and messages live on each platform, looked up both ways,
//! so adapters can mirror, edit and dedupe.

use crate::domain::{ParseError, Platform};
use crate::error::{EngineError, Result};
use crate::ids::{MessageId, TicketId};
use crate::system::System;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

/// A message's (or a ticket card's) address on a platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlatformRef {
    /// The platform.
    pub platform: Platform,
    /// The Slack team or Discord guild.
    pub workspace: String,
    /// The channel (or thread) id.
    pub channel: String,
    /// The platform's message id (a Slack `ts`, a Discord snowflake).
    pub message_id: String,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The message; `None` for the ticket's card (root message).
    pub message_id: Option<MessageId>,
    /// Where it is.
    pub at: PlatformRef,
    /// Whether a person wrote that platform message (the bot cannot edit
    /// it) rather than the bot posting it as a mirror.
    pub authored: bool,
}

/// What lives at a platform address.
const AT_PLACE: &str = "select ticket_id, message_id, platform, workspace, channel, platform_message_id, authored \
     from platform_links where platform = $1 and workspace = $2 and channel = $3 and platform_message_id = $4";
/// A ticket's card and copies, in the order they were posted.
const OF_TICKET: &str =
    "select ticket_id, message_id, platform, workspace, channel, platform_message_id, authored \
     from platform_links where ticket_id = $1 order by id";
/// One message's copies (asked for every mirrored message and edit): by
/// the index of its own, whatever the size of the table.
const OF_MESSAGE: &str =
    "select ticket_id, message_id, platform, workspace, channel, platform_message_id, authored \
     from platform_links where message_id = $1 order by id";

impl PlatformRef {
    /// Reads an address from a row's `platform`, `workspace` and `channel`
    /// columns and the message id from column `id_column`.
    pub(crate) fn from_row(row: &AnyRow, id_column: &str) -> Result<Self> {
        Ok(PlatformRef {
            platform: row
                .try_get::<&str, _>("platform")?
                .parse()
                .map_err(|e: ParseError| EngineError::Corrupt(e.to_string()))?,
            workspace: row.try_get("workspace")?,
            channel: row.try_get("channel")?,
            message_id: row.try_get(id_column)?,
        })
    }
}

fn link(row: &AnyRow) -> Result<Link> {
    Ok(Link {
        ticket_id: TicketId(row.try_get("ticket_id")?),
        message_id: row.try_get::<Option<i64>, _>("message_id")?.map(MessageId),
        at: PlatformRef::from_row(row, "platform_message_id")?,
        authored: row.try_get::<i64, _>("authored")? == 1,
    })
}

/// Records, inside a command's transaction, the platform message a person
/// wrote that became `message` (their reply in a thread): an edit of it
/// edits the message, and mirrors skip the place it came from.
pub(crate) async fn insert_authored(
    tx: &mut crate::db::Tx,
    ticket: TicketId,
    message: MessageId,
    at: &PlatformRef,
) -> Result<()> {
    write_link(tx, ticket, Some(message), at, true).await
}

/// Records where the bot posted a card or a copy, in `tx` (the outbox
/// closes the call's intent in the same commit).
pub(crate) async fn insert_posted(
    tx: &mut crate::db::Tx,
    ticket: TicketId,
    message: Option<MessageId>,
    at: &PlatformRef,
) -> Result<()> {
    write_link(tx, ticket, message, at, false).await
}

/// The statement that records where a call posted (see
/// [`insert_posted`]), for a write of its own.
pub(crate) fn posted_query(
    ticket: TicketId,
    message: Option<MessageId>,
    at: &PlatformRef,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    link_query(ticket, message, at, false)
}

/// Stores a link; a place already recorded keeps its first link.
async fn write_link(
    conn: &mut AnyConnection,
    ticket: TicketId,
    message: Option<MessageId>,
    at: &PlatformRef,
    authored: bool,
) -> Result<()> {
    link_query(ticket, message, at, authored)
        .execute(conn)
        .await?;
    Ok(())
}

fn link_query(
    ticket: TicketId,
    message: Option<MessageId>,
    at: &PlatformRef,
    authored: bool,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(
        "insert into platform_links (ticket_id, message_id, platform, workspace, channel, platform_message_id, authored, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (platform, workspace, channel, platform_message_id) do nothing",
    )
    .bind(ticket.0)
    .bind(message.map(|m| m.0))
    .bind(at.platform.as_str())
    .bind(&at.workspace)
    .bind(&at.channel)
    .bind(&at.message_id)
    .bind(i64::from(authored))
    .bind(Timestamp::now().0)
}

impl System<'_> {
    /// Records where the bot posted a ticket's card (`message: None`) or a
    /// copy of a message. Recording the same place twice is a no-op; the link
    /// that is stored for that place comes back.
    pub async fn put_link(
        &self,
        ticket: TicketId,
        message: Option<MessageId>,
        at: &PlatformRef,
    ) -> Result<Link> {
        self.db()
            .write(link_query(ticket, message, at, false))
            .await?;
        self.link_at(at).await?.ok_or(EngineError::NotFound("link"))
    }

    /// What lives at a platform address, if it is ours.
    pub async fn link_at(&self, at: &PlatformRef) -> Result<Option<Link>> {
        let row = sqlx::query(AT_PLACE)
            .bind(at.platform.as_str())
            .bind(&at.workspace)
            .bind(&at.channel)
            .bind(&at.message_id)
            .fetch_optional(self.db().pool())
            .await?;
        row.as_ref().map(link).transpose()
    }

    /// Every place a ticket's card or messages were posted.
    pub async fn links_of_ticket(&self, ticket: TicketId) -> Result<Vec<Link>> {
        let found = sqlx::query(OF_TICKET)
            .bind(ticket.0)
            .fetch_all(self.db().pool())
            .await?;
        found.iter().map(link).collect()
    }

    /// Every place one message was posted (to mirror an edit).
    pub async fn links_of_message(&self, message: MessageId) -> Result<Vec<Link>> {
        let found = sqlx::query(OF_MESSAGE)
            .bind(message.0)
            .fetch_all(self.db().pool())
            .await?;
        found.iter().map(link).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{harness, Kind};

    /// Each lookup's plan, as its database would run it on a big table.
    async fn plans(kind: Kind) -> Vec<(&'static str, String)> {
        let h = harness(kind).await;
        let mut out = vec![];
        // the place is four strings; a ticket or message, one number.
        for (sql, by_place) in [(AT_PLACE, true), (OF_TICKET, false), (OF_MESSAGE, false)] {
            let plan = h
                .query_plan(sql, |q| {
                    if by_place {
                        q.bind("slack").bind("T1").bind("C1").bind("1.0")
                    } else {
                        q.bind(1_i64)
                    }
                })
                .await;
            out.push((sql, plan));
        }
        out
    }

    #[tokio::test]
    async fn every_link_lookup_goes_through_an_index() {
        for (sql, plan) in plans(Kind::Sqlite).await {
            assert!(
                plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
                "{sql}: {plan}"
            );
            assert!(!plan.contains("SCAN platform_links"), "{sql}: {plan}");
        }
        for (sql, plan) in plans(Kind::Postgres).await {
            assert!(plan.contains("Index"), "{sql}: {plan}");
            assert!(!plan.contains("Seq Scan"), "{sql}: {plan}");
        }
    }
}
