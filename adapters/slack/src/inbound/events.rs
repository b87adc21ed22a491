//! Events API: thread replies, edits, ✅ reactions and App Home.

use super::interactions::files;
use super::sentence;
use crate::render::{self, ids};
use crate::text::{clip, unescape};
use crate::SlackAdapter;
use serde_json::{json, Value};
use threadesk_chat::input::{self, view_word, ChatDesk, ListAt, Scope, Written, Wrote};
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::Person;
use threadesk_core::EngineError;

/// The answer to a direct message that is not in a ticket's thread.
const DM_HINT: &str =
    "To open a support ticket, use `/ticket` (or *Open a support ticket* in my Home tab). \
To add to a ticket, reply in the thread of its card. `/ticket help` explains the rest.";

/// Subtypes that are a person writing in a thread.
const WRITTEN: [&str; 3] = ["", "thread_broadcast", "file_share"];

impl SlackAdapter {
    /// A bot wrote it (us or another app): never a person's reply. Checked
    /// by `bot_id` and by our own user id, not by subtype alone.
    fn is_bot(&self, event: &Value) -> bool {
        event["bot_id"].is_string()
            || self
                .me()
                .is_some_and(|me| event["user"] == me.user_id.as_str())
    }

    pub(super) async fn event(&self, envelope: &Value) {
        let event = &envelope["event"];
        let key = format!(
            "slack:event:{}",
            envelope["event_id"].as_str().unwrap_or_default()
        );
        let outcome = match event["type"].as_str().unwrap_or_default() {
            "message" => self.message(event, &key).await,
            "reaction_added" => self.reaction(event, &key).await,
            "member_joined_channel" | "member_left_channel" => {
                match (event["channel"].as_str(), event["user"].as_str()) {
                    (Some(channel), Some(user)) => self.staff_channel_changed(channel, user).await,
                    _ => Ok(()),
                }
            }
            "app_home_opened" => {
                if let Some(user) = event["user"].as_str() {
                    if let Ok(p) = self.person(user).await {
                        self.publish_home(&p, user, ListAt::default()).await;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "slack event not handled");
        }
        self.wake();
    }

    async fn message(&self, event: &Value, key: &str) -> Result<(), EngineError> {
        let subtype = event["subtype"].as_str().unwrap_or_default();
        if subtype == "message_changed" {
            return self.edited(event, key).await;
        }
        if !WRITTEN.contains(&subtype) || self.is_bot(event) {
            return Ok(());
        }
        let (Some(channel), Some(user), Some(ts)) = (
            event["channel"].as_str(),
            event["user"].as_str(),
            event["ts"].as_str(),
        ) else {
            return Ok(());
        };
        let Some(root) = event["thread_ts"].as_str().filter(|r| *r != ts) else {
            if event["channel_type"] == "im" {
                // someone writing to the bot directly: say where things go.
                self.tell(channel, user, DM_HINT, None).await;
            }
            return Ok(());
        };
        let Some(surface) = self
            .engine()
            .system()
            .surface_at(&self.at(channel, root))
            .await?
        else {
            return Ok(());
        };
        let person = self.person(user).await?;
        let written = Written {
            text: unescape(event["text"].as_str().unwrap_or_default()),
            attachments: files(&event["files"]),
        };
        let ctx = super::ctx(person.id, "event", key).with_origin(self.at(channel, ts));
        if let Wrote::Refused(refusal) =
            input::write(self, &person, &ctx, surface.ticket_id, written).await?
        {
            let text = format!(
                "{} Here is what you wrote:\n{}",
                refusal.why,
                self.quote(&refusal.text)
            );
            let mut blocks =
                vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })];
            if refusal.closed.is_some() {
                let mut open = json!({ "type": "button", "text": { "type": "plain_text", "text": "Open a new ticket with it" },
                    "action_id": ids::NEW_TICKET, "value": clip(&refusal.text, 2000) });
                open["style"] = json!("primary");
                blocks.push(json!({ "type": "actions", "elements": [open] }));
            }
            self.tell(channel, user, &text, Some(json!(blocks))).await;
        }
        Ok(())
    }

    async fn edited(&self, event: &Value, key: &str) -> Result<(), EngineError> {
        let m = &event["message"];
        if self.is_bot(m) {
            return Ok(());
        }
        let (Some(channel), Some(ts), Some(user)) = (
            event["channel"].as_str(),
            m["ts"].as_str(),
            m["user"].as_str(),
        ) else {
            return Ok(());
        };
        let Some(link) = self
            .engine()
            .system()
            .link_at(&self.at(channel, ts))
            .await?
        else {
            return Ok(());
        };
        let (true, Some(message)) = (link.authored, link.message_id) else {
            return Ok(());
        };
        let previous = event["previous_message"]["text"].as_str();
        // a link preview arriving re-sends the message unchanged.
        if m["text"].as_str() == previous {
            return Ok(());
        }
        let person = self.person(user).await?;
        let written = unescape(m["text"].as_str().unwrap_or_default());
        let ctx = super::ctx(person.id, "event", key);
        if let Some(refused) = input::edit(self, &person, &ctx, message, &written).await? {
            self.tell(channel, user, &refused, None).await;
        }
        Ok(())
    }

    async fn reaction(&self, event: &Value, key: &str) -> Result<(), EngineError> {
        let reaction = event["reaction"].as_str().unwrap_or_default();
        if !matches!(
            reaction,
            "white_check_mark" | "heavy_check_mark" | "ballot_box_with_check"
        ) {
            return Ok(());
        }
        let (Some(user), Some(channel), Some(ts)) = (
            event["user"].as_str(),
            event["item"]["channel"].as_str(),
            event["item"]["ts"].as_str(),
        ) else {
            return Ok(());
        };
        if self.me().is_some_and(|m| m.user_id == user) {
            return Ok(());
        }
        let Some(surface) = self
            .engine()
            .system()
            .surface_at(&self.at(channel, ts))
            .await?
        else {
            return Ok(());
        };
        let person = self.person(user).await?;
        let ctx = super::ctx(person.id, "event", key);
        match self.engine().close(&ctx, surface.ticket_id).await {
            Ok(_) | Err(EngineError::TicketClosed { .. }) => {}
            Err(e) => self.tell(channel, user, &sentence(&e), None).await,
        }
        Ok(())
    }

    /// App Home: the person's list and the "Open a support ticket" button.
    pub(crate) async fn publish_home(&self, person: &Person, user: &str, at: ListAt) {
        let at = ListAt {
            scope: if person.is_company_admin {
                at.scope
            } else {
                Scope::Mine
            },
            ..at
        };
        let list = match self.list(person, at).await {
            Ok(l) => l,
            Err(e) => vec![
                json!({ "type": "section", "text": { "type": "mrkdwn", "text": sentence(&e) } }),
            ],
        };
        let home = render::home(
            at.scope.as_str(),
            view_word(at.view),
            person.is_company_admin,
            list,
        );
        if let Err(e) = self.api().publish_home(user, home).await {
            tracing::warn!(error = %e, "app home not published");
        }
    }
}
