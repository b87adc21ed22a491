//! Discord payloads read into typed inputs at the edge: the `/ticket`
//! command's options, a modal's fields, a message's attachments. Nothing
//! past here looks up raw JSON keys of a command.

use crate::people::Who;
use serde_json::Value;
use threadesk_chat::input::{
    usage, Command, DepartmentCommand, ListAt, SavedCommand, Scope, Unreadable,
};
use threadesk_core::domain::{AttachmentMeta, Status, View};
use threadesk_core::engine::OwnerFilter;
use threadesk_core::TicketNumber;

/// An option of a (sub)command by name.
pub(super) fn option<'a>(options: &'a Value, name: &str) -> &'a Value {
    options
        .as_array()
        .and_then(|o| o.iter().find(|x| x["name"] == name))
        .map_or(&Value::Null, |x| &x["value"])
}

/// A text input of a submitted modal by custom id.
pub(super) fn field(data: &Value, id: &str) -> String {
    data["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .find(|c| c["custom_id"] == id)
        .and_then(|c| c["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Attachments of a message as engine attachment metadata.
pub(super) fn attachments(message: &Value) -> Vec<AttachmentMeta> {
    message["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| AttachmentMeta {
            name: a["filename"].as_str().unwrap_or("file").to_owned(),
            content_type: a["content_type"]
                .as_str()
                .unwrap_or("application/octet-stream")
                .to_owned(),
            size_bytes: a["size"].as_u64().unwrap_or(0),
            url: a["url"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// A user Discord resolved for a command or a select (`resolved.users`,
/// `resolved.members`); their roles are not the command's to re-read.
pub(super) fn resolved_user(data: &Value, id: &str) -> Who {
    let resolved = &data["resolved"];
    let who = Who::from(&resolved["users"][id], &resolved["members"][id]).unwrap_or(Who {
        id: id.to_owned(),
        name: id.to_owned(),
        roles: None,
        bot: false,
    });
    Who { roles: None, ..who }
}

/// The `/ticket` command of an application-command interaction's `data`.
pub(super) fn command(data: &Value) -> Result<Command<Who>, Unreadable> {
    let sub = &data["options"][0];
    let opts = &sub["options"];
    let text = |name: &str| option(opts, name).as_str().map(str::trim);
    let number = || option(opts, "number").as_i64().map(TicketNumber);
    let status = || text("status").and_then(|s| s.parse::<Status>().ok());
    let user = || text("user").map(|id| resolved_user(data, id));
    let name = sub["name"].as_str().unwrap_or("help");
    let which = |n: Option<TicketNumber>, sub: &'static str| n.ok_or(Unreadable::WhichTicket(sub));
    Ok(match name {
        "open" => Command::Open {
            subject: String::new(),
            department: text("department").map(str::to_owned),
        },
        "list" => Command::List(ListAt::first(
            if text("scope") == Some("org") {
                Scope::Organization
            } else {
                Scope::Mine
            },
            text("state")
                .and_then(|v| v.parse().ok())
                .unwrap_or(View::Active),
        )),
        "show" => Command::Show(which(number(), "show")?),
        "close" => Command::Close(which(number(), "close")?),
        "rate" => match (number(), option(opts, "score").as_i64()) {
            (Some(n), Some(score)) => Command::Rate(
                n,
                score,
                text("comment").filter(|c| !c.is_empty()).map(str::to_owned),
            ),
            _ => return Err(Unreadable::Usage(usage::RATE)),
        },
        "autoclose" => match (number(), text("action")) {
            (Some(n), Some(a @ ("pause" | "resume"))) => Command::PauseAutoClose(n, a == "pause"),
            _ => return Err(Unreadable::Usage(usage::AUTOCLOSE)),
        },
        "queue" => Command::Queue {
            status: status(),
            department: text("department")
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            owner: match text("owner") {
                Some("mine") => Some(OwnerFilter::Mine),
                Some("unassigned") => Some(OwnerFilter::Unassigned),
                _ => None,
            },
        },
        "search" => match text("words").filter(|w| !w.is_empty()) {
            Some(w) => Command::Search(w.to_owned()),
            None => return Err(Unreadable::Usage(usage::SEARCH)),
        },
        "claim" => Command::Claim(which(number(), "claim")?),
        "reply" => match (number(), text("name").filter(|n| !n.is_empty())) {
            (Some(n), Some(name)) => Command::ReplySaved(n, name.to_owned()),
            (Some(n), None) => Command::PickSaved(n),
            _ => return Err(Unreadable::Usage(usage::REPLY)),
        },
        "saved" => Command::Saved(
            match (
                text("action").unwrap_or("list"),
                text("name").filter(|n| !n.is_empty()),
                text("text").filter(|t| !t.is_empty()),
            ) {
                ("add", Some(name), Some(t)) => SavedCommand::Add {
                    name: name.to_owned(),
                    text: t.to_owned(),
                },
                ("remove", Some(name), _) => SavedCommand::Remove(name.to_owned()),
                ("list", _, _) => SavedCommand::List,
                _ => return Err(Unreadable::Usage(usage::SAVED)),
            },
        ),
        "assign" => Command::Assign(which(number(), "assign")?, user()),
        "move" => match (number(), text("department").filter(|d| !d.is_empty())) {
            (Some(n), Some(d)) if d.eq_ignore_ascii_case("none") => Command::Move(n, None),
            (Some(n), Some(d)) => Command::Move(n, Some(d.to_owned())),
            _ => return Err(Unreadable::Usage(usage::MOVE)),
        },
        "status" => match (number(), status()) {
            (Some(n), Some(s)) => Command::SetStatus(n, s),
            _ => return Err(Unreadable::Usage(usage::STATUS)),
        },
        "note" => match (number(), text("text")) {
            (Some(n), Some(t)) if !t.is_empty() => Command::Note(n, t.to_owned()),
            _ => return Err(Unreadable::Usage(usage::NOTE)),
        },
        "admin" => match (user(), text("action")) {
            (Some(u), Some(a)) => Command::Admin(a == "grant", u),
            _ => return Err(Unreadable::Usage(usage::ADMIN)),
        },
        "staff" => match (user(), text("action")) {
            (Some(u), Some(a)) => Command::Staff(a == "add", u),
            _ => return Err(Unreadable::Usage(usage::STAFF)),
        },
        "org" => match (user(), text("name").unwrap_or_default()) {
            (Some(u), n) if n.is_empty() || n.eq_ignore_ascii_case("none") => {
                Command::Organization(u, None)
            }
            (Some(u), n) => Command::Organization(u, Some(n.to_owned())),
            _ => return Err(Unreadable::Usage(usage::ORG)),
        },
        "link" => match (user(), text("email")) {
            (Some(u), Some(e)) => Command::Link(u, e.to_owned()),
            _ => return Err(Unreadable::Usage(usage::LINK)),
        },
        "department" => {
            let name = text("name").unwrap_or_default().to_owned();
            Command::Department(match text("action").unwrap_or("list") {
                "add" => DepartmentCommand::Add(name),
                "rename" => DepartmentCommand::Rename {
                    from: name,
                    to: text("new_name").unwrap_or_default().to_owned(),
                },
                verb @ ("activate" | "deactivate") => DepartmentCommand::SetActive {
                    name,
                    active: verb == "activate",
                },
                _ => DepartmentCommand::List,
            })
        }
        _ => Command::Help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sub(name: &str, options: Value) -> Value {
        json!({ "name": "ticket", "options": [{ "type": 1, "name": name, "options": options }],
            "resolved": { "users": { "42": { "id": "42", "username": "bo" } },
                          "members": { "42": { "nick": "Bo", "roles": ["9"] } } } })
    }

    #[test]
    fn options_become_a_typed_command() {
        assert_eq!(
            command(&sub("list", json!([{ "name": "scope", "value": "org" }]))).unwrap(),
            Command::List(ListAt::first(Scope::Organization, View::Active))
        );
        assert_eq!(
            command(&sub(
                "status",
                json!([{ "name": "number", "value": 7 }, { "name": "status", "value": "on_hold" }])
            ))
            .unwrap(),
            Command::SetStatus(TicketNumber(7), Status::OnHold)
        );
        let Command::Admin(true, who) = command(&sub(
            "admin",
            json!([{ "name": "user", "value": "42" }, { "name": "action", "value": "grant" }]),
        ))
        .unwrap() else {
            panic!("not a grant");
        };
        assert_eq!((who.name.as_str(), who.roles), ("Bo", None));
        assert_eq!(
            command(&sub("close", json!([]))).unwrap_err(),
            Unreadable::WhichTicket("close")
        );
        assert_eq!(
            command(&sub(
                "department",
                json!([{ "name": "action", "value": "rename" },
                { "name": "name", "value": "Bills" }, { "name": "new_name", "value": "Invoices" }])
            ))
            .unwrap(),
            Command::Department(DepartmentCommand::Rename {
                from: "Bills".into(),
                to: "Invoices".into()
            })
        );
        assert_eq!(
            command(&sub(
                "rate",
                json!([{ "name": "number", "value": 1001 }, { "name": "score", "value": 4 },
                { "name": "comment", "value": "  Quick  " }])
            ))
            .unwrap(),
            Command::Rate(TicketNumber(1001), 4, Some("Quick".into()))
        );
        assert_eq!(
            command(&sub("rate", json!([{ "name": "number", "value": 1001 }]))).unwrap_err(),
            Unreadable::Usage(usage::RATE)
        );
        assert_eq!(
            command(&sub(
                "autoclose",
                json!([{ "name": "number", "value": 7 }, { "name": "action", "value": "pause" }])
            ))
            .unwrap(),
            Command::PauseAutoClose(TicketNumber(7), true)
        );
        assert_eq!(
            command(&sub(
                "autoclose",
                json!([{ "name": "number", "value": 7 }, { "name": "action", "value": "later" }])
            ))
            .unwrap_err(),
            Unreadable::Usage(usage::AUTOCLOSE)
        );
    }
}

/// A message someone posted in a channel or thread the bot sees
/// (`MESSAGE_CREATE`, or read back while catching up).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Posted {
    /// Its channel (a thread is a channel).
    pub channel: String,
    /// Its id.
    pub id: String,
    /// Who wrote it.
    pub who: Who,
    /// Posted through a webhook.
    pub webhook: bool,
    /// Its text.
    pub text: String,
    /// Its files.
    pub attachments: Vec<AttachmentMeta>,
    /// Written to the bot directly (a DM: no server).
    pub direct: bool,
}

/// A message someone edited (`MESSAGE_UPDATE` with new content).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Edit {
    /// Its channel.
    pub channel: String,
    /// Its id.
    pub id: String,
    /// Who wrote it.
    pub who: Who,
    /// Its new text.
    pub text: String,
    /// When it was edited (each edit acts once).
    pub edited_at: String,
}

/// A reaction someone added (`MESSAGE_REACTION_ADD`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reaction {
    /// Where the message is.
    pub channel: String,
    /// The message.
    pub message: String,
    /// Who reacted.
    pub who: Who,
    /// The emoji's name (a character for a standard emoji).
    pub emoji: String,
}

/// Why a gateway event is not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ignored(pub &'static str);

fn string(v: &Value) -> Result<String, Ignored> {
    v.as_str()
        .map(str::to_owned)
        .ok_or(Ignored("a field is missing"))
}

impl TryFrom<&Value> for Posted {
    type Error = Ignored;

    fn try_from(m: &Value) -> Result<Self, Ignored> {
        // default messages and replies; joins, pins and the like are not.
        if !matches!(m["type"].as_u64(), None | Some(0) | Some(19)) {
            return Err(Ignored("not a person writing"));
        }
        Ok(Posted {
            channel: string(&m["channel_id"])?,
            id: string(&m["id"])?,
            who: Who::from(&m["author"], &m["member"]).ok_or(Ignored("no author"))?,
            webhook: !m["webhook_id"].is_null(),
            text: m["content"].as_str().unwrap_or_default().to_owned(),
            attachments: attachments(m),
            direct: m["guild_id"].is_null(),
        })
    }
}

impl TryFrom<&Value> for Edit {
    type Error = Ignored;

    fn try_from(m: &Value) -> Result<Self, Ignored> {
        Ok(Edit {
            channel: string(&m["channel_id"])?,
            id: string(&m["id"])?,
            // an update without content is an embed arriving, no edit.
            text: string(&m["content"])?,
            who: Who::from(&m["author"], &m["member"]).ok_or(Ignored("no author"))?,
            edited_at: m["edited_timestamp"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

impl TryFrom<&Value> for Reaction {
    type Error = Ignored;

    fn try_from(r: &Value) -> Result<Self, Ignored> {
        let user = string(&r["user_id"])?;
        let who = Who::from(&serde_json::json!({ "id": user }), &r["member"]).unwrap_or(Who {
            id: user.clone(),
            name: user,
            roles: None,
            bot: false,
        });
        Ok(Reaction {
            channel: string(&r["channel_id"])?,
            message: string(&r["message_id"])?,
            who,
            emoji: r["emoji"]["name"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

#[cfg(test)]
mod gateway_events {
    use super::*;
    use serde_json::json;

    #[test]
    fn gateway_events_are_read_into_what_they_mean() {
        let m = json!({ "type": 0, "channel_id": "5", "id": "6", "content": "hi",
            "author": { "id": "7", "username": "ann" }, "member": { "nick": "Ann", "roles": [] },
            "attachments": [{ "filename": "a.txt", "size": 2, "url": "https://cdn/a.txt" }] });
        let p = Posted::try_from(&m).unwrap();
        assert_eq!(
            (p.who.name.as_str(), p.webhook, p.attachments.len()),
            ("Ann", false, 1)
        );
        assert!(Posted::try_from(&json!({ "type": 7, "channel_id": "5", "id": "6" })).is_err());
        let embed = json!({ "channel_id": "5", "id": "6", "author": { "id": "7" } });
        assert!(Edit::try_from(&embed).is_err(), "no content, no edit");
        let r = json!({ "channel_id": "5", "message_id": "6", "user_id": "7", "emoji": { "name": "✅" } });
        assert_eq!(Reaction::try_from(&r).unwrap().emoji, "✅");
    }
}
