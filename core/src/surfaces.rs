//! Where a ticket is followed on a chat platform: a card (root message)
//! whose thread holds the conversation, kept for the staff side or for one
//! person. Adapters mirror each change of a ticket to its live surfaces, as
//! the surface's audience may see it; a reply arriving in a surface's thread
//! is still checked by the engine against the person who wrote it.

use crate::domain::SurfaceKind;
use crate::domain::{Platform, Ticket};
use crate::engine::rows;
use crate::error::{EngineError, Result};
use crate::ids::{EventId, PersonId, SurfaceId, TicketId};
use crate::links::PlatformRef;
use crate::system::System;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Who a surface is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Audience {
    /// The support team's triage card: sees internal notes.
    Staff,
    /// One person's own card (requester, delegate, company admin).
    Person(PersonId),
    /// A customer thread shared by the requester and the people following
    /// the ticket (a Discord private ticket thread); its members are kept
    /// apart ([`System::surface_members`](crate::system::System::surface_members)).
    Shared,
}

impl Audience {
    /// The person the surface belongs to, if it is a person's.
    pub fn person(self) -> Option<PersonId> {
        match self {
            Audience::Staff | Audience::Shared => None,
            Audience::Person(p) => Some(p),
        }
    }

    /// The kind of surface, for [`crate::domain::may_show`].
    pub fn kind(self) -> SurfaceKind {
        match self {
            Audience::Staff => SurfaceKind::StaffSide,
            Audience::Person(_) => SurfaceKind::OwnCard,
            Audience::Shared => SurfaceKind::SharedThread,
        }
    }

    fn stored(self) -> (&'static str, Option<i64>) {
        match self {
            Audience::Staff => ("staff", None),
            Audience::Person(p) => ("person", Some(p.0)),
            Audience::Shared => ("shared", None),
        }
    }
}

/// A ticket's card on a platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Surface {
    /// Its id.
    pub id: SurfaceId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The card: its channel and platform message id (the thread's root).
    pub card: PlatformRef,
    /// Who it is for.
    pub audience: Audience,
    /// When the audience lost access (nothing is mirrored there after).
    pub closed_at: Option<Timestamp>,
}

impl Surface {
    /// Whether changes are still mirrored to it.
    pub fn is_live(&self) -> bool {
        self.closed_at.is_none()
    }
}

const COLUMNS: &str =
    "id, ticket_id, platform, workspace, channel, card_id, audience, person_id, closed_at";

