//! From the engine to mailboxes: the outbox consumer `email`.
//!
//! Each recipient of an event gets at most one mail for it: a sent mail is
//! recorded as an effect of the event, so an event handed out again (after
//! a failure for another recipient, or a crash) mails only who is missing.
//! A transient SMTP failure (4xx, connection) hands the event back with
//! back-off; a permanent one (5xx: no such mailbox) skips that recipient
//! and is logged, the others still get theirs.

use crate::mail::{MailFile, TicketMail};
use crate::{EmailAdapter, MailError, CONSUMER};
use lettre::AsyncTransport;
use threadesk_core::domain::Platform;
use threadesk_core::engine::LinkPurpose;
use threadesk_core::faults;
use threadesk_core::outbox::{
    attempt, Attempt, Consumer, Event, EventPayload, Outbox, Permanence, Steps,
};
use threadesk_core::{EngineError, EventId, PersonId, TicketId, TicketNumber};

/// How long an invitation's Accept link works.
/// The largest transcript attached to a closing mail; a longer one is
/// linked instead.
pub const MAX_ATTACHED_TRANSCRIPT: usize = 5 * 1024 * 1024;

/// A transcript for a mail.
enum Attached {
    File(MailFile),
    TooLarge,
    None,
}

pub(crate) const INVITATION_TTL: std::time::Duration =
    std::time::Duration::from_secs(7 * 24 * 3600);

/// Why delivering an event failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("smtp: {0}")]
    Smtp(String, bool),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Permanence for Failure {
    fn is_permanent(&self) -> bool {
        match self {
            Failure::Smtp(_, permanent) => *permanent,
            Failure::Engine(e) => matches!(e, EngineError::NotFound(_)),
        }
    }
}

/// What a notification to a ticket's followers says.
struct Notice {
    paragraphs: Vec<String>,
    quote: Option<String>,
    link: (String, String),
}

/// Someone who may get the ticket's mail.
struct Recipient {
    person: PersonId,
    name: String,
    address: String,
}

impl Consumer for EmailAdapter {
    const NAME: &'static str = CONSUMER;
    // SMTP cannot be asked whether a mail got through.
    const ONE_AT_A_TIME: bool = true;

    fn db(&self) -> &threadesk_core::Db {
        self.engine().db()
    }

    fn wake_signal(&self) -> &tokio::sync::Notify {
        &self.inner.wake
    }

    async fn attempt(&self, event: Event) -> Attempt {
        attempt(self.deliver(&event).await)
    }
}

impl EmailAdapter {
    fn outbox(&self) -> Outbox {
        Outbox::new(self.engine().db().clone())
    }

