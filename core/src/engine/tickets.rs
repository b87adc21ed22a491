//! Ticket commands: open, reply, note, close, edit subject, set status and
//! edit a message.

use super::command;
use super::{rows, Change, Ctx, Emit, Engine, Idem, TicketKey};
use crate::db::{Backend, Tx};
use crate::domain::access::ActorFacts;
use crate::domain::*;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::outbox::EventPayload;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::{Execute, Row};

/// What a person fills in to open a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    /// Required; trimmed; at most 200 characters.
    pub subject: String,
    /// Optional; must be an active department.
    pub department: Option<DepartmentId>,
    /// The first message; required.
    pub body: String,
    /// Attachment metadata.
    pub attachments: Vec<AttachmentMeta>,
}

/// A reply or note as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// The text.
    pub body: String,
    /// Attachment metadata.
    pub attachments: Vec<AttachmentMeta>,
}

impl NewMessage {
    /// A message with text only.
    pub fn text(body: impl Into<String>) -> Self {
        NewMessage {
            body: body.into(),
            attachments: Vec::new(),
        }
    }
}

/// A freshly opened ticket and its first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    /// The ticket.
    pub ticket: Ticket,
    /// Its first message.
    pub message: Message,
}

/// A posted reply or note and the ticket after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    /// The ticket, with its new status.
    pub ticket: Ticket,
    /// The message.
    pub message: Message,
}

pub(super) fn refuse_if_closed(ticket: &Ticket, unsent: Option<&str>) -> Result<()> {
    if ticket.status.is_closed() {
        return Err(EngineError::TicketClosed {
            number: ticket.number,
            unsent: unsent.map(str::to_owned),
        });
    }
    Ok(())
}

/// A write made in two round trips ended: its last statement and the
/// commit. The idempotency key's unique index (the same request, done
/// meanwhile) is a conflict, answered by the key's first result.
async fn commit_in_two<'q>(
    tx: Tx,
    sql: &str,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<()> {
    match tx.commit_executing(sql, crate::db::arguments(query)?).await {
        Ok(_) => Ok(()),
        Err(EngineError::Database(e)) if super::is_unique_violation(&e) => Err(EngineError::Busy),
        Err(e) => Err(e),
    }
}

/// An opening's writes ([`Engine::open_in_two`]): the counter, the ticket,
/// its first message and the event. SQLite: four statements in one query.
const OPEN_WRITES_SQLITE: &str = "update counters set value = $2 where name = 'ticket_number'; \
     insert into tickets (id, number, subject, department_id, requester_id, org_id, status, created_at, last_activity_at, waiting_since, due_at) \
       values ($1, $2, $3, $4, $5, $6, 'open', $7, $7, $8, $9); \
     insert into messages (id, ticket_id, author_id, author_role, internal, body, created_at) \
       values ($10, $1, $5, $11, 0, $12, $7); \
     insert into outbox_events (ticket_id, kind, actor_id, payload, created_at, idempotency_key, operation, response) \
       values ($1, $13, $5, $14, $7, $15, $16, $17)";

/// [`OPEN_WRITES_SQLITE`] on PostgreSQL, which takes one statement a
/// query: the same writes as one statement (the message's reference to
/// its ticket is checked at the statement's end, when the ticket is in).
const OPEN_WRITES_POSTGRES: &str = "with c as (update counters set value = $2 where name = 'ticket_number'), \
     t as (insert into tickets (id, number, subject, department_id, requester_id, org_id, status, created_at, last_activity_at, waiting_since, due_at) \
       overriding system value values ($1, $2, $3, $4, $5, $6, 'open', $7, $7, $8, $9)), \
     m as (insert into messages (id, ticket_id, author_id, author_role, internal, body, created_at) \
       overriding system value values ($10, $1, $5, $11, 0, $12, $7)) \
     insert into outbox_events (ticket_id, kind, actor_id, payload, created_at, idempotency_key, operation, response) \
       values ($1, $13, $5, $14, $7, $15, $16, $17)";

/// An opening's SQL on `backend` ([`Engine::open_in_two`]): in its read,
/// the next number and the next ticket's and message's ids; its writes.
/// SQLite's writer is held from the read to the commit, so the largest ids
/// and the counter read are the ones written; PostgreSQL locks the
/// counter's row to the commit and takes the ids from their sequences.
fn opening_sql(backend: Backend) -> (&'static str, &'static str, &'static str) {
    match backend {
        Backend::Sqlite => (
            "(select value + 1 from counters where name = 'ticket_number')",
            "(select coalesce(max(id), 0) + 1 from tickets) as next_ticket, \
             (select coalesce(max(id), 0) + 1 from messages) as next_message",
            OPEN_WRITES_SQLITE,
        ),
        Backend::Postgres => (
            "(select value + 1 from counters where name = 'ticket_number' for update)",
            "nextval(pg_get_serial_sequence('tickets', 'id')) as next_ticket, \
             nextval('messages_id_seq') as next_message",
            OPEN_WRITES_POSTGRES,
        ),
    }
}

/// A person's open tickets, counted for customers only (staff have no
/// limit): a column of a read of `people p`.
const OPEN_TICKETS: &str = "case when p.is_staff = 0 then \
        (select count(*) from tickets t where t.requester_id = p.id and t.is_closed = 0) \
    else 0 end as open_tickets";

/// A department chosen for a new ticket: `active` as read (`None`: there is
/// no such department).
fn department_takes_tickets(active: Option<i64>) -> Result<()> {
    match active {
        None => Err(EngineError::NotFound("department")),
        Some(0) => Err(EngineError::Conflict(
            "that department no longer takes new tickets; pick another one".into(),
        )),
        Some(_) => Ok(()),
    }
}

/// A new ticket as opened by `actor` (its id not yet known).
fn new_ticket(
    actor: &ActorFacts,
    subject: &Subject,
    department: Option<DepartmentId>,
    number: i64,
    now: Timestamp,
) -> Ticket {
    Ticket {
        id: TicketId(0),
        number: TicketNumber(number),
        subject: subject.as_str().to_owned(),
        department_id: department,
        requester_id: actor.id,
        org_id: actor.org_id,
        status: Status::Open,
        created_at: now,
        last_activity_at: now,
        closed_at: None,
        owner_id: None,
        waiting_since: None,
        first_response_at: None,
        due_at: None,
        auto_close_at: None,
        reminded: false,
        auto_close_paused: false,
    }
}

