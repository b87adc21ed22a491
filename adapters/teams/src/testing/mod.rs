//! Test support: a fake Teams on 127.0.0.1. It is three services on one
//! listener, as the adapter finds them through its settings:
//!
//! - a token authority (`/{tenant}/oauth2/v2.0/token`, client credentials);
//! - the Bot Framework's OpenID metadata and JWKS, whose key (endorsed
//!   for `msteams`) signs the activities tests send, exactly as the Bot
//!   Framework signs them ([`FakeTeams::sign`]);
//! - a Bot Connector (`/teams/v3/…`) that records every call and checks
//!   it against the Connector's Swagger (operation, parameters, body
//!   types) and every Adaptive Card against the 1.5 schema, keeps
//!   conversations and activities, and fails on demand (429 with
//!   `Retry-After`, 500, 403 for a user who has not installed the app).
//!
//! A request that breaks a specification is answered 400 and kept in
//! [`FakeTeams::violations`].

mod activities;
mod keys;

pub use activities::{Activities, User};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use threadesk_chat::testing::Spec;

use crate::TeamsConfig;

/// The app (bot) id.
pub const APP_ID: &str = "11111111-2222-3333-4444-555555555555";
/// Its client secret.
pub const APP_PASSWORD: &str = "fake-client-secret";
/// The tenant.
pub const TENANT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
/// The triage channel's conversation id.
pub const STAFF_CHANNEL: &str = "19:triage0000@thread.tacv2";
/// The signing key's id.
pub const KEY_ID: &str = "fake-msteams-key";
/// A key the JWKS lists without the `msteams` endorsement.
pub const UNENDORSED_KEY_ID: &str = "fake-unendorsed-key";

fn connector_spec() -> &'static Spec {
    threadesk_chat::cached_spec!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/specs/teams/botframework-channel.json"
    ))
}

fn card_spec() -> &'static Spec {
    threadesk_chat::cached_spec!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/specs/teams/adaptive-card-1.5.0.json"
    ))
}

/// What the Adaptive Card 1.5 schema says of a card; empty when valid.
pub fn card_problems(card: &Value) -> Vec<String> {
    let spec = card_spec();
    let mut errs = vec![];
    spec.check(spec.root(), card, "card", &mut errs);
    errs
}

/// One recorded Connector call.
#[derive(Debug, Clone)]
pub struct Call {
    /// `POST`, `PUT`, …
    pub method: String,
    /// The path after `/teams`, e.g. `/v3/conversations/…/activities`.
    pub path: String,
    /// The JSON body (`null` without one).
    pub body: Value,
}

/// One activity the bot posted, as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The conversation (a thread: `<channel>;messageid=<root>`).
    pub conversation: String,
    /// Its id.
    pub id: String,
    /// The activity as it is now (updates replace it).
    pub activity: Value,
    /// Deleted by the bot.
    pub deleted: bool,
}

impl Posted {
    /// Its text, or its card's texts, for assertions.
    pub fn text(&self) -> String {
        let mut out = self.activity["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for a in self.activity["attachments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.push(' ');
            out.push_str(&a["content"].to_string());
        }
        out
    }
}

#[derive(Default)]
struct Data {
    calls: Vec<Call>,
    violations: Vec<String>,
    posted: Vec<Posted>,
    next: u64,
    tokens: BTreeSet<String>,
    tokens_issued: usize,
    failures: VecDeque<(u16, Option<u64>)>,
    keys_fetched: usize,
    keys_down: bool,
    not_installed: BTreeSet<String>,
}

/// The fake Teams.
#[derive(Clone)]
pub struct FakeTeams {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    data: Arc<Mutex<Data>>,
    key: Arc<ring::signature::RsaKeyPair>,
}

