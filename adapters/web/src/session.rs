//! Sessions in signed cookies, and CSRF tokens bound to them.
//!
//! The cookie holds `person.nonce.started.seen.mac`: the signed-in person
//! (0 for nobody), a random nonce, when the session started (microseconds)
//! and was last seen (seconds), and an HMAC-SHA256 over all of them. A
//! signed-in session ends when it has been idle too long, when it is too
//! old, when it was signed out, or when its person signed out everywhere
//! (the last two are kept in the database, so every replica agrees). Every visitor gets a
//! session on first contact, so every form, the sign-in form included,
//! carries a token derived from the session's nonce; signing in or out
//! starts a new session (a new nonce), so a token never outlives it.

use crate::error::WebError;
use crate::Portal;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use threadesk_core::domain::Person;
use threadesk_core::sessions::SessionPerson;
use threadesk_core::time::Timestamp;
use threadesk_core::PersonId;

const COOKIE_NAME: &str = "threadesk_session";

/// The secret that signs sessions and CSRF tokens.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

/// Why no session key could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionKeyError {
    /// The configured secret has fewer than 32 characters.
    #[error("use at least 32 random characters")]
    TooShort,
    /// The system gave no random bytes for a fresh key.
    #[error("{0}")]
    Random(getrandom::Error),
}

impl SessionKey {
    /// A key derived from a configured secret (at least 32 characters).
    pub fn from_secret(secret: &str) -> Result<SessionKey, SessionKeyError> {
        if secret.trim().len() < 32 {
            return Err(SessionKeyError::TooShort);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(b"threadesk session key")
            .expect("HMAC takes a key of any length");
        mac.update(secret.trim().as_bytes());
        Ok(SessionKey(mac.finalize().into_bytes().into()))
    }

    /// A fresh random key: sessions end when the process does.
    pub fn random() -> Result<SessionKey, SessionKeyError> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(SessionKeyError::Random)?;
        Ok(SessionKey(key))
    }

    fn mac(&self, purpose: &str, data: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data.as_bytes());
        mac
    }

    fn sign(&self, purpose: &str, data: &str) -> String {
        hex::encode(self.mac(purpose, data).finalize().into_bytes())
    }

    fn verify(&self, purpose: &str, data: &str, signature: &str) -> bool {
        match hex::decode(signature) {
            // constant-time comparison.
            Ok(sig) => self.mac(purpose, data).verify_slice(&sig).is_ok(),
            Err(_) => false,
        }
    }
}

/// A visitor's session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub person: Option<PersonId>,
    nonce: String,
    /// When it started (microseconds).
    started: i64,
    /// When it was last seen (seconds).
    seen: i64,
}

fn now_seconds() -> i64 {
    Timestamp::now().0 / 1_000_000
}

impl Session {
    fn fresh(person: Option<PersonId>) -> Result<Session, WebError> {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).map_err(|e| WebError::Internal(e.to_string()))?;
        Ok(Session {
            person,
            nonce: hex::encode(bytes),
            started: Timestamp::now().0,
            seen: now_seconds(),
        })
    }

    fn payload(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.person.map_or(0, |p| p.0),
            self.nonce,
            self.started,
            self.seen
        )
    }

    fn parse(key: &SessionKey, value: &str) -> Option<Session> {
        let (payload, mac) = value.rsplit_once('.')?;
        if !key.verify("session", payload, mac) {
            return None;
        }
        let mut parts = payload.split('.');
        let (Some(person), Some(nonce), Some(started), Some(seen), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let person: i64 = person.parse().ok()?;
        Some(Session {
            person: (person > 0).then_some(PersonId(person)),
            nonce: nonce.to_owned(),
            started: started.parse().ok()?,
            seen: seen.parse().ok()?,
        })
    }

    /// When this session would end at the latest.
    pub fn expires_at(&self, max: std::time::Duration) -> Timestamp {
        Timestamp(
            self.started
                .saturating_add(i64::try_from(max.as_micros()).unwrap_or(i64::MAX)),
        )
    }

    /// Its random id (what a sign-out ends).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf(&self, key: &SessionKey) -> String {
        key.sign("csrf", &self.nonce)
    }

    /// Refuses a form whose token is not this session's.
    pub fn check_csrf(&self, key: &SessionKey, token: &str) -> Result<(), WebError> {
        if key.verify("csrf", &self.nonce, token) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

/// A `Set-Cookie` value starting a new session for `person` (or nobody).
pub(crate) fn start(portal: &Portal, person: Option<PersonId>) -> Result<HeaderValue, WebError> {
    let session = Session::fresh(person)?;
    cookie(portal, &session)
}

fn cookie(portal: &Portal, session: &Session) -> Result<HeaderValue, WebError> {
    let key = &portal.config().session_key;
    let payload = session.payload();
    let secure = if portal.config().secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{COOKIE_NAME}={payload}.{}; Path=/; HttpOnly; SameSite=Lax{secure}",
        key.sign("session", &payload)
    );
    HeaderValue::from_str(&value).map_err(|e| WebError::Internal(e.to_string()))
}

