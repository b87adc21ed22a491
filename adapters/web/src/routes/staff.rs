//! Staff pages: the queue; people, organizations and departments.

use super::{form_id, page, present, see_other, Frame};
use crate::error::WebError;
use crate::session::{Me, SignedForm};
use crate::views::{self, QueuePage};
use crate::Portal;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use threadesk_core::domain::{Cursor, PageRequest, Status, View};
use threadesk_core::engine::{OwnerFilter, QueueFilter, Sort};
use threadesk_core::{DepartmentId, EngineError, OrgId, PersonId, TicketId};

#[derive(Deserialize, Default)]
pub(super) struct QueueQuery {
    #[serde(default)]
    department: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
    /// `mine`, `unassigned` or a person's id; empty: anybody's.
    #[serde(default)]
    owner: String,
    /// The order: a column's name, `-` first for descending.
    #[serde(default)]
    sort: String,
}

/// The order a list link asks for (the given default when none).
pub(super) fn sort_of(text: &str, default: Sort) -> Result<Sort, WebError> {
    match present(text) {
        None => Ok(default),
        Some(s) => s
            .parse::<Sort>()
            .map_err(|e| WebError::BadRequest(e.to_string())),
    }
}

pub(super) async fn queue(
    State(portal): State<Portal>,
    me: Me,
    Query(q): Query<QueueQuery>,
) -> Result<Response, WebError> {
    let department = form_id(&q.department, "department")?.map(DepartmentId);
    let status = match present(&q.status) {
        Some(s) => Some(
            s.parse::<Status>()
                .map_err(|e| WebError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let after = match present(&q.after) {
        Some(c) => Some(
            c.parse::<Cursor>()
                .map_err(|e| WebError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let owner = match present(&q.owner) {
        None => None,
        Some("mine") => Some(OwnerFilter::Mine),
        Some("unassigned") => Some(OwnerFilter::Unassigned),
        Some(id) => Some(OwnerFilter::Person(PersonId(
            form_id(id, "owner")?.ok_or_else(|| WebError::BadRequest("owner".into()))?,
        ))),
    };
    let sort = sort_of(&q.sort, Sort::default())?;
    let view = if status == Some(Status::Closed) {
        View::Closed
    } else {
        View::Active
    };
    let engine = portal.engine();
    let list = engine
        .staff_queue(
            me.person.id,
            QueueFilter {
                department,
                status,
                owner,
                sort,
            },
            PageRequest {
                view,
                after,
                limit: 25,
            },
        )
        .await?;
    let departments = engine.departments(true).await?;
    let staff = engine.staff_members(me.person.id).await?;
    let requesters: Vec<PersonId> = list.items.iter().map(|i| i.ticket.requester_id).collect();
    let requesters = engine.people_by_id(me.person.id, &requesters).await?;
    let organizations = engine.organizations().await?;
    // one query for the page's closed tickets (only they are rated).
    let closed: Vec<TicketId> = list
        .items
        .iter()
        .filter(|i| i.ticket.status.is_closed())
        .map(|i| i.ticket.id)
        .collect();
    let ratings = engine.ratings_of(me.person.id, &closed).await?;
    let frame = Frame::load(&portal, &me).await?;
    let filter_query = format!(
        "department={}&status={}&owner={}",
        department.map(|d| d.0.to_string()).unwrap_or_default(),
        status.map(|s| s.as_str()).unwrap_or_default(),
        present(&q.owner).unwrap_or_default()
    );
    Ok(page(
        StatusCode::OK,
        views::queue_page(QueuePage {
            chrome: frame.chrome(&me),
            departments: &departments,
            department,
            status,
            owner,
            staff: &staff,
            requesters: &requesters,
            organizations: &organizations,
            ratings: (view == View::Closed || !ratings.is_empty()).then_some(&ratings),
            page: list,
            filter_query,
            sort,
        }),
    ))
}

#[derive(Deserialize, Default)]
pub(super) struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The people page's query: what was done, what to find, from where.
#[derive(Deserialize, Default)]
pub(super) struct PeopleQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    find: String,
    #[serde(default)]
    from: String,
}

pub(super) async fn people(
    State(portal): State<Portal>,
    me: Me,
    Query(q): Query<PeopleQuery>,
) -> Result<Response, WebError> {
    let engine = portal.engine();
    let from = match present(&q.from) {
        None => 0,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| WebError::BadRequest("from: not a number".into()))?,
    };
    let find = q.find.trim();
    let found = engine.people_page(me.person.id, find, from).await?;
    let orgs = engine.organizations().await?;
    let departments = engine.departments(true).await?;
    let frame = Frame::load(&portal, &me).await?;
    let notice = (q.done == "saved").then_some("Saved.");
    Ok(page(
        StatusCode::OK,
        views::people_page(views::PeoplePageView {
            chrome: frame.chrome(&me),
            found: &found,
            find,
            from,
            orgs: &orgs,
            departments: &departments,
            notice,
        }),
    ))
}

#[derive(Deserialize)]
pub(super) struct FlagForm {
    #[serde(default)]
    admin: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    back: String,
}

/// Where to go after a change: a portal path given by the form, or the
/// people page (never another site).
fn back_to(back: &str, done: &str) -> String {
    let safe = back.starts_with('/') && !back.starts_with("//") && !back.contains(['\\', '?', '#']);
    let path = if safe { back } else { "/staff/people" };
    let done = if path.starts_with("/tickets/") {
        done
    } else {
        "saved"
    };
    format!("{path}?done={done}")
}

pub(super) async fn company_admin(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, form }: SignedForm<FlagForm>,
) -> Result<Response, WebError> {
    let engine = portal.engine();
    if form.admin == "1" {
        engine.grant_company_admin(&me.ctx(), PersonId(id)).await?;
    } else {
        engine.revoke_company_admin(&me.ctx(), PersonId(id)).await?;
    }
    Ok(see_other(&back_to(&form.back, "admin")))
}

pub(super) async fn set_staff(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, form }: SignedForm<FlagForm>,
) -> Result<Response, WebError> {
    portal
        .engine()
        .set_staff(&me.ctx(), PersonId(id), form.staff == "1")
        .await?;
    Ok(see_other(&back_to(&form.back, "saved")))
}

#[derive(Deserialize)]
pub(super) struct OrgForm {
    #[serde(default)]
    org: String,
}

pub(super) async fn organization(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, form }: SignedForm<OrgForm>,
) -> Result<Response, WebError> {
    let org = form_id(&form.org, "organization")?.map(OrgId);
    portal
        .engine()
        .set_organization(&me.ctx(), PersonId(id), org)
        .await?;
    Ok(see_other("/staff/people?done=saved"))
}

#[derive(Deserialize)]
pub(super) struct NameForm {
    #[serde(default)]
    name: String,
}

pub(super) async fn create_organization(
    State(portal): State<Portal>,
    SignedForm { me, form }: SignedForm<NameForm>,
) -> Result<Response, WebError> {
    portal
        .engine()
        .create_organization(&me.ctx(), &form.name)
        .await?;
    Ok(see_other("/staff/people?done=saved"))
}

pub(super) async fn create_department(
    State(portal): State<Portal>,
    SignedForm { me, form }: SignedForm<NameForm>,
) -> Result<Response, WebError> {
    portal
        .engine()
        .create_department(&me.ctx(), &form.name)
        .await?;
    Ok(see_other("/staff/people?done=saved"))
}

pub(super) async fn rename_department(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, form }: SignedForm<NameForm>,
) -> Result<Response, WebError> {
    portal
        .engine()
        .rename_department(&me.ctx(), DepartmentId(id), &form.name)
        .await?;
    Ok(see_other("/staff/people?done=saved"))
}

