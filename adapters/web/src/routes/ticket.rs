//! One ticket: the page, and every change made from it.

use super::list::{new_form_again, NewFormAgain};
use super::{form_id, page, present, see_other, Frame};
use crate::error::{engine_status, WebError};
use crate::session::{Me, SignedForm};
use crate::views::{self, TicketPage};
use crate::{forms, Portal};
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use threadesk_core::blobs;
use threadesk_core::domain::{Status, Ticket, TicketPage as PageRead};
use threadesk_core::engine::{Invitee, NewMessage};
use threadesk_core::{DelegateId, EngineError, MessageId, PersonId, TicketNumber};

/// Finds a ticket by the number in the URL; junk and tickets the person may
/// not see are both "not found".
pub(super) async fn find(portal: &Portal, me: &Me, number: &str) -> Result<Ticket, WebError> {
    Ok(portal
        .engine()
        .ticket_by_number(me.person.id, ticket_number(number)?)
        .await?)
}

/// The ticket number in a URL; junk is "not found".
fn ticket_number(number: &str) -> Result<TicketNumber, WebError> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| WebError::Engine(EngineError::NotFound("ticket")))?;
    Ok(TicketNumber(n))
}

/// What a confirmation says, by the `done` query value (never echoed).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "opened" => "Your ticket is open. We will answer here; you can add to it below.",
        "replied" => "Reply sent.",
        "noted" => "Internal note added (staff only).",
        // a closed ticket's page says so itself: one notice, not two.
        "closed" => return None,
        "subject" => "Subject saved.",
        "edited" => "Message saved; the earlier text is kept in its history.",
        "status" => "Status set.",
        "auto-close" => "Automatic closing changed.",
        "owner" => "Owner saved.",
        "moved" => "Moved to the department shown.",
        "invited" => "Invitation sent.",
        "invited-nomail" => "Invitation recorded. E-mail is off here, so no mail was sent: they find it in their chat app if they use one, or under Invitations once they sign in to the portal.",
        "revoked" => "Access revoked.",
        "accepted" => "You now follow this ticket.",
        "admin" => "Company ticket admin updated.",
        "rated" => "Thank you for rating the help you got.",
        "rating-changed" => "Your rating is changed.",
        _ => return None,
    })
}

/// What a re-rendered page keeps of the person's typing.
#[derive(Default)]
pub(super) struct Drafts<'a> {
    /// Back in the reply box.
    pub reply: &'a str,
    /// Shown read-only beside the error (e.g. a refused edit).
    pub unsaved: Option<&'a str>,
    /// A refusal of the portal's own (files too large, no score chosen),
    /// with its status, in words.
    pub refused: Option<(StatusCode, &'a str)>,
    /// Back in the rating form.
    pub rating: views::RatingDraft<'a>,
    /// Which page of the conversation: the messages before this one (the
    /// latest page without it).
    pub before: Option<threadesk_core::MessageId>,
}

/// Renders the ticket page, with an error (and the person's drafts) when a
/// change was refused.
pub(super) async fn render(
    portal: &Portal,
    me: &Me,
    ticket: &Ticket,
    error: Option<&EngineError>,
    notice: Option<&str>,
    drafts: Drafts<'_>,
) -> Result<Response, WebError> {
    if let Some(e) = error.filter(|e| e.is_internal()) {
        // logged where the error becomes a page; never shown.
        return Err(WebError::Internal(format!("{e:?}")));
    }
    // a page of the conversation: its cost does not grow with the ticket.
    let page = portal
        .engine()
        .ticket_page_of(me.person.id, ticket.id, drafts.before)
        .await?;
    render_page(portal, me, page, error, notice, drafts).await
}

