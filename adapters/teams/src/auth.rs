//! Inbound: every request to `/teams/messages` carries a JWT the Bot
//! Framework signed. It is checked as the Bot Framework requires: RS256
//! only, issuer `https://api.botframework.com`, audience the app id, five
//! minutes of clock skew, a key from the OpenID metadata's JWKS whose
//! endorsements include the activity's channel, and a `serviceurl` claim
//! equal to the activity's service URL. Keys are cached, fetched again
//! daily and on an unknown key id (at most hourly). No token is logged.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The only issuer the Bot Framework signs with.
pub const ISSUER: &str = "https://api.botframework.com";
/// Allowed clock skew.
pub const SKEW_SECONDS: i64 = 300;
/// Keys are fetched again after this long.
pub const REFRESH: Duration = Duration::from_secs(24 * 3600);
/// An unknown key id fetches the keys again at most this often.
pub const UNKNOWN_KEY_REFRESH: Duration = Duration::from_secs(3600);
/// After a failed fetch, requests wait this long before another is tried
/// (they are refused meanwhile rather than each waiting on the network).
pub const FETCH_RETRY: Duration = Duration::from_secs(10);

/// Why a request was refused: 401 (not authenticated) or 403 (a valid
/// token for something else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 401, with the reason (never the token).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403, with the reason.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
}

/// One signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// RSA modulus, big-endian.
    pub n: Vec<u8>,
    /// RSA public exponent, big-endian.
    pub e: Vec<u8>,
    /// The channels the key may sign for (`msteams`, …).
    pub endorsements: Vec<String>,
}

/// The keys by id.
pub type KeySet = HashMap<String, Key>;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    serviceurl: Option<String>,
}

/// What the activity says of itself, to hold the token against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The app id (the audience).
    pub app_id: &'a str,
    /// The activity's `channelId` (`msteams`).
    pub channel: &'a str,
    /// The activity's `serviceUrl`.
    pub service_url: &'a str,
}

/// The key id a token names, if it is a JWT at all.
pub fn key_id(token: &str) -> Result<String, Refusal> {
    let header = token.split('.').next().unwrap_or_default();
    let header: Header = decode_json(header)?;
    if header.alg != "RS256" {
        return Err(Refusal::Unauthorized("only RS256 tokens are accepted"));
    }
    header
        .kid
        .ok_or(Refusal::Unauthorized("the token names no key"))
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, Refusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::Unauthorized("malformed token"))?;
    serde_json::from_slice(&bytes).map_err(|_| Refusal::Unauthorized("malformed token"))
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Checks a token against the keys, at `now` (seconds since the epoch).
pub fn validate(
    token: &str,
    keys: &KeySet,
    expected: Expected<'_>,
    now: i64,
) -> Result<(), Refusal> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(Refusal::Unauthorized("malformed token"));
    };
    let kid = key_id(token)?;
    let key = keys.get(&kid).ok_or(Refusal::Unauthorized(
        "the token's key is not the Bot Framework's",
    ))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Refusal::Unauthorized("malformed token"))?;
    let signed = format!("{header}.{payload}");
    ring::signature::RsaPublicKeyComponents {
        n: &key.n,
        e: &key.e,
    }
    .verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &signature,
    )
    .map_err(|_| Refusal::Unauthorized("bad signature"))?;
    let claims: Claims = decode_json(payload)?;
    if claims.iss.as_deref() != Some(ISSUER) {
        return Err(Refusal::Unauthorized("wrong issuer"));
    }
    let audiences = [
        expected.app_id.to_owned(),
        format!("api://{}", expected.app_id),
        format!("api://botid-{}", expected.app_id),
    ];
    let audience_ok = match &claims.aud {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if !audience_ok {
        return Err(Refusal::Unauthorized("wrong audience"));
    }
    match claims.exp {
        Some(exp) if exp + SKEW_SECONDS >= now => {}
        _ => return Err(Refusal::Unauthorized("expired")),
    }
    if claims.nbf.is_some_and(|nbf| nbf - SKEW_SECONDS > now) {
        return Err(Refusal::Unauthorized("not valid yet"));
    }
    if !key.endorsements.iter().any(|c| c == expected.channel) {
        return Err(Refusal::Forbidden(
            "the key is not endorsed for this channel",
        ));
    }
    match claims.serviceurl.as_deref() {
        Some(url) if same_url(url, expected.service_url) => Ok(()),
        _ => Err(Refusal::Forbidden("the token is for another service URL")),
    }
}

