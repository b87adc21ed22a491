//! What happens in ticket threads: messages become replies (or notes),
//! edits edit them, a check mark closes; catching up after a gap.

use super::parse::{Edit, Ignored, Posted, Reaction};
use super::*;
use threadesk_chat::input;

/// The answer to a direct message that is not about a ticket.
const DM_HINT: &str =
    "To open a support ticket, use `/ticket open` in the server's support channel. \
To add to a ticket, write in its thread. `/ticket help` explains the rest.";

impl DiscordAdapter {
    /// Brings a person who may see a ticket into its customer thread (when
    /// it has one here); the thread id.
    pub(crate) async fn follow(
        &self,
        ticket: TicketId,
        person: &Person,
    ) -> Result<Option<String>, EngineError> {
        self.engine().ticket(person.id, ticket).await?;
        let Some(user) = self.user_of(person.id).await? else {
            return Ok(None);
        };
        let mirror = self.mirror();
        let Some(s) = mirror.shared_surface(ticket).await? else {
            return Ok(None);
        };
        if let Err(e) = mirror.follow(ticket, person.id, Some(&user)).await {
            tracing::warn!(error = %e, "could not add a member to a ticket thread");
        }
        Ok(Some(crate::thread_of(&s).to_owned()))
    }

    /// The surface a thread belongs to: a staff triage thread (its id is
    /// its card's) or a ticket's private thread (which holds its card).
    pub(crate) async fn surface_of_thread(
        &self,
        thread: &str,
    ) -> Result<Option<Surface>, EngineError> {
        if let Some(staff) = self.config().staff_channel {
            if let Some(s) = self
                .engine()
                .system()
                .surface_at(&self.at(&staff.to_string(), thread))
                .await?
            {
                return Ok(Some(s));
            }
        }
        // a ticket's private thread holds its customers' card; the staff
        // channel itself (which holds the triage cards) is no ticket's thread.
        Ok(self
            .engine()
            .system()
            .surfaces_in_channel(Platform::Discord, self.guild(), thread)
            .await?
            .into_iter()
            .find(|s| s.audience != Audience::Staff))
    }

    /// A message in a channel the bot sees: a reply (or, from staff in a
    /// triage thread, a `note:`) when it is in a ticket's thread.
    pub async fn on_message(&self, m: &Value) {
        if let Err(e) = self.message(m).await {
            tracing::warn!(error = %e, "discord message not recorded");
        }
    }

    pub(super) async fn message(&self, m: &Value) -> Result<(), EngineError> {
        let posted = match Posted::try_from(m) {
            Ok(p) => p,
            Err(Ignored(why)) => {
                tracing::debug!(why, "discord message ignored");
                return Ok(());
            }
        };
        let who = &posted.who;
        if who.bot || who.id == self.bot_user() || posted.webhook {
            return Ok(());
        }
        let (channel, id) = (posted.channel.as_str(), posted.id.as_str());
        let Some(surface) = self.surface_of_thread(channel).await? else {
            if posted.direct {
                // someone writing to the bot directly: say where things go.
                self.dm(&who.id, DM_HINT).await;
            }
            return Ok(());
        };
        let at = self.at(channel, id);
        if self.engine().system().link_at(&at).await?.is_some() {
            // seen before (recorded, or refused and told): a redelivery or
            // a catch-up reading it again.
            return Ok(());
        }
        let person = self.person(who).await?;
        let written = input::Written {
            text: posted.text.clone(),
            attachments: posted.attachments.clone(),
        };
        let ctx = ctx(&person, "message", id).with_origin(self.at(channel, id));
        match input::write(self, &person, &ctx, surface.ticket_id, written).await? {
            input::Wrote::Added { posted, note } => {
                if surface.audience == Audience::Shared {
                    // the note out of the customers' sight first.
                    if note {
                        self.withdraw_note(channel, id, &who.id, posted.ticket.number)
                            .await;
                    }
                    // writing in a thread joins it: they leave it with their access.
                    self.engine()
                        .system()
                        .add_surface_member(surface.id, person.id)
                        .await?;
                }
                return Ok(());
            }
            input::Wrote::Refused(r) => self.dm(&who.id, &r.told(self)).await,
        }
        // told once: a mark at the message's address, so a redelivery or a
        // catch-up after a reconnect does not tell them again.
        self.engine()
            .system()
            .put_link(surface.ticket_id, None, &at)
            .await?;
        Ok(())
    }

    /// An edited message: the engine message it became is edited too.
    pub async fn on_message_update(&self, m: &Value) {
        if let Err(e) = self.message_update(m).await {
            tracing::warn!(error = %e, "discord edit not recorded");
        }
    }

    pub(super) async fn message_update(&self, m: &Value) -> Result<(), EngineError> {
        let Ok(edit) = Edit::try_from(m) else {
            return Ok(());
        };
        if edit.who.bot || edit.who.id == self.bot_user() {
            return Ok(());
        }
        let at = self.at(&edit.channel, &edit.id);
        let Some(message) = input::authored_message(self, &at).await? else {
            return Ok(());
        };
        let person = self.person(&edit.who).await?;
        let ctx = ctx(&person, "edit", &format!("{}:{}", edit.id, edit.edited_at));
        if let Some(refused) = input::edit(self, &person, &ctx, message, &edit.text).await? {
            self.dm(&edit.who.id, &refused).await;
        }
        Ok(())
    }

