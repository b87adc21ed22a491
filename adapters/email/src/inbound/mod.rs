//! `POST /email/inbound`: replies by e-mail.
//!
//! Takes a raw MIME message, as inbound-mail services deliver it: the body
//! itself (`message/rfc822`), or a `multipart/form-data` field (`email`,
//! `body-mime`, `message`, `mime` or `raw`) holding the full message. The
//! request is authenticated with `INBOUND_EMAIL_SECRET`: as the password of
//! HTTP Basic auth (the form most services offer in the webhook URL), as a
//! bearer token, or as an HMAC-SHA256 of the body in
//! `X-Threadesk-Signature: sha256=<hex>`.
//!
//! The signed token in the recipient address decides the ticket and the
//! person; the `From` address must be one of that person's addresses, or
//! the mail is refused (and logged for staff), never posted. Quoted history
//! and signatures are cut off. Automatic mail (auto-replies, bounces,
//! mailing lists) is never posted and never answered, so no mail loop can
//! start. A reply to a closed ticket gets one automatic answer saying so.

mod reading;

use reading::sender;
pub use reading::{automatic, strip_quoted};

use crate::mail::TicketMail;
use crate::token;
use crate::EmailAdapter;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use mail_parser::{Message, MessageParser, MimeHeaders};
use serde_json::json;
use sha2::Sha256;
use threadesk_core::domain::{AttachmentMeta, DelegateStatus, Platform, MAX_ATTACHMENTS};
use threadesk_core::engine::NewMessage;
use threadesk_core::links::PlatformRef;
use threadesk_core::{Ctx, EngineError, PersonId, TicketId};

/// The largest message taken (attachments included).
const MAX_MESSAGE_BYTES: usize = 25 << 20;

/// Form fields that carry the whole message, as common services name them.
const MESSAGE_FIELDS: [&str; 5] = ["email", "body-mime", "message", "mime", "raw"];

/// What became of an inbound mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted as a reply to the ticket.
    Posted {
        /// The ticket's number.
        number: String,
    },
    /// Automatic mail: neither posted nor answered.
    Ignored(String),
    /// Not posted: the reason (logged for staff).
    Refused(String),
    /// The ticket is closed; the sender was told (once).
    Closed {
        /// The ticket's number.
        number: String,
    },
}

/// The route, when an inbound secret is configured (none otherwise).
pub fn router(adapter: EmailAdapter) -> Router {
    if adapter.config().inbound_secret.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/email/inbound", post(inbound))
        .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES + (1 << 20)))
        .with_state(adapter)
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a request carries the inbound secret (or its signature).
pub fn authorized(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    use base64::Engine as _;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(sig) = header("x-threadesk-signature").and_then(|s| s.strip_prefix("sha256=")) {
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        m.update(body);
        return m.verify_slice(&sig).is_ok();
    }
    match header("authorization") {
        Some(a) if a.len() > 6 && a[..6].eq_ignore_ascii_case("basic ") => {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(a[6..].trim())
            else {
                return false;
            };
            let password = decoded.splitn(2, |b| *b == b':').nth(1).unwrap_or_default();
            constant_eq(password, secret)
        }
        Some(a) if a.len() > 7 && a[..7].eq_ignore_ascii_case("bearer ") => {
            constant_eq(a[7..].trim().as_bytes(), secret)
        }
        _ => false,
    }
}

/// The raw message of a request: the body, or the form field holding it.
async fn raw_message(headers: &HeaderMap, body: Bytes) -> Option<Vec<u8>> {
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ctype
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Some(body.to_vec());
    }
    let boundary = multer::parse_boundary(ctype).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_ascii_lowercase();
        if MESSAGE_FIELDS.contains(&name.as_str()) {
            return field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    None
}

