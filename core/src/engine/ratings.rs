//! Satisfaction ratings: when a ticket closes its requester is asked to
//! rate the help, 1 to 5 stars with an optional comment. One rating per
//! ticket, by its requester, given or changed for [`RATING_WINDOW`] after
//! the ticket closed; from chat, the portal, or a link in the closing mail
//! that works once without signing in. Staff see ratings on tickets, in the
//! queue and in a report per department and per owner.

use super::command;
use super::{rows, Ctx, Emit, Engine};
use crate::db::Tx;
use crate::domain::{
    clean_text, is_invisible, Rating, Role, Ticket, ValidationError, MAX_COMMENT_CHARS,
};
use crate::error::{EngineError, Result};
use crate::ids::{PersonId, TicketId, TicketNumber};
use crate::outbox::EventPayload;
use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use std::time::Duration;

/// How long after closing a rating may be given or changed.
pub const RATING_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Until when a ticket closed at `closed` may be rated.
pub(crate) fn rate_until(closed: Timestamp) -> Timestamp {
    Timestamp(
        closed
            .0
            .saturating_add(i64::try_from(RATING_WINDOW.as_micros()).unwrap_or(i64::MAX / 2)),
    )
}

/// The rating columns, from alias `r`, named apart from a ticket's (a
/// ticket's card reads both in one row).
pub(crate) const COLUMNS: &str = "r.ticket_id as rating_ticket, r.score as rating_score, \
     r.comment as rating_comment, r.rated_by as rating_by, r.created_at as rating_created, \
     r.updated_at as rating_updated";

fn rating(row: &AnyRow) -> Result<Rating> {
    rating_in(row)?.ok_or_else(|| EngineError::Corrupt("a rating without a score".into()))
}

/// The rating of a row read with [`COLUMNS`]; `None` when the row has
/// none (a left join).
pub(crate) fn rating_in(row: &AnyRow) -> Result<Option<Rating>> {
    let Some(score) = row.try_get::<Option<i64>, _>("rating_score")? else {
        return Ok(None);
    };
    Ok(Some(Rating {
        ticket_id: TicketId(row.try_get("rating_ticket")?),
        score: u8::try_from(score).map_err(|_| EngineError::Corrupt(format!("score {score}")))?,
        comment: row.try_get("rating_comment")?,
        rated_by: PersonId(row.try_get("rating_by")?),
        created_at: Timestamp(row.try_get("rating_created")?),
        updated_at: Timestamp(row.try_get("rating_updated")?),
    }))
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A ticket's rating as stored, if it has one.
async fn stored(conn: &mut sqlx::AnyConnection, ticket: TicketId) -> Result<Option<Rating>> {
    let sql = format!("select {COLUMNS} from ratings r where r.ticket_id = $1");
    sqlx::query(&sql)
        .bind(ticket.0)
        .fetch_optional(conn)
        .await?
        .map(|r| rating(&r))
        .transpose()
}

/// A score and comment as people give them, checked.
fn checked(score: i64, comment: Option<&str>) -> Result<(u8, Option<String>)> {
    let score = u8::try_from(score)
        .ok()
        .filter(|s| (1..=5).contains(s))
        .ok_or(ValidationError::BadScore(score))?;
    let comment = comment
        .map(clean_text)
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.chars().all(is_invisible));
    if let Some(c) = &comment {
        let n = c.chars().count();
        if n > MAX_COMMENT_CHARS {
            return Err(ValidationError::CommentTooLong(n).into());
        }
    }
    Ok((score, comment))
}

/// Whether a ticket may be rated now, and by whom: closed, within the
/// window, by its requester.
fn may_rate(ticket: &Ticket, role: Role, now: Timestamp) -> Result<()> {
    let Some(closed) = ticket.closed_at.filter(|_| ticket.status.is_closed()) else {
        return Err(EngineError::Conflict(format!(
            "ticket {} is still open: it can be rated once it is closed",
            ticket.number
        )));
    };
    if role != Role::Requester {
        return Err(EngineError::Conflict(
            "only the person who opened the ticket can rate it".into(),
        ));
    }
    if now > rate_until(closed) {
        return Err(EngineError::Conflict(format!(
            "ratings can be given or changed for 7 days after a ticket closes; ticket {} closed on {}",
            ticket.number,
            crate::time::when(closed)
        )));
    }
    Ok(())
}

