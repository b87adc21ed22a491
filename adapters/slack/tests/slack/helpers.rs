//! A fresh engine, a fake Slack and the adapter's routes per test, and
//! requests built and signed exactly as Slack builds and signs them.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use threadesk_core::domain::PlatformIdentity;
use threadesk_core::outbox::Consumer;
use threadesk_core::testing::harness;
pub use threadesk_core::testing::{Harness, Kind};
use threadesk_core::PersonId;
pub use threadesk_slack::testing::{form_encode, signature, FakeSlack};
use threadesk_slack::{router, SlackAdapter, SlackConfig};
use tower::ServiceExt;

pub use threadesk_core::testing::backends;

pub const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const STAFF_CHANNEL: &str = "CSTAFF";
/// Bob, a customer.
pub const BOB: &str = "UBOB";
/// Carol, Bob's colleague (a delegate in the stories).
pub const CAROL: &str = "UCAROL";
/// Sam, in the staff channel.
pub const SAM: &str = "USAM";
/// Eve, a stranger.
pub const EVE: &str = "UEVE";

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A unique id for triggers, events and views.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

pub struct World {
    pub h: Harness,
    pub slack: SlackAdapter,
    pub fake: FakeSlack,
    app: Router,
}

/// A world with Bob, Carol, Sam (staff channel member) and Eve known to Slack.
pub async fn world(kind: Kind) -> World {
    world_with(kind, |_| {}).await
}

/// [`world`] with settings of the test's own on top.
pub async fn world_with(kind: Kind, configure: impl FnOnce(&mut SlackConfig)) -> World {
    let h = harness(kind).await;
    let fake = FakeSlack::start().await;
    for (id, name) in [
        (BOB, "Bob Builder"),
        (CAROL, "Carol Chen"),
        (SAM, "Sam Support"),
        (EVE, "Eve Outsider"),
    ] {
        fake.add_user(id, name, "T1");
    }
    fake.set_members(STAFF_CHANNEL, &[SAM, "UBOT"]);
    let mut config = SlackConfig::new("xoxb-test-token", SECRET);
    config.api_url = fake.api_url.clone();
    config.staff_channel = Some(STAFF_CHANNEL.into());
    config.app_token = Some("xapp-test-token".into());
    configure(&mut config);
    let slack = SlackAdapter::new(h.engine.clone(), config).unwrap();
    slack.connect().await.unwrap();
    let app = router(slack.clone());
    World {
        h,
        slack,
        fake,
        app,
    }
}

pub fn now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

