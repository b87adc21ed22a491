//! Test support: a fake Discord on 127.0.0.1, REST API and gateway.
//!
//! The REST API is served over TLS with a certificate for `discord.com`
//! made at start; the adapter reaches it the way it reaches any other
//! origin (`api_url` + an extra trusted root), with serenity's rate limiter
//! on. Every request is recorded and checked against Discord's own OpenAPI
//! specification: the path and method must exist, and a JSON body must
//! match the operation's request schema (types, required and unknown
//! fields, lengths, enumerations, unions). A request that breaks it is
//! answered 400 and kept in [`FakeDiscord::violations`]. The fake keeps
//! channels, threads, members and messages, and fails on demand (429 with
//! `Retry-After`, 500, a channel without access).
//!
//! The gateway speaks the real protocol over a plain websocket: HELLO,
//! IDENTIFY or RESUME, READY or RESUMED, heartbeats, then the dispatches a
//! test sends; a test can drop the connection to make the client reconnect.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
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
/// The staff role.
pub const STAFF_ROLE: u64 = 820000000000000001;
/// The application id.
pub const APPLICATION: u64 = 830000000000000001;

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/specs/discord-openapi.json"
        );
        serde_json::from_str(
            &std::fs::read_to_string(path).expect("the Discord spec is in tests/specs"),
        )
        .expect("the Discord spec is JSON")
    })
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
    violations: Vec<String>,
    /// `(path fragment, status)`: the next request whose path contains it fails.
    failures: VecDeque<(String, u16)>,
    refused: BTreeSet<String>,
    /// `(path fragment, delay)`: the next request whose path contains it is slow.
    delays: VecDeque<(String, Duration)>,
    channels: HashMap<String, Channel>,
    messages: Vec<Value>,
    next_id: u64,
    gateway_url: String,
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
        for (id, name) in [(SUPPORT_CHANNEL, "support"), (STAFF_CHANNEL, "staff")] {
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
        let app = Router::new().fallback(rest).with_state(inner.clone());
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

    /// Messages in a channel, oldest first.
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

/// A Discord user in the fake server.
#[derive(Debug, Clone)]
pub struct Person {
    /// The user id.
    pub id: String,
    /// The user name.
    pub name: String,
    /// Their roles.
    pub roles: Vec<String>,
}

impl Person {
    /// A member without roles.
    pub fn new(id: u64, name: &str) -> Person {
        Person {
            id: id.to_string(),
            name: name.to_owned(),
            roles: vec![],
        }
    }

    /// A member with the staff role.
    pub fn staff(id: u64, name: &str) -> Person {
        Person {
            roles: vec![STAFF_ROLE.to_string()],
            ..Person::new(id, name)
        }
    }

    /// The user object.
    pub fn user(&self) -> Value {
        json!({ "id": self.id, "username": self.name.to_lowercase(), "global_name": self.name, "discriminator": "0", "avatar": null })
    }

    /// The member object of a message (no user inside).
    pub fn member_partial(&self) -> Value {
        json!({ "roles": self.roles, "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0 })
    }

    /// The member object of an interaction.
    pub fn member(&self) -> Value {
        let mut m = self.member_partial();
        m["user"] = self.user();
        m["permissions"] = json!("2248473465835073");
        m
    }
}

/// The key HTTP interactions are signed with.
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// Signs a body the way Discord does: Ed25519 over timestamp + body.
pub fn sign(timestamp: &str, body: &[u8]) -> String {
    let mut msg = timestamp.as_bytes().to_vec();
    msg.extend_from_slice(body);
    hex(&signing_key().sign(&msg).to_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Interactions as Discord sends them.
pub mod interaction {
    use super::{Person, APPLICATION, GUILD};
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(1_100_000_000_000_000_000);

    fn base(kind: u64, who: &Person, channel: &str, data: Value) -> Value {
        let id = NEXT.fetch_add(1, Ordering::SeqCst);
        json!({
            "id": id.to_string(),
            "application_id": APPLICATION.to_string(),
            "type": kind,
            "data": data,
            "guild_id": GUILD,
            "channel_id": channel,
            "channel": { "id": channel, "type": 0 },
            "member": who.member(),
            "token": format!("itoken{id}"),
            "version": 1,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "authorizing_integration_owners": { "0": GUILD },
            "context": 0,
            "attachment_size_limit": 8388608,
        })
    }

    /// `/ticket <sub> [options]`.
    pub fn command(who: &Person, channel: &str, sub: &str, options: Value) -> Value {
        base(
            2,
            who,
            channel,
            json!({
                "id": "840000000000000001", "name": "ticket", "type": 1,
                "options": [{ "type": 1, "name": sub, "options": options }]
            }),
        )
    }

    /// `/ticket <sub>` whose `user` option names `target` (with Discord's
    /// resolved data).
    pub fn command_on(
        who: &Person,
        channel: &str,
        sub: &str,
        target: &Person,
        mut options: Value,
    ) -> Value {
        if let Some(list) = options.as_array_mut() {
            list.push(json!({ "type": 6, "name": "user", "value": target.id }));
        }
        let mut i = command(who, channel, sub, options);
        i["data"]["resolved"] = json!({
            "users": { target.id.clone(): target.user() },
            "members": { target.id.clone(): target.member_partial() }
        });
        i
    }

    /// A button press (or a select, with `values`).
    pub fn component(
        who: &Person,
        channel: &str,
        custom_id: &str,
        kind: u64,
        values: Option<Value>,
    ) -> Value {
        let mut data = json!({ "custom_id": custom_id, "component_type": kind });
        if let Some(v) = values {
            data["values"] = v;
        }
        let mut i = base(3, who, channel, data);
        i["message"] = json!({ "id": "1", "channel_id": channel, "content": "", "components": [] });
        i
    }

    /// A user select with resolved users.
    pub fn user_select(who: &Person, channel: &str, custom_id: &str, users: &[&Person]) -> Value {
        let mut i = component(
            who,
            channel,
            custom_id,
            5,
            Some(json!(users
                .iter()
                .map(|u| u.id.clone())
                .collect::<Vec<_>>())),
        );
        let mut resolved = json!({ "users": {}, "members": {} });
        for u in users {
            resolved["users"][&u.id] = u.user();
            resolved["members"][&u.id] = u.member_partial();
        }
        i["data"]["resolved"] = resolved;
        i
    }

    /// A modal submission with text inputs `(custom id, value)`.
    pub fn modal(who: &Person, channel: &str, custom_id: &str, fields: &[(&str, &str)]) -> Value {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, v)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": id, "value": v }] }))
            .collect();
        base(
            5,
            who,
            channel,
            json!({ "custom_id": custom_id, "components": rows }),
        )
    }

    /// A button press in a DM (no member, a user).
    pub fn dm_component(who: &Person, channel: &str, custom_id: &str) -> Value {
        let mut i = component(who, channel, custom_id, 2, None);
        if let Some(o) = i.as_object_mut() {
            o.remove("member");
            o.remove("guild_id");
            o.insert("user".to_owned(), who.user());
            o.insert("context".to_owned(), json!(1));
        }
        i
    }

    /// A `PING`.
    pub fn ping() -> Value {
        json!({ "id": "1", "application_id": APPLICATION.to_string(), "type": 1, "token": "t", "version": 1 })
    }
}

// ---------------------------------------------------------------- REST

fn segments_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let s: Vec<&str> = path.trim_matches('/').split('/').collect();
    p.len() == s.len() && p.iter().zip(&s).all(|(a, b)| *a == "*" || a == b)
}

/// The spec's path template matching a concrete path.
fn template_of(path: &str) -> Option<(String, Value)> {
    let paths = spec()["paths"].as_object()?;
    let s: Vec<&str> = path.trim_matches('/').split('/').collect();
    paths
        .iter()
        .filter(|(t, _)| {
            let p: Vec<&str> = t.trim_matches('/').split('/').collect();
            p.len() == s.len()
                && p.iter()
                    .zip(&s)
                    .all(|(a, b)| (a.starts_with('{') && a.ends_with('}')) || a == b)
        })
        // a literal segment beats a parameter (`@me`, `@original`).
        .max_by_key(|(t, _)| t.split('/').filter(|x| !x.starts_with('{')).count())
        .map(|(t, v)| (t.clone(), v.clone()))
}

fn resolve(schema: &Value) -> &Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let mut node = spec();
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            resolve(node)
        }
        None => schema,
    }
}

