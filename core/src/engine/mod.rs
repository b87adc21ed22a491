//! The engine: every command is one transaction that loads the actor, locks
//! the ticket, checks the rights table, writes the change and its outbox
//! event, and commits. Queries show each person only what they may see.

mod auto_close;
mod delegates;
mod departments;
mod link_tokens;
mod people;
pub(crate) mod queries;
pub(crate) mod ratings;
pub(crate) mod rows;
mod saved_replies;
mod search;
mod tickets;
mod transcripts;

pub use auto_close::{AutoCloseRun, AFTER_COMMIT, BEFORE_COMMIT};
pub use delegates::Invitee;
pub use link_tokens::{
    LinkKind, LinkPurpose, MailFailure, Redeemed, SIGN_IN_LINKS_PER_WINDOW, SIGN_IN_WINDOW,
};
pub use queries::{
    OwnerFilter, PeoplePage, QueueFilter, ServiceFigures, Sort, SortBy, FIRST_RESPONSE_BUCKETS,
    PEOPLE_AT_ONCE, PICK_AT_MOST, THREAD_PAGE,
};
pub use ratings::{Counted, RatedTicket, RatingLink, RatingReport, RatingRow, RATING_WINDOW};
pub use saved_replies::fill as fill_saved_reply;
pub use search::{
    words_of, SearchHit, SearchQuery, SearchResult, CUSTOMER_SCAN, MAX_WORDS, STAFF_SCAN,
};
pub use tickets::{NewMessage, NewTicket, Opened, Posted};
pub use transcripts::{Transcript, TranscriptFormat, TranscriptKind, TRANSCRIPT_PAGE};

use crate::db::{Backend, Db, Tx};
use crate::domain::access::ActorFacts;
use crate::domain::{Role, Ticket};
use crate::error::{EngineError, Result};
use crate::ids::{MessageId, PersonId, TicketId, TicketNumber};
use crate::links::PlatformRef;
use crate::metrics::Metrics;
use crate::outbox::EventPayload;
use crate::time::{Clock, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Row};
use std::sync::Arc;

/// Tunable limits.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How many tickets one requester may have open at once (staff exempt).
    pub max_open_tickets_per_requester: u32,
    /// The largest attachment, in bytes.
    pub max_attachment_bytes: u64,
    /// Whether customers see who handles their ticket (the owner's first
    /// name: "Sam is handling your ticket").
    pub show_owner_to_customers: bool,
    /// How soon staff should answer (none by default).
    pub service: crate::service::ServiceTargets,
    /// When tickets waiting on their customer close by themselves (never
    /// by default).
    pub auto_close: crate::autoclose::AutoClose,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_open_tickets_per_requester: 25,
            max_attachment_bytes: 100 * 1024 * 1024,
            show_owner_to_customers: false,
            service: crate::service::ServiceTargets::default(),
            auto_close: crate::autoclose::AutoClose::default(),
        }
    }
}

/// Who is asking, and the idempotency key of the request (an inbound
/// platform event or interaction id) if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    /// The person acting.
    pub actor: PersonId,
    /// The same key twice performs the operation once.
    pub key: Option<String>,
    /// Where a posted message was written on a platform (a person's reply
    /// in a thread): recorded as an authored link in the same transaction,
    /// so no outbox consumer ever sees the message without it.
    pub origin: Option<PlatformRef>,
}

impl Ctx {
    /// A request by `actor` without an idempotency key.
    pub fn new(actor: PersonId) -> Self {
        Ctx {
            actor,
            key: None,
            origin: None,
        }
    }

    /// The same request, written at a platform address.
    pub fn with_origin(mut self, at: PlatformRef) -> Self {
        self.origin = Some(at);
        self
    }

