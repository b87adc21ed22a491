//! Test support: a fake Discord on 127.0.0.1, REST API and gateway.
//!
//! The REST API is served over TLS with a certificate for `discord.com`
//! made at start; the adapter reaches it the way it reaches any other
//! origin (`api_url` + an extra trusted root), with serenity's rate limiter
//! on. Every request is recorded and checked against Discord's own OpenAPI
//! specification: the path and method must exist, and a JSON body must
//! match the operation's request schema (types, required and unknown
//! fields, lengths, enumerations, unions). A request that breaks it is
//! answered 400 and kept in [`FakeDiscord::violations`]. A
//! `multipart/form-data` message (a file) is read part by part: its
//! `payload_json` is checked as the JSON body, its files against the
//! operation's form schema and the body's `attachments`, and the files are
//! kept for the test ([`FakeDiscord::files_in`]). The fake keeps
//! channels, threads, members and messages, and fails on demand (429 with
//! `Retry-After`, 500, a channel without access).
//!
//! The gateway speaks the real protocol over a plain websocket: HELLO,
//! IDENTIFY or RESUME, READY or RESUMED, heartbeats, then the dispatches a
//! test sends; a test can drop the connection to make the client reconnect.

mod gateway;
mod people;
mod rest;

pub use gateway::Gateway;
use people::hex;
pub use people::{interaction, sign, signing_key, Person};
use rest::segments_match;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use threadesk_chat::testing::Spec;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message as Ws;

/// The bot's user id on the fake.
pub const BOT_USER: &str = "900000000000000001";
/// The fake server (guild).
pub const GUILD: &str = "800000000000000001";
/// The support channel.
pub const SUPPORT_CHANNEL: u64 = 810000000000000001;
/// The staff-only triage channel.
pub const STAFF_CHANNEL: u64 = 810000000000000002;
/// A text channel for transcripts (configured by the tests that want
/// one: `DiscordConfig::transcript_channel`).
pub const TRANSCRIPT_CHANNEL: u64 = 810000000000000003;
/// The staff role.
pub const STAFF_ROLE: u64 = 820000000000000001;
/// The application id.
pub const APPLICATION: u64 = 830000000000000001;

fn spec() -> &'static Spec {
    threadesk_chat::cached_spec!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/specs/discord-openapi.json"
    ))
}

