//! Links mailed to a person that act once and expire: signing in to the
//! portal, and accepting a delegate invitation. The token is 256 random
//! bits; only its SHA-256 is stored, so the database never holds a usable
//! link. Following a link proves the mailbox: the person with that address
//! is found, or made, when it is redeemed.

use super::Engine;
use crate::domain::{Email, Person, PlatformIdentity};
use crate::error::{EngineError, Result};
use crate::ids::DelegateId;
use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::time::Duration;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Signs the person in to the portal.
    SignIn,
    /// Accepts a delegate invitation (and signs the invitee in).
    Accept(DelegateId),
    /// Declines a delegate invitation (and signs the invitee in).
    Decline(DelegateId),
}

impl LinkPurpose {
    fn name(self) -> &'static str {
        match self {
            LinkPurpose::SignIn => "sign_in",
            LinkPurpose::Accept(_) => "accept",
            LinkPurpose::Decline(_) => "decline",
        }
    }
}

/// The kind of a link, when it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A sign-in link.
    SignIn,
    /// An invitation's Accept link.
    Accept,
    /// An invitation's Decline link.
    Decline,
}

impl LinkKind {
    fn name(self) -> &'static str {
        match self {
            LinkKind::SignIn => "sign_in",
            LinkKind::Accept => "accept",
            LinkKind::Decline => "decline",
        }
    }
}

/// A redeemed link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    /// The person behind the address it was mailed to.
    pub person: Person,
    /// The invitation, for an accept link.
    pub delegate: Option<DelegateId>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Sign-in links one address may be sent within [`SIGN_IN_WINDOW`].
pub const SIGN_IN_LINKS_PER_WINDOW: i64 = 3;
/// The window sign-in links are counted in.
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);

impl Engine {
    /// Makes a link token for an address, valid once for `ttl`.
    pub async fn issue_link_token(
        &self,
        purpose: LinkPurpose,
        email: &str,
        ttl: Duration,
    ) -> Result<String> {
        let email = Email::parse(email)?;
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        let token = hex::encode(bytes);
        let now = Timestamp::now().0;
        let delegate = match purpose {
            LinkPurpose::Accept(d) | LinkPurpose::Decline(d) => Some(d.0),
            LinkPurpose::SignIn => None,
        };
        self.db().write(sqlx::query(
            "insert into link_tokens (token_hash, purpose, email, delegate_id, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash(&token))
        .bind(purpose.name())
        .bind(email.as_str())
        .bind(delegate)
        .bind(now)
        .bind(now + i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 2))
        )
        .await?;
        Ok(token)
    }

    /// A sign-in link for an address, unless one was asked for too often
    /// lately ([`SIGN_IN_LINKS_PER_WINDOW`] within [`SIGN_IN_WINDOW`]):
    /// then `None`, and the caller answers as if it were sent (whether an
    /// address is known is not revealed). Counted in the database, so
    /// every replica agrees.
    pub async fn issue_sign_in_token(&self, email: &str, ttl: Duration) -> Result<Option<String>> {
        let address = Email::parse(email)?;
        let since = Timestamp::now().0 - i64::try_from(SIGN_IN_WINDOW.as_micros()).unwrap_or(0);
        let recent: i64 = sqlx::query_scalar(
            "select count(*) from link_tokens where purpose = 'sign_in' and email = $1 and created_at > $2",
        )
        .bind(address.as_str())
        .bind(since)
        .fetch_one(self.db().pool())
        .await?;
        if recent >= SIGN_IN_LINKS_PER_WINDOW {
            tracing::info!("sign-in link not sent: asked for too often");
            return Ok(None);
        }
        self.issue_link_token(LinkPurpose::SignIn, email, ttl)
            .await
            .map(Some)
    }

    /// Uses a link token of this kind once: the person behind its address (made on first sight) and, for
    /// an invitation link, the invitation. An unknown, used, expired or
    /// other kind of token is "not found".
    pub async fn redeem_link_token(&self, kind: LinkKind, token: &str) -> Result<Redeemed> {
        let purpose = kind.name();
        let now = Timestamp::now().0;
        let mut tx = self.db().begin().await?;
        let row = sqlx::query(
            "update link_tokens set used_at = $1 where token_hash = $2 and purpose = $3 \
             and used_at is null and expires_at > $1 returning email, delegate_id",
        )
        .bind(now)
        .bind(hash(token))
        .bind(purpose)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let row = row.ok_or(EngineError::NotFound("link"))?;
        let email: String = row.try_get("email")?;
        let delegate: Option<i64> = row.try_get("delegate_id")?;
        let name = email.split('@').next().unwrap_or(&email).to_owned();
        let person = self
            .ensure_person(&PlatformIdentity::email(&email), &name)
            .await?;
        Ok(Redeemed {
            person,
            delegate: delegate.map(DelegateId),
        })
    }
}

/// A mail problem of a ticket: mail a server refused for good, or a reply
/// by e-mail that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFailure {
    /// The address.
    pub address: String,
    /// What the server said.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

impl Engine {
    /// Records a mail problem of a ticket (`reason` says what happened).
    pub async fn record_mail_failure(
        &self,
        ticket: crate::ids::TicketId,
        address: &str,
        reason: &str,
    ) -> Result<()> {
        let reason: String = reason.chars().take(500).collect();
        self.db().write(sqlx::query(
            "insert into mail_failures (ticket_id, address, reason, created_at) values ($1, $2, $3, $4)",
        )
        .bind(ticket.0)
        .bind(address)
        .bind(reason)
        .bind(Timestamp::now().0)
        )
        .await?;
        Ok(())
    }

    /// Staff only: the ticket's mail problems, newest first.
    pub async fn mail_failures(
        &self,
        actor: crate::ids::PersonId,
        ticket: crate::ids::TicketId,
    ) -> Result<Vec<MailFailure>> {
        let mut conn = self.db().pool().acquire().await?;
        let seen = self
            .view_ticket(&mut conn, actor, super::TicketKey::Id(ticket))
            .await?;
        if !seen.facts.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let rows = sqlx::query(
            "select address, reason, created_at from mail_failures where ticket_id = $1 \
             order by id desc limit 20",
        )
        .bind(ticket.0)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MailFailure {
                    address: r.try_get("address")?,
                    reason: r.try_get("reason")?,
                    at: Timestamp(r.try_get("created_at")?),
                })
            })
            .collect()
    }
}
