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
    fn p(&self) -> &P {
        &self.0
    }

    fn engine(&self) -> &threadesk_core::Engine {
        self.0.engine()
    }

    fn outbox(&self) -> Outbox {
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
                self.mirror(&mut steps, ticket, message).await?;
                self.update_cards(&mut steps, ticket).await?;
            }
            EventPayload::MessageEdited { message, .. } => {
                for link in self.engine().system().links_of_message(message.id).await? {
                    if link.authored || link.at.platform != P::PLATFORM {
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
                for s in self.live(ticket).await? {
                    steps.take(
                        "thread name",
                        self.p().rename_thread(&s, &facts).await.map_err(platform),
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
                for s in self.live(ticket).await? {
                    let done = async {
                        self.line_once(event.id, &s, &line).await?;
                        self.p().close_thread(&s).await.map_err(platform)
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
                self.p().invite(&user, invitation).await.map_err(platform)?;
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
                for s in self.live(ticket).await? {
                    if delegate
                        .person_id
                        .is_none_or(|p| s.audience != Audience::Person(p))
                    {
                        steps.take("declined line", self.line_once(event.id, &s, &line).await);
                    }
                }
            }
            _ => {}
        }
        steps.finish()
    }

    /// Brings a person who may see a ticket to it on the platform: their
    /// own card with the history they may see, or a place in the shared
    /// thread (made for them when the ticket has none yet there). `user`
    /// is their platform user when the caller knows it.
    pub async fn follow(&self, ticket: TicketId, person: PersonId, user: Option<&str>) -> R<P> {
        match P::CUSTOMERS {
            CustomerSide::OwnCards => self.person_card(None, ticket, person, user, None).await,
            CustomerSide::SharedThread => {
                let user = match user {
                    Some(u) => u.to_owned(),
                    None => match self.p().user_of(person).await? {
                        Some(u) => u,
                        None => return Ok(()),
                    },
                };
                let history = self.engine().thread(person, ticket).await?.messages;
                // asked for: added again even when recorded (they may have
                // left the thread by themselves).
                self.shared_thread(ticket, person, &user, &history, true)
                    .await
            }
        }
    }

    /// The ticket's shared customer thread, if it has one here.
    pub async fn shared_surface(&self, ticket: TicketId) -> Result<Option<Surface>, EngineError> {
        self.engine()
            .system()
            .surface_for(ticket, P::PLATFORM, Audience::Shared)
            .await
    }

    /// A person's own card in their DMs with the history they may see.
    /// Posted once; a card that lost its access is made live again.
    async fn person_card(
        &self,
        event: Option<EventId>,
        ticket: TicketId,
        person: PersonId,
        user: Option<&str>,
        line: Option<&str>,
    ) -> R<P> {
        let user = match user {
            Some(u) => u.to_owned(),
            None => match self.p().user_of(person).await? {
                Some(u) => u,
                None => return Ok(()),
            },
        };
        let audience = Audience::Person(person);
        let existing = self
            .engine()
            .system()
            .surface_for(ticket, P::PLATFORM, audience)
            .await?;
        // rights-checked as the person: "not found" when they may not see it.
        let history = self.engine().thread(person, ticket).await?.messages;
        if let Some(s) = existing.as_ref().filter(|s| !s.is_live()) {
            // access again (re-invited, or following again): live again.
            self.engine().system().reopen_surface(&s.card).await?;
            let mut steps = Steps::new(P::CONSUMER);
            self.update_cards(&mut steps, ticket).await?;
            steps.finish()?;
        }
        let channel = match existing {
            Some(s) => s.card.channel,
            None => self.p().open_dm(&user).await.map_err(platform)?,
        };
        let surface = self
            .card_once(ticket, audience, &channel, CardFor::Customer)
            .await?;
        if let (Some(e), Some(l)) = (event, line) {
            self.line_once(e, &surface, l).await?;
        }
        self.copy_history(&surface, &history).await
    }

    /// The triage card in a staff channel, its thread and the history.
    async fn staff_card(&self, ticket: TicketId, channel: &str, history: &[Message]) -> R<P> {
        let surface = self
            .card_once(ticket, Audience::Staff, channel, CardFor::Staff)
            .await?;
        let facts = self.engine().system().card_facts(ticket).await?;
        self.p().start_staff_thread(&surface, &facts).await?;
        self.copy_history(&surface, history).await
    }

    /// The ticket's shared thread with `person` in it, its card and the
    /// history: each step once (`rejoin`: the person is added to the
    /// thread again even when they are recorded as in it).
    async fn shared_thread(
        &self,
        ticket: TicketId,
        person: PersonId,
        user: &str,
        history: &[Message],
        rejoin: bool,
    ) -> R<P> {
        let surface = {
            let _one_at_a_time = self.p().hub().cards_lock().lock().await;
            match self.shared_surface(ticket).await? {
                Some(s) => s,
                None => {
                    let facts = self.engine().system().card_facts(ticket).await?;
                    let thread = self.p().create_shared_thread(ticket, &facts).await?;
                    self.p().add_member(&thread, user).await.map_err(platform)?;
                    let card = self
                        .p()
                        .post_card(&thread, &facts, CardFor::Customer)
                        .await
                        .map_err(platform)?;
                    let at = self.p().at(&thread, &card);
                    self.engine().system().put_link(ticket, None, &at).await?;
                    let s = self
                        .engine()
                        .system()
                        .put_surface(ticket, &at, Audience::Shared)
                        .await?;
                    self.engine()
                        .system()
                        .add_surface_member(s.id, person)
                        .await?;
                    s
                }
            }
        };
        if rejoin
            || !self
                .engine()
                .system()
                .surface_members(surface.id)
                .await?
                .contains(&person)
        {
            self.p()
                .add_member(&self.p().thread_of(&surface), user)
                .await
                .map_err(platform)?;
            self.engine()
                .system()
                .add_surface_member(surface.id, person)
                .await?;
        }
        self.copy_history(&surface, history).await
    }

    /// The audience's card, posted once.
    async fn card_once(
        &self,
        ticket: TicketId,
        audience: Audience,
        channel: &str,
        to: CardFor,
    ) -> Result<Surface, Failure<P::Error>> {
        let _one_at_a_time = self.p().hub().cards_lock().lock().await;
        if let Some(s) = self
            .engine()
            .system()
            .surface_for(ticket, P::PLATFORM, audience)
            .await?
        {
            return Ok(s);
        }
        let facts = self.engine().system().card_facts(ticket).await?;
        let card = self
            .p()
            .post_card(channel, &facts, to)
            .await
            .map_err(platform)?;
        let at = self.p().at(channel, &card);
        self.engine().system().put_link(ticket, None, &at).await?;
        Ok(self
            .engine()
            .system()
            .put_surface(ticket, &at, audience)
            .await?)
    }

    /// Copies every message of `history` the surface may show and lacks.
    async fn copy_history(&self, surface: &Surface, history: &[Message]) -> R<P> {
        let links = self
            .engine()
            .system()
            .links_of_ticket(surface.ticket_id)
            .await?;
        for m in history {
            if self
                .engine()
                .system()
                .may_show(surface, Shown::of(m))
                .await?
            {
                self.copy_once(surface, m, &links).await?;
            }
        }
        Ok(())
    }

    /// The ticket's live surfaces, after taking off them everyone who lost
    /// access: a person's card is closed and marked, a shared thread's
    /// member is removed from it. Nothing posted after reaches them.
    async fn live(&self, ticket: TicketId) -> Result<Vec<Surface>, Failure<P::Error>> {
        let mut out = vec![];
        for s in self
            .engine()
            .system()
            .surfaces_of_ticket(ticket, P::PLATFORM)
            .await?
        {
            if !s.is_live() {
                continue;
            }
            match s.audience {
                Audience::Person(p) => {
                    if self
                        .engine()
                        .system()
                        .role_on(p, ticket)
                        .await?
                        .is_none_or(|r| !r.can(threadesk_core::domain::Action::View))
                    {
                        self.close_card(&s).await?;
                        continue;
                    }
                }
                Audience::Shared => {
                    for p in self.engine().system().members_without_access(&s).await? {
                        self.remove_member(&s, p).await?;
                    }
                }
                Audience::Staff => {}
            }
            out.push(s);
        }
        Ok(out)
    }

    /// Closes a person's card that lost access and marks it so.
    async fn close_card(&self, s: &Surface) -> R<P> {
        self.engine().system().close_surface(&s.card).await?;
        let facts = self.engine().system().card_facts(s.ticket_id).await?;
        let mut closed = s.clone();
        closed.closed_at = Some(threadesk_core::time::Timestamp::now());
        match self
            .p()
            .update_card(&closed, &facts, CardFor::Revoked)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if crate::PlatformError::is_permanent(&e) => {
                tracing::warn!(consumer = P::CONSUMER, error = %e, "revoked card not redrawn");
                Ok(())
            }
            Err(e) => Err(Failure::Platform(e)),
        }
    }

    /// Takes a person out of a shared thread (the platform first: if that
    /// fails for now, nothing further is posted there until it worked).
    async fn remove_member(&self, s: &Surface, person: PersonId) -> R<P> {
        if let Some(user) = self.p().user_of(person).await? {
            match self.p().remove_member(&self.p().thread_of(s), &user).await {
                Ok(()) => {}
                // not in it any more (left, or removed by hand).
                Err(e) if crate::PlatformError::is_permanent(&e) => {
                    tracing::warn!(consumer = P::CONSUMER, error = %e, "thread member not removed");
                }
                Err(e) => return Err(Failure::Platform(e)),
            }
        }
        self.engine()
            .system()
            .remove_surface_member(s.id, person)
            .await?;
        Ok(())
    }

    /// Checks one person's standing on a ticket again: where they lost
    /// access, their card is closed or they leave the shared thread.
    async fn recheck(
        &self,
        steps: &mut Steps<Failure<P::Error>>,
        ticket: TicketId,
        person: PersonId,
    ) -> R<P> {
        let reads = self
            .engine()
            .system()
            .role_on(person, ticket)
            .await?
            .is_some_and(|r| r.can(threadesk_core::domain::Action::View));
        if reads {
            return Ok(());
        }
        for s in self
            .engine()
            .system()
            .followed_by(person, P::PLATFORM)
            .await?
        {
            if s.ticket_id != ticket {
                continue;
            }
            match s.audience {
                Audience::Person(_) => steps.take("card closed", self.close_card(&s).await),
                Audience::Shared => {
                    steps.take("member removed", self.remove_member(&s, person).await)
                }
                Audience::Staff => {}
            }
        }
        Ok(())
    }

    /// A person's standing changed (staff, organization, company admin):
    /// every ticket they follow here is checked again.
    async fn recheck_person(&self, person: PersonId) -> R<P> {
        let mut steps = Steps::new(P::CONSUMER);
        let mut tickets: Vec<TicketId> = self
            .engine()
            .system()
            .followed_by(person, P::PLATFORM)
            .await?
            .into_iter()
            .map(|s| s.ticket_id)
            .collect();
        tickets.dedup();
        for t in tickets {
            self.recheck(&mut steps, t, person).await?;
        }
        steps.finish()
    }

    /// Copies a message to every surface that may show it and lacks it.
    async fn mirror(
        &self,
        steps: &mut Steps<Failure<P::Error>>,
        ticket: TicketId,
        message: &Message,
    ) -> R<P> {
        let links = self.engine().system().links_of_message(message.id).await?;
        for s in self.live(ticket).await? {
            if self
                .engine()
                .system()
                .may_show(&s, Shown::of(message))
                .await?
            {
                steps.take("mirror", self.copy_once(&s, message, &links).await);
            }
        }
        Ok(())
    }

    /// Posts a copy of a message in a surface's thread unless `links` (the
    /// message's, or its ticket's) show it is already there (written
    /// there, or copied before).
    async fn copy_once(&self, s: &Surface, m: &Message, links: &[Link]) -> R<P> {
        let thread = self.p().thread_of(s);
        if links.iter().any(|l| {
            l.message_id == Some(m.id) && l.at.platform == P::PLATFORM && l.at.channel == thread
        }) {
            return Ok(());
        }
        let id = self.p().post_message(s, m).await.map_err(platform)?;
        self.engine()
            .system()
            .put_link(s.ticket_id, Some(m.id), &self.p().at(&thread, &id))
            .await?;
        Ok(())
    }

    /// Posts a line in a surface's thread once per event.
    async fn line_once(&self, event: EventId, s: &Surface, line: &str) -> R<P> {
        let outbox = self.outbox();
        let effect = format!("line:{}:{}", s.card.channel, s.card.message_id);
        if outbox.effect_done(P::CONSUMER, event, &effect).await? {
            return Ok(());
        }
        self.p().post_line(s, line).await.map_err(platform)?;
        outbox.record_effect(P::CONSUMER, event, &effect).await?;
        Ok(())
    }

    /// Redraws every card of the ticket (status, subject, access).
    async fn update_cards(&self, steps: &mut Steps<Failure<P::Error>>, ticket: TicketId) -> R<P> {
        let facts = self.engine().system().card_facts(ticket).await?;
        for s in self
            .engine()
            .system()
            .surfaces_of_ticket(ticket, P::PLATFORM)
            .await?
        {
            let to = match s.audience {
                Audience::Staff => CardFor::Staff,
                Audience::Person(_) if !s.is_live() => CardFor::Revoked,
                Audience::Person(_) | Audience::Shared => CardFor::Customer,
            };
            steps.take(
                "card update",
                self.p().update_card(&s, &facts, to).await.map_err(platform),
            );
        }
        Ok(())
    }
}