/// The one event of an opening.
fn opened_event(opened: &Opened) -> Emit {
    let payload = EventPayload::TicketOpened {
        ticket: opened.ticket.clone(),
        message: opened.message.clone(),
    };
    Emit::ticket(opened.ticket.id, opened.ticket.requester_id, payload)
}

/// Checks a reply or note against the ticket and the author's role, and
/// moves the ticket as the post will; returns the status before.
fn decide_post(
    ticket: &mut Ticket,
    role: Role,
    internal: bool,
    body: &MessageBody,
    now: Timestamp,
) -> Result<Status> {
    refuse_if_closed(ticket, Some(body.as_str()))?;
    require(
        role,
        if internal {
            Action::Note
        } else {
            Action::Reply
        },
    )?;
    let previous = ticket.status;
    if !internal {
        // notes do not move the ticket in customers' lists.
        ticket.status = previous.after_reply(role == Role::Staff);
        ticket.last_activity_at = now;
    }
    Ok(previous)
}

/// The one event of a post.
fn post_event(
    internal: bool,
    message: &Message,
    ticket: &Ticket,
    previous: Status,
    actor: PersonId,
) -> Emit {
    let payload = if internal {
        EventPayload::NotePosted {
            number: ticket.number,
            message: message.clone(),
        }
    } else {
        EventPayload::ReplyPosted {
            number: ticket.number,
            message: message.clone(),
            previous_status: previous,
            status: ticket.status,
        }
    };
    Emit::ticket(ticket.id, actor, payload)
}

fn require(role: Role, action: Action) -> Result<()> {
    if role.can(action) {
        Ok(())
    } else {
        Err(EngineError::NotAllowed(action))
    }
}

/// The service clock after a change: a ticket waits for staff while its
/// status says so (open, client replied); the wait starts at the first
/// such change and stops when staff answer or set another status. A staff
/// answer in public is the first response once. Returns whether the wait
/// started now (its due time is then to be set).
fn run_clock(ticket: &mut Ticket, now: Timestamp, staff_answered: bool) -> bool {
    if staff_answered && ticket.first_response_at.is_none() {
        ticket.first_response_at = Some(now);
    }
    if matches!(ticket.status, Status::Open | Status::ClientReplied) {
        if ticket.waiting_since.is_none() {
            ticket.waiting_since = Some(now);
            return true;
        }
    } else {
        ticket.waiting_since = None;
        ticket.due_at = None;
    }
    false
}

/// The automatic-closing clock after a change: a ticket waiting on its
/// customer has its first step (the reminder) due a period after staff last
/// handed it to them, so a public answer from staff starts it again; any
/// other status has none. Returns whether it starts now (its due time is
/// then to be set).
fn run_quiet_clock(ticket: &mut Ticket, staff_answered: bool) -> bool {
    let waits = ticket.status == Status::AwaitingClient;
    if !waits || staff_answered || ticket.auto_close_at.is_none() {
        ticket.auto_close_at = None;
        ticket.reminded = false;
    }
    waits && ticket.auto_close_at.is_none()
}

impl Engine {
    /// When staff should answer a ticket waiting since `waiting_since`
    /// (`None`: not waiting) in the department named, first or next
    /// response by `first_response_at`.
    fn due_in(
        &self,
        department: Option<&str>,
        waiting_since: Option<Timestamp>,
        first_response_at: Option<Timestamp>,
    ) -> Option<Timestamp> {
        self.settings
            .service
            .due(department, first_response_at.is_none(), waiting_since?)
    }