/// [`render`] of a page already read (`error` is not an internal one).
async fn render_page(
    portal: &Portal,
    me: &Me,
    read: PageRead,
    error: Option<&EngineError>,
    notice: Option<&str>,
    drafts: Drafts<'_>,
) -> Result<Response, WebError> {
    let engine = portal.engine();
    let PageRead { thread, delegates } = read;
    let ticket = &thread.ticket;
    // staff move tickets between them; others see the ticket's own.
    let departments = if me.person.is_staff || thread.ticket.department_id.is_some() {
        engine.departments(true).await?
    } else {
        Vec::new()
    };
    let department = thread
        .ticket
        .department_id
        .and_then(|id| departments.iter().find(|d| d.id == id));
    // staff: whom they may pick (never the whole directory: a page costs
    // the same however many people there are), the team, the requester.
    let (requester, choices, team, mail_failures, saved) = if me.person.is_staff {
        let choices = engine.invite_choices(me.person.id, ticket.id).await?;
        let team = engine.staff_members(me.person.id).await?;
        let requester = engine.person_alone(thread.ticket.requester_id).await?;
        let failures = engine.mail_failures(me.person.id, ticket.id).await?;
        let saved = engine.saved_replies_for(me.person.id, ticket.id).await?;
        (Some(requester), choices, team, failures, saved)
    } else {
        (None, Vec::new(), Vec::new(), Vec::new(), Vec::new())
    };
    // an owner who left the team is still named.
    let owner = match thread.ticket.owner_id {
        Some(o) if me.person.is_staff => match team.iter().find(|p| p.id == o) {
            Some(p) => Some(p.clone()),
            None => Some(engine.person_alone(o).await?),
        },
        _ => None,
    };
    // who handles it, for customers when the deployment shows it.
    let handled_by = if me.person.is_staff || !engine.settings().show_owner_to_customers {
        None
    } else {
        engine.system().card_facts(ticket.id).await?.handled_by
    };
    // ratings exist on closed tickets only (closed is final).
    let (rating, may_rate) = if thread.ticket.status.is_closed() {
        (
            engine.rating(me.person.id, ticket.id).await?,
            engine.may_rate(me.person.id, ticket.id).await?,
        )
    } else {
        (None, false)
    };
    let mut revisions = std::collections::HashMap::new();
    for m in thread.messages.iter().filter(|m| m.edited_at.is_some()) {
        revisions.insert(m.id, engine.message_revisions(me.person.id, m.id).await?);
    }
    let frame = Frame::load(portal, me).await?;
    let (status, error) = match (error, drafts.refused) {
        (Some(e), _) => (engine_status(e), Some(e.to_string())),
        (None, Some((status, why))) => (status, Some(why.to_owned())),
        (None, None) => (StatusCode::OK, None),
    };
    Ok(page(
        status,
        views::ticket_page(TicketPage {
            chrome: frame.chrome(me),
            thread: &thread,
            department,
            departments: &departments,
            delegates: delegates.as_deref(),
            requester: requester.as_ref(),
            invite_choices: &choices,
            team: &team,
            owner: owner.as_ref(),
            handled_by: handled_by.as_deref(),
            error,
            notice,
            draft: drafts.reply,
            unsaved: drafts.unsaved,
            revisions: &revisions,
            email_enabled: portal.config().email_enabled,
            mail_failures: &mail_failures,
            saved_replies: &saved,
            rating: rating.as_ref(),
            may_rate,
            rating_draft: drafts.rating,
            older_page: drafts.before.is_some(),
        }),
    ))
}

#[derive(Deserialize, Default)]
pub(super) struct ShowQuery {
    #[serde(default)]
    done: String,
    /// Staff: a saved reply to put in the reply box, filled in.
    #[serde(default)]
    saved: String,
    /// The conversation's page: the messages before this id.
    #[serde(default)]
    before: String,
}