    /// The same request, carrying an idempotency key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// The ticket engine.
#[derive(Debug, Clone)]
pub struct Engine {
    db: Db,
    settings: Settings,
    metrics: Arc<Metrics>,
    /// Card facts read while delivering an event, shared by the outbox's
    /// consumers ([`crate::System::card_facts_since`]).
    recent_facts: Arc<crate::surfaces::RecentFacts>,
}

/// How often a command is retried after a transient conflict.
pub(crate) const ATTEMPTS: usize = 4;

impl Engine {
    /// An engine over a migrated database.
    pub fn new(db: Db, settings: Settings) -> Self {
        Engine {
            db,
            settings,
            metrics: Arc::default(),
            recent_facts: Arc::default(),
        }
    }

    /// The same engine on another clock (a test's, shared by the engines
    /// of a replica test).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.db = self.db.with_clock(clock);
        self
    }

    /// The engine's clock (its database handle's, which the outbox shares).
    pub fn clock(&self) -> &Clock {
        self.db.clock()
    }

    /// The time now, by the engine's clock.
    pub fn now(&self) -> Timestamp {
        self.db.now()
    }

    /// The engine's counters (shared by clones of this engine).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Card facts lately read for deliveries (shared by clones).
    pub(crate) fn recent_facts(&self) -> &crate::surfaces::RecentFacts {
        &self.recent_facts
    }

    /// The limits in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether a committed command used this idempotency key: a repeat of
    /// it will only replay the first result (so a form's files need not be
    /// stored again).
    pub async fn key_used(&self, key: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("select id from outbox_events where idempotency_key = $1")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(found.is_some())
    }

    /// The first result of an idempotency key, if a committed command used
    /// it; a key used for another operation is an error.
    pub(crate) async fn replay<T: DeserializeOwned>(
        &self,
        key: &str,
        op: &str,
    ) -> Result<Option<T>> {
        let prev =
            sqlx::query("select operation, response from outbox_events where idempotency_key = $1")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await?;
        let Some(row) = prev else { return Ok(None) };
        let stored_op: String = row.try_get(0)?;
        if stored_op != op {
            return Err(EngineError::IdempotencyMismatch);
        }
        let response: String = row.try_get(1)?;
        Ok(Some(serde_json::from_str(&response)?))
    }

