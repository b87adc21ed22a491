//! Surfaces made once: a person's own card, the staff card, the shared
//! customer thread, each with the history its audience may see.

use super::*;

impl<P: ChatPlatform> Mirror<P> {
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
    pub(super) async fn person_card(
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
    pub(super) async fn staff_card(
        &self,
        ticket: TicketId,
        channel: &str,
        history: &[Message],
    ) -> R<P> {
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
    pub(super) async fn shared_thread(
        &self,
        ticket: TicketId,
        person: PersonId,
        user: &str,
        history: &[Message],
        rejoin: bool,
    ) -> R<P> {
        let surface = {
            let _one_at_a_time = self.p().hub().cards_lock(ticket).lock().await;
            match self.shared_surface(ticket).await? {
                Some(s) => s,
                None => {
                    let facts = self.engine().system().card_facts(ticket).await?;
                    let thread = self.p().create_shared_thread(ticket, &facts).await?;
                    self.p().add_member(&thread, user).await.map_err(platform)?;
                    let intent = card_intent(ticket, Audience::Shared);
                    let card = self
                        .made_once(
                            &intent,
                            Place::Channel(&thread),
                            self.p()
                                .post_card(&thread, &facts, CardFor::Customer, &intent),
                        )
                        .await?;
                    let at = self.p().at(&thread, &card);
                    self.engine().system().put_link(ticket, None, &at).await?;
                    let s = self
                        .engine()
                        .system()
                        .put_surface(ticket, &at, Audience::Shared)
                        .await?;
                    self.recorded(&intent).await?;
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

    /// After a ticket moved department: when its new department's staff
    /// channel is another, the old triage thread says where it went and a
    /// new card (with the history staff see) is posted there, which the
    /// staff surface moves to. Each step once.
    pub(super) async fn move_staff_card(
        &self,
        event: &Event,
        ticket: TicketId,
        to: Option<&str>,
    ) -> R<P> {
        let Some(channel) = self.p().staff_channel(to) else {
            return Ok(());
        };
        let system = self.engine().system();
        let Some(mut surface) = system
            .surface_for(ticket, P::PLATFORM, Audience::Staff)
            .await?
        else {
            return Ok(());
        };
        let facts = system.card_facts(ticket).await?;
        if surface.card.channel != channel {
            let line = format!(
                "➡️ Moved to {}; it goes on in that department's channel.",
                self.p().escape(to.unwrap_or("no department"))
            );
            self.line_once(event.id, &surface, &line).await?;
            // the card left behind says where the ticket went, buttons off.
            match self.p().update_card(&surface, &facts, CardFor::Moved).await {
                Ok(()) => {}
                Err(e) if crate::PlatformError::is_permanent(&e) => {
                    tracing::warn!(consumer = P::CONSUMER, error = %e, "moved card not redrawn");
                }
                Err(e) => return Err(Failure::Platform(e)),
            }
            let intent = Intent::of_ticket(
                ticket,
                format!("card:{}:staff:moved:{}", ticket.0, event.id),
            );
            let card = self
                .made_once(
                    &intent,
                    Place::Channel(&channel),
                    self.p()
                        .post_card(&channel, &facts, CardFor::Staff, &intent),
                )
                .await?;
            let at = self.p().at(&channel, &card);
            system.put_link(ticket, None, &at).await?;
            surface = system.move_surface(surface.id, &at).await?;
            self.recorded(&intent).await?;
        }
        // (again on a redelivery: each of these does only what is missing.)
        self.p().start_staff_thread(&surface, &facts).await?;
        let Some(actor) = event.actor_id else {
            return Ok(());
        };
        let history = self.engine().thread(actor, ticket).await?.messages;
        self.copy_history(&surface, &history).await
    }

    /// The audience's card, posted once.
    pub(super) async fn card_once(
        &self,
        ticket: TicketId,
        audience: Audience,
        channel: &str,
        to: CardFor,
    ) -> Result<Surface, Failure<P::Error>> {
        let _one_at_a_time = self.p().hub().cards_lock(ticket).lock().await;
        if let Some(s) = self
            .engine()
            .system()
            .surface_for(ticket, P::PLATFORM, audience)
            .await?
        {
            return Ok(s);
        }
        let facts = self.engine().system().card_facts(ticket).await?;
        let intent = card_intent(ticket, audience);
        let card = self
            .made_once(
                &intent,
                Place::Channel(channel),
                self.p().post_card(channel, &facts, to, &intent),
            )
            .await?;
        let at = self.p().at(channel, &card);
        self.engine().system().put_link(ticket, None, &at).await?;
        let surface = self
            .engine()
            .system()
            .put_surface(ticket, &at, audience)
            .await?;
        self.recorded(&intent).await?;
        Ok(surface)
    }

    /// Copies every message of `history` the surface may show and lacks.
    pub(super) async fn copy_history(&self, surface: &Surface, history: &[Message]) -> R<P> {
        let links = self
            .engine()
            .system()
            .links_of_ticket(surface.ticket_id)
            .await?;
        // who reads the surface is read once for the whole copy, as a
        // delivery judges all its messages by one read (the history was
        // read with the same rights a moment before); access lost during
        // the copy has its own event, whose delivery takes the person off.
        let reader = self.engine().system().reader(surface).await?;
        for m in history {
            if reader.may_show(Shown::of(m)) {
                self.copy_once(surface, m, &links).await?;
            }
        }
        Ok(())
    }
}

/// The intent of a ticket's card for an audience (one each, ever).
fn card_intent(ticket: TicketId, audience: Audience) -> Intent {
    let whose = match audience {
        Audience::Staff => "staff".to_owned(),
        Audience::Shared => "shared".to_owned(),
        Audience::Person(p) => format!("p{}", p.0),
    };
    Intent::of_ticket(ticket, format!("card:{}:{whose}", ticket.0))
}