/// The surface columns, each prefixed with a table alias.
pub(crate) fn qualified_columns(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn surface(row: &AnyRow) -> Result<Surface> {
    let audience = match (
        row.try_get::<&str, _>("audience")?,
        row.try_get::<Option<i64>, _>("person_id")?,
    ) {
        ("staff", None) => Audience::Staff,
        ("person", Some(p)) => Audience::Person(PersonId(p)),
        ("shared", None) => Audience::Shared,
        (other, _) => return Err(EngineError::Corrupt(format!("surface audience {other}"))),
    };
    Ok(Surface {
        id: SurfaceId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        card: PlatformRef::from_row(row, "card_id")?,
        audience,
        closed_at: row.try_get::<Option<i64>, _>("closed_at")?.map(Timestamp),
    })
}

/// Card facts lately read for deliveries ([`System::card_facts_since`]):
/// by ticket, the event they were read for, when, and the facts; at most
/// [`RecentFacts::KEPT`] tickets. Forgotten whenever this engine commits
/// a change of no ticket (a person, a department, people merged), which
/// can change what a card shows without an event of the ticket's.
#[derive(Debug, Default)]
pub(crate) struct RecentFacts {
    map: std::sync::Mutex<std::collections::HashMap<TicketId, Read>>,
    /// Counts the forgettings: a read that began before one is not kept.
    forgotten: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Read {
    read_for: EventId,
    at: Timestamp,
    facts: CardFacts,
}

impl RecentFacts {
    /// Tickets whose facts are kept: the map is emptied when it is full.
    const KEPT: usize = 1024;
    /// How long facts serve other deliveries (by the engine's clock), in
    /// milliseconds: consumers that keep up deliver an event within
    /// moments of each other; one that is far behind reads for itself.
    const FRESH_MS: i64 = 5_000;

    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<TicketId, Read>> {
        // a poisoned map is still a map of facts each read whole.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(read: &Read, now: Timestamp) -> bool {
        now < read.at.plus_millis(Self::FRESH_MS)
    }

    /// The ticket's facts if they were read for `event` or a later event,
    /// lately.
    fn since(&self, ticket: TicketId, event: EventId, now: Timestamp) -> Option<CardFacts> {
        match self.map().get(&ticket) {
            Some(r) if r.read_for >= event && Self::fresh(r, now) => Some(r.facts.clone()),
            _ => None,
        }
    }

    /// Where the forgettings stand: taken before a read, given to
    /// [`RecentFacts::keep`].
    fn mark(&self) -> u64 {
        self.forgotten.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Keeps facts read for `event` (begun at `mark`, at `at`), unless
    /// they were forgotten since the read began or facts read for a later
    /// event are kept already.
    fn keep(&self, ticket: TicketId, event: EventId, mark: u64, at: Timestamp, facts: &CardFacts) {
        let mut map = self.map();
        // (checked under the lock [`RecentFacts::forget`] takes.)
        if self.mark() != mark {
            return;
        }
        if map
            .get(&ticket)
            .is_some_and(|r| r.read_for > event && Self::fresh(r, at))
        {
            return;
        }
        if map.len() >= Self::KEPT && !map.contains_key(&ticket) {
            map.clear();
        }
        map.insert(
            ticket,
            Read {
                read_for: event,
                at,
                facts: facts.clone(),
            },
        );
    }

    /// Forgets every ticket's facts: a change of no ticket committed.
    pub(crate) fn forget(&self) {
        let mut map = self.map();
        self.forgotten
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        map.clear();
    }
}

/// What a card shows: the ticket and the names around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFacts {
    /// The ticket as it is now.
    pub ticket: Ticket,
    /// Its requester's display name.
    pub requester_name: String,
    /// Its department's name, if it has one.
    pub department: Option<String>,
    /// Its owner's display name, if it has one (staff cards show it).
    #[serde(default)]
    pub owner_name: Option<String>,
    /// What customers' cards say of the owner: their first name, when the
    /// deployment shows owners to customers.
    #[serde(default)]
    pub handled_by: Option<String>,
    /// The requester's rating, once the ticket is closed and rated.
    #[serde(default)]
    pub rating: Option<crate::domain::Rating>,
    /// Until when the requester may rate it (or change their rating):
    /// a closed ticket's cards ask for it until then.
    #[serde(default)]
    pub rate_until: Option<Timestamp>,
}

impl CardFacts {
    fn with_handled_by(mut self, shown: bool) -> Self {
        self.handled_by = self
            .owner_name
            .as_deref()
            .filter(|_| shown)
            .and_then(first_name);
        self
    }
}

/// The first word of a display name ("Sam" of "Sam Support").
pub fn first_name(name: &str) -> Option<String> {
    name.split_whitespace().next().map(str::to_owned)
}

impl System<'_> {
    /// What a ticket's card shows. For adapters redrawing a card they posted
    /// for an audience that was allowed to see it: it checks no rights, and
    /// a card shows nothing beyond number, subject, status, requester and
    /// department.
    pub async fn card_facts(&self, ticket: TicketId) -> Result<CardFacts> {
        let sql = format!(
            "select {}, p.display_name as requester_name, p.is_staff as requester_staff, \
             d.name as department_name, \
             o.display_name as owner_name, {} \
             from tickets t join people p on p.id = t.requester_id \
             left join departments d on d.id = t.department_id \
             left join people o on o.id = t.owner_id \
             left join ratings r on r.ticket_id = t.id where t.id = $1",
            rows::TICKET_COLUMNS,
            crate::engine::ratings::COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(ticket.0)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(EngineError::NotFound("ticket"))?;
        let ticket = rows::ticket(&row)?;
        let rating = crate::engine::ratings::rating_in(&row)?;
        // staff who opened a ticket are asked for no rating.
        let staff_requester = row.try_get::<i64, _>("requester_staff")? != 0;
        let rate_until = ticket
            .closed_at
            .filter(|_| ticket.status.is_closed() && !staff_requester)
            .map(crate::engine::ratings::rate_until);
        Ok(CardFacts {
            ticket,
            requester_name: row.try_get("requester_name")?,
            department: row.try_get("department_name")?,
            handled_by: None,
            owner_name: row.try_get("owner_name")?,
            rating,
            rate_until,
        }
        .with_handled_by(self.settings().show_owner_to_customers))
    }

    /// A ticket's card facts at least as new as `event`, one of its events
    /// that has committed (the one a delivery is handling): facts read for
    /// this event or a later one of the ticket by any consumer of this
    /// engine in the last few seconds are taken as they are; otherwise
    /// they are read now, and kept for the others. Every outbox consumer
    /// redraws cards after each event, so each event's facts were read
    /// once per consumer. Read after the event committed, they hold it and
    /// everything before it (a ticket's events take their ids in commit
    /// order, under the ticket's lock), and a change of the ticket after
    /// them has an event of its own, whose delivery reads them again. A
    /// change of no ticket (a name, a department, people merged) makes
    /// this engine forget them; another process's change reaches them
    /// within those few seconds, as it reaches a card no event redraws.
    pub async fn card_facts_since(&self, ticket: TicketId, event: EventId) -> Result<CardFacts> {
        let recent = self.engine().recent_facts();
        let now = self.db().now();
        if let Some(facts) = recent.since(ticket, event, now) {
            return Ok(facts);
        }
        let mark = recent.mark();
        let facts = self.card_facts(ticket).await?;
        recent.keep(ticket, event, mark, now, &facts);
        Ok(facts)
    }

    /// Records a ticket's card for an audience. If that audience already has
    /// a card for the ticket on that platform (a redelivered event raced this
    /// one), the stored surface wins and comes back.
    pub async fn put_surface(
        &self,
        ticket: TicketId,
        card: &PlatformRef,
        audience: Audience,
    ) -> Result<Surface> {
        let (kind, person) = audience.stored();
        self.db().write(sqlx::query(
            "insert into surfaces (ticket_id, platform, workspace, channel, card_id, audience, person_id, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing",
        )
        .bind(ticket.0)
        .bind(card.platform.as_str())
        .bind(&card.workspace)
        .bind(&card.channel)
        .bind(&card.message_id)
        .bind(kind)
        .bind(person)
        .bind(Timestamp::now().0)
        )
        .await?;
        self.surface_for(ticket, card.platform, audience)
            .await?
            .ok_or(EngineError::NotFound("surface"))
    }

    /// Moves a surface to a new card (the staff card reposted in another
    /// department's channel); the old card's thread is no longer the
    /// ticket's.
    pub async fn move_surface(&self, surface: SurfaceId, card: &PlatformRef) -> Result<Surface> {
        self.db()
            .write(
                sqlx::query("update surfaces set channel = $2, card_id = $3 where id = $1")
                    .bind(surface.0)
                    .bind(&card.channel)
                    .bind(&card.message_id),
            )
            .await?;
        self.surface_at(card)
            .await?
            .ok_or(EngineError::NotFound("surface"))
    }

    /// The card an audience has for a ticket on a platform, live or not.
    pub async fn surface_for(
        &self,
        ticket: TicketId,
        platform: Platform,
        audience: Audience,
    ) -> Result<Option<Surface>> {
        let sql = format!(
            "select {COLUMNS} from surfaces where ticket_id = $1 and platform = $2 \
             and audience = $3 and coalesce(person_id, 0) = $4"
        );
        let (kind, person) = audience.stored();
        let person = person.unwrap_or(0);
        let row = sqlx::query(&sql)
            .bind(ticket.0)
            .bind(platform.as_str())
            .bind(kind)
            .bind(person)
            .fetch_optional(self.db().pool())
            .await?;
        row.as_ref().map(surface).transpose()
    }

    /// The surface whose card is at a platform address (a thread's root).
    pub async fn surface_at(&self, card: &PlatformRef) -> Result<Option<Surface>> {
        let sql = format!(
            "select {COLUMNS} from surfaces where platform = $1 and workspace = $2 \
             and channel = $3 and card_id = $4"
        );
        let row = sqlx::query(&sql)
            .bind(card.platform.as_str())
            .bind(&card.workspace)
            .bind(&card.channel)
            .bind(&card.message_id)
            .fetch_optional(self.db().pool())
            .await?;
        row.as_ref().map(surface).transpose()
    }

    /// The surfaces whose card sits in a channel (on Discord, a ticket's
    /// private thread holds its own card).
    pub async fn surfaces_in_channel(
        &self,
        platform: Platform,
        workspace: &str,
        channel: &str,
    ) -> Result<Vec<Surface>> {
        let sql = format!(
            "select {COLUMNS} from surfaces where platform = $1 and workspace = $2 \
             and channel = $3 order by id"
        );
        let found = sqlx::query(&sql)
            .bind(platform.as_str())
            .bind(workspace)
            .bind(channel)
            .fetch_all(self.db().pool())
            .await?;
        found.iter().map(surface).collect()
    }

    /// The live surfaces on a platform of tickets that are not closed:
    /// where messages may have been written while an adapter was away.
    pub async fn open_surfaces(&self, platform: Platform) -> Result<Vec<Surface>> {
        let cols = qualified_columns("s");
        let sql = format!(
            "select {cols} from surfaces s join tickets t on t.id = s.ticket_id \
             where s.platform = $1 and s.closed_at is null and t.status <> 'closed' order by s.id"
        );
        let found = sqlx::query(&sql)
            .bind(platform.as_str())
            .fetch_all(self.db().pool())
            .await?;
        found.iter().map(surface).collect()
    }

    /// A ticket's surfaces on a platform, oldest first.
    pub async fn surfaces_of_ticket(
        &self,
        ticket: TicketId,
        platform: Platform,
    ) -> Result<Vec<Surface>> {
        let sql = format!(
            "select {COLUMNS} from surfaces where ticket_id = $1 and platform = $2 order by id"
        );
        let found = sqlx::query(&sql)
            .bind(ticket.0)
            .bind(platform.as_str())
            .fetch_all(self.db().pool())
            .await?;
        found.iter().map(surface).collect()
    }

    /// Stops mirroring to a surface (its person lost access).
    pub async fn close_surface(&self, card: &PlatformRef) -> Result<()> {
        self.db()
            .write(
                sqlx::query(
                    "update surfaces set closed_at = $5 where platform = $1 and workspace = $2 \
             and channel = $3 and card_id = $4 and closed_at is null",
                )
                .bind(card.platform.as_str())
                .bind(&card.workspace)
                .bind(&card.channel)
                .bind(&card.message_id)
                .bind(Timestamp::now().0),
            )
            .await?;
        Ok(())
    }

    /// Opens a closed surface again (a delegate invited back and accepted).
    pub async fn reopen_surface(&self, card: &PlatformRef) -> Result<()> {
        self.db()
            .write(
                sqlx::query(
                    "update surfaces set closed_at = null where platform = $1 and workspace = $2 \
             and channel = $3 and card_id = $4",
                )
                .bind(card.platform.as_str())
                .bind(&card.workspace)
                .bind(&card.channel)
                .bind(&card.message_id),
            )
            .await?;
        Ok(())
    }
}
