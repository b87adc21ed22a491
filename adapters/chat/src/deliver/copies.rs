//! Copies, lines and card redraws, each done once.

use super::*;

impl<P: ChatPlatform> Mirror<P> {
    /// The live surfaces that may show `message`, as their access was
    /// checked when the delivery took off them who lost it.
    pub(super) fn showing<'a>(seen: &'a access::Surfaces, message: &Message) -> Vec<&'a Surface> {
        seen.live
            .iter()
            .zip(&seen.readers)
            .filter(|(_, r)| r.may_show(Shown::of(message)))
            .map(|(s, _)| s)
            .collect()
    }

    /// Copies a message to every live surface that may show it and lacks it.
    pub(super) async fn mirror(
        &self,
        steps: &mut Steps<Failure<P::Error>>,
        seen: &access::Surfaces,
        message: &Message,
    ) -> R<P> {
        let links = self.engine().system().links_of_message(message.id).await?;
        for s in Self::showing(seen, message) {
            steps.take("mirror", self.copy_once(s, message, &links).await);
        }
        Ok(())
    }

    /// Posts a copy of a message in a surface's thread unless `links` (the
    /// message's, or its ticket's) show it is already there (written
    /// there, or copied before).
    pub(super) async fn copy_once(&self, s: &Surface, m: &Message, links: &[Link]) -> R<P> {
        let thread = self.p().thread_of(s);
        if links.iter().any(|l| {
            l.message_id == Some(m.id) && l.at.platform == P::PLATFORM && l.at.channel == thread
        }) {
            return Ok(());
        }
        let intent = Intent::of_ticket(s.ticket_id, format!("copy:{}:{}", m.id, s.id));
        let id = self
            .made_once(
                &intent,
                Place::Thread(s),
                self.p().post_message(s, m, &intent),
            )
            .await?;
        self.recorded_at(&intent, s.ticket_id, Some(m.id), &self.p().at(&thread, &id))
            .await
    }

    /// Posts a line in a surface's thread once per event.
    pub(super) async fn line_once(&self, event: EventId, s: &Surface, line: &str) -> R<P> {
        self.line_once_as("line", event, s, line).await
    }

    /// Posts a line of one kind (`line`, `timeline`) in a surface's thread
    /// once per event: an event may post one line of each kind there.
    async fn line_once_as(&self, kind: &str, event: EventId, s: &Surface, line: &str) -> R<P> {
        let effect = format!("{kind}:{}:{}", s.card.channel, s.card.message_id);
        let intent = Intent::new(format!("{kind}:{event}:{}", s.id));
        let post = self.p().post_line(s, line, &intent);
        self.effect_once(event, &effect, &intent, Place::Thread(s), post)
            .await
    }

    /// The change an event made, as a short line in each live thread that
    /// may see it: staff threads see every change, customers' threads not
    /// who owns the ticket. Closing has its own line (with what to do
    /// next), and a move its own lines where the card moves.
    pub(super) async fn timeline_lines(
        &self,
        steps: &mut Steps<Failure<P::Error>>,
        event: &Event,
        live: &[Surface],
    ) -> R<P> {
        use threadesk_core::timeline;
        if matches!(
            event.payload,
            EventPayload::TicketClosed { .. }
                | EventPayload::TicketMoved { .. }
                // the staff card shows the rating: the ticket's threads
                // are closed.
                | EventPayload::TicketRated { .. }
        ) || !timeline::KINDS.contains(&event.payload.kind())
        {
            return Ok(());
        }
        let actor = match event.actor_id {
            Some(a) => Some((a, self.engine().person_alone(a).await?.display_name)),
            None => None,
        };
        let internal = timeline::is_internal(&event.payload);
        for s in live {
            let staff = s.audience == Audience::Staff;
            if internal && !staff {
                continue;
            }
            let who = actor.as_ref().map(|(id, name)| (*id, name.as_str()));
            let Some(text) = timeline::describe(&event.payload, who, staff) else {
                continue;
            };
            let line = self.p().escape(&text);
            steps.take(
                "timeline line",
                self.line_once_as("timeline", event.id, s, &line).await,
            );
        }
        Ok(())
    }

    /// One step of an event that posts something and keeps no id of it (a
    /// line, a DM): skipped once its effect is recorded, else made through
    /// its intent ([`Mirror::made_once`]) and recorded.
    pub(super) async fn effect_once<F>(
        &self,
        event: EventId,
        effect: &str,
        intent: &Intent,
        place: Place<'_>,
        call: F,
    ) -> R<P>
    where
        F: std::future::Future<Output = Result<(), P::Error>>,
    {
        let outbox = self.outbox();
        if outbox.effect_done(P::CONSUMER, event, effect).await? {
            return Ok(());
        }
        self.made_once(intent, place, async { call.await.map(|()| String::new()) })
            .await?;
        outbox
            .record_effect_closing(P::CONSUMER, event, effect, intent)
            .await?;
        faults::crash_point(faults::AFTER_RECORD, &intent.key);
        Ok(())
    }

    /// Redraws every card of the ticket (status, subject, access).
    pub(super) async fn update_cards(
        &self,
        steps: &mut Steps<Failure<P::Error>>,
        ticket: TicketId,
    ) -> R<P> {
        let all = self
            .engine()
            .system()
            .surfaces_of_ticket(ticket, P::PLATFORM)
            .await?;
        self.redraw(steps, ticket, None, &all).await.map(drop)
    }

    /// Redraws these cards of a ticket (all of its surfaces here, as just
    /// read) with its facts: read now, or, delivering one of its events,
    /// as read for that event or a later one by any consumer
    /// ([`threadesk_core::System::card_facts_since`]); gives the facts.
    pub(super) async fn redraw(
        &self,
        steps: &mut Steps<Failure<P::Error>>,
        ticket: TicketId,
        delivering: Option<EventId>,
        all: &[Surface],
    ) -> Result<CardFacts, Failure<P::Error>> {
        let system = self.engine().system();
        let facts = match delivering {
            Some(event) => system.card_facts_since(ticket, event).await?,
            None => system.card_facts(ticket).await?,
        };
        for s in all {
            let to = match s.audience {
                Audience::Staff => CardFor::Staff,
                Audience::Person(_) if !s.is_live() => CardFor::Revoked,
                Audience::Person(_) | Audience::Shared => CardFor::Customer,
            };
            steps.take(
                "card update",
                self.p().update_card(s, &facts, to).await.map_err(platform),
            );
        }
        Ok(facts)
    }
}
