//! A portal per test over a fresh database, and a tiny browser that keeps
//! the session cookie and fills in each form's CSRF token.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use rstest_reuse::template;
use threadesk_core::domain::PlatformIdentity;
use threadesk_core::testing::{harness, harness_with, Harness, Kind};
use threadesk_core::{Ctx, OrgId, PersonId};
use threadesk_web::{BlobStore, Portal, PortalConfig, SessionKey, SignIn};
use tower::ServiceExt;

/// The idle limit of test portals: long, unless a test shortens it for
/// its own site with [`set_session_idle`].
fn session_idle_secs() -> u64 {
    IDLE.with(|i| i.get())
}

thread_local! {
    static IDLE: std::cell::Cell<u64> = const { std::cell::Cell::new(8 * 3600) };
}

/// Portals built on this thread from now on end idle sessions after `secs`.
pub fn set_session_idle(secs: u64) {
    IDLE.with(|i| i.set(secs));
}

/// Every portal test runs once per backend.
#[template]
#[rstest]
#[case::sqlite(threadesk_core::testing::Kind::Sqlite)]
#[case::postgres(threadesk_core::testing::Kind::Postgres)]
pub fn backends(#[case] kind: threadesk_core::testing::Kind) {}

/// A portal over a fresh database, with a staff member and an
/// organization ready.
pub struct Site {
    pub h: Harness,
    pub router: Router,
    pub staff: PersonId,
    pub org: OrgId,
    /// The blob store's directory.
    pub blobs: tempfile::TempDir,
}

/// Sign-in links a test mailer was asked to send: `(to, token)`.
#[derive(Clone, Default)]
pub struct Outbox(pub std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>);

impl threadesk_web::LinkMailer for Outbox {
    fn send_sign_in<'a>(
        &'a self,
        to: &'a str,
        token: &'a str,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), threadesk_web::LinkMailError>> + Send + 'a>,
    > {
        self.0
            .lock()
            .unwrap()
            .push((to.to_owned(), token.to_owned()));
        Box::pin(async { Ok(()) })
    }
}

impl Site {
    pub async fn new(kind: Kind) -> Site {
        Site::with(kind, SignIn::Local, None).await
    }

    /// A portal in link mode whose sign-in links land in `mailer`.
    pub async fn with_links(kind: Kind, mailer: Outbox) -> Site {
        Site::with(kind, SignIn::Link, Some(mailer)).await
    }

    /// A local-mode portal whose engine has these settings.
    pub async fn with_settings(kind: Kind, settings: threadesk_core::Settings) -> Site {
        Site::build(harness_with(kind, settings, 4).await, SignIn::Local, None).await
    }

    async fn with(kind: Kind, sign_in: SignIn, mailer: Option<Outbox>) -> Site {
        Site::build(harness(kind).await, sign_in, mailer).await
    }

    async fn build(h: Harness, sign_in: SignIn, mailer: Option<Outbox>) -> Site {
        let blobs = tempfile::tempdir().expect("blob dir");
        let mut portal = Portal::new(
            h.engine.clone(),
            BlobStore::open(blobs.path()).expect("blob store"),
            PortalConfig {
                sign_in,
                session_key: SessionKey::random().expect("key"),
                secure_cookies: false,
                max_upload_bytes: 1024 * 1024,
                email_enabled: mailer.is_some(),
                session_idle: std::time::Duration::from_secs(session_idle_secs()),
                session_max: threadesk_web::DEFAULT_SESSION_MAX,
            },
        );
        if let Some(m) = mailer {
            portal = portal.with_mailer(std::sync::Arc::new(m));
        }
        let staff = h.staff("Sam Support").await;
        let org = h.org(staff, "Acme").await;
        Site {
            router: portal.router(),
            h,
            staff,
            org,
            blobs,
        }
    }

    /// A customer with an e-mail address, in the organization or not.
    pub async fn customer(&self, name: &str, email: &str, in_org: bool) -> PersonId {
        let id = if in_org {
            self.h.member(self.staff, self.org, name).await
        } else {
            self.h.person(name).await
        };
        let profile = self.h.engine.person(id).await.expect("person");
        self.h
            .engine
            .link_identities(
                &Ctx::new(self.staff),
                &profile.identities[0],
                &PlatformIdentity::email(email),
            )
            .await
            .expect("e-mail identity");
        id
    }

    /// A browser signed in as `who`.
    pub async fn browser(&self, who: PersonId) -> Browser {
        let mut b = Browser {
            router: self.router.clone(),
            cookie: None,
            csrf: String::new(),
        };
        let page = b.get("/signin").await;
        assert_eq!(page.status, StatusCode::OK);
        b.csrf = page.csrf();
        let done = b.post("/signin", &[("person", &who.0.to_string())]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let page = b.get("/tickets").await;
        assert_eq!(page.status, StatusCode::OK);
        b.csrf = page.csrf();
        b
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
    pub headers: axum::http::HeaderMap,
}

impl Page {
    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let at = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        self.body[at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// A response header as text; empty when absent.
    pub fn header(&self, name: axum::http::header::HeaderName) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether the page shows this text (as HTML-escaped by the portal).
    pub fn shows(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

/// How many files the blob store holds (in any folder of it).
pub fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => files_in(&e.path()),
                    Ok(_) => 1,
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Keeps the session cookie between requests, like a browser.
pub struct Browser {
    router: Router,
    cookie: Option<String>,
    pub csrf: String,
}

impl Browser {
    /// The same cookie in another browser (a copied cookie).
    pub fn copy(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookie: self.cookie.clone(),
            csrf: self.csrf.clone(),
        }
    }

    /// A browser that has not signed in.
    pub fn from_site(site: &Site) -> Browser {
        Browser {
            router: site.router.clone(),
            cookie: None,
            csrf: String::new(),
        }
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Browser {
    async fn send(&mut self, mut req: Request<Body>) -> Page {
        if let Some(c) = &self.cookie {
            req.headers_mut()
                .insert(header::COOKIE, c.parse().expect("cookie header"));
        }
        let response = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router answers");
        if let Some(set) = response.headers().get(header::SET_COOKIE) {
            let value = set.to_str().expect("ascii cookie");
            self.cookie = value.split(';').next().map(str::to_owned);
        }
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap_or_default().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        Page {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            location,
            headers,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = Request::get(path).body(Body::empty()).expect("request");
        self.send(req).await
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Posts an already encoded form body with this session's CSRF token
    /// first (for bytes a browser would not send).
    pub async fn post_encoded(&mut self, path: &str, encoded: &str) -> Page {
        let body = format!("csrf={}&{encoded}", encode(&self.csrf));
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Posts a multipart form with files `(field, file name, type, bytes)`.
    pub async fn post_files(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Page {
        let boundary = "threadesk-test-boundary-7d1f";
        let mut body = Vec::new();
        let csrf = self.csrf.clone();
        for (k, v) in std::iter::once(("csrf", csrf.as_str())).chain(fields.iter().copied()) {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (field, name, ctype, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\ncontent-type: {ctype}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = Request::post(path)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Opens a ticket through the form; returns its number.
    pub async fn open(&mut self, subject: &str, body: &str) -> i64 {
        let page = self
            .post_files("/tickets", &[("subject", subject), ("body", body)], &[])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let location = page.location.expect("redirect to the ticket");
        location
            .trim_start_matches("/tickets/")
            .split('?')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a ticket number in the redirect")
    }
}