    async fn deliver(&self, event: &Event) -> Result<(), Failure> {
        let Some(ticket) = event.ticket_id else {
            return Ok(());
        };
        let mut steps = Steps::new(CONSUMER);
        // the portal's address of a ticket is its number, as people see it.
        let link = |number: TicketNumber| {
            (
                "Follow it in the portal".to_owned(),
                format!("{}/tickets/{}", self.config().public_url, number.0),
            )
        };
        match &event.payload {
            EventPayload::TicketOpened { ticket: t, message } => {
                if let Some(r) = self.recipient(t.requester_id).await? {
                    let mail = TicketMail {
                        ticket: t.id,
                        number: t.number.to_string(),
                        person: r.person,
                        to_name: r.name.clone(),
                        to: r.address.clone(),
                        subject: t.subject.clone(),
                        paragraphs: vec![format!(
                            "We have received your support ticket {} \"{}\". Our team will answer soon; you will get their replies by e-mail.",
                            t.number, t.subject
                        )],
                        quote: Some(message.body.clone()),
                        link: Some(link(t.number)),
                        unique: "opened".to_owned(),
                        root: true,
                        attachment: None,
                        choices: Vec::new(),
                    };
                    steps.take("confirmation", self.send_once(event.id, &r, mail).await);
                }
            }
            EventPayload::ReplyPosted {
                number, message, ..
            } if !message.internal => {
                let mut paragraphs = vec![format!(
                    "{} ({}) replied to ticket {number}:",
                    message.author_name,
                    message.author_role.replace('_', " ")
                )];
                if !message.attachments.is_empty() {
                    let names: Vec<&str> = message
                        .attachments
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect();
                    paragraphs.push(format!("Attached: {} (in the portal).", names.join(", ")));
                }
                let notice = Notice {
                    paragraphs,
                    quote: Some(message.body.clone()),
                    link: link(*number),
                };
                if message.author_role != "staff" {
                    steps.take("owner told", self.tell_owner(event, message, &notice).await);
                }
                self.to_followers(
                    &mut steps,
                    event,
                    &number.to_string(),
                    Some(message.author_id),
                    notice,
                    false,
                )
                .await?;
            }
            EventPayload::StatusChanged { number, to, .. } => {
                let notice = Notice {
                    paragraphs: vec![format!("Ticket {number} is now: {}.", to.label_for(false))],
                    quote: None,
                    link: link(*number),
                };
                self.to_followers(
                    &mut steps,
                    event,
                    &number.to_string(),
                    event.actor_id,
                    notice,
                    false,
                )
                .await?;
            }
            EventPayload::TicketClosed { number, reason, .. } => {
                let closed = match reason {
                    Some(why) => {
                        format!("Ticket {number} was closed automatically: {}.", why.text())
                    }
                    None => format!("Ticket {number} is closed."),
                };
                let notice = Notice {
                    paragraphs: vec![format!("{closed} To ask something new, open a new ticket.")],
                    quote: None,
                    link: (
                        "Open a new ticket".to_owned(),
                        format!("{}/tickets/new", self.config().public_url),
                    ),
                };
                self.to_followers(
                    &mut steps,
                    event,
                    &number.to_string(),
                    event.actor_id,
                    notice,
                    true,
                )
                .await?;
            }
            EventPayload::AutoCloseReminder {
                number,
                closes_at,
                quiet_minutes,
            } => {
                let notice = Notice {
                    paragraphs: vec![format!(
                        "We haven't heard from you on ticket {number} for {}. If we don't hear from you, it closes automatically on {}. Anything to add? Just reply to this e-mail, and it stays open.",
                        threadesk_core::time::span(*quiet_minutes),
                        threadesk_core::time::when(*closes_at)
                    )],
                    quote: None,
                    link: link(*number),
                };
                self.to_followers(&mut steps, event, &number.to_string(), None, notice, false)
                    .await?;
            }
            EventPayload::DelegateInvited { number, delegate } => {
                let facts = self.engine().system().card_facts(ticket).await?;
                let by = self
                    .engine()
                    .person(delegate.invited_by)
                    .await?
                    .person
                    .display_name;
                let recipient = match (delegate.person_id, &delegate.email) {
                    (Some(p), _) => self.recipient(p).await?,
                    (None, Some(address)) => Some(Recipient {
                        person: PersonId(0),
                        name: address.clone(),
                        address: address.clone(),
                    }),
                    (None, None) => None,
                };
                let effect = recipient
                    .as_ref()
                    .map(|r| format!("mail:{}", r.address.to_lowercase()));
                let done = match &effect {
                    Some(e) => self.outbox().effect_done(CONSUMER, event.id, e).await?,
                    None => true,
                };
                if let (Some(r), false) = (recipient, done) {
                    // a link that accepts (and signs the invitee in), once, within a week.
                    let token = self
                        .engine()
                        .issue_link_token(
                            LinkPurpose::Accept(delegate.id),
                            &r.address,
                            INVITATION_TTL,
                        )
                        .await?;
                    let decline = self
                        .engine()
                        .issue_link_token(
                            LinkPurpose::Decline(delegate.id),
                            &r.address,
                            INVITATION_TTL,
                        )
                        .await?;
                    let mail = TicketMail {
                        ticket,
                        number: number.to_string(),
                        person: r.person,
                        to_name: r.name.clone(),
                        to: r.address.clone(),
                        subject: facts.ticket.subject.clone(),
                        paragraphs: vec![
                            format!(
                                "{by} invited you to follow support ticket {number} \"{}\": you would see its replies and could answer. The link below accepts and signs you in; each link works once, for 7 days.",
                                facts.ticket.subject
                            ),
                            format!(
                                "Not for you? Decline: {}/invitations/decline/{decline}",
                                self.config().public_url
                            ),
                        ],
                        quote: None,
                        link: Some((
                            "Accept the invitation".to_owned(),
                            format!("{}/invitations/accept/{token}", self.config().public_url),
                        )),
                        unique: format!("e{}.invite", event.id),
                        root: false,
                        attachment: None,
                        choices: Vec::new(),
                    };
                    steps.take("invitation", self.send_once(event.id, &r, mail).await);
                }
            }
            _ => {}
        }
        steps.finish()
    }