    /// Sets every waiting ticket's due time by the service targets in
    /// force (at start-up: the targets may have changed since). Returns how
    /// many changed.
    pub async fn refresh_due_times(&self) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        if !self.settings.service.is_on() {
            // no targets: nothing is due; one statement, not a read of
            // every waiting ticket at each start.
            let cleared = sqlx::query("update tickets set due_at = null where due_at is not null")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(cleared.rows_affected());
        }
        // id, waiting since, first response, due, department name.
        type Waiting = (i64, i64, Option<i64>, Option<i64>, Option<String>);
        let rows: Vec<Waiting> = sqlx::query_as(
            "select t.id, t.waiting_since, t.first_response_at, t.due_at, d.name from tickets t \
             left join departments d on d.id = t.department_id \
             where t.is_closed = 0 and t.waiting_since is not null",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut changed = 0;
        for (id, since, first_response, due, department) in rows {
            let wanted = self
                .due_in(
                    department.as_deref(),
                    Some(Timestamp(since)),
                    first_response.map(Timestamp),
                )
                .map(|t| t.0);
            if wanted != due {
                sqlx::query("update tickets set due_at = $2 where id = $1")
                    .bind(id)
                    .bind(wanted)
                    .execute(&mut *tx)
                    .await?;
                changed += 1;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Runs the service clock ([`run_clock`]) and the automatic-closing
    /// clock ([`run_quiet_clock`]) after a change, and sets the due times
    /// of what starts now by the settings of the ticket's `department`,
    /// named as read with the ticket ([`super::TicketRow::department_name`]):
    /// the clocks never cost a round trip of their own.
    pub(crate) fn run_clocks(
        &self,
        ticket: &mut Ticket,
        now: Timestamp,
        staff_answered: bool,
        department: Option<&str>,
    ) {
        let clocks = self.start_clocks(ticket, now, staff_answered);
        self.set_clocks(ticket, now, clocks, department);
    }

    /// Moves the clocks' marks; whether the due time and the auto-close
    /// time need the department's settings (the service target, the
    /// auto-close periods).
    fn start_clocks(
        &self,
        ticket: &mut Ticket,
        now: Timestamp,
        staff_answered: bool,
    ) -> (bool, bool) {
        let wait = run_clock(ticket, now, staff_answered) && self.settings.service.is_on();
        let quiet = run_quiet_clock(ticket, staff_answered) && self.settings.auto_close.is_on();
        (wait, quiet)
    }

    /// Sets the due time and the auto-close time that
    /// [`Engine::start_clocks`] said need setting, by the department's
    /// settings.
    fn set_clocks(
        &self,
        ticket: &mut Ticket,
        now: Timestamp,
        (wait, quiet): (bool, bool),
        name: Option<&str>,
    ) {
        if wait {
            ticket.due_at = self.due_in(name, ticket.waiting_since, ticket.first_response_at);
        }
        if quiet {
            ticket.auto_close_at = self
                .settings
                .auto_close
                .periods(name)
                .map(|p| now.plus_minutes(p.remind_after));
        }
    }

    /// Whether a new ticket's fields are acceptable as typed (subject,
    /// message, files), checked without the database: a form acknowledged
    /// before it is handled ([`crate::inbound`]) shows these refusals at
    /// once, beside the fields. [`Engine::open_ticket`] checks them again.
    pub fn check_new_ticket(&self, input: &NewTicket) -> Result<()> {
        Subject::parse(&input.subject)?;
        MessageBody::parse(&input.body)?;
        AttachmentMeta::parse_all(
            input.attachments.clone(),
            self.settings.max_attachment_bytes,
        )?;
        Ok(())
    }

    /// Opens a ticket for the actor, with its first message.
    #[tracing::instrument(skip_all, fields(person.id = %ctx.actor))]
    pub async fn open_ticket(&self, ctx: &Ctx, input: NewTicket) -> Result<Opened> {
        let subject = Subject::parse(&input.subject)?;
        let body = MessageBody::parse(&input.body)?;
        let files =
            AttachmentMeta::parse_all(input.attachments, self.settings.max_attachment_bytes)?;
        if files.is_empty() {
            return self
                .open_in_two(ctx, &subject, &body, input.department)
                .await;
        }
        command!(self, ctx.key.as_deref(), "open_ticket", |tx| {
            // the person, and (customers only) their open tickets, at once.
            let row = sqlx::query(&format!(
                "select {}, {OPEN_TICKETS} from people p where p.id = $1",
                rows::ACTOR_COLUMNS
            ))
            .bind(ctx.actor.0)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(EngineError::NotFound("person"))?;
            let actor = rows::actor_columns(&row)?;
            // the department's state, and its name for the clocks.
            let mut department_name = None;
            if let Some(dept) = input.department {
                let found: Option<(i64, String)> =
                    sqlx::query_as("select active, name from departments where id = $1")
                        .bind(dept.0)
                        .fetch_optional(&mut **tx)
                        .await?;
                department_takes_tickets(found.as_ref().map(|(active, _)| *active))?;
                department_name = found.map(|(_, name)| name);
            }
            self.within_open_limit(&actor, row.try_get("open_tickets")?)?;
            let number: i64 = sqlx::query_scalar(
                "update counters set value = value + 1 where name = 'ticket_number' returning value",
            )
            .fetch_one(&mut **tx)
            .await?;
            let now = self.now();
            let mut ticket = new_ticket(&actor, &subject, input.department, number, now);
            self.run_clocks(&mut ticket, now, false, department_name.as_deref());
            let id: i64 = sqlx::query_scalar(
                "insert into tickets (number, subject, department_id, requester_id, org_id, status, created_at, last_activity_at, waiting_since, due_at) \
                 values ($1, $2, $3, $4, $5, 'open', $6, $6, $7, $8) returning id",
            )
            .bind(number)
            .bind(subject.as_str())
            .bind(input.department.map(|d| d.0))
            .bind(actor.id.0)
            .bind(actor.org_id.map(|o| o.0))
            .bind(now.0)
            .bind(ticket.waiting_since.map(|t| t.0))
            .bind(ticket.due_at.map(|t| t.0))
            .fetch_one(&mut **tx)
            .await?;
            let ticket = Ticket {
                id: TicketId(id),
                ..ticket
            };
            let message = self
                .insert_message(
                    tx,
                    &ticket,
                    &actor,
                    Role::Requester,
                    false,
                    &body,
                    &files,
                    now,
                    false,
                )
                .await?;
            let opened = Opened { ticket, message };
            let event = opened_event(&opened);
            Ok((opened, event))
        })
    }

    /// [`Engine::open_ticket`] without files, in two steps: the
    /// transaction's opening with the read of the person, their open
    /// tickets, the department and the next number and ids; then (after
    /// the checks) the counter, the ticket, its first message and the
    /// event with the commit. On SQLite each step is one round trip to the
    /// writer's thread, and the writer is held from the read to the commit,
    /// so the number and the ids read are the ones written. On PostgreSQL
    /// the read locks the counter's row (held to the commit, as the
    /// locking path's update of it does), the ids come from their
    /// sequences, and the writes are one statement: begin, read, write,
    /// commit, four round trips where the locking path takes seven. A
    /// refused opening rolls back, so it takes no number.
    async fn open_in_two(
        &self,
        ctx: &Ctx,
        subject: &Subject,
        body: &MessageBody,
        department: Option<DepartmentId>,
    ) -> Result<Opened> {
        const OP: &str = "open_ticket";
        let key = ctx.key.as_deref();
        self.as_command(key, OP, || async {
            let (next_number, next_ids, writes) = opening_sql(self.db.backend());
            let sql = format!(
                "select {}, {OPEN_TICKETS}, \
                    d.active as department_active, d.name as department_name, \
                    {next_number} as next_number, {next_ids} \
                 from people p left join departments d on d.id = $2 where p.id = $1",
                rows::ACTOR_COLUMNS
            );
            let args = crate::db::arguments(
                sqlx::query("")
                    .bind(ctx.actor.0)
                    .bind(department.map(|d| d.0)),
            )?;
            let (tx, row) = self.db.begin_fetching(&sql, args).await?;
            let decided = super::typed(async {
                let row = row.ok_or(EngineError::NotFound("person"))?;
                let actor = rows::actor_columns(&row)?;
                if department.is_some() {
                    department_takes_tickets(row.try_get("department_active")?)?;
                }
                self.within_open_limit(&actor, row.try_get("open_tickets")?)?;
                let number: i64 = row.try_get("next_number")?;
                let now = self.now();
                let mut ticket = new_ticket(&actor, subject, department, number, now);
                ticket.id = TicketId(row.try_get("next_ticket")?);
                let department_name: Option<String> = row.try_get("department_name")?;
                self.run_clocks(&mut ticket, now, false, department_name.as_deref());
                let message = new_message(
                    MessageId(row.try_get("next_message")?),
                    &ticket,
                    &actor,
                    Role::Requester,
                    false,
                    body,
                    now,
                )?;
                let opened = Opened { ticket, message };
                let event = opened_event(&opened);
                Ok((opened, event))
            })
            .await;
            let (opened, event) = match decided {
                Ok(decided) => decided,
                Err(e) => return Err(super::rolled_back(tx, e).await),
            };
            let (ticket, message) = (&opened.ticket, &opened.message);
            let response = match key {
                Some(_) => Some(serde_json::to_string(&opened)?),
                None => None,
            };
            let query = sqlx::query(writes)
                .bind(ticket.id.0)
                .bind(ticket.number.0)
                .bind(ticket.subject.as_str())
                .bind(ticket.department_id.map(|d| d.0))
                .bind(ticket.requester_id.0)
                .bind(ticket.org_id.map(|o| o.0))
                .bind(ticket.created_at.0)
                .bind(ticket.waiting_since.map(|t| t.0))
                .bind(ticket.due_at.map(|t| t.0))
                .bind(message.id.0)
                .bind(message.author_role.as_str())
                .bind(message.body.as_str())
                .bind(event.payload.kind())
                .bind(serde_json::to_string(&event.payload)?)
                .bind(key)
                .bind(key.map(|_| OP))
                .bind(response);
            let sql = query.sql().to_owned();
            commit_in_two(tx, &sql, query).await?;
            Ok(opened)
        })
        .await
    }

    /// Whether a customer may open one more ticket (staff always may).
    fn within_open_limit(&self, actor: &ActorFacts, open: i64) -> Result<()> {
        let limit = self.settings.max_open_tickets_per_requester;
        if !actor.is_staff && open >= i64::from(limit) {
            return Err(EngineError::TooManyOpenTickets { open, limit });
        }
        Ok(())
    }

    /// Posts a public reply; moves the status as PRODUCT.md says.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn reply(&self, ctx: &Ctx, ticket: TicketId, input: NewMessage) -> Result<Posted> {
        self.post(ctx, ticket.into(), input, false).await
    }

    /// Posts an internal note (staff only; never shown to customers).
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn note(&self, ctx: &Ctx, ticket: TicketId, input: NewMessage) -> Result<Posted> {
        self.post(ctx, ticket.into(), input, true).await
    }

    /// [`Engine::reply`] to a ticket found by its number, with the same
    /// rights check in the same write (no read before it): a ticket the
    /// actor may not see is "not found".
    #[tracing::instrument(skip_all, fields(ticket.number = %number))]
    pub async fn reply_by_number(
        &self,
        ctx: &Ctx,
        number: TicketNumber,
        input: NewMessage,
    ) -> Result<Posted> {
        self.post(ctx, number.into(), input, false).await
    }

    /// [`Engine::note`] on a ticket found by its number
    /// ([`Engine::reply_by_number`]).
    #[tracing::instrument(skip_all, fields(ticket.number = %number))]
    pub async fn note_by_number(
        &self,
        ctx: &Ctx,
        number: TicketNumber,
        input: NewMessage,
    ) -> Result<Posted> {
        self.post(ctx, number.into(), input, true).await
    }

    async fn post(
        &self,
        ctx: &Ctx,
        ticket_key: TicketKey,
        input: NewMessage,
        internal: bool,
    ) -> Result<Posted> {
        let body = MessageBody::parse(&input.body)?;
        let files =
            AttachmentMeta::parse_all(input.attachments, self.settings.max_attachment_bytes)?;
        let op = if internal { "note" } else { "reply" };
        let plain = files.is_empty() && ctx.origin.is_none();
        match self.db.backend() {
            // the hot path: no lock, no explicit transaction; falls back to
            // the locking path below when the ticket changed meanwhile.
            Backend::Postgres if plain => {
                if let Some(posted) = self
                    .post_unlocked(ctx, ticket_key, &body, internal, op)
                    .await?
                {
                    return Ok(posted);
                }
            }
            Backend::Sqlite if plain => {
                return self.post_in_two(ctx, ticket_key, &body, internal, op).await;
            }
            _ => {}
        }
        command!(self, ctx.key.as_deref(), op, |tx, idem| {
            let row = self
                .lock_ticket_row(tx, ctx.actor, ticket_key, plain)
                .await?;
            let (actor, mut ticket, role) = (row.facts, row.ticket, row.role);
            let now = self.now();
            let previous = decide_post(&mut ticket, role, internal, &body, now)?;
            let answered = !internal && role == Role::Staff;
            self.run_clocks(&mut ticket, now, answered, row.department_name.as_deref());
            match row.next_message {
                // the message, the ticket and the event in one round trip.
                Some(id) => {
                    let message = new_message(id, &ticket, &actor, role, internal, &body, now)?;
                    let event = post_event(internal, &message, &ticket, previous, actor.id);
                    let posted = Posted { ticket, message };
                    self.write_post(tx, idem, &posted, &event, None).await?;
                    Ok(Change::Written(posted))
                }
                None => {
                    let message = self
                        .insert_message(
                            tx, &ticket, &actor, role, internal, &body, &files, now, true,
                        )
                        .await?;
                    if let Some(at) = &ctx.origin {
                        crate::links::insert_authored(tx, ticket.id, message.id, at).await?;
                    }
                    let event = post_event(internal, &message, &ticket, previous, actor.id);
                    Ok(Change::from((Posted { ticket, message }, event)))
                }
            }
        })
    }

    /// A plain reply or note on PostgreSQL in two round trips: read the
    /// ticket and the actor (no lock) and decide, then one statement writes
    /// the message, the ticket and the event only if the ticket's version is
    /// still the one the decision was made on. Every change that bears on
    /// rights or status bumps the version (status, subject, delegates), so
    /// the outcome is the locking path's. `None`: the ticket changed
    /// meanwhile; the caller takes the locking path.
    async fn post_unlocked(
        &self,
        ctx: &Ctx,
        ticket_key: TicketKey,
        body: &MessageBody,
        internal: bool,
        op: &'static str,
    ) -> Result<Option<Posted>> {
        let key = ctx.key.as_deref();
        let attempt = super::typed(async {
            let mut conn = self.db.pool().acquire().await?;
            let r = self
                .ticket_row(&mut conn, ctx.actor, ticket_key, true, false)
                .await?;
            let (actor, mut ticket, role, next_id) = (r.facts, r.ticket, r.role, r.next_message);
            let now = self.now();
            let previous = decide_post(&mut ticket, role, internal, body, now)?;
            let answered = !internal && role == Role::Staff;
            self.run_clocks(&mut ticket, now, answered, r.department_name.as_deref());
            let id = next_id.ok_or_else(|| EngineError::Corrupt("no message id".into()))?;
            let message = new_message(id, &ticket, &actor, role, internal, body, now)?;
            let event = post_event(internal, &message, &ticket, previous, actor.id);
            let posted = Posted { ticket, message };
            let idem = Idem { key, op };
            let written = self
                .write_post(&mut conn, idem, &posted, &event, Some(r.version))
                .await?;
            Ok(written.then_some(posted))
        })
        .await;
        let outcome = match (attempt, key) {
            // a key seen before: its first result.
            (Err(e), Some(k)) => match self.replay(k, op).await? {
                Some(first) => Ok(Some(first)),
                None => Err(e),
            },
            (other, _) => other,
        };
        match &outcome {
            Ok(Some(_)) => self.metrics().record_command(op, "ok"),
            Err(e) => self.metrics().record_command(op, e.kind()),
            // the locking path counts it.
            Ok(None) => {}
        }
        outcome
    }

    /// A plain reply or note on SQLite in two round trips to the writer's
    /// thread: the transaction's opening with the read of the ticket and
    /// the actor, then (after the decision) the message, the ticket and the
    /// event with the commit ([`crate::Db::begin_fetching`],
    /// [`crate::db::Tx::commit_executing`]). The writer is held from the
    /// read to the commit, as on the locking path, so the decision stands.
    async fn post_in_two(
        &self,
        ctx: &Ctx,
        ticket_key: TicketKey,
        body: &MessageBody,
        internal: bool,
        op: &'static str,
    ) -> Result<Posted> {
        let key = ctx.key.as_deref();
        self.as_command(key, op, || async {
            let (sql, args) = self.ticket_row_query(ctx.actor, ticket_key, true, false)?;
            let (mut tx, row) = self.db.begin_fetching(&sql, args).await?;
            let decided = super::typed(async {
                let r = self.ticket_row_of(&mut tx, ctx.actor, row).await?;
                let mut ticket = r.ticket;
                let now = self.now();
                let previous = decide_post(&mut ticket, r.role, internal, body, now)?;
                let answered = !internal && r.role == Role::Staff;
                self.run_clocks(&mut ticket, now, answered, r.department_name.as_deref());
                let id = r
                    .next_message
                    .ok_or_else(|| EngineError::Corrupt("no message id".into()))?;
                let message = new_message(id, &ticket, &r.facts, r.role, internal, body, now)?;
                let event = post_event(internal, &message, &ticket, previous, r.facts.id);
                Ok((Posted { ticket, message }, event))
            })
            .await;
            let (posted, event) = match decided {
                Ok(decided) => decided,
                Err(e) => return Err(super::rolled_back(tx, e).await),
            };
            let sql = self.post_sql(None);
            let query = self.post_query(&sql, Idem { key, op }, &posted, &event, None)?;
            commit_in_two(tx, &sql, query).await?;
            Ok(posted)
        })
        .await
    }

    /// Closes a ticket. Closed is final.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn close(&self, ctx: &Ctx, ticket: TicketId) -> Result<Ticket> {
        command!(self, ctx.key.as_deref(), "close", |tx| {
            let row = self.lock_ticket_row(tx, ctx.actor, ticket, false).await?;
            refuse_if_closed(&row.ticket, None)?;
            require(row.role, Action::Close)?;
            self.change_status(tx, row, Status::Closed).await
        })
    }

    /// Sets a status by hand (staff only). Setting `closed` closes the ticket.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn set_status(&self, ctx: &Ctx, ticket: TicketId, status: Status) -> Result<Ticket> {
        command!(self, ctx.key.as_deref(), "set_status", |tx| {
            let row = self.lock_ticket_row(tx, ctx.actor, ticket, false).await?;
            refuse_if_closed(&row.ticket, None)?;
            require(row.role, Action::SetStatus)?;
            if row.ticket.status == status {
                return Err(EngineError::SameStatus(status));
            }
            self.change_status(tx, row, status).await
        })
    }

