//! Chat people: Slack and Discord users whose requests reach `threadesk`
//! signed as the platforms sign them, with a fake Slack and a fake Discord
//! (which check what the outbox sends against the platforms' specs) for
//! what it posts back.

use super::server::{self, Server};
use anyhow::{bail, Context};
use std::time::{Duration, Instant};
use threadesk_discord::testing::{interaction, sign, FakeDiscord, Person, SUPPORT_CHANNEL};
use threadesk_slack::testing::{form_encode, signature, FakeSlack};

const SLACK_SECRET: &str = "load-signing-secret";
const SLACK_TEAM: &str = "T1";
/// The certificate file the server trusts for the fake Discord.
const DISCORD_CA: &str = "discord-ca.pem";

/// The fake platforms, running on this process's runtime.
pub struct Platforms {
    pub slack: FakeSlack,
    pub discord: FakeDiscord,
}

impl Platforms {
    pub async fn start() -> Platforms {
        Platforms {
            slack: FakeSlack::start().await,
            discord: FakeDiscord::start().await,
        }
    }

    /// The server's settings for both.
    pub fn settings(&self) -> Vec<(String, String)> {
        let slack = [
            ("SLACK_BOT_TOKEN", "xoxb-load".to_owned()),
            ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_owned()),
            ("SLACK_API_URL", self.slack.api_url.clone()),
            ("SLACK_STAFF_CHANNEL", "CSTAFF".to_owned()),
        ];
        slack
            .into_iter()
            .chain(self.discord.settings(DISCORD_CA))
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    /// The files those settings name.
    pub fn files(&self) -> Vec<(&'static str, &[u8])> {
        vec![(DISCORD_CA, self.discord.root_pem.as_slice())]
    }

