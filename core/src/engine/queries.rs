//! Queries: each person sees only what the rights table lets them see.
//! Lists are keyset-paginated, newest activity first.

use super::{actor_facts, rows, Engine, TicketKey, TicketRow};
use crate::domain::*;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::time::Timestamp;
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, Row};
use std::collections::HashMap;

/// The staff queue's leading sort key: tickets waiting for staff first,
/// the soonest due first (those without a due time after them), then the
/// rest. The same expression as the `tickets_queue` index (migration 0012).
const QUEUE_RANK: &str =
    "(case when t.needs_staff = 1 then -coalesce(t.due_at, 4611686018427387904) \
     else -4611686018427387905 end)";

/// How many people the people directory shows at once.
pub const PEOPLE_AT_ONCE: usize = 50;
/// The most people a ticket's page offers to pick from.
pub const PICK_AT_MOST: usize = 200;

/// A page of the people directory ([`Engine::people_page`]).
#[derive(Debug, Clone)]
pub struct PeoplePage {
    /// The people, by name.
    pub people: Vec<Person>,
    /// Their e-mail addresses.
    pub addresses: HashMap<PersonId, Vec<String>>,
    /// Whether more match after these.
    pub more: bool,
}

/// Staff queue filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueFilter {
    /// Only this department.
    pub department: Option<DepartmentId>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only tickets owned so.
    pub owner: Option<OwnerFilter>,
    /// The order (soonest due first unless asked).
    pub sort: Sort,
}

/// A list column to order tickets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Waiting for staff first, soonest due first (the queue's order).
    #[default]
    Due,
    /// Last activity.
    Activity,
    /// When the ticket was opened.
    Opened,
    /// The ticket number.
    Number,
    /// Status, in lifecycle order.
    Status,
    /// Department name.
    Department,
    /// Owner name (unassigned first).
    Owner,
}

impl SortBy {
    /// Every order, with its name in links.
    pub const ALL: [SortBy; 7] = [
        SortBy::Due,
        SortBy::Activity,
        SortBy::Opened,
        SortBy::Number,
        SortBy::Status,
        SortBy::Department,
        SortBy::Owner,
    ];

    /// The name used in links (`sort=activity`).
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Due => "due",
            SortBy::Activity => "activity",
            SortBy::Opened => "opened",
            SortBy::Number => "number",
            SortBy::Status => "status",
            SortBy::Department => "department",
            SortBy::Owner => "owner",
        }
    }

    /// The natural direction of a column: newest first for times and
    /// numbers, A to Z for names, soonest first for due times.
    pub fn natural(self) -> Sort {
        Sort {
            by: self,
            descending: matches!(self, SortBy::Activity | SortBy::Opened | SortBy::Number),
        }
    }
}

/// An order for a ticket list: a column and a direction. Its text form is
/// the column's name (`sort=status`), with a leading `-` when descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub by: SortBy,
    /// Largest / latest / Z first.
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        SortBy::Due.natural()
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.by.as_str())
    }
}

impl std::str::FromStr for Sort {
    type Err = ParseError;

    fn from_str(s: &str) -> std::result::Result<Self, ParseError> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        SortBy::ALL
            .into_iter()
            .find(|b| b.as_str() == name)
            .map(|by| Sort { by, descending })
            .ok_or_else(|| ParseError::Unknown {
                what: "order",
                value: s.to_owned(),
                hint: Some(format!(
                    "use one of {}",
                    SortBy::ALL.map(SortBy::as_str).join(", ")
                )),
            })
    }
}

/// Names in order, as a `case` giving each id its place (ids are numbers
/// read from the database, never user text). Unlisted ids (none, or
/// removed) come first.
fn place_of(column: &str, ids_in_order: &[i64]) -> String {
    if ids_in_order.is_empty() {
        return "0".to_owned();
    }
    let mut sql = format!("(case {column}");
    for (i, id) in ids_in_order.iter().enumerate() {
        sql.push_str(&format!(" when {id} then {}", i + 1));
    }
    sql.push_str(" else 0 end)");
    sql
}

