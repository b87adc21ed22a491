//! The outbox: events written in the same transaction as their change, and
//! handed to consumers (one per adapter surface) at least once, in order per
//! ticket. Several processes may consume from one PostgreSQL at once: a
//! claim takes rows with `for update skip locked` and leases them, so two
//! workers never hold the same event, and a worker that dies lets its lease
//! run out for another to take over.

use crate::db::{Backend, Db};
use crate::domain::{
    Delegate, Department, Message, Organization, Rating, SavedReply, Status, Ticket,
};
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::time::Duration;

/// What happened. Stored as JSON; `kind` is its tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventPayload {
    /// A ticket was opened, with its first message.
    TicketOpened {
        /// The ticket.
        ticket: Ticket,
        /// Its first message.
        message: Message,
    },
    /// A public reply.
    ReplyPosted {
        /// The ticket's number.
        number: TicketNumber,
        /// The reply.
        message: Message,
        /// The status before.
        previous_status: Status,
        /// The status after.
        status: Status,
    },
    /// An internal note (staff surfaces only).
    NotePosted {
        /// The ticket's number.
        number: TicketNumber,
        /// The note.
        message: Message,
    },
    /// A message's text changed.
    MessageEdited {
        /// The ticket's number.
        number: TicketNumber,
        /// The message as it is now.
        message: Message,
    },
    /// The subject changed.
    SubjectEdited {
        /// The ticket's number.
        number: TicketNumber,
        /// The new subject.
        subject: String,
        /// The old one.
        previous: String,
    },
    /// Staff set a status by hand.
    StatusChanged {
        /// The ticket's number.
        number: TicketNumber,
        /// Before.
        from: Status,
        /// After.
        to: Status,
    },
    /// The ticket was closed (final).
    TicketClosed {
        /// The ticket's number.
        number: TicketNumber,
        /// The status before.
        previous_status: Status,
        /// Why, when nobody closed it by hand.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<CloseReason>,
    },
    /// The customer was reminded that their ticket closes by itself unless
    /// they reply ([`crate::autoclose`]).
    AutoCloseReminder {
        /// The ticket's number.
        number: TicketNumber,
        /// When it will close.
        closes_at: Timestamp,
        /// How long the customer has been silent, in minutes.
        quiet_minutes: i64,
    },
    /// Staff paused (or resumed) automatic closing of a ticket.
    AutoClosePaused {
        /// The ticket's number.
        number: TicketNumber,
        /// Paused now, or resumed.
        paused: bool,
    },
    /// The requester rated the help on a closed ticket (or changed it).
    TicketRated {
        /// The ticket's number.
        number: TicketNumber,
        /// The rating as it is now.
        rating: Rating,
        /// It replaced an earlier rating.
        changed: bool,
    },
    /// The ticket's owner changed (claimed, assigned or unassigned).
    OwnerChanged {
        /// The ticket's number.
        number: TicketNumber,
        /// The owner before, if any.
        from: Option<PersonId>,
        /// The owner now, if any.
        to: Option<PersonId>,
        /// The new owner's display name, if any.
        owner_name: Option<String>,
    },
    /// The ticket was moved to another department (or to none).
    TicketMoved {
        /// The ticket's number.
        number: TicketNumber,
        /// The department before, by name.
        from: Option<String>,
        /// The department now, by name.
        to: Option<String>,
    },
    /// Somebody was invited as a delegate.
    DelegateInvited {
        /// The ticket's number.
        number: TicketNumber,
        /// The delegation.
        delegate: Delegate,
    },
    /// A delegate accepted.
    DelegateAccepted {
        /// The ticket's number.
        number: TicketNumber,
        /// The delegation.
        delegate: Delegate,
    },
    /// A delegate declined.
    DelegateDeclined {
        /// The ticket's number.
        number: TicketNumber,
        /// The delegation.
        delegate: Delegate,
    },
    /// A delegate's access was revoked.
    DelegateRevoked {
        /// The ticket's number.
        number: TicketNumber,
        /// The delegation.
        delegate: Delegate,
    },
    /// A department was created, renamed, deactivated or reactivated.
    DepartmentChanged {
        /// The department as it is now.
        department: Department,
    },
    /// An organization was created.
    OrganizationCreated {
        /// The organization.
        organization: Organization,
    },
    /// A person became known.
    PersonCreated {
        /// Who.
        person_id: PersonId,
    },
    /// A person's staff, organization or company-admin standing changed.
    PersonUpdated {
        /// Who.
        person_id: PersonId,
        /// What changed, in words for an audit log.
        change: String,
    },
    /// Two people were found to be one; `from` no longer exists.
    PeopleMerged {
        /// The person merged away.
        from: PersonId,
        /// The person that remains.
        into: PersonId,
    },
    /// A saved reply was written, changed or removed.
    SavedReplyChanged {
        /// The reply as it is now (as it was, when removed).
        reply: SavedReply,
        /// It was removed.
        removed: bool,
    },
}

