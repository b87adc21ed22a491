//! Automatic closing as the engine runs it ([`crate::autoclose`] has the
//! rules): each step, a reminder or closing, is one transaction that takes
//! the ticket whose step is due first, with its row locked (`skip locked`
//! on PostgreSQL, so replicas take different tickets; SQLite has one
//! writer), checks it still waits on its customer, writes the change and
//! its outbox event, and commits. A reply that committed first has moved
//! the ticket out of "awaiting client", so the step finds nothing to do; a
//! crash before the commit leaves nothing done, and after it nothing to
//! do again.

use super::command;
use super::tickets::refuse_if_closed;
use super::{rows, Ctx, Emit, Engine};
use crate::db::Backend;
use crate::domain::{Action, Status, Ticket};
use crate::error::{EngineError, Result};
use crate::faults;
use crate::ids::TicketId;
use crate::outbox::{CloseReason, EventPayload};
use crate::time::Timestamp;

/// A crash point: a step is written, not yet committed.
pub const BEFORE_COMMIT: &str = "auto_close.before_commit";
/// A crash point: a step is committed.
pub const AFTER_COMMIT: &str = "auto_close.after_commit";

/// What one run of automatic closing did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoCloseRun {
    /// Customers reminded.
    pub reminded: usize,
    /// Tickets closed.
    pub closed: usize,
}

/// One step done.
enum Step {
    Reminded,
    Closed,
    /// Its department no longer closes tickets by itself: its due time is
    /// cleared.
    Cleared,
}

impl Engine {
    /// Does every automatic-closing step that is due by the engine's clock,
    /// at most `max` of them; returns what it did. Any number of replicas
    /// may run this at once.
    pub async fn run_auto_close(&self, max: usize) -> Result<AutoCloseRun> {
        let mut run = AutoCloseRun::default();
        for _ in 0..max {
            match self.auto_close_step().await {
                Ok(None) => break,
                Ok(Some(Step::Reminded)) => run.reminded += 1,
                Ok(Some(Step::Closed)) => run.closed += 1,
                Ok(Some(Step::Cleared)) => {}
                // another writer held the row (SQLite busy, a PostgreSQL
                // lock timeout): the step is still due; the next run takes it.
                Err(EngineError::Busy) => break,
                Err(e) => return Err(e),
            }
        }
        if run.reminded > 0 {
            self.metrics().record_command("auto_close_remind", "ok");
        }
        if run.closed > 0 {
            self.metrics().record_command("auto_close", "ok");
        }
        Ok(run)
    }

    /// When the next automatic-closing step is due, if any (the worker
    /// sleeps until then, or less).
    pub async fn next_auto_close(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "select min(auto_close_at) from tickets where auto_close_at is not null \
             and auto_close_paused = 0 and status = 'awaiting_client'",
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(next.map(Timestamp))
    }

