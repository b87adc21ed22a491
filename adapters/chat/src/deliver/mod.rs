//! The one outbox consumer of every chat platform: each engine event
//! becomes cards, thread messages, DMs, card updates and thread membership
//! changes on the platform, as core's visibility rules allow.
//!
//! Nothing is posted twice: before each step the mirror looks at what is
//! already there (a surface, a message link, a recorded effect), so an
//! event handed out again after a crash or an outage repeats no step. A
//! step that creates something not yet recorded, on any attempt of an
//! event but its first (the outbox counts attempts when it hands the event
//! out, [`Outbox::open_intent`]; a step outside the delivery writes its
//! intent down, and asks while the ticket has an event claimed), asks the
//! platform whether an earlier attempt's call took effect
//! ([`ChatPlatform::find_posted`], or the platform's own de-duplication)
//! before calling again, so a crash between the platform's answer and our
//! record repeats nothing either.
//! A closed ticket's public transcript goes to the platform's transcript
//! channel, when it has one, as one more step done once per event.
//! Surfaces fail alone: a channel the bot lost access to is logged and
//! skipped while the others get their messages; a transient failure
//! anywhere hands the whole event back for later, and the retry picks up
//! only what is missing. Before anything is posted on a surface, people who
//! lost access are taken off it: their card is closed and marked, or they
//! are removed from the shared thread.

mod access;
mod cards;
mod copies;

use crate::failure::Failure;
use crate::platform::{
    CardFor, ChatPlatform, CustomerSide, Invitation, Place, TranscriptChannel, Upload,
};
use threadesk_core::domain::{Message, Shown};
use threadesk_core::engine::TranscriptFormat;
use threadesk_core::faults;
use threadesk_core::followers::Reader;
use threadesk_core::links::{Link, PlatformRef};
use threadesk_core::outbox::{
    attempt, Attempt, Consumer, Event, EventPayload, Intent, Outbox, Steps,
};
use threadesk_core::surfaces::{Audience, CardFacts, Surface};
use threadesk_core::{EngineError, EventId, MessageId, PersonId, TicketId};

/// The largest transcript posted as a file to a transcript channel (the
/// same as e-mail attaches); a longer one is a line with the ticket's
/// portal address instead.
pub const MAX_POSTED_TRANSCRIPT: usize = 5 * 1024 * 1024;

/// The chat layer's outbox consumer over one platform.
#[derive(Clone)]
pub struct Mirror<P>(pub P);

type R<P> = Result<(), Failure<<P as ChatPlatform>::Error>>;

impl<P: ChatPlatform> Consumer for Mirror<P> {
    const NAME: &'static str = P::CONSUMER;
    const ONE_AT_A_TIME: bool = !P::FINDS_REPEATS;

    fn db(&self) -> &threadesk_core::Db {
        self.0.engine().db()
    }

    fn wake_signal(&self) -> &tokio::sync::Notify {
        self.0.hub().wake_signal()
    }

    async fn attempt(&self, event: Event) -> Attempt {
        attempt(self.deliver(&event).await)
    }
}

fn platform<E: crate::PlatformError>(e: E) -> Failure<E> {
    Failure::Platform(e)
}

impl<P: ChatPlatform> Mirror<P> {
    pub(super) fn p(&self) -> &P {
        &self.0
    }

    pub(super) fn engine(&self) -> &threadesk_core::Engine {
        self.0.engine()
    }

    pub(super) fn outbox(&self) -> Outbox {
        Outbox::new(self.engine().db().clone())
    }

