//! Property test: random command sequences against a small reference model.
//! Checked after every step: the engine succeeds exactly when the model
//! says so, no write ever succeeds on a closed ticket, the status equals
//! the model's, every committed change wrote exactly one outbox event, and
//! a repeated idempotency key never changes anything.

use crate::helpers::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::{Invitee, NewMessage};
use threadesk_core::{Ctx, DelegateId, EngineError, MessageId, PersonId, Settings, TicketId};

/// Who acts: the requester, a would-be delegate, staff, an outsider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Requester,
    Candidate,
    Staff,
    Outsider,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Reply(Actor),
    Note(Actor),
    Close(Actor),
    SetStatus(Actor, Status),
    EditSubject(Actor),
    EditFirstMessage(Actor),
    Invite(Actor),
    Accept,
    Decline,
    Revoke(Actor),
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(Actor::Requester),
        Just(Actor::Candidate),
        Just(Actor::Staff),
        Just(Actor::Outsider)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => actor().prop_map(Op::Reply),
        1 => actor().prop_map(Op::Note),
        1 => actor().prop_map(Op::Close),
        2 => (actor(), proptest::sample::select(Status::ALL.to_vec())).prop_map(|(a, s)| Op::SetStatus(a, s)),
        1 => actor().prop_map(Op::EditSubject),
        1 => actor().prop_map(Op::EditFirstMessage),
        2 => actor().prop_map(Op::Invite),
        2 => Just(Op::Accept),
        1 => Just(Op::Decline),
        1 => actor().prop_map(Op::Revoke),
    ]
}

/// The reference model of one ticket.
#[derive(Debug)]
struct Model {
    status: Status,
    candidate: Option<DelegateStatus>,
}

impl Model {
    /// The model's own statement of the rights table (deliberately not the
    /// engine's `Role::can`, so a mistake there shows up here too).
    fn may_do(&self, a: Actor, action: Action) -> bool {
        match a {
            Actor::Staff => true,
            Actor::Requester => !matches!(action, Action::Note | Action::SetStatus),
            Actor::Candidate => {
                self.candidate == Some(DelegateStatus::Accepted)
                    && matches!(action, Action::View | Action::Reply)
            }
            Actor::Outsider => false,
        }
    }

    /// Whether `op` should succeed, and if so, the state after it.
    fn step(&self, op: Op) -> Option<(Status, Option<DelegateStatus>)> {
        let open = !self.status.is_closed();
        let may = |a: Actor, action: Action| open && self.may_do(a, action);
        let same = (self.status, self.candidate);
        match op {
            Op::Reply(a) if may(a, Action::Reply) => {
                Some((self.status.after_reply(a == Actor::Staff), self.candidate))
            }
            Op::Note(a) if may(a, Action::Note) => Some(same),
            Op::Close(a) if may(a, Action::Close) => Some((Status::Closed, self.candidate)),
            Op::SetStatus(a, s) if may(a, Action::SetStatus) && s != self.status => {
                Some((s, self.candidate))
            }
            Op::EditSubject(a) if may(a, Action::EditSubject) => Some(same),
            Op::EditFirstMessage(Actor::Requester) if open => Some(same),
            Op::Invite(a)
                if may(a, Action::ManageDelegates)
                    && !matches!(
                        self.candidate,
                        Some(DelegateStatus::Invited | DelegateStatus::Accepted)
                    ) =>
            {
                Some((self.status, Some(DelegateStatus::Invited)))
            }
            Op::Accept if open && self.candidate == Some(DelegateStatus::Invited) => {
                Some((self.status, Some(DelegateStatus::Accepted)))
            }
            Op::Decline if open && self.candidate == Some(DelegateStatus::Invited) => {
                Some((self.status, Some(DelegateStatus::Declined)))
            }
            Op::Revoke(a)
                if may(a, Action::ManageDelegates)
                    && matches!(
                        self.candidate,
                        Some(DelegateStatus::Invited | DelegateStatus::Accepted)
                    ) =>
            {
                Some((self.status, Some(DelegateStatus::Revoked)))
            }
            _ => None,
        }
    }
}

struct World {
    requester: PersonId,
    candidate: PersonId,
    staff: PersonId,
    outsider: PersonId,
    ticket: TicketId,
    first: MessageId,
    delegation: Option<DelegateId>,
}

impl World {
    fn who(&self, a: Actor) -> PersonId {
        match a {
            Actor::Requester => self.requester,
            Actor::Candidate => self.candidate,
            Actor::Staff => self.staff,
            Actor::Outsider => self.outsider,
        }
    }
}

fn none<T>(_: T) -> Option<DelegateId> {
    None
}