impl FakeTeams {
    /// Starts it on a free loopback port.
    pub async fn start() -> FakeTeams {
        let der = STANDARD.decode(keys::PRIVATE_PKCS8).expect("test key");
        let key = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("test key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeTeams {
            base,
            data: Arc::new(Mutex::new(Data::default())),
            key: Arc::new(key),
        };
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/openid", get(openid))
            .route("/keys", get(jwks))
            .route("/files/{name}", get(file))
            .fallback(connector)
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the Connector is (activities name it as their `serviceUrl`).
    pub fn service_url(&self) -> String {
        format!("{}/teams/", self.base)
    }

    /// Settings pointing the adapter at this fake.
    pub fn config(&self) -> TeamsConfig {
        let mut c = TeamsConfig::new(APP_ID, APP_PASSWORD, TENANT);
        c.staff_channel = Some(STAFF_CHANNEL.to_owned());
        c.service_url = self.service_url();
        c.login_url = self.base.clone();
        c.openid_url = format!("{}/openid", self.base);
        c
    }

    /// Signs a token for an activity as the Bot Framework does; `claims`
    /// overrides or adds claims (`null` removes one).
    pub fn sign(&self, kid: &str, activity: &Value, claims: Value) -> String {
        let now = threadesk_core::time::Timestamp::now().0 / 1_000_000;
        let mut c = json!({
            "iss": crate::auth::ISSUER,
            "aud": APP_ID,
            "exp": now + 3600,
            "nbf": now - 60,
            "serviceurl": activity["serviceUrl"],
        });
        for (k, v) in claims.as_object().into_iter().flatten() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        self.sign_raw(&json!({ "alg": "RS256", "kid": kid, "typ": "JWT" }), &c)
    }

    /// Signs any header and claims with the fake's key.
    pub fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .expect("signing");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Every Connector call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Requests that broke the Connector's or the card's specification.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// Every activity the bot posted (updates applied).
    pub fn posted(&self) -> Vec<Posted> {
        self.lock().posted.clone()
    }

    /// The activities in one conversation, oldest first.
    pub fn in_conversation(&self, conversation: &str) -> Vec<Posted> {
        self.posted()
            .into_iter()
            .filter(|p| p.conversation == conversation && !p.deleted)
            .collect()
    }

    /// The 1:1 chat's id of a user (as the fake makes it).
    pub fn chat_of(user: &str) -> String {
        format!("a:1on1-{user}")
    }

    /// How many tokens the authority issued.
    pub fn tokens_issued(&self) -> usize {
        self.lock().tokens_issued
    }

    /// The JWKS answers 503 (`true`) or its keys again.
    pub fn keys_down(&self, down: bool) {
        self.lock().keys_down = down;
    }

    /// How many times the JWKS was fetched.
    pub fn keys_fetched(&self) -> usize {
        self.lock().keys_fetched
    }

    /// The next Connector call answers `status` (with `Retry-After`).
    pub fn fail_next(&self, status: u16, retry_after: Option<u64>) {
        self.lock().failures.push_back((status, retry_after));
    }

    /// A user who has not installed the app: the bot cannot write to them.
    pub fn not_installed(&self, user: &str) {
        self.lock().not_installed.insert(user.to_owned());
    }
}

async fn token(State(fake): State<FakeTeams>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if tenant != TENANT
        || field("grant_type") != "client_credentials"
        || field("client_id") != APP_ID
        || field("client_secret") != APP_PASSWORD
        || field("scope") != crate::api::SCOPE
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let mut d = fake.lock();
    d.tokens_issued += 1;
    let t = format!("fake-access-token-{}", d.tokens_issued);
    d.tokens.insert(t.clone());
    Json(json!({ "token_type": "Bearer", "expires_in": 3600, "access_token": t })).into_response()
}

/// A file a person sent, as Teams' pre-authorised download link serves it.
async fn file(Path(name): Path<String>) -> Response {
    if name.starts_with("missing") {
        return StatusCode::NOT_FOUND.into_response();
    }
    format!("the bytes of {name}").into_response()
}

async fn openid(State(fake): State<FakeTeams>) -> Json<Value> {
    Json(json!({
        "issuer": crate::auth::ISSUER,
        "jwks_uri": format!("{}/keys", fake.base),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(fake): State<FakeTeams>) -> Response {
    {
        let mut d = fake.lock();
        d.keys_fetched += 1;
        if d.keys_down {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let key = |kid: &str, endorsements: Value| {
        json!({ "kty": "RSA", "use": "sig", "kid": kid, "n": keys::MODULUS, "e": keys::EXPONENT,
                "endorsements": endorsements })
    };
    Json(json!({ "keys": [
        key(KEY_ID, json!(["msteams", "skype"])),
        key(UNENDORSED_KEY_ID, json!(["webchat"])),
    ] }))
    .into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// The Bot Connector, under `/teams`.
async fn connector(
    State(fake): State<FakeTeams>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(path) = uri.path().strip_prefix("/teams") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return error(StatusCode::BAD_REQUEST, "BadSyntax", "not JSON"),
        }
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let mut d = fake.lock();
    d.calls.push(Call {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
    });
    if !d.tokens.contains(&bearer) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", "no valid token");
    }
    // conversation ids hold `/`-free text: the spec's template matches.
    let mut problems = connector_spec().problems(method.as_str(), &path, &Map::new(), &body);
    let activity = if body["activity"].is_object() {
        &body["activity"]
    } else {
        &body
    };
    for a in activity["attachments"].as_array().into_iter().flatten() {
        if a["contentType"] == crate::render::CARD {
            problems.extend(card_problems(&a["content"]));
        }
    }
    if !problems.is_empty() {
        d.violations.extend(problems.iter().cloned());
        return error(StatusCode::BAD_REQUEST, "BadArgument", &problems.join("; "));
    }
    if let Some((status, retry)) = d.failures.pop_front() {
        let mut r = error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "Injected",
            "a failure the test asked for",
        );
        if let Some(s) = retry {
            r.headers_mut()
                .insert("retry-after", s.to_string().parse().unwrap());
        }
        return r;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v3", "conversations"]) => {
            if body["isGroup"] == true {
                let Some(channel) = body["channelData"]["channel"]["id"].as_str() else {
                    return error(StatusCode::BAD_REQUEST, "BadArgument", "no channel");
                };
                d.next += 1;
                let root = (1_700_000_000_000 + d.next).to_string();
                let conversation = crate::platform::thread_id(channel, &root);
                d.posted.push(Posted {
                    conversation: conversation.clone(),
                    id: root.clone(),
                    activity: body["activity"].clone(),
                    deleted: false,
                });
                return Json(json!({ "id": conversation, "activityId": root })).into_response();
            }
            let Some(user) = body["members"][0]["id"].as_str() else {
                return error(StatusCode::BAD_REQUEST, "BadArgument", "no member");
            };
            if d.not_installed.contains(user) {
                return error(
                    StatusCode::FORBIDDEN,
                    "BotNotInConversationRoster",
                    "The bot is not part of the conversation roster.",
                );
            }
            Json(json!({ "id": FakeTeams::chat_of(user) })).into_response()
        }
        ("POST", ["v3", "conversations", conversation, "activities"]) => {
            d.next += 1;
            let id = (1_700_000_000_000 + d.next).to_string();
            d.posted.push(Posted {
                conversation: (*conversation).to_owned(),
                id: id.clone(),
                activity: body.clone(),
                deleted: false,
            });
            Json(json!({ "id": id })).into_response()
        }
        ("PUT", ["v3", "conversations", conversation, "activities", id]) => {
            let root_of = |c: &str| c.split(";messageid=").next().unwrap_or(c).to_owned();
            match d
                .posted
                .iter_mut()
                .find(|p| p.id == *id && root_of(&p.conversation) == root_of(conversation))
            {
                Some(p) => {
                    p.activity = body.clone();
                    Json(json!({ "id": id })).into_response()
                }
                None => error(StatusCode::NOT_FOUND, "NotFound", "no such activity"),
            }
        }
        ("DELETE", ["v3", "conversations", _, "activities", id]) => {
            match d.posted.iter_mut().find(|p| p.id == *id) {
                Some(p) => {
                    p.deleted = true;
                    StatusCode::OK.into_response()
                }
                None => error(StatusCode::NOT_FOUND, "NotFound", "no such activity"),
            }
        }
        ("GET", ["v3", "conversations", _, "members", user]) => {
            Json(json!({ "id": user, "name": user })).into_response()
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "not something the fake serves",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::card_problems;
    use crate::render;
    use serde_json::json;

    #[test]
    fn the_card_checker_takes_our_cards_and_refuses_broken_ones() {
        assert_eq!(card_problems(&render::help(true)), Vec::<String>::new());
        assert_eq!(
            card_problems(&render::new_ticket_form(&[], "s", None, "m", Some("why"))),
            Vec::<String>::new()
        );
        let bad_text = json!({ "type": "AdaptiveCard", "version": "1.5",
            "body": [{ "type": "TextBlock", "text": 5 }] });
        assert!(!card_problems(&bad_text).is_empty());
        let unknown = json!({ "type": "AdaptiveCard", "version": "1.5",
            "body": [{ "type": "Button", "title": "x" }] });
        assert!(!card_problems(&unknown).is_empty());
        let stray = json!({ "type": "AdaptiveCard", "version": "1.5",
            "body": [{ "type": "TextBlock", "text": "x", "colour": "red" }] });
        assert!(!card_problems(&stray).is_empty(), "an undocumented field");
    }
}