    /// Makes a call that creates something (`call`, carrying `intent`)
    /// once across crashes and replicas: when an earlier attempt may have
    /// made it ([`Outbox::open_intent`]: this is not the event's first
    /// attempt, or an intent was left open), the platform is asked whether
    /// that attempt posted at `place`, and what it posted is taken instead
    /// of calling again. The caller records the id, then calls
    /// [`Mirror::recorded`].
    pub(super) async fn made_once<F>(
        &self,
        intent: &Intent,
        place: Place<'_>,
        call: F,
    ) -> Result<String, Failure<P::Error>>
    where
        F: std::future::Future<Output = Result<String, P::Error>>,
    {
        if let Some(opened) = self.outbox().open_intent(P::CONSUMER, intent).await? {
            // a minute of slack for replicas' clocks.
            let since = opened.plus_millis(-60_000);
            if let Some(id) = self
                .p()
                .find_posted(place, intent, since)
                .await
                .map_err(platform)?
            {
                tracing::info!(consumer = P::CONSUMER, intent = %intent.key, "an earlier attempt had posted it");
                return Ok(id);
            }
        }
        faults::crash_point(faults::BEFORE_CALL, &intent.key);
        let id = call.await.map_err(platform)?;
        faults::crash_point(faults::AFTER_CALL, &intent.key);
        Ok(id)
    }

    /// What was made under `intent` is recorded: the intent is closed.
    pub(super) async fn recorded(&self, intent: &Intent) -> R<P> {
        faults::crash_point(faults::AFTER_RECORD, &intent.key);
        self.outbox().close_intent(P::CONSUMER, intent).await?;
        Ok(())
    }

    /// Records where the call made under `intent` posted (a copy of
    /// `message`, or the card) and closes the intent, in one commit.
    pub(super) async fn recorded_at(
        &self,
        intent: &Intent,
        ticket: TicketId,
        message: Option<MessageId>,
        at: &PlatformRef,
    ) -> R<P> {
        self.outbox()
            .record_link(P::CONSUMER, intent, ticket, message, at)
            .await?;
        faults::crash_point(faults::AFTER_RECORD, &intent.key);
        Ok(())
    }

    /// Tells a ticket's owner, in their direct messages here, of a
    /// customer's reply (once per event); nothing when the ticket has no
    /// owner (the triage thread has the copy) or the owner is not here.
    async fn tell_owner(&self, event: EventId, facts: &CardFacts, message: &Message) -> R<P> {
        let Some(owner) = facts.ticket.owner_id else {
            return Ok(());
        };
        if owner == message.author_id {
            return Ok(());
        }
        let Some(user) = self.p().user_of(owner).await? else {
            return Ok(());
        };
        let line = format!(
            "💬 {} replied on your ticket {} {}: {}",
            self.p().escape(&message.author_name),
            facts.ticket.number,
            self.p().escape(&facts.ticket.subject),
            self.p().escape(&crate::text::clip(&message.body, 300))
        );
        let intent = Intent::new(format!("owner:{event}"));
        let post = self.p().post_dm(&user, &line, &intent);
        self.effect_once(event, "owner told", &intent, Place::Dm(&user), post)
            .await
    }

    /// Posts a closed ticket's public transcript (never internal notes:
    /// who reads the channel is not core's to check) to the transcript
    /// channel, once per event: the HTML file, or, when it is longer than
    /// [`MAX_POSTED_TRANSCRIPT`], a line with the ticket's portal address.
    async fn post_transcript(
        &self,
        event: EventId,
        ticket: TicketId,
        by: &str,
        to: &TranscriptChannel,
    ) -> R<P> {
        const EFFECT: &str = "transcript";
        // checked here too so that a redelivery reads no transcript.
        if self
            .outbox()
            .effect_done(P::CONSUMER, event, EFFECT)
            .await?
        {
            return Ok(());
        }
        let mut transcript = self
            .engine()
            .system()
            .public_transcript(ticket, TranscriptFormat::Html, &to.portal)
            .await?;
        let number = transcript.ticket.number;
        let plain_title = format!("Ticket {number} {}", transcript.ticket.subject);
        let title = format!("{number} {}", self.p().escape(&transcript.ticket.subject));
        let name = transcript.file_name();
        let content_type = transcript.content_type();
        let bytes = transcript.read_at_most(MAX_POSTED_TRANSCRIPT).await?;
        let by = self.p().escape(by);
        let (comment, file) = match &bytes {
            Some(bytes) => (
                format!("📄 Transcript of ticket {title}, closed by {by}."),
                Some(Upload {
                    name: &name,
                    title: &plain_title,
                    content_type,
                    bytes,
                }),
            ),
            None => (
                format!(
                    "📄 Ticket {title} was closed by {by}. Its transcript is too long to post here; it is on the ticket's page: {}/tickets/{}",
                    to.portal.trim_end_matches('/'),
                    number.0
                ),
                None,
            ),
        };
        let intent = Intent::new(format!("transcript:{event}"));
        let post = async {
            self.p()
                .post_file(&to.channel, &comment, file, &intent)
                .await
                .map(drop)
        };
        self.effect_once(event, EFFECT, &intent, Place::Channel(&to.channel), post)
            .await
    }

