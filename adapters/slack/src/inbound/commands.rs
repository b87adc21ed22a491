//! `/ticket` and its subcommands: the slash command is read into the chat
//! layer's typed [`Command`], which its executor runs; the answer is drawn
//! here.

use super::{ephemeral, sentence, Answer};
use crate::render;
use crate::text::{clip, escape, unescape};
use crate::SlackAdapter;
use serde_json::json;
use std::collections::HashMap;
use threadesk_chat::input::{self, ChatDesk, Command, More, Reply, TextSyntax, Unreadable};
use threadesk_core::domain::{Person, PlatformIdentity};
use threadesk_core::EngineError;

/// A user mention as Slack escapes it in command text: `<@U123|name>`.
pub(crate) fn mentioned_user(word: &str) -> Option<&str> {
    let inner = word.strip_prefix("<@")?.strip_suffix('>')?;
    Some(inner.split('|').next().unwrap_or(inner))
}

/// How Slack writes what people type: `&`, `<` and `>` escaped, users
/// as `<@U…>`, addresses auto-linked as `<mailto:a@b|a@b>`.
struct SlackText;

impl TextSyntax for SlackText {
    type User = String;

    fn mention(&self, word: &str) -> Option<String> {
        mentioned_user(word).map(str::to_owned)
    }

    fn literal(&self, text: &str) -> String {
        unescape(text)
    }

    fn address(&self, word: &str) -> String {
        let linked = word.strip_prefix("<mailto:").unwrap_or(word);
        let address = linked.split('|').next().unwrap_or_default();
        unescape(address.trim_end_matches('>'))
    }
}

/// A slash command's fields (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlashCommand {
    /// Who typed it.
    pub user: String,
    /// Opens a modal within 3 seconds; also the request's id.
    pub trigger: String,
    /// The words after `/ticket`, as Slack escaped them.
    pub text: String,
}

impl TryFrom<&HashMap<String, String>> for SlashCommand {
    type Error = &'static str;

    fn try_from(form: &HashMap<String, String>) -> Result<Self, Self::Error> {
        let field = |k: &str| form.get(k).cloned().unwrap_or_default();
        let user = field("user_id");
        if user.is_empty() {
            return Err("That command arrived without a user; please try again.");
        }
        Ok(SlashCommand {
            user,
            trigger: field("trigger_id"),
            text: field("text"),
        })
    }
}

impl ChatDesk for SlackAdapter {
    type User = String;

    async fn person_named(&self, user: &String) -> Result<Option<Person>, EngineError> {
        self.person(user).await.map(Some)
    }

    fn identity_of(&self, user: &String) -> PlatformIdentity {
        PlatformIdentity::slack(self.team(), user.as_str())
    }

    fn quote(&self, text: &str) -> String {
        format!(">{}", escape(&clip(text, 2500)).replace('\n', "\n>"))
    }
}

impl SlackAdapter {
    /// A slash command, handled before it is answered.
    pub(crate) async fn handle_command(&self, form: &HashMap<String, String>) -> Answer {
        let slash = match SlashCommand::try_from(form) {
            Ok(s) => s,
            Err(why) => return ephemeral(why),
        };
        let command = match Command::from_text(&slash.text, &SlackText) {
            Ok(c) => c,
            Err(Unreadable::Unknown(word)) => {
                let staff = self.person(&slash.user).await.is_ok_and(|p| p.is_staff);
                let unknown = Unreadable::Unknown(word).sentence("/ticket");
                return ephemeral(&format!("{unknown}\n\n{}", render::help(staff)));
            }
            Err(e) => return ephemeral(&e.sentence("/ticket")),
        };
        // the form first: its trigger expires in 3 seconds, and it needs no
        // person yet (the submission brings one).
        if let Command::Open { subject, .. } = &command {
            let view = self.new_ticket_modal(subject, "").await;
            self.open_modal(&slash.trigger, view);
            return Answer::Ack;
        }
        let person = match self.person(&slash.user).await {
            Ok(p) => p,
            Err(e) => return ephemeral(&sentence(&e)),
        };
        let ctx = super::ctx(person.id, "cmd", &slash.trigger);
        match input::command(self, &person, &ctx, command).await {
            Ok(reply) => self.draw(&person, &slash, reply).await,
            Err(e) => ephemeral(&sentence(&e)),
        }
    }

    /// The key of a slash command that can be answered late: one that
    /// reads and has a `response_url` to answer through, and does not
    /// open a form (its trigger expires in 3 seconds). `None` for one
    /// answered at once.
    pub(crate) fn deferrable_command(&self, form: &HashMap<String, String>) -> Option<String> {
        let slash = SlashCommand::try_from(form).ok()?;
        let answerable = form.get("response_url").is_some_and(|u| !u.is_empty());
        let command = Command::from_text(&slash.text, &SlackText).ok()?;
        let form_first = matches!(command, Command::Open { .. } | Command::PickSaved(_));
        (answerable && !form_first && !slash.trigger.is_empty())
            .then(|| super::request_key("cmd", &slash.trigger))
    }

    /// A command's answer as Slack shows it.
    async fn draw(&self, person: &Person, slash: &SlashCommand, reply: Reply) -> Answer {
        match reply {
            Reply::Said(text) => ephemeral(&text),
            Reply::Help { staff } => ephemeral(&render::help(staff)),
            Reply::Form { subject, .. } => {
                let view = self.new_ticket_modal(&subject, "").await;
                self.open_modal(&slash.trigger, view);
                Answer::Ack
            }
            Reply::List(page) => {
                let blocks = render::ticket_list(&page);
                Answer::Json(
                    json!({ "response_type": "ephemeral", "text": page.title, "blocks": blocks }),
                )
            }
            Reply::Pick(picker) => {
                self.open_modal(&slash.trigger, render::saved_modal(&picker));
                Answer::Ack
            }
            Reply::Show(t) => {
                self.follow_in_background(t.id, person.id, &slash.user);
                ephemeral(&format!(
                    "I'm sending you the card of {} in our direct messages.",
                    t.number
                ))
            }
        }
    }

    /// One page of a list as blocks.
    pub(crate) async fn list(
        &self,
        person: &Person,
        at: More,
    ) -> Result<Vec<serde_json::Value>, EngineError> {
        Ok(render::ticket_list(&input::more(self, person, at).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadesk_chat::input::DepartmentCommand;
    use threadesk_core::TicketNumber;

    #[test]
    fn mentions_are_read_with_or_without_a_name() {
        assert_eq!(mentioned_user("<@U123|ann>"), Some("U123"));
        assert_eq!(mentioned_user("<@U123>"), Some("U123"));
        assert_eq!(mentioned_user("@ann"), None);
    }

    #[test]
    fn slack_escaping_is_undone_before_a_command_is_read() {
        let read = |t: &str| Command::from_text(t, &SlackText).unwrap();
        assert_eq!(
            read("link <@U9|bo> <mailto:bo@acme.test|bo@acme.test>"),
            Command::Link("U9".into(), "bo@acme.test".into())
        );
        assert_eq!(
            read("department add R&amp;D"),
            Command::Department(DepartmentCommand::Add("R&D".into()))
        );
        assert_eq!(read("show #12"), Command::Show(TicketNumber(12)));
        let form: HashMap<String, String> = [("text".to_owned(), "list".to_owned())].into();
        assert!(SlashCommand::try_from(&form).is_err());
    }
}
