//! Transcripts: a ticket's conversation as one self-contained HTML file or
//! as plain text, read page by page so that a ticket of any length is
//! written with memory that does not grow with it.
//!
//! Customers get the public transcript (no internal notes); staff may ask
//! for the full one. Attachments are listed with links to the portal,
//! which checks rights again when they are followed.

use super::queries::attachments_of;
use super::{rows, Engine};
use crate::domain::{Attachment, Message, Role, Ticket};
use crate::error::{EngineError, Result};
use crate::ids::{MessageId, PersonId, TicketId};
use crate::markdown::escape;
use sqlx::AnyConnection;
use std::collections::HashMap;

/// How many messages a transcript reads at a time.
pub const TRANSCRIPT_PAGE: i64 = 200;

/// Which transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptKind {
    /// What the customer side sees: no internal notes.
    Public,
    /// Everything, internal notes marked (staff only).
    Full,
}

/// The format of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptFormat {
    /// One HTML file with its style inside and nothing loaded from
    /// elsewhere.
    Html,
    /// Plain text.
    Text,
}

impl TranscriptFormat {
    /// The file's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            TranscriptFormat::Html => "text/html; charset=utf-8",
            TranscriptFormat::Text => "text/plain; charset=utf-8",
        }
    }

    /// The file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            TranscriptFormat::Html => "html",
            TranscriptFormat::Text => "txt",
        }
    }
}

/// A transcript being written: the header is known, the messages come
/// page by page from [`Transcript::next_chunk`].
#[derive(Debug)]
pub struct Transcript {
    engine: Engine,
    /// The ticket.
    pub ticket: Ticket,
    /// Public or full.
    pub kind: TranscriptKind,
    format: TranscriptFormat,
    requester: String,
    department: Option<String>,
    /// Where attachment links point (`https://help.example.com`).
    portal: String,
    after: MessageId,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Messages,
    Done,
}

impl Engine {
    /// Starts a transcript of a ticket the person may read. `Full` is for
    /// staff only; anybody else asking for it gets the public one's refusal
    /// as for any staff-only thing. Unknown or forbidden tickets are not
    /// found.
    pub async fn transcript(
        &self,
        actor: PersonId,
        ticket: TicketId,
        kind: TranscriptKind,
        format: TranscriptFormat,
        portal: &str,
    ) -> Result<Transcript> {
        let mut conn = self.db.pool().acquire().await?;
        let seen = self
            .view_ticket(&mut conn, actor, super::TicketKey::Id(ticket))
            .await?;
        let (ticket, role) = (seen.ticket, seen.role);
        if kind == TranscriptKind::Full && role != Role::Staff {
            return Err(EngineError::StaffOnly("staff"));
        }
        self.start_transcript(&mut conn, ticket, kind, format, portal)
            .await
    }

    /// Starts the transcript of a ticket already loaded, whoever asks: the
    /// caller decided that `kind` may be read (see [`Engine::transcript`],
    /// and the trusted `engine.system().public_transcript`).
    pub(crate) async fn start_transcript(
        &self,
        conn: &mut AnyConnection,
        ticket: Ticket,
        kind: TranscriptKind,
        format: TranscriptFormat,
        portal: &str,
    ) -> Result<Transcript> {
        let requester: String = sqlx::query_scalar("select display_name from people where id = $1")
            .bind(ticket.requester_id.0)
            .fetch_one(&mut *conn)
            .await?;
        let department: Option<String> = match ticket.department_id {
            Some(d) => {
                sqlx::query_scalar("select name from departments where id = $1")
                    .bind(d.0)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => None,
        };
        Ok(Transcript {
            engine: self.clone(),
            ticket,
            kind,
            format,
            requester,
            department,
            portal: portal.trim_end_matches('/').to_owned(),
            after: MessageId(0),
            state: State::Head,
        })
    }
}

impl Transcript {
    /// The file name people save it under (`ticket-1042.html`).
    pub fn file_name(&self) -> String {
        format!(
            "ticket-{}.{}",
            self.ticket.number.0,
            self.format.extension()
        )
    }

    /// The next piece of the file, or `None` when it is complete: the
    /// header, then up to [`TRANSCRIPT_PAGE`] messages a piece, then the
    /// end.
    pub async fn next_chunk(&mut self) -> Result<Option<String>> {
        match self.state {
            State::Head => {
                self.state = State::Messages;
                Ok(Some(self.head()))
            }
            State::Messages => {
                let page = self.page().await?;
                if page.is_empty() {
                    self.state = State::Done;
                    return Ok(Some(self.tail()));
                }
                let mut out = String::new();
                for m in &page {
                    self.message(m, &mut out);
                }
                Ok(Some(out))
            }
            State::Done => Ok(None),
        }
    }

    /// The whole file, read chunk by chunk, or `None` as soon as it would
    /// be longer than `max` bytes (then nothing more is read).
    pub async fn read_at_most(&mut self, max: usize) -> Result<Option<Vec<u8>>> {
        let mut bytes = Vec::new();
        while let Some(chunk) = self.next_chunk().await? {
            if bytes.len() + chunk.len() > max {
                return Ok(None);
            }
            bytes.extend_from_slice(chunk.as_bytes());
        }
        Ok(Some(bytes))
    }

