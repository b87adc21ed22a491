//! Commands typed to the bot: in the 1:1 chat (the command menu's `new`,
//! `list`, `help`, or anything after a `/`), and by staff @mentioning the
//! bot in a staff channel. They are read with the chat layer's text
//! reader and run by its executor; the answer is drawn here.

use super::ctx;
use super::parse::{Activity, Place};
use crate::render;
use crate::TeamsAdapter;
use serde_json::json;
use threadesk_chat::input::{self, ChatDesk, Command, Reply, TextSyntax, Unreadable};
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::{Person, PlatformIdentity};
use threadesk_core::EngineError;

/// How Teams writes commands once mentions are read: people as `<@29:…>`.
struct TeamsText;

impl TextSyntax for TeamsText {
    type User = String;

    fn mention(&self, word: &str) -> Option<String> {
        word.strip_prefix("<@")?
            .strip_suffix('>')
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    }
}

/// The command menu's words: a short 1:1 message starting with one is a
/// command, not a reply.
const MENU: [&str; 3] = ["new", "list", "help"];

/// The command a message is, if it is one: in the 1:1 chat, anything
/// after a `/` and short messages starting with a menu word; in a staff
/// channel, every top-level post to the bot.
pub(super) fn command_text(a: &Activity) -> Option<String> {
    let text = a.text.trim();
    let bare = text
        .strip_prefix('/')
        .map(|t| t.strip_prefix("ticket").map_or(t, str::trim_start));
    match (a.place, bare) {
        (_, Some(t)) => Some(t.trim().to_owned()),
        (Place::Channel, None) => Some(text.to_owned()),
        (_, None) => {
            let words: Vec<&str> = text.split_whitespace().collect();
            let first = words.first().map(|w| w.to_ascii_lowercase());
            (words.len() <= 3 && first.is_some_and(|w| MENU.contains(&w.as_str())))
                .then(|| text.to_owned())
        }
    }
}

impl ChatDesk for TeamsAdapter {
    type User = String;

    async fn person_named(&self, user: &String) -> Result<Option<Person>, EngineError> {
        let identity = PlatformIdentity::teams(self.tenant(), user.as_str());
        match self.engine().person_by_identity(&identity).await? {
            Some(p) => Ok(Some(p)),
            None => self.engine().ensure_person(&identity, user).await.map(Some),
        }
    }

    fn identity_of(&self, user: &String) -> PlatformIdentity {
        PlatformIdentity::teams(self.tenant(), user.as_str())
    }

    fn quote(&self, text: &str) -> String {
        let clipped = render::clip(text, 2500);
        clipped
            .lines()
            .map(|l| format!("> {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl TeamsAdapter {
    /// Runs a command typed in a conversation and answers there.
    pub(super) async fn command(&self, a: &Activity, person: &Person, text: &str) {
        let answer = match Command::from_text(text, &TeamsText) {
            Ok(Command::Open { subject, .. }) => {
                // a dialog opens from a button only: offer one, filled in.
                render::card_activity(
                    render::adaptive(
                        vec![
                            json!({ "type": "TextBlock", "text": "Tell us what happened:", "wrap": true }),
                        ],
                        vec![render::dialog_button(
                            "New ticket",
                            render::verbs::NEW,
                            json!({ "subject": subject }),
                        )],
                    ),
                    "New ticket",
                )
            }
            Ok(c) => {
                let ctx = ctx(person, "command", &a.id);
                match input::command(self, person, &ctx, c).await {
                    Ok(reply) => self.draw(person, reply).await,
                    Err(e) => {
                        render::text_activity(&threadesk_chat::reply::sentence(&e, "teams command"))
                    }
                }
            }
            Err(Unreadable::Unknown(word)) => {
                let unknown = Unreadable::Unknown(word).sentence("");
                render::text_activity(&format!(
                    "{} Say **help** to see what I can do.",
                    unknown.replace("` ", "`")
                ))
            }
            Err(e) => render::text_activity(&e.sentence("").replace("` ", "`")),
        };
        self.say(&a.conversation, &answer).await;
    }

    async fn draw(&self, person: &Person, reply: Reply) -> serde_json::Value {
        match reply {
            Reply::Said(text) => render::text_activity(&text),
            Reply::Help { staff } => render::card_activity(render::help(staff), "Threadesk help"),
            Reply::Form {
                subject,
                department,
            } => render::card_activity(
                render::adaptive(
                    vec![],
                    vec![render::dialog_button(
                        "New ticket",
                        render::verbs::NEW,
                        json!({ "subject": subject, "department": department.map(|d| d.id.0) }),
                    )],
                ),
                "New ticket",
            ),
            Reply::List(page) => render::card_activity(render::list(&page), &page.title),
            Reply::Pick(picker) => {
                render::card_activity(render::saved_picker(&picker), "Saved replies")
            }
            Reply::Show(t) => {
                let user = self.user_of(person.id).await.ok().flatten();
                match self.mirror().follow(t.id, person.id, user.as_deref()).await {
                    Ok(()) => render::text_activity(&format!(
                        "The card of ticket {} is in our 1:1 chat.",
                        t.number
                    )),
                    Err(e) => {
                        tracing::warn!(error = %e, "teams card not posted");
                        render::text_activity(
                            "I could not post that card just now; please try again.",
                        )
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn activity(text: &str, kind: &str) -> Activity {
        Activity::try_from(
            &json!({ "type": "message", "id": "1", "from": { "id": "29:a" },
            "conversation": { "id": "c", "conversationType": kind }, "text": text }),
        )
        .unwrap()
    }

    #[test]
    fn menu_words_and_slashes_are_commands_other_text_is_a_reply() {
        assert_eq!(
            command_text(&activity("list closed", "personal")).as_deref(),
            Some("list closed")
        );
        assert_eq!(
            command_text(&activity("/ticket show #3", "personal")).as_deref(),
            Some("show #3")
        );
        assert_eq!(
            command_text(&activity("/close 3", "personal")).as_deref(),
            Some("close 3")
        );
        assert_eq!(
            command_text(&activity("help me, the VPN is down again", "personal")),
            None
        );
        assert_eq!(
            command_text(&activity("the printer works now", "personal")),
            None
        );
        assert_eq!(
            command_text(&activity("queue Billing", "channel")).as_deref(),
            Some("queue Billing")
        );
    }
}
