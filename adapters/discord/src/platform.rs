//! Discord as a chat platform ([`ChatPlatform`]): what the chat layer's one
//! outbox consumer (`discord`) asks of Discord, as REST calls.
//!
//! A ticket has on Discord at most one customer thread: a private thread
//! in the support channel holding its card, shared by the requester and
//! the people following the ticket (members added and removed by the chat
//! layer). With a staff channel configured it also has a triage card
//! there, whose thread carries everything including internal notes. Each
//! thread is marked, once made, by a link whose message id is the thread's
//! own id, so a redelivered event makes no second thread.

use crate::api::ApiError;
use crate::render::{self, CardFor};
use crate::{snowflake, DiscordAdapter};
use serde_json::{json, Value};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ChannelId, MessageId};
use threadesk_chat::{
    ChatPlatform, CustomerSide, Failure, Hub, Invitation, Mirror, PlatformError, TranscriptChannel,
    Upload,
};
use threadesk_core::domain::{Message, Platform};
use threadesk_core::faults;
use threadesk_core::links::PlatformRef;
use threadesk_core::outbox::{Event, EventPayload, Intent};
use threadesk_core::surfaces::{Audience, CardFacts, Surface};
use threadesk_core::{EngineError, TicketId};

impl PlatformError for ApiError {
    fn is_gone(&self) -> bool {
        // 10007 Unknown Member, 10008 Unknown Message, 10013 Unknown User.
        matches!(self.code(), Some(10007 | 10008 | 10013))
    }

    fn is_permanent(&self) -> bool {
        matches!(self, ApiError::Refused(_))
    }
}

fn channel(id: &str) -> Result<ChannelId, ApiError> {
    snowflake(id)
        .map(ChannelId::new)
        .ok_or_else(|| ApiError::Refused(format!("bad channel id {id}").into()))
}

fn message_route(channel_id: &str, message: &str) -> Result<Route<'static>, ApiError> {
    Ok(Route::ChannelMessage {
        channel_id: channel(channel_id)?,
        message_id: MessageId::new(snowflake(message).unwrap_or(1)),
    })
}

impl ChatPlatform for DiscordAdapter {
    type Error = ApiError;
    const PLATFORM: Platform = Platform::Discord;
    const CUSTOMERS: CustomerSide = CustomerSide::SharedThread;
    const NEW_TICKET: &'static str = "/ticket open";
    // an open intent is looked up before a call is made again.
    const FINDS_REPEATS: bool = true;

    fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    fn workspace(&self) -> &str {
        self.guild()
    }

    fn escape(&self, text: &str) -> String {
        render::escape(text)
    }

    fn staff_channel(&self, _department: Option<&str>) -> Option<String> {
        self.config().staff_channel.map(|c| c.to_string())
    }

    fn thread_of(&self, surface: &Surface) -> String {
        crate::thread_of(surface).to_owned()
    }

