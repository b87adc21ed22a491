//! Slack as a chat platform ([`ChatPlatform`]): what the chat layer's one
//! outbox consumer (`slack`) asks of Slack, as Web API calls and Block Kit.
//! Customers follow a ticket on a card of their own in their DMs; the
//! triage channel's card thread is the staff side. Which surface shows what
//! is decided by the chat layer from core's rules, not here.

use crate::api::{file_marker, ApiError};
use crate::render::{self, CardFor};
use crate::SlackAdapter;
use serde_json::json;
use threadesk_chat::{
    ChatPlatform, CustomerSide, Hub, Invitation, Mirror, Place, PlatformError, TranscriptChannel,
    Upload,
};
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
    // an open intent is looked up before a call is made again.
    const FINDS_REPEATS: bool = true;

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
    /// `conversations.history` and `conversations.replies` return; a file
    /// share ([`ChatPlatform::post_file`]) at the end of its text.
    async fn find_posted(
        &self,
        place: Place<'_>,
        intent: &Intent,
        since: Timestamp,
    ) -> Result<Option<String>, ApiError> {
        let oldest = format!("{}.000000", since.0.div_euclid(1_000_000));
        let token = intent.token();
        let api = self.api();
        let me = self.me();
        match place {
            Place::Channel(c) => api.find_delivery(c, None, &token, &oldest, me).await,
            Place::Thread(s) => {
                let (channel, root) = (&s.card.channel, Some(s.card.message_id.as_str()));
                api.find_delivery(channel, root, &token, &oldest, me).await
            }
            Place::Dm(user) => {
                let channel = api.open_dm(user).await?;
                api.find_delivery(&channel, None, &token, &oldest, me).await
            }
        }
    }

    fn transcript_channel(&self) -> Option<TranscriptChannel> {
        let config = self.config();
        config
            .transcript_channel
            .as_ref()
            .map(|channel| TranscriptChannel {
                channel: channel.clone(),
                portal: config.public_url.clone(),
            })
    }

    /// A file goes up by Slack's external upload flow
    /// (`files.getUploadURLExternal`, the bytes, then
    /// `files.completeUploadExternal`), which takes no message `metadata`:
    /// the intent's token goes at the end of the share's comment instead
    /// ([`crate::api::file_marker`]), where `find_posted` finds it again in
    /// the channel's history. So a retry after Slack shared the file but
    /// before we recorded it (a crash, a lost answer) shares nothing more.
    /// What stays possible: a crash after the bytes went up but before the
    /// share leaves a file shared nowhere (seen by no one), and the retry
    /// uploads again; and Slack may post the share a moment after it
    /// answers (it processes files asynchronously), so a retry within that
    /// moment finds nothing and shares the transcript twice (the outbox
    /// waits a second before the first retry, longer after a crash, when
    /// the lease runs out first). A comment alone is a message with the
    /// token in its metadata like every other post, found again as they
    /// are.
    async fn post_file(
        &self,
        channel: &str,
        comment: &str,
        file: Option<Upload<'_>>,
        intent: &Intent,
    ) -> Result<String, ApiError> {
        match file {
            Some(file) => {
                let comment = format!("{comment} {}", file_marker(&intent.token()));
                self.api().upload_file(channel, &comment, &file).await
            }
            None => {
                let (text, blocks) = render::line(comment);
                self.api()
                    .post_delivery(
                        json!({ "channel": channel, "text": text, "blocks": blocks }),
                        &intent.token(),
                    )
                    .await
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