    /// Sets the status of the ticket `row` locked (its department's name
    /// read with it, for the clocks).
    async fn change_status(
        &self,
        tx: &mut Tx,
        row: super::TicketRow,
        to: Status,
    ) -> Result<(Ticket, Emit)> {
        let (actor, mut ticket) = (&row.facts, row.ticket);
        let now = self.now();
        let from = ticket.status;
        ticket.status = to;
        ticket.last_activity_at = now;
        if to.is_closed() {
            ticket.closed_at = Some(now);
        }
        self.run_clocks(&mut ticket, now, false, row.department_name.as_deref());
        sqlx::query(
            "update tickets set status = $2, last_activity_at = $3, closed_at = $4, \
             waiting_since = $5, due_at = $6, auto_close_at = $7, auto_close_stage = $8, \
             version = version + 1 where id = $1",
        )
        .bind(ticket.id.0)
        .bind(to.as_str())
        .bind(now.0)
        .bind(ticket.closed_at.map(|t| t.0))
        .bind(ticket.waiting_since.map(|t| t.0))
        .bind(ticket.due_at.map(|t| t.0))
        .bind(ticket.auto_close_at.map(|t| t.0))
        .bind(i64::from(ticket.reminded))
        .execute(&mut **tx)
        .await?;
        let event = if to.is_closed() {
            EventPayload::TicketClosed {
                number: ticket.number,
                previous_status: from,
                reason: None,
            }
        } else {
            EventPayload::StatusChanged {
                number: ticket.number,
                from,
                to,
            }
        };
        let event = Emit::ticket(ticket.id, actor.id, event);
        Ok((ticket, event))
    }

