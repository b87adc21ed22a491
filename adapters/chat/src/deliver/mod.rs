//! The one outbox consumer of every chat platform: each engine event
//! becomes cards, thread messages, DMs, card updates and thread membership
//! changes on the platform, as core's visibility rules allow.
//!
//! Nothing is posted twice: before each step the mirror looks at what is
//! already there (a surface, a message link, a recorded effect), so an
//! event handed out again after a crash or an outage repeats no step.
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
use crate::platform::{CardFor, ChatPlatform, CustomerSide, Invitation};
use threadesk_core::domain::{Message, Shown};
use threadesk_core::links::Link;
use threadesk_core::outbox::{attempt, Attempt, Consumer, Event, EventPayload, Outbox, Steps};
use threadesk_core::surfaces::{Audience, Surface};
use threadesk_core::{EngineError, EventId, PersonId, TicketId};

/// The chat layer's outbox consumer over one platform.
#[derive(Clone)]
pub struct Mirror<P>(pub P);

type R<P> = Result<(), Failure<<P as ChatPlatform>::Error>>;

impl<P: ChatPlatform> Consumer for Mirror<P> {
    const NAME: &'static str = P::CONSUMER;

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
        let live = match event.payload {
            EventPayload::TicketOpened { .. } => vec![],
            _ => self.live(ticket).await?,
        };
        match &event.payload {
            EventPayload::TicketOpened { ticket: t, message } => {
                let facts = self.engine().system().card_facts(t.id).await?;
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
                self.mirror(&mut steps, &live, message).await?;
                self.update_cards(&mut steps, ticket).await?;
            }
            EventPayload::MessageEdited { message, .. } => {
                // only where the message may still be shown: a closed card
                // or a thread someone who lost access is still in keeps its
                // old copy.
                let showing: Vec<String> = self
                    .showing(&live, message)
                    .await?
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
                self.update_cards(&mut steps, ticket).await?;
                let facts = self.engine().system().card_facts(ticket).await?;
                for s in &live {
                    steps.take(
                        "thread name",
                        self.p().rename_thread(s, &facts).await.map_err(platform),
                    );
                }
            }
            EventPayload::StatusChanged { .. } => {
                self.update_cards(&mut steps, ticket).await?;
            }
            EventPayload::TicketClosed { number, .. } => {
                self.update_cards(&mut steps, ticket).await?;
                let by = match event.actor_id {
                    Some(a) => self.engine().person(a).await?.person.display_name,
                    None => "Threadesk".to_owned(),
                };
                let line = format!(
                    "🔒 {} closed ticket {number}. To ask something new, use `{}`.",
                    self.p().escape(&by),
                    P::NEW_TICKET
                );
                for s in &live {
                    let done = async {
                        self.line_once(event.id, s, &line).await?;
                        self.p().close_thread(s).await.map_err(platform)
                    };
                    steps.take("thread closed", done.await);
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
                match self.p().invite(&user, invitation).await {
                    Ok(()) => {}
                    Err(e) if crate::PlatformError::is_permanent(&e) => {
                        // they cannot be written to here (the app is not
                        // theirs, they blocked it): the inviter is told.
                        tracing::warn!(consumer = P::CONSUMER, error = %e, "invitation not delivered");
                        let line = format!(
                            "I could not send {} the invitation here (they may not have the app); if e-mail is set up, it reaches them by mail.",
                            delegate.display_name()
                        );
                        for s in live
                            .iter()
                            .filter(|s| s.audience == Audience::Person(delegate.invited_by))
                        {
                            steps.take(
                                "inviter told",
                                self.p().post_line(s, &line).await.map_err(platform),
                            );
                        }
                    }
                    Err(e) => return Err(platform(e)),
                }
                outbox
                    .record_effect(P::CONSUMER, event.id, "invitation")
                    .await?;
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
            EventPayload::DelegateDeclined { delegate, .. } => {
                let line = format!(
                    "{} declined the invitation to follow this ticket.",
                    self.p().escape(delegate.display_name())
                );
                for s in &live {
                    if delegate
                        .person_id
                        .is_none_or(|p| s.audience != Audience::Person(p))
                    {
                        steps.take("declined line", self.line_once(event.id, s, &line).await);
                    }
                }
            }
            _ => {}
        }
        steps.finish()
    }
}