    async fn auto_close_step(&self) -> Result<Option<Step>> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let lock = match self.db.backend() {
            Backend::Postgres => " for update skip locked",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "select {}, (select d.name from departments d where d.id = t.department_id) \
             as department_name from tickets t where t.auto_close_at <= $1 and t.auto_close_paused = 0 \
             and t.status = 'awaiting_client' order by t.auto_close_at, t.id limit 1{lock}",
            rows::TICKET_COLUMNS
        );
        let Some(row) = sqlx::query(&sql)
            .bind(now.0)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let mut ticket = rows::ticket(&row)?;
        let department: Option<String> = sqlx::Row::try_get(&row, "department_name")?;
        let Some(periods) = self.settings.auto_close.periods(department.as_deref()) else {
            sqlx::query(
                "update tickets set auto_close_at = null, auto_close_stage = 0 where id = $1",
            )
            .bind(ticket.id.0)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Some(Step::Cleared));
        };
        let (step, event) = if !ticket.reminded {
            let closes_at = now.plus_minutes(periods.close_after);
            sqlx::query(
                "update tickets set auto_close_at = $2, auto_close_stage = 1, version = version + 1 where id = $1",
            )
            .bind(ticket.id.0)
            .bind(closes_at.0)
            .execute(&mut *tx)
            .await?;
            let event = EventPayload::AutoCloseReminder {
                number: ticket.number,
                closes_at,
                quiet_minutes: periods.remind_after,
            };
            (Step::Reminded, event)
        } else {
            let from = ticket.status;
            ticket.status = Status::Closed;
            ticket.closed_at = Some(now);
            ticket.last_activity_at = now;
            self.run_clocks(&mut ticket, now, false, department.as_deref());
            sqlx::query(
                "update tickets set status = 'closed', last_activity_at = $2, closed_at = $2, \
                 waiting_since = $3, due_at = $4, auto_close_at = $5, auto_close_stage = 0, \
                 version = version + 1 where id = $1",
            )
            .bind(ticket.id.0)
            .bind(now.0)
            .bind(ticket.waiting_since.map(|t| t.0))
            .bind(ticket.due_at.map(|t| t.0))
            .bind(ticket.auto_close_at.map(|t| t.0))
            .execute(&mut *tx)
            .await?;
            let event = EventPayload::TicketClosed {
                number: ticket.number,
                previous_status: from,
                reason: Some(CloseReason::NoReply {
                    quiet_minutes: periods.total(),
                }),
            };
            (Step::Closed, event)
        };
        self.emit(
            &mut tx,
            &Emit::system(ticket.id, event),
            None,
            "auto_close",
            &(),
        )
        .await?;
        let point = format!(
            "{}:{}",
            ticket.id,
            match step {
                Step::Closed => "close",
                _ => "remind",
            }
        );
        faults::crash_point(BEFORE_COMMIT, &point);
        tx.commit().await?;
        faults::crash_point(AFTER_COMMIT, &point);
        Ok(Some(step))
    }

    /// Pauses automatic closing of a ticket, or resumes it (staff only).
    /// Resumed while it waits on its customer, the customer has the whole
    /// period again from now.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn pause_auto_close(
        &self,
        ctx: &Ctx,
        ticket: TicketId,
        paused: bool,
    ) -> Result<Ticket> {
        command!(self, ctx.key.as_deref(), "pause_auto_close", |tx| {
            let row = self.lock_ticket_row(tx, ctx.actor, ticket, false).await?;
            let (actor, mut ticket, role) = (row.facts, row.ticket, row.role);
            refuse_if_closed(&ticket, None)?;
            if !role.can(Action::SetStatus) {
                return Err(EngineError::StaffOnly("staff"));
            }
            if ticket.auto_close_paused == paused {
                return Err(EngineError::Conflict(format!(
                    "automatic closing of ticket {} is already {}",
                    ticket.number,
                    if paused { "paused" } else { "on" }
                )));
            }
            ticket.auto_close_paused = paused;
            if !paused {
                // the customer gets the whole period again.
                ticket.auto_close_at = None;
                ticket.reminded = false;
                let now = self.now();
                self.run_clocks(&mut ticket, now, false, row.department_name.as_deref());
            }
            sqlx::query(
                "update tickets set auto_close_paused = $2, auto_close_at = $3, auto_close_stage = $4, \
                 version = version + 1 where id = $1",
            )
            .bind(ticket.id.0)
            .bind(i64::from(paused))
            .bind(ticket.auto_close_at.map(|t| t.0))
            .bind(i64::from(ticket.reminded))
            .execute(&mut **tx)
            .await?;
            let event = EventPayload::AutoClosePaused {
                number: ticket.number,
                paused,
            };
            Ok((ticket.clone(), Emit::ticket(ticket.id, actor.id, event)))
        })
    }

    /// Sets the automatic-closing due time of every ticket waiting on its
    /// customer by the periods in force (at start-up: they may have
    /// changed): with none, nothing is due; tickets without a due time get
    /// one counted from their last activity. Returns how many changed.
    pub async fn refresh_auto_close(&self) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        if !self.settings.auto_close.is_on() {
            let cleared = sqlx::query(
                "update tickets set auto_close_at = null, auto_close_stage = 0 where auto_close_at is not null",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(cleared.rows_affected());
        }
        // id, last activity, department name.
        type Waiting = (i64, i64, Option<String>);
        let rows: Vec<Waiting> = sqlx::query_as(
            "select t.id, t.last_activity_at, d.name from tickets t \
             left join departments d on d.id = t.department_id \
             where t.status = 'awaiting_client' and t.auto_close_at is null",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut changed = 0;
        for (id, last, department) in rows {
            let Some(p) = self.settings.auto_close.periods(department.as_deref()) else {
                continue;
            };
            let at = Timestamp(last).plus_minutes(p.remind_after);
            sqlx::query(
                "update tickets set auto_close_at = $2, auto_close_stage = 0 where id = $1",
            )
            .bind(id)
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
            changed += 1;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