/// Runs `op`; `Ok(Some(delegation))` when it created or touched one.
async fn apply_op(
    h: &Harness,
    w: &World,
    op: Op,
    n: usize,
    key: Option<String>,
) -> Result<Option<DelegateId>, EngineError> {
    let e = &h.engine;
    let ctx = |a: Actor| {
        let c = Ctx::new(w.who(a));
        match &key {
            Some(k) => c.with_key(k.clone()),
            None => c,
        }
    };
    match op {
        Op::Reply(a) => e
            .reply(&ctx(a), w.ticket, NewMessage::text(format!("reply {n}")))
            .await
            .map(none),
        Op::Note(a) => e
            .note(&ctx(a), w.ticket, NewMessage::text(format!("note {n}")))
            .await
            .map(none),
        Op::Close(a) => e.close(&ctx(a), w.ticket).await.map(none),
        Op::SetStatus(a, s) => e.set_status(&ctx(a), w.ticket, s).await.map(none),
        Op::EditSubject(a) => e
            .edit_subject(&ctx(a), w.ticket, &format!("subject {n}"))
            .await
            .map(none),
        Op::EditFirstMessage(a) => e
            .edit_message(&ctx(a), w.first, &format!("first, take {n}"))
            .await
            .map(none),
        Op::Invite(a) => e
            .invite_delegate(&ctx(a), w.ticket, Invitee::Person(w.candidate))
            .await
            .map(|d| Some(d.id)),
        Op::Accept | Op::Decline | Op::Revoke(_) => {
            let Some(d) = w.delegation else {
                return Err(EngineError::NotFound("invitation"));
            };
            match op {
                Op::Accept => e
                    .accept_delegation(&ctx(Actor::Candidate), d)
                    .await
                    .map(|d| Some(d.id)),
                Op::Decline => e
                    .decline_delegation(&ctx(Actor::Candidate), d)
                    .await
                    .map(|d| Some(d.id)),
                Op::Revoke(a) => e.revoke_delegate(&ctx(a), d).await.map(|d| Some(d.id)),
                _ => unreachable!("matched above"),
            }
        }
    }
}

async fn stored_status(h: &Harness, w: &World) -> Status {
    h.engine
        .ticket(w.staff, w.ticket)
        .await
        .expect("staff sees every ticket")
        .status
}

async fn check_sequence(
    h: &Harness,
    staff: PersonId,
    case: usize,
    ops: Vec<(Op, bool)>,
) -> Result<(), TestCaseError> {
    let requester = h.person("Req").await;
    let opened = h.open(requester, "model").await;
    let mut w = World {
        requester,
        candidate: h.person("Cand").await,
        staff,
        outsider: h.person("Out").await,
        ticket: opened.ticket.id,
        first: opened.message.id,
        delegation: None,
    };
    let mut model = Model {
        status: Status::Open,
        candidate: None,
    };
    for (n, (op, keyed)) in ops.into_iter().enumerate() {
        let key = keyed.then(|| format!("case{case}-op{n}"));
        let before = h.events().await;
        let expected = model.step(op);
        let got = apply_op(h, &w, op, n, key.clone()).await;
        let written = h.events().await - before;
        match (&got, expected) {
            (Ok(delegation), Some((status, candidate))) => {
                prop_assert!(
                    !model.status.is_closed(),
                    "{op:?} succeeded on a closed ticket"
                );
                model = Model { status, candidate };
                if delegation.is_some() {
                    w.delegation = *delegation;
                }
                prop_assert_eq!(written, 1, "{:?}: one event per committed change", op);
            }
            (Err(e), None) => {
                prop_assert!(!e.is_internal(), "{:?} failed inside: {:?}", op, e);
                prop_assert_eq!(written, 0, "{:?}: a refused command writes nothing", op);
            }
            (got, expected) => prop_assert!(
                false,
                "{:?}: engine said {:?}, model said {:?}",
                op,
                got,
                expected
            ),
        }
        prop_assert_eq!(stored_status(h, &w).await, model.status);
        if let Some(key) = key {
            // the same request again: the first result, nothing changes.
            let events = h.events().await;
            let again = apply_op(h, &w, op, n, Some(key)).await;
            match (&got, &again) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                _ => prop_assert!(
                    false,
                    "{:?}: a repeated key changed the outcome: {:?} then {:?}",
                    op,
                    got,
                    again
                ),
            }
            prop_assert_eq!(h.events().await, events);
            prop_assert_eq!(stored_status(h, &w).await, model.status);
        }
    }
    Ok(())
}

#[apply(backends)]
fn random_command_sequences_agree_with_the_model(#[case] kind: Kind) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let settings = Settings {
        max_open_tickets_per_requester: 10_000,
        ..Default::default()
    };
    let h = rt.block_on(harness_with(kind, settings, 5));
    let staff = rt.block_on(h.staff("Staff"));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let strategy = proptest::collection::vec((op(), proptest::bool::weighted(0.3)), 1..30);
    runner
        .run(&strategy, |ops| {
            let case = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(check_sequence(&h, staff, case, ops))
        })
        .unwrap();
    drop(h);
}
