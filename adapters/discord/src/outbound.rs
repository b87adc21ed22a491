//! From the engine to Discord: the outbox consumer `discord`. Each event
//! becomes private ticket threads, cards, thread messages, DMs, card edits
//! and thread membership changes.
//!
//! A ticket has on Discord at most one customer thread: a private thread in
//! the support channel holding its card, with the requester and accepted
//! delegates as members. With a staff channel configured it also has a
//! triage card there, whose thread carries everything including internal
//! notes. Nothing is posted twice: before each step the worker looks at
//! what is already there (a thread mark, a surface, a message link, a
//! recorded effect), so an event handed out again repeats no step; a
//! transient failure hands the event back for later, and the retry picks up
//! only what is missing.

use crate::api::ApiError;
use crate::render::{self, CardFor};
use crate::{snowflake, thread_of, DiscordAdapter, CONSUMER};
use serde_json::{json, Value};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ChannelId, MessageId};
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
    Discord(#[from] ApiError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Permanence for Failure {
    fn is_permanent(&self) -> bool {
        matches!(
            self,
            Failure::Discord(ApiError::Refused(_)) | Failure::Engine(EngineError::NotFound(_))
        )
    }
}

fn channel(id: &str) -> Result<ChannelId, Failure> {
    snowflake(id)
        .map(ChannelId::new)
        .ok_or_else(|| Failure::Discord(ApiError::Refused(format!("bad channel id {id}"))))
}

impl Consumer for DiscordAdapter {
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

impl DiscordAdapter {
    fn outbox(&self) -> Outbox {
        Outbox::new(self.engine().db().clone())
    }

