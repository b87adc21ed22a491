//! A fresh engine, a fake Teams (token authority, OpenID metadata and Bot
//! Connector) and the adapter per test; activities signed exactly as the
//! Bot Framework signs them.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use threadesk_core::domain::{PageRequest, PlatformIdentity, View};
use threadesk_core::outbox::Consumer;
use threadesk_core::testing::harness;
pub use threadesk_core::testing::{backends, Harness, Kind};
use threadesk_core::{PersonId, TicketId};
pub use threadesk_teams::testing::{
    Activities, FakeTeams, User, KEY_ID, STAFF_CHANNEL, TENANT, UNENDORSED_KEY_ID,
};
use threadesk_teams::{router, TeamsAdapter};
use tower::ServiceExt;

pub fn ann() -> User {
    User::new(1, "Ann Customer")
}
pub fn bo() -> User {
    User::new(2, "Bo Colleague")
}
pub fn sam() -> User {
    User::new(3, "Sam Support")
}

pub struct World {
    pub h: Harness,
    pub teams: TeamsAdapter,
    pub fake: FakeTeams,
    pub make: Activities,
    app: Router,
}

/// A connected adapter over a fresh engine and fake.
pub async fn world(kind: Kind) -> World {
    let h = harness(kind).await;
    let fake = FakeTeams::start().await;
    let teams = TeamsAdapter::new(h.engine.clone(), fake.config()).unwrap();
    teams.connect().await.unwrap();
    let app = router(teams.clone());
    let make = Activities::new(&fake);
    World {
        h,
        teams,
        fake,
        make,
        app,
    }
}

/// An opened ticket and where it lives on Teams.
pub struct Opened {
    pub id: TicketId,
    pub number: String,
    /// The staff thread's conversation id.
    pub thread: String,
    /// The customer's card: its activity id in their 1:1 chat.
    pub card: String,
}

impl World {
    /// Posts a body to `/teams/messages` with an `Authorization` header.
    pub async fn post_raw(&self, body: &str, authorization: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::post("/teams/messages").header("content-type", "application/json");
        if let Some(a) = authorization {
            req = req.header("authorization", a);
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

    /// Sends an activity signed as the Bot Framework signs it; its answer.
    pub async fn send(&self, activity: &Value) -> Value {
        let token = self.fake.sign(KEY_ID, activity, json!({}));
        let (status, answer) = self
            .post_raw(&activity.to_string(), Some(&format!("Bearer {token}")))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    /// Presses a card's button (`Action.Execute`); the invoke's answer.
    pub async fn press(
        &self,
        who: &User,
        conversation: &str,
        card: &str,
        verb: &str,
        data: Value,
    ) -> Value {
        self.send(&self.make.card_action(who, conversation, card, verb, data))
            .await
    }

    /// Makes a Teams user known to the engine and links their e-mail
    /// address to them (as staff would with `link`).
    pub async fn known_by_mail(&self, who: &User, mail: &str) {
        self.send(&self.make.personal(who, "help")).await;
        let root = self.h.staff("Linker").await;
        self.h
            .engine
            .link_identities(
                &threadesk_core::Ctx::new(root),
                &PlatformIdentity::teams(TENANT, &who.id),
                &PlatformIdentity::email(mail),
            )
            .await
            .unwrap();
    }

    /// Runs the outbox worker until nothing is due.
    pub async fn settle(&self) {
        for _ in 0..50 {
            if self.teams.mirror().pump().await.unwrap() == 0 {
                return;
            }
        }
        panic!("the outbox did not settle");
    }

    /// The engine person of a Teams user.
    pub async fn person(&self, who: &User) -> PersonId {
        let id = PlatformIdentity::teams(TENANT, &who.id);
        self.h
            .engine
            .person_by_identity(&id)
            .await
            .unwrap()
            .expect("known to the engine")
            .id
    }

    /// How many tickets a Teams user has (0 for a stranger).
    pub async fn tickets_of(&self, who: &User) -> usize {
        let id = PlatformIdentity::teams(TENANT, &who.id);
        let Some(p) = self.h.engine.person_by_identity(&id).await.unwrap() else {
            return 0;
        };
        self.h
            .engine
            .my_tickets(p.id, PageRequest::first(View::All))
            .await
            .unwrap()
            .items
            .len()
    }

    /// The texts posted in a conversation.
    pub fn texts(&self, conversation: &str) -> Vec<String> {
        self.fake
            .in_conversation(conversation)
            .iter()
            .map(|p| p.text())
            .collect()
    }

    /// `who` opens a ticket with the dialog; the outbox delivers it.
    pub async fn open_ticket(&self, who: &User, subject: &str, body: &str) -> Opened {
        let done = self
            .send(&self.make.task_submit(
                who,
                json!({ "dialog": "new", "subject": subject, "message": body }),
            ))
            .await;
        let said = done["task"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(said.contains("is open"), "{done}");
        self.settle().await;
        let person = self.person(who).await;
        let ticket = self
            .h
            .engine
            .my_tickets(person, PageRequest::first(View::All))
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|i| i.ticket.subject == subject)
            .expect("the ticket")
            .ticket;
        let thread = self
            .fake
            .posted()
            .into_iter()
            .find(|p| p.conversation.starts_with(STAFF_CHANNEL) && p.text().contains(subject))
            .unwrap_or_else(|| {
                panic!(
                    "no staff thread: {:#?}\nviolations: {:#?}",
                    self.fake.posted(),
                    self.fake.violations()
                )
            })
            .conversation;
        let card = self
            .fake
            .in_conversation(&FakeTeams::chat_of(&who.id))
            .into_iter()
            .find(|p| p.text().contains(subject) && p.text().contains("AdaptiveCard"))
            .expect("a customer card")
            .id;
        Opened {
            id: ticket.id,
            number: ticket.number.to_string(),
            thread,
            card,
        }
    }

    /// No request broke the Connector's or the cards' specification.
    pub fn no_violations(&self) {
        let v = self.fake.violations();
        assert!(v.is_empty(), "{v:#?}");
    }
}