    /// Waits for the server's Discord gateway session.
    pub async fn connected(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.discord.gateway().sessions() == 0 {
            if Instant::now() > deadline {
                bail!("threadesk never connected to the Discord gateway");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// The fakes, and a server on a fresh database of the chosen backend
    /// using them (with the options' extra settings).
    pub async fn with_server(o: &super::Options) -> anyhow::Result<(Platforms, Server)> {
        let platforms = Platforms::start().await;
        let mut settings = platforms.settings();
        settings.extend(o.server_env.iter().cloned());
        let server = server::start(&o.backend, &settings, &platforms.files()).await?;
        Ok((platforms, server))
    }

    /// Stops the server; an error when its run failed (`outcome`) or the
    /// fakes found something wrong in what it sent them.
    pub async fn finish(&self, server: Server, outcome: anyhow::Result<()>) -> anyhow::Result<()> {
        server.finish().await?;
        outcome?;
        let mut wrong = self.slack.violations();
        wrong.extend(self.discord.violations());
        if !wrong.is_empty() {
            bail!("the fake platforms refused what threadesk sent: {wrong:?}");
        }
        Ok(())
    }
}

/// A person on a platform.
#[derive(Clone)]
pub enum User {
    Slack(String),
    Discord(Person),
}

/// What a person asks.
#[derive(Clone, Copy)]
pub enum Ask {
    /// `/ticket list`: a command answered at once.
    List,
    /// Submits the new-ticket form (a Slack modal, a Discord modal).
    Open,
}

impl User {
    /// The `i`th of `n` chat people: the first half on Slack, the rest on
    /// Discord. Slack users are made known to the fake.
    pub fn nth(platforms: &Platforms, i: usize, n: usize) -> User {
        let name = format!("Load User {i}");
        if i < n / 2 {
            let id = format!("UL{i:06}");
            platforms.slack.add_user(&id, &name, SLACK_TEAM);
            User::Slack(id)
        } else {
            User::Discord(Person::new(710_000_000_000_000_000 + i as u64, &name))
        }
    }

    pub fn platform(&self) -> &'static str {
        match self {
            User::Slack(_) => "slack",
            User::Discord(_) => "discord",
        }
    }
}

fn now_seconds() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string()
}

impl Platforms {
    /// The late answers the platforms were shown so far: a request
    /// acknowledged first gets exactly one (Slack: through its
    /// `response_url`, or `views.update` for a form; Discord: an edit of
    /// its deferral).
    pub fn late_answers(&self) -> usize {
        self.slack.calls_of("response_url").len()
            + self.slack.calls_of("views.update").len()
            + self
                .discord
                .calls_to("PATCH", "/webhooks/*/*/messages/@original")
                .len()
    }
}

/// A request built and signed, ready to be sent.
pub struct Signed {
    platform: &'static str,
    path: &'static str,
    content_type: &'static str,
    body: String,
    headers: [(&'static str, String); 2],
    /// What its acknowledgement must contain.
    expect: &'static str,
}

/// Sends one signed request; how long its acknowledgement took. Slack's
/// command carries `hook` as its `response_url`.
pub async fn send(
    http: &reqwest::Client,
    base: &str,
    hook: &str,
    who: &User,
    ask: Ask,
    i: u64,
) -> anyhow::Result<Duration> {
    post(http, base, sign_request(hook, who, ask, i)).await
}

/// Builds and signs a request as the platform does, on its side: a
/// burst's are signed before it starts, so that signing them (Discord's
/// Ed25519 above all) does not take the cores the server answers on.
pub fn sign_request(hook: &str, who: &User, ask: Ask, i: u64) -> Signed {
    let ts = now_seconds();
    let subject = format!("Chat ticket {i}");
    let (path, content_type, body, headers, expect) = match (who, ask) {
        (User::Slack(id), Ask::List) => {
            let trigger = format!("trigger-{i}");
            let body = form_encode(&[
                ("token", "deprecated"),
                ("team_id", SLACK_TEAM),
                ("channel_id", "CGENERAL"),
                ("user_id", id),
                ("user_name", "someone"),
                ("command", "/ticket"),
                ("text", "list"),
                ("trigger_id", &trigger),
                ("response_url", hook),
                ("api_app_id", "A1"),
            ]);
            let sig = signature(SLACK_SECRET, &ts, &body);
            (
                "/slack/commands",
                "application/x-www-form-urlencoded",
                body,
                [
                    ("X-Slack-Request-Timestamp", ts),
                    ("X-Slack-Signature", sig),
                ],
                // acknowledged first; the list replaces this.
                "Working on it",
            )
        }
        (User::Slack(id), Ask::Open) => {
            let view = serde_json::json!({ "type": "view_submission",
                "user": { "id": id, "team_id": SLACK_TEAM }, "team": { "id": SLACK_TEAM },
                "trigger_id": format!("trigger-{i}"),
                "view": { "id": format!("V{i}"), "callback_id": "td_new_ticket", "state": { "values": {
                    "subject": { "value": { "type": "plain_text_input", "value": subject } },
                    "message": { "value": { "type": "plain_text_input", "value": "It stopped working this morning." } } } } } });
            let body = form_encode(&[("payload", &view.to_string())]);
            let sig = signature(SLACK_SECRET, &ts, &body);
            (
                "/slack/interactions",
                "application/x-www-form-urlencoded",
                body,
                [
                    ("X-Slack-Request-Timestamp", ts),
                    ("X-Slack-Signature", sig),
                ],
                "\"response_action\":\"update\"",
            )
        }
        (User::Discord(p), ask) => {
            let channel = SUPPORT_CHANNEL.to_string();
            let (body, expect) = match ask {
                // both acknowledged first: a deferral, the answer edited in.
                Ask::List => (
                    interaction::command(p, &channel, "list", serde_json::json!([])),
                    "\"type\":5",
                ),
                Ask::Open => (
                    interaction::modal(
                        p,
                        &channel,
                        "open:0",
                        &[
                            ("subject", subject.as_str()),
                            ("message", "It stopped working this morning."),
                        ],
                    ),
                    "\"type\":5",
                ),
            };
            let body = body.to_string();
            let sig = sign(&ts, body.as_bytes());
            (
                "/discord/interactions",
                "application/json",
                body,
                [("X-Signature-Ed25519", sig), ("X-Signature-Timestamp", ts)],
                expect,
            )
        }
    };
    Signed {
        platform: who.platform(),
        path,
        content_type,
        body,
        headers,
        expect,
    }
}

/// Sends a signed request; how long its acknowledgement took.
pub async fn post(http: &reqwest::Client, base: &str, r: Signed) -> anyhow::Result<Duration> {
    let Signed {
        platform,
        path,
        content_type,
        body,
        headers,
        expect,
    } = r;
    let t0 = Instant::now();
    let mut req = http
        .post(format!("{base}{path}"))
        .header("content-type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("{platform} {path}"))?;
    let status = res.status().as_u16();
    let answer = res.text().await?;
    let took = t0.elapsed();
    if status != 200 || !answer.contains(expect) {
        bail!(
            "{platform} {path}: {status} {}",
            answer.chars().take(300).collect::<String>()
        );
    }
    Ok(took)
}