    /// A reaction: ✅ in a ticket's thread (or on its triage card) closes it.
    pub async fn on_reaction(&self, r: &Value) {
        if let Err(e) = self.reaction(r).await {
            tracing::warn!(error = %e, "discord reaction not handled");
        }
    }

    pub(super) async fn reaction(&self, r: &Value) -> Result<(), EngineError> {
        let Ok(r) = Reaction::try_from(r) else {
            return Ok(());
        };
        if !input::is_closing(&r.emoji) || r.who.bot || r.who.id == self.bot_user() {
            return Ok(());
        }
        // a triage card itself first, then the thread the message is in.
        let mut surface = self
            .engine()
            .system()
            .surface_at(&self.at(&r.channel, &r.message))
            .await?;
        if surface.is_none() {
            surface = self.surface_of_thread(&r.channel).await?;
        }
        let Some(surface) = surface else {
            return Ok(());
        };
        let person = self.person(&r.who).await?;
        let key = format!("{}:{}:{}", r.channel, r.message, r.who.id);
        let ctx = ctx(&person, "reaction", &key);
        if let Some(refused) = input::close_by_reaction(self, &ctx, surface.ticket_id).await? {
            self.dm(&r.who.id, &refused).await;
        }
        Ok(())
    }

    /// A staff member's `note:` written in a customer thread was recorded
    /// as an internal note (kept on the staff side): it is removed from the
    /// thread and its author told so privately; where it cannot be removed,
    /// the author is told at once that the customer saw it.
    pub(super) async fn withdraw_note(
        &self,
        channel: &str,
        id: &str,
        user: &str,
        number: TicketNumber,
    ) {
        let removed = match crate::snowflake(id) {
            Some(m) => self
                .api()
                .call(
                    Route::ChannelMessage {
                        channel_id: ChannelId::new(crate::snowflake(channel).unwrap_or(1)),
                        message_id: serenity::model::id::MessageId::new(m),
                    },
                    LightMethod::Delete,
                    None,
                    None,
                )
                .await
                .map(drop),
            None => Err(crate::api::ApiError::Refused("bad message id".into())),
        };
        let told = match removed {
            // already gone: removed by hand, or by an earlier delivery.
            Err(e) if e.code() == Some(10008) => return,
            Ok(()) => format!(
                "Your internal note on ticket {number} was removed from the customer thread; it is kept on the staff side, where staff see it."
            ),
            Err(e) => {
                tracing::warn!(error = %e, "internal note not removed from a customer thread");
                format!(
                    "⚠️ Your internal note on ticket {number} could not be removed from the customer thread: the customer can see it there. It is kept as an internal note on the staff side."
                )
            }
        };
        self.dm(user, &told).await;
    }

    /// Tells one person something in their DMs, logging a failure.
    pub(crate) async fn dm(&self, user: &str, text: &str) {
        if let Err(e) = self.dm_body(user, &render::line(text)).await {
            tracing::warn!(error = %e, "direct message not delivered");
        }
    }

    pub(crate) async fn dm_body(
        &self,
        user: &str,
        body: &Value,
    ) -> Result<String, crate::api::ApiError> {
        use threadesk_chat::ChatPlatform;
        let channel = self.open_dm(user).await?;
        let channel = crate::snowflake(&channel).unwrap_or(1);
        let sent = self
            .api()
            .call(
                Route::ChannelMessages {
                    channel_id: ChannelId::new(channel),
                },
                LightMethod::Post,
                Some(body),
                None,
            )
            .await?;
        Ok(sent["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Records what was written in open ticket threads while the bot was
    /// away (after a gateway reconnect): each thread's history after the
    /// last message we know, oldest first, through the same path as live
    /// messages (so nothing is recorded twice).
    pub async fn catch_up(&self) -> Result<usize, EngineError> {
        let mut seen = 0;
        for s in self
            .engine()
            .system()
            .open_surfaces(Platform::Discord)
            .await?
        {
            let thread = crate::thread_of(&s).to_owned();
            let Some(c) = crate::snowflake(&thread) else {
                continue;
            };
            let links = self.engine().system().links_of_ticket(s.ticket_id).await?;
            // after the last message a person wrote there (the bot's own
            // copies may be newer than what was missed), else the card.
            let mut after = links
                .iter()
                .filter(|l| l.authored && l.at.channel == thread)
                .filter_map(|l| l.at.message_id.parse::<u64>().ok())
                .chain(crate::snowflake(&s.card.message_id))
                .max()
                .unwrap_or(0);
            for _ in 0..20 {
                let params = vec![("after", after.to_string()), ("limit", "100".to_owned())];
                let page = match self
                    .api()
                    .call(
                        Route::ChannelMessages {
                            channel_id: ChannelId::new(c),
                        },
                        LightMethod::Get,
                        None,
                        Some(params),
                    )
                    .await
                {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "thread history unavailable");
                        break;
                    }
                };
                let mut messages: Vec<Value> = page.as_array().cloned().unwrap_or_default();
                messages.sort_by_key(|m| {
                    m["id"]
                        .as_str()
                        .and_then(|i| i.parse::<u64>().ok())
                        .unwrap_or(0)
                });
                let full = messages.len() >= 100;
                for m in &messages {
                    after = after.max(m["id"].as_str().and_then(|i| i.parse().ok()).unwrap_or(0));
                    self.on_message(m).await;
                    seen += 1;
                }
                if !full {
                    break;
                }
            }
        }
        Ok(seen)
    }
}
