//! Slack payloads read into typed inputs at the edge: Events API events
//! and the files people attach. Handlers past here read fields, never raw
//! JSON keys.

use crate::text::unescape;
use serde_json::Value;
use threadesk_core::domain::AttachmentMeta;

/// Files a person attached (a message's `files`, a modal's file input).
pub(crate) fn files(list: &Value) -> Vec<AttachmentMeta> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|f| AttachmentMeta {
            name: f["name"]
                .as_str()
                .or(f["title"].as_str())
                .unwrap_or("file")
                .to_owned(),
            content_type: f["mimetype"]
                .as_str()
                .unwrap_or("application/octet-stream")
                .to_owned(),
            size_bytes: f["size"].as_u64().unwrap_or(0),
            url: f["url_private"]
                .as_str()
                .or(f["permalink"].as_str())
                .unwrap_or_default()
                .to_owned(),
        })
        .collect()
}

/// Subtypes that are a person writing.
const WRITTEN: [&str; 3] = ["", "thread_broadcast", "file_share"];

/// An Events API event the adapter acts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SlackEvent {
    /// Someone wrote a message.
    Wrote(Written),
    /// Someone edited a message.
    Edited(Edited),
    /// Someone added a reaction to a message.
    Reacted {
        /// Who.
        user: String,
        /// Where the message is.
        channel: String,
        /// The message.
        ts: String,
        /// The reaction's name (`white_check_mark`).
        reaction: String,
    },
    /// Someone joined or left a channel.
    Membership {
        /// The channel.
        channel: String,
        /// Who.
        user: String,
    },
    /// Someone opened the App Home.
    HomeOpened {
        /// Who.
        user: String,
    },
}

/// A message someone wrote.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Written {
    /// Its channel.
    pub channel: String,
    /// Who wrote it.
    pub user: String,
    /// Its id.
    pub ts: String,
    /// The thread it is in, when it is a reply in a thread.
    pub root: Option<String>,
    /// Written to the bot directly.
    pub direct: bool,
    /// Posted by an app (`bot_id`).
    pub by_app: bool,
    /// The text as typed (Slack's escaping undone).
    pub text: String,
    /// Files attached.
    pub files: Vec<AttachmentMeta>,
}

/// A message someone edited.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Edited {
    /// Its channel.
    pub channel: String,
    /// Who wrote it.
    pub user: String,
    /// Its id.
    pub ts: String,
    /// Posted by an app (`bot_id`).
    pub by_app: bool,
    /// The new text as typed.
    pub text: String,
    /// The text did not change (a link preview arriving re-sends it).
    pub unchanged: bool,
}

/// Why an event is not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ignored(pub &'static str);

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

impl TryFrom<&Value> for SlackEvent {
    type Error = Ignored;

    /// Reads the `event` of an `event_callback` envelope.
    fn try_from(e: &Value) -> Result<Self, Ignored> {
        let missing = Ignored("a field is missing");
        match e["type"].as_str().unwrap_or_default() {
            "message" => {
                let subtype = e["subtype"].as_str().unwrap_or_default();
                if subtype == "message_changed" {
                    let m = &e["message"];
                    let now = m["text"].as_str();
                    return Ok(SlackEvent::Edited(Edited {
                        channel: text(&e["channel"]).ok_or(missing)?,
                        user: text(&m["user"]).ok_or(missing)?,
                        ts: text(&m["ts"]).ok_or(missing)?,
                        by_app: m["bot_id"].is_string(),
                        text: unescape(now.unwrap_or_default()),
                        unchanged: now == e["previous_message"]["text"].as_str(),
                    }));
                }
                if !WRITTEN.contains(&subtype) {
                    return Err(Ignored("not a person writing"));
                }
                let ts = text(&e["ts"]).ok_or(missing)?;
                Ok(SlackEvent::Wrote(Written {
                    channel: text(&e["channel"]).ok_or(missing)?,
                    user: text(&e["user"]).ok_or(missing)?,
                    root: text(&e["thread_ts"]).filter(|r| *r != ts),
                    ts,
                    direct: e["channel_type"] == "im",
                    by_app: e["bot_id"].is_string(),
                    text: unescape(e["text"].as_str().unwrap_or_default()),
                    files: files(&e["files"]),
                }))
            }
            "reaction_added" => Ok(SlackEvent::Reacted {
                user: text(&e["user"]).ok_or(missing)?,
                channel: text(&e["item"]["channel"]).ok_or(missing)?,
                ts: text(&e["item"]["ts"]).ok_or(missing)?,
                reaction: text(&e["reaction"]).unwrap_or_default(),
            }),
            "member_joined_channel" | "member_left_channel" => Ok(SlackEvent::Membership {
                channel: text(&e["channel"]).ok_or(missing)?,
                user: text(&e["user"]).ok_or(missing)?,
            }),
            "app_home_opened" => Ok(SlackEvent::HomeOpened {
                user: text(&e["user"]).ok_or(missing)?,
            }),
            _ => Err(Ignored("an event we do not handle")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_read_into_what_they_mean() {
        let reply = json!({ "type": "message", "channel": "D1", "user": "U1", "ts": "2.0",
            "thread_ts": "1.0", "channel_type": "im", "text": "a &amp; b",
            "files": [{ "name": "x.png", "mimetype": "image/png", "size": 3, "url_private": "https://files/x" }] });
        let SlackEvent::Wrote(w) = SlackEvent::try_from(&reply).unwrap() else {
            panic!("not a message");
        };
        assert_eq!(
            (w.root.as_deref(), w.direct, w.text.as_str()),
            (Some("1.0"), true, "a & b")
        );
        assert_eq!(w.files[0].name, "x.png");
        // the thread's first message is no reply in it.
        let root = json!({ "type": "message", "channel": "C1", "user": "U1", "ts": "1.0", "thread_ts": "1.0" });
        let SlackEvent::Wrote(w) = SlackEvent::try_from(&root).unwrap() else {
            panic!("not a message");
        };
        assert_eq!(w.root, None);
        let preview = json!({ "type": "message", "subtype": "message_changed", "channel": "C1",
            "message": { "user": "U1", "ts": "2.0", "text": "see x" }, "previous_message": { "text": "see x" } });
        let SlackEvent::Edited(e) = SlackEvent::try_from(&preview).unwrap() else {
            panic!("not an edit");
        };
        assert!(e.unchanged);
        let joined = json!({ "type": "message", "subtype": "channel_join", "channel": "C1", "user": "U1", "ts": "3.0" });
        assert!(SlackEvent::try_from(&joined).is_err());
        assert!(SlackEvent::try_from(&json!({ "type": "reaction_added", "user": "U1" })).is_err());
    }
}