pub(super) async fn department_active(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, form }: SignedForm<FlagForm>,
) -> Result<Response, WebError> {
    let outcome = portal
        .engine()
        .set_department_active(&me.ctx(), DepartmentId(id), form.active == "1")
        .await;
    match outcome {
        Ok(_) => Ok(see_other("/staff/people?done=saved")),
        Err(EngineError::SameStatus(_)) => Ok(see_other("/staff/people")),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_the_portal() {
        assert_eq!(
            back_to("/tickets/1001", "admin"),
            "/tickets/1001?done=admin"
        );
        assert_eq!(
            back_to("//evil.example", "admin"),
            "/staff/people?done=saved"
        );
        assert_eq!(
            back_to("https://evil.example", "admin"),
            "/staff/people?done=saved"
        );
        assert_eq!(back_to("", "admin"), "/staff/people?done=saved");
    }
}

#[derive(Deserialize)]
pub(super) struct SavedReplyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    department: String,
}

/// What the saved replies page shows again after a refusal.
#[derive(Default)]
struct ReplyDraft<'a> {
    error: Option<String>,
    name: &'a str,
    body: &'a str,
}

async fn replies_page(
    portal: &Portal,
    me: &Me,
    notice: Option<&str>,
    draft: ReplyDraft<'_>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let engine = portal.engine();
    let replies = engine.saved_replies(me.person.id).await?;
    let departments = engine.departments(true).await?;
    let frame = Frame::load(portal, me).await?;
    Ok(page(
        status,
        views::saved_replies_page(views::SavedRepliesPage {
            chrome: frame.chrome(me),
            replies: &replies,
            departments: &departments,
            notice,
            error: draft.error.as_deref(),
            name: draft.name,
            body: draft.body,
        }),
    ))
}

pub(super) async fn saved_replies(
    State(portal): State<Portal>,
    me: Me,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = match q.done.as_str() {
        "saved" => Some("Saved reply kept."),
        "removed" => Some("Saved reply removed."),
        _ => None,
    };
    replies_page(&portal, &me, notice, ReplyDraft::default(), StatusCode::OK).await
}

pub(super) async fn save_saved_reply(
    State(portal): State<Portal>,
    SignedForm { me, form }: SignedForm<SavedReplyForm>,
) -> Result<Response, WebError> {
    let department = form_id(&form.department, "department")?.map(DepartmentId);
    match portal
        .engine()
        .save_reply(&me.ctx(), &form.name, &form.body, department)
        .await
    {
        Ok(_) => Ok(see_other("/staff/replies?done=saved")),
        Err(e) if !e.is_internal() && !matches!(e, EngineError::StaffOnly(_)) => {
            // the text comes back with the reason, never lost.
            let draft = ReplyDraft {
                error: Some(e.to_string()),
                name: &form.name,
                body: &form.body,
            };
            replies_page(&portal, &me, None, draft, crate::error::engine_status(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn remove_saved_reply(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, form: _ }: SignedForm<FlagForm>,
) -> Result<Response, WebError> {
    portal
        .engine()
        .remove_saved_reply(&me.ctx(), threadesk_core::SavedReplyId(id))
        .await?;
    Ok(see_other("/staff/replies?done=removed"))
}