    /// Makes `to` the ticket's owner (the member of staff handling it), or
    /// nobody with `None`. Staff only; the new owner must be on the support
    /// team. Claiming is assigning to oneself.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn assign(
        &self,
        ctx: &Ctx,
        ticket: TicketId,
        to: Option<PersonId>,
    ) -> Result<Ticket> {
        command!(self, ctx.key.as_deref(), "assign", |tx| {
            let (actor, mut ticket, role) = self.lock_ticket(tx, ctx.actor, ticket).await?;
            refuse_if_closed(&ticket, None)?;
            require(role, Action::Assign)?;
            let owner_name = match to {
                None => None,
                Some(p) => {
                    let row: Option<(String, i64)> =
                        sqlx::query_as("select display_name, is_staff from people where id = $1")
                            .bind(p.0)
                            .fetch_optional(&mut **tx)
                            .await?;
                    match row {
                        Some((name, 1)) => Some(name),
                        Some((name, _)) => {
                            return Err(EngineError::Conflict(format!(
                                "{name} is not on the support team, so they cannot own a ticket"
                            )))
                        }
                        None => return Err(EngineError::NotFound("person")),
                    }
                }
            };
            if ticket.owner_id == to {
                return Err(EngineError::Conflict(match &owner_name {
                    Some(n) => format!("{n} already owns ticket {}", ticket.number),
                    None => format!("ticket {} has no owner", ticket.number),
                }));
            }
            let from = std::mem::replace(&mut ticket.owner_id, to);
            sqlx::query("update tickets set owner_id = $2, version = version + 1 where id = $1")
                .bind(ticket.id.0)
                .bind(to.map(|p| p.0))
                .execute(&mut **tx)
                .await?;
            let event = EventPayload::OwnerChanged {
                number: ticket.number,
                from,
                to,
                owner_name,
            };
            Ok((ticket.clone(), Emit::ticket(ticket.id, actor.id, event)))
        })
    }

    /// Moves a ticket to another department (in use), or to none. Staff
    /// only.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn move_to_department(
        &self,
        ctx: &Ctx,
        ticket: TicketId,
        to: Option<DepartmentId>,
    ) -> Result<Ticket> {
        command!(self, ctx.key.as_deref(), "move_to_department", |tx| {
            let row = self.lock_ticket_row(tx, ctx.actor, ticket, false).await?;
            let (actor, mut ticket, role) = (row.facts, row.ticket, row.role);
            refuse_if_closed(&ticket, None)?;
            require(role, Action::Move)?;
            let to_name = match to {
                None => None,
                Some(id) => match sqlx::query_as::<_, (String, i64)>(
                    "select name, active from departments where id = $1",
                )
                .bind(id.0)
                .fetch_optional(&mut **tx)
                .await?
                {
                    Some((name, 1)) => Some(name),
                    Some((name, _)) => {
                        return Err(EngineError::Conflict(format!(
                            "the department {name} is not in use; activate it first"
                        )))
                    }
                    None => return Err(EngineError::NotFound("department")),
                },
            };
            if ticket.department_id == to {
                return Err(EngineError::Conflict(format!(
                    "ticket {} is already there",
                    ticket.number
                )));
            }
            // the department it leaves: read with the ticket.
            let from_name = row.department_name;
            ticket.department_id = to;
            // the new department's target, from when the wait began (its
            // name is in hand: no second read).
            ticket.due_at = self.due_in(
                to_name.as_deref(),
                ticket.waiting_since,
                ticket.first_response_at,
            );
            self.move_auto_close(&mut ticket, from_name.as_deref(), to_name.as_deref());
            sqlx::query(
                "update tickets set department_id = $2, due_at = $3, auto_close_at = $4, \
                 auto_close_stage = $5, version = version + 1 where id = $1",
            )
            .bind(ticket.id.0)
            .bind(to.map(|d| d.0))
            .bind(ticket.due_at.map(|t| t.0))
            .bind(ticket.auto_close_at.map(|t| t.0))
            .bind(i64::from(ticket.reminded))
            .execute(&mut **tx)
            .await?;
            let event = EventPayload::TicketMoved {
                number: ticket.number,
                from: from_name,
                to: to_name,
            };
            Ok((ticket.clone(), Emit::ticket(ticket.id, actor.id, event)))
        })
    }

    /// A ticket waiting on its customer, moved from the department `from`
    /// to `to`: its automatic closing follows the new department's periods,
    /// counted from the same moment as before (when its customer went
    /// quiet, or was reminded). A shorter period may make a step due at
    /// once; a department that never closes by itself clears it; one that
    /// does gives a ticket moved from one that does not its due time.
    fn move_auto_close(&self, ticket: &mut Ticket, from: Option<&str>, to: Option<&str>) {
        if ticket.status != Status::AwaitingClient {
            return;
        }
        let rules = &self.settings.auto_close;
        let Some(new) = rules.periods(to) else {
            ticket.auto_close_at = None;
            ticket.reminded = false;
            return;
        };
        let old = rules.periods(from);
        ticket.auto_close_at = Some(match (ticket.auto_close_at, old, ticket.reminded) {
            (Some(at), Some(old), true) => at
                .plus_minutes(-old.close_after)
                .plus_minutes(new.close_after),
            (Some(at), Some(old), false) => at
                .plus_minutes(-old.remind_after)
                .plus_minutes(new.remind_after),
            // no due time before: counted from the last activity, as at
            // start-up ([`Engine::refresh_auto_close`]).
            _ => {
                ticket.reminded = false;
                ticket.last_activity_at.plus_minutes(new.remind_after)
            }
        });
    }

    /// Takes the ticket: [`Engine::assign`] to the person asking.
    pub async fn claim(&self, ctx: &Ctx, ticket: TicketId) -> Result<Ticket> {
        self.assign(ctx, ticket, Some(ctx.actor)).await
    }

    /// Changes a ticket's subject.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn edit_subject(&self, ctx: &Ctx, ticket: TicketId, subject: &str) -> Result<Ticket> {
        let subject = Subject::parse(subject)?;
        command!(self, ctx.key.as_deref(), "edit_subject", |tx| {
            let (actor, mut ticket, role) = self.lock_ticket(tx, ctx.actor, ticket).await?;
            refuse_if_closed(&ticket, Some(subject.as_str()))?;
            require(role, Action::EditSubject)?;
            let previous = std::mem::replace(&mut ticket.subject, subject.as_str().to_owned());
            if previous == ticket.subject {
                return Err(EngineError::Conflict("the subject is already that".into()));
            }
            let now = self.now();
            ticket.last_activity_at = now;
            sqlx::query("update tickets set subject = $2, last_activity_at = $3, version = version + 1 where id = $1")
                .bind(ticket.id.0)
                .bind(&ticket.subject)
                .bind(now.0)
                .execute(&mut **tx)
                .await?;
            let event = EventPayload::SubjectEdited {
                number: ticket.number,
                subject: ticket.subject.clone(),
                previous,
            };
            let event = Emit::ticket(ticket.id, actor.id, event);
            Ok((ticket, event))
        })
    }

    /// Edits a message's text: its author only, while the ticket is open and
    /// the author still has access. The earlier text is kept as a revision.
    #[tracing::instrument(skip_all, fields(message.id = %message))]
    pub async fn edit_message(&self, ctx: &Ctx, message: MessageId, body: &str) -> Result<Message> {
        let body = MessageBody::parse(body)?;
        command!(self, ctx.key.as_deref(), "edit_message", |tx| {
            let sql = format!(
                "select {} from messages m join people p on p.id = m.author_id where m.id = $1",
                rows::MESSAGE_COLUMNS
            );
            let row = sqlx::query(&sql)
                .bind(message.0)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(EngineError::NotFound("message"))?;
            let mut msg = rows::message(&row)?;
            let (actor, ticket, role) = self
                .lock_ticket(tx, ctx.actor, msg.ticket_id)
                .await
                .map_err(|_| EngineError::NotFound("message"))?;
            if msg.internal && role != Role::Staff {
                return Err(EngineError::NotFound("message"));
            }
            refuse_if_closed(&ticket, Some(body.as_str()))?;
            if msg.author_id != actor.id {
                return Err(EngineError::NotAuthor);
            }
            require(
                role,
                if msg.internal {
                    Action::Note
                } else {
                    Action::Reply
                },
            )?;
            if msg.body == body.as_str() {
                return Err(EngineError::Conflict(
                    "the message already says that".into(),
                ));
            }
            let now = self.now();
            sqlx::query(
                "insert into message_revisions (message_id, revision, body, edited_by, created_at) values ($1, $2, $3, $4, $5)",
            )
            .bind(msg.id.0)
            .bind(msg.revision)
            .bind(&msg.body)
            .bind(actor.id.0)
            .bind(now.0)
            .execute(&mut **tx)
            .await?;
            msg.body = body.as_str().to_owned();
            msg.revision += 1;
            msg.edited_at = Some(now);
            sqlx::query(
                "update messages set body = $2, revision = $3, edited_at = $4 where id = $1",
            )
            .bind(msg.id.0)
            .bind(&msg.body)
            .bind(msg.revision)
            .bind(now.0)
            .execute(&mut **tx)
            .await?;
            self.touch(tx, ticket.id).await?;
            msg.attachments = super::queries::attachments_of(tx, &[msg.id])
                .await?
                .into_iter()
                .map(|(_, a)| a)
                .collect();
            let event = EventPayload::MessageEdited {
                number: ticket.number,
                message: msg.clone(),
            };
            let event = Emit::ticket(ticket.id, actor.id, event);
            Ok((msg, event))
        })
    }
}

