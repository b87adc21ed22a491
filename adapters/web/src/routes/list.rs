//! The ticket list, opening a ticket, and invitations.

use super::{form_id, page, present, see_other, Frame};
use crate::error::{engine_status, WebError};
use crate::session::{Me, SignedForm};
use crate::views::{self, ListPage, NewTicketForm};
use crate::{forms, Portal};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use threadesk_core::domain::{Cursor, PageRequest, View};
use threadesk_core::engine::{NewTicket, SortBy};
use threadesk_core::{DelegateId, DepartmentId, EngineError, PersonId};

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    after: String,
    /// The order of "Owned by organization".
    #[serde(default)]
    sort: String,
}

pub(super) async fn tickets(
    State(portal): State<Portal>,
    me: Me,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let view: View = q
        .view
        .parse::<View>()
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let after = match present(&q.after) {
        Some(c) => Some(
            c.parse::<Cursor>()
                .map_err(|e| WebError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let req = PageRequest {
        view,
        after,
        limit: 25,
    };
    let org = q.scope == "org";
    let engine = portal.engine();
    let sort = super::staff::sort_of(&q.sort, SortBy::Activity.natural())?;
    let list = if org {
        engine.org_tickets_sorted(me.person.id, sort, req).await?
    } else {
        engine.my_tickets(me.person.id, req).await?
    };
    let (requesters, owners, departments) = if org {
        let requesters: Vec<PersonId> = list.items.iter().map(|i| i.ticket.requester_id).collect();
        let owners: Vec<PersonId> = list
            .items
            .iter()
            .filter_map(|i| i.ticket.owner_id)
            .collect();
        (
            engine.people_by_id(me.person.id, &requesters).await?,
            engine.owner_names(me.person.id, &owners).await?,
            engine.departments(true).await?,
        )
    } else {
        Default::default()
    };
    let frame = Frame::load(&portal, &me).await?;
    let can_org = me.person.is_company_admin && me.person.org_id.is_some();
    Ok(page(
        StatusCode::OK,
        views::ticket_list(ListPage {
            chrome: frame.chrome(&me),
            scope: if org { "org" } else { "mine" },
            view,
            page: list,
            can_org,
            sort,
            requesters: &requesters,
            owners: &owners,
            departments: &departments,
            show_owner: engine.settings().show_owner_to_customers,
        }),
    ))
}

pub(super) async fn new_form(State(portal): State<Portal>, me: Me) -> Result<Response, WebError> {
    let departments = portal.engine().departments(false).await?;
    let frame = Frame::load(&portal, &me).await?;
    Ok(page(
        StatusCode::OK,
        views::new_ticket(NewTicketForm {
            chrome: frame.chrome(&me),
            departments: &departments,
            subject: "",
            department: None,
            body: "",
            error: None,
        }),
    ))
}

/// The new-ticket form shown again, with the error and what was typed.
pub(super) async fn new_form_again(
    portal: &Portal,
    me: &Me,
    subject: &str,
    department: Option<DepartmentId>,
    body: &str,
    error: &EngineError,
) -> Result<Response, WebError> {
    if error.is_internal() {
        // logged where the error becomes a page; never shown.
        return Err(WebError::Internal(format!("{error:?}")));
    }
    let sentence = error.to_string();
    let again = NewFormAgain {
        subject,
        department,
        body,
        status: engine_status(error),
        sentence: &sentence,
    };
    new_form_with(portal, me, again).await
}

/// What the new-ticket form is shown again with.
pub(super) struct NewFormAgain<'a> {
    pub subject: &'a str,
    pub department: Option<DepartmentId>,
    pub body: &'a str,
    pub status: StatusCode,
    /// Why, in words.
    pub sentence: &'a str,
}

/// The new-ticket form shown again with a sentence and what was typed.
pub(super) async fn new_form_with(
    portal: &Portal,
    me: &Me,
    again: NewFormAgain<'_>,
) -> Result<Response, WebError> {
    let departments = portal.engine().departments(false).await?;
    let frame = Frame::load(portal, me).await?;
    Ok(page(
        again.status,
        views::new_ticket(NewTicketForm {
            chrome: frame.chrome(me),
            departments: &departments,
            subject: again.subject,
            department: again.department,
            body: again.body,
            error: Some(again.sentence.to_owned()),
        }),
    ))
}

pub(super) async fn open(
    State(portal): State<Portal>,
    me: Me,
    form: Multipart,
) -> Result<Response, WebError> {
    let form = forms::read(&portal, &me, form).await?;
    let me = me.with_request(form.text("request"));
    if let Err(e) = me
        .session
        .check_csrf(&portal.config().session_key, form.text("csrf"))
    {
        portal.blobs().forget(&form.links()).await;
        return Err(e);
    }
    let department = match form_id(form.text("department"), "department") {
        Ok(d) => d.map(DepartmentId),
        Err(e) => {
            portal.blobs().forget(&form.links()).await;
            return Err(e);
        }
    };
    if let Some(refused) = &form.refused {
        let again = NewFormAgain {
            subject: form.text("subject"),
            department,
            body: form.text("body"),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            sentence: refused,
        };
        return new_form_with(&portal, &me, again).await;
    }
    let input = NewTicket {
        subject: form.text("subject").to_owned(),
        department,
        body: form.text("body").to_owned(),
        attachments: form.files.clone(),
    };
    match portal.engine().open_ticket(&me.ctx(), input).await {
        Ok(opened) => {
            // a repeat replayed the first opening: its own files go.
            let unused = form.unused(&opened.message.attachments);
            portal.blobs().forget(&unused).await;
            Ok(see_other(&format!(
                "/tickets/{}?done=opened",
                opened.ticket.number.0
            )))
        }
        Err(e) => {
            portal.blobs().forget(&form.links()).await;
            new_form_again(
                &portal,
                &me,
                form.text("subject"),
                department,
                form.text("body"),
                &e,
            )
            .await
        }
    }
}

pub(super) async fn invitations(
    State(portal): State<Portal>,
    me: Me,
) -> Result<Response, WebError> {
    let list = portal.engine().my_invitations(me.person.id).await?;
    let frame = Frame::load(&portal, &me).await?;
    Ok(page(
        StatusCode::OK,
        views::invitations(frame.chrome(&me), &list),
    ))
}

/// A form with nothing but its token.
#[derive(Deserialize)]
pub(super) struct CsrfForm {}

pub(super) async fn accept(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, .. }: SignedForm<CsrfForm>,
) -> Result<Response, WebError> {
    let delegate = portal
        .engine()
        .accept_delegation(&me.ctx(), DelegateId(id))
        .await?;
    let ticket = portal
        .engine()
        .ticket(me.person.id, delegate.ticket_id)
        .await?;
    Ok(see_other(&format!(
        "/tickets/{}?done=accepted",
        ticket.number.0
    )))
}

pub(super) async fn decline(
    State(portal): State<Portal>,
    Path(id): Path<i64>,
    SignedForm { me, .. }: SignedForm<CsrfForm>,
) -> Result<Response, WebError> {
    portal
        .engine()
        .decline_delegation(&me.ctx(), DelegateId(id))
        .await?;
    Ok(see_other("/invitations"))
}