    async fn deliver(&self, event: &Event) -> Result<(), Failure> {
        if let EventPayload::DepartmentChanged { .. } = &event.payload {
            // `/ticket open` offers the departments as choices.
            return match self.register_commands().await {
                Ok(()) => Ok(()),
                Err(crate::ConnectError::Discord(e)) => Err(e.into()),
                Err(crate::ConnectError::Engine(e)) => Err(e.into()),
                Err(e) => Err(Failure::Discord(ApiError::Refused(e.to_string()))),
            };
        }
        let Some(ticket) = event.ticket_id else {
            return Ok(());
        };
        let mut steps = Steps::new(CONSUMER);
        match &event.payload {
            EventPayload::TicketOpened { ticket: t, message } => {
                let first = std::slice::from_ref(message);
                if self.config().staff_channel.is_some() {
                    steps.take("triage card", self.staff_card(t.id, first).await);
                }
                if let Some(user) = self.discord_user_of(t.requester_id).await? {
                    steps.take(
                        "ticket thread",
                        self.customer_thread(t.id, t.requester_id, &user, first)
                            .await,
                    );
                }
            }
            EventPayload::ReplyPosted { message, .. }
            | EventPayload::NotePosted { message, .. } => {
                let links = self.engine().links_of_message(message.id).await?;
                for s in self.live(ticket).await? {
                    if message.internal && s.audience != Audience::Staff {
                        continue;
                    }
                    steps.take("mirror", self.copy_once(&s, message, &links).await);
                }
                self.update_cards(&mut steps, ticket).await?;
            }
            EventPayload::MessageEdited { message, .. } => {
                let pieces = render::message(message);
                for link in self.engine().links_of_message(message.id).await? {
                    if link.authored || link.at.platform != Platform::Discord {
                        continue;
                    }
                    steps.take("copy edit", self.edit_copy(&link, &pieces[0]).await);
                }
            }
            EventPayload::SubjectEdited { .. } => {
                self.update_cards(&mut steps, ticket).await?;
                let facts = self.engine().card_facts(ticket).await?;
                let name = thread_name(&facts.ticket.number.to_string(), &facts.ticket.subject);
                for s in self.live(ticket).await? {
                    steps.take(
                        "thread name",
                        self.edit_thread(&s, json!({ "name": name })).await,
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
                    "🔒 {} closed ticket {number}. To ask something new, use `/ticket open`.",
                    render::escape(&by)
                );
                for s in self.live(ticket).await? {
                    let done = async {
                        self.post_line(event.id, &s, &line).await?;
                        self.edit_thread(&s, json!({ "archived": true, "locked": true }))
                            .await
                    };
                    steps.take("thread closed", done.await);
                }
            }
            EventPayload::DelegateInvited { number, delegate } => {
                let Some(person) = delegate.person_id else {
                    return Ok(());
                };
                let Some(user) = self.discord_user_of(person).await? else {
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
                let body = render::invitation(delegate.id.0, &number.to_string(), &subject, &by);
                self.dm_body(&user, &body).await?;
                outbox
                    .record_effect(CONSUMER, event.id, "invitation")
                    .await?;
            }
            EventPayload::DelegateAccepted { delegate, .. } => {
                let Some(person) = delegate.person_id else {
                    return Ok(());
                };
                let Some(user) = self.discord_user_of(person).await? else {
                    return Ok(());
                };
                match self.customer_surface(ticket).await? {
                    Some(s) => {
                        self.add_to_thread(thread_of(&s), &user).await?;
                    }
                    None => {
                        // the requester is not on Discord: the thread is the delegate's.
                        let history = self.engine().thread(person, ticket).await?.messages;
                        steps.take(
                            "ticket thread",
                            self.customer_thread(ticket, person, &user, &history).await,
                        );
                    }
                }
            }
            EventPayload::DelegateRevoked { delegate, .. } => {
                let Some(person) = delegate.person_id else {
                    return Ok(());
                };
                if let (Some(user), Some(s)) = (
                    self.discord_user_of(person).await?,
                    self.customer_surface(ticket).await?,
                ) {
                    if s.audience == Audience::Person(person) {
                        // their own thread (the requester is elsewhere): it ends.
                        self.engine().close_surface(&s.card).await?;
                    }
                    self.remove_from_thread(thread_of(&s), &user).await?;
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
                    render::escape(&who)
                );
                for s in self.live(ticket).await? {
                    steps.take("declined line", self.post_line(event.id, &s, &line).await);
                }
            }
            _ => {}
        }
        steps.finish()
    }

    /// The ticket's live Discord surfaces.
    async fn live(&self, ticket: TicketId) -> Result<Vec<Surface>, Failure> {
        Ok(self
            .engine()
            .surfaces_of_ticket(ticket, Platform::Discord)
            .await?
            .into_iter()
            .filter(Surface::is_live)
            .collect())
    }

    /// The threads a ticket has on Discord, as far as they were created:
    /// each is marked by a link whose message id is the thread's own id.
    /// The triage thread is its card's (same id); the other is the
    /// customer thread.
    async fn thread_marks(&self, ticket: TicketId) -> Result<Vec<String>, Failure> {
        Ok(self
            .engine()
            .links_of_ticket(ticket)
            .await?
            .into_iter()
            .filter(|l| {
                l.message_id.is_none()
                    && l.at.platform == Platform::Discord
                    && l.at.channel == l.at.message_id
            })
            .map(|l| l.at.channel)
            .collect())
    }

    async fn customer_thread_mark(&self, ticket: TicketId) -> Result<Option<String>, Failure> {
        let staff = self
            .engine()
            .surface_for(ticket, Platform::Discord, Audience::Staff)
            .await?
            .map(|s| s.card.message_id);
        Ok(self
            .thread_marks(ticket)
            .await?
            .into_iter()
            .find(|t| Some(t) != staff.as_ref()))
    }

    /// The ticket's private thread with `user` in it, its card and the
    /// history: each step once.
    async fn customer_thread(
        &self,
        ticket: TicketId,
        person: PersonId,
        user: &str,
        history: &[Message],
    ) -> Result<(), Failure> {
        let surface = {
            let _one_at_a_time = self.inner.cards.lock().await;
            match self.customer_surface(ticket).await? {
                Some(s) => s,
                None => {
                    let support = self.config().support_channel.to_string();
                    let thread = match self.customer_thread_mark(ticket).await? {
                        Some(t) => t,
                        None => {
                            let facts = self.engine().card_facts(ticket).await?;
                            let body = json!({
                                "name": thread_name(&facts.ticket.number.to_string(), &facts.ticket.subject),
                                "type": 12,
                                "invitable": false,
                                "auto_archive_duration": 10080,
                            });
                            let created = self
                                .api()
                                .call(
                                    Route::ChannelThreads {
                                        channel_id: channel(&support)?,
                                    },
                                    LightMethod::Post,
                                    Some(&body),
                                    None,
                                )
                                .await?;
                            let id = created["id"].as_str().unwrap_or_default().to_owned();
                            self.mark_thread(ticket, &id).await?;
                            id
                        }
                    };
                    self.add_to_thread(&thread, user).await?;
                    let card = self.post_card(ticket, &thread, CardFor::Customer).await?;
                    let at = self.at(&thread, &card);
                    self.engine().put_link(ticket, None, &at).await?;
                    self.engine()
                        .put_surface(ticket, &at, Audience::Person(person))
                        .await?
                }
            }
        };
        let links = self.engine().links_of_ticket(ticket).await?;
        for m in history.iter().filter(|m| !m.internal) {
            self.copy_once(&surface, m, &links).await?;
        }
        Ok(())
    }

    /// The triage card in the staff channel, its thread and the history.
    async fn staff_card(&self, ticket: TicketId, history: &[Message]) -> Result<(), Failure> {
        let Some(staff) = self.config().staff_channel.map(|c| c.to_string()) else {
            return Ok(());
        };
        let surface = {
            let _one_at_a_time = self.inner.cards.lock().await;
            match self
                .engine()
                .surface_for(ticket, Platform::Discord, Audience::Staff)
                .await?
            {
                Some(s) => s,
                None => {
                    let card = self.post_card(ticket, &staff, CardFor::Staff).await?;
                    let at = self.at(&staff, &card);
                    self.engine().put_link(ticket, None, &at).await?;
                    self.engine()
                        .put_surface(ticket, &at, Audience::Staff)
                        .await?
                }
            }
        };
        let card = surface.card.message_id.clone();
        if !self.thread_marks(ticket).await?.contains(&card) {
            let facts = self.engine().card_facts(ticket).await?;
            let body = json!({
                "name": thread_name(&facts.ticket.number.to_string(), &facts.ticket.subject),
                "auto_archive_duration": 10080,
            });
            let route = Route::ChannelMessageThreads {
                channel_id: channel(&staff)?,
                message_id: MessageId::new(snowflake(&card).unwrap_or(1)),
            };
            match self
                .api()
                .call(route, LightMethod::Post, Some(&body), None)
                .await
            {
                Ok(_) => {}
                // 160004: a thread was already created from this message.
                Err(e) if e.code() == Some(160004) => {}
                Err(e) => return Err(e.into()),
            }
            self.mark_thread(ticket, &card).await?;
        }
        let links = self.engine().links_of_ticket(ticket).await?;
        for m in history {
            self.copy_once(&surface, m, &links).await?;
        }
        Ok(())
    }

    async fn mark_thread(&self, ticket: TicketId, thread: &str) -> Result<(), Failure> {
        self.engine()
            .put_link(ticket, None, &self.at(thread, thread))
            .await?;
        Ok(())
    }

    async fn post_card(
        &self,
        ticket: TicketId,
        channel_id: &str,
        who: CardFor,
    ) -> Result<String, Failure> {
        let facts = self.engine().card_facts(ticket).await?;
        let body = render::card(&facts, who);
        let sent = self
            .api()
            .call(
                Route::ChannelMessages {
                    channel_id: channel(channel_id)?,
                },
                LightMethod::Post,
                Some(&body),
                None,
            )
            .await?;
        Ok(sent["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Posts a copy of a message in a surface's thread unless `links` show
    /// it is already there (written there, or copied before).
    async fn copy_once(&self, s: &Surface, m: &Message, links: &[Link]) -> Result<(), Failure> {
        let thread = thread_of(s);
        if links.iter().any(|l| {
            l.message_id == Some(m.id)
                && l.at.platform == Platform::Discord
                && l.at.channel == thread
        }) {
            return Ok(());
        }
        let mut first = None;
        for piece in render::message(m) {
            let id = self.post_in(thread, &render::line_raw(&piece)).await?;
            first.get_or_insert(id);
        }
        if let Some(id) = first {
            self.engine()
                .put_link(s.ticket_id, Some(m.id), &self.at(thread, &id))
                .await?;
        }
        Ok(())
    }

    async fn edit_copy(&self, link: &Link, text: &str) -> Result<(), Failure> {
        let route = Route::ChannelMessage {
            channel_id: channel(&link.at.channel)?,
            message_id: MessageId::new(snowflake(&link.at.message_id).unwrap_or(1)),
        };
        self.api()
            .call(
                route,
                LightMethod::Patch,
                Some(&render::line_raw(text)),
                None,
            )
            .await?;
        Ok(())
    }

    async fn post_in(&self, thread: &str, body: &Value) -> Result<String, Failure> {
        let sent = self
            .api()
            .call(
                Route::ChannelMessages {
                    channel_id: channel(thread)?,
                },
                LightMethod::Post,
                Some(body),
                None,
            )
            .await?;
        Ok(sent["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Posts a line in a surface's thread once per event.
    async fn post_line(&self, event: EventId, s: &Surface, line: &str) -> Result<(), Failure> {
        let outbox = self.outbox();
        let effect = format!("line:{}", thread_of(s));
        if outbox.effect_done(CONSUMER, event, &effect).await? {
            return Ok(());
        }
        self.post_in(thread_of(s), &render::line(line)).await?;
        outbox.record_effect(CONSUMER, event, &effect).await?;
        Ok(())
    }

    async fn edit_thread(&self, s: &Surface, body: Value) -> Result<(), Failure> {
        self.api()
            .call(
                Route::Channel {
                    channel_id: channel(thread_of(s))?,
                },
                LightMethod::Patch,
                Some(&body),
                None,
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn remove_from_thread(
        &self,
        thread: &str,
        user: &str,
    ) -> Result<(), ApiError> {
        let (Some(c), Some(u)) = (snowflake(thread), snowflake(user)) else {
            return Ok(());
        };
        self.api()
            .call(
                Route::ChannelThreadMember {
                    channel_id: ChannelId::new(c),
                    user_id: u.into(),
                },
                LightMethod::Delete,
                None,
                None,
            )
            .await
            .map(drop)
    }

    /// Redraws every card of the ticket (status, subject).
    async fn update_cards(
        &self,
        steps: &mut Steps<Failure>,
        ticket: TicketId,
    ) -> Result<(), Failure> {
        let facts = self.engine().card_facts(ticket).await?;
        for s in self
            .engine()
            .surfaces_of_ticket(ticket, Platform::Discord)
            .await?
        {
            let who = match s.audience {
                Audience::Staff => CardFor::Staff,
                Audience::Person(_) => CardFor::Customer,
            };
            let body = render::card(&facts, who);
            let done = async {
                let route = Route::ChannelMessage {
                    channel_id: channel(&s.card.channel)?,
                    message_id: MessageId::new(snowflake(&s.card.message_id).unwrap_or(1)),
                };
                self.api()
                    .call(route, LightMethod::Patch, Some(&body), None)
                    .await?;
                Ok(())
            };
            steps.take("card update", done.await);
        }
        Ok(())
    }
}

/// A thread's name: `#N subject`, within Discord's 100 characters.
fn thread_name(number: &str, subject: &str) -> String {
    render::clip(&format!("{number} {subject}"), 100)
}