/// Checks a value against a schema; problems go to `errs` as `path: what`.
fn check(schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    if schema.get("$ref").is_some() {
        check(resolve(schema), v, at, errs);
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(s, v, at, errs);
        }
    }
    for union in ["oneOf", "anyOf"] {
        if let Some(options) = schema[union].as_array() {
            let fits = options.iter().any(|s| {
                let mut e = vec![];
                check(s, v, at, &mut e);
                e.is_empty()
            });
            if !fits {
                errs.push(format!("{at}: matches none of the {union} schemas: {v}"));
            }
        }
    }
    if let Some(c) = schema.get("const") {
        if c != v {
            errs.push(format!("{at}: must be {c}, is {v}"));
        }
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(v) {
            errs.push(format!("{at}: {v} is not one of {options:?}"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => true,
        });
        if !ok {
            errs.push(format!("{at}: {v} is not {}", types.join(" or ")));
            return;
        }
    }
    match v {
        Value::String(s) => {
            let n = s.chars().count() as u64;
            if schema["maxLength"].as_u64().is_some_and(|m| n > m) {
                errs.push(format!("{at}: longer than {}", schema["maxLength"]));
            }
            if schema["minLength"].as_u64().is_some_and(|m| n < m) {
                errs.push(format!("{at}: shorter than {}", schema["minLength"]));
            }
            if schema["format"] == "snowflake" && !s.chars().all(|c| c.is_ascii_digit()) {
                errs.push(format!("{at}: {s} is not a snowflake"));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if schema["maximum"].as_f64().is_some_and(|m| x > m) {
                errs.push(format!("{at}: above {}", schema["maximum"]));
            }
            if schema["minimum"].as_f64().is_some_and(|m| x < m) {
                errs.push(format!("{at}: below {}", schema["minimum"]));
            }
        }
        Value::Array(items) => {
            if schema["maxItems"]
                .as_u64()
                .is_some_and(|m| items.len() as u64 > m)
            {
                errs.push(format!("{at}: more than {} items", schema["maxItems"]));
            }
            if schema["minItems"]
                .as_u64()
                .is_some_and(|m| (items.len() as u64) < m)
            {
                errs.push(format!("{at}: fewer than {} items", schema["minItems"]));
            }
            if let Some(item) = schema.get("items") {
                for (i, x) in items.iter().enumerate() {
                    check(item, x, &format!("{at}[{i}]"), errs);
                }
            }
        }
        Value::Object(fields) => {
            for r in schema["required"].as_array().into_iter().flatten() {
                if let Some(name) = r.as_str() {
                    if !fields.contains_key(name) {
                        errs.push(format!("{at}: missing required `{name}`"));
                    }
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (k, x) in fields {
                    match props.get(k) {
                        Some(s) => check(s, x, &format!("{at}.{k}"), errs),
                        None => match schema.get("additionalProperties") {
                            Some(extra) if extra.is_object() => {
                                check(extra, x, &format!("{at}.{k}"), errs)
                            }
                            Some(Value::Bool(true)) => {}
                            _ => errs.push(format!("{at}: undocumented field `{k}`")),
                        },
                    }
                }
            } else if let Some(extra) = schema.get("additionalProperties").filter(|e| e.is_object())
            {
                for (k, x) in fields {
                    check(extra, x, &format!("{at}.{k}"), errs);
                }
            }
        }
        _ => {}
    }
}

/// What the specification says of a request; empty when it conforms.
pub fn spec_problems(
    method: &str,
    path: &str,
    query: &Map<String, Value>,
    body: &Value,
) -> Vec<String> {
    let Some((template, item)) = template_of(path) else {
        return vec![format!(
            "{method} {path}: no such path in the specification"
        )];
    };
    let op = &item[method.to_lowercase()];
    if !op.is_object() {
        return vec![format!("{method} {template}: no such operation")];
    }
    let mut errs = vec![];
    let params: Vec<&Value> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(item["parameters"].as_array().into_iter().flatten())
        .map(resolve)
        .collect();
    for k in query.keys() {
        if !params
            .iter()
            .any(|p| p["in"] == "query" && p["name"] == k.as_str())
        {
            errs.push(format!(
                "{method} {template}: undocumented query parameter `{k}`"
            ));
        }
    }
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    if schema.is_null() {
        if !body.is_null() {
            errs.push(format!("{method} {template}: takes no body"));
        }
    } else if body.is_null() {
        if op["requestBody"]["required"] == true {
            errs.push(format!("{method} {template}: body required"));
        }
    } else {
        let mut e = vec![];
        check(schema, body, "body", &mut e);
        errs.extend(e.into_iter().map(|x| format!("{method} {template}: {x}")));
    }
    errs
}

fn error(status: u16, code: u64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn channel_json(id: &str, c: &Channel) -> Value {
    let mut v = json!({ "id": id, "type": c.kind, "name": c.name, "guild_id": GUILD, "flags": 0 });
    if let Some(p) = &c.parent {
        v["parent_id"] = json!(p);
        v["thread_metadata"] = json!({ "archived": c.archived, "locked": c.locked, "auto_archive_duration": 10080, "archive_timestamp": "2026-11-23T10:00:00.000000+00:00" });
        v["owner_id"] = json!(BOT_USER);
    }
    if c.kind == 1 {
        if let Some(o) = v.as_object_mut() {
            o.remove("guild_id");
            o.remove("name");
        }
        v["recipients"] = json!([{ "id": c.recipient, "username": "someone", "discriminator": "0", "avatar": null }]);
    }
    v
}

fn bot_message(id: &str, channel: &str, body: &Value) -> Value {
    json!({
        "id": id,
        "channel_id": channel,
        "author": { "id": BOT_USER, "username": "threadesk", "discriminator": "0", "avatar": null, "bot": true },
        "content": body["content"].as_str().unwrap_or_default(),
        "embeds": body["embeds"].clone(),
        "components": body["components"].clone(),
        "timestamp": "2026-11-23T10:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "pinned": false, "type": 0,
    })
}

async fn rest(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    Query(query): Query<Map<String, Value>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let full = uri.path().to_owned();
    let Some(path) = full.strip_prefix("/api/v10").map(str::to_owned) else {
        return error(404, 0, "404: Not Found");
    };
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return error(400, 50109, "The request body contains invalid JSON."),
        }
    };
    let delay = {
        let mut g = inner.lock().expect("fake state");
        let i = g.delays.iter().position(|(f, _)| path.contains(f.as_str()));
        i.and_then(|i| g.delays.remove(i)).map(|(_, d)| d)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut g = inner.lock().expect("fake state");
    let record = |g: &mut Inner, status: u16| {
        g.calls.push(Call {
            method: method.to_string(),
            path: path.clone(),
            body: body.clone(),
            status,
        })
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bot fake-bot-token") {
        record(&mut g, 401);
        return error(401, 0, "401: Unauthorized");
    }
    let problems = spec_problems(method.as_str(), &path, &query, &body);
    if !problems.is_empty() {
        g.violations.extend(problems.clone());
        record(&mut g, 400);
        return error(
            400,
            50035,
            &format!("Invalid Form Body: {}", problems.join("; ")),
        );
    }
    if let Some(i) = g
        .failures
        .iter()
        .position(|(f, _)| path.contains(f.as_str()))
    {
        let (_, status) = g.failures.remove(i).unwrap_or_default();
        record(&mut g, status);
        if status == 429 {
            let mut r = error(429, 0, "You are being rate limited.");
            let h = r.headers_mut();
            h.insert("retry-after", "0.3".parse().expect("a header"));
            h.insert("x-ratelimit-limit", "5".parse().expect("a header"));
            h.insert("x-ratelimit-remaining", "0".parse().expect("a header"));
            h.insert("x-ratelimit-reset-after", "0.3".parse().expect("a header"));
            h.insert("x-ratelimit-bucket", "fake".parse().expect("a header"));
            return r;
        }
        return error(status, 0, "Internal Server Error");
    }
    let seg: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    if seg.len() >= 2 && seg[0] == "channels" && g.refused.contains(&seg[1]) {
        record(&mut g, 403);
        return error(403, 50001, "Missing Access");
    }
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let m = method.as_str();
    let answer = match (m, s.as_slice()) {
        ("GET", ["users", "@me"]) => ok(
            json!({ "id": BOT_USER, "username": "threadesk", "discriminator": "0", "global_name": null, "avatar": null, "bot": true, "flags": 0 }),
        ),
        ("GET", ["gateway"]) => ok(json!({ "url": g.gateway_url })),
        ("GET", ["gateway", "bot"]) => ok(
            json!({ "url": g.gateway_url, "shards": 1, "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 } }),
        ),
        ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let list: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    c["id"] = json!((840000000000000001u64 + i as u64).to_string());
                    c["application_id"] = json!(APPLICATION.to_string());
                    c["version"] = json!("1");
                    c
                })
                .collect();
            ok(Value::Array(list))
        }
        ("GET", ["channels", id]) => match g.channels.get(*id) {
            Some(c) => ok(channel_json(id, c)),
            None => error(404, 10003, "Unknown Channel"),
        },
        ("PATCH", ["channels", id]) => {
            let id = (*id).to_owned();
            match g.channels.get_mut(&id) {
                Some(c) => {
                    if let Some(a) = body["archived"].as_bool() {
                        c.archived = a;
                    }
                    if let Some(l) = body["locked"].as_bool() {
                        c.locked = l;
                    }
                    if let Some(n) = body["name"].as_str() {
                        c.name = n.to_owned();
                    }
                    let c = c.clone();
                    ok(channel_json(&id, &c))
                }
                None => error(404, 10003, "Unknown Channel"),
            }
        }
        ("POST", ["channels", parent, "threads"]) => {
            g.next_id += 1;
            let id = g.next_id.to_string();
            let c = Channel {
                parent: Some((*parent).to_owned()),
                kind: body["type"].as_u64().unwrap_or(11),
                name: body["name"].as_str().unwrap_or_default().to_owned(),
                members: [BOT_USER.to_owned()].into(),
                ..Channel::default()
            };
            g.channels.insert(id.clone(), c.clone());
            (StatusCode::CREATED, axum::Json(channel_json(&id, &c))).into_response()
        }
        ("POST", ["channels", parent, "messages", msg, "threads"]) => {
            let id = (*msg).to_owned();
            if g.channels.contains_key(&id) {
                error(
                    400,
                    160004,
                    "A thread has already been created for this message",
                )
            } else {
                let c = Channel {
                    parent: Some((*parent).to_owned()),
                    kind: 11,
                    name: body["name"].as_str().unwrap_or_default().to_owned(),
                    members: [BOT_USER.to_owned()].into(),
                    ..Channel::default()
                };
                g.channels.insert(id.clone(), c.clone());
                (StatusCode::CREATED, axum::Json(channel_json(&id, &c))).into_response()
            }
        }
        ("PUT" | "DELETE", ["channels", id, "thread-members", user]) => {
            let (id, user) = ((*id).to_owned(), (*user).to_owned());
            match g.channels.get_mut(&id) {
                Some(c) => {
                    if m == "PUT" {
                        c.members.insert(user);
                    } else {
                        c.members.remove(&user);
                    }
                    StatusCode::NO_CONTENT.into_response()
                }
                None => error(404, 10003, "Unknown Channel"),
            }
        }
        ("POST", ["channels", id, "messages"]) => {
            let id = (*id).to_owned();
            match g.channels.get(&id) {
                None => error(404, 10003, "Unknown Channel"),
                Some(c) if c.locked => error(403, 50083, "Thread is archived"),
                Some(_) => {
                    g.next_id += 1;
                    let mid = g.next_id.to_string();
                    let msg = bot_message(&mid, &id, &body);
                    g.messages.push(msg.clone());
                    ok(msg)
                }
            }
        }
        ("PATCH", ["channels", id, "messages", mid]) => {
            let (id, mid) = ((*id).to_owned(), (*mid).to_owned());
            match g
                .messages
                .iter_mut()
                .find(|x| x["id"] == mid.as_str() && x["channel_id"] == id.as_str())
            {
                Some(x) => {
                    for k in ["content", "embeds", "components"] {
                        if !body[k].is_null() {
                            x[k] = body[k].clone();
                        }
                    }
                    ok(x.clone())
                }
                None => error(404, 10008, "Unknown Message"),
            }
        }
        ("DELETE", ["channels", id, "messages", mid]) => {
            let (id, mid) = ((*id).to_owned(), (*mid).to_owned());
            let before = g.messages.len();
            g.messages
                .retain(|x| !(x["id"] == mid.as_str() && x["channel_id"] == id.as_str()));
            if g.messages.len() < before {
                StatusCode::NO_CONTENT.into_response()
            } else {
                error(404, 10008, "Unknown Message")
            }
        }
        ("GET", ["channels", id, "messages"]) => {
            let after = query
                .get("after")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<u64>().ok())
                .unwrap_or(0);
            let limit = query
                .get("limit")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<usize>().ok())
                .unwrap_or(50);
            let mut found: Vec<Value> = g
                .messages
                .iter()
                .filter(|x| {
                    x["channel_id"] == *id
                        && x["id"]
                            .as_str()
                            .and_then(|i| i.parse::<u64>().ok())
                            .unwrap_or(0)
                            > after
                })
                .cloned()
                .collect();
            found.truncate(limit);
            found.reverse();
            ok(Value::Array(found))
        }
        ("POST", ["users", "@me", "channels"]) => {
            let user = body["recipient_id"].as_str().unwrap_or_default().to_owned();
            let existing = g
                .channels
                .iter()
                .find(|(_, c)| c.recipient.as_deref() == Some(user.as_str()))
                .map(|(id, c)| (id.clone(), c.clone()));
            let (id, c) = match existing {
                Some(x) => x,
                None => {
                    g.next_id += 1;
                    let id = g.next_id.to_string();
                    let c = Channel {
                        kind: 1,
                        recipient: Some(user),
                        ..Channel::default()
                    };
                    g.channels.insert(id.clone(), c.clone());
                    (id, c)
                }
            };
            ok(channel_json(&id, &c))
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => ok(bot_message("1", "1", &body)),
        _ => error(404, 0, "404: Not Found"),
    };
    record(&mut g, answer.status().as_u16());
    answer
}

