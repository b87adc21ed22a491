//! `/ticket`: its options are read into the chat layer's typed
//! [`threadesk_chat::input::Command`], which its executor runs; the answer
//! is drawn here.

use super::*;
use threadesk_chat::input::{self, ChatDesk, More, Reply, TicketPage};
use threadesk_core::domain::PlatformIdentity;

impl ChatDesk for DiscordAdapter {
    type User = Who;

    async fn person_named(&self, who: &Who) -> Result<Option<Person>, EngineError> {
        if who.bot {
            return Ok(None);
        }
        self.person(who).await.map(Some)
    }

    fn identity_of(&self, who: &Who) -> PlatformIdentity {
        PlatformIdentity::discord(self.guild(), who.id.as_str())
    }

    fn quote(&self, text: &str) -> String {
        format!(">>> {}", render::clip(text, 1800))
    }
}

impl DiscordAdapter {
    pub(super) async fn command(
        &self,
        person: &Person,
        ctx: &Ctx,
        data: &Value,
    ) -> Result<Value, EngineError> {
        let command = match parse::command(data) {
            Ok(c) => c,
            Err(e) => return Ok(render::ephemeral(&e.sentence("/ticket"))),
        };
        Ok(match input::command(self, person, ctx, command).await? {
            Reply::Said(text) => render::ephemeral(&text),
            Reply::Help { staff } => render::ephemeral(&help(staff)),
            Reply::Form {
                subject,
                department,
            } => render::new_ticket_modal(department.map_or(0, |d| d.id.0), &subject, ""),
            Reply::List(page) => list(&page, false),
            Reply::Show(t) => {
                let text = match self.follow(t.id, person).await? {
                    Some(thread) => format!(
                        "Ticket {} *{}*: <#{thread}>",
                        t.number,
                        render::escape(&t.subject)
                    ),
                    None => format!(
                        "Ticket {} *{}* is {}. Its thread is not on this server yet.",
                        t.number,
                        render::escape(&t.subject),
                        t.status.label_for(person.is_staff)
                    ),
                };
                render::ephemeral(&text)
            }
            Reply::Pick(picker) => render::saved_picker(&picker),
        })
    }

    /// A message command (a message's Apps menu): "Send saved reply" in a
    /// ticket's thread opens the picker for that ticket.
    pub(super) async fn message_command(
        &self,
        person: &Person,
        i: &Value,
    ) -> Result<Value, EngineError> {
        if i["data"]["name"] != ids::SAVED_COMMAND {
            return Ok(render::ephemeral("That is not something I handle."));
        }
        let thread = i["channel_id"].as_str().unwrap_or_default();
        match self.surface_of_thread(thread).await? {
            Some(s) => Ok(
                match input::saved_picker(self, person, s.ticket_id).await? {
                    Reply::Pick(picker) => render::saved_picker(&picker),
                    Reply::Said(text) => render::ephemeral(&text),
                    _ => render::ephemeral(input::NO_SAVED_REPLIES),
                },
            ),
            None => Ok(render::ephemeral(
                "Use **Send saved reply** on a message in a ticket's thread.",
            )),
        }
    }

    /// The next page of a list (its "More" button), in the list's place.
    pub(super) async fn more(&self, person: &Person, at: More) -> Result<Value, EngineError> {
        Ok(list(&input::more(self, person, at).await?, true))
    }
}

/// A page of tickets as a message, with a More button carrying where the
/// next page starts; `replace` draws it in place of the previous page.
fn list(page: &TicketPage, replace: bool) -> Value {
    let mut lines = vec![format!("**{}**", page.title)];
    if page.items.is_empty() {
        lines.push(page.empty.to_owned());
    }
    for (i, it) in page.items.iter().enumerate().take(25) {
        let t = &it.ticket;
        lines.push(format!(
            "{} *{}* · {}{}{}",
            t.number,
            render::escape(&render::clip(&t.subject, 80)),
            t.status.label_for(page.staff),
            page.due(it),
            if it.shared { " · shared with you" } else { "" }
        ));
        if let Some(e) = page.excerpt(i) {
            lines.push(format!("> {}", render::escape(&render::clip(e, 160))));
        }
    }
    let components = match &page.more {
        Some(at) => json!([{ "type": 1, "components": [{ "type": 2, "style": 2, "label": "More",
            "custom_id": ids::make(ids::LIST, at) }] }]),
        None => json!([]),
    };
    let text = lines.join("\n");
    if replace {
        render::update(&text, components)
    } else {
        render::ephemeral_with(&text, components)
    }
}