impl EventPayload {
    /// The event's kind, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::TicketOpened { .. } => "ticket_opened",
            EventPayload::ReplyPosted { .. } => "reply_posted",
            EventPayload::NotePosted { .. } => "note_posted",
            EventPayload::MessageEdited { .. } => "message_edited",
            EventPayload::SubjectEdited { .. } => "subject_edited",
            EventPayload::StatusChanged { .. } => "status_changed",
            EventPayload::TicketClosed { .. } => "ticket_closed",
            EventPayload::AutoCloseReminder { .. } => "auto_close_reminder",
            EventPayload::AutoClosePaused { .. } => "auto_close_paused",
            EventPayload::TicketRated { .. } => "ticket_rated",
            EventPayload::OwnerChanged { .. } => "owner_changed",
            EventPayload::TicketMoved { .. } => "ticket_moved",
            EventPayload::DelegateInvited { .. } => "delegate_invited",
            EventPayload::DelegateAccepted { .. } => "delegate_accepted",
            EventPayload::DelegateDeclined { .. } => "delegate_declined",
            EventPayload::DelegateRevoked { .. } => "delegate_revoked",
            EventPayload::DepartmentChanged { .. } => "department_changed",
            EventPayload::OrganizationCreated { .. } => "organization_created",
            EventPayload::PersonCreated { .. } => "person_created",
            EventPayload::PersonUpdated { .. } => "person_updated",
            EventPayload::PeopleMerged { .. } => "people_merged",
            EventPayload::SavedReplyChanged { .. } => "saved_reply_changed",
        }
    }

    /// Whether only staff may see this event (internal notes, and edits of them).
    pub fn staff_only(&self) -> bool {
        match self {
            EventPayload::NotePosted { .. } => true,
            EventPayload::MessageEdited { message, .. } => message.internal,
            EventPayload::AutoClosePaused { .. } | EventPayload::TicketRated { .. } => true,
            _ => false,
        }
    }
}

/// Why a ticket was closed without anybody closing it by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CloseReason {
    /// Its customer did not reply for this long ([`crate::autoclose`]).
    NoReply {
        /// The silence, in minutes.
        quiet_minutes: i64,
    },
}

impl CloseReason {
    /// The reason in words, to follow "closed the ticket".
    pub fn text(&self) -> String {
        match self {
            CloseReason::NoReply { quiet_minutes } => {
                format!("no reply for {}", crate::time::span(*quiet_minutes))
            }
        }
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Its id; increasing in commit order per ticket.
    pub id: EventId,
    /// The ticket it concerns, if any.
    pub ticket_id: Option<TicketId>,
    /// Who caused it.
    pub actor_id: Option<PersonId>,
    /// When.
    pub created_at: Timestamp,
    /// What.
    pub payload: EventPayload,
}

/// A platform call that creates something (a card, a message copy, a
/// line, an invitation, a mail), named by a key that is the same on every
/// attempt: [`Outbox::open_intent`] says before the call whether an
/// earlier attempt may have made it, and the call carries
/// [`Intent::token`] where the platform keeps one (a Discord `nonce`,
/// Slack message `metadata`, a mail's `Message-ID`), so a retry can find
/// out whether an earlier attempt took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The key: what is made and where (`copy:<message>:<surface>`).
    pub key: String,
    /// The ticket whose thing it makes, when any step but one event's
    /// delivery may make it too (a card, a ticket's thread, a message's
    /// copy: a person's follow request makes them as well); `None` for a
    /// key that names its event (`line:<event>:<surface>`), which only
    /// that event's delivery makes.
    pub ticket: Option<TicketId>,
}

impl Intent {
    /// An intent under `key`, a key that names the event whose delivery
    /// makes it (only that event's attempts use it).
    pub fn new(key: impl Into<String>) -> Self {
        Intent {
            key: key.into(),
            ticket: None,
        }
    }

    /// An intent under `key` for something of `ticket` that other steps
    /// may make as well (a card, a thread, a message's copy).
    pub fn of_ticket(ticket: TicketId, key: impl Into<String>) -> Self {
        Intent {
            key: key.into(),
            ticket: Some(ticket),
        }
    }

    /// A short token for the key: 22 hexadecimal digits of its SHA-256,
    /// short enough for a Discord nonce (25 characters) with a part
    /// number.
    pub fn token(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.key.as_bytes());
        let mut out = hex::encode(&digest[..11]);
        out.truncate(22);
        out
    }
}

/// The delivery attempt a worker is making, as [`Outbox::open_intent`]
/// reads it: set around each call of a consumer's delivery by the
/// outbox's loop (a task the delivery spawns does not see it, and writes
/// its intents down).
#[derive(Debug)]
struct AttemptOf {
    /// 1 the first time the event is handed out.
    number: i64,
    /// The event's ticket: only its own things (and those named by the
    /// event) go unwritten; another ticket's may be made by a step the
    /// event's attempts do not order with.
    ticket: Option<TicketId>,
    /// When the event was written: no call for it was made before.
    event_written: Timestamp,
    /// The intents of this attempt not written down and found left open
    /// nowhere: the record of their call has no intent to close.
    unwritten: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl AttemptOf {
    /// Whether this attempt alone orders the calls made under `intent`:
    /// its key names the event, or the thing is its own ticket's (whose
    /// events are handed out one at a time, and whose other steps see the
    /// event claimed: [`Outbox::open_intent`]).
    fn orders(&self, intent: &Intent) -> bool {
        match intent.ticket {
            None => true,
            Some(t) => self.ticket == Some(t),
        }
    }
}

tokio::task_local! {
    static ATTEMPT: AttemptOf;
}

/// Whether `intent` may be written down, so that recording its call
/// has it to close: outside a delivery, always.
fn may_be_open(intent: &Intent) -> bool {
    ATTEMPT
        .try_with(|a| {
            a.unwritten
                .lock()
                .map(|unwritten| !unwritten.contains(&intent.key))
                .unwrap_or(true)
        })
        .unwrap_or(true)
}

/// A claimed event, leased to one consumer process until acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event.
    pub event: Event,
    /// How many times it has been handed out (1 the first time).
    pub attempts: i64,
}

