//! The web portal: the customer portal of the seed manuals, shaped like a
//! chat, for people who are not in a Slack workspace or Discord server, and
//! a full staff desk.
//!
//! Server-rendered HTML (maud escapes everything it interpolates), no
//! JavaScript needed. Every rule lives in the engine: the handlers here parse
//! forms into engine calls and engine errors into pages. Sessions are signed
//! cookies; every form carries a CSRF token bound to the session.
#![forbid(unsafe_code)]

mod error;
mod forms;
mod routes;
mod session;
mod views;

pub use session::{SessionKey, SessionKeyError};
pub use threadesk_core::blobs::BlobStore;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::Arc;
use threadesk_core::Engine;

/// How people sign in to the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// A persona switcher over everybody in the database: for trying
    /// Threadesk on one's own machine. Anyone who reaches the portal can act
    /// as anyone, and every page says so.
    Local,
    /// Sign-in links sent by e-mail. Until the e-mail channel is configured
    /// the sign-in page says that no link can be sent.
    Link,
}

/// The portal's settings.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// How people sign in.
    pub sign_in: SignIn,
    /// Signs session cookies and CSRF tokens.
    pub session_key: SessionKey,
    /// Whether cookies are marked `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// The largest upload request, in bytes (all files of one form).
    pub max_upload_bytes: usize,
    /// Whether ticket mail goes out (the e-mail channel is configured).
    pub email_enabled: bool,
    /// A signed-in session ends after this long without a request.
    pub session_idle: std::time::Duration,
    /// A signed-in session ends this long after signing in, however busy.
    pub session_max: std::time::Duration,
}

/// Sessions idle this long end, unless configured otherwise.
pub const DEFAULT_SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(8 * 3600);
/// Sessions this old end, unless configured otherwise.
pub const DEFAULT_SESSION_MAX: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Why a sign-in link was not sent (logged; the person is asked to try
/// again).
pub type LinkMailError = Box<dyn std::error::Error + Send + Sync>;

/// Sends sign-in links by e-mail (the e-mail channel does it).
pub trait LinkMailer: Send + Sync {
    /// Mails a sign-in link carrying `token` to `to`.
    fn send_sign_in<'a>(
        &'a self,
        to: &'a str,
        token: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), LinkMailError>> + Send + 'a>>;
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct Portal {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    blobs: BlobStore,
    config: PortalConfig,
    mailer: Option<Arc<dyn LinkMailer>>,
    clients: ClientLimiter,
}

/// Sign-in links asked for per client address: at most
/// [`LINKS_PER_CLIENT`] in [`threadesk_core::engine::SIGN_IN_WINDOW`] on
/// this process (the per-address limit lives in the database).
#[derive(Default)]
pub(crate) struct ClientLimiter {
    seen: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, Vec<std::time::Instant>>>,
}

/// Sign-in links one client address may ask for per window.
pub const LINKS_PER_CLIENT: usize = 10;

impl ClientLimiter {
    /// Counts one request from `client`; `false` when it asked too often.
    pub(crate) fn allow(&self, client: std::net::IpAddr) -> bool {
        let window = threadesk_core::engine::SIGN_IN_WINDOW;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, times| times.iter().any(|t| t.elapsed() < window));
        }
        let times = seen.entry(client).or_default();
        times.retain(|t| t.elapsed() < window);
        if times.len() >= LINKS_PER_CLIENT {
            return false;
        }
        times.push(std::time::Instant::now());
        true
    }
}

impl Portal {
    /// A portal over an engine, storing uploads in `blobs`.
    pub fn new(engine: Engine, blobs: BlobStore, config: PortalConfig) -> Self {
        Portal {
            inner: Arc::new(Inner {
                engine,
                blobs,
                config,
                mailer: None,
                clients: ClientLimiter::default(),
            }),
        }
    }

    /// Sends sign-in links through `mailer` (link sign-in needs it).
    pub(crate) fn clients(&self) -> &ClientLimiter {
        &self.inner.clients
    }

    /// Sends sign-in and invitation links through `mailer`.
    pub fn with_mailer(mut self, mailer: Arc<dyn LinkMailer>) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.mailer = Some(mailer),
            None => tracing::warn!("mailer set after the portal was shared; sign-in links are off"),
        }
        self
    }

    pub(crate) fn mailer(&self) -> Option<&Arc<dyn LinkMailer>> {
        self.inner.mailer.as_ref()
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    pub(crate) fn config(&self) -> &PortalConfig {
        &self.inner.config
    }

    /// The portal's routes, with sessions and the upload limit applied.
    pub fn router(self) -> Router {
        // the portal counts files against `max_upload_bytes` itself, so
        // that a form over it comes back with its text; past four times
        // that, a request is refused before it is read.
        let limit = self.config().max_upload_bytes.saturating_mul(4);
        routes::router()
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                session::middleware,
            ))
            .layer(axum::middleware::from_fn(utf8_forms))
            .layer(DefaultBodyLimit::max(limit))
            .layer(axum::middleware::from_fn(security_headers))
            .with_state(self)
    }
}

/// The largest URL-encoded form read (files come as multipart).
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// A URL-encoded form whose text is not UTF-8 is refused with 400, as a
/// multipart form is: text is never stored with replacement characters.
async fn utf8_forms(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    let urlencoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !urlencoded {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return routes::page(
                StatusCode::PAYLOAD_TOO_LARGE,
                views::error_page(StatusCode::PAYLOAD_TOO_LARGE, "That form is too large."),
            )
        }
    };
    let readable = bytes.split(|b| *b == b'&').all(|pair| {
        let plus_as_space: Vec<u8> = pair
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        percent_encoding::percent_decode(&plus_as_space)
            .decode_utf8()
            .is_ok()
    });
    if !readable {
        return routes::page(
            StatusCode::BAD_REQUEST,
            views::error_page(
                StatusCode::BAD_REQUEST,
                "That form held text that is not UTF-8, so nothing was saved. Please type it again.",
            ),
        );
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// Headers on every portal response: a strict content security policy
/// (no script, the page's own style, never framed), no framing for older
/// browsers either, no referrer beyond this site, no type sniffing.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header::{self, HeaderValue};
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(views::content_security_policy()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod limiter_tests {
    use super::{ClientLimiter, LINKS_PER_CLIENT};

    #[test]
    fn one_client_address_gets_a_bounded_number_of_links() {
        let l = ClientLimiter::default();
        let a = "192.0.2.1".parse().unwrap();
        let b = "192.0.2.2".parse().unwrap();
        for _ in 0..LINKS_PER_CLIENT {
            assert!(l.allow(a));
        }
        assert!(!l.allow(a), "one too many");
        assert!(l.allow(b), "another client is not held back");
    }
}
