//! From Teams to the engine: messages in the 1:1 chat and in ticket
//! threads, edits, card actions, dialogs and the "Create ticket" message
//! action. Every engine call carries the activity's id as its idempotency
//! key (`teams:<kind>:<id>`), so a redelivered activity acts once.

mod commands;
mod files;
mod invokes;
mod messages;
pub mod parse;

use crate::render;
use crate::TeamsAdapter;
use parse::{Activity, Place};
use serde_json::Value;
use threadesk_chat::ChatPlatform;
use threadesk_core::Ctx;

/// What the HTTP request is answered with.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `200` with no body (messages, updates).
    Ok,
    /// `200` with this body (an invoke's answer).
    Json(Value),
    /// Not handled for a reason on our side (the database out of reach):
    /// `503`, so that the channel delivers it again rather than think it
    /// taken in.
    Again,
}

/// A request's context keyed by the activity's id.
pub(crate) fn ctx(person: &threadesk_core::domain::Person, kind: &str, id: &str) -> Ctx {
    let ctx = Ctx::new(person.id);
    if id.is_empty() {
        ctx
    } else {
        ctx.with_key(format!("teams:{kind}:{id}"))
    }
}

impl TeamsAdapter {
    /// Whether a conversation is (a thread of) a staff channel.
    pub(crate) fn is_staff_channel(&self, conversation: &str) -> bool {
        let channel = crate::platform::split_thread(conversation).map_or(conversation, |(c, _)| c);
        self.config().staff_channels().contains(&channel)
    }

    /// An authenticated activity.
    pub async fn on_activity(&self, a: Activity) -> Answer {
        if a.tenant.as_deref().is_some_and(|t| t != self.tenant()) {
            tracing::info!("teams activity from another tenant ignored");
            return Answer::Ok;
        }
        self.saw_service_url(&a.service_url);
        let answer = match a.kind.as_str() {
            "message" => self.message(&a).await,
            "messageUpdate" => {
                self.message_update(&a).await;
                Answer::Ok
            }
            "invoke" => Answer::Json(self.invoke(&a).await),
            "conversationUpdate" => {
                self.conversation_update(&a).await;
                Answer::Ok
            }
            _ => Answer::Ok,
        };
        self.wake();
        answer
    }

    /// Members left the support team; the bot joined a chat.
    async fn conversation_update(&self, a: &Activity) {
        // installed for a person: a welcome with the New ticket button.
        if a.place == Place::Personal && a.members_added.contains(&self.bot_id()) {
            let staff = match self.person(&a.from, false).await {
                Ok(p) => p.is_staff,
                Err(e) => {
                    tracing::warn!(error = %e, "teams person not resolved");
                    false
                }
            };
            self.say(
                &a.conversation,
                &render::card_activity(render::help(staff), "Welcome to Threadesk"),
            )
            .await;
        }
        if a.place == Place::Channel && self.is_staff_channel(&a.conversation) {
            for user in &a.members_removed {
                if let Err(e) = self.left_team(user).await {
                    tracing::warn!(error = %e, "teams member removal not applied");
                }
            }
        }
    }

    /// Sends an activity to a conversation, logging a failure.
    pub(crate) async fn say(&self, conversation: &str, activity: &Value) {
        if let Err(e) = self
            .api()
            .send(&self.service_url(), conversation, activity)
            .await
        {
            tracing::warn!(error = %e, "teams answer not delivered");
        }
    }

    /// Tells a person something in a conversation.
    pub(crate) async fn tell(&self, conversation: &str, text: &str) {
        self.say(conversation, &render::text_activity(text)).await;
    }
}