/// Reads a JWKS document (`{"keys": [{kid, n, e, endorsements}]}`);
/// keys that are not RSA are left out.
pub fn parse_jwks(doc: &Value) -> KeySet {
    let mut out = KeySet::new();
    for k in doc["keys"].as_array().into_iter().flatten() {
        if k["kty"].as_str().is_some_and(|t| t != "RSA") {
            continue;
        }
        let b64 = |f: &str| k[f].as_str().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
        let (Some(kid), Some(n), Some(e)) = (k["kid"].as_str(), b64("n"), b64("e")) else {
            continue;
        };
        let endorsements = k["endorsements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        out.insert(kid.to_owned(), Key { n, e, endorsements });
    }
    out
}

struct Cached {
    keys: KeySet,
    fetched: Instant,
    forced: Option<Instant>,
}

/// The Bot Framework's keys, fetched from the OpenID metadata and cached.
pub struct Keys {
    openid_url: String,
    http: reqwest::Client,
    cache: Mutex<Option<Cached>>,
    failed: std::sync::Mutex<Option<Instant>>,
}

impl Keys {
    /// Keys from an OpenID metadata document.
    pub fn new(openid_url: &str, http: reqwest::Client) -> Self {
        Keys {
            openid_url: openid_url.to_owned(),
            http,
            cache: Mutex::new(None),
            failed: std::sync::Mutex::new(None),
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let get = |url: String| async move {
            let r = self
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            if !r.status().is_success() {
                return Err(format!("{url}: HTTP {}", r.status()));
            }
            r.json::<Value>().await.map_err(|e| format!("{url}: {e}"))
        };
        let meta = get(self.openid_url.clone()).await?;
        let jwks = meta["jwks_uri"]
            .as_str()
            .ok_or_else(|| "the OpenID metadata names no jwks_uri".to_owned())?;
        Ok(parse_jwks(&get(jwks.to_owned()).await?))
    }

    /// Checks a request's `Authorization` header against the keys.
    pub async fn check(
        &self,
        authorization: Option<&str>,
        expected: Expected<'_>,
    ) -> Result<(), Refusal> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(Refusal::Unauthorized("no bearer token"))?;
        let kid = key_id(token)?;
        let now = threadesk_core::time::Timestamp::now().0 / 1_000_000;
        let mut cache = self.cache.lock().await;
        let stale = cache.as_ref().is_none_or(|c| c.fetched.elapsed() > REFRESH);
        let unknown = cache.as_ref().is_some_and(|c| {
            !c.keys.contains_key(&kid) && c.forced.is_none_or(|f| f.elapsed() > UNKNOWN_KEY_REFRESH)
        });
        let resting = self
            .failed
            .lock()
            .map(|f| f.is_some_and(|t| t.elapsed() < FETCH_RETRY))
            .unwrap_or(false);
        if (stale || unknown) && !resting {
            match self.fetch().await {
                Ok(keys) => {
                    let forced = if unknown {
                        Some(Instant::now())
                    } else {
                        cache.as_ref().and_then(|c| c.forced)
                    };
                    *cache = Some(Cached {
                        keys,
                        fetched: Instant::now(),
                        forced,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "bot framework keys not fetched");
                    if let Ok(mut f) = self.failed.lock() {
                        *f = Some(Instant::now());
                    }
                    if let Some(c) = cache.as_mut().filter(|_| unknown) {
                        c.forced = Some(Instant::now());
                    }
                }
            }
        }
        let Some(c) = cache.as_ref() else {
            return Err(Refusal::Unauthorized("the signing keys are not available"));
        };
        validate(token, &c.keys, expected, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_that_are_not_rs256_jwts_are_refused_before_any_key() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k"}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert_eq!(
            key_id(&none),
            Err(Refusal::Unauthorized("only RS256 tokens are accepted"))
        );
        assert_eq!(
            key_id("garbage"),
            Err(Refusal::Unauthorized("malformed token"))
        );
        let hs = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k"}"#);
        assert!(key_id(&format!("{hs}.e30.x")).is_err());
    }

    #[test]
    fn jwks_keys_are_read_with_their_endorsements() {
        let doc = serde_json::json!({ "keys": [
            { "kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB", "endorsements": ["msteams"] },
            { "kty": "EC", "kid": "b", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "c", "n": "%%%", "e": "AQAB" }
        ] });
        let keys = parse_jwks(&doc);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["a"].endorsements, vec!["msteams"]);
        assert!(same_url(
            "https://SMBA.trafficmanager.net/amer/",
            "https://smba.trafficmanager.net/amer"
        ));
    }
}
