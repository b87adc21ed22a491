//! Rows to domain types, in one place for every query.

use crate::domain::access::ActorFacts;
use crate::domain::*;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

/// The ticket columns every ticket query selects, from alias `t`.
pub(crate) const TICKET_COLUMNS: &str =
    "t.id, t.number, t.subject, t.department_id, t.requester_id, \
     t.org_id, t.status, t.created_at, t.last_activity_at, t.closed_at, t.owner_id, \
     t.waiting_since, t.first_response_at, t.due_at, t.auto_close_at, t.auto_close_stage, \
     t.auto_close_paused";

/// The message columns, from alias `m` joined with the author as `p`.
pub(crate) const MESSAGE_COLUMNS: &str =
    "m.id, m.ticket_id, m.author_id, p.display_name, m.author_role, \
     m.internal, m.body, m.revision, m.created_at, m.edited_at";

/// A person's columns, from alias `p`, as [`person`] reads them.
pub(crate) const PERSON_COLUMNS: &str =
    "p.id, p.display_name, p.org_id, p.is_staff, p.is_company_admin";

/// The acting person's columns, from alias `p`, as [`actor_columns`] reads
/// them beside a ticket's.
pub(crate) const ACTOR_COLUMNS: &str =
    "p.id as actor_id, p.display_name as actor_name, p.is_staff as actor_staff, \
     p.org_id as actor_org, p.is_company_admin as actor_admin";

/// The delegate columns, from alias `d` left-joined with the person as `p`.
pub(crate) const DELEGATE_COLUMNS: &str =
    "d.id, d.ticket_id, d.person_id, p.display_name, d.email, d.status, d.invited_by, d.updated_at";

fn parse<T: std::str::FromStr<Err = ParseError>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: ParseError| EngineError::Corrupt(e.to_string()))
}

fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

pub(crate) fn ticket(row: &AnyRow) -> Result<Ticket> {
    Ok(Ticket {
        id: TicketId(row.try_get("id")?),
        number: TicketNumber(row.try_get("number")?),
        subject: row.try_get("subject")?,
        department_id: row
            .try_get::<Option<i64>, _>("department_id")?
            .map(DepartmentId),
        requester_id: PersonId(row.try_get("requester_id")?),
        org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        status: parse(row.try_get::<&str, _>("status")?)?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_activity_at: Timestamp(row.try_get("last_activity_at")?),
        closed_at: row.try_get::<Option<i64>, _>("closed_at")?.map(Timestamp),
        owner_id: row.try_get::<Option<i64>, _>("owner_id")?.map(PersonId),
        waiting_since: row
            .try_get::<Option<i64>, _>("waiting_since")?
            .map(Timestamp),
        first_response_at: row
            .try_get::<Option<i64>, _>("first_response_at")?
            .map(Timestamp),
        due_at: row.try_get::<Option<i64>, _>("due_at")?.map(Timestamp),
        auto_close_at: row
            .try_get::<Option<i64>, _>("auto_close_at")?
            .map(Timestamp),
        reminded: row.try_get::<i64, _>("auto_close_stage")? == 1,
        auto_close_paused: flag(row, "auto_close_paused")?,
    })
}

pub(crate) fn delegation(row: &AnyRow) -> Result<Option<DelegateStatus>> {
    row.try_get::<Option<&str>, _>("delegation")?
        .map(parse)
        .transpose()
}

pub(crate) fn actor(row: &AnyRow) -> Result<ActorFacts> {
    Ok(ActorFacts {
        id: PersonId(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        is_staff: flag(row, "is_staff")?,
        org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        is_company_admin: flag(row, "is_company_admin")?,
    })
}

/// The acting person's columns of [`crate::engine::Engine::lock_ticket`]'s row.
pub(crate) fn actor_columns(row: &AnyRow) -> Result<ActorFacts> {
    Ok(ActorFacts {
        id: PersonId(row.try_get("actor_id")?),
        display_name: row.try_get("actor_name")?,
        is_staff: flag(row, "actor_staff")?,
        org_id: row.try_get::<Option<i64>, _>("actor_org")?.map(OrgId),
        is_company_admin: flag(row, "actor_admin")?,
    })
}

pub(crate) fn person(row: &AnyRow) -> Result<Person> {
    Ok(Person {
        id: PersonId(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        is_staff: flag(row, "is_staff")?,
        is_company_admin: flag(row, "is_company_admin")?,
    })
}

pub(crate) fn message(row: &AnyRow) -> Result<Message> {
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        author_id: PersonId(row.try_get("author_id")?),
        author_name: row.try_get("display_name")?,
        author_role: row.try_get("author_role")?,
        internal: flag(row, "internal")?,
        body: row.try_get("body")?,
        revision: row.try_get("revision")?,
        created_at: Timestamp(row.try_get("created_at")?),
        edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp),
        attachments: Vec::new(),
    })
}

pub(crate) fn attachment(row: &AnyRow) -> Result<(MessageId, Attachment)> {
    Ok((
        MessageId(row.try_get("message_id")?),
        Attachment {
            id: AttachmentId(row.try_get("id")?),
            name: row.try_get("name")?,
            content_type: row.try_get("content_type")?,
            size_bytes: u64::try_from(row.try_get::<i64, _>("size_bytes")?).unwrap_or(0),
            url: row.try_get("url")?,
        },
    ))
}

pub(crate) fn delegate(row: &AnyRow) -> Result<Delegate> {
    Ok(Delegate {
        id: DelegateId(row.try_get("id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        person_id: row.try_get::<Option<i64>, _>("person_id")?.map(PersonId),
        person_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        status: parse(row.try_get::<&str, _>("status")?)?,
        invited_by: PersonId(row.try_get("invited_by")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

pub(crate) fn department(row: &AnyRow) -> Result<Department> {
    Ok(Department {
        id: DepartmentId(row.try_get("id")?),
        name: row.try_get("name")?,
        active: flag(row, "active")?,
    })
}