impl World {
    /// Sends a raw request; returns status and body.
    pub async fn send(
        &self,
        path: &str,
        content_type: &str,
        body: String,
        headers: &[(&str, String)],
    ) -> (StatusCode, String) {
        let mut req = Request::post(path).header("content-type", content_type);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends a body signed as Slack signs it.
    pub async fn signed(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> (StatusCode, String) {
        let ts = now();
        let sig = signature(SECRET, &ts, &body);
        self.send(
            path,
            content_type,
            body,
            &[
                ("x-slack-request-timestamp", ts),
                ("x-slack-signature", sig),
            ],
        )
        .await
    }

    /// `/ticket <text>` from a user; the JSON answer (`null` for an empty one).
    pub async fn command(&self, user: &str, text: &str) -> Value {
        let trigger = unique("trigger-");
        let body = form_encode(&[
            ("token", "deprecated"),
            ("team_id", "T1"),
            ("channel_id", "CGENERAL"),
            ("user_id", user),
            ("user_name", "someone"),
            ("command", "/ticket"),
            ("text", text),
            ("trigger_id", &trigger),
            ("response_url", "https://hooks.slack.com/commands/T1/1/x"),
            ("api_app_id", "A1"),
        ]);
        let (status, answer) = self
            .signed("/slack/commands", "application/x-www-form-urlencoded", body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        serde_json::from_str(&answer).unwrap_or(Value::Null)
    }

    /// An interaction payload from a user.
    pub async fn interact(&self, user: &str, mut payload: Value) -> Value {
        payload["user"] = json!({ "id": user, "username": user.to_lowercase(), "team_id": "T1" });
        payload["team"] = json!({ "id": "T1" });
        if payload.get("trigger_id").is_none() {
            payload["trigger_id"] = json!(unique("trigger-"));
        }
        let body = form_encode(&[("payload", &payload.to_string())]);
        let (status, answer) = self
            .signed(
                "/slack/interactions",
                "application/x-www-form-urlencoded",
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        serde_json::from_str(&answer).unwrap_or(Value::Null)
    }

    /// Clicks a button on a message in a channel.
    pub async fn click(&self, user: &str, channel: &str, action: &str, value: &str) -> Value {
        self.interact(user, json!({
            "type": "block_actions",
            "container": { "type": "message", "channel_id": channel, "message_ts": "1700000000.000001" },
            "channel": { "id": channel },
            "actions": [{ "action_id": action, "value": value, "block_id": "b", "type": "button", "action_ts": "1" }],
        })).await
    }

    /// Submits a modal with these `state.values`.
    pub async fn submit(&self, user: &str, callback: &str, metadata: &str, values: Value) -> Value {
        self.interact(user, json!({
            "type": "view_submission",
            "view": { "id": unique("V"), "callback_id": callback, "private_metadata": metadata, "state": { "values": values } },
        })).await
    }

    /// Submits the New ticket modal with a subject and a message.
    pub async fn submit_new_ticket(
        &self,
        user: &str,
        subject: impl Into<String>,
        body: impl Into<String>,
    ) -> Value {
        let (subject, body) = (subject.into(), body.into());
        self.submit(
            user,
            "td_new_ticket",
            "",
            json!({
                "subject": { "value": { "type": "plain_text_input", "value": subject } },
                "message": { "value": { "type": "plain_text_input", "value": body } },
            }),
        )
        .await
    }

    /// An Events API delivery of `event` with this event id.
    pub async fn event_with_id(&self, event_id: &str, event: Value) -> (StatusCode, String) {
        let body =
            json!({ "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id, "event_time": 1700000000, "event": event })
            .to_string();
        self.signed("/slack/events", "application/json", body).await
    }

    /// An Events API delivery with a fresh event id.
    pub async fn event(&self, event: Value) {
        let (status, body) = self.event_with_id(&unique("Ev"), event).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A person's message in a thread.
    pub async fn say(&self, user: &str, channel: &str, thread: &str, text: &str) -> String {
        let ts = format!("1800000000.{}", unique(""));
        self.event(
            json!({ "type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
            "thread_ts": thread, "channel_type": "im" }),
        )
        .await;
        ts
    }

    /// Lets the outbox worker post everything due now.
    pub async fn drain(&self) {
        for _ in 0..50 {
            if self.slack.mirror().pump().await.unwrap() == 0 {
                return;
            }
        }
        panic!("the outbox did not drain");
    }

    /// The bodies of a ticket's messages as a Slack user sees them.
    pub async fn bodies(&self, user: &str, ticket: i64) -> Vec<String> {
        let person = self.person(user).await;
        let thread = self
            .h
            .engine
            .thread(person, threadesk_core::TicketId(ticket))
            .await
            .unwrap();
        thread.messages.into_iter().map(|m| m.body).collect()
    }

    /// The engine person of a Slack user (who says `/ticket help` first
    /// if the bot has not met them yet).
    pub async fn person(&self, user: &str) -> PersonId {
        let identity = PlatformIdentity::slack("T1", user);
        if let Some(p) = self.h.engine.person_by_identity(&identity).await.unwrap() {
            return p.id;
        }
        self.command(user, "help").await;
        self.h
            .engine
            .person_by_identity(&identity)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Opens a ticket as `user` through the modal; returns its number and
    /// the user's DM card ts and the staff card ts.
    pub async fn open_ticket(&self, user: &str, subject: &str, body: &str) -> Opened {
        let answer = self.submit_new_ticket(user, subject, body).await;
        assert_eq!(answer["response_action"], "update", "{answer}");
        self.drain().await;
        let dm = format!("D{user}");
        let card = self.fake.posts(&dm, None).pop().expect("a DM card");
        let staff = self
            .fake
            .posts(STAFF_CHANNEL, None)
            .pop()
            .expect("a staff card");
        let title = card.args["text"].as_str().unwrap();
        let number: i64 = title[1..].split(' ').next().unwrap().parse().unwrap();
        Opened {
            number,
            dm,
            card_ts: card.answer["ts"].as_str().unwrap().to_owned(),
            staff_ts: staff.answer["ts"].as_str().unwrap().to_owned(),
        }
    }
}

/// A ticket opened from Slack.
pub struct Opened {
    pub number: i64,
    pub dm: String,
    pub card_ts: String,
    pub staff_ts: String,
}
