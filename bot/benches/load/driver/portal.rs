//! A browser on the portal: a session from the local sign-in, forms read
//! for their CSRF token and request id, and posted as browsers post them.

use anyhow::{anyhow, bail};
use std::sync::atomic::{AtomicU64, Ordering};

/// One browser: a session cookie and a client.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
    /// The session's CSRF token, for [`Browser::post_direct`].
    csrf: String,
}

/// The value after `name="<name>" value="` in a page.
fn field(page: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .ok_or_else(|| anyhow!("no {name} field in the page"))?;
    let rest = &page[at + marker.len()..];
    Ok(rest[..rest.find('"').unwrap_or(0)].to_owned())
}

static BOUNDARY: AtomicU64 = AtomicU64::new(1);

/// A `multipart/form-data` body of text fields, as a browser sends it.
fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = format!(
        "----threadeskload{}",
        BOUNDARY.fetch_add(1, Ordering::Relaxed)
    );
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

fn cookies(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The ticket number a post redirected to (`/tickets/1042?…`).
fn number_in(at: &str) -> anyhow::Result<String> {
    at.strip_prefix("/tickets/")
        .map(|n| n.split(['?', '#']).next().unwrap_or(n).to_owned())
        .ok_or_else(|| anyhow!("opening went to {at:?}"))
}

const BODY: &str = "The printer on the third floor jams again.";

impl Browser {
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await?;
        Ok((res.status().as_u16(), res.text().await?))
    }

    /// Posts a multipart form; the address it redirects to.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<String> {
        let (content_type, body) = multipart(fields);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        if res.status().as_u16() != 303 {
            bail!("POST {path}: {}", res.status());
        }
        Ok(res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned())
    }

    /// Signs in (local mode) as the `n`th person of the sign-in page.
    pub async fn sign_in(base: &str, n: usize) -> anyhow::Result<Browser> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let res = http.get(format!("{base}/signin")).send().await?;
        let cookie = cookies(&res);
        let page = res.text().await?;
        let people: Vec<String> = page
            .split("name=\"person\" value=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_owned))
            .collect();
        if people.is_empty() {
            bail!("nobody to sign in as");
        }
        let person = &people[n % people.len()];
        let csrf = field(&page, "csrf")?;
        let res = http
            .post(format!("{base}/signin"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("person", person.as_str())])
            .send()
            .await?;
        if res.status().as_u16() != 303 {
            bail!("signing in: {}", res.status());
        }
        let mut me = Browser {
            http,
            base: base.to_owned(),
            cookie: cookies(&res),
            csrf: String::new(),
        };
        let (_, form) = me.get("/tickets/new").await?;
        me.csrf = field(&form, "csrf")?;
        Ok(me)
    }

    /// Opens a ticket as a browser does; its number.
    pub async fn open(&self, i: usize) -> anyhow::Result<String> {
        let (_, form) = self.get("/tickets/new").await?;
        let (csrf, request) = (field(&form, "csrf")?, field(&form, "request")?);
        let subject = format!("Load ticket {i}");
        let at = self
            .post(
                "/tickets",
                &[
                    ("csrf", &csrf),
                    ("request", &request),
                    ("subject", &subject),
                    ("body", BODY),
                ],
            )
            .await?;
        number_in(&at)
    }

    /// Replies on a ticket as a browser does.
    pub async fn reply(&self, number: &str, i: usize) -> anyhow::Result<()> {
        let path = format!("/tickets/{number}");
        let (_, page) = self.get(&path).await?;
        let (csrf, request) = (field(&page, "csrf")?, field(&page, "request")?);
        let body = format!("Still jamming, try {i}.");
        self.post(
            &format!("{path}/reply"),
            &[("csrf", &csrf), ("request", &request), ("body", &body)],
        )
        .await
        .map(drop)
    }

    /// Opens a ticket by posting the form straight away, as a client that
    /// keeps its session's token does (`request` is its own request id).
    pub async fn open_direct(&self, request: &str, i: u64) -> anyhow::Result<String> {
        let subject = format!("Soak ticket {i}");
        let at = self
            .post(
                "/tickets",
                &[
                    ("csrf", &self.csrf),
                    ("request", request),
                    ("subject", &subject),
                    ("body", BODY),
                ],
            )
            .await?;
        number_in(&at)
    }

    /// Replies by posting the form straight away.
    pub async fn reply_direct(&self, number: &str, request: &str, i: u64) -> anyhow::Result<()> {
        let body = format!("Still jamming, try {i}.");
        self.post(
            &format!("/tickets/{number}/reply"),
            &[("csrf", &self.csrf), ("request", request), ("body", &body)],
        )
        .await
        .map(drop)
    }

    /// Closes a ticket (the close button's form).
    pub async fn close(&self, number: &str) -> anyhow::Result<()> {
        let res = self
            .http
            .post(format!("{}/tickets/{number}/close", self.base))
            .header("cookie", &self.cookie)
            .form(&[("csrf", self.csrf.as_str())])
            .send()
            .await?;
        if res.status().as_u16() != 303 {
            bail!("closing #{number}: {}", res.status());
        }
        Ok(())
    }
}