pub(super) async fn show(
    State(portal): State<Portal>,
    me: Me,
    Path(number): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, WebError> {
    let before = super::form_id(&q.before, "before")?.map(threadesk_core::MessageId);
    // the ticket, its rights check and its page: one read.
    let page = portal
        .engine()
        .ticket_page(me.person.id, ticket_number(&number)?, before)
        .await?;
    let inserted = match super::present(&q.saved) {
        Some(which) if me.person.is_staff => Some(
            portal
                .engine()
                .saved_reply_text(me.person.id, page.thread.ticket.id, which)
                .await?,
        ),
        _ => None,
    };
    render_page(
        &portal,
        &me,
        page,
        None,
        notice(&q.done),
        Drafts {
            reply: inserted.as_deref().unwrap_or_default(),
            before,
            ..Drafts::default()
        },
    )
    .await
}

/// After a change: back to the ticket with a confirmation, or the page
/// again with the refusal.
async fn after(
    portal: &Portal,
    me: &Me,
    ticket: &Ticket,
    outcome: Result<(), EngineError>,
    done: &str,
) -> Result<Response, WebError> {
    match outcome {
        Ok(()) => Ok(see_other(&format!(
            "/tickets/{}?done={done}",
            ticket.number.0
        ))),
        Err(e) => render(portal, me, ticket, Some(&e), None, Drafts::default()).await,
    }
}

pub(super) async fn reply(
    State(portal): State<Portal>,
    me: Me,
    Path(number): Path<String>,
    form: Multipart,
) -> Result<Response, WebError> {
    let form = forms::read(&portal, &me, form).await?;
    let me = me.with_request(form.text("request"));
    let checked = me
        .session
        .check_csrf(&portal.config().session_key, form.text("csrf"))
        .and_then(|()| ticket_number(&number));
    let number = match checked {
        Ok(n) => n,
        Err(e) => return not_posted(&portal, &me, &form, e).await,
    };
    if let Some(refused) = &form.refused {
        let ticket = match portal.engine().ticket_by_number(me.person.id, number).await {
            Ok(t) => t,
            Err(e) => return not_posted(&portal, &me, &form, e.into()).await,
        };
        let drafts = Drafts {
            reply: form.text("body"),
            refused: Some((StatusCode::PAYLOAD_TOO_LARGE, refused)),
            ..Drafts::default()
        };
        return render(&portal, &me, &ticket, None, None, drafts).await;
    }
    let internal = form.text("internal") == "1";
    let input = NewMessage {
        body: form.text("body").to_owned(),
        attachments: form.files.clone(),
    };
    // the post's own rights check finds the ticket: no read before it.
    let engine = portal.engine();
    let posted = if internal {
        engine.note_by_number(&me.ctx(), number, input).await
    } else {
        engine.reply_by_number(&me.ctx(), number, input).await
    };
    let e = match posted {
        Ok(p) => {
            // a repeat replayed the first post: its own files go.
            portal
                .blobs()
                .forget(&form.unused(&p.message.attachments))
                .await;
            return Ok(see_other(&format!(
                "/tickets/{}?done={}#m{}",
                p.ticket.number.0,
                if internal { "noted" } else { "replied" },
                p.message.id.0
            )));
        }
        Err(e @ EngineError::NotFound(_)) => {
            return not_posted(&portal, &me, &form, e.into()).await
        }
        Err(e) if e.is_internal() => {
            portal.blobs().forget(&form.links()).await;
            // logged where the error becomes a page; never shown.
            return Err(WebError::Internal(format!("{e:?}")));
        }
        Err(e) => e,
    };
    // refused: the ticket's page again, with what they wrote.
    let ticket = match engine.ticket_by_number(me.person.id, number).await {
        Ok(t) => t,
        Err(gone) => return not_posted(&portal, &me, &form, gone.into()).await,
    };
    portal.blobs().forget(&form.links()).await;
    if let EngineError::TicketClosed { unsent, .. } = &e {
        // closed is final: offer what they wrote as a new ticket.
        let subject = format!("Follow-up to {}", ticket.subject);
        let subject: String = subject.chars().take(200).collect();
        let body = unsent.as_deref().unwrap_or(form.text("body"));
        return new_form_again(&portal, &me, &subject, ticket.department_id, body, &e).await;
    }
    let drafts = Drafts {
        reply: form.text("body"),
        ..Drafts::default()
    };
    render(&portal, &me, &ticket, Some(&e), None, drafts).await
}

/// A reply that reached no ticket: its files go; what they wrote comes back
/// in a new ticket's form when the ticket is not (or no longer) theirs to
/// see, and other errors are answered as they are.
async fn not_posted(
    portal: &Portal,
    me: &Me,
    form: &forms::Submitted,
    e: WebError,
) -> Result<Response, WebError> {
    portal.blobs().forget(&form.links()).await;
    match e {
        WebError::Engine(EngineError::NotFound(_)) if !form.text("body").trim().is_empty() => {
            // gone, or access revoked while they wrote: keep the text.
            super::list::new_form_with(
                portal,
                me,
                NewFormAgain {
                    subject: "",
                    department: None,
                    body: form.text("body"),
                    status: StatusCode::NOT_FOUND,
                    sentence: "you can no longer reply to that ticket: it is not there, or your access to it was removed. What you wrote is below: send it as a new ticket, or copy it",
                },
            )
            .await
        }
        e => Err(e),
    }
}

/// A form with nothing but its token.
#[derive(Deserialize)]
pub(super) struct CsrfForm {}

pub(super) async fn close(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, .. }: SignedForm<CsrfForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let outcome = portal.engine().close(&me.ctx(), ticket.id).await.map(drop);
    after(&portal, &me, &ticket, outcome, "closed").await
}