    /// Writes a change's outbox event, in the change's transaction, with the
    /// idempotency key and the result when the command carried a key. A key
    /// that is already stored fails the unique index: the command is then
    /// rolled back and answered with the first result.
    pub(crate) async fn emit<T: Serialize>(
        &self,
        tx: &mut Tx,
        event: &Emit,
        key: Option<&str>,
        op: &str,
        result: &T,
    ) -> Result<()> {
        let response = match key {
            Some(_) => Some(serde_json::to_string(result)?),
            None => None,
        };
        let written = sqlx::query(
            "insert into outbox_events (ticket_id, kind, actor_id, payload, created_at, idempotency_key, operation, response) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.ticket.map(|t| t.0))
        .bind(event.payload.kind())
        .bind(event.actor.map(|a| a.0))
        .bind(serde_json::to_string(&event.payload)?)
        .bind(self.now().0)
        .bind(key)
        .bind(key.map(|_| op))
        .bind(response)
        .execute(&mut **tx)
        .await;
        match written {
            Err(e) if is_unique_violation(&e) => Err(EngineError::Busy),
            other => other.map(drop).map_err(Into::into),
        }
    }

    /// Runs one attempt of a command after another ([`command!`], and the
    /// writes made in two round trips): a key seen before gives its first
    /// result, a conflict is tried again from the start, and the outcome
    /// is counted.
    pub(crate) async fn as_command<T, F, Fut>(
        &self,
        key: Option<&str>,
        op: &'static str,
        attempt: F,
    ) -> Result<T>
    where
        T: serde::de::DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let outcome = match (attempt().await, key) {
                // a key seen before: its first result, whatever this attempt
                // ran into (a refusal, or the key's unique index).
                (Err(e), Some(k)) => match self.replay(k, op).await? {
                    Some(first) => Ok(first),
                    None => Err(e),
                },
                (other, _) => other,
            };
            match outcome {
                Err(EngineError::Busy) if tries < ATTEMPTS => {
                    tracing::debug!(op, tries, "command retried after a conflict");
                    pause_before_retry(tries).await;
                }
                other => {
                    let result = match &other {
                        Ok(_) => "ok",
                        Err(e) => e.kind(),
                    };
                    self.metrics().record_command(op, result);
                    break other;
                }
            }
        }
    }

    /// Loads the person acting; an unknown person is "not found".
    pub(crate) async fn actor(&self, tx: &mut Tx, id: PersonId) -> Result<ActorFacts> {
        actor_facts(tx, id).await
    }

    /// Requires the actor to be staff.
    pub(crate) async fn staff(&self, tx: &mut Tx, id: PersonId) -> Result<ActorFacts> {
        let actor = self.actor(tx, id).await?;
        if actor.is_staff {
            Ok(actor)
        } else {
            Err(EngineError::StaffOnly("staff"))
        }
    }

    /// Loads the actor and locks a ticket row for this transaction, in one
    /// query, and works out the actor's role on the ticket. Tickets the
    /// actor may not see are "not found".
    pub(crate) async fn lock_ticket(
        &self,
        tx: &mut Tx,
        actor: PersonId,
        id: TicketId,
    ) -> Result<(ActorFacts, Ticket, Role)> {
        let row = self.lock_ticket_row(tx, actor, id, false).await?;
        Ok((row.facts, row.ticket, row.role))
    }

    /// [`Engine::lock_ticket`] with the whole row read: its department's
    /// name as well (for the clocks, without a read of its own), and with
    /// `next_message` the id the next message will take, in the same round
    /// trip (SQLite: the write lock is held, so `max(id) + 1` is safe;
    /// PostgreSQL: the identity's sequence).
    pub(crate) async fn lock_ticket_row(
        &self,
        tx: &mut Tx,
        actor: PersonId,
        ticket: impl Into<TicketKey>,
        next_message: bool,
    ) -> Result<TicketRow> {
        self.ticket_row(tx, actor, ticket.into(), next_message, true)
            .await
    }

    /// Reads a ticket, by id or by number, and the actor's role on it,
    /// without locking, in one round trip. Tickets the actor may not see
    /// are "not found".
    pub(crate) async fn view_ticket(
        &self,
        conn: &mut AnyConnection,
        actor: PersonId,
        key: TicketKey,
    ) -> Result<TicketRow> {
        self.ticket_row(conn, actor, key, false, false).await
    }

    /// The actor's facts and the ticket's row in one query.
    async fn ticket_row(
        &self,
        conn: &mut AnyConnection,
        actor: PersonId,
        key: TicketKey,
        next_message: bool,
        lock: bool,
    ) -> Result<TicketRow> {
        let (sql, args) = self.ticket_row_query(actor, key, next_message, lock)?;
        let row = sqlx::query_with(&sql, args)
            .fetch_optional(&mut *conn)
            .await?;
        self.ticket_row_of(conn, actor, row).await
    }

    /// [`Engine::ticket_row`]'s query: its text and arguments.
    pub(crate) fn ticket_row_query(
        &self,
        actor: PersonId,
        key: TicketKey,
        next_message: bool,
        lock: bool,
    ) -> Result<(String, AnyArguments<'static>)> {
        let next = match (next_message, self.db.backend()) {
            (false, _) => "null",
            (true, Backend::Sqlite) => "(select coalesce(max(id), 0) + 1 from messages)",
            (true, Backend::Postgres) => "nextval('messages_id_seq')",
        };
        let (column, value) = match key {
            TicketKey::Id(id) => ("id", id.0),
            TicketKey::Number(n) => ("number", n.0),
        };
        let sql = format!(
            "select {cols}, \
                 (select d.status from delegates d where d.ticket_id = t.id and d.person_id = p.id) as delegation, \
                 (select r.display_name from people r where r.id = t.requester_id) as requester_name, \
                 (select dep.name from departments dep where dep.id = t.department_id) as department_name, \
                 {actor}, {next} as next_message_id, t.version as version \
             from tickets t join people p on p.id = $2 where t.{column} = $1{lock}",
            cols = rows::TICKET_COLUMNS,
            actor = rows::ACTOR_COLUMNS,
            lock = if lock { self.db.for_update() } else { "" }
        );
        let args = crate::db::arguments(sqlx::query("").bind(value).bind(actor.0))?;
        Ok((sql, args))
    }

    /// [`Engine::ticket_row`] from its query's row (`None`: no ticket, or
    /// no such person, which `conn` tells apart).
    pub(crate) async fn ticket_row_of(
        &self,
        conn: &mut AnyConnection,
        actor: PersonId,
        row: Option<sqlx::any::AnyRow>,
    ) -> Result<TicketRow> {
        let Some(row) = row else {
            // say which one is missing: an unknown person, or the ticket.
            actor_facts(conn, actor).await?;
            return Err(EngineError::NotFound("ticket"));
        };
        let facts = rows::actor_columns(&row)?;
        let ticket = rows::ticket(&row)?;
        let role = Role::of(
            &facts,
            ticket.requester_id,
            ticket.org_id,
            rows::delegation(&row)?,
        );
        if !role.can(crate::domain::Action::View) {
            return Err(EngineError::NotFound("ticket"));
        }
        Ok(TicketRow {
            facts,
            ticket,
            role,
            next_message: row
                .try_get::<Option<i64>, _>("next_message_id")?
                .map(MessageId),
            version: row.try_get("version")?,
            requester_name: row
                .try_get::<Option<String>, _>("requester_name")?
                .unwrap_or_default(),
            department_name: row.try_get("department_name")?,
        })
    }
}

