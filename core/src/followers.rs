//! Who follows a ticket on chat, and what each of its surfaces may show:
//! the engine's one answer for every adapter (chat platforms and e-mail
//! alike), from the rights table ([`crate::domain::may_show`]).
//!
//! A person's own card shows what that person may see; a shared customer
//! thread shows only what every member may see (never an internal note),
//! and a member who loses access is to be removed from it before anything
//! further is posted there ([`System::members_without_access`]).

use crate::domain::{may_show, Action, DelegateStatus, Platform, Role, Shown};
use crate::error::{EngineError, Result};
use crate::ids::{PersonId, SurfaceId, TicketId};
use crate::surfaces::{Audience, Surface};
use crate::system::System;
use crate::time::Timestamp;
use sqlx::Row;

/// An invitation to a ticket, found by the address it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationTo {
    /// The delegation.
    pub delegate: crate::ids::DelegateId,
    /// Where it stands.
    pub status: DelegateStatus,
    /// The person it belongs to, once somebody has the address.
    pub person: Option<PersonId>,
}

/// What [`role_in`] reads of a ticket `t` and a person `p` (the person's
/// columns as the engine reads an actor's).
static ROLE_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "t.requester_id, t.org_id, \
         (select d.status from delegates d where d.ticket_id = t.id and d.person_id = p.id) as delegation, {}",
        crate::engine::rows::ACTOR_COLUMNS
    )
});

/// A person's role on a ticket from a row of [`ROLE_COLUMNS`].
fn role_in(row: &sqlx::any::AnyRow) -> Result<Role> {
    let facts = crate::engine::rows::actor_columns(row)?;
    let delegation = row
        .try_get::<Option<String>, _>("delegation")?
        .map(|d| d.parse::<DelegateStatus>())
        .transpose()
        .map_err(|e| EngineError::Corrupt(e.to_string()))?;
    Ok(Role::of(
        &facts,
        PersonId(row.try_get("requester_id")?),
        row.try_get::<Option<i64>, _>("org_id")?
            .map(crate::ids::OrgId),
        delegation,
    ))
}

/// What a surface's reader may see, read once ([`System::reader`]), so
/// that the messages of one delivery are judged by the access it checked
/// (and a person's role is not read again for each of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    kind: crate::domain::SurfaceKind,
    role: Option<Role>,
    live: bool,
}

impl Reader {
    /// The reader of `surface`, given the role of its person (a person's
    /// card) as read.
    fn of(surface: &Surface, person_role: Option<Role>) -> Reader {
        let live = surface.is_live();
        let role = match surface.audience {
            Audience::Person(_) if live => person_role,
            Audience::Person(_) | Audience::Staff => None,
            // read by its members, each of whom may view the ticket (those
            // who may not are removed first): a reader's rights apply.
            Audience::Shared => Some(Role::Requester),
        };
        Reader {
            kind: surface.audience.kind(),
            role,
            live,
        }
    }

    /// Whether whoever reads the surface may view the ticket: a person's
    /// card, while that person may; the staff side and a shared thread
    /// (whose members are checked one by one) always.
    pub fn views(&self) -> bool {
        self.role.is_some_and(|r| r.can(Action::View))
            || self.kind != crate::domain::SurfaceKind::OwnCard
    }

    /// Whether the surface may show `shown`: as [`System::may_show`]
    /// answered when this was read.
    pub fn may_show(&self, shown: Shown) -> bool {
        self.live && may_show(self.kind, self.role, shown)
    }
}