#[derive(Deserialize)]
pub(super) struct SubjectForm {
    #[serde(default)]
    subject: String,
}

pub(super) async fn subject(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, form }: SignedForm<SubjectForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let outcome = portal
        .engine()
        .edit_subject(&me.ctx(), ticket.id, &form.subject)
        .await
        .map(drop);
    after(&portal, &me, &ticket, outcome, "subject").await
}

#[derive(Deserialize)]
pub(super) struct DepartmentForm {
    /// A department's id; empty: none.
    #[serde(default)]
    department: String,
}

/// Moves a ticket to another department (staff).
pub(super) async fn department(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, form }: SignedForm<DepartmentForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let to = super::form_id(&form.department, "department")?.map(threadesk_core::DepartmentId);
    let outcome = portal
        .engine()
        .move_to_department(&me.ctx(), ticket.id, to)
        .await
        .map(drop);
    after(&portal, &me, &ticket, outcome, "moved").await
}

#[derive(Deserialize)]
pub(super) struct OwnerForm {
    /// `me` (claim), a member of staff's id, or empty (nobody).
    #[serde(default)]
    owner: String,
}

/// Claims, assigns or unassigns a ticket (staff).
pub(super) async fn owner(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, form }: SignedForm<OwnerForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let to = match form.owner.trim() {
        "" => None,
        "me" => Some(me.person.id),
        id => Some(threadesk_core::PersonId(
            super::form_id(id, "owner")?.ok_or_else(|| WebError::BadRequest("owner".into()))?,
        )),
    };
    let outcome = portal
        .engine()
        .assign(&me.ctx(), ticket.id, to)
        .await
        .map(drop);
    after(&portal, &me, &ticket, outcome, "owner").await
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    status: String,
}

pub(super) async fn status(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, form }: SignedForm<StatusForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let status: Status = form
        .status
        .parse::<Status>()
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let outcome = portal
        .engine()
        .set_status(&me.ctx(), ticket.id, status)
        .await
        .map(drop);
    after(&portal, &me, &ticket, outcome, "status").await
}

#[derive(Deserialize)]
pub(super) struct AutoCloseForm {
    #[serde(default)]
    paused: String,
}