    /// Mails a portal sign-in link carrying `token` (it works once, for 15
    /// minutes).
    pub async fn send_sign_in(&self, to: &str, token: &str) -> Result<(), MailError> {
        use lettre::message::header::{HeaderName, HeaderValue};
        use lettre::message::{Mailbox, MultiPart};
        let link = format!("{}/signin/link/{token}", self.config().public_url);
        let from: Mailbox = self.config().from.parse().map_err(MailError::BadSender)?;
        let to: Mailbox = to.parse().map_err(|reason| MailError::BadRecipient {
            address: to.to_owned(),
            reason,
        })?;
        let text = format!(
            "Hello,\n\nFollow this link to sign in to the support portal (it works once, for 15 minutes):\n{link}\n\nIf you did not ask for it, ignore this e-mail.\n"
        );
        let html = format!(
            "<p>Hello,</p><p><a href=\"{link}\">Sign in to the support portal</a> (the link works once, for 15 minutes).</p><p>If you did not ask for it, ignore this e-mail.</p>"
        );
        let message = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject("Your sign-in link")
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(MailError::Build)?;
        self.inner
            .mailer
            .send(message)
            .await
            .map(drop)
            .map_err(MailError::Send)
    }

    /// Mails a notice to each follower (see [`EmailAdapter::followers`]).
    async fn to_followers(
        &self,
        steps: &mut Steps<Failure>,
        event: &Event,
        number: &str,
        except: Option<PersonId>,
        notice: Notice,
        with_transcript: bool,
    ) -> Result<(), Failure> {
        let Some(ticket) = event.ticket_id else {
            return Ok(());
        };
        let subject = self
            .engine()
            .system()
            .card_facts_since(ticket, event.id)
            .await?
            .ticket
            .subject;
        for r in self.followers(ticket, except).await? {
            let mut paragraphs = notice.paragraphs.clone();
            // the closing mail asks the requester to rate the help: one
            // link per score, each working once until the rating window
            // closes (its page asks to confirm, so a scanner that opens
            // links rates nothing).
            let mut choices = Vec::new();
            if with_transcript {
                if let Some(token) = self.engine().system().rating_link(ticket, r.person).await? {
                    paragraphs.push(
                        "How did we do? Choose a rating (you can add a comment on the next page; you can change it for 7 days):"
                            .to_owned(),
                    );
                    for score in (1..=5u8).rev() {
                        choices.push((
                            format!(
                                "{} {}",
                                threadesk_core::domain::stars(score),
                                threadesk_core::domain::score_label(score)
                            ),
                            format!("{}/rate/{token}?score={score}", self.config().public_url),
                        ));
                    }
                }
            }
            let attachment = if with_transcript {
                match self.transcript_for(ticket, r.person).await? {
                    Attached::File(file) => {
                        paragraphs.push("The conversation's transcript is attached.".to_owned());
                        Some(file)
                    }
                    Attached::TooLarge => {
                        paragraphs.push(format!(
                            "The conversation is too long to attach; its transcript is on the ticket's page: {}/tickets/{}",
                            self.config().public_url,
                            number.trim_start_matches('#')
                        ));
                        None
                    }
                    Attached::None => None,
                }
            } else {
                None
            };
            let mail = TicketMail {
                ticket,
                number: number.to_owned(),
                person: r.person,
                to_name: r.name.clone(),
                to: r.address.clone(),
                subject: subject.clone(),
                paragraphs,
                quote: notice.quote.clone(),
                link: Some(notice.link.clone()),
                unique: format!("e{}.p{}", event.id, r.person.0),
                root: false,
                attachment,
                choices,
            };
            steps.take("notification", self.send_once(event.id, &r, mail).await);
        }
        Ok(())
    }

    /// The public transcript a follower may read, as a file to attach;
    /// nothing when they may no longer read the ticket, and a note instead
    /// when it is over [`MAX_ATTACHED_TRANSCRIPT`].
    async fn transcript_for(
        &self,
        ticket: TicketId,
        person: PersonId,
    ) -> Result<Attached, Failure> {
        use threadesk_core::engine::{TranscriptFormat, TranscriptKind};
        let started = self
            .engine()
            .transcript(
                person,
                ticket,
                TranscriptKind::Public,
                TranscriptFormat::Html,
                &self.config().public_url,
            )
            .await;
        let mut transcript = match started {
            Ok(t) => t,
            Err(EngineError::NotFound(_)) => return Ok(Attached::None),
            Err(e) => return Err(e.into()),
        };
        let name = transcript.file_name();
        let mut bytes = Vec::new();
        while let Some(chunk) = transcript.next_chunk().await? {
            if bytes.len() + chunk.len() > MAX_ATTACHED_TRANSCRIPT {
                return Ok(Attached::TooLarge);
            }
            bytes.extend_from_slice(chunk.as_bytes());
        }
        Ok(Attached::File(MailFile {
            name,
            content_type: "text/html; charset=utf-8".to_owned(),
            bytes,
        }))
    }