    async fn open_dm(&self, user: &str) -> Result<String, ApiError> {
        let dm = self
            .api()
            .call(
                Route::UserMeDmChannels,
                LightMethod::Post,
                Some(&json!({ "recipient_id": user })),
                None,
            )
            .await?;
        Ok(dm["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn post_card(
        &self,
        channel_id: &str,
        facts: &CardFacts,
        to: CardFor,
        intent: &Intent,
    ) -> Result<String, ApiError> {
        let body = with_nonce(render::card(facts, to), &intent.token());
        self.post_in(channel_id, &body).await
    }

    async fn update_card(
        &self,
        surface: &Surface,
        facts: &CardFacts,
        to: CardFor,
    ) -> Result<(), ApiError> {
        let route = message_route(&surface.card.channel, &surface.card.message_id)?;
        let body = render::card(facts, to);
        self.api()
            .call(route, LightMethod::Patch, Some(&body), None)
            .await
            .map(drop)
    }

    async fn post_message(
        &self,
        surface: &Surface,
        message: &Message,
        intent: &Intent,
    ) -> Result<String, ApiError> {
        let thread = crate::thread_of(surface);
        let token = intent.token();
        let mut first = None;
        // each piece its own nonce: a retry re-sends the pieces already
        // there without making them again.
        for (i, piece) in render::message(message).iter().enumerate() {
            let body = with_nonce(render::line_raw(piece), &format!("{token}{i}"));
            let id = self.post_in(thread, &body).await?;
            first.get_or_insert(id);
        }
        Ok(first.unwrap_or_default())
    }

    async fn post_line(
        &self,
        surface: &Surface,
        line: &str,
        intent: &Intent,
    ) -> Result<(), ApiError> {
        let body = with_nonce(render::line(line), &intent.token());
        self.post_in(crate::thread_of(surface), &body)
            .await
            .map(drop)
    }

    async fn edit_copy(&self, at: &PlatformRef, message: &Message) -> Result<(), ApiError> {
        let pieces = render::message(message);
        let route = message_route(&at.channel, &at.message_id)?;
        let body = render::line_raw(pieces.first().map_or("", String::as_str));
        self.api()
            .call(route, LightMethod::Patch, Some(&body), None)
            .await
            .map(drop)
    }

    async fn invite(
        &self,
        user: &str,
        invitation: Invitation<'_>,
        intent: &Intent,
    ) -> Result<(), ApiError> {
        let body = render::invitation(
            invitation.delegate.id.0,
            &invitation.number.to_string(),
            invitation.subject,
            invitation.invited_by,
        );
        self.dm_body(user, &with_nonce(body, &intent.token()))
            .await
            .map(drop)
    }

    async fn post_dm(&self, user: &str, line: &str, intent: &Intent) -> Result<(), ApiError> {
        self.dm_body(user, &with_nonce(render::line(line), &intent.token()))
            .await
            .map(drop)
    }

    fn transcript_channel(&self) -> Option<TranscriptChannel> {
        let config = self.config();
        config.transcript_channel.map(|channel| TranscriptChannel {
            channel: channel.to_string(),
            portal: config.public_url.clone(),
        })
    }

    /// The message carries the intent's nonce with `enforce_nonce`, file or
    /// not: a retry within Discord's nonce window gets the message the
    /// first attempt made, nothing is uploaded twice.
    async fn post_file(
        &self,
        channel_id: &str,
        comment: &str,
        file: Option<Upload<'_>>,
        intent: &Intent,
    ) -> Result<String, ApiError> {
        let mut body = with_nonce(render::line(comment), &intent.token());
        let Some(file) = file else {
            return self.post_in(channel_id, &body).await;
        };
        body["attachments"] = json!([{ "id": "0", "filename": file.name }]);
        let sent = self
            .api()
            .call_with_file(
                Route::ChannelMessages {
                    channel_id: channel(channel_id)?,
                },
                LightMethod::Post,
                &body,
                file.name,
                file.bytes,
            )
            .await?;
        Ok(sent["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn start_staff_thread(
        &self,
        surface: &Surface,
        facts: &CardFacts,
    ) -> Result<(), Failure<ApiError>> {
        let card = surface.card.message_id.clone();
        if self.thread_marks(surface.ticket_id).await?.contains(&card) {
            return Ok(());
        }
        let body = json!({
            "name": thread_name(facts),
            "auto_archive_duration": 10080,
        });
        let route = Route::ChannelMessageThreads {
            channel_id: channel(&surface.card.channel).map_err(Failure::Platform)?,
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
            Err(e) => return Err(Failure::Platform(e)),
        }
        self.mark_thread(surface.ticket_id, &card).await?;
        Ok(())
    }

    async fn create_shared_thread(
        &self,
        ticket: TicketId,
        facts: &CardFacts,
    ) -> Result<String, Failure<ApiError>> {
        if let Some(t) = self.customer_thread_mark(ticket).await? {
            return Ok(t);
        }
        let support = self.config().support_channel.to_string();
        // a thread takes no nonce: a retry (any attempt of the event but
        // its first, or an intent left open) looks among the server's
        // active threads for the one an earlier attempt made before making
        // another.
        let intent = Intent::of_ticket(ticket, format!("thread:{}", ticket.0));
        let outbox = threadesk_core::outbox::Outbox::new(self.engine().db().clone());
        if outbox.open_intent(Self::CONSUMER, &intent).await?.is_some() {
            if let Some(id) = self
                .find_thread(&support, &thread_name(facts))
                .await
                .map_err(Failure::Platform)?
            {
                self.mark_thread(ticket, &id).await?;
                outbox.close_intent(Self::CONSUMER, &intent).await?;
                return Ok(id);
            }
        }
        faults::crash_point(faults::BEFORE_CALL, &intent.key);
        let body = json!({
            "name": thread_name(facts),
            "type": 12,
            "invitable": false,
            "auto_archive_duration": 10080,
        });
        let created = self
            .api()
            .call(
                Route::ChannelThreads {
                    channel_id: channel(&support).map_err(Failure::Platform)?,
                },
                LightMethod::Post,
                Some(&body),
                None,
            )
            .await
            .map_err(Failure::Platform)?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        faults::crash_point(faults::AFTER_CALL, &intent.key);
        self.mark_thread(ticket, &id).await?;
        faults::crash_point(faults::AFTER_RECORD, &intent.key);
        outbox.close_intent(Self::CONSUMER, &intent).await?;
        Ok(id)
    }

    async fn add_member(&self, thread: &str, user: &str) -> Result<(), ApiError> {
        self.member_change(thread, user, LightMethod::Put).await
    }

    async fn remove_member(&self, thread: &str, user: &str) -> Result<(), ApiError> {
        self.member_change(thread, user, LightMethod::Delete).await
    }

    async fn close_thread(&self, surface: &Surface) -> Result<(), ApiError> {
        self.edit_thread(surface, json!({ "archived": true, "locked": true }))
            .await
    }

    async fn rename_thread(&self, surface: &Surface, facts: &CardFacts) -> Result<(), ApiError> {
        self.edit_thread(surface, json!({ "name": thread_name(facts) }))
            .await
    }

    async fn other_event(&self, event: &Event) -> Result<(), Failure<ApiError>> {
        if let EventPayload::DepartmentChanged { .. } = &event.payload {
            // `/ticket open` offers the departments as choices.
            return match self.register_commands().await {
                Ok(()) => Ok(()),
                Err(crate::ConnectError::Platform(e)) => Err(Failure::Platform(e)),
                Err(crate::ConnectError::Engine(e)) => Err(e.into()),
                Err(e) => Err(Failure::Platform(ApiError::Refused(e.to_string().into()))),
            };
        }
        Ok(())
    }
}

impl DiscordAdapter {
    /// The chat layer's outbox consumer over this adapter.
    pub fn mirror(&self) -> Mirror<DiscordAdapter> {
        Mirror(self.clone())
    }

    /// The threads a ticket has on Discord, as far as they were created:
    /// each is marked by a link whose message id is the thread's own id.
    /// The triage thread is its card's (same id); the other is the
    /// customer thread.
    async fn thread_marks(&self, ticket: TicketId) -> Result<Vec<String>, EngineError> {
        Ok(self
            .engine()
            .system()
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

    async fn customer_thread_mark(&self, ticket: TicketId) -> Result<Option<String>, EngineError> {
        let staff = self
            .engine()
            .system()
            .surface_for(ticket, Platform::Discord, Audience::Staff)
            .await?
            .map(|s| s.card.message_id);
        Ok(self
            .thread_marks(ticket)
            .await?
            .into_iter()
            .find(|t| Some(t) != staff.as_ref()))
    }

    /// The bot's active thread named `name` under `parent`, if there is
    /// one (private threads included: the bot manages them).
    async fn find_thread(&self, parent: &str, name: &str) -> Result<Option<String>, ApiError> {
        let guild = snowflake(self.guild())
            .ok_or_else(|| ApiError::Refused("the server id is not a snowflake".into()))?;
        let active = self
            .api()
            .call(
                Route::GuildThreadsActive {
                    guild_id: serenity::model::id::GuildId::new(guild),
                },
                LightMethod::Get,
                None,
                None,
            )
            .await?;
        let me = self.bot_user();
        Ok(active["threads"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["parent_id"] == parent && t["name"] == name && t["owner_id"] == me)
            .and_then(|t| t["id"].as_str().map(str::to_owned)))
    }

    async fn mark_thread(&self, ticket: TicketId, thread: &str) -> Result<(), EngineError> {
        self.engine()
            .system()
            .put_link(ticket, None, &self.at(thread, thread))
            .await
            .map(drop)
    }

    async fn post_in(&self, channel_id: &str, body: &Value) -> Result<String, ApiError> {
        let sent = self
            .api()
            .call(
                Route::ChannelMessages {
                    channel_id: channel(channel_id)?,
                },
                LightMethod::Post,
                Some(body),
                None,
            )
            .await?;
        Ok(sent["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn edit_thread(&self, s: &Surface, body: Value) -> Result<(), ApiError> {
        self.api()
            .call(
                Route::Channel {
                    channel_id: channel(crate::thread_of(s))?,
                },
                LightMethod::Patch,
                Some(&body),
                None,
            )
            .await
            .map(drop)
    }

    /// Adds (`Put`) or removes (`Delete`) a member of a thread; an archived
    /// thread (tickets auto-archive after a week of quiet), which changes no
    /// members (50083), is opened first, then asked again.
    async fn member_change(
        &self,
        thread: &str,
        user: &str,
        method: LightMethod,
    ) -> Result<(), ApiError> {
        match self.thread_member(thread, user, method).await {
            Err(e) if e.code() == Some(50083) => {
                self.api()
                    .call(
                        Route::Channel {
                            channel_id: channel(thread)?,
                        },
                        LightMethod::Patch,
                        Some(&json!({ "archived": false })),
                        None,
                    )
                    .await?;
                self.thread_member(thread, user, method).await
            }
            done => done,
        }
    }

    /// Adds (`Put`) or removes (`Delete`) a member of a thread.
    pub(crate) async fn thread_member(
        &self,
        thread: &str,
        user: &str,
        method: LightMethod,
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
                method,
                None,
                None,
            )
            .await
            .map(drop)
    }
}

/// A message body that Discord creates at most once per nonce: with
/// `enforce_nonce`, a second create with the same nonce (a retry after a
/// crash between Discord's answer and our record) returns the message made
/// the first time instead of posting another.
fn with_nonce(mut body: Value, nonce: &str) -> Value {
    body["nonce"] = json!(nonce);
    body["enforce_nonce"] = json!(true);
    body
}

/// A thread's name: `#N subject`, within Discord's 100 characters.
fn thread_name(facts: &CardFacts) -> String {
    render::clip(
        &format!("{} {}", facts.ticket.number, facts.ticket.subject),
        100,
    )
}
