//! Composing ticket mail: plain text and HTML, thread headers, signed
//! reply addresses.

use crate::token::reply_token;
use crate::{EmailConfig, MailError};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use threadesk_core::{PersonId, TicketId};

/// One mail to one person about one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMail {
    /// The ticket.
    pub ticket: TicketId,
    /// Its number as people see it (`#1042`).
    pub number: String,
    /// The recipient.
    pub person: PersonId,
    /// Their name and address.
    pub to_name: String,
    /// Their address.
    pub to: String,
    /// The subject line after `[#N] `.
    pub subject: String,
    /// Paragraphs of the body, plain text.
    pub paragraphs: Vec<String>,
    /// A quoted message, if the mail carries one.
    pub quote: Option<String>,
    /// A link and its label.
    pub link: Option<(String, String)>,
    /// A unique part of this mail's `Message-ID`.
    pub unique: String,
    /// Whether this mail starts the ticket's thread (the confirmation).
    pub root: bool,
    /// A file sent with it (the transcript, on closing).
    pub attachment: Option<MailFile>,
    /// Links to choose from, each `(label, url)`, after the paragraphs
    /// (the ratings of the closing mail).
    pub choices: Vec<(String, String)>,
}

/// A file attached to a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFile {
    /// Its name.
    pub name: String,
    /// Its content type (`text/html; charset=utf-8`).
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The `Message-ID` every mail of a ticket refers to.
pub fn root_id(config: &EmailConfig, ticket: TicketId) -> String {
    format!("<ticket-{}@{}>", ticket.0, config.reply_domain)
}

/// The signed reply address of a recipient for a ticket.
pub fn reply_address(config: &EmailConfig, ticket: TicketId, person: PersonId) -> String {
    format!(
        "{}+{}@{}",
        config.from_local(),
        reply_token(&config.secret, ticket, person),
        config.reply_domain
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl TicketMail {
    /// The plain-text body.
    pub fn text(&self) -> String {
        let mut out = format!("Hello {},\n\n", self.to_name);
        for p in &self.paragraphs {
            out.push_str(p);
            out.push_str("\n\n");
        }
        for (label, url) in &self.choices {
            out.push_str(&format!("  {label}: {url}\n"));
        }
        if !self.choices.is_empty() {
            out.push('\n');
        }
        if let Some(q) = &self.quote {
            for line in q.lines() {
                out.push_str("> ");
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        }
        if let Some((label, url)) = &self.link {
            out.push_str(&format!("{label}: {url}\n\n"));
        }
        out.push_str("-- \nReply to this e-mail to add to the ticket. This message was sent automatically.\n");
        out
    }

    /// The HTML body (the same content).
    pub fn html(&self) -> String {
        let mut out = format!("<p>Hello {},</p>", html_escape(&self.to_name));
        for p in &self.paragraphs {
            out.push_str(&format!("<p>{}</p>", html_escape(p)));
        }
        if !self.choices.is_empty() {
            out.push_str("<p>");
            for (label, url) in &self.choices {
                out.push_str(&format!(
                    "<a href=\"{}\" style=\"display:inline-block;margin:0 8px 8px 0;padding:6px 10px;border:1px solid #ccc;border-radius:4px;text-decoration:none\">{}</a> ",
                    html_escape(url),
                    html_escape(label)
                ));
            }
            out.push_str("</p>");
        }
        if let Some(q) = &self.quote {
            out.push_str(&format!(
                "<blockquote style=\"border-left:3px solid #ccc;padding-left:8px\">{}</blockquote>",
                threadesk_core::markdown::to_html(q)
            ));
        }
        if let Some((label, url)) = &self.link {
            out.push_str(&format!(
                "<p><a href=\"{}\">{}</a></p>",
                html_escape(url),
                html_escape(label)
            ));
        }
        out.push_str("<p style=\"color:#666\">Reply to this e-mail to add to the ticket. This message was sent automatically.</p>");
        out
    }

    /// The message, ready for SMTP.
    pub fn build(&self, config: &EmailConfig) -> Result<Message, MailError> {
        let from: Mailbox = config.from.parse().map_err(MailError::BadSender)?;
        let to = Mailbox::new(
            Some(self.to_name.clone()),
            self.to.parse().map_err(|reason| MailError::BadRecipient {
                address: self.to.clone(),
                reason,
            })?,
        );
        let reply: Mailbox = Mailbox::new(
            from.name.clone(),
            reply_address(config, self.ticket, self.person)
                .parse()
                .map_err(MailError::BadReplyAddress)?,
        );
        let root = root_id(config, self.ticket);
        let id = if self.root {
            root.clone()
        } else {
            format!(
                "<ticket-{}.{}@{}>",
                self.ticket.0, self.unique, config.reply_domain
            )
        };
        let mut b = Message::builder()
            .from(from)
            .to(to)
            .reply_to(reply)
            .subject(format!("[{}] {}", self.number, self.subject))
            .message_id(Some(id))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Threadesk-Ticket"),
                self.number.clone(),
            ));
        if !self.root {
            b = b.in_reply_to(root.clone()).references(root);
        }
        let body = MultiPart::alternative_plain_html(self.text(), self.html());
        match &self.attachment {
            None => b.multipart(body),
            Some(file) => {
                let content_type = lettre::message::header::ContentType::parse(&file.content_type)
                    .unwrap_or(lettre::message::header::ContentType::TEXT_PLAIN);
                b.multipart(
                    MultiPart::mixed().multipart(body).singlepart(
                        lettre::message::Attachment::new(file.name.clone())
                            .body(file.bytes.clone(), content_type),
                    ),
                )
            }
        }
        .map_err(MailError::Build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quoted_message_shows_its_markdown_and_nothing_else() {
        let mail = TicketMail {
            ticket: TicketId(1),
            number: "#1001".into(),
            person: PersonId(2),
            to_name: "Ann <Admin>".into(),
            to: "ann@example.com".into(),
            subject: "VPN".into(),
            paragraphs: vec!["Sam replied:".into()],
            quote: Some(
                "Try **this**: https://help.example/vpn\n<img src=x onerror=alert(1)>".into(),
            ),
            link: None,
            unique: "u1".into(),
            root: false,
            attachment: None,
            choices: Vec::new(),
        };
        let html = mail.html();
        assert!(html.contains("Hello Ann &lt;Admin&gt;,"), "{html}");
        assert!(html.contains("<strong>this</strong>"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://help.example/vpn\" rel=\"nofollow noopener noreferrer\">"
            ),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        // the plain part keeps the text as written.
        assert!(mail
            .text()
            .contains("> Try **this**: https://help.example/vpn"));
    }
}