async fn inbound(State(adapter): State<EmailAdapter>, headers: HeaderMap, body: Bytes) -> Response {
    let secret = adapter.config().inbound_secret.clone().unwrap_or_default();
    if !authorized(&secret, &headers, &body) {
        tracing::warn!("inbound mail refused: not authenticated");
        return (StatusCode::UNAUTHORIZED, "not authenticated").into_response();
    }
    let Some(raw) = raw_message(&headers, body).await else {
        return (
            StatusCode::BAD_REQUEST,
            "no message in the form (fields: email, body-mime, message, mime or raw)",
        )
            .into_response();
    };
    if raw.len() > MAX_MESSAGE_BYTES {
        return (StatusCode::PAYLOAD_TOO_LARGE, "message too large").into_response();
    }
    match adapter.receive(&raw).await {
        Ok(Outcome::Posted { number }) => {
            Json(json!({ "result": "posted", "ticket": number })).into_response()
        }
        Ok(Outcome::Closed { number }) => (
            StatusCode::ACCEPTED,
            Json(json!({ "result": "closed", "ticket": number })),
        )
            .into_response(),
        Ok(Outcome::Ignored(why)) => (
            StatusCode::ACCEPTED,
            Json(json!({ "result": "ignored", "reason": why })),
        )
            .into_response(),
        Ok(Outcome::Refused(why)) => (
            StatusCode::ACCEPTED,
            Json(json!({ "result": "refused", "reason": why })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "inbound mail not handled; the sender's service may retry");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}

impl EmailAdapter {
    /// Handles one inbound message.
    pub async fn receive(&self, raw: &[u8]) -> Result<Outcome, EngineError> {
        let Some(m) = MessageParser::default().parse(raw) else {
            return Ok(Outcome::Refused("not an e-mail message".into()));
        };
        if let Some(why) = automatic(&m) {
            tracing::info!(reason = why, "inbound automatic mail ignored");
            return Ok(Outcome::Ignored(why.to_owned()));
        }
        let Some((ticket, person)) = self.addressed_to(&m) else {
            tracing::warn!("inbound mail refused: no valid reply address");
            return Ok(Outcome::Refused("not sent to a valid reply address".into()));
        };
        let from = sender(&m);
        // an address with control characters (a NUL) is nobody's: refused
        // for good, before anything is stored.
        if threadesk_core::domain::Email::parse(&from).is_err() {
            tracing::warn!("inbound mail refused: the sender's address is not usable");
            return Ok(Outcome::Refused(
                "the sender's address is not usable".into(),
            ));
        }
        // the address of an invitation to somebody with no account yet
        // (person 0): whoever holds that invitation now.
        let person = if person == PersonId(0) {
            match self.engine().system().invitation_to(ticket, &from).await? {
                Some(i) if i.status == DelegateStatus::Accepted && i.person.is_some() => {
                    i.person.unwrap_or(person)
                }
                Some(i) if i.status == DelegateStatus::Invited => {
                    let body =
                        strip_quoted(&m.body_text(0).map(|t| t.into_owned()).unwrap_or_default());
                    self.answer_invitee(ticket, i.delegate, &from, &message_key(&m, raw), &body)
                        .await?;
                    return Ok(Outcome::Refused(
                        "the invitation is not accepted yet; the sender was told how to accept"
                            .into(),
                    ));
                }
                _ => return Ok(Outcome::Refused("unknown person".into())),
            }
        } else {
            person
        };
        let profile = match self.engine().person(person).await {
            Ok(p) => p,
            Err(EngineError::NotFound(_)) => return Ok(Outcome::Refused("unknown person".into())),
            Err(e) => return Err(e),
        };
        let theirs = profile
            .identities
            .iter()
            .any(|i| i.platform == Platform::Email && i.external_id.eq_ignore_ascii_case(&from));
        if !theirs {
            // staff see it on the ticket.
            self.engine()
                .record_mail_failure(
                    ticket,
                    &from,
                    "a reply by e-mail was refused: the sender does not own the reply address it was sent to",
                )
                .await?;
            tracing::warn!(ticket.id = %ticket, person.id = %person, "inbound mail refused: the sender does not own the reply address");
            return Ok(Outcome::Refused(
                "the sender is not the person this reply address belongs to".into(),
            ));
        }
        let mut body = strip_quoted(&m.body_text(0).map(|t| t.into_owned()).unwrap_or_default());
        let (files, left_out) = self.keep_attachments(&m).await;
        if !left_out.is_empty() {
            body.push_str(&format!("\n\n(Not kept: {}.)", left_out.join(", ")));
        }
        if body.trim().is_empty() && files.is_empty() {
            return Ok(Outcome::Refused(
                "the reply is empty once quoted text is removed".into(),
            ));
        }
        let links: Vec<String> = files.iter().map(|f| f.url.clone()).collect();
        let id = message_key(&m, raw);
        // the Message-ID is the sender's choice: the key is theirs and the ticket's.
        let ctx = Ctx::new(person).with_key(format!("email:{}:{}:{id}", ticket.0, person.0));
        let input = NewMessage {
            body: body.trim().to_owned(),
            attachments: files,
        };
        let outcome = self.engine().reply(&ctx, ticket, input).await;
        // files kept for nothing: the reply was refused, or this mail was
        // delivered again and the first delivery's files are the ones used.
        let unused: Vec<String> = match &outcome {
            Ok(posted) => links
                .iter()
                .filter(|l| !posted.message.attachments.iter().any(|a| &a.url == *l))
                .cloned()
                .collect(),
            Err(_) => links,
        };
        if let Some(store) = &self.inner.blobs {
            store.forget(&unused).await;
        }
        match outcome {
            Ok(posted) => {
                self.wake();
                Ok(Outcome::Posted {
                    number: posted.ticket.number.to_string(),
                })
            }
            Err(EngineError::TicketClosed { number, .. }) => {
                self.answer_closed(
                    ticket,
                    person,
                    &profile.person.display_name,
                    &from,
                    &number.to_string(),
                    &id,
                    &body,
                )
                .await?;
                Ok(Outcome::Closed {
                    number: number.to_string(),
                })
            }
            Err(
                e @ (EngineError::NotFound(_)
                | EngineError::NotAllowed(_)
                | EngineError::Invalid(_)),
            ) => {
                tracing::warn!(ticket.id = %ticket, error = %e, "inbound mail refused");
                Ok(Outcome::Refused(e.sentence()))
            }
            Err(e) => Err(e),
        }
    }

    /// Keeps a mail's attachments (at most [`MAX_ATTACHMENTS`], each within
    /// the engine's size limit); returns them and the names left out.
    async fn keep_attachments(&self, m: &Message<'_>) -> (Vec<AttachmentMeta>, Vec<String>) {
        let (mut kept, mut left_out) = (vec![], vec![]);
        let max = self.engine().settings().max_attachment_bytes;
        for (i, part) in m.attachments().enumerate() {
            let name: String = part
                .attachment_name()
                .unwrap_or("attachment")
                .chars()
                .map(|c| {
                    if c == '/' || c == '\\' || c.is_control() {
                        '_'
                    } else {
                        c
                    }
                })
                .take(200)
                .collect();
            let bytes = part.contents();
            let Some(store) = self
                .inner
                .blobs
                .as_ref()
                .filter(|_| i < MAX_ATTACHMENTS && bytes.len() as u64 <= max)
            else {
                left_out.push(name);
                continue;
            };
            let content_type = part
                .content_type()
                .map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{sub}", c.ctype()),
                    None => c.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let stored = async {
                let mut upload = store.create().await?;
                upload.write(bytes).await?;
                store.keep(upload).await
            };
            match stored.await {
                Ok(url) => kept.push(AttachmentMeta {
                    name,
                    content_type,
                    size_bytes: bytes.len() as u64,
                    url,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "e-mailed attachment not kept");
                    left_out.push(name);
                }
            }
        }
        (kept, left_out)
    }

    /// The ticket and person of the first valid reply address the mail was
    /// sent to.
    fn addressed_to(&self, m: &Message<'_>) -> Option<(TicketId, PersonId)> {
        let domain = &self.config().reply_domain;
        let mut candidates: Vec<String> = [m.to(), m.cc()]
            .into_iter()
            .flatten()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address().map(str::to_owned))
            .collect();
        for h in ["Delivered-To", "X-Original-To", "Envelope-To"] {
            if let Some(v) = m.header_raw(h) {
                candidates.push(v.trim().to_owned());
            }
        }
        candidates.iter().find_map(|a| {
            token::token_of_address(a, domain).and_then(|t| token::verify(&self.config().secret, t))
        })
    }

    /// Tells the sender, once per message, that the ticket is closed. The
    /// answer is marked as sent at an address of its own (so a mail
    /// delivered again, even after a restart, is not answered again); a
    /// failed send is an error, so the inbound service delivers it again.
    /// Tells an invitee who wrote back to the invitation mail before
    /// accepting how to accept (a fresh link), with what they wrote; once
    /// per mail.
    async fn answer_invitee(
        &self,
        ticket: TicketId,
        delegate: threadesk_core::DelegateId,
        to: &str,
        message_id: &str,
        body: &str,
    ) -> Result<(), EngineError> {
        let mark = answer_mark("invitee-answer", ticket, delegate.0, message_id);
        if self.engine().system().link_at(&mark).await?.is_some() {
            return Ok(());
        }
        let facts = self.engine().system().card_facts(ticket).await?;
        let number = facts.ticket.number.to_string();
        let token = self
            .engine()
            .issue_link_token(
                threadesk_core::engine::LinkPurpose::Accept(delegate),
                to,
                crate::outbound::INVITATION_TTL,
            )
            .await?;
        let mail = TicketMail {
            ticket,
            number: number.clone(),
            person: PersonId(0),
            to_name: to.to_owned(),
            to: to.to_owned(),
            subject: facts.ticket.subject,
            paragraphs: vec![format!(
                "You were invited to follow ticket {number}, but have not accepted yet, so your e-mail was not added to it. Accept with the link below (it signs you in; it works once, for 7 days), then write again. Here is what you wrote:"
            )],
            quote: (!body.trim().is_empty()).then(|| body.trim().to_owned()),
            link: Some((
                "Accept the invitation".to_owned(),
                format!("{}/invitations/accept/{token}", self.config().public_url),
            )),
            unique: format!("invitee.{}", hex::encode(&message_id.as_bytes()[..message_id.len().min(24)])),
            root: false,
            attachment: None,
            choices: Vec::new(),
        };
        self.answer_once(ticket, &mark, &mail).await
    }

    /// Sends an answer and marks it sent; a refused send asks the inbound
    /// service to deliver the mail again (so the answer is tried again).
    async fn answer_once(
        &self,
        ticket: TicketId,
        mark: &PlatformRef,
        mail: &TicketMail,
    ) -> Result<(), EngineError> {
        match self.send_mail(mail).await.map_err(|(why, _)| why) {
            Ok(()) => self
                .engine()
                .system()
                .put_link(ticket, None, mark)
                .await
                .map(drop),
            Err(e) => {
                tracing::warn!(error = %e, "answer to an inbound mail not sent");
                Err(EngineError::Busy)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn answer_closed(
        &self,
        ticket: TicketId,
        person: PersonId,
        name: &str,
        to: &str,
        number: &str,
        message_id: &str,
        body: &str,
    ) -> Result<(), EngineError> {
        let mark = answer_mark("closed-answer", ticket, person.0, message_id);
        if self.engine().system().link_at(&mark).await?.is_some() {
            return Ok(());
        }
        let subject = match self.engine().system().card_facts(ticket).await {
            Ok(f) => f.ticket.subject,
            Err(_) => String::new(),
        };
        let mail = TicketMail {
            ticket,
            number: number.to_owned(),
            person,
            to_name: name.to_owned(),
            to: to.to_owned(),
            subject,
            paragraphs: vec![format!(
                "Ticket {number} is closed, so your e-mail was not added to it. To ask something new, open a new ticket; here is what you wrote:"
            )],
            quote: Some(body.to_owned()),
            link: Some(("Open a new ticket".to_owned(), format!("{}/tickets/new", self.config().public_url))),
            unique: format!("closed.{}", hex::encode(&message_id.as_bytes()[..message_id.len().min(24)])),
            root: false,
            attachment: None,
            choices: Vec::new(),
        };
        self.answer_once(ticket, &mark, &mail).await
    }
}

/// Where an automatic answer to a received mail is marked sent: one per
/// kind of answer, ticket, addressee (a person's or a delegation's id) and
/// mail.
fn answer_mark(kind: &str, ticket: TicketId, to: i64, message_id: &str) -> PlatformRef {
    PlatformRef {
        platform: Platform::Email,
        workspace: String::new(),
        channel: kind.to_owned(),
        message_id: format!("{}:{to}:{message_id}", ticket.0),
    }
}

/// What names a received mail for idempotency: its Message-ID, or a hash
/// of it without one.
fn message_key(m: &Message<'_>, raw: &[u8]) -> String {
    m.message_id()
        .map(|id| id.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| {
            let mut h =
                Hmac::<Sha256>::new_from_slice(b"message").expect("HMAC takes any key length");
            h.update(raw);
            hex::encode(h.finalize().into_bytes())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_history_and_signatures_are_cut_off() {
        assert_eq!(
            strip_quoted("Thanks!\n\nOn Mon, Sam wrote:\n> old"),
            "Thanks!"
        );
        assert_eq!(
            strip_quoted("Thanks!\nOn Mon, 23 Nov 2026, Sam <s@x>\nwrote:\n> old"),
            "Thanks!"
        );
        assert_eq!(
            strip_quoted("Yes.\n\n-----Original Message-----\nFrom: Sam"),
            "Yes."
        );
        assert_eq!(
            strip_quoted(
                "Yes.\n\nFrom: Acme Support <help@acme.test>\nSent: Monday\nSubject: Re: x\n\nold"
            ),
            "Yes."
        );
        assert_eq!(
            strip_quoted("Line one\nline two\n-- \nBob\nAcme"),
            "Line one\nline two"
        );
        assert_eq!(strip_quoted("> only a quote"), "");
        assert_eq!(
            strip_quoted("From: here on, it works"),
            "From: here on, it works",
            "not a header block"
        );
    }

    #[test]
    fn the_secret_is_checked_in_every_accepted_form() {
        use base64::Engine as _;
        let secret = b"an-inbound-webhook-secret";
        let mut h = HeaderMap::new();
        assert!(!authorized(secret, &h, b"x"));
        let basic =
            base64::engine::general_purpose::STANDARD.encode("api:an-inbound-webhook-secret");
        h.insert("authorization", format!("Basic {basic}").parse().unwrap());
        assert!(authorized(secret, &h, b"x"));
        h.insert(
            "authorization",
            "Bearer an-inbound-webhook-secret".parse().unwrap(),
        );
        assert!(authorized(secret, &h, b"x"));
        h.insert(
            "authorization",
            "Bearer an-inbound-webhook-secreT".parse().unwrap(),
        );
        assert!(!authorized(secret, &h, b"x"));
        let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        m.update(b"body");
        let sig = hex::encode(m.finalize().into_bytes());
        let mut h = HeaderMap::new();
        h.insert(
            "x-threadesk-signature",
            format!("sha256={sig}").parse().unwrap(),
        );
        assert!(authorized(secret, &h, b"body"));
        assert!(!authorized(secret, &h, b"other body"));
    }
}
