//! Delegates: invite (a known person or an e-mail address), accept,
//! decline, revoke (at once), list.

use super::command;
use super::{is_unique_violation, rows, Ctx, Emit, Engine};
use crate::db::Tx;
use crate::domain::access::ActorFacts;
use crate::domain::*;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::outbox::EventPayload;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// Whom to invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Invitee {
    /// Somebody Threadesk knows.
    Person(PersonId),
    /// An e-mail address; it becomes a person's once somebody with it turns up.
    Email(String),
}

/// How an invitee answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Accept,
    Decline,
}

async fn load_delegate(conn: &mut AnyConnection, id: DelegateId) -> Result<Delegate> {
    let sql = format!(
        "select {} from delegates d left join people p on p.id = d.person_id where d.id = $1",
        rows::DELEGATE_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(conn)
        .await?
        .ok_or(EngineError::NotFound("invitation"))?;
    rows::delegate(&row)
}

fn closed(ticket: &Ticket) -> Result<()> {
    if ticket.status.is_closed() {
        Err(EngineError::TicketClosed {
            number: ticket.number,
            unsent: None,
        })
    } else {
        Ok(())
    }
}

impl Engine {
    /// Invites a delegate to a ticket (requester, company admin or staff).
    /// Re-inviting somebody who declined or was revoked invites them again.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn invite_delegate(
        &self,
        ctx: &Ctx,
        ticket: TicketId,
        invitee: Invitee,
    ) -> Result<Delegate> {
        let email = match &invitee {
            Invitee::Email(raw) => Some(Email::parse(raw)?),
            Invitee::Person(_) => None,
        };
        command!(self, ctx.key.as_deref(), "invite_delegate", |tx| {
            let (actor, ticket, role) = self.lock_ticket(tx, ctx.actor, ticket).await?;
            closed(&ticket)?;
            if !role.can(Action::ManageDelegates) {
                return Err(EngineError::NotAllowed(Action::ManageDelegates));
            }
            let person = match (&invitee, &email) {
                (Invitee::Person(p), _) => {
                    super::actor_facts(tx, *p).await?;
                    Some(*p)
                }
                (Invitee::Email(_), Some(addr)) => self.person_by_email(tx, addr).await?,
                (Invitee::Email(_), None) => None,
            };
            if person == Some(ticket.requester_id) {
                return Err(EngineError::Conflict(
                    "the requester already has access to this ticket".into(),
                ));
            }
            let existing: Option<(i64, String)> =
                match person {
                    Some(p) => sqlx::query_as(
                        "select id, status from delegates where ticket_id = $1 and person_id = $2",
                    )
                    .bind(ticket.id.0)
                    .bind(p.0)
                    .fetch_optional(&mut **tx)
                    .await?,
                    None => {
                        sqlx::query_as(
                            "select id, status from delegates where ticket_id = $1 and email = $2",
                        )
                        .bind(ticket.id.0)
                        .bind(email.as_ref().map(|e| e.as_str()))
                        .fetch_optional(&mut **tx)
                        .await?
                    }
                };
            let now = self.now();
            let id = match existing {
                Some((_, status)) if status == "invited" || status == "accepted" => {
                    return Err(EngineError::Conflict(format!("that person is already {status} on this ticket")));
                }
                Some((id, _)) => {
                    sqlx::query("update delegates set status = 'invited', invited_by = $2, updated_at = $3 where id = $1")
                        .bind(id)
                        .bind(actor.id.0)
                        .bind(now.0)
                        .execute(&mut **tx)
                        .await?;
                    id
                }
                None => {
                    sqlx::query_scalar(
                        "insert into delegates (ticket_id, person_id, email, status, invited_by, created_at, updated_at) \
                         values ($1, $2, $3, 'invited', $4, $5, $5) returning id",
                    )
                    .bind(ticket.id.0)
                    .bind(person.map(|p| p.0))
                    .bind(email.as_ref().map(|e| e.as_str()))
                    .bind(actor.id.0)
                    .bind(now.0)
                    .fetch_one(&mut **tx)
                    .await?
                }
            };
            self.touch(tx, ticket.id).await?;
            let delegate = load_delegate(tx, DelegateId(id)).await?;
            let event = EventPayload::DelegateInvited {
                number: ticket.number,
                delegate: delegate.clone(),
            };
            let event = Emit::ticket(ticket.id, actor.id, event);
            Ok((delegate, event))
        })
    }

    /// Accepts an invitation addressed to the actor (by person or by one of
    /// their e-mail addresses).
    #[tracing::instrument(skip_all, fields(delegate.id = %delegate))]
    pub async fn accept_delegation(&self, ctx: &Ctx, delegate: DelegateId) -> Result<Delegate> {
        self.answer(ctx, delegate, Answer::Accept).await
    }

    /// Declines an invitation addressed to the actor.
    #[tracing::instrument(skip_all, fields(delegate.id = %delegate))]
    pub async fn decline_delegation(&self, ctx: &Ctx, delegate: DelegateId) -> Result<Delegate> {
        self.answer(ctx, delegate, Answer::Decline).await
    }

    async fn answer(&self, ctx: &Ctx, id: DelegateId, answer: Answer) -> Result<Delegate> {
        let op = match answer {
            Answer::Accept => "accept_delegation",
            Answer::Decline => "decline_delegation",
        };
        command!(self, ctx.key.as_deref(), op, |tx| {
            let actor = self.actor(tx, ctx.actor).await?;
            let current = load_delegate(tx, id).await?;
            if !self.addressed_to(tx, &actor, &current).await? {
                return Err(EngineError::NotFound("invitation"));
            }
            let ticket = self.lock_ticket_unchecked(tx, current.ticket_id).await?;
            closed(&ticket)?;
            if current.status != DelegateStatus::Invited {
                return Err(EngineError::Conflict(format!(
                    "this invitation is no longer open (it is {})",
                    current.status.as_str()
                )));
            }
            let status = match answer {
                Answer::Accept => DelegateStatus::Accepted,
                Answer::Decline => DelegateStatus::Declined,
            };
            let updated = sqlx::query(
                "update delegates set status = $2, person_id = $3, updated_at = $4 where id = $1",
            )
            .bind(id.0)
            .bind(status.as_str())
            .bind(actor.id.0)
            .bind(self.now().0)
            .execute(&mut **tx)
            .await;
            match updated {
                Err(e) if is_unique_violation(&e) => {
                    return Err(EngineError::Conflict(
                        "you already have an invitation to this ticket".into(),
                    ))
                }
                other => other?,
            };
            self.touch(tx, ticket.id).await?;
            let delegate = load_delegate(tx, id).await?;
            let event = match answer {
                Answer::Accept => EventPayload::DelegateAccepted {
                    number: ticket.number,
                    delegate: delegate.clone(),
                },
                Answer::Decline => EventPayload::DelegateDeclined {
                    number: ticket.number,
                    delegate: delegate.clone(),
                },
            };
            let event = Emit::ticket(ticket.id, actor.id, event);
            Ok((delegate, event))
        })
    }

    /// Revokes a delegation (or withdraws an invitation): effective at once.
    #[tracing::instrument(skip_all, fields(delegate.id = %delegate))]
    pub async fn revoke_delegate(&self, ctx: &Ctx, delegate: DelegateId) -> Result<Delegate> {
        self.revoke(ctx, None, delegate).await
    }

    /// Revokes a delegation of the ticket named: a delegation of another
    /// ticket is "not found" and nothing happens (a page or card names its
    /// ticket; the delegation must be that ticket's).
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket, delegate.id = %delegate))]
    pub async fn revoke_delegate_of(
        &self,
        ctx: &Ctx,
        ticket: TicketId,
        delegate: DelegateId,
    ) -> Result<Delegate> {
        self.revoke(ctx, Some(ticket), delegate).await
    }

    async fn revoke(
        &self,
        ctx: &Ctx,
        of: Option<TicketId>,
        delegate: DelegateId,
    ) -> Result<Delegate> {
        command!(self, ctx.key.as_deref(), "revoke_delegate", |tx| {
            let current = load_delegate(tx, delegate).await?;
            if of.is_some_and(|t| t != current.ticket_id) {
                return Err(EngineError::NotFound("invitation"));
            }
            let (actor, ticket, role) = self
                .lock_ticket(tx, ctx.actor, current.ticket_id)
                .await
                .map_err(|_| EngineError::NotFound("invitation"))?;
            closed(&ticket)?;
            if !role.can(Action::ManageDelegates) {
                return Err(EngineError::NotAllowed(Action::ManageDelegates));
            }
            if !current.status.is_revocable() {
                return Err(EngineError::Conflict(format!(
                    "there is nothing to revoke: the delegation is {}",
                    current.status.as_str()
                )));
            }
            sqlx::query("update delegates set status = 'revoked', updated_at = $2 where id = $1")
                .bind(delegate.0)
                .bind(self.now().0)
                .execute(&mut **tx)
                .await?;
            self.touch(tx, ticket.id).await?;
            let delegate = load_delegate(tx, delegate).await?;
            let event = EventPayload::DelegateRevoked {
                number: ticket.number,
                delegate: delegate.clone(),
            };
            let event = Emit::ticket(ticket.id, actor.id, event);
            Ok((delegate, event))
        })
    }

    /// A ticket's delegates with their status (for those who manage them).
    pub async fn delegates(&self, actor: PersonId, ticket: TicketId) -> Result<Vec<Delegate>> {
        let mut conn = self.db.pool().acquire().await?;
        let role = self
            .view_ticket(&mut conn, actor, super::TicketKey::Id(ticket))
            .await?
            .role;
        if !role.can(Action::ManageDelegates) {
            return Err(EngineError::NotAllowed(Action::ManageDelegates));
        }
        of_ticket(&mut conn, ticket).await
    }

    /// Whether an invitation is addressed to the actor: by person, or by an
    /// e-mail address the actor is known by.
    async fn addressed_to(&self, tx: &mut Tx, actor: &ActorFacts, d: &Delegate) -> Result<bool> {
        if let Some(p) = d.person_id {
            return Ok(p == actor.id);
        }
        let Some(email) = &d.email else {
            return Ok(false);
        };
        let owner = self.person_by_email(tx, &Email::parse(email)?).await?;
        Ok(owner == Some(actor.id))
    }

    /// Locks a ticket row without a rights check (for invitees, who may not
    /// see the ticket yet).
    async fn lock_ticket_unchecked(&self, tx: &mut Tx, id: TicketId) -> Result<Ticket> {
        let sql = format!(
            "select {} from tickets t where t.id = $1{}",
            rows::TICKET_COLUMNS,
            self.db.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(EngineError::NotFound("ticket"))?;
        rows::ticket(&row)
    }

    /// Records activity on a ticket that does not change its status.
    pub(crate) async fn touch(&self, tx: &mut Tx, ticket: TicketId) -> Result<()> {
        sqlx::query("update tickets set version = version + 1 where id = $1")
            .bind(ticket.0)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The person an e-mail address belongs to, if anybody.
    pub(crate) async fn person_by_email(
        &self,
        tx: &mut Tx,
        email: &Email,
    ) -> Result<Option<PersonId>> {
        let found: Option<i64> = sqlx::query_scalar(
            "select person_id from identities where platform = 'email' and workspace = '' and external_id = $1",
        )
        .bind(email.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        Ok(found.map(PersonId))
    }
}

/// A ticket's delegates, in the order they were made (no rights check: the
/// caller has made it).
pub(super) async fn of_ticket(conn: &mut AnyConnection, ticket: TicketId) -> Result<Vec<Delegate>> {
    let sql = format!(
        "select {} from delegates d left join people p on p.id = d.person_id where d.ticket_id = $1 order by d.id",
        rows::DELEGATE_COLUMNS
    );
    let found = sqlx::query(&sql).bind(ticket.0).fetch_all(conn).await?;
    found.iter().map(rows::delegate).collect()
}
