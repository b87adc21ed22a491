//! `/search`: words and filters over the tickets one may read.

use super::{form_id, page, present, see_other, Frame};
use crate::error::WebError;
use crate::session::Me;
use crate::views::{self, day_start, SearchPage};
use crate::Portal;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use threadesk_core::domain::{Cursor, Status, View};
use threadesk_core::engine::{OwnerFilter, SearchQuery, SearchResult};
use threadesk_core::{DepartmentId, OrgId, PersonId};

#[derive(Deserialize, Default)]
pub(super) struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    department: String,
    /// `mine`, `unassigned` or a person's id.
    #[serde(default)]
    owner: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    requester: String,
    /// `YYYY-MM-DD`: opened on or after that day.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`: opened on or before that day.
    #[serde(default)]
    to: String,
    #[serde(default)]
    after: String,
}

fn bad(what: &str, value: &str) -> WebError {
    WebError::BadRequest(format!("{value:?} is not a valid {what}"))
}

impl SearchParams {
    fn query(&self) -> Result<SearchQuery, WebError> {
        let date = |v: &str, what: &str| match present(v) {
            None => Ok(None),
            Some(v) => day_start(v).map(Some).ok_or_else(|| bad(what, v)),
        };
        Ok(SearchQuery {
            words: self.q.trim().to_owned(),
            view: match present(&self.view) {
                None => View::All,
                Some(v) => v.parse().map_err(|_| bad("view", v))?,
            },
            status: match present(&self.status) {
                None => None,
                Some(s) => Some(s.parse::<Status>().map_err(|_| bad("status", s))?),
            },
            department: form_id(&self.department, "department")?.map(DepartmentId),
            owner: match present(&self.owner) {
                None => None,
                Some("mine") => Some(OwnerFilter::Mine),
                Some("unassigned") => Some(OwnerFilter::Unassigned),
                Some(id) => Some(OwnerFilter::Person(PersonId(
                    id.parse().map_err(|_| bad("owner", id))?,
                ))),
            },
            organization: form_id(&self.org, "organization")?.map(OrgId),
            requester: form_id(&self.requester, "requester")?.map(PersonId),
            from: date(&self.from, "date")?,
            // through the end of that day.
            to: date(&self.to, "date")?.map(|t| t.plus_millis(86_400_000)),
        })
    }

    /// This search as a query string, without `after`.
    fn link(&self) -> String {
        [
            ("q", &self.q),
            ("view", &self.view),
            ("status", &self.status),
            ("department", &self.department),
            ("owner", &self.owner),
            ("org", &self.org),
            ("requester", &self.requester),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v.trim(), NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

pub(super) async fn search(
    State(portal): State<Portal>,
    me: Me,
    Query(params): Query<SearchParams>,
) -> Result<Response, WebError> {
    let query = params.query()?;
    let after = match present(&params.after) {
        Some(c) => Some(c.parse::<Cursor>().map_err(|_| bad("page", c))?),
        None => None,
    };
    let engine = portal.engine();
    let found = match engine.search(me.person.id, &query, after, 25).await? {
        SearchResult::Jump(t) => return Ok(see_other(&format!("/tickets/{}", t.number.0))),
        SearchResult::Hits(found) => found,
    };
    let (departments, staff, organizations) = if me.person.is_staff {
        (
            engine.departments(true).await?,
            engine.staff_members(me.person.id).await?,
            engine.organizations().await?,
        )
    } else {
        Default::default()
    };
    let frame = Frame::load(&portal, &me).await?;
    Ok(page(
        StatusCode::OK,
        views::search_page(SearchPage {
            chrome: frame.chrome(&me),
            query: &query,
            departments: &departments,
            staff: &staff,
            organizations: &organizations,
            page: found,
            filter_query: params.link(),
        }),
    ))
}