/// A message as it will be stored, before it has attachments.
fn new_message(
    id: MessageId,
    ticket: &Ticket,
    actor: &ActorFacts,
    role: Role,
    internal: bool,
    body: &MessageBody,
    now: Timestamp,
) -> Result<Message> {
    let author_role = role
        .author_role()
        .ok_or(EngineError::NotAllowed(Action::Reply))?;
    Ok(Message {
        id,
        ticket_id: ticket.id,
        author_id: actor.id,
        author_name: actor.display_name.clone(),
        author_role: author_role.to_owned(),
        internal,
        body: body.as_str().to_owned(),
        revision: 1,
        created_at: now,
        edited_at: None,
        attachments: Vec::new(),
    })
}

impl Engine {
    /// Writes a posted message (its id allocated in advance), the ticket's
    /// new status and activity, and the change's one outbox event (with the
    /// request's idempotency key and result) in a single round trip: a
    /// data-modifying CTE on PostgreSQL, three statements in one call on
    /// SQLite. With `guard` (PostgreSQL, outside a transaction) nothing is
    /// written unless the ticket's version is still `guard`; the answer says
    /// whether it was. A key already stored fails the unique index, which the
    /// command answers with the first result.
    async fn write_post(
        &self,
        conn: &mut sqlx::AnyConnection,
        idem: Idem<'_>,
        posted: &Posted,
        event: &Emit,
        guard: Option<i64>,
    ) -> Result<bool> {
        let sql = self.post_sql(guard);
        let query = self.post_query(&sql, idem, posted, event, guard)?;
        match query.execute(&mut *conn).await {
            Err(e) if super::is_unique_violation(&e) => Err(EngineError::Busy),
            Err(e) => Err(e.into()),
            Ok(done) => Ok(done.rows_affected() > 0),
        }
    }

