//! From the engine to Slack: the outbox consumer `slack`. Each event
//! becomes cards, thread messages, DMs and card updates.
//!
//! Nothing is posted twice: before each step the worker looks at what is
//! already there (a surface, a message link, a recorded effect), so an event
//! handed out again after a crash or an outage repeats no step. Surfaces fail
//! alone: a channel the bot was removed from is logged and skipped, while the
//! others get their messages; a transient failure anywhere (Slack down, rate
//! limited, a token being fixed) hands the whole event back for later, and
//! the retry picks up only what is missing.

use crate::api::ApiError;
use crate::render::{self, CardFor};
use crate::SlackAdapter;
use crate::CONSUMER;
use serde_json::json;
use threadesk_core::domain::{Message, Platform};
use threadesk_core::links::Link;
use threadesk_core::outbox::{
    attempt, Attempt, Consumer, Event, EventPayload, Outbox, Permanence, Steps,
};
use threadesk_core::surfaces::{Audience, Surface};
use threadesk_core::{EngineError, EventId, PersonId, TicketId};

/// Why delivering an event failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Slack(#[from] ApiError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Permanence for Failure {
    fn is_permanent(&self) -> bool {
        match self {
            Failure::Slack(ApiError::Refused(_)) => true,
            Failure::Slack(ApiError::Transient(_)) => false,
            Failure::Engine(EngineError::NotFound(_)) => true,
            Failure::Engine(_) => false,
        }
    }
}

impl Consumer for SlackAdapter {
    const NAME: &'static str = CONSUMER;

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

impl SlackAdapter {
    fn outbox(&self) -> Outbox {
        Outbox::new(self.engine().db().clone())
    }

    /// Posts a person's own card of a ticket (with the history they may
    /// see) in the background: `/ticket show`, "Follow in DM".
    pub(crate) fn follow_in_background(&self, ticket: TicketId, person: PersonId, user: &str) {
        let me = self.clone();
        let user = user.to_owned();
        tokio::spawn(async move {
            if let Err(e) = me
                .person_card(None, ticket, person, Some(&user), None)
                .await
            {
                tracing::warn!(ticket.id = %ticket, error = %e, "card not posted");
            }
        });
    }