/// The leading key of a sorted list, largest first in SQL: the keyset is
/// always (key desc, last activity desc, id desc), so an ascending order
/// negates its key. Newest activity first needs no leading key: empty, so
/// that the plain (last activity, id) indexes serve it.
async fn sort_key(conn: &mut AnyConnection, sort: Sort) -> Result<SortKey> {
    let key = match sort.by {
        // QUEUE_RANK is largest for the soonest due, so "ascending due"
        // (soonest first) is the rank itself.
        SortBy::Due => {
            return Ok(SortKey(Some(if sort.descending {
                format!("(-{QUEUE_RANK})")
            } else {
                QUEUE_RANK.to_owned()
            })))
        }
        SortBy::Activity => {
            return Ok(SortKey(if sort.descending {
                None
            } else {
                Some("(-t.last_activity_at)".to_owned())
            }))
        }
        SortBy::Opened => "t.created_at".to_owned(),
        SortBy::Number => "t.number".to_owned(),
        SortBy::Status => {
            let mut sql = String::from("(case t.status");
            for (i, s) in Status::ALL.iter().enumerate() {
                sql.push_str(&format!(" when '{}' then {i}", s.as_str()));
            }
            sql.push_str(" else 0 end)");
            sql
        }
        SortBy::Department => {
            let ids: Vec<i64> =
                sqlx::query_scalar("select id from departments order by lower(name), id")
                    .fetch_all(&mut *conn)
                    .await?;
            place_of("t.department_id", &ids)
        }
        SortBy::Owner => {
            let ids: Vec<i64> = sqlx::query_scalar(
                "select distinct p.id, lower(p.display_name) from people p join tickets t on t.owner_id = p.id \
                 order by lower(p.display_name), p.id",
            )
            .fetch_all(&mut *conn)
            .await?;
            place_of("t.owner_id", &ids)
        }
    };
    Ok(SortKey(Some(if sort.descending {
        key
    } else {
        format!("(-{key})")
    })))
}

/// A list's leading sort key; none for newest activity first.
struct SortKey(Option<String>);

impl SortKey {
    /// The key to select and compare the cursor with (a constant when
    /// there is none), and the start of the `order by` (empty when none:
    /// a constant there would name a column by position).
    fn split(self) -> (String, String) {
        match self.0 {
            None => ("0".to_owned(), String::new()),
            Some(key) => {
                let order = format!("{key} desc, ");
                (key, order)
            }
        }
    }
}

/// Whose tickets a staff list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerFilter {
    /// The asking person's.
    Mine,
    /// Nobody's yet.
    Unassigned,
    /// This member of staff's.
    Person(PersonId),
}

fn view_clause(view: View) -> &'static str {
    match view {
        View::Active => " and t.is_closed = 0",
        View::Closed => " and t.is_closed = 1",
        View::All => "",
    }
}

pub(super) fn bind<'q, T>(args: &mut AnyArguments<'q>, v: T) -> Result<()>
where
    T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    args.add(v).map_err(|e| EngineError::Corrupt(e.to_string()))
}

/// The attachments of some messages.
pub(crate) async fn attachments_of(
    conn: &mut AnyConnection,
    ids: &[MessageId],
) -> Result<Vec<(MessageId, Attachment)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select id, message_id, name, content_type, size_bytes, url from attachments where message_id in ({}) order by id",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql).persistent(false);
    for id in ids {
        q = q.bind(id.0);
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(rows::attachment)
        .collect()
}

async fn page(
    conn: &mut AnyConnection,
    sql: &str,
    args: AnyArguments<'_>,
    size: i64,
    ranked: bool,
) -> Result<Page<TicketListItem>> {
    let found = sqlx::query_with(sql, args).fetch_all(conn).await?;
    let mut items = Vec::with_capacity(found.len());
    let mut last = None;
    for row in found.iter().take(usize::try_from(size).unwrap_or(0)) {
        let ticket = rows::ticket(row)?;
        let rank = if ranked {
            row.try_get::<i64, _>("sort_key")?
        } else {
            0
        };
        last = Some(Cursor {
            rank,
            last_activity_at: ticket.last_activity_at.0,
            id: ticket.id.0,
        });
        let shared = row.try_get::<i64, _>("shared")? != 0;
        items.push(TicketListItem { ticket, shared });
    }
    let more = i64::try_from(found.len()).unwrap_or(0) > size;
    Ok(Page {
        items,
        next: if more { last } else { None },
    })
}

/// Where a person's open invitations are (`$1`: the person), for the list
/// and its count (also read with a portal session's check).
pub(crate) const INVITED: &str =
    "from delegates d join tickets t on t.id = d.ticket_id join people p on p.id = d.invited_by \
     where d.person_id = $1 and d.status = 'invited' and t.is_closed = 0";

impl Engine {
    async fn conn(&self) -> Result<crate::readers::Reader> {
        Ok(self.db.pool().acquire().await?)
    }

    /// One ticket's header, if the person may see it.
    pub async fn ticket(&self, actor: PersonId, id: TicketId) -> Result<Ticket> {
        let mut conn = self.conn().await?;
        Ok(self
            .view_ticket(&mut conn, actor, TicketKey::Id(id))
            .await?
            .ticket)
    }

