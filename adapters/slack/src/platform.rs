//! Slack as a chat platform ([`ChatPlatform`]): what the chat layer's one
//! outbox consumer (`slack`) asks of Slack, as Web API calls and Block Kit.
//! Customers follow a ticket on a card of their own in their DMs; the
//! triage channel's card thread is the staff side. Which surface shows what
//! is decided by the chat layer from core's rules, not here.

use crate::api::ApiError;
use crate::render::{self, CardFor};
use crate::SlackAdapter;
use serde_json::json;
use threadesk_chat::{ChatPlatform, CustomerSide, Hub, Invitation, Mirror, Place, PlatformError};
use threadesk_core::domain::{Message, Platform};
use threadesk_core::links::PlatformRef;
use threadesk_core::outbox::Intent;
use threadesk_core::surfaces::{CardFacts, Surface};
use threadesk_core::time::Timestamp;
use threadesk_core::{PersonId, TicketId, TicketNumber};

impl PlatformError for ApiError {
    fn is_permanent(&self) -> bool {
        matches!(self, ApiError::Refused { .. })
    }
}

impl ChatPlatform for SlackAdapter {
    type Error = ApiError;
    const PLATFORM: Platform = Platform::Slack;
    const CUSTOMERS: CustomerSide = CustomerSide::OwnCards;
    const NEW_TICKET: &'static str = "/ticket";

    fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    fn workspace(&self) -> &str {
        self.team()
    }

    fn escape(&self, text: &str) -> String {
        crate::text::escape(text)
    }

    fn staff_channel(&self, department: Option<&str>) -> Option<String> {
        self.config().triage_channel(department).map(str::to_owned)
    }

    fn thread_of(&self, surface: &Surface) -> String {
        surface.card.channel.clone()
    }

    async fn open_dm(&self, user: &str) -> Result<String, ApiError> {
        self.api().open_dm(user).await
    }

    async fn post_card(
        &self,
        channel: &str,
        facts: &CardFacts,
        to: CardFor,
        intent: &Intent,
    ) -> Result<String, ApiError> {
        let (text, blocks) = render::card(facts, to);
        self.api()
            .post_delivery(
                json!({ "channel": channel, "text": text, "blocks": blocks }),
                &intent.token(),
            )
            .await
    }

    async fn update_card(
        &self,
        surface: &Surface,
        facts: &CardFacts,
        to: CardFor,
    ) -> Result<(), ApiError> {
        let (text, blocks) = render::card(facts, to);
        self.api()
            .update_message(json!({ "channel": surface.card.channel, "ts": surface.card.message_id, "text": text, "blocks": blocks }))
            .await
    }

    async fn post_message(
        &self,
        surface: &Surface,
        message: &Message,
        intent: &Intent,
    ) -> Result<String, ApiError> {
        let (text, blocks) = render::message(message);
        self.post_in_thread(surface, &text, blocks, intent).await
    }

    async fn post_line(
        &self,
        surface: &Surface,
        line: &str,
        intent: &Intent,
    ) -> Result<(), ApiError> {
        let (text, blocks) = render::line(line);
        self.post_in_thread(surface, &text, blocks, intent)
            .await
            .map(drop)
    }

    async fn edit_copy(&self, at: &PlatformRef, message: &Message) -> Result<(), ApiError> {
        let (text, blocks) = render::message(message);
        self.api()
            .update_message(json!({ "channel": at.channel, "ts": at.message_id, "text": text, "blocks": blocks }))
            .await
    }

    async fn invite(
        &self,
        user: &str,
        invitation: Invitation<'_>,
        intent: &Intent,
    ) -> Result<(), ApiError> {
        let (text, blocks) = render::invitation(
            invitation.delegate.id.0,
            invitation.number,
            invitation.subject,
            invitation.invited_by,
        );
        let channel = self.api().open_dm(user).await?;
        self.api()
            .post_delivery(
                json!({ "channel": channel, "text": text, "blocks": blocks }),
                &intent.token(),
            )
            .await
            .map(drop)
    }

    async fn post_dm(&self, user: &str, line: &str, intent: &Intent) -> Result<(), ApiError> {
        let (text, blocks) = render::line(line);
        let channel = self.api().open_dm(user).await?;
        self.api()
            .post_delivery(
                json!({ "channel": channel, "text": text, "blocks": blocks }),
                &intent.token(),
            )
            .await
            .map(drop)
    }

    /// Slack keeps the token in the message's `metadata`, which
    /// `conversations.history` and `conversations.replies` return.
    async fn find_posted(
        &self,
        place: Place<'_>,
        intent: &Intent,
        since: Timestamp,
    ) -> Result<Option<String>, ApiError> {
        let oldest = format!("{}.000000", since.0.div_euclid(1_000_000));
        let token = intent.token();
        let api = self.api();
        match place {
            Place::Channel(c) => api.find_delivery(c, None, &token, &oldest).await,
            Place::Thread(s) => {
                api.find_delivery(&s.card.channel, Some(&s.card.message_id), &token, &oldest)
                    .await
            }
            Place::Dm(user) => {
                let channel = api.open_dm(user).await?;
                api.find_delivery(&channel, None, &token, &oldest).await
            }
        }
    }

    fn opened_line(&self, number: TicketNumber) -> Option<String> {
        Some(format!(
            "✅ Ticket *{number}* is open. Replies from support arrive in this thread; reply here to add to it."
        ))
    }
}

impl SlackAdapter {
    /// The chat layer's outbox consumer over this adapter.
    pub fn mirror(&self) -> Mirror<SlackAdapter> {
        Mirror(self.clone())
    }

    /// Posts a person's own card of a ticket (with the history they may
    /// see) in the background: `/ticket show`, "Follow in DM".
    pub(crate) fn follow_in_background(&self, ticket: TicketId, person: PersonId, user: &str) {
        let mirror = self.mirror();
        let user = user.to_owned();
        tokio::spawn(async move {
            if let Err(e) = mirror.follow(ticket, person, Some(&user)).await {
                tracing::warn!(ticket.id = %ticket, error = %e, "card not posted");
            }
        });
    }

    async fn post_in_thread(
        &self,
        s: &Surface,
        text: &str,
        blocks: serde_json::Value,
        intent: &Intent,
    ) -> Result<String, ApiError> {
        self.api()
            .post_delivery(
                json!({ "channel": s.card.channel, "thread_ts": s.card.message_id, "text": text, "blocks": blocks }),
                &intent.token(),
            )
            .await
    }
}