    /// The file's content type.
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    /// The next messages, in the order of the `(ticket_id, id)` index so
    /// that each page is read from where the last ended.
    async fn page(&mut self) -> Result<Vec<Message>> {
        let mut conn = super::read_in_order(self.engine.db()).await?;
        let notes = match self.kind {
            TranscriptKind::Full => "",
            TranscriptKind::Public => " and m.internal = 0",
        };
        let sql = format!(
            "select {} from messages m join people p on p.id = m.author_id \
             where m.ticket_id = $1 and m.id > $2{notes} order by m.ticket_id, m.id limit $3",
            rows::MESSAGE_COLUMNS
        );
        let mut messages = sqlx::query(&sql)
            .bind(self.ticket.id.0)
            .bind(self.after.0)
            .bind(TRANSCRIPT_PAGE)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let mut files: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
        for chunk in ids.chunks(100) {
            for (mid, a) in attachments_of(&mut conn, chunk).await? {
                files.entry(mid).or_default().push(a);
            }
        }
        for m in &mut messages {
            m.attachments = files.remove(&m.id).unwrap_or_default();
        }
        conn.commit().await?;
        if let Some(last) = messages.last() {
            self.after = last.id;
        }
        Ok(messages)
    }

    fn title(&self) -> String {
        format!("Ticket {} {}", self.ticket.number, self.ticket.subject)
    }

    fn facts(&self) -> Vec<(&'static str, String)> {
        let t = &self.ticket;
        let mut facts = vec![
            ("Requester", self.requester.clone()),
            ("Status", t.status.label().to_owned()),
            ("Opened", crate::time::when(t.created_at)),
        ];
        if let Some(d) = &self.department {
            facts.push(("Department", d.clone()));
        }
        if let Some(c) = t.closed_at {
            facts.push(("Closed", crate::time::when(c)));
        }
        facts.push((
            "Transcript",
            match self.kind {
                TranscriptKind::Public => "public (what the customer side sees)".to_owned(),
                TranscriptKind::Full => "full, with internal notes (staff only)".to_owned(),
            },
        ));
        facts
    }

    fn head(&self) -> String {
        let title = self.title();
        match self.format {
            TranscriptFormat::Text => {
                let mut out = format!("{title}\n{}\n", "=".repeat(title.chars().count().min(78)));
                for (k, v) in self.facts() {
                    out.push_str(&format!("{k}: {v}\n"));
                }
                out.push('\n');
                out
            }
            TranscriptFormat::Html => {
                let mut out = format!(
                    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                     <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
                     <meta name=\"referrer\" content=\"no-referrer\">\
                     <title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1><dl>",
                    escape(&title),
                    escape(&title)
                );
                for (k, v) in self.facts() {
                    out.push_str(&format!("<dt>{k}</dt><dd>{}</dd>", escape(&v)));
                }
                out.push_str("</dl>\n");
                out
            }
        }
    }

    fn message(&self, m: &Message, out: &mut String) {
        let role = match m.author_role.as_str() {
            "staff" => "Support",
            "requester" => "Requester",
            "delegate" => "Delegate",
            "company_admin" => "Company admin",
            _ => "",
        };
        let when = crate::time::when(m.created_at);
        let link = |a: &Attachment| {
            format!(
                "{}/tickets/{}/files/{}",
                self.portal, self.ticket.number.0, a.id.0
            )
        };
        match self.format {
            TranscriptFormat::Text => {
                out.push_str(&format!("--- {} ({role}) · {when}", m.author_name));
                if m.internal {
                    out.push_str(" · INTERNAL NOTE (staff only)");
                }
                if m.edited_at.is_some() {
                    out.push_str(" · edited");
                }
                out.push('\n');
                out.push_str(m.body.trim_end());
                out.push('\n');
                for a in &m.attachments {
                    out.push_str(&format!(
                        "[attachment] {} ({} bytes): {}\n",
                        a.name,
                        a.size_bytes,
                        link(a)
                    ));
                }
                out.push('\n');
            }
            TranscriptFormat::Html => {
                out.push_str(&format!(
                    "<article class=\"{}\"><p class=\"meta\"><strong>{}</strong> · {role} · {when}{}{}</p><div class=\"body\">{}</div>",
                    if m.internal { "msg internal" } else { "msg" },
                    escape(&m.author_name),
                    if m.internal { " · internal note (staff only)" } else { "" },
                    if m.edited_at.is_some() { " · edited" } else { "" },
                    crate::markdown::to_html(&m.body),
                ));
                if !m.attachments.is_empty() {
                    out.push_str("<ul class=\"files\">");
                    for a in &m.attachments {
                        out.push_str(&format!(
                            "<li><a href=\"{}\" rel=\"nofollow noopener noreferrer\">{}</a> ({} bytes)</li>",
                            escape(&link(a)),
                            escape(&a.name),
                            a.size_bytes
                        ));
                    }
                    out.push_str("</ul>");
                }
                out.push_str("</article>\n");
            }
        }
    }

    fn tail(&self) -> String {
        let end = format!("End of the transcript of ticket {}.", self.ticket.number);
        match self.format {
            TranscriptFormat::Text => format!("{end}\n"),
            TranscriptFormat::Html => format!("<p class=\"end\">{end}</p></body></html>\n"),
        }
    }
}

/// The transcript's own style: nothing is loaded from elsewhere.
const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;color:#1d2330;max-width:860px;margin:1rem auto;padding:0 1rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}\
.msg{border:1px solid #d9dee7;border-radius:8px;padding:.5rem .8rem;margin:.6rem 0}\
.msg.internal{background:#fff7db;border-style:dashed}.meta{color:#5b6475;font-size:.85rem;margin:0 0 .3rem}\
.body p{margin:.3rem 0}pre{white-space:pre-wrap;background:#eef0f4;padding:.5rem}\
blockquote{border-left:3px solid #d9dee7;margin:.3rem 0;padding-left:.6rem;color:#5b6475}.end{color:#5b6475}";
