//! Messages: in a ticket's channel thread they are replies (or staff
//! notes); in the 1:1 chat they go to the ticket whose card (or message)
//! they reply to, else to the person's only active ticket, else the bot
//! asks which, keeping the text in the question. Edits edit.

use super::commands::command_text;
use super::parse::{Activity, Place};
use super::{ctx, Answer};
use crate::platform::split_thread;
use crate::render;
use crate::TeamsAdapter;
use serde_json::json;
use threadesk_chat::input::{self, Written, Wrote};
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::{PageRequest, Person, View};
use threadesk_core::{EngineError, TicketId};

/// Where a 1:1 message goes.
enum Target {
    Ticket(TicketId),
    Ask(Vec<(i64, threadesk_core::TicketNumber, String)>),
}

impl TeamsAdapter {
    /// Handles a message; [`Answer::Again`] when it was not, for a reason
    /// on our side.
    pub(super) async fn message(&self, a: &Activity) -> Answer {
        if a.from.id == self.bot_id() {
            return Answer::Ok;
        }
        let outcome = match a.place {
            Place::Channel => self.channel_message(a).await,
            Place::Personal => self.personal_message(a).await,
            Place::Group => {
                self.tell(
                    &a.conversation,
                    "I work in our 1:1 chat and in the support team's channels, not in group chats.",
                )
                .await;
                Ok(())
            }
        };
        match outcome {
            Ok(()) => Answer::Ok,
            Err(e) => {
                tracing::warn!(error = %threadesk_chat::reply::sentence(&e, "teams message"), "teams message not handled");
                if e.is_internal() {
                    Answer::Again
                } else {
                    Answer::Ok
                }
            }
        }
    }

    async fn channel_message(&self, a: &Activity) -> Result<(), EngineError> {
        let staff_side = self.is_staff_channel(&a.conversation);
        let Some((channel, root)) = split_thread(&a.conversation) else {
            // a top-level post to the bot: a command (staff channels only).
            if staff_side {
                let person = self.person(&a.from, true).await?;
                let text = command_text(a).unwrap_or_default();
                self.command(a, &person, &text).await;
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
        let person = self.person(&a.from, staff_side).await?;
        self.add(a, &person, surface.ticket_id, a.text.clone())
            .await
    }

    async fn personal_message(&self, a: &Activity) -> Result<(), EngineError> {
        let person = self.person(&a.from, false).await?;
        if a.files.is_empty() {
            if let Some(text) = command_text(a) {
                self.command(a, &person, &text).await;
                return Ok(());
            }
        }
        if a.text.is_empty() && a.files.is_empty() {
            return Ok(());
        }
        match self.target(a, &person).await? {
            Target::Ticket(t) => self.add(a, &person, t, a.text.clone()).await,
            Target::Ask(tickets) if tickets.is_empty() => {
                let card = render::adaptive(
                    vec![json!({ "type": "TextBlock", "wrap": true,
                        "text": "You have no open ticket, so I did not file that anywhere. Open one with it?" })],
                    vec![render::dialog_button(
                        "New ticket",
                        render::verbs::NEW,
                        json!({ "message": render::clip(&a.text, 20_000) }),
                    )],
                );
                self.say(
                    &a.conversation,
                    &render::card_activity(card, "No open ticket"),
                )
                .await;
                Ok(())
            }
            Target::Ask(tickets) => {
                let card = render::which_ticket(&tickets, &a.text);
                self.say(
                    &a.conversation,
                    &render::card_activity(card, "Which ticket?"),
                )
                .await;
                Ok(())
            }
        }
    }

    /// The ticket a 1:1 message is for.
    async fn target(&self, a: &Activity, person: &Person) -> Result<Target, EngineError> {
        if let Some(quoted) = &a.reply_to {
            let at = self.at(&a.conversation, quoted);
            let system = self.engine().system();
            if let Some(s) = system.surface_at(&at).await? {
                return Ok(Target::Ticket(s.ticket_id));
            }
            if let Some(l) = system.link_at(&at).await? {
                return Ok(Target::Ticket(l.ticket_id));
            }
        }
        let page = self
            .engine()
            .my_tickets(
                person.id,
                PageRequest {
                    view: View::Active,
                    after: None,
                    limit: 6,
                },
            )
            .await?;
        Ok(match page.items.as_slice() {
            [only] => Target::Ticket(only.ticket.id),
            items => Target::Ask(
                items
                    .iter()
                    .map(|i| (i.ticket.id.0, i.ticket.number, i.ticket.subject.clone()))
                    .collect(),
            ),
        })
    }

    /// Adds what a person wrote to a ticket; a refusal gives them their
    /// text back.
    pub(super) async fn add(
        &self,
        a: &Activity,
        person: &Person,
        ticket: TicketId,
        text: String,
    ) -> Result<(), EngineError> {
        let ctx = ctx(person, "message", &a.id).with_origin(self.at(&a.conversation, &a.id));
        let (attachments, failed) = self.fetch_files(&a.files).await;
        if !failed.is_empty() {
            self.tell(
                &a.conversation,
                &format!(
                    "I could not fetch {}; please send it again.",
                    failed.join(", ")
                ),
            )
            .await;
        }
        let text = if text.trim().is_empty() && !attachments.is_empty() {
            let names: Vec<&str> = attachments.iter().map(|f| f.name.as_str()).collect();
            format!("Sent {}", names.join(", "))
        } else {
            text
        };
        let written = Written { text, attachments };
        if let Wrote::Refused(r) = input::write(self, person, &ctx, ticket, written).await? {
            self.tell(&a.conversation, &r.told(self)).await;
        }
        Ok(())
    }

    /// An edited message: the engine message it became is edited too.
    pub(super) async fn message_update(&self, a: &Activity) {
        let at = self.at(&a.conversation, &a.id);
        let outcome = async {
            let Some(message) = input::authored_message(self, &at).await? else {
                return Ok(());
            };
            let person = self
                .person(&a.from, self.is_staff_channel(&a.conversation))
                .await?;
            // each edit acts once: Teams gives no edit id, the text is the edit.
            let key = format!("{}:{}", a.id, digest(&a.text));
            let ctx = ctx(&person, "edit", &key);
            if let Some(refused) = input::edit(self, &person, &ctx, message, &a.text).await? {
                self.tell(&a.conversation, &refused).await;
            }
            Ok::<(), EngineError>(())
        };
        if let Err(e) = outcome.await {
            tracing::warn!(error = %threadesk_chat::reply::sentence(&e, "teams edit"), "teams edit not recorded");
        }
    }
}

/// A short stable digest of a text (FNV-1a), to key one edit.
fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