/// Which ticket: by id, or by the number people say aloud.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TicketKey {
    Id(TicketId),
    Number(TicketNumber),
}

impl From<TicketId> for TicketKey {
    fn from(id: TicketId) -> Self {
        TicketKey::Id(id)
    }
}

impl From<TicketNumber> for TicketKey {
    fn from(number: TicketNumber) -> Self {
        TicketKey::Number(number)
    }
}

/// A ticket as one person sees it: [`Engine::view_ticket`]'s answer.
pub(crate) struct TicketRow {
    pub facts: ActorFacts,
    pub ticket: Ticket,
    pub role: Role,
    /// The id the next message will take, when asked for.
    pub next_message: Option<MessageId>,
    /// The row's version (for a write guarded by it).
    pub version: i64,
    /// The requester's display name.
    pub requester_name: String,
    /// The ticket's department's name (its service target and auto-close
    /// periods are set by name).
    pub department_name: Option<String>,
}

/// A read transaction for a page of one ticket's messages, in which
/// PostgreSQL walks the `(ticket_id, id)` index in order and stops after
/// the page. A ticket far longer than the table's average is estimated at a
/// handful of rows, and PostgreSQL would then read every remaining message
/// of the ticket (a bitmap scan, a hash join with people) to sort them and
/// keep a page: each page would cost what is left of the ticket. Measured
/// on 200,000 messages of short tickets and one of 10,000: 4.9 ms for the
/// first page of 200, 0.5 ms without sorting. The setting lasts for this
/// transaction only.
pub(crate) async fn read_in_order(db: &Db) -> Result<crate::readers::ReadTx> {
    let mut tx = db.pool().begin().await?;
    if db.backend() == Backend::Postgres {
        sqlx::query("set local enable_sort = off")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// Loads a person's facts; an unknown person is "not found".
pub(crate) async fn actor_facts(conn: &mut AnyConnection, id: PersonId) -> Result<ActorFacts> {
    let row = sqlx::query(
        "select id, display_name, is_staff, org_id, is_company_admin from people where id = $1",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await?
    .ok_or(EngineError::NotFound("person"))?;
    rows::actor(&row)
}

/// The outbox event a command's change writes: exactly one per change.
#[derive(Debug)]
pub(crate) struct Emit {
    /// The ticket it concerns, if any.
    pub ticket: Option<TicketId>,
    /// Who caused it, if a person did.
    pub actor: Option<PersonId>,
    /// What happened.
    pub payload: EventPayload,
}

impl Emit {
    /// An event about a ticket.
    pub(crate) fn ticket(ticket: TicketId, actor: PersonId, payload: EventPayload) -> Self {
        Emit {
            ticket: Some(ticket),
            actor: Some(actor),
            payload,
        }
    }

    /// An event about a ticket that nobody caused (the system did).
    pub(crate) fn system(ticket: TicketId, payload: EventPayload) -> Self {
        Emit {
            ticket: Some(ticket),
            actor: None,
            payload,
        }
    }

    /// An event outside any ticket.
    pub(crate) fn global(actor: Option<PersonId>, payload: EventPayload) -> Self {
        Emit {
            ticket: None,
            actor,
            payload,
        }
    }
}

/// What a command's body did: a change with its one outbox event, or (only
/// for "ensure" operations that found their work already done) nothing.
#[derive(Debug)]
pub(crate) enum Change<T> {
    /// Something changed; this is its event.
    Made(T, Box<Emit>),
    /// Nothing needed changing; nothing is written.
    Unchanged(T),
    /// The body wrote its change and its one event itself (with the
    /// request's [`Idem`]), to save round trips on a hot path.
    Written(T),
}

/// A command's idempotency key and operation name, for bodies that write
/// their own event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Idem<'a> {
    /// The key, if the request carried one.
    pub key: Option<&'a str>,
    /// The operation.
    pub op: &'static str,
}

impl<T> From<(T, Emit)> for Change<T> {
    fn from((result, event): (T, Emit)) -> Self {
        Change::Made(result, Box::new(event))
    }
}

/// Pins an async block's output to the engine's result type.
pub(crate) fn typed<T, F: std::future::Future<Output = Result<T>>>(f: F) -> F {
    f
}

/// Runs one command in one transaction, with its idempotency key: a key
/// seen before returns the first result and changes nothing. Transient
/// conflicts (lock timeouts, deadlocks) are retried from the start. The body
/// is a block that sees the open transaction as `$tx` (a `&mut Tx`) and
/// evaluates to `Result<(T, Emit)>`: the result and the one outbox event of
/// the change, which the macro writes with the key before committing.
macro_rules! command {
    ($engine:expr, $key:expr, $op:expr, |$tx:ident| $body:block) => {
        $crate::engine::command!($engine, $key, $op, |$tx, _idem| $body)
    };
    ($engine:expr, $key:expr, $op:expr, |$tx:ident, $idem:ident| $body:block) => {{
        let engine: &$crate::engine::Engine = $engine;
        let key: Option<&str> = $key;
        let op: &'static str = $op;
        engine
            .as_command(key, op, || async {
                let mut tx = engine.db().begin().await?;
                let done = $crate::engine::typed(async {
                    let change: $crate::engine::Change<_> = {
                        let $tx: &mut $crate::db::Tx = &mut tx;
                        let $idem = $crate::engine::Idem { key, op };
                        $crate::engine::typed(async { $body }).await?
                    }
                    .into();
                    match change {
                        $crate::engine::Change::Made(result, event) => {
                            engine.emit(&mut tx, &event, key, op, &result).await?;
                            Ok((result, event.ticket.is_none()))
                        }
                        $crate::engine::Change::Unchanged(result)
                        | $crate::engine::Change::Written(result) => Ok((result, false)),
                    }
                })
                .await;
                match done {
                    Ok((result, of_no_ticket)) => {
                        tx.commit().await?;
                        if of_no_ticket {
                            // a person or a department: cards may show it.
                            engine.recent_facts().forget();
                        }
                        Ok(result)
                    }
                    // rolled back now, so the connection goes back to the
                    // pool clean rather than "idle in transaction".
                    Err(e) => Err($crate::engine::rolled_back(tx, e).await),
                }
            })
            .await
    }};
}
pub(crate) use command;

/// A write transaction ended by an error: undone, and the error given
/// back.
pub(crate) async fn rolled_back(tx: Tx, e: EngineError) -> EngineError {
    let _ = tx.rollback().await;
    e
}

/// Whether a database error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) async fn pause_before_retry(attempt: usize) {
    // a short, growing pause lets the competing writer finish.
    let millis = 5u64 << attempt.min(6);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}
