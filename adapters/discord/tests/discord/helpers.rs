//! A fresh engine, a fake Discord (REST API and gateway) and the adapter
//! per test; interactions signed exactly as Discord signs them.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::time::Duration;
use threadesk_core::domain::PlatformIdentity;
use threadesk_core::outbox::Consumer;
use threadesk_core::testing::harness;
pub use threadesk_core::testing::{Harness, Kind};
use threadesk_core::{PersonId, TicketId};
pub use threadesk_discord::testing::{
    interaction, sign, FakeDiscord, Person, STAFF_CHANNEL, SUPPORT_CHANNEL,
};
use threadesk_discord::{router, DiscordAdapter, DiscordConfig};
use tower::ServiceExt;

pub use threadesk_core::testing::backends;

pub fn bob() -> Person {
    Person::new(700000000000000001, "Bob Builder")
}
pub fn carol() -> Person {
    Person::new(700000000000000002, "Carol Chen")
}
pub fn sam() -> Person {
    Person::staff(700000000000000003, "Sam Support")
}
pub fn eve() -> Person {
    Person::new(700000000000000004, "Eve Outsider")
}

pub struct World {
    pub h: Harness,
    pub discord: DiscordAdapter,
    pub fake: FakeDiscord,
    app: Router,
}

/// A connected adapter over a fresh engine and fake.
pub async fn world(kind: Kind) -> World {
    world_with(kind, |_| {}).await
}

/// [`world`] with settings of the test's own on top.
pub async fn world_with(kind: Kind, configure: impl FnOnce(&mut DiscordConfig)) -> World {
    let h = harness(kind).await;
    let fake = FakeDiscord::start().await;
    let mut config = fake.config();
    configure(&mut config);
    let discord = DiscordAdapter::new(h.engine.clone(), config).unwrap();
    discord.connect().await.unwrap();
    let app = router(discord.clone());
    World {
        h,
        discord,
        fake,
        app,
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An opened ticket and where it lives on Discord.
pub struct Opened {
    pub id: TicketId,
    pub number: String,
    /// The private thread in the support channel.
    pub thread: String,
    /// The triage card (and its thread's id).
    pub triage: String,
}

impl World {
    /// Posts a raw request to `/discord/interactions`.
    pub async fn post(&self, body: &str, headers: &[(&str, String)]) -> (StatusCode, Value) {
        let mut req =
            Request::post("/discord/interactions").header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Sends an interaction signed as Discord signs it; its answer.
    pub async fn interact(&self, i: &Value) -> Value {
        let body = i.to_string();
        let ts = now().to_string();
        let sig = sign(&ts, body.as_bytes());
        let (status, answer) = self
            .post(
                &body,
                &[("x-signature-ed25519", sig), ("x-signature-timestamp", ts)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        // the answer is an interaction callback: as Discord's specification
        // describes the body of `POST /interactions/{id}/{token}/callback`.
        let problems = threadesk_discord::testing::spec_problems(
            "POST",
            "/interactions/1/token/callback",
            &serde_json::Map::new(),
            &answer,
        );
        assert!(problems.is_empty(), "{problems:?}: {answer}");
        answer
    }

    /// Runs the outbox worker until nothing is due.
    pub async fn settle(&self) {
        for _ in 0..50 {
            if self.discord.mirror().pump().await.unwrap() == 0 {
                return;
            }
        }
        panic!("the outbox did not settle");
    }

    /// The engine person of a Discord user.
    pub async fn person(&self, who: &Person) -> PersonId {
        let id = PlatformIdentity::discord(self.discord.guild(), &who.id);
        self.h
            .engine
            .person_by_identity(&id)
            .await
            .unwrap()
            .expect("known to the engine")
            .id
    }

    /// How many tickets a Discord user has (0 for a stranger).
    pub async fn tickets_of(&self, who: &Person) -> usize {
        let id = PlatformIdentity::discord(self.discord.guild(), &who.id);
        let Some(p) = self.h.engine.person_by_identity(&id).await.unwrap() else {
            return 0;
        };
        let req = threadesk_core::domain::PageRequest::first(threadesk_core::domain::View::All);
        self.h
            .engine
            .my_tickets(p.id, req)
            .await
            .unwrap()
            .items
            .len()
    }

    /// `who` opens a ticket with the modal; the outbox delivers it.
    pub async fn open_ticket(&self, who: &Person, subject: &str, body: &str) -> Opened {
        let modal = self
            .interact(&interaction::command(
                who,
                &SUPPORT_CHANNEL.to_string(),
                "open",
                json!([]),
            ))
            .await;
        assert_eq!(modal["type"], 9, "{modal}");
        let custom = modal["data"]["custom_id"].as_str().unwrap().to_owned();
        let answer = self
            .interact(&interaction::modal(
                who,
                &SUPPORT_CHANNEL.to_string(),
                &custom,
                &[("subject", subject), ("message", body)],
            ))
            .await;
        assert_eq!(answer["data"]["flags"], 64, "{answer}");
        self.settle().await;
        let person = self.person(who).await;
        let page = self
            .h
            .engine
            .my_tickets(
                person,
                threadesk_core::domain::PageRequest::first(threadesk_core::domain::View::All),
            )
            .await
            .unwrap();
        let t = page
            .items
            .iter()
            .map(|i| &i.ticket)
            .max_by_key(|t| t.id.0)
            .unwrap()
            .clone();
        let name = format!("{} {subject}", t.number);
        let thread = self
            .fake
            .threads_in(SUPPORT_CHANNEL)
            .into_iter()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| id)
            .unwrap_or_default();
        let triage = self
            .fake
            .threads_in(STAFF_CHANNEL)
            .into_iter()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| id)
            .unwrap_or_default();
        Opened {
            id: t.id,
            number: t.number.to_string(),
            thread,
            triage,
        }
    }

    /// Contents of the messages in a channel, oldest first.
    pub fn contents(&self, channel: &str) -> Vec<String> {
        self.fake
            .messages_in(channel)
            .iter()
            .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub fn no_violations(&self) {
        assert!(
            self.fake.violations().is_empty(),
            "{:#?}",
            self.fake.violations()
        );
    }

    /// Starts the gateway client and waits until it is connected.
    pub async fn gateway(&self) {
        let d = self.discord.clone();
        tokio::spawn(async move { d.run_gateway(std::future::pending()).await });
        self.wait_for("the gateway session", || {
            self.fake.gateway().sessions() == 1
        })
        .await;
    }

    /// Waits (bounded) until `done` holds.
    pub async fn wait_for(&self, what: &str, done: impl Fn() -> bool) {
        for _ in 0..800 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Waits (bounded) until the ticket has `n` messages.
    pub async fn wait_messages(&self, ticket: TicketId, n: usize) {
        for _ in 0..800 {
            if self.bodies(ticket).await.len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "timed out waiting for {n} messages: {:?}",
            self.bodies(ticket).await
        );
    }

    /// Messages of a ticket as the engine holds them (staff view).
    pub async fn bodies(&self, ticket: TicketId) -> Vec<(String, bool, String)> {
        let staff = self.h.staff("Auditor").await;
        self.h
            .engine
            .thread(staff, ticket)
            .await
            .unwrap()
            .messages
            .into_iter()
            .map(|m| (m.author_role.clone(), m.internal, m.body))
            .collect()
    }
}