    async fn deliver(&self, event: &Event) -> Result<(), Failure> {
        let Some(ticket) = event.ticket_id else {
            return Ok(());
        };
        let id = Some(event.id);
        let mut steps = Steps::new(CONSUMER);
        match &event.payload {
            EventPayload::TicketOpened { ticket: t, message } => {
                let facts = self.engine().card_facts(t.id).await?;
                if let Some(channel) = self.config().triage_channel(facts.department.as_deref()) {
                    let channel = channel.to_owned();
                    let first = std::slice::from_ref(message);
                    steps.take(
                        "staff card",
                        self.card(id, t.id, Audience::Staff, &channel, first, None)
                            .await,
                    );
                }
                let note = format!(
                    "✅ Ticket *{}* is open. Replies from support arrive in this thread; reply here to add to it.",
                    t.number
                );
                steps.take(
                    "requester card",
                    self.person_card(id, t.id, t.requester_id, None, Some(&note))
                        .await,
                );
            }
            EventPayload::ReplyPosted { message, .. }
            | EventPayload::NotePosted { message, .. } => {
                self.mirror(&mut steps, ticket, message).await?;
                self.update_cards(&mut steps, ticket).await?;
            }
            EventPayload::MessageEdited { message, .. } => {
                let (text, blocks) = render::message(message);
                for link in self.engine().links_of_message(message.id).await? {
                    if link.authored || link.at.platform != Platform::Slack {
                        continue;
                    }
                    let body = json!({ "channel": link.at.channel, "ts": link.at.message_id, "text": text, "blocks": blocks });
                    steps.take(
                        "copy update",
                        self.api().update_message(body).await.map_err(Failure::from),
                    );
                }
            }
            EventPayload::SubjectEdited { .. } | EventPayload::StatusChanged { .. } => {
                self.update_cards(&mut steps, ticket).await?;
            }
            EventPayload::TicketClosed { number, .. } => {
                self.update_cards(&mut steps, ticket).await?;
                let by = match event.actor_id {
                    Some(a) => self.engine().person(a).await?.person.display_name,
                    None => "Threadesk".to_owned(),
                };
                let line = format!(
                    "🔒 {} closed ticket {number}. To ask something new, use `/ticket`.",
                    crate::text::escape(&by)
                );
                for s in self.live(ticket).await? {
                    steps.take("closed line", self.post_line(event.id, &s, &line).await);
                }
            }
            EventPayload::DelegateInvited { number, delegate } => {
                let Some(person) = delegate.person_id else {
                    return Ok(());
                };
                let Some(user) = self.slack_user_of(person).await? else {
                    return Ok(());
                };
                let outbox = self.outbox();
                if outbox.effect_done(CONSUMER, event.id, "invitation").await? {
                    return Ok(());
                }
                let by = self
                    .engine()
                    .person(delegate.invited_by)
                    .await?
                    .person
                    .display_name;
                let subject = self.engine().card_facts(ticket).await?.ticket.subject;
                let (text, blocks) = render::invitation(delegate.id.0, *number, &subject, &by);
                let channel = self.api().open_dm(&user).await?;
                self.api()
                    .post_message(json!({ "channel": channel, "text": text, "blocks": blocks }))
                    .await?;
                outbox
                    .record_effect(CONSUMER, event.id, "invitation")
                    .await?;
            }
            EventPayload::DelegateAccepted { delegate, .. } => {
                let Some(person) = delegate.person_id else {
                    return Ok(());
                };
                steps.take(
                    "delegate card",
                    self.person_card(id, ticket, person, None, None).await,
                );
            }
            EventPayload::DelegateRevoked { delegate, .. } => {
                let Some(person) = delegate.person_id else {
                    return Ok(());
                };
                if let Some(s) = self
                    .engine()
                    .surface_for(ticket, Platform::Slack, Audience::Person(person))
                    .await?
                {
                    self.engine().close_surface(&s.card).await?;
                    self.update_cards(&mut steps, ticket).await?;
                }
            }
            EventPayload::DelegateDeclined { delegate, .. } => {
                let who = delegate
                    .person_name
                    .clone()
                    .or_else(|| delegate.email.clone())
                    .unwrap_or_default();
                let line = format!(
                    "{} declined the invitation to follow this ticket.",
                    crate::text::escape(&who)
                );
                for s in self.live(ticket).await? {
                    if delegate
                        .person_id
                        .is_none_or(|p| s.audience != Audience::Person(p))
                    {
                        steps.take("declined line", self.post_line(event.id, &s, &line).await);
                    }
                }
            }
            _ => {}
        }
        steps.finish()
    }

    /// A person's card in their DMs with the history they may see. Posted
    /// once; a card that lost its access is made live again.
    async fn person_card(
        &self,
        event: Option<EventId>,
        ticket: TicketId,
        person: PersonId,
        user: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), Failure> {
        let user = match user {
            Some(u) => u.to_owned(),
            None => match self.slack_user_of(person).await? {
                Some(u) => u,
                None => return Ok(()),
            },
        };
        let audience = Audience::Person(person);
        let existing = self
            .engine()
            .surface_for(ticket, Platform::Slack, audience)
            .await?;
        if let Some(s) = existing.as_ref().filter(|s| !s.is_live()) {
            // access again (re-invited, or following again): live again.
            self.engine().reopen_surface(&s.card).await?;
            let mut steps = Steps::new(CONSUMER);
            self.update_cards(&mut steps, ticket).await?;
            steps.finish()?;
        }
        let history = self.engine().thread(person, ticket).await?.messages;
        let channel = match existing {
            Some(s) => s.card.channel,
            None => self.api().open_dm(&user).await?,
        };
        self.card(event, ticket, audience, &channel, &history, note)
            .await
    }

    /// Makes sure the audience has its card and every message of `history`
    /// in its thread (posting only what is missing).
    async fn card(
        &self,
        event: Option<EventId>,
        ticket: TicketId,
        audience: Audience,
        channel: &str,
        history: &[Message],
        note: Option<&str>,
    ) -> Result<(), Failure> {
        let surface = {
            // one card per audience even when a follow races the worker.
            let _one_at_a_time = self.inner.cards.lock().await;
            match self
                .engine()
                .surface_for(ticket, Platform::Slack, audience)
                .await?
            {
                Some(s) => s,
                None => {
                    let facts = self.engine().card_facts(ticket).await?;
                    let who = if audience == Audience::Staff {
                        CardFor::Staff
                    } else {
                        CardFor::Customer
                    };
                    let (text, blocks) = render::card(&facts, who);
                    let ts = self
                        .api()
                        .post_message(json!({ "channel": channel, "text": text, "blocks": blocks }))
                        .await?;
                    let at = self.at(channel, &ts);
                    self.engine().put_link(ticket, None, &at).await?;
                    self.engine().put_surface(ticket, &at, audience).await?
                }
            }
        };
        if let (Some(e), Some(n)) = (event, note) {
            self.post_line(e, &surface, n).await?;
        }
        let staff = self.sees_notes(audience).await?;
        let links = self.engine().links_of_ticket(ticket).await?;
        for m in history {
            if !m.internal || staff {
                self.copy_once(&surface, m, &links).await?;
            }
        }
        Ok(())
    }