    /// Finds a ticket by the number people say aloud (`#1042`).
    pub async fn ticket_by_number(&self, actor: PersonId, number: TicketNumber) -> Result<Ticket> {
        let mut conn = self.conn().await?;
        Ok(self
            .view_ticket(&mut conn, actor, TicketKey::Number(number))
            .await?
            .ticket)
    }

    /// One ticket's thread as the asking person may see it: internal notes
    /// only for staff; what they may do now.
    pub async fn thread(&self, actor: PersonId, id: TicketId) -> Result<Thread> {
        Ok(self
            .thread_window(actor, TicketKey::Id(id), None, false)
            .await?
            .thread)
    }

    /// A page of a ticket's thread: the [`THREAD_PAGE`] latest messages
    /// before `before` (the latest of all without it), oldest first, with
    /// the changes of their time; [`Thread::earlier`] says whether older
    /// messages exist. A page costs the same however long the ticket is.
    pub async fn thread_page(
        &self,
        actor: PersonId,
        id: TicketId,
        before: Option<MessageId>,
    ) -> Result<Thread> {
        Ok(self
            .thread_window(actor, TicketKey::Id(id), Some(before), false)
            .await?
            .thread)
    }

    /// What a ticket's page shows, found by its number, in one read: the
    /// page of its thread ([`Engine::thread_page`]) and, for those who may
    /// manage them now, its delegates ([`Engine::delegates`]). A ticket the
    /// person may not see is "not found".
    pub async fn ticket_page(
        &self,
        actor: PersonId,
        number: TicketNumber,
        before: Option<MessageId>,
    ) -> Result<TicketPage> {
        self.thread_window(actor, TicketKey::Number(number), Some(before), true)
            .await
    }

    /// [`Engine::ticket_page`] of a ticket already found by its id.
    pub async fn ticket_page_of(
        &self,
        actor: PersonId,
        id: TicketId,
        before: Option<MessageId>,
    ) -> Result<TicketPage> {
        self.thread_window(actor, TicketKey::Id(id), Some(before), true)
            .await
    }

    async fn thread_window(
        &self,
        actor: PersonId,
        key: TicketKey,
        window: Option<Option<MessageId>>,
        with_delegates: bool,
    ) -> Result<TicketPage> {
        // a page walks the (ticket_id, id) index backwards and stops.
        let mut conn = super::read_in_order(&self.db).await?;
        let TicketRow {
            ticket,
            role,
            requester_name,
            ..
        } = self.view_ticket(&mut conn, actor, key).await?;
        let id = ticket.id;
        let notes = if role == Role::Staff {
            ""
        } else {
            " and m.internal = 0"
        };
        let (bound, order, limit) = match window {
            None => ("", "asc", String::new()),
            Some(Some(_)) => (
                " and m.id < $2",
                "desc",
                format!(" limit {}", THREAD_PAGE + 1),
            ),
            Some(None) => ("", "desc", format!(" limit {}", THREAD_PAGE + 1)),
        };
        let sql = format!(
            "select {} from messages m join people p on p.id = m.author_id \
             where m.ticket_id = $1{bound}{notes} order by m.ticket_id {order}, m.id {order}{limit}",
            rows::MESSAGE_COLUMNS
        );
        let mut query = sqlx::query(&sql).bind(id.0);
        if let Some(Some(before)) = window {
            query = query.bind(before.0);
        }
        let mut messages = query
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>>>()?;
        let earlier = window.is_some() && messages.len() > THREAD_PAGE;
        if window.is_some() {
            messages.truncate(THREAD_PAGE);
            messages.reverse();
        }
        // the files of the page's stretch of the thread: one statement of
        // one text (a list of ids is prepared again for every length).
        let mut files: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
        if let (Some(first), Some(last)) = (messages.first(), messages.last()) {
            let sql = format!(
                "select a.id, a.message_id, a.name, a.content_type, a.size_bytes, a.url \
                 from attachments a join messages m on m.id = a.message_id \
                 where m.ticket_id = $1 and m.id >= $2 and m.id <= $3{notes}"
            );
            let found = sqlx::query(&sql)
                .bind(id.0)
                .bind(first.id.0)
                .bind(last.id.0)
                .fetch_all(&mut *conn)
                .await?;
            for row in &found {
                let (message, file) = rows::attachment(row)?;
                files.entry(message).or_default().push(file);
            }
        }
        for m in &mut messages {
            m.attachments = files.remove(&m.id).unwrap_or_default();
            // in the order they were attached (sorted here: a sort in the
            // statement would turn PostgreSQL's ordered read, which
            // `read_in_order` asks for, into a walk of every file).
            m.attachments.sort_by_key(|a| a.id.0);
        }
        let allowed: Vec<Action> = if ticket.status.is_closed() {
            vec![Action::View]
        } else {
            Action::ALL.into_iter().filter(|a| role.can(*a)).collect()
        };
        let delegates = if with_delegates && allowed.contains(&Action::ManageDelegates) {
            Some(super::delegates::of_ticket(&mut conn, id).await?)
        } else {
            None
        };
        let mut changes = timeline(&mut conn, id, role == Role::Staff).await?;
        // a page shows the changes of its own time: from its first message
        // (from the start on the first page) to its last (to now on the
        // latest page).
        if let Some(first) = messages.first().filter(|_| earlier) {
            changes.retain(|c| c.at >= first.created_at);
        }
        if let Some(Some(before)) = window {
            let next: Option<i64> = sqlx::query_scalar(
                "select created_at from messages where id = $1 and ticket_id = $2",
            )
            .bind(before.0)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(next) = next {
                changes.retain(|c| c.at.0 < next);
            }
        }
        conn.commit().await?;
        Ok(TicketPage {
            thread: Thread {
                ticket,
                role,
                allowed,
                messages,
                changes,
                earlier,
                requester_name,
            },
            delegates,
        })
    }