/// Pauses or resumes automatic closing of a ticket (staff).
pub(super) async fn auto_close(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, form }: SignedForm<AutoCloseForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let paused = match form.paused.trim() {
        "1" => true,
        "0" => false,
        _ => return Err(WebError::BadRequest("paused".into())),
    };
    let outcome = portal
        .engine()
        .pause_auto_close(&me.ctx(), ticket.id, paused)
        .await
        .map(drop);
    after(&portal, &me, &ticket, outcome, "auto-close").await
}

#[derive(Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    body: String,
}

pub(super) async fn edit_message(
    State(portal): State<Portal>,
    Path((number, id)): Path<(String, i64)>,
    SignedForm { me, form }: SignedForm<EditForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let edited = portal
        .engine()
        .edit_message(&me.ctx(), MessageId(id), &form.body)
        .await;
    match edited {
        // the message must belong to the ticket in the URL.
        Ok(m) if m.ticket_id == ticket.id => Ok(see_other(&format!(
            "/tickets/{}?done=edited#m{}",
            ticket.number.0, m.id.0
        ))),
        Ok(m) => {
            let ticket = portal.engine().ticket(me.person.id, m.ticket_id).await?;
            Ok(see_other(&format!(
                "/tickets/{}?done=edited#m{}",
                ticket.number.0, m.id.0
            )))
        }
        Err(e) => {
            // what they typed is shown back, not lost.
            let drafts = Drafts {
                unsaved: Some(&form.body),
                ..Drafts::default()
            };
            render(&portal, &me, &ticket, Some(&e), None, drafts).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    person: String,
}

pub(super) async fn invite(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    SignedForm { me, form }: SignedForm<InviteForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let invitee = match (present(&form.email), form_id(&form.person, "person")?) {
        (Some(email), _) => Invitee::Email(email.to_owned()),
        (None, Some(id)) => Invitee::Person(PersonId(id)),
        (None, None) => {
            let e = EngineError::Conflict(
                "enter an e-mail address or choose a person to invite".into(),
            );
            return render(&portal, &me, &ticket, Some(&e), None, Drafts::default()).await;
        }
    };
    let outcome = portal
        .engine()
        .invite_delegate(&me.ctx(), ticket.id, invitee)
        .await
        .map(drop);
    // say what happened: with e-mail off, nothing was mailed.
    let done = if portal.config().email_enabled {
        "invited"
    } else {
        "invited-nomail"
    };
    after(&portal, &me, &ticket, outcome, done).await
}

pub(super) async fn revoke(
    State(portal): State<Portal>,
    Path((number, id)): Path<(String, i64)>,
    SignedForm { me, .. }: SignedForm<CsrfForm>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    let outcome = portal
        .engine()
        .revoke_delegate_of(&me.ctx(), ticket.id, DelegateId(id))
        .await
        .map(drop);
    after(&portal, &me, &ticket, outcome, "revoked").await
}

/// Media types a browser may be told as they are; anything else is sent
/// as opaque bytes. Every file is a download, never rendered in the page.
fn safe_content_type(declared: &str) -> &'static str {
    match declared.trim().to_ascii_lowercase().as_str() {
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "image/gif" => "image/gif",
        "image/webp" => "image/webp",
        "application/pdf" => "application/pdf",
        "text/plain" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `attachment; filename="…"; filename*=UTF-8''…` with the name made safe.
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._-()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[derive(Deserialize, Default)]
pub(super) struct FileQuery {
    /// `inline`: shown in the page (images only); otherwise a download.
    #[serde(default)]
    view: String,
}

/// The image type the first bytes of a file show, if they show a raster
/// image a browser may draw: the declared type is never trusted for that
/// (an SVG or HTML file named `.png` stays a download).
fn sniffed_image(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

pub(super) async fn file(
    State(portal): State<Portal>,
    me: Me,
    Path((number, id)): Path<(String, i64)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, WebError> {
    let ticket = find(&portal, &me, &number).await?;
    // what this person may see: notes' files only for staff.
    let attachment = &portal
        .engine()
        .attachment(me.person.id, ticket.id, threadesk_core::AttachmentId(id))
        .await?;
    let Some(path) = portal.blobs().path_of(&attachment.url) else {
        // a file that lives on a chat platform: send the person there.
        return if attachment.url.starts_with("https://")
            && !attachment.url.starts_with(blobs::SCHEME)
        {
            Ok(see_other(&attachment.url))
        } else {
            Err(WebError::Engine(EngineError::NotFound("file")))
        };
    };
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| WebError::Engine(EngineError::NotFound("file")))?;
    let mut content_type = safe_content_type(&attachment.content_type);
    let mut disposition = disposition(&attachment.name);
    if content_type.starts_with("image/") {
        // a picture is served as what its bytes are, or as bytes.
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut head = [0u8; 12];
        let n = file.read(&mut head).await.unwrap_or(0);
        file.seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(|e| WebError::Internal(format!("attachment: {e}")))?;
        match sniffed_image(&head[..n]) {
            Some(image) => {
                content_type = image;
                if q.view == "inline" {
                    disposition = disposition.replacen("attachment", "inline", 1);
                }
            }
            None => content_type = "application/octet-stream",
        }
    }
    let stream = tokio_util_stream(file);
    Ok((
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (CONTENT_DISPOSITION, disposition),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct TranscriptQuery {
    /// `html` (the default) or `text`.
    #[serde(default)]
    format: String,
    /// `full` (staff: with internal notes) or `public` (the default).
    #[serde(default)]
    kind: String,
}

/// A ticket's transcript as a download, written as it is read: memory
/// does not grow with the ticket.
pub(super) async fn transcript(
    State(portal): State<Portal>,
    me: Me,
    Path(number): Path<String>,
    Query(q): Query<TranscriptQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    use threadesk_core::engine::{TranscriptFormat, TranscriptKind};
    let format = match q.format.as_str() {
        "" | "html" => TranscriptFormat::Html,
        "text" | "txt" => TranscriptFormat::Text,
        other => {
            return Err(WebError::BadRequest(format!(
                "unknown transcript format {other:?}; use html or text"
            )))
        }
    };
    let kind = match q.kind.as_str() {
        "" | "public" => TranscriptKind::Public,
        "full" => TranscriptKind::Full,
        other => {
            return Err(WebError::BadRequest(format!(
                "unknown transcript {other:?}; use public or full"
            )))
        }
    };
    let ticket = find(&portal, &me, &number).await?;
    // links in the file lead back here, so they must be absolute.
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if portal.config().secure_cookies {
        "https"
    } else {
        "http"
    };
    let transcript = portal
        .engine()
        .transcript(
            me.person.id,
            ticket.id,
            kind,
            format,
            &format!("{scheme}://{host}"),
        )
        .await?;
    let name = transcript.file_name();
    let stream = futures_util::stream::unfold(Some(transcript), |state| async move {
        let mut t = state?;
        match t.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk.into_bytes()), Some(t))),
            Ok(None) => None,
            Err(e) => {
                // the download ends short; the person sees it did not finish.
                tracing::error!(error = %e, "transcript stopped");
                Some((Err(std::io::Error::other("transcript stopped")), None))
            }
        }
    });
    Ok((
        [
            (CONTENT_TYPE, format.content_type().to_owned()),
            (CONTENT_DISPOSITION, disposition(&name)),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A file as a stream of chunks, without loading it whole.
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_never_run_in_the_page() {
        assert_eq!(safe_content_type("text/html"), "application/octet-stream");
        assert_eq!(
            safe_content_type("image/svg+xml"),
            "application/octet-stream"
        );
        assert_eq!(safe_content_type("IMAGE/PNG"), "image/png");
        let d = disposition("report \"final\".pdf");
        assert!(
            d.starts_with("attachment; filename=\"report _final_.pdf\""),
            "{d}"
        );
        assert!(!d.contains('\n'));
    }
}