fn from_headers(portal: &Portal, parts: &axum::http::HeaderMap) -> Option<Session> {
    parts
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE_NAME)
        .find_map(|(_, value)| Session::parse(&portal.config().session_key, value))
}

/// The person of a live session, as the session layer read them with its
/// check (a request extension).
#[derive(Debug, Clone)]
struct SignedIn(SessionPerson);

/// Gives every request a session; a new one is sent back as a cookie
/// unless the handler started one itself (signing in or out).
pub(crate) async fn middleware(
    State(portal): State<Portal>,
    mut req: Request,
    next: Next,
) -> Result<Response, WebError> {
    let (session, new) = match from_headers(&portal, req.headers()) {
        Some(s) if s.person.is_none() => (s, false),
        Some(s) => {
            let config = portal.config();
            let now = now_seconds();
            let too_old = Timestamp::now().0 > s.expires_at(config.session_max).0;
            let idle =
                now - s.seen > i64::try_from(config.session_idle.as_secs()).unwrap_or(i64::MAX);
            let person = if too_old || idle {
                None
            } else {
                portal
                    .engine()
                    .system()
                    .session_person(
                        s.person.unwrap_or(PersonId(0)),
                        &s.nonce,
                        Timestamp(s.started),
                    )
                    .await?
            };
            match person {
                Some(person) => {
                    // the page's `Me` needs no second read.
                    req.extensions_mut().insert(SignedIn(person));
                    // seen again: the cookie says so (at most once a minute).
                    if now - s.seen >= 60 {
                        (Session { seen: now, ..s }, true)
                    } else {
                        (s, false)
                    }
                }
                None => (Session::fresh(None)?, true),
            }
        }
        None => (Session::fresh(None)?, true),
    };
    req.extensions_mut().insert(session.clone());
    let mut response = next.run(req).await;
    if let Some(refusal) = response
        .extensions()
        .get::<crate::error::Refusal>()
        .cloned()
    {
        response = framed(&portal, &session, refusal, response).await;
    }
    if new && !response.headers().contains_key(SET_COOKIE) {
        response
            .headers_mut()
            .insert(SET_COOKIE, cookie(&portal, &session)?);
    }
    Ok(response)
}

/// An error page drawn again inside the frame of the signed-in person's
/// portal; as it was when nobody is signed in (or the frame cannot be had).
async fn framed(
    portal: &Portal,
    session: &Session,
    refusal: crate::error::Refusal,
    response: Response,
) -> Response {
    let Some(id) = session.person else {
        return response;
    };
    let me = match Me::of(portal, session.clone(), id).await {
        Ok(me) => me,
        Err(_) => return response,
    };
    let Ok(frame) = crate::routes::Frame::load(portal, &me).await else {
        return response;
    };
    let page =
        crate::views::error_page_in(Some(&frame.chrome(&me)), refusal.status, &refusal.message);
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(page.into_string()))
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| WebError::Internal("the session layer is missing".into()))
    }
}

/// The signed-in person; pages that need one send everybody else to the
/// sign-in page.
#[derive(Debug, Clone)]
pub(crate) struct Me {
    pub session: Session,
    pub person: Person,
    /// The form's request id, when it carried a well-formed one.
    request: Option<String>,
    /// Their open invitations, when read with the session's check.
    pub invitations: Option<usize>,
}

