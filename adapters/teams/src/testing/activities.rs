//! Activities as Teams sends them to the bot, for tests to post.

use super::{FakeTeams, APP_ID, STAFF_CHANNEL, TENANT};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// A Teams user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Their id for the bot (`29:…`).
    pub id: String,
    /// Their name.
    pub name: String,
}

impl User {
    /// A user numbered `n`.
    pub fn new(n: u32, name: &str) -> User {
        User {
            id: format!("29:1user{n:04}"),
            name: name.to_owned(),
        }
    }
}

/// Makes activities with fresh ids, all naming the fake's service URL.
pub struct Activities {
    service_url: String,
    next: AtomicU64,
}

impl Activities {
    /// Activities for a fake.
    pub fn new(fake: &FakeTeams) -> Activities {
        Activities {
            service_url: fake.service_url(),
            next: AtomicU64::new(1),
        }
    }

    fn base(&self, kind: &str, from: &User, conversation: Value) -> Value {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        json!({
            "type": kind,
            "id": format!("f:{n:08}"),
            "timestamp": "2026-11-30T10:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": { "id": from.id, "name": from.name, "aadObjectId": format!("aad-{}", from.id) },
            "recipient": { "id": format!("28:{APP_ID}"), "name": "Threadesk" },
            "conversation": conversation,
            "channelData": { "tenant": { "id": TENANT } },
        })
    }

    fn personal_conversation(from: &User) -> Value {
        json!({ "id": FakeTeams::chat_of(&from.id), "conversationType": "personal", "tenantId": TENANT })
    }

    /// A message in the user's 1:1 chat with the bot.
    pub fn personal(&self, from: &User, text: &str) -> Value {
        let mut a = self.base("message", from, Self::personal_conversation(from));
        a["text"] = json!(text);
        a["textFormat"] = json!("plain");
        a
    }

    /// A message in the 1:1 chat replying to (quoting) one of the bot's.
    pub fn personal_reply(&self, from: &User, text: &str, reply_to: &str) -> Value {
        let mut a = self.personal(from, text);
        a["replyToId"] = json!(reply_to);
        a
    }

    /// A file sent in the 1:1 chat.
    pub fn personal_file(&self, from: &User, text: &str, name: &str, url: &str) -> Value {
        let mut a = self.personal(from, text);
        a["attachments"] = json!([{ "contentType": "application/vnd.microsoft.teams.file.download.info",
            "contentUrl": url, "name": name,
            "content": { "downloadUrl": url, "uniqueId": "u1", "fileType": name.rsplit('.').next().unwrap_or("bin") } }]);
        a
    }

    /// A reply in a channel thread (`<channel>;messageid=<root>`).
    pub fn in_thread(&self, from: &User, thread: &str, text: &str) -> Value {
        let conversation = json!({ "id": thread, "conversationType": "channel", "tenantId": TENANT, "isGroup": true });
        let mut a = self.base("message", from, conversation);
        a["text"] = json!(text);
        a["channelData"]["channel"] = json!({ "id": thread.split(';').next().unwrap_or(thread) });
        a
    }

    /// A top-level post in the triage channel that @mentions the bot.
    pub fn staff_post(&self, from: &User, text: &str) -> Value {
        let conversation = json!({ "id": STAFF_CHANNEL, "conversationType": "channel", "tenantId": TENANT, "isGroup": true });
        let mut a = self.base("message", from, conversation);
        a["text"] = json!(format!("<at>Threadesk</at> {text}"));
        a["entities"] = json!([{ "type": "mention", "text": "<at>Threadesk</at>",
            "mentioned": { "id": format!("28:{APP_ID}"), "name": "Threadesk" } }]);
        a["channelData"]["channel"] = json!({ "id": STAFF_CHANNEL });
        a
    }

    /// A card button (`Action.Execute`) pressed on a card in a
    /// conversation; `card` is the card's activity id.
    pub fn card_action(
        &self,
        from: &User,
        conversation: &str,
        card: &str,
        verb: &str,
        data: Value,
    ) -> Value {
        let channel = conversation.contains(";messageid=");
        let conv = if channel {
            json!({ "id": conversation, "conversationType": "channel", "tenantId": TENANT, "isGroup": true })
        } else {
            json!({ "id": conversation, "conversationType": "personal", "tenantId": TENANT })
        };
        let mut a = self.base("invoke", from, conv);
        a["name"] = json!("adaptiveCard/action");
        a["replyToId"] = json!(card);
        a["value"] = json!({ "action": { "type": "Action.Execute", "verb": verb, "data": data } });
        a
    }

    /// A dialog asked for (`task/fetch`) from a button's data.
    pub fn task_fetch(&self, from: &User, data: Value) -> Value {
        let mut a = self.base("invoke", from, Self::personal_conversation(from));
        a["name"] = json!("task/fetch");
        a["value"] = json!({ "data": data, "context": { "theme": "default" } });
        a
    }

    /// A dialog submitted (`task/submit`).
    pub fn task_submit(&self, from: &User, data: Value) -> Value {
        let mut a = self.base("invoke", from, Self::personal_conversation(from));
        a["name"] = json!("task/submit");
        a["value"] = json!({ "data": data, "context": { "theme": "default" } });
        a
    }

    /// The "Create ticket" message action started from a message.
    pub fn create_from_message(&self, from: &User, html: &str) -> Value {
        let mut a = self.base("invoke", from, Self::personal_conversation(from));
        a["name"] = json!("composeExtension/fetchTask");
        a["value"] = json!({ "commandId": "createTicket", "commandContext": "message",
            "messagePayload": { "body": { "contentType": "html", "content": html } } });
        a
    }

    /// The same message, edited.
    pub fn edited(&self, original: &Value, text: &str) -> Value {
        let mut a = original.clone();
        a["type"] = json!("messageUpdate");
        a["text"] = json!(text);
        a["channelData"]["eventType"] = json!("editMessage");
        a
    }

    /// The app installed by a user: the bot joins their 1:1 chat.
    pub fn installed(&self, by: &User) -> Value {
        let mut a = self.base("conversationUpdate", by, Self::personal_conversation(by));
        a["membersAdded"] = json!([{ "id": format!("28:{APP_ID}") }]);
        a
    }

    /// A member removed from the team of the triage channel.
    pub fn left_team(&self, who: &User, by: &User) -> Value {
        let conversation = json!({ "id": STAFF_CHANNEL, "conversationType": "channel", "tenantId": TENANT, "isGroup": true });
        let mut a = self.base("conversationUpdate", by, conversation);
        a["membersRemoved"] = json!([{ "id": who.id }]);
        a["channelData"]["eventType"] = json!("teamMemberRemoved");
        a
    }
}