    /// [`Engine::write_post`]'s text: the message, the ticket and the event
    /// in one query (with `guard`, only if the ticket's version is still
    /// the one given).
    fn post_sql(&self, guard: Option<i64>) -> String {
        const MESSAGE: &str = "insert into messages (id, ticket_id, author_id, author_role, internal, body, created_at)";
        const TICKET: &str = "update tickets set status = $8, last_activity_at = $9, \
             waiting_since = $16, first_response_at = $17, due_at = $18, auto_close_at = $19, \
             auto_close_stage = $20, version = version + 1 where id = $2";
        const EVENT: &str = "insert into outbox_events (ticket_id, kind, actor_id, payload, created_at, idempotency_key, operation, response)";
        const EVENT_VALUES: &str = "$2, $10, $11, $12, $7, $13, $14, $15";
        const VALUES: &str = "$1, $2, $3, $4, $5, $6, $7";
        match (self.db.backend(), guard) {
            (Backend::Postgres, None) => format!(
                "with m as ({MESSAGE} overriding system value values ({VALUES})), u as ({TICKET}) {EVENT} values ({EVENT_VALUES})"
            ),
            (Backend::Postgres, Some(_)) => format!(
                "with u as ({TICKET} and version = $21 returning id), \
                 m as ({MESSAGE} overriding system value select {VALUES} from u) \
                 {EVENT} select {EVENT_VALUES} from u"
            ),
            (Backend::Sqlite, _) => {
                format!("{MESSAGE} values ({VALUES}); {TICKET}; {EVENT} values ({EVENT_VALUES})")
            }
        }
    }