/// Ratings of one department, owner and score: `(department, owner,
/// score, count)`.
pub type Counted = (Option<String>, Option<String>, i64, i64);

/// A rating link as its page shows it, before it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingLink {
    /// The ticket's number.
    pub number: TicketNumber,
    /// Its subject.
    pub subject: String,
    /// The person it was mailed to (the requester).
    pub person: PersonId,
    /// Their rating so far, if any.
    pub rating: Option<Rating>,
}

/// Ratings counted together: one department, one owner, or all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RatingRow {
    /// The department's or owner's name (`None`: none).
    pub name: Option<String>,
    /// How many ratings of each score, 1 to 5.
    pub counts: [i64; 5],
}

impl RatingRow {
    /// How many ratings.
    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }

    /// The average score, if any was given.
    pub fn average(&self) -> Option<f64> {
        let n = self.total();
        let sum: i64 = self.counts.iter().zip(1..).map(|(c, s)| c * s).sum();
        (n > 0).then(|| sum as f64 / n as f64)
    }
}

/// A rated ticket in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatedTicket {
    /// The ticket's number.
    pub number: TicketNumber,
    /// Its subject.
    pub subject: String,
    /// The rating.
    pub rating: Rating,
}

/// Ratings over a period, per department and per owner (staff only).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RatingReport {
    /// Every rating of the period.
    pub all: RatingRow,
    /// Per department, by name.
    pub departments: Vec<RatingRow>,
    /// Per owner, by name (`None`: tickets nobody owned).
    pub owners: Vec<RatingRow>,
    /// The period's latest ratings with a comment, newest first (at most 50).
    pub comments: Vec<RatedTicket>,
}

impl Engine {
    /// Rates a closed ticket (its requester, within [`RATING_WINDOW`] of
    /// closing), or changes the rating given.
    #[tracing::instrument(skip_all, fields(ticket.id = %ticket))]
    pub async fn rate(
        &self,
        ctx: &Ctx,
        ticket: TicketId,
        score: i64,
        comment: Option<&str>,
    ) -> Result<Rating> {
        let (score, comment) = checked(score, comment)?;
        command!(self, ctx.key.as_deref(), "rate", |tx| {
            let (actor, ticket, role) = self.lock_ticket(tx, ctx.actor, ticket).await?;
            self.write_rating(tx, &ticket, role, actor.id, score, comment.clone())
                .await
        })
    }

    async fn write_rating(
        &self,
        tx: &mut Tx,
        ticket: &Ticket,
        role: Role,
        by: PersonId,
        score: u8,
        comment: Option<String>,
    ) -> Result<(Rating, Emit)> {
        let now = self.now();
        may_rate(ticket, role, now)?;
        let before = stored(tx, ticket.id).await?;
        let rated = Rating {
            ticket_id: ticket.id,
            score,
            comment,
            rated_by: by,
            created_at: before.as_ref().map_or(now, |b| b.created_at),
            updated_at: now,
        };
        if before
            .as_ref()
            .is_some_and(|b| b.score == rated.score && b.comment == rated.comment)
        {
            return Err(EngineError::Conflict("that is already your rating".into()));
        }
        sqlx::query(
            "insert into ratings (ticket_id, score, comment, rated_by, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6) on conflict (ticket_id) do update set \
             score = excluded.score, comment = excluded.comment, rated_by = excluded.rated_by, \
             updated_at = excluded.updated_at",
        )
        .bind(ticket.id.0)
        .bind(i64::from(score))
        .bind(rated.comment.as_deref())
        .bind(by.0)
        .bind(rated.created_at.0)
        .bind(now.0)
        .execute(&mut **tx)
        .await?;
        let event = EventPayload::TicketRated {
            number: ticket.number,
            rating: rated.clone(),
            changed: before.is_some(),
        };
        Ok((rated.clone(), Emit::ticket(ticket.id, by, event)))
    }

