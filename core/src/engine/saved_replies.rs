//! Saved replies: named texts staff keep, for the whole team or one
//! department, and use on a ticket with the requester's name and the
//! ticket's number filled in.

use super::command;
use super::{actor_facts, is_unique_violation, Ctx, Emit, Engine, Posted};
use crate::db::Tx;
use crate::domain::*;
use crate::engine::NewMessage;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::outbox::EventPayload;
use crate::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

const COLUMNS: &str = "id, name, body, department_id, updated_at";

/// How saved replies are listed: team-wide ones first, then by name.
const BY_PLACE: &str =
    "order by case when department_id is null then 0 else 1 end, lower(name), id";

fn saved(row: &AnyRow) -> Result<SavedReply> {
    Ok(SavedReply {
        id: SavedReplyId(row.try_get("id")?),
        name: row.try_get("name")?,
        body: row.try_get("body")?,
        department_id: row
            .try_get::<Option<i64>, _>("department_id")?
            .map(DepartmentId),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

async fn load(tx: &mut Tx, id: SavedReplyId) -> Result<SavedReply> {
    let row = sqlx::query(&format!(
        "select {COLUMNS} from saved_replies where id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(EngineError::NotFound("saved reply"))?;
    saved(&row)
}

/// A saved reply's text for one ticket: `{name}` is the requester's name,
/// `{first_name}` its first word, `{ticket}` the ticket's number (`#1042`).
pub fn fill(body: &str, requester: &str, number: TicketNumber) -> String {
    let first = requester.split_whitespace().next().unwrap_or(requester);
    body.replace("{name}", requester)
        .replace("{first_name}", first)
        .replace("{ticket}", &number.to_string())
}

impl Engine {
    /// Every saved reply, team-wide ones first, by name (staff only).
    pub async fn saved_replies(&self, actor: PersonId) -> Result<Vec<SavedReply>> {
        let mut conn = self.db.pool().acquire().await?;
        if !actor_facts(&mut conn, actor).await?.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let found = sqlx::query(&format!("select {COLUMNS} from saved_replies {BY_PLACE}"))
            .fetch_all(&mut *conn)
            .await?;
        found.iter().map(saved).collect()
    }

    /// The saved replies that fit a ticket: its department's and the
    /// team's, by name (staff only).
    pub async fn saved_replies_for(
        &self,
        actor: PersonId,
        ticket: TicketId,
    ) -> Result<Vec<SavedReply>> {
        let mut conn = self.db.pool().acquire().await?;
        let seen = self
            .view_ticket(&mut conn, actor, super::TicketKey::Id(ticket))
            .await?;
        if !seen.facts.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let found = sqlx::query(&format!(
            "select {COLUMNS} from saved_replies \
             where department_id is null or department_id = $1 {BY_PLACE}"
        ))
        .bind(seen.ticket.department_id.map(|d| d.0))
        .fetch_all(&mut *conn)
        .await?;
        found.iter().map(saved).collect()
    }

    /// Writes a saved reply, or changes the one with this name in the same
    /// place (team-wide or the department) (staff only).
    pub async fn save_reply(
        &self,
        ctx: &Ctx,
        name: &str,
        body: &str,
        department: Option<DepartmentId>,
    ) -> Result<SavedReply> {
        let name = Name::parse(name)?;
        let body = MessageBody::parse(body)?;
        command!(self, ctx.key.as_deref(), "save_reply", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            if let Some(d) = department {
                let known: Option<i64> =
                    sqlx::query_scalar("select id from departments where id = $1")
                        .bind(d.0)
                        .fetch_optional(&mut **tx)
                        .await?;
                known.ok_or(EngineError::NotFound("department"))?;
            }
            let now = self.now().0;
            let existing: Option<i64> = sqlx::query_scalar(
                "select id from saved_replies where lower(name) = lower($1) \
                 and coalesce(department_id, 0) = $2",
            )
            .bind(name.as_str())
            .bind(department.map_or(0, |d| d.0))
            .fetch_optional(&mut **tx)
            .await?;
            let id = match existing {
                Some(id) => {
                    sqlx::query(
                        "update saved_replies set name = $2, body = $3, updated_by = $4, updated_at = $5 where id = $1",
                    )
                    .bind(id)
                    .bind(name.as_str())
                    .bind(body.as_str())
                    .bind(actor.id.0)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    id
                }
                None => sqlx::query_scalar(
                    "insert into saved_replies (name, body, department_id, updated_by, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $5) returning id",
                )
                .bind(name.as_str())
                .bind(body.as_str())
                .bind(department.map(|d| d.0))
                .bind(actor.id.0)
                .bind(now)
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        EngineError::Busy
                    } else {
                        e.into()
                    }
                })?,
            };
            let reply = load(tx, SavedReplyId(id)).await?;
            let event = Emit::global(
                Some(actor.id),
                EventPayload::SavedReplyChanged {
                    reply: reply.clone(),
                    removed: false,
                },
            );
            Ok((reply, event))
        })
    }

    /// Removes a saved reply (staff only).
    pub async fn remove_saved_reply(&self, ctx: &Ctx, id: SavedReplyId) -> Result<SavedReply> {
        command!(self, ctx.key.as_deref(), "remove_saved_reply", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            let reply = load(tx, id).await?;
            sqlx::query("delete from saved_replies where id = $1")
                .bind(id.0)
                .execute(&mut **tx)
                .await?;
            let event = Emit::global(
                Some(actor.id),
                EventPayload::SavedReplyChanged {
                    reply: reply.clone(),
                    removed: true,
                },
            );
            Ok((reply, event))
        })
    }

    /// A saved reply's text, filled in for a ticket, found by name (any
    /// case; the ticket's department's before the team's) or id (staff
    /// only; tickets they may see).
    pub async fn saved_reply_text(
        &self,
        actor: PersonId,
        ticket: TicketId,
        which: &str,
    ) -> Result<String> {
        let which = which.trim();
        self.filled(actor, ticket, |replies| {
            replies
                .iter()
                .filter(|r| r.name.eq_ignore_ascii_case(which) || r.id.0.to_string() == which)
                .max_by_key(|r| r.department_id.is_some())
        })
        .await
        .map(|(_, text)| text)
    }

    /// The saved reply a picker chose, and its text filled in for the
    /// ticket (staff only; tickets they may see; replies that fit it).
    async fn filled(
        &self,
        actor: PersonId,
        ticket: TicketId,
        pick: impl FnOnce(&[SavedReply]) -> Option<&SavedReply>,
    ) -> Result<(SavedReply, String)> {
        let t = self.ticket(actor, ticket).await?;
        let replies = self.saved_replies_for(actor, ticket).await?;
        let found = pick(&replies)
            .cloned()
            .ok_or(EngineError::NotFound("saved reply"))?;
        let requester = self.person_alone(t.requester_id).await?.display_name;
        let text = fill(&found.body, &requester, t.number);
        Ok((found, text))
    }

    /// Posts a saved reply on a ticket, filled in, as the staff member.
    pub async fn reply_saved(&self, ctx: &Ctx, ticket: TicketId, which: &str) -> Result<Posted> {
        self.open_for_reply(ctx, ticket).await?;
        let text = self.saved_reply_text(ctx.actor, ticket, which).await?;
        self.reply(ctx, ticket, NewMessage::text(&text)).await
    }

    /// Posts the saved reply with this id on a ticket (a picker's choice),
    /// filled in; the reply's name with what was posted.
    pub async fn reply_saved_id(
        &self,
        ctx: &Ctx,
        ticket: TicketId,
        id: SavedReplyId,
    ) -> Result<(String, Posted)> {
        self.open_for_reply(ctx, ticket).await?;
        let (reply, text) = self
            .filled(ctx.actor, ticket, |replies| {
                replies.iter().find(|r| r.id == id)
            })
            .await?;
        Ok((
            reply.name,
            self.reply(ctx, ticket, NewMessage::text(&text)).await?,
        ))
    }

    /// As every write: not found, then closed (then the role, in the write).
    async fn open_for_reply(&self, ctx: &Ctx, ticket: TicketId) -> Result<()> {
        let t = self.ticket(ctx.actor, ticket).await?;
        if t.status.is_closed() {
            return Err(EngineError::TicketClosed {
                number: t.number,
                unsent: None,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "Hi {first_name}, about {ticket}: done. ({name})",
                "Ann Archer",
                TicketNumber(1042)
            ),
            "Hi Ann, about #1042: done. (Ann Archer)"
        );
        assert_eq!(fill("no {unknown}", "Bo", TicketNumber(1)), "no {unknown}");
    }
}