    /// [`Engine::post_sql`]'s text with its arguments bound.
    fn post_query<'q>(
        &self,
        sql: &'q str,
        idem: Idem<'q>,
        posted: &'q Posted,
        event: &Emit,
        guard: Option<i64>,
    ) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>> {
        let (message, ticket) = (&posted.message, &posted.ticket);
        let response = match idem.key {
            Some(_) => Some(serde_json::to_string(posted)?),
            None => None,
        };
        let mut query = sqlx::query(sql)
            .bind(message.id.0)
            .bind(ticket.id.0)
            .bind(message.author_id.0)
            .bind(message.author_role.as_str())
            .bind(i64::from(message.internal))
            .bind(message.body.as_str())
            .bind(message.created_at.0)
            .bind(ticket.status.as_str())
            .bind(ticket.last_activity_at.0)
            .bind(event.payload.kind())
            .bind(event.actor.map(|a| a.0))
            .bind(serde_json::to_string(&event.payload)?)
            .bind(idem.key)
            .bind(idem.key.map(|_| idem.op))
            .bind(response)
            .bind(ticket.waiting_since.map(|t| t.0))
            .bind(ticket.first_response_at.map(|t| t.0))
            .bind(ticket.due_at.map(|t| t.0))
            .bind(ticket.auto_close_at.map(|t| t.0))
            .bind(i64::from(ticket.reminded));
        if let Some(version) = guard {
            query = query.bind(version);
        }
        Ok(query)
    }

    /// Inserts a message (and its attachments). With `bump`, the ticket row
    /// takes `ticket`'s status and last activity in the same round trip
    /// where the backend allows it (a data-modifying CTE on PostgreSQL).
    #[allow(clippy::too_many_arguments)]
    async fn insert_message(
        &self,
        tx: &mut Tx,
        ticket: &Ticket,
        actor: &ActorFacts,
        role: Role,
        internal: bool,
        body: &MessageBody,
        files: &[AttachmentMeta],
        now: Timestamp,
        bump: bool,
    ) -> Result<Message> {
        let author_role = role
            .author_role()
            .ok_or(EngineError::NotAllowed(Action::Reply))?;
        const INSERT: &str =
            "insert into messages (ticket_id, author_id, author_role, internal, body, created_at) \
                              values ($1, $2, $3, $4, $5, $6) returning id";
        const BUMP: &str = "update tickets set status = $7, last_activity_at = $8, \
             waiting_since = $9, first_response_at = $10, due_at = $11, auto_close_at = $12, \
             auto_close_stage = $13, version = version + 1 where id = $1";
        let sql = match (bump, self.db.backend()) {
            (true, Backend::Postgres) => {
                format!("with m as ({INSERT}), u as ({BUMP}) select id from m")
            }
            _ => INSERT.to_owned(),
        };
        let mut insert = sqlx::query_scalar(&sql)
            .bind(ticket.id.0)
            .bind(actor.id.0)
            .bind(author_role)
            .bind(i64::from(internal))
            .bind(body.as_str())
            .bind(now.0);
        if bump && self.db.backend() == Backend::Postgres {
            insert = insert
                .bind(ticket.status.as_str())
                .bind(ticket.last_activity_at.0)
                .bind(ticket.waiting_since.map(|t| t.0))
                .bind(ticket.first_response_at.map(|t| t.0))
                .bind(ticket.due_at.map(|t| t.0))
                .bind(ticket.auto_close_at.map(|t| t.0))
                .bind(i64::from(ticket.reminded));
        }
        let id: i64 = insert.fetch_one(&mut **tx).await?;
        if bump && self.db.backend() == Backend::Sqlite {
            sqlx::query(
                "update tickets set status = $2, last_activity_at = $3, waiting_since = $4, \
                 first_response_at = $5, due_at = $6, auto_close_at = $7, auto_close_stage = $8, \
                 version = version + 1 where id = $1",
            )
            .bind(ticket.id.0)
            .bind(ticket.status.as_str())
            .bind(ticket.last_activity_at.0)
            .bind(ticket.waiting_since.map(|t| t.0))
            .bind(ticket.first_response_at.map(|t| t.0))
            .bind(ticket.due_at.map(|t| t.0))
            .bind(ticket.auto_close_at.map(|t| t.0))
            .bind(i64::from(ticket.reminded))
            .execute(&mut **tx)
            .await?;
        }
        let mut attachments = Vec::with_capacity(files.len());
        for f in files {
            let size = i64::try_from(f.size_bytes).unwrap_or(i64::MAX);
            let aid: i64 = sqlx::query_scalar(
                "insert into attachments (message_id, ticket_id, name, content_type, size_bytes, url) \
                 values ($1, $2, $3, $4, $5, $6) returning id",
            )
            .bind(id)
            .bind(ticket.id.0)
            .bind(&f.name)
            .bind(&f.content_type)
            .bind(size)
            .bind(&f.url)
            .fetch_one(&mut **tx)
            .await?;
            attachments.push(Attachment {
                id: AttachmentId(aid),
                name: f.name.clone(),
                content_type: f.content_type.clone(),
                size_bytes: f.size_bytes,
                url: f.url.clone(),
            });
        }
        Ok(Message {
            id: MessageId(id),
            ticket_id: ticket.id,
            author_id: actor.id,
            author_name: actor.display_name.clone(),
            author_role: author_role.to_owned(),
            internal,
            body: body.as_str().to_owned(),
            revision: 1,
            created_at: now,
            edited_at: None,
            attachments,
        })
    }
}