impl System<'_> {
    /// The invitation to a ticket sent to an address (or held by the person
    /// who has that address now), if there is one. Checks no rights: for
    /// e-mail, to answer an invitee who writes back to the invitation mail.
    pub async fn invitation_to(
        &self,
        ticket: TicketId,
        address: &str,
    ) -> Result<Option<InvitationTo>> {
        let Ok(email) = crate::domain::Email::parse(address) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "select d.id, d.status, d.person_id from delegates d where d.ticket_id = $1 \
             and (d.email = $2 or d.person_id in (select person_id from identities \
                  where platform = 'email' and workspace = '' and external_id = $2)) \
             order by d.id desc limit 1",
        )
        .bind(ticket.0)
        .bind(email.as_str())
        .fetch_optional(self.db().pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let status: String = row.try_get("status")?;
        Ok(Some(InvitationTo {
            delegate: crate::ids::DelegateId(row.try_get("id")?),
            status: status
                .parse()
                .map_err(|e: crate::domain::ParseError| EngineError::Corrupt(e.to_string()))?,
            person: row.try_get::<Option<i64>, _>("person_id")?.map(PersonId),
        }))
    }

    /// The role a person holds on a ticket; `None` when either is unknown.
    /// Checks no rights: it is how the chat layer decides what a surface
    /// may show.
    pub async fn role_on(&self, person: PersonId, ticket: TicketId) -> Result<Option<Role>> {
        let row = sqlx::query(&format!(
            "select {} from tickets t join people p on p.id = $2 where t.id = $1",
            *ROLE_COLUMNS
        ))
        .bind(ticket.0)
        .bind(person.0)
        .fetch_optional(self.db().pool())
        .await?;
        // an unknown person, like an unknown ticket, has no role.
        row.as_ref().map(role_in).transpose()
    }

    /// Whether a live surface may show `shown` now: the staff side
    /// everything; a person's card what that person may see; a shared
    /// thread no internal note (its members are checked one by one with
    /// [`System::members_without_access`]). A surface that is no longer
    /// live shows nothing.
    pub async fn may_show(&self, surface: &Surface, shown: Shown) -> Result<bool> {
        Ok(self.reader(surface).await?.may_show(shown))
    }

    /// A ticket's surfaces on a platform, oldest first, each with who
    /// reads it ([`System::reader`]), in one round trip.
    pub async fn surfaces_with_readers(
        &self,
        ticket: TicketId,
        platform: Platform,
    ) -> Result<Vec<(Surface, Reader)>> {
        let sql = format!(
            "select {cols}, {role} from surfaces s join tickets t on t.id = s.ticket_id \
             left join people p on p.id = s.person_id \
             where s.ticket_id = $1 and s.platform = $2 order by s.id",
            cols = crate::surfaces::qualified_columns("s"),
            role = *ROLE_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(ticket.0)
            .bind(platform.as_str())
            .fetch_all(self.db().pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let surface = crate::surfaces::surface(row)?;
            // an unknown person has no role.
            let role = match surface.audience {
                Audience::Person(_) if surface.is_live() => row
                    .try_get::<Option<i64>, _>("actor_id")?
                    .map(|_| role_in(row))
                    .transpose()?,
                _ => None,
            };
            let reader = Reader::of(&surface, role);
            out.push((surface, reader));
        }
        Ok(out)
    }

    /// Who reads a surface, as [`System::may_show`] judges it: a person's
    /// card, that person's role on the ticket read now (one round trip);
    /// the staff side and a shared thread need no read.
    pub async fn reader(&self, surface: &Surface) -> Result<Reader> {
        let role = match surface.audience {
            Audience::Person(p) if surface.is_live() => self.role_on(p, surface.ticket_id).await?,
            _ => None,
        };
        Ok(Reader::of(surface, role))
    }

    /// Records that a person is in a shared surface's thread (the bot added
    /// them, or they wrote there). `true` when they were not a member.
    pub async fn add_surface_member(&self, surface: SurfaceId, person: PersonId) -> Result<bool> {
        let now = Timestamp::now().0;
        let done = self.db().write(sqlx::query(
            "insert into surface_members (surface_id, person_id, added_at) values ($1, $2, $3) \
             on conflict (surface_id, person_id) do update set removed_at = null, added_at = $3 \
             where surface_members.removed_at is not null",
        )
        .bind(surface.0)
        .bind(person.0)
        .bind(now)
        )
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records that a person was taken out of a shared surface's thread.
    pub async fn remove_surface_member(&self, surface: SurfaceId, person: PersonId) -> Result<()> {
        self.db()
            .write(
                sqlx::query(
                    "update surface_members set removed_at = $3 \
             where surface_id = $1 and person_id = $2 and removed_at is null",
                )
                .bind(surface.0)
                .bind(person.0)
                .bind(Timestamp::now().0),
            )
            .await?;
        Ok(())
    }

    /// The people in a shared surface's thread now.
    pub async fn surface_members(&self, surface: SurfaceId) -> Result<Vec<PersonId>> {
        let found: Vec<i64> = sqlx::query_scalar(
            "select person_id from surface_members where surface_id = $1 and removed_at is null order by added_at, person_id",
        )
        .bind(surface.0)
        .fetch_all(self.db().pool())
        .await?;
        Ok(found.into_iter().map(PersonId).collect())
    }

    /// The members of a shared surface who may no longer read its ticket
    /// (a revoked delegate, a company admin revoked or moved, staff who
    /// left): to be removed before anything further is posted there.
    pub async fn members_without_access(&self, surface: &Surface) -> Result<Vec<PersonId>> {
        // one round trip: the outbox asks this for every shared thread.
        let rows = sqlx::query(&format!(
            "select {} from surface_members m join people p on p.id = m.person_id \
             join tickets t on t.id = $2 \
             where m.surface_id = $1 and m.removed_at is null order by m.added_at, m.person_id",
            *ROLE_COLUMNS
        ))
        .bind(surface.id.0)
        .bind(surface.ticket_id.0)
        .fetch_all(self.db().pool())
        .await?;
        let mut out = vec![];
        for row in &rows {
            if !role_in(row)?.can(Action::View) {
                out.push(PersonId(row.try_get("actor_id")?));
            }
        }
        Ok(out)
    }

    /// The live surfaces through which a person follows tickets on a
    /// platform: their own cards and the shared threads they are in. When
    /// their standing changes, each is checked again.
    pub async fn followed_by(&self, person: PersonId, platform: Platform) -> Result<Vec<Surface>> {
        let sql = format!(
            "select {cols} from surfaces s where s.platform = $1 and s.closed_at is null and \
             (s.person_id = $2 or exists (select 1 from surface_members m \
                where m.surface_id = s.id and m.person_id = $2 and m.removed_at is null)) \
             order by s.id",
            cols = crate::surfaces::qualified_columns("s")
        );
        let found = sqlx::query(&sql)
            .bind(platform.as_str())
            .bind(person.0)
            .fetch_all(self.db().pool())
            .await?;
        found.iter().map(crate::surfaces::surface).collect()
    }

    /// The tickets a person asked for (is the requester of) that have live
    /// surfaces on a platform: when their organization changes, who else
    /// may read these changes with it.
    pub async fn requested_on(
        &self,
        person: PersonId,
        platform: Platform,
    ) -> Result<Vec<TicketId>> {
        let found: Vec<i64> = sqlx::query_scalar(
            "select distinct t.id from tickets t join surfaces s on s.ticket_id = t.id \
             where t.requester_id = $1 and s.platform = $2 and s.closed_at is null order by t.id",
        )
        .bind(person.0)
        .bind(platform.as_str())
        .fetch_all(self.db().pool())
        .await?;
        Ok(found.into_iter().map(TicketId).collect())
    }

    /// Whether a person already reads a ticket in a chat thread: their own
    /// live card, or a live shared thread they are in, on any platform.
    pub async fn reads_in_chat(&self, ticket: TicketId, person: PersonId) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "select s.id from surfaces s where s.ticket_id = $1 and s.closed_at is null and \
             (s.person_id = $2 or exists (select 1 from surface_members m \
                where m.surface_id = s.id and m.person_id = $2 and m.removed_at is null)) \
             limit 1",
        )
        .bind(ticket.0)
        .bind(person.0)
        .fetch_optional(self.db().pool())
        .await?;
        Ok(found.is_some())
    }

    /// The people who follow a ticket as customers: the requester, the
    /// accepted delegates, and whoever else has a live card or thread place
    /// on it and may still read it, each once, requester first.
    pub async fn followers(&self, ticket: TicketId) -> Result<Vec<PersonId>> {
        let requester: i64 = sqlx::query_scalar("select requester_id from tickets where id = $1")
            .bind(ticket.0)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(EngineError::NotFound("ticket"))?;
        let accepted: Vec<i64> = sqlx::query_scalar(
            "select person_id from delegates where ticket_id = $1 and status = 'accepted' \
             and person_id is not null order by id",
        )
        .bind(ticket.0)
        .fetch_all(self.db().pool())
        .await?;
        let in_chat: Vec<i64> = sqlx::query_scalar(
            "select s.person_id from surfaces s where s.ticket_id = $1 and s.person_id is not null \
               and s.closed_at is null \
             union select m.person_id from surface_members m join surfaces s on s.id = m.surface_id \
               where s.ticket_id = $1 and m.removed_at is null and s.closed_at is null",
        )
        .bind(ticket.0)
        .fetch_all(self.db().pool())
        .await?;
        let mut in_chat: Vec<PersonId> = in_chat.into_iter().map(PersonId).collect();
        in_chat.sort();
        let mut out: Vec<PersonId> = vec![];
        let named = std::iter::once(PersonId(requester)).chain(accepted.into_iter().map(PersonId));
        for p in named {
            if !out.contains(&p) && self.reads(p, ticket).await? {
                out.push(p);
            }
        }
        for p in in_chat {
            // staff follow from the staff side, not as customers.
            if !out.contains(&p)
                && self
                    .role_on(p, ticket)
                    .await?
                    .is_some_and(|r| r != Role::Staff && r.can(Action::View))
            {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn reads(&self, person: PersonId, ticket: TicketId) -> Result<bool> {
        Ok(self
            .role_on(person, ticket)
            .await?
            .is_some_and(|r| r.can(Action::View)))
    }
}