impl Me {
    /// Takes the `request` field every form carries (a random id made when
    /// the form was rendered); junk is ignored.
    pub fn with_request(mut self, request: &str) -> Me {
        let r = request.trim();
        let well_formed = (16..=64).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_hexdigit());
        self.request = well_formed.then(|| r.to_owned());
        self
    }

    /// The idempotency key a form with this `request` field would carry.
    pub fn key_for(&self, request: &str) -> Option<String> {
        self.clone().with_request(request).ctx().key
    }

    /// The engine's request context: this person, and the form's request id
    /// as the idempotency key, so a double submit (or a resubmit after the
    /// back button) acts once and shows the first result.
    pub fn ctx(&self) -> threadesk_core::Ctx {
        let ctx = threadesk_core::Ctx::new(self.person.id);
        match &self.request {
            Some(r) => ctx.with_key(format!("web:{}:{r}", self.person.id.0)),
            None => ctx,
        }
    }
}

impl FromRequestParts<Portal> for Me {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        portal: &Portal,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, portal).await?;
        let Some(id) = session.person else {
            return Err(WebError::SignIn);
        };
        // read with the session's check, this request.
        if let Some(SignedIn(signed)) = parts.extensions.get::<SignedIn>() {
            if signed.person.id == id {
                return Ok(Me {
                    session,
                    person: signed.person.clone(),
                    request: None,
                    invitations: Some(signed.invitations),
                });
            }
        }
        Me::of(portal, session, id).await
    }
}

impl Me {
    /// The person a live session belongs to.
    async fn of(portal: &Portal, session: Session, id: PersonId) -> Result<Me, WebError> {
        match portal.engine().person_alone(id).await {
            Ok(person) => Ok(Me {
                session,
                person,
                request: None,
                invitations: None,
            }),
            // merged into somebody else, or gone: sign in again.
            Err(threadesk_core::EngineError::NotFound(_)) => Err(WebError::SignIn),
            Err(e) => Err(e.into()),
        }
    }
}

/// A form posted by the signed-in person, accepted only with its session's
/// CSRF token (the `csrf` field); `T` holds the other fields. Every
/// signed-in form goes through it, so no handler can forget the check.
pub(crate) struct SignedForm<T> {
    pub me: Me,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct WithToken<T> {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(flatten)]
    form: T,
}

impl<T: serde::de::DeserializeOwned + Send> axum::extract::FromRequest<Portal> for SignedForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, portal: &Portal) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let me = Me::from_request_parts(&mut parts, portal).await?;
        let req = Request::from_parts(parts, body);
        let axum::Form(WithToken {
            csrf,
            request,
            form,
        }) = axum::Form::<WithToken<T>>::from_request(req, portal)
            .await
            .map_err(|e| WebError::BadRequest(e.body_text()))?;
        me.session.check_csrf(&portal.config().session_key, &csrf)?;
        Ok(SignedForm {
            me: me.with_request(&request),
            form,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_cannot_be_forged_or_altered() {
        let key = SessionKey::random().unwrap();
        let other = SessionKey::random().unwrap();
        let s = Session {
            person: Some(PersonId(7)),
            nonce: "abc".into(),
            started: 1_700_000_000_000_000,
            seen: 1_700_000_000,
        };
        let value = format!("{}.{}", s.payload(), key.sign("session", &s.payload()));
        let back = Session::parse(&key, &value).unwrap();
        assert_eq!(back.person, Some(PersonId(7)));
        assert!(Session::parse(&other, &value).is_none());
        let altered = value.replacen("7.", "8.", 1);
        assert!(Session::parse(&key, &altered).is_none());
        assert!(Session::parse(&key, "garbage").is_none());
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let key = SessionKey::random().unwrap();
        let a = Session::fresh(None).unwrap();
        let b = Session::fresh(None).unwrap();
        assert!(a.check_csrf(&key, &a.csrf(&key)).is_ok());
        assert!(a.check_csrf(&key, &b.csrf(&key)).is_err());
        assert!(a.check_csrf(&key, "").is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_and_short_ones_are_refused() {
        let key = SessionKey::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(format!("{key:?}"), "SessionKey(***)");
        assert!(SessionKey::from_secret("short").is_err());
    }
}
