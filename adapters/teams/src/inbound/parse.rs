//! Activities read into typed inputs at the edge. Nothing past here looks
//! up raw JSON keys of an activity.

use crate::people::Who;
use serde_json::Value;
use threadesk_core::domain::AttachmentMeta;

/// Where an activity happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The 1:1 chat of a person with the bot.
    Personal,
    /// A channel of a team (a top-level post or a thread).
    Channel,
    /// A group chat (the bot does not serve these).
    Group,
}

/// An activity, as much of it as the adapter uses.
#[derive(Debug, Clone)]
pub struct Activity {
    /// `message`, `invoke`, `messageUpdate`, `conversationUpdate`, …
    pub kind: String,
    /// Its id (the idempotency key of what it does).
    pub id: String,
    /// Where answers go.
    pub service_url: String,
    /// `msteams`.
    pub channel_id: String,
    /// Who sent it.
    pub from: Who,
    /// The conversation's id (a channel thread's is
    /// `<channel>;messageid=<root>`).
    pub conversation: String,
    /// What kind of conversation.
    pub place: Place,
    /// The tenant it happened in.
    pub tenant: Option<String>,
    /// The text, the bot's @mention taken out.
    pub text: String,
    /// A card's submitted data or an invoke's value.
    pub value: Value,
    /// An invoke's name (`adaptiveCard/action`, `task/fetch`, …).
    pub name: Option<String>,
    /// The message it replies to or quotes.
    pub reply_to: Option<String>,
    /// Files (1:1 chats only: Teams delivers no channel files to bots).
    pub files: Vec<AttachmentMeta>,
    /// People who left (`conversationUpdate`).
    pub members_removed: Vec<String>,
    /// People who joined (`conversationUpdate`; the bot itself when it is
    /// installed).
    pub members_added: Vec<String>,
}

/// Why a body is not an activity we can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnActivity(pub &'static str);

/// Takes the `<at>…</at>` mentions out of a message's text and undoes
/// the few HTML entities Teams sends.
pub fn plain_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find("<at>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</at>") {
            Some(end) => rest = &rest[start + end + "</at>".len()..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

/// The text with each @mention of a person written `<@id>` (so commands
/// can name people) and the bot's own taken out.
fn mentions_as_ids(a: &Value) -> String {
    let mut text = a["text"].as_str().unwrap_or_default().to_owned();
    let bot = a["recipient"]["id"].as_str().unwrap_or_default();
    for e in a["entities"].as_array().into_iter().flatten() {
        if e["type"] != "mention" {
            continue;
        }
        let (Some(shown), Some(id)) = (e["text"].as_str(), e["mentioned"]["id"].as_str()) else {
            continue;
        };
        let by = if id == bot {
            String::new()
        } else {
            format!("<@{id}>")
        };
        text = text.replacen(shown, &by, 1);
    }
    text
}

fn files(attachments: &Value) -> Vec<AttachmentMeta> {
    attachments
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["contentType"] == "application/vnd.microsoft.teams.file.download.info")
        .map(|a| AttachmentMeta {
            name: a["name"].as_str().unwrap_or("file").to_owned(),
            content_type: match a["content"]["fileType"].as_str() {
                Some("png") => "image/png".to_owned(),
                Some("jpg" | "jpeg") => "image/jpeg".to_owned(),
                Some("pdf") => "application/pdf".to_owned(),
                Some("txt") => "text/plain".to_owned(),
                _ => "application/octet-stream".to_owned(),
            },
            size_bytes: a["content"]["size"].as_u64().unwrap_or(0),
            url: a["content"]["downloadUrl"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
        .collect()
}

impl TryFrom<&Value> for Activity {
    type Error = NotAnActivity;

    fn try_from(a: &Value) -> Result<Self, NotAnActivity> {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let kind = s(&a["type"]);
        if kind.is_empty() {
            return Err(NotAnActivity("no type"));
        }
        let conversation = s(&a["conversation"]["id"]);
        let from = s(&a["from"]["id"]);
        if conversation.is_empty() || from.is_empty() {
            return Err(NotAnActivity("no conversation or sender"));
        }
        let place = match a["conversation"]["conversationType"].as_str() {
            Some("channel") => Place::Channel,
            Some("groupChat") => Place::Group,
            _ if a["conversation"]["isGroup"] == true => Place::Group,
            _ => Place::Personal,
        };
        let tenant = a["conversation"]["tenantId"]
            .as_str()
            .or(a["channelData"]["tenant"]["id"].as_str())
            .map(str::to_owned);
        let ids = |list: &Value| -> Vec<String> {
            list.as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["id"].as_str().map(str::to_owned))
                .collect()
        };
        Ok(Activity {
            kind,
            id: s(&a["id"]),
            service_url: s(&a["serviceUrl"]),
            channel_id: s(&a["channelId"]),
            from: Who {
                id: from,
                name: s(&a["from"]["name"]),
                aad: a["from"]["aadObjectId"].as_str().map(str::to_owned),
            },
            conversation,
            place,
            tenant,
            text: plain_text(&mentions_as_ids(a)),
            value: a["value"].clone(),
            name: a["name"].as_str().map(str::to_owned),
            reply_to: a["replyToId"].as_str().map(str::to_owned),
            files: files(&a["attachments"]),
            members_removed: ids(&a["membersRemoved"]),
            members_added: ids(&a["membersAdded"]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_activity_is_read_into_what_it_means() {
        let a = json!({ "type": "message", "id": "1", "serviceUrl": "https://smba.trafficmanager.net/amer/",
            "channelId": "msteams", "from": { "id": "29:ann", "name": "Ann", "aadObjectId": "oid" },
            "conversation": { "id": "19:c@thread.tacv2;messageid=7", "conversationType": "channel", "tenantId": "t" },
            "text": "<at>Threadesk</at> queue &amp; more", "replyToId": "7",
            "attachments": [{ "contentType": "application/vnd.microsoft.teams.file.download.info", "name": "a.png",
                "content": { "downloadUrl": "https://x/a.png", "fileType": "png" } }] });
        let act = Activity::try_from(&a).unwrap();
        assert_eq!(act.place, Place::Channel);
        assert_eq!(act.text, "queue & more");
        assert_eq!(act.files[0].content_type, "image/png");
        assert_eq!(act.tenant.as_deref(), Some("t"));
        assert!(Activity::try_from(&json!({ "type": "message" })).is_err());
        assert_eq!(plain_text("<at>Bot</at> <at>Other</at>hi"), "hi");
        let staff = json!({ "text": "<at>Threadesk</at> admin grant <at>Bo</at>", "recipient": { "id": "28:app" },
            "entities": [{ "type": "mention", "text": "<at>Threadesk</at>", "mentioned": { "id": "28:app" } },
                         { "type": "mention", "text": "<at>Bo</at>", "mentioned": { "id": "29:bo" } }] });
        assert_eq!(plain_text(&mentions_as_ids(&staff)), "admin grant <@29:bo>");
    }
}