    /// Mirrors one event onto the platform.
    pub async fn deliver(&self, event: &Event) -> R<P> {
        let Some(ticket) = event.ticket_id else {
            if let EventPayload::PersonUpdated { person_id, .. } = &event.payload {
                return self.recheck_person(*person_id).await;
            }
            return self.p().other_event(event).await;
        };
        let id = Some(event.id);
        let mut steps = Steps::new(P::CONSUMER);
        // whoever lost access is taken off first, so that no redrawn card,
        // line or copy of this event reaches them (a ticket just opened has
        // no surfaces yet).
        let seen = match event.payload {
            EventPayload::TicketOpened { .. } => access::Surfaces::default(),
            _ => self.surfaces(ticket).await?,
        };
        let live = &seen.live;
        match &event.payload {
            EventPayload::TicketOpened { ticket: t, message } => {
                let facts = self
                    .engine()
                    .system()
                    .card_facts_since(t.id, event.id)
                    .await?;
                let first = std::slice::from_ref(message);
                if let Some(channel) = self.p().staff_channel(facts.department.as_deref()) {
                    steps.take("staff card", self.staff_card(t.id, &channel, first).await);
                }
                match P::CUSTOMERS {
                    CustomerSide::OwnCards => {
                        let line = self.p().opened_line(t.number);
                        steps.take(
                            "requester card",
                            self.person_card(id, t.id, t.requester_id, None, line.as_deref())
                                .await,
                        );
                    }
                    CustomerSide::SharedThread => {
                        if let Some(user) = self.p().user_of(t.requester_id).await? {
                            steps.take(
                                "ticket thread",
                                self.shared_thread(t.id, t.requester_id, &user, first, false)
                                    .await,
                            );
                        }
                    }
                }
            }
            EventPayload::ReplyPosted { message, .. }
            | EventPayload::NotePosted { message, .. } => {
                self.mirror(&mut steps, &seen, message).await?;
                let facts = self.redraw(&mut steps, ticket, id, &seen.all).await?;
                if !message.internal && message.author_role != "staff" {
                    steps.take(
                        "owner told",
                        self.tell_owner(event.id, &facts, message).await,
                    );
                }
            }
            EventPayload::MessageEdited { message, .. } => {
                // only where the message may still be shown: a closed card
                // or a thread someone who lost access is still in keeps its
                // old copy.
                let showing: Vec<String> = Self::showing(&seen, message)
                    .into_iter()
                    .map(|s| self.p().thread_of(s))
                    .collect();
                for link in self.engine().system().links_of_message(message.id).await? {
                    if link.authored
                        || link.at.platform != P::PLATFORM
                        || !showing.contains(&link.at.channel)
                    {
                        continue;
                    }
                    steps.take(
                        "copy edit",
                        self.p()
                            .edit_copy(&link.at, message)
                            .await
                            .map_err(platform),
                    );
                }
            }
            EventPayload::SubjectEdited { .. } => {
                let facts = self.redraw(&mut steps, ticket, id, &seen.all).await?;
                for s in live {
                    steps.take(
                        "thread name",
                        self.p().rename_thread(s, &facts).await.map_err(platform),
                    );
                }
            }
            EventPayload::StatusChanged { .. }
            | EventPayload::OwnerChanged { .. }
            | EventPayload::TicketRated { .. }
            | EventPayload::AutoClosePaused { .. } => {
                self.redraw(&mut steps, ticket, id, &seen.all).await?;
            }
            EventPayload::TicketMoved { to, .. } => {
                self.redraw(&mut steps, ticket, id, &seen.all).await?;
                steps.take(
                    "staff card moved",
                    self.move_staff_card(event, ticket, to.as_deref()).await,
                );
            }
            EventPayload::TicketClosed { number, reason, .. } => {
                self.redraw(&mut steps, ticket, id, &seen.all).await?;
                let by = match event.actor_id {
                    Some(a) => self.engine().person_alone(a).await?.display_name,
                    None => "Threadesk".to_owned(),
                };
                let why = match reason {
                    Some(r) => format!(": {}", r.text()),
                    None => String::new(),
                };
                let line = format!(
                    "🔒 {} closed ticket {number}{why}. To ask something new, use `{}`.",
                    self.p().escape(&by),
                    P::NEW_TICKET
                );
                for s in live {
                    let done = async {
                        self.line_once(event.id, s, &line).await?;
                        self.p().close_thread(s).await.map_err(platform)
                    };
                    steps.take("thread closed", done.await);
                }
                if let Some(to) = self.p().transcript_channel() {
                    steps.take(
                        "transcript posted",
                        self.post_transcript(event.id, ticket, &by, &to).await,
                    );
                }
            }
            EventPayload::DelegateInvited { number, delegate } => {
                let Some(person) = delegate.person_id else {
                    return Ok(());
                };
                let Some(user) = self.p().user_of(person).await? else {
                    return Ok(());
                };
                let outbox = self.outbox();
                if outbox
                    .effect_done(P::CONSUMER, event.id, "invitation")
                    .await?
                {
                    return Ok(());
                }
                let by = self.engine().person(delegate.invited_by).await?;
                let subject = self
                    .engine()
                    .system()
                    .card_facts(ticket)
                    .await?
                    .ticket
                    .subject;
                let invitation = Invitation {
                    delegate,
                    number: *number,
                    subject: &subject,
                    invited_by: &by.person.display_name,
                };
                let intent = Intent::new(format!("invite:{}", event.id));
                let sent = self
                    .made_once(&intent, Place::Dm(&user), async {
                        self.p()
                            .invite(&user, invitation, &intent)
                            .await
                            .map(|()| String::new())
                    })
                    .await;
                match sent {
                    Ok(_) => {}
                    Err(Failure::Platform(e)) if crate::PlatformError::is_permanent(&e) => {
                        // they cannot be written to here (the app is not
                        // theirs, they blocked it): the inviter is told.
                        tracing::warn!(consumer = P::CONSUMER, error = %e, "invitation not delivered");
                        let line = format!(
                            "I could not send {} the invitation here (they may not have the app); if e-mail is set up, it reaches them by mail.",
                            delegate.display_name()
                        );
                        // each line once; the invitation counts as done only
                        // once every line is there (a failed one is retried).
                        let mut told = Steps::new(P::CONSUMER);
                        for s in live
                            .iter()
                            .filter(|s| s.audience == Audience::Person(delegate.invited_by))
                        {
                            told.take("inviter told", self.line_once(event.id, s, &line).await);
                        }
                        told.finish()?;
                    }
                    Err(e) => return Err(e),
                }
                outbox
                    .record_effect(P::CONSUMER, event.id, "invitation")
                    .await?;
                self.recorded(&intent).await?;
            }
            EventPayload::DelegateAccepted { delegate, .. } => {
                if let Some(person) = delegate.person_id {
                    steps.take("delegate card", self.follow(ticket, person, None).await);
                }
            }
            EventPayload::DelegateRevoked { delegate, .. } => {
                if let Some(person) = delegate.person_id {
                    self.recheck(&mut steps, ticket, person).await?;
                }
            }
            _ => {}
        }
        self.timeline_lines(&mut steps, event, live).await?;
        steps.finish()
    }
}
