//! Events API: thread replies, edits, ✅ reactions and App Home.

use super::parse::{Edited, Ignored, SlackEvent, Written};
use super::{sentence, Answer};
use crate::render::{self, ids};
use crate::text::clip;
use crate::SlackAdapter;
use serde_json::{json, Value};
use threadesk_chat::input::{self, view_word, ChatDesk, ListAt, More, Scope, Wrote};
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::Person;
use threadesk_core::EngineError;

/// The answer to a direct message that is not in a ticket's thread.
const DM_HINT: &str =
    "To open a support ticket, use `/ticket` (or *Open a support ticket* in my Home tab). \
To add to a ticket, reply in the thread of its card. `/ticket help` explains the rest.";

impl SlackAdapter {
    /// Our own user wrote or reacted.
    fn is_me(&self, user: &str) -> bool {
        self.me().is_some_and(|me| me.user_id == user)
    }

    /// Handles an event; [`Answer::Again`] when it was not, for a reason
    /// on our side (to be delivered or taken up again).
    pub(super) async fn event(&self, envelope: &Value) -> Answer {
        // Slack's event id (`ctx` makes it `slack:event:<id>`); an event
        // without one gets no key rather than one shared by all such events.
        let key = envelope["event_id"].as_str().unwrap_or_default();
        let event = match SlackEvent::try_from(&envelope["event"]) {
            Ok(e) => e,
            Err(Ignored(why)) => {
                tracing::debug!(why, "slack event ignored");
                return Answer::Ack;
            }
        };
        let outcome = match event {
            SlackEvent::Wrote(w) => self.message(w, key).await,
            SlackEvent::Edited(e) => self.edited(e, key).await,
            SlackEvent::Reacted {
                user,
                channel,
                ts,
                reaction,
            } if input::is_closing(&reaction) && !self.is_me(&user) => {
                self.reaction(&user, &channel, &ts, key).await
            }
            SlackEvent::Reacted { .. } => Ok(()),
            SlackEvent::Membership { channel, user } => {
                self.staff_channel_changed(&channel, &user).await
            }
            SlackEvent::HomeOpened { user } => {
                if let Ok(p) = self.person(&user).await {
                    self.publish_home(&p, &user, ListAt::default()).await;
                }
                Ok(())
            }
        };
        let answer = match outcome {
            Ok(()) => Answer::Ack,
            Err(e) if e.is_internal() => {
                tracing::warn!(error = %e, "slack event not handled; to be tried again");
                Answer::Again
            }
            Err(e) => {
                tracing::warn!(error = %e, "slack event not handled");
                Answer::Ack
            }
        };
        self.wake();
        answer
    }

    async fn message(&self, w: Written, key: &str) -> Result<(), EngineError> {
        // a bot wrote it (us or another app): never a person's reply.
        if w.by_app || self.is_me(&w.user) {
            return Ok(());
        }
        let Some(root) = &w.root else {
            if w.direct {
                // someone writing to the bot directly: say where things go.
                self.tell(&w.channel, &w.user, DM_HINT, None).await;
            }
            return Ok(());
        };
        let at = self.at(&w.channel, root);
        let Some(surface) = self.engine().system().surface_at(&at).await? else {
            return Ok(());
        };
        let person = self.person(&w.user).await?;
        let ctx = super::ctx(person.id, "event", key).with_origin(self.at(&w.channel, &w.ts));
        let written = input::Written {
            text: w.text,
            attachments: w.files,
        };
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
            self.tell(&w.channel, &w.user, &text, Some(json!(blocks)))
                .await;
        }
        Ok(())
    }

    async fn edited(&self, e: Edited, key: &str) -> Result<(), EngineError> {
        if e.by_app || e.unchanged || self.is_me(&e.user) {
            return Ok(());
        }
        let at = self.at(&e.channel, &e.ts);
        let Some(message) = input::authored_message(self, &at).await? else {
            return Ok(());
        };
        let person = self.person(&e.user).await?;
        let ctx = super::ctx(person.id, "event", key);
        if let Some(refused) = input::edit(self, &person, &ctx, message, &e.text).await? {
            self.tell(&e.channel, &e.user, &refused, None).await;
        }
        Ok(())
    }

    async fn reaction(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        key: &str,
    ) -> Result<(), EngineError> {
        let at = self.at(channel, ts);
        let Some(surface) = self.engine().system().surface_at(&at).await? else {
            return Ok(());
        };
        let person = self.person(user).await?;
        let ctx = super::ctx(person.id, "event", key);
        if let Some(refused) = input::close_by_reaction(self, &ctx, surface.ticket_id).await? {
            self.tell(channel, user, &refused, None).await;
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
        let list = match self.list(person, More::List(at)).await {
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