    /// Mails a customer's reply to the ticket's owner when they are told
    /// nowhere else: they have an address and no chat account (where the
    /// chat adapters tell them in their direct messages).
    async fn tell_owner(
        &self,
        event: &Event,
        message: &threadesk_core::domain::Message,
        notice: &Notice,
    ) -> Result<(), Failure> {
        let Some(ticket) = event.ticket_id else {
            return Ok(());
        };
        let facts = self
            .engine()
            .system()
            .card_facts_since(ticket, event.id)
            .await?;
        let Some(owner) = facts.ticket.owner_id.filter(|o| *o != message.author_id) else {
            return Ok(());
        };
        let profile = self.engine().person(owner).await?;
        let in_chat = profile.identities.iter().any(|i| {
            matches!(
                i.platform,
                Platform::Slack | Platform::Discord | Platform::Teams
            )
        });
        if in_chat {
            return Ok(());
        }
        let Some(r) = self.recipient(owner).await? else {
            return Ok(());
        };
        let mut paragraphs = vec![format!(
            "{} replied on ticket {} that you own:",
            message.author_name, facts.ticket.number
        )];
        paragraphs.extend(notice.paragraphs.iter().skip(1).cloned());
        let mail = TicketMail {
            ticket,
            number: facts.ticket.number.to_string(),
            person: owner,
            to_name: r.name.clone(),
            to: r.address.clone(),
            subject: facts.ticket.subject.clone(),
            paragraphs,
            quote: notice.quote.clone(),
            link: Some(notice.link.clone()),
            unique: format!("e{}.owner", event.id),
            root: false,
            attachment: None,
            choices: Vec::new(),
        };
        self.send_once(event.id, &r, mail).await
    }

    /// A person's e-mail recipient, if they have an address.
    async fn recipient(&self, person: PersonId) -> Result<Option<Recipient>, EngineError> {
        let profile = self.engine().person(person).await?;
        Ok(profile
            .identities
            .iter()
            .find(|i| i.platform == Platform::Email)
            .map(|i| Recipient {
                person,
                name: profile.person.display_name.clone(),
                address: i.external_id.clone(),
            }))
    }

    /// The ticket's followers (core's: the requester, accepted delegates
    /// and whoever follows it) with an address, other than `except` (the
    /// author), who do not read the ticket in a chat thread already.
    async fn followers(
        &self,
        ticket: TicketId,
        except: Option<PersonId>,
    ) -> Result<Vec<Recipient>, EngineError> {
        let people = self.engine().system().followers(ticket).await?;
        let mut out = vec![];
        for p in people {
            if Some(p) == except || self.engine().system().reads_in_chat(ticket, p).await? {
                continue;
            }
            if let Some(r) = self.recipient(p).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Sends a mail unless this event already mailed this address. SMTP
    /// cannot be asked whether an earlier attempt got through, so a crash
    /// between the server's acceptance and the record sends the mail again,
    /// with the same `Message-ID` (the event's and the recipient's): mail
    /// clients show it once.
    async fn send_once(
        &self,
        event: EventId,
        r: &Recipient,
        mail: TicketMail,
    ) -> Result<(), Failure> {
        let outbox = self.outbox();
        let effect = format!("mail:{}", r.address.to_lowercase());
        if outbox.effect_done(CONSUMER, event, &effect).await? {
            return Ok(());
        }
        let step = format!("{effect}:{event}");
        faults::crash_point(faults::BEFORE_CALL, &step);
        if let Err((why, permanent)) = self.send_mail(&mail).await {
            if permanent {
                // staff see it on the ticket and can reach the person otherwise.
                self.engine()
                    .record_mail_failure(mail.ticket, &r.address, &format!("not delivered: {why}"))
                    .await?;
                // recorded once: the event moves on without this recipient.
                outbox.record_effect(CONSUMER, event, &effect).await?;
            }
            return Err(Failure::Smtp(why, permanent));
        }
        faults::crash_point(faults::AFTER_CALL, &step);
        outbox.record_effect(CONSUMER, event, &effect).await?;
        faults::crash_point(faults::AFTER_RECORD, &step);
        Ok(())
    }
}