/// What Discord's specification says of a request; empty when it conforms.
pub fn spec_problems(
    method: &str,
    path: &str,
    query: &Map<String, Value>,
    body: &Value,
) -> Vec<String> {
    spec().problems(method, path, query, body)
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Call {
    /// `POST`, `PATCH`, …
    pub method: String,
    /// The path after `/api/v10`, e.g. `/channels/1/messages`.
    pub path: String,
    /// The JSON body (`null` without one).
    pub body: Value,
    /// The status the fake answered.
    pub status: u16,
}

/// A channel or thread the fake knows.
#[derive(Debug, Clone, Default)]
pub struct Channel {
    /// Its parent (for a thread).
    pub parent: Option<String>,
    /// Discord's channel type (0 text, 1 DM, 11 public thread, 12 private).
    pub kind: u64,
    /// Its name.
    pub name: String,
    /// Thread members.
    pub members: BTreeSet<String>,
    /// Archived thread.
    pub archived: bool,
    /// Locked thread.
    pub locked: bool,
    /// A DM's other person.
    pub recipient: Option<String>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// A long run's bound ([`FakeDiscord::keep_latest`]); all kept when
    /// `None`.
    keep: Option<usize>,
    /// How many messages there were after they were last trimmed.
    messages_trimmed: usize,
    /// Where a message the bot posted is in `messages`, by id (checked
    /// on use: a message added otherwise is searched for).
    message_at: HashMap<String, usize>,
    violations: Vec<String>,
    /// `(path fragment, status)`: the next request whose path contains it fails.
    failures: VecDeque<(String, u16)>,
    refused: BTreeSet<String>,
    /// `(path fragment, delay)`: the next request whose path contains it is slow.
    delays: VecDeque<(String, Duration)>,
    channels: HashMap<String, Channel>,
    messages: Vec<Value>,
    /// The members of a thread when the bot posted a message there.
    delivered_to: HashMap<String, BTreeSet<String>>,
    next_id: u64,
    gateway_url: String,
    /// `(path fragment)`: the next request whose path contains it takes
    /// effect but is answered 500 (the answer lost on the way).
    lost_answers: VecDeque<String>,
    /// Nonces of messages created with them: the message and when.
    nonces: HashMap<String, (String, std::time::Instant)>,
    /// Files posted with messages.
    files: Vec<Posted>,
}

/// A file the bot posted with a message (`multipart/form-data`).
#[derive(Clone)]
pub struct Posted {
    /// The message it came with.
    pub message: String,
    /// The channel it was posted in.
    pub channel: String,
    /// Its part's name (`files[0]`).
    pub part: String,
    /// Its file name.
    pub filename: String,
    /// Its part's content type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Posted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Posted")
            .field("message", &self.message)
            .field("channel", &self.channel)
            .field("part", &self.part)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// How long the fake remembers a nonce for `enforce_nonce` (Discord says
/// "the past few minutes"; the fake keeps the low end).
pub const NONCE_WINDOW: Duration = Duration::from_secs(120);

use threadesk_chat::testing::{forget_oldest, keep_latest};

impl Inner {
    /// Records a call (a run that keeps only the latest forgets the
    /// oldest).
    fn record(&mut self, call: Call) {
        self.calls.push(call);
        keep_latest(&mut self.calls, self.keep);
    }

    /// Indexes every message by id again (after some went).
    fn index_messages(&mut self) {
        self.message_at = self
            .messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((m["id"].as_str()?.to_owned(), i)))
            .collect();
    }

    /// A message by id, through the index when it knows it.
    fn message_mut(&mut self, id: &str) -> Option<&mut Value> {
        let at = self
            .message_at
            .get(id)
            .copied()
            .filter(|&i| self.messages.get(i).is_some_and(|m| m["id"] == id));
        match at {
            Some(i) => self.messages.get_mut(i),
            None => self.messages.iter_mut().rev().find(|m| m["id"] == id),
        }
    }

    /// A message was posted: a run that keeps only the latest forgets
    /// the oldest messages it will not edit (those without components: not
    /// cards), with who got them, and files and nonces from before.
    fn posted(&mut self, msg: Value, members: BTreeSet<String>) {
        let id = msg["id"].as_str().unwrap_or_default().to_owned();
        self.message_at.insert(id.clone(), self.messages.len());
        self.messages.push(msg);
        self.delivered_to.insert(id, members);
        let Some(keep) = self.keep.map(|k| k.max(1)) else {
            return;
        };
        if self.messages.len() < self.messages_trimmed + keep {
            return;
        }
        let is_card = |m: &Value| m["components"].as_array().is_some_and(|c| !c.is_empty());
        for m in forget_oldest(&mut self.messages, keep, is_card) {
            self.delivered_to
                .remove(m["id"].as_str().unwrap_or_default());
        }
        self.messages_trimmed = self.messages.len();
        self.index_messages();
        forget_oldest(&mut self.files, keep, |_| false);
        self.nonces.retain(|_, (_, at)| at.elapsed() < NONCE_WINDOW);
    }
}

/// The fake, running until dropped with the test's runtime.
#[derive(Clone)]
pub struct FakeDiscord {
    /// The origin to configure as `api_url` (`https://127.0.0.1:port`).
    pub api_url: String,
    /// The certificate to trust for it (PEM).
    pub root_pem: Vec<u8>,
    inner: Arc<Mutex<Inner>>,
    gateway: Gateway,
}

impl FakeDiscord {
    /// Starts the REST API (TLS) and the gateway on free loopback ports.
    pub async fn start() -> Self {
        let cert = rcgen::generate_simple_self_signed(vec!["discord.com".to_owned()])
            .expect("a test certificate");
        let root_pem = cert.cert.pem().into_bytes();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()),
        );
        let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("a TLS server config");
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let gateway = Gateway::start().await;
        let mut channels = HashMap::new();
        for (id, name) in [
            (SUPPORT_CHANNEL, "support"),
            (STAFF_CHANNEL, "staff"),
            (TRANSCRIPT_CHANNEL, "transcripts"),
        ] {
            channels.insert(
                id.to_string(),
                Channel {
                    kind: 0,
                    name: name.to_owned(),
                    ..Channel::default()
                },
            );
        }
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 1_000_000_000_000_000_000,
            channels,
            gateway_url: gateway.url.clone(),
            ..Inner::default()
        }));
        let app = Router::new().fallback(rest::rest).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        FakeDiscord {
            api_url: format!("https://127.0.0.1:{port}"),
            root_pem,
            inner,
            gateway,
        }
    }

    /// The environment that points a `threadesk` process at this fake:
    /// [`FakeDiscord::config`] as the binary reads it, with `ca_cert` the
    /// path (absolute, or from the process's directory) where the caller
    /// has written [`FakeDiscord::root_pem`].
    pub fn settings(&self, ca_cert: &str) -> Vec<(&'static str, String)> {
        let c = self.config();
        vec![
            ("DISCORD_TOKEN", c.token),
            ("DISCORD_APPLICATION_ID", c.application_id.to_string()),
            ("DISCORD_SUPPORT_CHANNEL", c.support_channel.to_string()),
            ("DISCORD_STAFF_CHANNEL", STAFF_CHANNEL.to_string()),
            ("DISCORD_STAFF_ROLE", STAFF_ROLE.to_string()),
            ("DISCORD_PUBLIC_KEY", c.public_key.unwrap_or_default()),
            ("DISCORD_API_URL", self.api_url.clone()),
            ("DISCORD_CA_CERT", ca_cert.to_owned()),
        ]
    }

    /// [`FakeDiscord::settings`], with the certificate written into `dir`
    /// first (as `test-ca.pem`).
    pub fn settings_in(&self, dir: &std::path::Path) -> Vec<(&'static str, String)> {
        let ca = dir.join("test-ca.pem");
        std::fs::write(&ca, &self.root_pem).expect("the test certificate");
        self.settings(&ca.display().to_string())
    }

    /// The adapter settings for this fake (staff channel and role set,
    /// HTTP interactions signed by [`FakeDiscord::signing_key`]).
    pub fn config(&self) -> crate::DiscordConfig {
        let mut c = crate::DiscordConfig::new("fake-bot-token", APPLICATION, SUPPORT_CHANNEL);
        c.api_url = self.api_url.clone();
        c.extra_root_pem = Some(self.root_pem.clone());
        c.staff_role = Some(STAFF_ROLE);
        c.staff_channel = Some(STAFF_CHANNEL);
        c.public_key = Some(hex(&signing_key().verifying_key().to_bytes()));
        c
    }

    /// The gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// For a long run (the soak), which would otherwise hold everything
    /// it ever sent: keeps about the latest `n` requests for
    /// [`FakeDiscord::calls`] (between `n` and `2n`), the latest `n`
    /// messages and every card (a message with components: the bot edits
    /// those), the latest `n` files, and nonces for their window only.
    /// Violations are never forgotten. A forgotten message is not found
    /// again (by its nonce or in a channel's history): a run that crashes
    /// the server on purpose keeps everything.
    pub fn keep_latest(&self, n: usize) {
        self.inner.lock().expect("fake state").keep = Some(n);
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().expect("fake state").calls.clone()
    }

    /// Requests with this method whose path matches `pattern` (`*` is one
    /// path segment).
    pub fn calls_to(&self, method: &str, pattern: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && segments_match(pattern, &c.path))
            .collect()
    }

    /// Requests that broke the specification.
    pub fn violations(&self) -> Vec<String> {
        self.inner.lock().expect("fake state").violations.clone()
    }

    /// The next request whose path contains `fragment` takes effect (a
    /// message is created) but is answered 500, as when the connection
    /// drops after Discord acted.
    pub fn lose_answer_next(&self, fragment: &str) {
        self.inner
            .lock()
            .expect("fake state")
            .lost_answers
            .push_back(fragment.to_owned());
    }

    /// The next request whose path contains `fragment` answers `status`
    /// (429 comes with `Retry-After`).
    pub fn fail_next(&self, fragment: &str, status: u16) {
        self.inner
            .lock()
            .expect("fake state")
            .failures
            .push_back((fragment.to_owned(), status));
    }

    /// The next request whose path contains `fragment` is answered only
    /// after `delay`.
    pub fn delay_next(&self, fragment: &str, delay: Duration) {
        self.inner
            .lock()
            .expect("fake state")
            .delays
            .push_back((fragment.to_owned(), delay));
    }

    /// Requests about this channel answer 403 Missing Access.
    pub fn refuse_channel(&self, channel: &str) {
        self.inner
            .lock()
            .expect("fake state")
            .refused
            .insert(channel.to_owned());
    }

    /// A channel or thread as the fake holds it.
    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.inner
            .lock()
            .expect("fake state")
            .channels
            .get(id)
            .cloned()
    }

    /// Threads created in a channel, oldest first: `(id, channel)`.
    pub fn threads_in(&self, parent: u64) -> Vec<(String, Channel)> {
        let inner = self.inner.lock().expect("fake state");
        let mut out: Vec<_> = inner
            .channels
            .iter()
            .filter(|(_, c)| c.parent.as_deref() == Some(parent.to_string().as_str()))
            .map(|(id, c)| (id.clone(), c.clone()))
            .collect();
        out.sort_by_key(|(id, _)| id.parse::<u64>().unwrap_or(0));
        out
    }

    /// Every message there is, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        self.inner.lock().expect("fake state").messages.clone()
    }

    /// The messages in a channel or thread, oldest first.
    pub fn messages_in(&self, channel: &str) -> Vec<Value> {
        self.inner
            .lock()
            .expect("fake state")
            .messages
            .iter()
            .filter(|m| m["channel_id"] == channel)
            .cloned()
            .collect()
    }

    /// The files posted in a channel, oldest first.
    pub fn files_in(&self, channel: &str) -> Vec<Posted> {
        self.inner
            .lock()
            .expect("fake state")
            .files
            .iter()
            .filter(|f| f.channel == channel)
            .cloned()
            .collect()
    }

    /// The thread members a message the bot posted reached: those in the
    /// thread at that moment (empty for messages the bot did not post).
    pub fn delivered_to(&self, message: &str) -> BTreeSet<String> {
        self.inner
            .lock()
            .expect("fake state")
            .delivered_to
            .get(message)
            .cloned()
            .unwrap_or_default()
    }

    /// The DM channel the bot has with a user, if it opened one.
    pub fn dm_of(&self, user: &str) -> Option<String> {
        let inner = self.inner.lock().expect("fake state");
        inner
            .channels
            .iter()
            .find(|(_, c)| c.recipient.as_deref() == Some(user))
            .map(|(id, _)| id.clone())
    }

    /// A message written by a person, as Discord dispatches it (and keeps
    /// it in the channel's history).
    pub fn user_message(&self, channel: &str, who: &Person, content: &str) -> Value {
        let mut inner = self.inner.lock().expect("fake state");
        inner.next_id += 1;
        let m = json!({
            "id": inner.next_id.to_string(),
            "channel_id": channel,
            "guild_id": GUILD,
            "author": who.user(),
            "member": who.member_partial(),
            "content": content,
            "timestamp": "2026-11-23T10:00:00.000000+00:00",
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0,
        });
        inner.messages.push(m.clone());
        m
    }

    /// A person's message with files attached `(name, size)`.
    pub fn user_message_with_files(
        &self,
        channel: &str,
        who: &Person,
        content: &str,
        files: &[(&str, u64)],
    ) -> Value {
        let mut m = self.user_message(channel, who, content);
        let list: Vec<Value> = files
            .iter()
            .enumerate()
            .map(|(i, (name, size))| json!({
                "id": format!("{}", 1_200_000_000_000_000_000u64 + i as u64),
                "filename": name, "size": size, "content_type": "application/pdf",
                "url": format!("https://cdn.discordapp.com/attachments/{channel}/{i}/{name}"),
                "proxy_url": format!("https://media.discordapp.net/attachments/{channel}/{i}/{name}"),
            }))
            .collect();
        m["attachments"] = Value::Array(list);
        let mut inner = self.inner.lock().expect("fake state");
        if let Some(last) = inner.messages.last_mut() {
            *last = m.clone();
        }
        m
    }

    /// A person's message written while the bot was away: only in history.
    pub fn history_only(&self, channel: &str, who: &Person, content: &str) -> Value {
        self.user_message(channel, who, content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_keeps_the_latest_messages_and_every_card() {
        let mut g = Inner {
            keep: Some(3),
            ..Inner::default()
        };
        let card = json!({ "id": "1", "channel_id": "C", "components": [{ "type": 1 }] });
        g.posted(card, BTreeSet::new());
        for i in 2..20 {
            let line = json!({ "id": i.to_string(), "channel_id": "T", "components": [] });
            g.posted(line, BTreeSet::from(["someone".to_owned()]));
        }
        let ids: Vec<&str> = g.messages.iter().filter_map(|m| m["id"].as_str()).collect();
        assert_eq!(ids[0], "1", "{ids:?}");
        assert!(!ids.contains(&"2"), "{ids:?}");
        assert!(ids.contains(&"19"), "{ids:?}");
        assert!(g.messages.len() <= 1 + 3 + 3, "{ids:?}");
        // who got a forgotten message is forgotten with it.
        assert_eq!(g.delivered_to.len(), g.messages.len());
        // found by id after the trim, the card and the latest alike.
        assert_eq!(g.message_mut("1").unwrap()["channel_id"], "C");
        assert_eq!(g.message_mut("19").unwrap()["id"], "19");
        assert!(g.message_mut("2").is_none());
        // one added past the index is still found.
        g.messages.push(json!({ "id": "99" }));
        assert!(g.message_mut("99").is_some());

        let mut all = Inner::default();
        for i in 0..50 {
            all.posted(json!({ "id": i.to_string() }), BTreeSet::new());
        }
        assert_eq!(all.messages.len(), 50);
    }
}