    /// A ticket's rating, for staff and for its requester; `None` for
    /// anybody else who may read the ticket, and when it has none.
    pub async fn rating(&self, actor: PersonId, ticket: TicketId) -> Result<Option<Rating>> {
        let mut conn = self.db.pool().acquire().await?;
        let role = self
            .view_ticket(&mut conn, actor, super::TicketKey::Id(ticket))
            .await?
            .role;
        if !matches!(role, Role::Staff | Role::Requester) {
            return Ok(None);
        }
        stored(&mut conn, ticket).await
    }

    /// Whether the person may rate the ticket now (to offer the form).
    pub async fn may_rate(&self, actor: PersonId, ticket: TicketId) -> Result<bool> {
        let mut conn = self.db.pool().acquire().await?;
        let seen = self
            .view_ticket(&mut conn, actor, super::TicketKey::Id(ticket))
            .await?;
        Ok(may_rate(&seen.ticket, seen.role, self.now()).is_ok())
    }

    /// The ratings of some tickets (staff only: the queue shows them).
    pub async fn ratings_of(
        &self,
        actor: PersonId,
        tickets: &[TicketId],
    ) -> Result<HashMap<TicketId, Rating>> {
        if tickets.is_empty() {
            return Ok(HashMap::new());
        }
        if !self.person_alone(actor).await?.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let ids: Vec<String> = tickets.iter().map(|t| t.0.to_string()).collect();
        let sql = format!(
            "select {COLUMNS} from ratings r where r.ticket_id in ({})",
            ids.join(", ")
        );
        let rows = sqlx::query(&sql)
            .persistent(false)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| rating(r).map(|r| (r.ticket_id, r)))
            .collect()
    }

    /// Ratings given (or last changed) in `[from, to)`, per department
    /// and per owner, with the latest comments. Staff only.
    pub async fn rating_report(
        &self,
        actor: PersonId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<RatingReport> {
        if !self.person_alone(actor).await?.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let rows = self.counted(Some((from, to))).await?;
        let mut report = RatingReport::default();
        let mut departments: Vec<RatingRow> = Vec::new();
        let mut owners: Vec<RatingRow> = Vec::new();
        let add =
            |rows: &mut Vec<RatingRow>, name: &Option<String>, score: usize, n: i64| match rows
                .iter_mut()
                .find(|r| &r.name == name)
            {
                Some(r) => r.counts[score] += n,
                None => {
                    let mut r = RatingRow {
                        name: name.clone(),
                        ..RatingRow::default()
                    };
                    r.counts[score] = n;
                    rows.push(r);
                }
            };
        for (department, owner, score, n) in &rows {
            let Some(i) = usize::try_from(*score).ok().filter(|s| (1..=5).contains(s)) else {
                continue;
            };
            report.all.counts[i - 1] += n;
            add(&mut departments, department, i - 1, *n);
            add(&mut owners, owner, i - 1, *n);
        }
        let by_name = |a: &RatingRow, b: &RatingRow| match (&a.name, &b.name) {
            (Some(x), Some(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, None) => std::cmp::Ordering::Equal,
        };
        departments.sort_by(by_name);
        owners.sort_by(by_name);
        report.departments = departments;
        report.owners = owners;
        let sql = format!(
            "select {COLUMNS}, t.number, t.subject from ratings r join tickets t on t.id = r.ticket_id \
             where r.updated_at >= $1 and r.updated_at < $2 and r.comment is not null \
             order by r.updated_at desc, r.ticket_id desc limit 50"
        );
        for row in sqlx::query(&sql)
            .bind(from.0)
            .bind(to.0)
            .fetch_all(self.db.pool())
            .await?
        {
            report.comments.push(RatedTicket {
                number: TicketNumber(row.try_get("number")?),
                subject: row.try_get("subject")?,
                rating: rating(&row)?,
            });
        }
        Ok(report)
    }

    /// Every rating counted per department, owner and score, for
    /// `/metrics`: `(department, owner, score, count)`.
    pub async fn rating_counts(&self) -> Result<Vec<Counted>> {
        self.counted(None).await
    }

    /// Ratings counted per department, owner and score, those given or
    /// last changed in `[from, to)` when a period is given.
    async fn counted(&self, period: Option<(Timestamp, Timestamp)>) -> Result<Vec<Counted>> {
        let within = match period {
            Some(_) => "where r.updated_at >= $1 and r.updated_at < $2 ",
            None => "",
        };
        let sql = format!(
            "select d.name, p.display_name, r.score, count(*) from ratings r \
             join tickets t on t.id = r.ticket_id \
             left join departments d on d.id = t.department_id \
             left join people p on p.id = t.owner_id \
             {within}group by d.name, p.display_name, r.score order by 1, 2, 3"
        );
        let mut query = sqlx::query_as(&sql);
        if let Some((from, to)) = period {
            query = query.bind(from.0).bind(to.0);
        }
        Ok(query.fetch_all(self.db.pool()).await?)
    }

    /// What a rating link is for, without using it (its page shows the
    /// ticket before the person confirms). Unknown, used or expired links
    /// are "not found".
    pub async fn rating_link(&self, token: &str) -> Result<RatingLink> {
        let sql = format!(
            "select l.person_id, {}, {COLUMNS} \
             from rating_links l join tickets t on t.id = l.ticket_id \
             left join ratings r on r.ticket_id = t.id \
             where l.token_hash = $1 and l.used_at is null and l.expires_at > $2",
            rows::TICKET_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(hash(token))
            .bind(self.now().0)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(EngineError::NotFound("link"))?;
        let ticket = rows::ticket(&row)?;
        // a link is mailed to the requester only, who sees the rating.
        let person = PersonId(row.try_get("person_id")?);
        let rating = rating_in(&row)?;
        Ok(RatingLink {
            number: ticket.number,
            subject: ticket.subject,
            person,
            rating,
        })
    }

    /// Rates through a mailed link: the link is used up in the same
    /// transaction, so it rates once. Unknown, used or expired links are
    /// "not found".
    pub async fn rate_by_link(
        &self,
        token: &str,
        score: i64,
        comment: Option<&str>,
    ) -> Result<Rating> {
        let (score, comment) = checked(score, comment)?;
        command!(self, None, "rate", |tx| {
            let now = self.now();
            let used: Option<(i64, i64)> = sqlx::query_as(
                "update rating_links set used_at = $1 where token_hash = $2 and used_at is null \
                 and expires_at > $1 returning ticket_id, person_id",
            )
            .bind(now.0)
            .bind(hash(token))
            .fetch_optional(&mut **tx)
            .await?;
            let (ticket, person) = used.ok_or(EngineError::NotFound("link"))?;
            let (_, ticket, role) = self
                .lock_ticket(tx, PersonId(person), TicketId(ticket))
                .await?;
            self.write_rating(tx, &ticket, role, PersonId(person), score, comment.clone())
                .await
        })
    }
}

impl crate::system::System<'_> {
    /// A rating link for the requester of a closed ticket, for the closing
    /// mail: it works once, without signing in, for as long as the rating
    /// may be changed. `None` for anybody else, or an open ticket.
    pub async fn rating_link(&self, ticket: TicketId, person: PersonId) -> Result<Option<String>> {
        // staff who opened a ticket rate nothing (the engine refuses them).
        let row: Option<(i64, Option<i64>, i64)> = sqlx::query_as(
            "select t.requester_id, t.closed_at, p.is_staff from tickets t \
             join people p on p.id = t.requester_id where t.id = $1 and t.is_closed = 1",
        )
        .bind(ticket.0)
        .fetch_optional(self.db().pool())
        .await?;
        let Some((requester, Some(closed), 0)) = row else {
            return Ok(None);
        };
        if requester != person.0 {
            return Ok(None);
        }
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        let token = hex::encode(bytes);
        let now = self.engine().now();
        self.db().write(sqlx::query(
            "insert into rating_links (token_hash, ticket_id, person_id, created_at, expires_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(hash(&token))
        .bind(ticket.0)
        .bind(person.0)
        .bind(now.0)
        .bind(rate_until(Timestamp(closed)).0)
        )
        .await?;
        Ok(Some(token))
    }
}