// ---------------------------------------------------------------- gateway

/// The fake gateway.
#[derive(Clone)]
pub struct Gateway {
    /// Its address (`ws://127.0.0.1:port`).
    pub url: String,
    events: broadcast::Sender<Value>,
    drops: broadcast::Sender<()>,
    state: Arc<Mutex<GatewayState>>,
}

#[derive(Default)]
struct GatewayState {
    identifies: usize,
    resumes: usize,
    sessions_up: usize,
    seq: u64,
    intents: u64,
}

impl Gateway {
    async fn start() -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("ws://{}", listener.local_addr().expect("an address"));
        let (events, _) = broadcast::channel(256);
        let (drops, _) = broadcast::channel(4);
        let gw = Gateway {
            url,
            events,
            drops,
            state: Arc::new(Mutex::new(GatewayState::default())),
        };
        let me = gw.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.session(tcp).await });
            }
        });
        gw
    }

    fn next_seq(&self) -> u64 {
        let mut s = self.state.lock().expect("gateway state");
        s.seq += 1;
        s.seq
    }

    async fn session(&self, tcp: tokio::net::TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let mut events = self.events.subscribe();
        let mut drops = self.drops.subscribe();
        let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41250 }, "s": null, "t": null });
        if ws.send(Ws::text(hello.to_string())).await.is_err() {
            return;
        }
        // IDENTIFY or RESUME first.
        let first = loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Ws::Text(t)))) => {
                    break serde_json::from_str::<Value>(&t).unwrap_or(Value::Null)
                }
                Ok(Some(Ok(_))) => continue,
                _ => return,
            }
        };
        let reply = match first["op"].as_u64() {
            Some(2) => {
                {
                    let mut s = self.state.lock().expect("gateway state");
                    s.identifies += 1;
                    s.intents = first["d"]["intents"].as_u64().unwrap_or(0);
                }
                json!({ "op": 0, "t": "READY", "s": self.next_seq(), "d": {
                    "v": 10,
                    "user": { "id": BOT_USER, "username": "threadesk", "discriminator": "0", "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0, "global_name": null },
                    "guilds": [{ "id": GUILD, "unavailable": true }],
                    "session_id": "fake-session",
                    "resume_gateway_url": self.url,
                    "shard": [0, 1],
                    "application": { "id": APPLICATION.to_string(), "flags": 0 },
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "guild_join_requests": [],
                    "geo_ordered_rtc_regions": [],
                    "user_settings": {},
                    "_trace": ["fake"]
                } })
            }
            Some(6) => {
                self.state.lock().expect("gateway state").resumes += 1;
                json!({ "op": 0, "t": "RESUMED", "s": self.next_seq(), "d": { "_trace": ["fake"] } })
            }
            _ => return,
        };
        if ws.send(Ws::text(reply.to_string())).await.is_err() {
            return;
        }
        self.state.lock().expect("gateway state").sessions_up += 1;
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Ws::Text(t))) => {
                        let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                        if v["op"] == 1 {
                            let _ = ws.send(Ws::text(json!({ "op": 11, "d": null, "s": null, "t": null }).to_string())).await;
                        }
                    }
                    Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        if ws.send(Ws::text(ev.to_string())).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
                _ = drops.recv() => {
                    // as Discord does when it wants a reconnect: close with 4000.
                    let _ = ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                        code: 4000u16.into(),
                        reason: "reconnect".into(),
                    })).await;
                    break;
                }
            }
        }
        self.state.lock().expect("gateway state").sessions_up -= 1;
    }

    /// Sends a dispatch (`t`, `d`) to every connected session.
    pub fn dispatch(&self, kind: &str, data: Value) {
        let seq = self.next_seq();
        let _ = self
            .events
            .send(json!({ "op": 0, "t": kind, "s": seq, "d": data }));
    }

    /// Closes every session (the client reconnects and resumes).
    pub fn drop_connections(&self) {
        let _ = self.drops.send(());
    }

    /// IDENTIFY + RESUME handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        let s = self.state.lock().expect("gateway state");
        s.identifies + s.resumes
    }

    /// Sessions connected now.
    pub fn sessions(&self) -> usize {
        self.state.lock().expect("gateway state").sessions_up
    }

    /// The intents the client identified with.
    pub fn intents(&self) -> u64 {
        self.state.lock().expect("gateway state").intents
    }
}
