//! Teams as a chat platform ([`ChatPlatform`]): what the chat layer's one
//! outbox consumer (`teams`) asks of Teams, as Bot Connector calls and
//! Adaptive Cards. Customers follow a ticket on a card of their own in
//! their 1:1 chat with the bot (a chat without threads: copies there name
//! their ticket); the staff side is a thread in the triage channel started
//! by the ticket's card.

use crate::api::ApiError;
use crate::render;
use crate::TeamsAdapter;
use serde_json::json;
use threadesk_chat::{CardFor, ChatPlatform, CustomerSide, Hub, Invitation, Mirror};
use threadesk_core::domain::{Message, Platform};
use threadesk_core::links::PlatformRef;
use threadesk_core::outbox::Intent;
use threadesk_core::surfaces::{Audience, CardFacts, Surface};
use threadesk_core::TicketNumber;

/// A channel thread's conversation id: `<channel>;messageid=<root>`.
pub fn thread_id(channel: &str, root: &str) -> String {
    format!("{channel};messageid={root}")
}

/// A channel thread's channel and root, from its conversation id.
pub fn split_thread(conversation: &str) -> Option<(&str, &str)> {
    conversation
        .split_once(";messageid=")
        .filter(|(c, r)| !c.is_empty() && !r.is_empty())
}

// Teams cannot tell whether a call took effect: the Bot Connector takes no
// client token to de-duplicate on, and a bot cannot read a conversation's
// history back. So `find_posted` keeps its default (nothing found) and an
// intent found open is posted again: a crash exactly between Teams's
// answer and our record (one call wide) can repeat that one message.
impl ChatPlatform for TeamsAdapter {
    type Error = ApiError;
    const PLATFORM: Platform = Platform::Teams;
    const CUSTOMERS: CustomerSide = CustomerSide::OwnCards;
    const NEW_TICKET: &'static str = "new";

    fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    fn workspace(&self) -> &str {
        self.tenant()
    }

    fn escape(&self, text: &str) -> String {
        render::escape(text)
    }

    fn staff_channel(&self, department: Option<&str>) -> Option<String> {
        self.config().triage_channel(department).map(str::to_owned)
    }

    fn thread_of(&self, surface: &Surface) -> String {
        match surface.audience {
            Audience::Staff => thread_id(&surface.card.channel, &surface.card.message_id),
            _ => surface.card.channel.clone(),
        }
    }

    async fn post_dm(&self, user: &str, line: &str, _intent: &Intent) -> Result<(), ApiError> {
        let chat = self.open_dm(user).await?;
        self.api()
            .send(&self.service_url(), &chat, &render::line(line))
            .await
            .map(drop)
    }

    async fn open_dm(&self, user: &str) -> Result<String, ApiError> {
        let params = json!({
            "isGroup": false,
            "bot": { "id": self.bot_id() },
            "members": [{ "id": user }],
            "tenantId": self.tenant(),
            "channelData": { "tenant": { "id": self.tenant() } },
        });
        let (id, _) = self
            .api()
            .create_conversation(&self.service_url(), &params)
            .await?;
        Ok(id)
    }

    async fn post_card(
        &self,
        channel: &str,
        facts: &CardFacts,
        to: CardFor,
        _intent: &Intent,
    ) -> Result<String, ApiError> {
        let summary = format!("{} {}", facts.ticket.number, facts.ticket.subject);
        let activity = render::card_activity(render::card(facts, to), &summary);
        if to != CardFor::Staff {
            return self
                .api()
                .send(&self.service_url(), channel, &activity)
                .await;
        }
        // a staff card starts the ticket's thread in the channel.
        let params = json!({
            "isGroup": true,
            "channelData": { "channel": { "id": channel }, "tenant": { "id": self.tenant() } },
            "tenantId": self.tenant(),
            "activity": activity,
        });
        let (id, activity_id) = self
            .api()
            .create_conversation(&self.service_url(), &params)
            .await?;
        activity_id
            .or_else(|| split_thread(&id).map(|(_, root)| root.to_owned()))
            .ok_or_else(|| {
                ApiError::Transient("a new thread without its first message's id".into())
            })
    }

    async fn update_card(
        &self,
        surface: &Surface,
        facts: &CardFacts,
        to: CardFor,
    ) -> Result<(), ApiError> {
        let summary = format!("{} {}", facts.ticket.number, facts.ticket.subject);
        let activity = render::card_activity(render::card(facts, to), &summary);
        self.api()
            .update(
                &self.service_url(),
                &self.thread_of(surface),
                &surface.card.message_id,
                &activity,
            )
            .await
    }

    async fn post_message(
        &self,
        surface: &Surface,
        message: &Message,
        _intent: &Intent,
    ) -> Result<String, ApiError> {
        let number = self.number_in(surface.audience, message).await;
        self.api()
            .send(
                &self.service_url(),
                &self.thread_of(surface),
                &render::message(message, number),
            )
            .await
    }

    async fn post_line(
        &self,
        surface: &Surface,
        line: &str,
        _intent: &Intent,
    ) -> Result<(), ApiError> {
        self.api()
            .send(
                &self.service_url(),
                &self.thread_of(surface),
                &render::line(line),
            )
            .await
            .map(drop)
    }

    async fn edit_copy(&self, at: &PlatformRef, message: &Message) -> Result<(), ApiError> {
        let audience = if split_thread(&at.channel).is_some() {
            Audience::Staff
        } else {
            Audience::Shared
        };
        let number = self.number_in(audience, message).await;
        self.api()
            .update(
                &self.service_url(),
                &at.channel,
                &at.message_id,
                &render::message(message, number),
            )
            .await
    }

    async fn invite(
        &self,
        user: &str,
        invitation: Invitation<'_>,
        _intent: &Intent,
    ) -> Result<(), ApiError> {
        let card = render::invitation(
            invitation.delegate.id.0,
            invitation.number,
            invitation.subject,
            invitation.invited_by,
        );
        let chat = self.open_dm(user).await?;
        self.api()
            .send(
                &self.service_url(),
                &chat,
                &render::card_activity(card, "An invitation to follow a ticket"),
            )
            .await
            .map(drop)
    }

    fn opened_line(&self, number: TicketNumber) -> Option<String> {
        Some(format!(
            "Ticket {number} is open. Replies from support arrive in this chat; write here to add to it."
        ))
    }
}

impl TeamsAdapter {
    /// The chat layer's outbox consumer over this adapter.
    pub fn mirror(&self) -> Mirror<TeamsAdapter> {
        Mirror(self.clone())
    }

    /// A copy in a chat without threads names its ticket; one in a
    /// ticket's own thread does not need to.
    async fn number_in(&self, audience: Audience, m: &Message) -> Option<TicketNumber> {
        if audience == Audience::Staff {
            return None;
        }
        match self.engine().system().card_facts(m.ticket_id).await {
            Ok(f) => Some(f.ticket.number),
            Err(e) => {
                tracing::warn!(error = %e, "ticket number not found for a copy");
                None
            }
        }
    }
}