/// How far behind a consumer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lag {
    /// Events not yet acknowledged (given-up ones excluded).
    pub pending: i64,
    /// Age of the oldest of them, in milliseconds.
    pub oldest_ms: i64,
    /// Events the consumer gave up on.
    pub failed: i64,
}

/// The consumer side of the outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    db: Db,
    /// Events (each of another ticket) its workers deliver at once.
    at_once: usize,
}

impl Outbox {
    /// The outbox of a database.
    pub fn new(db: Db) -> Self {
        Outbox {
            db,
            at_once: parallel(),
        }
    }

    /// Its workers deliver one event at a time: for a consumer that cannot
    /// find out after a crash whether a call took effect (SMTP, say), a
    /// crash then repeats at most the one event in hand.
    pub fn one_at_a_time(self) -> Self {
        Outbox { at_once: 1, ..self }
    }

    /// Registers a consumer; it receives every event committed from now on.
    pub async fn register(&self, consumer: &str) -> Result<()> {
        self.db.write(sqlx::query("insert into outbox_consumers (name, created_at) values ($1, $2) on conflict (name) do nothing")
            .bind(consumer)
            .bind(self.db.now().0)
            )
            .await?;
        Ok(())
    }

    /// Claims up to `max` events for `consumer`: per ticket only the oldest
    /// unacknowledged one, so each ticket's events are handled in order.
    /// Each is leased for `lease`; unacknowledged, it is handed out again.
    pub async fn claim(&self, consumer: &str, max: u32, lease: Duration) -> Result<Vec<Delivery>> {
        self.claim_acking(consumer, max, lease, &mut Vec::new())
            .await
    }