    /// Whether an audience sees internal notes: the staff side, or a staff
    /// member's own card.
    async fn sees_notes(&self, audience: Audience) -> Result<bool, Failure> {
        Ok(match audience {
            Audience::Staff => true,
            Audience::Person(p) => self.engine().person(p).await?.person.is_staff,
        })
    }

    /// The ticket's live surfaces whose audience may still see it.
    async fn live(&self, ticket: TicketId) -> Result<Vec<Surface>, Failure> {
        let mut out = vec![];
        for s in self
            .engine()
            .surfaces_of_ticket(ticket, Platform::Slack)
            .await?
        {
            if !s.is_live() {
                continue;
            }
            if let Audience::Person(p) = s.audience {
                match self.engine().ticket(p, ticket).await {
                    Ok(_) => {}
                    Err(EngineError::NotFound(_)) => {
                        self.engine().close_surface(&s.card).await?;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            out.push(s);
        }
        Ok(out)
    }

    /// Copies a message to every surface that may see it and lacks it.
    async fn mirror(
        &self,
        steps: &mut Steps<Failure>,
        ticket: TicketId,
        message: &Message,
    ) -> Result<(), Failure> {
        let links = self.engine().links_of_message(message.id).await?;
        for s in self.live(ticket).await? {
            if message.internal && !self.sees_notes(s.audience).await? {
                continue;
            }
            steps.take("mirror", self.copy_once(&s, message, &links).await);
        }
        Ok(())
    }

    /// Posts a copy of a message in a surface's thread unless `links` (the
    /// message's, or its ticket's) show it is already in that channel
    /// (written there, or copied before).
    async fn copy_once(&self, s: &Surface, m: &Message, links: &[Link]) -> Result<(), Failure> {
        if links.iter().any(|l| {
            l.message_id == Some(m.id)
                && l.at.platform == Platform::Slack
                && l.at.channel == s.card.channel
        }) {
            return Ok(());
        }
        let (text, blocks) = render::message(m);
        let ts = self.post_in_thread(s, &text, blocks).await?;
        self.engine()
            .put_link(s.ticket_id, Some(m.id), &self.at(&s.card.channel, &ts))
            .await?;
        Ok(())
    }

    /// Posts a line in a surface's thread once per event.
    async fn post_line(&self, event: EventId, s: &Surface, line: &str) -> Result<(), Failure> {
        let outbox = self.outbox();
        let effect = format!("line:{}:{}", s.card.channel, s.card.message_id);
        if outbox.effect_done(CONSUMER, event, &effect).await? {
            return Ok(());
        }
        let (text, blocks) = render::line(line);
        self.post_in_thread(s, &text, blocks).await?;
        outbox.record_effect(CONSUMER, event, &effect).await?;
        Ok(())
    }

    async fn post_in_thread(
        &self,
        s: &Surface,
        text: &str,
        blocks: serde_json::Value,
    ) -> Result<String, Failure> {
        Ok(self
            .api()
            .post_message(json!({ "channel": s.card.channel, "thread_ts": s.card.message_id, "text": text, "blocks": blocks }))
            .await?)
    }

    /// Redraws every card of the ticket (status, subject, access).
    async fn update_cards(
        &self,
        steps: &mut Steps<Failure>,
        ticket: TicketId,
    ) -> Result<(), Failure> {
        let facts = self.engine().card_facts(ticket).await?;
        for s in self
            .engine()
            .surfaces_of_ticket(ticket, Platform::Slack)
            .await?
        {
            let who = match s.audience {
                Audience::Staff => CardFor::Staff,
                Audience::Person(_) if !s.is_live() => CardFor::Revoked,
                Audience::Person(_) => CardFor::Customer,
            };
            let (text, blocks) = render::card(&facts, who);
            let body = json!({ "channel": s.card.channel, "ts": s.card.message_id, "text": text, "blocks": blocks });
            steps.take(
                "card update",
                self.api().update_message(body).await.map_err(Failure::from),
            );
        }
        Ok(())
    }
}