    /// One file of a ticket, if the person may see it (files of internal
    /// notes only for staff): one read, however long the ticket.
    pub async fn attachment(
        &self,
        actor: PersonId,
        ticket: TicketId,
        attachment: AttachmentId,
    ) -> Result<Attachment> {
        let mut conn = self.conn().await?;
        let role = self
            .view_ticket(&mut conn, actor, TicketKey::Id(ticket))
            .await?
            .role;
        let notes = if role == Role::Staff {
            ""
        } else {
            " and m.internal = 0"
        };
        let sql = format!(
            "select a.id, a.message_id, a.name, a.content_type, a.size_bytes, a.url from attachments a \
             join messages m on m.id = a.message_id where a.id = $1 and a.ticket_id = $2{notes}"
        );
        let row = sqlx::query(&sql)
            .bind(attachment.0)
            .bind(ticket.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(EngineError::NotFound("file"))?;
        Ok(rows::attachment(&row)?.1)
    }

    /// The earlier texts of a message, oldest first.
    pub async fn message_revisions(
        &self,
        actor: PersonId,
        message: MessageId,
    ) -> Result<Vec<Revision>> {
        let mut conn = self.conn().await?;
        let row = sqlx::query("select ticket_id, internal from messages where id = $1")
            .bind(message.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(EngineError::NotFound("message"))?;
        let ticket = TicketId(row.try_get("ticket_id")?);
        let internal = row.try_get::<i64, _>("internal")? != 0;
        let role = match self
            .view_ticket(&mut conn, actor, TicketKey::Id(ticket))
            .await
        {
            Ok(seen) => seen.role,
            Err(EngineError::NotFound("ticket")) => return Err(EngineError::NotFound("message")),
            Err(e) => return Err(e),
        };
        if internal && role != Role::Staff {
            return Err(EngineError::NotFound("message"));
        }
        let found = sqlx::query(
            "select revision, body, edited_by, created_at from message_revisions where message_id = $1 order by revision",
        )
        .bind(message.0)
        .fetch_all(&mut *conn)
        .await?;
        found
            .iter()
            .map(|r| {
                Ok(Revision {
                    revision: r.try_get("revision")?,
                    body: r.try_get("body")?,
                    edited_by: PersonId(r.try_get("edited_by")?),
                    replaced_at: Timestamp(r.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// "My tickets": those I requested plus those shared with me as an
    /// accepted delegate (marked `shared`).
    pub async fn my_tickets(
        &self,
        actor: PersonId,
        req: PageRequest,
    ) -> Result<Page<TicketListItem>> {
        let mut conn = self.conn().await?;
        actor_facts(&mut conn, actor).await?;
        let view = view_clause(req.view);
        let cols = rows::TICKET_COLUMNS;
        let sql = format!(
            "select * from (select {cols}, 0 as shared from tickets t \
                 where t.requester_id = $1{view} and (t.last_activity_at < $2 or (t.last_activity_at = $2 and t.id < $3)) \
                 order by t.last_activity_at desc, t.id desc limit $4) mine \
             union all \
             select * from (select {cols}, 1 as shared from delegates d join tickets t on t.id = d.ticket_id \
                 where d.person_id = $1 and d.status = 'accepted'{view} \
                   and (t.last_activity_at < $2 or (t.last_activity_at = $2 and t.id < $3)) \
                 order by t.last_activity_at desc, t.id desc limit $4) shared_with_me \
             order by last_activity_at desc, id desc limit $4"
        );
        let after = req.after.unwrap_or(Cursor {
            rank: 0,
            last_activity_at: i64::MAX,
            id: i64::MAX,
        });
        let mut args = AnyArguments::default();
        bind(&mut args, actor.0)?;
        bind(&mut args, after.last_activity_at)?;
        bind(&mut args, after.id)?;
        bind(&mut args, req.size() + 1)?;
        page(&mut conn, &sql, args, req.size(), false).await
    }

    /// "Owned by organization": every ticket of my organization (company
    /// ticket admins only).
    pub async fn org_tickets(
        &self,
        actor: PersonId,
        req: PageRequest,
    ) -> Result<Page<TicketListItem>> {
        self.org_tickets_sorted(actor, SortBy::Activity.natural(), req)
            .await
    }

    /// "Owned by organization" in the order asked for.
    pub async fn org_tickets_sorted(
        &self,
        actor: PersonId,
        sort: Sort,
        req: PageRequest,
    ) -> Result<Page<TicketListItem>> {
        let mut conn = self.conn().await?;
        let facts = actor_facts(&mut conn, actor).await?;
        let org = match (facts.org_id, facts.is_company_admin) {
            (Some(org), true) => org,
            _ => return Err(EngineError::StaffOnly("company ticket admins")),
        };
        let (key, order) = sort_key(&mut conn, sort).await?.split();
        let sql = format!(
            "select {cols}, {key} as sort_key, case when t.requester_id = $5 then 0 \
                 when exists (select 1 from delegates d where d.ticket_id = t.id and d.person_id = $5 and d.status = 'accepted') then 1 \
                 else 0 end as shared \
             from tickets t where t.org_id = $1{view} \
               and ({key} < $6 or ({key} = $6 and (t.last_activity_at < $2 \
                    or (t.last_activity_at = $2 and t.id < $3)))) \
             order by {order}t.last_activity_at desc, t.id desc limit $4",
            cols = rows::TICKET_COLUMNS,
            view = view_clause(req.view)
        );
        let after = req.after.unwrap_or(Cursor {
            rank: i64::MAX,
            last_activity_at: i64::MAX,
            id: i64::MAX,
        });
        let mut args = AnyArguments::default();
        bind(&mut args, org.0)?;
        bind(&mut args, after.last_activity_at)?;
        bind(&mut args, after.id)?;
        bind(&mut args, req.size() + 1)?;
        bind(&mut args, actor.0)?;
        bind(&mut args, after.rank)?;
        page(&mut conn, &sql, args, req.size(), true).await
    }

    /// The staff queue: unanswered tickets (open, client replied) first,
    /// the soonest due first, then newest activity; by department, status
    /// and owner on request.
    pub async fn staff_queue(
        &self,
        actor: PersonId,
        filter: QueueFilter,
        req: PageRequest,
    ) -> Result<Page<TicketListItem>> {
        let mut conn = self.conn().await?;
        let facts = actor_facts(&mut conn, actor).await?;
        if !facts.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let after = req.after.unwrap_or(Cursor {
            rank: i64::MAX,
            last_activity_at: i64::MAX,
            id: i64::MAX,
        });
        let mut args = AnyArguments::default();
        bind(&mut args, after.rank)?;
        bind(&mut args, after.last_activity_at)?;
        bind(&mut args, after.id)?;
        bind(&mut args, req.size() + 1)?;
        let mut filters = String::from(view_clause(req.view));
        let mut n = 4;
        if let Some(dept) = filter.department {
            n += 1;
            filters.push_str(&format!(" and t.department_id = ${n}"));
            bind(&mut args, dept.0)?;
        }
        if let Some(status) = filter.status {
            n += 1;
            filters.push_str(&format!(" and t.status = ${n}"));
            bind(&mut args, status.as_str())?;
        }
        match filter.owner {
            None => {}
            Some(OwnerFilter::Unassigned) => filters.push_str(" and t.owner_id is null"),
            Some(OwnerFilter::Mine | OwnerFilter::Person(_)) => {
                let owner = match filter.owner {
                    Some(OwnerFilter::Person(p)) => p,
                    _ => actor,
                };
                n += 1;
                filters.push_str(&format!(" and t.owner_id = ${n}"));
                bind(&mut args, owner.0)?;
            }
        }
        let key = sort_key(&mut conn, filter.sort).await?;
        let (key, order) = key.split();
        let sql = format!(
            "select {cols}, {key} as sort_key, 0 as shared from tickets t \
             where ({key} < $1 or ({key} = $1 and (t.last_activity_at < $2 \
                    or (t.last_activity_at = $2 and t.id < $3)))){filters} \
             order by {order}t.last_activity_at desc, t.id desc limit $4",
            cols = rows::TICKET_COLUMNS
        );
        page(&mut conn, &sql, args, req.size(), true).await
    }

    /// Invitations waiting for me: an invited delegate sees only the subject.
    pub async fn my_invitations(&self, actor: PersonId) -> Result<Vec<Invitation>> {
        let mut conn = self.conn().await?;
        actor_facts(&mut conn, actor).await?;
        let found = sqlx::query(&format!(
            "select d.id as delegate_id, t.id as ticket_id, t.number, t.subject, p.display_name {INVITED} order by d.id"
        ))
        .bind(actor.0)
        .fetch_all(&mut *conn)
        .await?;
        found
            .iter()
            .map(|r| {
                Ok(Invitation {
                    delegate_id: DelegateId(r.try_get("delegate_id")?),
                    ticket_id: TicketId(r.try_get("ticket_id")?),
                    number: TicketNumber(r.try_get("number")?),
                    subject: r.try_get("subject")?,
                    invited_by_name: r.try_get("display_name")?,
                })
            })
            .collect()
    }

    /// How many invitations [`Engine::my_invitations`] would list, in one
    /// round trip (every portal page shows the number). Nobody unknown has
    /// any.
    pub async fn invitation_count(&self, actor: PersonId) -> Result<usize> {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) {INVITED}"))
            .bind(actor.0)
            .fetch_one(self.db.pool())
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// A page of the people directory, for staff (to link identities,
    /// grant company admin, make staff): by name, [`PEOPLE_AT_ONCE`] from
    /// `offset`, only those whose name or one of whose e-mail addresses
    /// contains `find` (any case; everybody when it is empty), with their
    /// e-mail addresses. However many people there are, a page reads and
    /// shows as many.
    pub async fn people_page(
        &self,
        actor: PersonId,
        find: &str,
        offset: usize,
    ) -> Result<PeoplePage> {
        let mut conn = self.conn().await?;
        if !actor_facts(&mut conn, actor).await?.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let find = find.trim();
        let pattern = format!("%{}%", like_escaped(&find.to_lowercase()));
        let sql = format!(
            "select {} from people p \
             where $1 = '' or lower(p.display_name) like $2 escape '\\' \
                or exists (select 1 from identities i where i.person_id = p.id \
                           and i.platform = 'email' and lower(i.external_id) like $2 escape '\\') \
             order by p.display_name, p.id limit $3 offset $4",
            rows::PERSON_COLUMNS
        );
        let at_once = i64::try_from(PEOPLE_AT_ONCE).unwrap_or(50);
        let found = sqlx::query(&sql)
            .bind(find)
            .bind(&pattern)
            .bind(at_once + 1)
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await?;
        let mut people = found.iter().map(rows::person).collect::<Result<Vec<_>>>()?;
        let more = people.len() > PEOPLE_AT_ONCE;
        people.truncate(PEOPLE_AT_ONCE);
        let ids: Vec<PersonId> = people.iter().map(|p| p.id).collect();
        let addresses = addresses(&mut conn, Some(&ids)).await?;
        Ok(PeoplePage {
            people,
            addresses,
            more,
        })
    }

    /// Whom staff may pick on a ticket's page to invite to it, by name:
    /// everybody while there are at most [`PICK_AT_MOST`] people, else the
    /// requester's organization's people (as many at most); anyone else is
    /// invited by e-mail address. Staff only.
    pub async fn invite_choices(&self, actor: PersonId, ticket: TicketId) -> Result<Vec<Person>> {
        let mut conn = self.conn().await?;
        if !actor_facts(&mut conn, actor).await?.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let most = i64::try_from(PICK_AT_MOST).unwrap_or(200);
        // one more than offered: whether there are few.
        let few = sqlx::query(&format!(
            "select {} from people p order by p.display_name, p.id limit $1",
            rows::PERSON_COLUMNS
        ))
        .bind(most + 1)
        .fetch_all(&mut *conn)
        .await?;
        if few.len() <= PICK_AT_MOST {
            return few.iter().map(rows::person).collect();
        }
        let found = sqlx::query(&format!(
            "select {} from tickets t join people r on r.id = t.requester_id \
             join people p on p.org_id = r.org_id \
             where t.id = $1 order by p.display_name, p.id limit $2",
            rows::PERSON_COLUMNS
        ))
        .bind(ticket.0)
        .bind(most)
        .fetch_all(&mut *conn)
        .await?;
        found.iter().map(rows::person).collect()
    }

    /// The support team, by name: staff only (to assign tickets, to show
    /// owners).
    pub async fn staff_members(&self, actor: PersonId) -> Result<Vec<Person>> {
        let mut conn = self.conn().await?;
        if !actor_facts(&mut conn, actor).await?.is_staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        let found = sqlx::query(
            "select id, display_name, org_id, is_staff, is_company_admin from people \
             where is_staff = 1 order by display_name, id",
        )
        .fetch_all(&mut *conn)
        .await?;
        found.iter().map(rows::person).collect()
    }

    /// Some people, by id: staff only (to name requesters in the queue).
    pub async fn people_by_id(
        &self,
        actor: PersonId,
        ids: &[PersonId],
    ) -> Result<HashMap<PersonId, Person>> {
        let mut conn = self.conn().await?;
        let facts = actor_facts(&mut conn, actor).await?;
        // Staff see anyone; a company ticket admin sees the people of their
        // own organization (whose tickets they list), and nobody else.
        let only_org = match (facts.is_staff, facts.is_company_admin, facts.org_id) {
            (true, _, _) => None,
            (false, true, Some(org)) => Some(org),
            _ => return Err(EngineError::StaffOnly("staff")),
        };
        let mut ids: Vec<i64> = ids.iter().map(|p| p.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "select id, display_name, org_id, is_staff, is_company_admin from people where id in ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                let p = rows::person(&row)?;
                if only_org.is_none() || p.org_id == only_org {
                    out.insert(p.id, p);
                }
            }
        }
        Ok(out)
    }

    /// What customers may know of owners: their first names, when the
    /// deployment shows owners to customers, and nothing otherwise. Staff
    /// get display names in full.
    pub async fn owner_names(
        &self,
        actor: PersonId,
        owners: &[PersonId],
    ) -> Result<HashMap<PersonId, String>> {
        let mut conn = self.conn().await?;
        let staff = actor_facts(&mut conn, actor).await?.is_staff;
        if !staff && !self.settings.show_owner_to_customers {
            return Ok(HashMap::new());
        }
        let mut out = HashMap::new();
        for id in owners {
            if out.contains_key(id) {
                continue;
            }
            let name: Option<String> = sqlx::query_scalar(
                "select display_name from people where id = $1 and is_staff = 1",
            )
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
            let name = match name {
                Some(n) if staff => Some(n),
                Some(n) => crate::surfaces::first_name(&n),
                None => None,
            };
            if let Some(name) = name {
                out.insert(*id, name);
            }
        }
        Ok(out)
    }

    /// The person with an e-mail address, among those the asking person
    /// may name: staff anyone, a company ticket admin the people of their
    /// organization, anybody else only themselves. Nobody otherwise, so
    /// that the answer tells no one who else has an account.
    pub async fn person_with_email(
        &self,
        actor: PersonId,
        email: &str,
    ) -> Result<Option<PersonId>> {
        let email = Email::parse(email)?;
        let mut conn = self.conn().await?;
        let facts = actor_facts(&mut conn, actor).await?;
        let found: Option<(i64, Option<i64>)> = sqlx::query_as(
            "select p.id, p.org_id from identities i join people p on p.id = i.person_id \
             where i.platform = 'email' and i.workspace = '' and i.external_id = $1",
        )
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(found.and_then(|(id, org)| {
            let id = PersonId(id);
            let may = facts.is_staff
                || id == actor
                || (facts.is_company_admin && org.is_some() && org.map(OrgId) == facts.org_id);
            may.then_some(id)
        }))
    }

    /// Everybody's e-mail addresses, for a trusted caller only: the web
    /// portal's local persona switcher (local mode).
    pub async fn all_email_addresses(&self) -> Result<HashMap<PersonId, Vec<String>>> {
        let mut conn = self.conn().await?;
        addresses(&mut conn, None).await
    }

    /// Everybody, by name, for a trusted caller only: the web portal's
    /// local persona switcher, which exists only when the deployment runs
    /// in local mode.
    pub async fn all_people(&self) -> Result<Vec<Person>> {
        let mut conn = self.conn().await?;
        list_people(&mut conn).await
    }
}

/// A ticket's changes, oldest first, as staff or a customer may see them.
/// The `kind in (…)` list is the partial index's (migration 0010).
async fn timeline(
    conn: &mut AnyConnection,
    ticket: TicketId,
    staff: bool,
) -> Result<Vec<crate::timeline::Change>> {
    let kinds: Vec<String> = crate::timeline::KINDS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect();
    let sql = format!(
        "select e.payload, e.created_at, e.actor_id, p.display_name from outbox_events e          left join people p on p.id = e.actor_id          where e.ticket_id = $1 and e.kind in ({}) order by e.ticket_id, e.id",
        kinds.join(", ")
    );
    let found = sqlx::query(&sql).bind(ticket.0).fetch_all(conn).await?;
    let mut out = Vec::with_capacity(found.len());
    for r in &found {
        let payload: crate::outbox::EventPayload =
            serde_json::from_str(r.try_get::<&str, _>("payload")?)?;
        let internal = crate::timeline::is_internal(&payload);
        if internal && !staff {
            continue;
        }
        let actor = r
            .try_get::<Option<i64>, _>("actor_id")?
            .map(PersonId)
            .zip(r.try_get::<Option<String>, _>("display_name")?);
        let Some(text) = crate::timeline::describe(
            &payload,
            actor.as_ref().map(|(id, name)| (*id, name.as_str())),
            staff,
        ) else {
            continue;
        };
        out.push(crate::timeline::Change {
            at: Timestamp(r.try_get("created_at")?),
            text,
            internal,
        });
    }
    Ok(out)
}

/// How many messages a page of a ticket's conversation shows
/// ([`Engine::thread_page`]).
pub const THREAD_PAGE: usize = 50;

/// The first-response histogram's bucket bounds, in seconds.
pub const FIRST_RESPONSE_BUCKETS: [i64; 9] = [
    300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400, 172_800,
];

/// Service figures for `/metrics`, per department (`""`: none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceFigures {
    /// Open tickets past their due time.
    pub overdue: Vec<(String, i64)>,
    /// Tickets opened in the last 30 days that staff answered: per
    /// department, how many within each of [`FIRST_RESPONSE_BUCKETS`]
    /// (cumulative), all of them, and the seconds summed.
    pub first_response: Vec<(String, Vec<i64>, i64, i64)>,
}

impl Engine {
    /// Service figures for the operator's `/metrics` (no person: the
    /// caller is the deployment's own monitoring).
    pub async fn service_figures(&self, now: Timestamp) -> Result<ServiceFigures> {
        let mut conn = self.db.pool().acquire().await?;
        let overdue: Vec<(String, i64)> = sqlx::query_as(
            "select coalesce(d.name, '') as name, count(*) as n from tickets t \
             left join departments d on d.id = t.department_id \
             where t.is_closed = 0 and t.due_at is not null and t.due_at < $1 \
             group by coalesce(d.name, '') order by 1",
        )
        .bind(now.0)
        .fetch_all(&mut *conn)
        .await?;
        let buckets: Vec<String> = FIRST_RESPONSE_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, b)| {
                format!(
                    "sum(case when t.first_response_at - t.created_at <= {} then 1 else 0 end) as b{i}",
                    b * 1_000_000
                )
            })
            .collect();
        let sql = format!(
            "select coalesce(d.name, '') as name, {}, count(*) as n, \
               cast(sum((t.first_response_at - t.created_at) / 1000000) as bigint) as total \
             from tickets t left join departments d on d.id = t.department_id \
             where t.first_response_at is not null and t.created_at >= $1 \
             group by coalesce(d.name, '') order by 1",
            buckets.join(", ")
        );
        let since = now.plus_millis(-30 * 24 * 3_600_000);
        let rows = sqlx::query(&sql)
            .bind(since.0)
            .fetch_all(&mut *conn)
            .await?;
        let mut first_response = Vec::with_capacity(rows.len());
        for r in &rows {
            let counts = (0..FIRST_RESPONSE_BUCKETS.len())
                .map(|i| r.try_get::<i64, _>(format!("b{i}").as_str()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            first_response.push((
                r.try_get("name")?,
                counts,
                r.try_get("n")?,
                r.try_get("total")?,
            ));
        }
        Ok(ServiceFigures {
            overdue,
            first_response,
        })
    }
}

/// E-mail addresses by person: everybody's, or only those of `people`.
async fn addresses(
    conn: &mut AnyConnection,
    people: Option<&[PersonId]>,
) -> Result<HashMap<PersonId, Vec<String>>> {
    let only = match people {
        None => String::new(),
        Some([]) => return Ok(HashMap::new()),
        // ids are numbers: written into the statement.
        Some(ids) => {
            let list: Vec<String> = ids.iter().map(|p| p.0.to_string()).collect();
            format!(" and person_id in ({})", list.join(","))
        }
    };
    let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
        "select person_id, external_id from identities where platform = 'email'{only} \
         order by person_id, external_id"
    ))
    .persistent(people.is_none())
    .fetch_all(&mut *conn)
    .await?;
    let mut out: HashMap<PersonId, Vec<String>> = HashMap::new();
    for (person, address) in rows {
        out.entry(PersonId(person)).or_default().push(address);
    }
    Ok(out)
}

/// `text` for a `like` pattern with `\` as its escape: `%`, `_` and `\`
/// stand for themselves.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

async fn list_people(conn: &mut AnyConnection) -> Result<Vec<Person>> {
    let found = sqlx::query(
        "select id, display_name, org_id, is_staff, is_company_admin from people order by display_name, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    found.iter().map(rows::person).collect()
}