    /// [`Outbox::claim`], acknowledging `done` first in the same commit
    /// (and emptying it once that commit is on disk): a worker's
    /// acknowledgements ride with its next claim instead of each waiting
    /// for a commit of its own ([`Outbox::run`]). The claim sees them, so
    /// a ticket's next event can be claimed in the same step.
    async fn claim_acking(
        &self,
        consumer: &str,
        max: u32,
        lease: Duration,
        done: &mut Vec<i64>,
    ) -> Result<Vec<Delivery>> {
        let now = self.db.now();
        let until = now.plus_millis(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let skip_locked = match self.db.backend() {
            Backend::Postgres => " for update skip locked",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "update outbox_deliveries set available_at = $3, attempts = attempts + 1 \
             where consumer = $1 and event_id in ( \
                 select d.event_id from outbox_deliveries d \
                 where d.consumer = $1 and d.failed_at is null and d.available_at <= $2 \
                   and not exists (select 1 from outbox_deliveries e \
                       where e.consumer = d.consumer and e.ticket_key = d.ticket_key \
                         and e.event_id < d.event_id and e.failed_at is null) \
                 order by d.event_id limit $4{skip_locked}) \
             returning event_id, attempts"
        );
        let mut tx = self.db.begin().await?;
        if !done.is_empty() {
            sqlx::query(&ack_sql(done))
                .persistent(false)
                .bind(consumer)
                .execute(&mut *tx)
                .await?;
        }
        let claimed = sqlx::query(&sql)
            .bind(consumer)
            .bind(now.0)
            .bind(until.0)
            .bind(i64::from(max))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        done.clear();
        if claimed.is_empty() {
            return Ok(vec![]);
        }
        let mut attempts = std::collections::HashMap::with_capacity(claimed.len());
        for row in &claimed {
            attempts.insert(
                row.try_get::<i64, _>("event_id")?,
                row.try_get::<i64, _>("attempts")?,
            );
        }
        // the claimed events in one read (ids are numbers, written in).
        let list = id_list(attempts.keys().copied());
        let rows = sqlx::query(&format!(
            "select {EVENT_COLUMNS} from outbox_events where id in ({list}) order by id"
        ))
        .persistent(false)
        .fetch_all(self.db.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = event_of(row)?;
            out.push(Delivery {
                attempts: attempts.get(&event.id.0).copied().unwrap_or(1),
                event,
            });
        }
        Ok(out)
    }

    /// One stored event.
    pub async fn event(&self, id: EventId) -> Result<Event> {
        let row = sqlx::query(&format!(
            "select {EVENT_COLUMNS} from outbox_events where id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(EngineError::NotFound("event"))?;
        event_of(&row)
    }

    /// Acknowledges an event: the consumer is done with it. One write: a
    /// trigger forgets the consumer's steps of the event with its delivery
    /// (nothing will hand the event out again).
    pub async fn ack(&self, consumer: &str, event: EventId) -> Result<()> {
        self.db
            .write(
                sqlx::query("delete from outbox_deliveries where consumer = $1 and event_id = $2")
                    .bind(consumer)
                    .bind(event.0),
            )
            .await?;
        Ok(())
    }

    /// [`Outbox::ack`] of several events in one write; empties `done`
    /// once it is on disk.
    async fn ack_all(&self, consumer: &str, done: &mut Vec<i64>) -> Result<()> {
        if !done.is_empty() {
            let sql = ack_sql(done);
            self.db
                .write(sqlx::query(&sql).persistent(false).bind(consumer))
                .await?;
            done.clear();
        }
        Ok(())
    }

    /// Hands an event back to be tried again after `delay` (a transient
    /// failure); later events of its ticket wait for it.
    pub async fn retry_later(
        &self,
        consumer: &str,
        event: EventId,
        error: &str,
        delay: Duration,
    ) -> Result<()> {
        let at = self
            .db
            .now()
            .plus_millis(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        self.db.write(sqlx::query("update outbox_deliveries set available_at = $3, last_error = $4 where consumer = $1 and event_id = $2")
            .bind(consumer)
            .bind(event.0)
            .bind(at.0)
            .bind(truncate(error))
            )
            .await?;
        Ok(())
    }

    /// Whether a consumer already did one step (`effect`) of an event.
    pub async fn effect_done(&self, consumer: &str, event: EventId, effect: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "select event_id from outbox_effects where consumer = $1 and event_id = $2 and effect = $3",
        )
        .bind(consumer)
        .bind(event.0)
        .bind(effect)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Records that a consumer did one step of an event, so a redelivery
    /// of the event skips it.
    pub async fn record_effect(&self, consumer: &str, event: EventId, effect: &str) -> Result<()> {
        self.db.write(effect_query(consumer, event, effect)).await?;
        Ok(())
    }

    /// Whether a platform call about to be made under `intent` (a key
    /// stable across attempts) may have been made by an earlier attempt
    /// that crashed or failed before recording its result: if so, since
    /// when, and the platform is to be asked before calling again.
    ///
    /// Within a worker's delivery (the outbox's own loop), for a thing of
    /// the event's own ticket or named by the event, the event's attempt
    /// number answers it and nothing is written: the claim that handed
    /// the event out counted the attempt in its commit, so on the first
    /// attempt no call of this event can have been made before (`None`),
    /// and on any later one every call not yet recorded may have been,
    /// since the event was written. An intent left open (written down
    /// outside a delivery, or by an earlier version) still counts, from
    /// when it was opened. Before, every such call waited for a commit of
    /// its own before it was made.
    ///
    /// Otherwise (outside a delivery, or another ticket's thing) the
    /// intent is written down, and a second call is told when the first
    /// was. A fresh one for a ticket that has an event claimed by this
    /// consumer and not yet acknowledged counts from that event: its
    /// attempt wrote nothing down and may have made this call before a
    /// crash.
    pub async fn open_intent(&self, consumer: &str, intent: &Intent) -> Result<Option<Timestamp>> {
        let opened = || async {
            sqlx::query_scalar::<_, i64>(
                "select opened_at from delivery_intents where consumer = $1 and intent = $2",
            )
            .bind(consumer)
            .bind(&intent.key)
            .fetch_optional(self.db.pool())
            .await
            .map(|t| t.map(Timestamp))
        };
        let attempt = ATTEMPT
            .try_with(|a| a.orders(intent).then_some((a.number, a.event_written)))
            .ok()
            .flatten();
        if let Some((number, event_written)) = attempt {
            let left_open = opened().await?;
            if left_open.is_none() {
                let _ = ATTEMPT.try_with(|a| {
                    if let Ok(mut unwritten) = a.unwritten.lock() {
                        unwritten.insert(intent.key.clone());
                    }
                });
            }
            let retry = (number > 1).then_some(event_written);
            return Ok(match (left_open, retry) {
                (Some(a), Some(b)) => Some(Timestamp(a.0.min(b.0))),
                (a, b) => a.or(b),
            });
        }
        let done = self.db.write(sqlx::query(
            "insert into delivery_intents (consumer, intent, opened_at) values ($1, $2, $3) on conflict do nothing",
        )
        .bind(consumer)
        .bind(&intent.key)
        .bind(self.db.now().0)
        )
        .await?;
        if done.rows_affected() == 1 {
            let Some(ticket) = intent.ticket else {
                return Ok(None);
            };
            // the ticket's events claimed and not acknowledged (given up
            // ones ran to their end, recording what they made).
            let claimed: Option<i64> = sqlx::query_scalar(
                "select min(e.created_at) from outbox_deliveries d \
                 join outbox_events e on e.id = d.event_id \
                 where d.consumer = $1 and d.ticket_key = $2 and d.attempts > 0 \
                 and d.failed_at is null",
            )
            .bind(consumer)
            .bind(ticket.0)
            .fetch_one(self.db.pool())
            .await?;
            return Ok(claimed.map(Timestamp));
        }
        // closed in between (another worker recorded it): from now.
        Ok(Some(opened().await?.unwrap_or_else(|| self.db.now())))
    }

    /// The call made under `intent` is recorded (a link, a surface, an
    /// effect): its intent is closed.
    pub async fn close_intent(&self, consumer: &str, intent: &Intent) -> Result<()> {
        if !may_be_open(intent) {
            // within a delivery that wrote none down and found none open.
            return Ok(());
        }
        self.db
            .write(
                sqlx::query("delete from delivery_intents where consumer = $1 and intent = $2")
                    .bind(consumer)
                    .bind(&intent.key),
            )
            .await?;
        Ok(())
    }

    /// Records where the call made under `intent` posted (a copy of
    /// `message`, or the ticket's card when `None`) and closes the intent,
    /// in one commit: a crash leaves either both or neither. Within a
    /// delivery that wrote no intent down and found none open, the record
    /// is one statement (on SQLite it then holds the one writer for one
    /// round trip instead of four).
    pub async fn record_link(
        &self,
        consumer: &str,
        intent: &Intent,
        ticket: TicketId,
        message: Option<MessageId>,
        at: &crate::links::PlatformRef,
    ) -> Result<()> {
        if !may_be_open(intent) {
            self.db
                .write(crate::links::posted_query(ticket, message, at))
                .await?;
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        crate::links::insert_posted(&mut tx, ticket, message, at).await?;
        close(&mut tx, consumer, intent).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Outbox::record_effect`] and the closing of the intent its call
    /// was made under, in one commit (one statement where there is no
    /// intent to close, as in [`Outbox::record_link`]).
    pub async fn record_effect_closing(
        &self,
        consumer: &str,
        event: EventId,
        effect: &str,
        intent: &Intent,
    ) -> Result<()> {
        if !may_be_open(intent) {
            self.db.write(effect_query(consumer, event, effect)).await?;
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        insert_effect(&mut tx, consumer, event, effect).await?;
        close(&mut tx, consumer, intent).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes intents opened before `before` (a crash between a record
    /// and its intent's closing leaves one; the record wins anyway).
    /// Returns how many went.
    pub async fn sweep_intents(&self, before: Timestamp) -> Result<u64> {
        let done = self
            .db
            .write(sqlx::query("delete from delivery_intents where opened_at < $1").bind(before.0))
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives up on an event (a permanent failure): it is kept, with the
    /// error, for staff to see, and no longer holds back its ticket.
    pub async fn give_up(&self, consumer: &str, event: EventId, error: &str) -> Result<()> {
        self.db.write(sqlx::query("update outbox_deliveries set failed_at = $3, last_error = $4 where consumer = $1 and event_id = $2")
            .bind(consumer)
            .bind(event.0)
            .bind(self.db.now().0)
            .bind(truncate(error))
            )
            .await?;
        Ok(())
    }

    /// Every registered consumer, by name.
    pub async fn consumers(&self) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("select name from outbox_consumers order by name")
                .fetch_all(self.db.pool())
                .await?,
        )
    }

    /// How far behind `consumer` is.
    pub async fn lag(&self, consumer: &str) -> Result<Lag> {
        let row = sqlx::query(
            "select count(*) as pending, min(e.created_at) as oldest, \
                    (select count(*) from outbox_deliveries f where f.consumer = $1 and f.failed_at is not null) as failed \
             from outbox_deliveries d join outbox_events e on e.id = d.event_id \
             where d.consumer = $1 and d.failed_at is null",
        )
        .bind(consumer)
        .fetch_one(self.db.pool())
        .await?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok(Lag {
            pending: row.try_get("pending")?,
            oldest_ms: oldest
                .map(|t| (self.db.now().0 - t).max(0) / 1000)
                .unwrap_or(0),
            failed: row.try_get("failed")?,
        })
    }
}

const EVENT_COLUMNS: &str = "id, ticket_id, actor_id, payload, created_at";

fn event_of(row: &sqlx::any::AnyRow) -> Result<Event> {
    Ok(Event {
        id: EventId(row.try_get("id")?),
        ticket_id: row.try_get::<Option<i64>, _>("ticket_id")?.map(TicketId),
        actor_id: row.try_get::<Option<i64>, _>("actor_id")?.map(PersonId),
        created_at: Timestamp(row.try_get("created_at")?),
        payload: serde_json::from_str(row.try_get::<&str, _>("payload")?)?,
    })
}

/// Records one step of an event as done (once: a repeat is a no-op).
async fn insert_effect(
    conn: &mut sqlx::AnyConnection,
    consumer: &str,
    event: EventId,
    effect: &str,
) -> Result<()> {
    effect_query(consumer, event, effect).execute(conn).await?;
    Ok(())
}

fn effect_query<'q>(
    consumer: &'q str,
    event: EventId,
    effect: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "insert into outbox_effects (consumer, event_id, effect) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(consumer)
    .bind(event.0)
    .bind(effect)
}

/// The statement that acknowledges several events of a consumer (`$1`):
/// their ids are numbers, written in, so the text is prepared for its one
/// use (`persistent(false)`).
fn ack_sql(events: &[i64]) -> String {
    let list = id_list(events.iter().copied());
    format!("delete from outbox_deliveries where consumer = $1 and event_id in ({list})")
}

/// Event ids as the text of an `in (...)` list: they are numbers, so they
/// are written into the statement rather than bound one by one.
fn id_list(ids: impl Iterator<Item = i64>) -> String {
    let mut list = String::new();
    for id in ids {
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(&id.to_string());
    }
    list
}

/// Closes an intent within a transaction.
async fn close(tx: &mut crate::db::Tx, consumer: &str, intent: &Intent) -> Result<()> {
    sqlx::query("delete from delivery_intents where consumer = $1 and intent = $2")
        .bind(consumer)
        .bind(&intent.key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn truncate(error: &str) -> String {
    error.chars().take(2000).collect()
}

/// What one delivery attempt of an event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Delivered (or nothing to do).
    Done,
    /// Can never succeed: given up at once and counted as failed.
    Permanent(String),
    /// Worth trying again later, with back-off.
    Transient(String),
}

/// How long a claimed event is a worker's before another may take it; a
/// live worker renews the lease of what it still holds every
/// [`HEARTBEAT`], so a dead worker's events are taken over within seconds.
/// The default of [`lease`].
pub const LEASE: Duration = Duration::from_secs(5);
/// How often a live worker renews its leases, for the default lease.
pub const HEARTBEAT: Duration = Duration::from_millis(1500);
/// The shortest lease [`set_lease`] accepts.
pub const MIN_LEASE: Duration = Duration::from_millis(200);

static LEASE_SET: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

/// Sets this process's outbox lease (`OUTBOX_LEASE_MS`), once, before any
/// worker starts; at least [`MIN_LEASE`]. A shorter lease means a dead
/// replica's events are taken over sooner, at the price of more frequent
/// renewals. Returns the lease in force.
pub fn set_lease(lease: Duration) -> Duration {
    *LEASE_SET.get_or_init(|| lease.max(MIN_LEASE))
}

/// The lease in force: [`LEASE`] unless [`set_lease`] said otherwise.
pub fn lease() -> Duration {
    LEASE_SET.get().copied().unwrap_or(LEASE)
}

/// How often a live worker renews its leases: under a third of the lease,
/// so two renewals can fail before it lapses.
pub fn heartbeat() -> Duration {
    lease() * 3 / 10
}
/// Events claimed at once.
pub const BATCH: u32 = 20;
/// Events of a batch (each of another ticket) delivered at once, unless
/// [`set_parallel`] said otherwise.
pub const PARALLEL: usize = 8;

static PARALLEL_SET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Sets how many events (each of another ticket) this process's workers
/// deliver at once (`OUTBOX_PARALLEL`), once, before any worker starts; at
/// least 1 and at most [`BATCH`]. Returns the number in force.
pub fn set_parallel(n: usize) -> usize {
    *PARALLEL_SET.get_or_init(|| n.clamp(1, BATCH as usize))
}

/// Events delivered at once: [`PARALLEL`] unless [`set_parallel`] said
/// otherwise.
pub fn parallel() -> usize {
    PARALLEL_SET.get().copied().unwrap_or(PARALLEL)
}
/// A still-failing event is given up (and counted as failed) after this
/// many attempts: with back-off capped at 5 minutes, about two days.
pub const MAX_ATTEMPTS: i64 = 600;
/// How often a worker looks for events nobody woke it for.
const POLL: Duration = Duration::from_millis(500);

/// Back-off before retrying a failed delivery: 1 s doubling to 5 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 10) - 1).unwrap_or(0);
    Duration::from_secs((1u64 << exp).min(300))
}

impl Outbox {
    /// Delivers what is due now for `consumer`; returns how many events
    /// were handled (delivered, deferred or given up). Later events of a
    /// ticket whose earlier event failed wait for it, so a ticket's changes
    /// arrive in order.
    pub async fn pump<F, Fut>(&self, consumer: &str, deliver: F) -> Result<usize>
    where
        F: Fn(Event) -> Fut,
        Fut: std::future::Future<Output = Attempt>,
    {
        let mut done = Vec::new();
        let pumped = self
            .pump_while(consumer, &deliver, || true, &mut done)
            .await;
        // what was delivered is acknowledged before this returns, also
        // when a later step failed.
        self.ack_all(consumer, &mut done).await?;
        pumped
    }

    /// [`Outbox::pump`], asking `go_on` before each event: once it says
    /// no, the rest of the batch is handed back at once (for another
    /// worker, or this one's next start) and the pump returns.
    ///
    /// `done` holds the events delivered but not yet acknowledged: the
    /// claim acknowledges them in its commit, and the events of this batch
    /// that are delivered are added to it for the next one (or for
    /// [`Outbox::ack_all`]). Until then they are still leased (renewed
    /// with the rest while the batch is worked on); a crash before the
    /// acknowledgement is on disk hands them out again, and each step of
    /// a delivery skips what its own record says is done.
    async fn pump_while<F, Fut>(
        &self,
        consumer: &str,
        deliver: &F,
        go_on: impl Fn() -> bool,
        done: &mut Vec<i64>,
    ) -> Result<usize>
    where
        F: Fn(Event) -> Fut,
        Fut: std::future::Future<Output = Attempt>,
    {
        let batch = self.claim_acking(consumer, BATCH, lease(), done).await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let hand = InHand {
            held: std::sync::Mutex::new(batch.iter().map(|d| d.event.id.0).collect()),
            lost: std::sync::atomic::AtomicBool::new(false),
            delivered: std::sync::Mutex::new(Vec::new()),
        };
        let (held, lost) = (&hand.held, &hand.lost);
        let work = self.work(consumer, deliver, go_on, &batch, &hand);
        let heartbeat = async {
            loop {
                tokio::time::sleep(heartbeat()).await;
                let ids: Vec<i64> = held
                    .lock()
                    .map(|h| h.iter().copied().collect())
                    .unwrap_or_default();
                if let Err(e) = self.renew(consumer, &ids).await {
                    // the leases lapse: stop before another worker takes them.
                    tracing::warn!(consumer, error = %e, "outbox leases not renewed");
                    lost.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        };
        tokio::pin!(work);
        let worked = tokio::select! {
            r = &mut work => r,
            () = heartbeat => unreachable!("the heartbeat never ends"),
        };
        if let Ok(mut delivered) = hand.delivered.lock() {
            done.append(&mut delivered);
        }
        worked
    }

    /// Works through a claimed batch; `hand.held` loses each event as it
    /// is settled (deferred, given up or handed back); one delivered goes
    /// to `hand.delivered`, to be acknowledged with the next claim, and
    /// stays held (its lease renewed) until the batch is done. A batch
    /// holds at most one event per ticket (see [`Outbox::claim`]), so up to
    /// [`parallel`] of them are delivered at once (one for a consumer that
    /// goes [`Outbox::one_at_a_time`]): a ticket's events still
    /// arrive in order, and one slow ticket no longer holds up the others.
    async fn work<F, Fut>(
        &self,
        consumer: &str,
        deliver: &F,
        go_on: impl Fn() -> bool,
        batch: &[Delivery],
        hand: &InHand,
    ) -> Result<usize>
    where
        F: Fn(Event) -> Fut,
        Fut: std::future::Future<Output = Attempt>,
    {
        use futures_util::stream::{self, TryStreamExt};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (held, lost, delivered) = (&hand.held, &hand.lost, &hand.delivered);
        let settle = |id: EventId| {
            if let Ok(mut h) = held.lock() {
                h.remove(&id.0);
            }
        };
        let handled = AtomicUsize::new(0);
        let (settle, handled, go_on) = (&settle, &handled, &go_on);
        let all = stream::iter(batch.iter().map(Ok::<_, EngineError>));
        all.try_for_each_concurrent(self.at_once, |d| async move {
                if lost.load(Ordering::Relaxed) {
                    // leases not renewed (the database away): what is left
                    // lapses and is claimed afresh, rather than worked on
                    // after another worker may have taken it.
                    return Ok(());
                }
                if !go_on() {
                    settle(d.event.id);
                    return self.release(consumer, d.event.id).await;
                }
                handled.fetch_add(1, Ordering::Relaxed);
                let kind = d.event.payload.kind();
                let attempt = AttemptOf {
                    number: d.attempts,
                    ticket: d.event.ticket_id,
                    event_written: d.event.created_at,
                    unwritten: Default::default(),
                };
                match ATTEMPT.scope(attempt, deliver(d.event.clone())).await {
                    Attempt::Done => {
                        if let Ok(mut done) = delivered.lock() {
                            done.push(d.event.id.0);
                        }
                        return Ok(());
                    }
                    Attempt::Permanent(why) => {
                        tracing::warn!(consumer, event.id = %d.event.id, event.kind = kind, error = %why, "delivery given up");
                        self.give_up(consumer, d.event.id, &why).await?;
                    }
                    Attempt::Transient(why) if d.attempts >= MAX_ATTEMPTS => {
                        tracing::warn!(consumer, event.id = %d.event.id, event.kind = kind, error = %why, "delivery given up after retries");
                        self.give_up(consumer, d.event.id, &why).await?;
                    }
                    Attempt::Transient(why) => {
                        // its ticket's later events wait for it: the claim
                        // hands out only a ticket's oldest pending event.
                        tracing::info!(consumer, event.id = %d.event.id, error = %why, attempts = d.attempts, "delivery deferred");
                        self.retry_later(consumer, d.event.id, &why, backoff(d.attempts))
                            .await?;
                    }
                }
                settle(d.event.id);
                Ok(())
        })
        .await?;
        Ok(handled.load(Ordering::Relaxed))
    }

    /// Renews the leases of events a live worker still holds (those whose
    /// lease has not lapsed: a lapsed one may be another worker's now). A
    /// lease is only ever lengthened: an event just deferred with a longer
    /// back-off keeps it.
    async fn renew(&self, consumer: &str, events: &[i64]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let now = self.db.now();
        let until = now.plus_millis(i64::try_from(lease().as_millis()).unwrap_or(i64::MAX));
        let list = id_list(events.iter().copied());
        let sql = format!(
            "update outbox_deliveries set available_at = $3 \
             where consumer = $1 and available_at > $2 and available_at < $3 \
               and event_id in ({list})"
        );
        self.db
            .write(
                sqlx::query(&sql)
                    .persistent(false)
                    .bind(consumer)
                    .bind(now.0)
                    .bind(until.0),
            )
            .await?;
        Ok(())
    }

    /// Hands a claimed event back untouched: due now, its attempt not
    /// counted (a worker stopping).
    async fn release(&self, consumer: &str, event: EventId) -> Result<()> {
        self.db
            .write(
                sqlx::query(
                    "update outbox_deliveries set available_at = $3, attempts = attempts - 1 \
             where consumer = $1 and event_id = $2 and attempts > 0",
                )
                .bind(consumer)
                .bind(event.0)
                .bind(self.db.now().0),
            )
            .await?;
        Ok(())
    }

    /// Runs a consumer's worker until `shutdown` resolves: pumps while
    /// there is work, then waits for `wake` or the next poll. When
    /// `shutdown` resolves mid-batch, the event in hand is finished and
    /// the rest of the batch handed back before it returns.
    pub async fn run<F, Fut>(
        &self,
        consumer: &str,
        wake: &tokio::sync::Notify,
        shutdown: impl std::future::Future<Output = ()>,
        deliver: F,
    ) where
        F: Fn(Event) -> Fut,
        Fut: std::future::Future<Output = Attempt>,
    {
        tokio::pin!(shutdown);
        let stopping = std::sync::atomic::AtomicBool::new(false);
        let stopped = || stopping.load(std::sync::atomic::Ordering::Relaxed);
        // delivered, to be acknowledged with the next claim.
        let mut done = Vec::new();
        loop {
            let pumped = {
                let pumping = self.pump_while(consumer, &deliver, || !stopped(), &mut done);
                tokio::pin!(pumping);
                loop {
                    tokio::select! {
                        r = &mut pumping => break r,
                        () = &mut shutdown, if !stopped() => {
                            stopping.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            };
            let handled = match pumped {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(consumer, error = %e, "outbox unavailable");
                    0
                }
            };
            if stopped() {
                self.ack_before_stopping(consumer, &mut done).await;
                tracing::info!(consumer, "outbox worker stopped");
                return;
            }
            if handled > 0 {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => {
                    self.ack_before_stopping(consumer, &mut done).await;
                    return;
                }
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// A stopping worker acknowledges what it delivered; when it cannot
    /// (the database away), those events are handed out again once their
    /// leases lapse, and their steps skip what is recorded as done.
    async fn ack_before_stopping(&self, consumer: &str, done: &mut Vec<i64>) {
        if let Err(e) = self.ack_all(consumer, done).await {
            tracing::warn!(consumer, error = %e, events = done.len(), "delivered events not acknowledged; they will be handed out again");
        }
    }
}

/// A claimed batch's events while a worker delivers them.
struct InHand {
    /// Still this worker's: their leases are renewed.
    held: std::sync::Mutex<std::collections::BTreeSet<i64>>,
    /// The leases could not be renewed: what is left is not started.
    lost: std::sync::atomic::AtomicBool,
    /// Delivered, to be acknowledged with the next claim.
    delivered: std::sync::Mutex<Vec<i64>>,
}

/// A platform adapter's side of the outbox: its consumer name and how it
/// delivers one event. The delivery loop itself is the same for every
/// adapter, so it is provided here.
pub trait Consumer: Sync {
    /// The consumer name (`slack`, `discord`, `email`).
    const NAME: &'static str;

    /// Whether its events go out one at a time (see
    /// [`Outbox::one_at_a_time`]): for a platform that cannot be asked
    /// after a crash whether a call took effect. Otherwise [`parallel`]
    /// tickets' events go out at once.
    const ONE_AT_A_TIME: bool = false;

    /// The outbox as this consumer's workers use it.
    fn outbox(&self) -> Outbox {
        let outbox = Outbox::new(self.db().clone());
        if Self::ONE_AT_A_TIME {
            outbox.one_at_a_time()
        } else {
            outbox
        }
    }

    /// The database the outbox lives in.
    fn db(&self) -> &Db;

    /// Signalled when something new may be due.
    fn wake_signal(&self) -> &tokio::sync::Notify;

    /// One delivery attempt of an event.
    fn attempt(&self, event: Event) -> impl std::future::Future<Output = Attempt> + Send;

    /// Delivers what is due now; returns how many events were handled
    /// (delivered, deferred or given up).
    fn pump(&self) -> impl std::future::Future<Output = Result<usize>> + Send
    where
        Self: Sized,
    {
        async move { self.outbox().pump(Self::NAME, |e| self.attempt(e)).await }
    }

    /// Runs the outbox worker until `shutdown` resolves.
    fn run_outbound(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> impl std::future::Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async move {
            self.outbox()
                .run(Self::NAME, self.wake_signal(), shutdown, |e| {
                    self.attempt(e)
                })
                .await
        }
    }
}

/// Whether a delivery failure can never succeed (so retrying is pointless).
pub trait Permanence: std::fmt::Display {
    /// `true` when retrying cannot help.
    fn is_permanent(&self) -> bool;
}

/// Outcomes of the steps of one delivery, one per surface: a permanent
/// failure is logged and skipped (the other surfaces still get theirs); the
/// first transient one fails the event, for a later retry that repeats only
/// what is missing.
#[derive(Debug)]
pub struct Steps<E> {
    consumer: &'static str,
    transient: Option<E>,
}

impl<E: Permanence> Steps<E> {
    /// No step taken yet.
    pub fn new(consumer: &'static str) -> Self {
        Steps {
            consumer,
            transient: None,
        }
    }

    /// Takes one step's outcome.
    pub fn take(&mut self, what: &str, outcome: std::result::Result<(), E>) {
        match outcome {
            Ok(()) => {}
            Err(f) if f.is_permanent() => {
                tracing::warn!(consumer = self.consumer, step = what, error = %f, "delivery step skipped");
            }
            Err(f) => {
                if self.transient.is_none() {
                    self.transient = Some(f);
                }
            }
        }
    }

    /// The first transient failure, if any.
    pub fn finish(self) -> std::result::Result<(), E> {
        self.transient.map_or(Ok(()), Err)
    }
}

/// An attempt's outcome from a delivery result.
pub fn attempt<E: Permanence>(outcome: std::result::Result<(), E>) -> Attempt {
    match outcome {
        Ok(()) => Attempt::Done,
        Err(f) if f.is_permanent() => Attempt::Permanent(f.to_string()),
        Err(f) => Attempt::Transient(f.to_string()),
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(9), Duration::from_secs(256));
        assert_eq!(backoff(10), Duration::from_secs(300));
        assert_eq!(backoff(500), Duration::from_secs(300));
    }
}
