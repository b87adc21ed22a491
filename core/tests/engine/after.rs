//! After the answer: tickets that close themselves when their customer
//! goes quiet (time moved by the engine's clock, never by sleeping), and
//! the requester's rating.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use std::time::Duration;
use threadesk_core::autoclose::AutoClose;
use threadesk_core::domain::*;
use threadesk_core::engine::AutoCloseRun;
use threadesk_core::outbox::{CloseReason, EventPayload};
use threadesk_core::{Ctx, Engine, EngineError, PersonId, Settings, TicketId};

const DAY: Duration = Duration::from_secs(24 * 3600);
const MINUTE: Duration = Duration::from_secs(60);

fn settings(auto_close: &str) -> Settings {
    Settings {
        auto_close: AutoClose::parse(auto_close).unwrap(),
        max_open_tickets_per_requester: 100,
        ..Settings::default()
    }
}

/// The payloads of a ticket's events of one kind.
async fn events(h: &Harness, ticket: TicketId, kind: &str) -> Vec<EventPayload> {
    let rows: Vec<String> = sqlx::query_scalar(
        "select payload from outbox_events where ticket_id = $1 and kind = $2 order by id",
    )
    .bind(ticket.0)
    .bind(kind)
    .fetch_all(h.engine.db().pool())
    .await
    .unwrap();
    rows.iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
}

fn run(reminded: usize, closed: usize) -> AutoCloseRun {
    AutoCloseRun { reminded, closed }
}

#[apply(backends)]
#[tokio::test]
async fn a_quiet_customer_is_reminded_then_the_ticket_closes_saying_why(#[case] kind: Kind) {
    let h = harness_with(kind, settings("3d/2d"), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    assert_eq!(t.auto_close_at, None, "waits for staff, not for Ann");
    let answered = h.reply(sam, t.id, "Which office?").await.unwrap();
    let asked = answered.message.created_at;
    assert_eq!(answered.ticket.status, Status::AwaitingClient);
    assert_eq!(
        answered.ticket.auto_close_at,
        Some(asked.plus_millis(3 * 24 * 3_600_000))
    );
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 0));
    h.engine.clock().advance(3 * DAY - MINUTE);
    assert_eq!(
        h.engine.run_auto_close(10).await.unwrap(),
        run(0, 0),
        "not yet"
    );
    h.engine.clock().advance(2 * MINUTE);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(1, 0));
    assert_eq!(
        h.engine.run_auto_close(10).await.unwrap(),
        run(0, 0),
        "once"
    );
    let reminded = h.engine.ticket(sam, t.id).await.unwrap();
    assert!(reminded.reminded);
    assert_eq!(reminded.status, Status::AwaitingClient);
    let reminders = events(&h, t.id, "auto_close_reminder").await;
    let [EventPayload::AutoCloseReminder {
        closes_at,
        quiet_minutes,
        ..
    }] = reminders.as_slice()
    else {
        panic!("{reminders:?}")
    };
    assert_eq!(*quiet_minutes, 3 * 24 * 60);
    assert_eq!(Some(*closes_at), reminded.auto_close_at);
    // Ann reads the reminder in the ticket's history.
    let thread = h.engine.thread(ann, t.id).await.unwrap();
    assert!(
        thread.changes.iter().any(|c| !c.internal
            && c.text
                .starts_with("We haven't heard from you for 3 days: this ticket closes on")),
        "{:?}",
        thread.changes
    );
    h.engine.clock().advance(2 * DAY);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 1));
    assert_eq!(
        h.engine.run_auto_close(10).await.unwrap(),
        run(0, 0),
        "once"
    );
    let closed = h.engine.ticket(ann, t.id).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!((closed.auto_close_at, closed.reminded), (None, false));
    assert_eq!(
        events(&h, t.id, "ticket_closed").await,
        [EventPayload::TicketClosed {
            number: t.number,
            previous_status: Status::AwaitingClient,
            reason: Some(CloseReason::NoReply {
                quiet_minutes: 5 * 24 * 60
            }),
        }]
    );
    let thread = h.engine.thread(ann, t.id).await.unwrap();
    assert_eq!(
        thread.changes.last().map(|c| c.text.as_str()),
        Some("Threadesk closed the ticket: no reply for 5 days.")
    );
    // closed: a late reply is refused, with its text kept.
    let late = h.reply(ann, t.id, "sorry, I was away").await.unwrap_err();
    assert!(matches!(late, EngineError::TicketClosed { .. }), "{late:?}");
}

#[apply(backends)]
#[tokio::test]
async fn a_customer_reply_stops_it_a_staff_answer_starts_it_again_and_staff_can_pause_it(
    #[case] kind: Kind,
) {
    let h = harness_with(kind, settings("default=3d/2d, Billing=off"), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    h.reply(sam, t.id, "Which office?").await.unwrap();
    h.engine.clock().advance(3 * DAY + MINUTE);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(1, 0));
    // Ann answers after the reminder: nothing closes, however long.
    let answer = h.reply(ann, t.id, "Berlin").await.unwrap().ticket;
    assert_eq!(answer.status, Status::ClientReplied);
    assert_eq!((answer.auto_close_at, answer.reminded), (None, false));
    h.engine.clock().advance(30 * DAY);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 0));
    // staff answer again: a whole new period from now.
    let again = h.reply(sam, t.id, "Try again now").await.unwrap();
    let from = again.message.created_at;
    assert_eq!(
        again.ticket.auto_close_at,
        Some(from.plus_millis(3 * 24 * 3_600_000))
    );
    // paused by staff: nothing happens; customers may not pause it.
    let refused = h.engine.pause_auto_close(&Ctx::new(ann), t.id, true).await;
    assert!(
        matches!(refused, Err(EngineError::StaffOnly(_))),
        "{refused:?}"
    );
    let paused = h
        .engine
        .pause_auto_close(&Ctx::new(sam), t.id, true)
        .await
        .unwrap();
    assert!(paused.auto_close_paused);
    let twice = h.engine.pause_auto_close(&Ctx::new(sam), t.id, true).await;
    assert!(matches!(twice, Err(EngineError::Conflict(_))), "{twice:?}");
    h.engine.clock().advance(10 * DAY);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 0));
    assert!(h.engine.next_auto_close().await.unwrap().is_none());
    // resumed: the customer has the whole period again, from now.
    let resumed = h
        .engine
        .pause_auto_close(&Ctx::new(sam), t.id, false)
        .await
        .unwrap();
    let now = h.engine.now();
    let due = resumed.auto_close_at.expect("due again");
    assert!(
        due.0 > now.plus_millis(3 * 24 * 3_600_000 - 60_000).0,
        "{due:?}"
    );
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 0));
    // the history shows staff the pause and the resumption; Ann neither.
    let staff_view = h.engine.thread(sam, t.id).await.unwrap().changes;
    assert!(staff_view
        .iter()
        .any(|c| c.internal && c.text == "Sam paused automatic closing."));
    assert!(staff_view
        .iter()
        .any(|c| c.text == "Sam resumed automatic closing."));
    let ann_view = h.engine.thread(ann, t.id).await.unwrap().changes;
    assert!(
        !ann_view
            .iter()
            .any(|c| c.text.contains("automatic closing")),
        "{ann_view:?}"
    );
    // a department that never closes by itself.
    let billing = h.department(sam, "Billing").await;
    let b = h.open_in(ann, "Invoice", billing).await.ticket;
    let asked = h.reply(sam, b.id, "Which invoice?").await.unwrap().ticket;
    assert_eq!(asked.auto_close_at, None);
    // set by hand to "awaiting client": the clock starts as on an answer.
    let c = h.open(ann, "Printer").await.ticket;
    let set = h
        .engine
        .set_status(&Ctx::new(sam), c.id, Status::AwaitingClient)
        .await
        .unwrap();
    assert!(set.auto_close_at.is_some());
    let held = h
        .engine
        .set_status(&Ctx::new(sam), c.id, Status::OnHold)
        .await
        .unwrap();
    assert_eq!(held.auto_close_at, None, "on hold: not waiting on Ann");
}

#[apply(backends)]
#[tokio::test]
async fn with_no_periods_configured_nothing_closes_and_start_up_sets_due_times(#[case] kind: Kind) {
    let h = harness_with(kind, Settings::default(), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    let asked = h.reply(sam, t.id, "Which office?").await.unwrap().ticket;
    assert_eq!(asked.auto_close_at, None);
    h.engine.clock().advance(365 * DAY);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 0));
    // the deployment switches it on: at start-up the waiting ticket gets a
    // due time counted from its last activity, so it is due at once.
    let on =
        Engine::new(h.engine.db().clone(), settings("3d/2d")).with_clock(h.engine.clock().clone());
    assert_eq!(on.refresh_auto_close().await.unwrap(), 1);
    assert_eq!(
        on.refresh_auto_close().await.unwrap(),
        0,
        "nothing more to set"
    );
    assert_eq!(on.run_auto_close(10).await.unwrap(), run(1, 0));
    // and off again: nothing is due any more.
    assert_eq!(h.engine.refresh_auto_close().await.unwrap(), 1);
    h.engine.clock().advance(10 * DAY);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 0));
}

/// A staff answer on a ticket in a department starts that department's
/// periods (its name is read with the ticket, in the reply's own round
/// trips), not the default's.
#[apply(backends)]
#[tokio::test]
async fn a_staff_answer_in_a_department_starts_its_periods(#[case] kind: Kind) {
    let h = harness_with(kind, settings("default=3d/2d, Urgent=1d/1d"), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let urgent = h.department(sam, "Urgent").await;
    let t = h.open(ann, "VPN").await.ticket;
    h.engine
        .move_to_department(&Ctx::new(sam), t.id, Some(urgent))
        .await
        .unwrap();
    let asked = h.reply(sam, t.id, "Which office?").await.unwrap();
    let quiet_since = asked.message.created_at;
    assert_eq!(
        asked.ticket.auto_close_at,
        Some(quiet_since.plus_minutes(24 * 60))
    );
    assert_eq!(
        h.engine.ticket(sam, t.id).await.unwrap().auto_close_at,
        asked.ticket.auto_close_at,
        "stored"
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_moved_ticket_closes_by_its_new_departments_periods(#[case] kind: Kind) {
    let h = harness_with(
        kind,
        settings("default=3d/2d, Billing=off, Urgent=1d/1d"),
        4,
    )
    .await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let (billing, urgent) = (
        h.department(sam, "Billing").await,
        h.department(sam, "Urgent").await,
    );
    let move_to = |to, ticket| {
        let (engine, sam) = (h.engine.clone(), sam);
        async move {
            engine
                .move_to_department(&Ctx::new(sam), ticket, to)
                .await
                .unwrap()
        }
    };
    let t = h.open(ann, "VPN").await.ticket;
    let asked = h.reply(sam, t.id, "Which office?").await.unwrap();
    let quiet_since = asked.message.created_at;
    assert_eq!(
        asked.ticket.auto_close_at,
        Some(quiet_since.plus_minutes(3 * 24 * 60))
    );
    // a shorter period, counted from when Ann went quiet.
    let moved = move_to(Some(urgent), t.id).await;
    assert_eq!(
        (moved.auto_close_at, moved.reminded),
        (Some(quiet_since.plus_minutes(24 * 60)), false)
    );
    assert_eq!(
        h.engine.ticket(sam, t.id).await.unwrap().auto_close_at,
        moved.auto_close_at,
        "stored"
    );
    h.engine.clock().advance(DAY + MINUTE);
    let before = h.engine.now();
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(1, 0));
    let reminded = h.engine.ticket(sam, t.id).await.unwrap();
    // Urgent's closing period from the reminder (the clock runs on).
    let reminded_at = reminded
        .auto_close_at
        .expect("closing due")
        .plus_minutes(-24 * 60);
    assert!(before <= reminded_at && reminded_at <= h.engine.now());
    // back: the default's closing period, counted from the reminder.
    let back = move_to(None, t.id).await;
    assert_eq!(
        (back.auto_close_at, back.reminded),
        (Some(reminded_at.plus_minutes(2 * 24 * 60)), true)
    );
    // a department that never closes by itself: nothing is due...
    let kept = move_to(Some(billing), t.id).await;
    assert_eq!((kept.auto_close_at, kept.reminded), (None, false));
    h.engine.clock().advance(30 * DAY);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 0));
    assert!(h.engine.next_auto_close().await.unwrap().is_none());
    // ...and out of it, the quiet is counted from the last activity, long
    // past here: the reminder is due at once, then the closing.
    let out = move_to(Some(urgent), t.id).await;
    assert_eq!(
        (out.auto_close_at, out.reminded),
        (Some(out.last_activity_at.plus_minutes(24 * 60)), false)
    );
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(1, 0));
    h.engine.clock().advance(DAY + MINUTE);
    assert_eq!(h.engine.run_auto_close(10).await.unwrap(), run(0, 1));
    // a ticket not waiting on its customer gets no due time by moving.
    let u = h.open(ann, "Printer").await.ticket;
    let unanswered = move_to(Some(urgent), u.id).await;
    assert_eq!(unanswered.auto_close_at, None);
}

/// `n` tickets of Ann's that Sam answered: they wait on her. Sam, Ann and
/// the tickets.
async fn waiting(h: &Harness, n: usize) -> (PersonId, PersonId, Vec<TicketId>) {
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let mut ids = vec![];
    for i in 0..n {
        let t = h.open(ann, &format!("Question {i}")).await.ticket;
        h.reply(sam, t.id, "Does this help?").await.unwrap();
        ids.push(t.id);
    }
    (sam, ann, ids)
}

/// Two engines run the worker at once, again and again until nothing is
/// due (a worker that met a busy row leaves the rest for the next run);
/// what they did together.
async fn both_until_done(a: &Engine, b: &Engine) -> AutoCloseRun {
    let mut done = run(0, 0);
    loop {
        let (x, y) = tokio::join!(
            tokio::spawn({
                let a = a.clone();
                async move { a.run_auto_close(1_000).await.unwrap() }
            }),
            tokio::spawn({
                let b = b.clone();
                async move { b.run_auto_close(1_000).await.unwrap() }
            })
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        done = run(
            done.reminded + x.reminded + y.reminded,
            done.closed + x.closed + y.closed,
        );
        let due = a.next_auto_close().await.unwrap();
        if due.is_none_or(|t| t > a.now()) {
            return done;
        }
    }
}

/// Two replicas on one database with one clock: every ticket is reminded
/// once and closed once, whichever replica does it.
#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_remind_or_close_twice(#[case] kind: Kind) {
    let h = harness_with(kind, settings("1d/1d"), 4).await;
    const TICKETS: usize = 30;
    let (sam, _, ids) = waiting(&h, TICKETS).await;
    let db = threadesk_core::Db::connect(&h.url, threadesk_core::db::DbOptions::default())
        .await
        .unwrap();
    let second = Engine::new(db, settings("1d/1d")).with_clock(h.engine.clock().clone());
    h.engine.clock().advance(DAY + MINUTE);
    assert_eq!(both_until_done(&h.engine, &second).await, run(TICKETS, 0));
    h.engine.clock().advance(DAY + MINUTE);
    assert_eq!(both_until_done(&h.engine, &second).await, run(0, TICKETS));
    for id in ids {
        assert_eq!(events(&h, id, "auto_close_reminder").await.len(), 1);
        assert_eq!(events(&h, id, "ticket_closed").await.len(), 1);
        assert_eq!(
            h.engine.ticket(sam, id).await.unwrap().status,
            Status::Closed
        );
    }
}

/// Customers answering while the worker closes: a reply that committed
/// first keeps its ticket open; a close that committed first refuses the
/// reply. Never both, never a reply on a closed ticket.
#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_commits_first_wins_over_closing(#[case] kind: Kind) {
    let h = harness_with(kind, settings("1d/1d"), 6).await;
    const TICKETS: usize = 20;
    let (sam, ann, ids) = waiting(&h, TICKETS).await;
    h.engine.clock().advance(DAY + MINUTE);
    assert_eq!(
        h.engine.run_auto_close(1_000).await.unwrap(),
        run(TICKETS, 0)
    );
    h.engine.clock().advance(DAY + MINUTE);
    let worker = {
        let engine = h.engine.clone();
        tokio::spawn(async move {
            let mut closed = 0;
            while closed < TICKETS {
                let r = engine.run_auto_close(1).await.unwrap();
                if r == run(0, 0) && engine.next_auto_close().await.unwrap().is_none() {
                    break;
                }
                closed += r.closed;
            }
            closed
        })
    };
    let mut answered = vec![];
    for id in ids.iter().rev() {
        answered.push((*id, h.reply(ann, *id, "yes, thanks").await));
    }
    let closed = worker.await.unwrap();
    let mut kept_open = 0;
    for (id, reply) in answered {
        let t = h.engine.ticket(sam, id).await.unwrap();
        let closes = events(&h, id, "ticket_closed").await.len();
        match reply {
            Ok(_) => {
                kept_open += 1;
                assert_eq!(t.status, Status::ClientReplied, "{id}");
                assert_eq!(closes, 0, "{id}: answered, then closed anyway");
            }
            Err(EngineError::TicketClosed { unsent, .. }) => {
                assert_eq!(unsent.as_deref(), Some("yes, thanks"));
                assert_eq!(t.status, Status::Closed);
                assert_eq!(closes, 1, "{id}");
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(kept_open + closed, TICKETS);
}

#[apply(backends)]
#[tokio::test]
async fn the_requester_rates_a_closed_ticket_once_and_may_change_it_for_seven_days(
    #[case] kind: Kind,
) {
    let h = harness_with(kind, Settings::default(), 4).await;
    let sam = h.staff("Sam").await;
    let staff = h.staff("Kim").await;
    let org = h.org(sam, "Acme").await;
    let ann = h.member(sam, org, "Ann").await;
    let boss = h.company_admin(sam, org, "Bo").await;
    let t = h.open(ann, "VPN").await.ticket;
    h.engine.claim(&Ctx::new(sam), t.id).await.unwrap();
    let early = h.engine.rate(&Ctx::new(ann), t.id, 5, None).await;
    assert!(
        matches!(early, Err(EngineError::Conflict(_))),
        "open: {early:?}"
    );
    h.reply(sam, t.id, "Fixed").await.unwrap();
    h.engine.close(&Ctx::new(ann), t.id).await.unwrap();
    assert!(h.engine.may_rate(ann, t.id).await.unwrap());
    assert!(!h.engine.may_rate(boss, t.id).await.unwrap());
    for bad in [0, 6, -1] {
        let r = h.engine.rate(&Ctx::new(ann), t.id, bad, None).await;
        assert!(matches!(r, Err(EngineError::Invalid(_))), "{bad}: {r:?}");
    }
    let long = "x".repeat(MAX_COMMENT_CHARS + 1);
    let r = h.engine.rate(&Ctx::new(ann), t.id, 4, Some(&long)).await;
    assert!(matches!(r, Err(EngineError::Invalid(_))), "{r:?}");
    // nobody but the requester: not staff, not the company admin.
    for who in [sam, boss] {
        let r = h.engine.rate(&Ctx::new(who), t.id, 1, None).await;
        assert!(matches!(r, Err(EngineError::Conflict(_))), "{r:?}");
    }
    let stranger = h.person("Eve").await;
    let r = h.engine.rate(&Ctx::new(stranger), t.id, 1, None).await;
    assert!(matches!(r, Err(EngineError::NotFound(_))), "{r:?}");
    let rated = h
        .engine
        .rate(&Ctx::new(ann), t.id, 4, Some("  Quick and kind  "))
        .await
        .unwrap();
    assert_eq!(
        (rated.score, rated.comment.as_deref()),
        (4, Some("Quick and kind"))
    );
    // staff and the requester see it; the company admin does not.
    assert_eq!(
        h.engine.rating(sam, t.id).await.unwrap(),
        Some(rated.clone())
    );
    assert_eq!(
        h.engine.rating(ann, t.id).await.unwrap(),
        Some(rated.clone())
    );
    assert_eq!(h.engine.rating(boss, t.id).await.unwrap(), None);
    let r = h.engine.ratings_of(ann, &[t.id]).await;
    assert!(matches!(r, Err(EngineError::StaffOnly(_))), "{r:?}");
    assert_eq!(
        h.engine.ratings_of(staff, &[t.id]).await.unwrap()[&t.id],
        rated
    );
    // the same again is no change; another score is, within the window.
    let same = h
        .engine
        .rate(&Ctx::new(ann), t.id, 4, Some("Quick and kind"))
        .await;
    assert!(matches!(same, Err(EngineError::Conflict(_))), "{same:?}");
    h.engine.clock().advance(6 * DAY);
    let changed = h.engine.rate(&Ctx::new(ann), t.id, 2, None).await.unwrap();
    assert_eq!((changed.score, changed.comment), (2, None));
    assert_eq!(changed.created_at, rated.created_at);
    let rated_events = events(&h, t.id, "ticket_rated").await;
    assert!(
        matches!(
            rated_events.as_slice(),
            [
                EventPayload::TicketRated { changed: false, .. },
                EventPayload::TicketRated { changed: true, .. }
            ]
        ),
        "{rated_events:?}"
    );
    // staff read it in the history; Ann does not see it as a change.
    let staff_view = h.engine.thread(sam, t.id).await.unwrap().changes;
    assert!(staff_view
        .iter()
        .any(|c| c.internal && c.text.contains("changed their rating to ★★☆☆☆ (2/5)")));
    h.engine.clock().advance(DAY + MINUTE);
    let late = h.engine.rate(&Ctx::new(ann), t.id, 5, None).await;
    assert!(
        matches!(&late, Err(EngineError::Conflict(m)) if m.contains("7 days")),
        "{late:?}"
    );
    assert!(!h.engine.may_rate(ann, t.id).await.unwrap());
}

#[apply(backends)]
#[tokio::test]
async fn a_mailed_rating_link_rates_once_without_signing_in(#[case] kind: Kind) {
    let h = harness_with(kind, Settings::default(), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    let system = h.engine.system();
    assert_eq!(system.rating_link(t.id, ann).await.unwrap(), None, "open");
    h.engine.close(&Ctx::new(sam), t.id).await.unwrap();
    assert_eq!(
        system.rating_link(t.id, sam).await.unwrap(),
        None,
        "not the requester"
    );
    // a ticket a member of staff opened asks them for no rating.
    let own = h.open(sam, "Internal").await.ticket;
    h.engine.close(&Ctx::new(sam), own.id).await.unwrap();
    assert_eq!(
        system.rating_link(own.id, sam).await.unwrap(),
        None,
        "staff"
    );
    let token = system
        .rating_link(t.id, ann)
        .await
        .unwrap()
        .expect("a link");
    let link = h.engine.rating_link(&token).await.unwrap();
    assert_eq!(
        (link.number, link.person, link.rating),
        (t.number, ann, None)
    );
    // looking at it twice uses nothing (mail scanners open links).
    h.engine.rating_link(&token).await.unwrap();
    let bad = h.engine.rate_by_link(&token, 9, None).await;
    assert!(matches!(bad, Err(EngineError::Invalid(_))), "{bad:?}");
    let rated = h
        .engine
        .rate_by_link(&token, 5, Some("Great"))
        .await
        .unwrap();
    assert_eq!((rated.score, rated.rated_by), (5, ann));
    for again in [
        h.engine.rate_by_link(&token, 1, None).await.map(|_| ()),
        h.engine.rating_link(&token).await.map(|_| ()),
        h.engine
            .rate_by_link("not-a-token", 1, None)
            .await
            .map(|_| ()),
    ] {
        assert!(matches!(again, Err(EngineError::NotFound(_))), "{again:?}");
    }
    assert_eq!(h.engine.rating(ann, t.id).await.unwrap().unwrap().score, 5);
    // a link past the window no longer works.
    let second = system.rating_link(t.id, ann).await.unwrap().unwrap();
    h.engine.clock().advance(7 * DAY + MINUTE);
    let expired = h.engine.rate_by_link(&second, 3, None).await;
    assert!(
        matches!(expired, Err(EngineError::NotFound(_))),
        "{expired:?}"
    );
}

#[apply(backends)]
#[tokio::test]
async fn the_report_counts_ratings_per_department_and_owner_over_a_period(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let kim = h.staff("Kim").await;
    let ann = h.person("Ann").await;
    let billing = h.department(sam, "Billing").await;
    let start = h.engine.now();
    let rate = |owner: Option<threadesk_core::PersonId>, department, score| {
        let h = &h;
        async move {
            let t = h
                .engine
                .open_ticket(
                    &Ctx::new(ann),
                    threadesk_core::engine::NewTicket {
                        subject: "Help".into(),
                        body: "please".into(),
                        department,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .ticket;
            if let Some(o) = owner {
                h.engine
                    .assign(&Ctx::new(sam), t.id, Some(o))
                    .await
                    .unwrap();
            }
            h.engine.close(&Ctx::new(ann), t.id).await.unwrap();
            let comment = (score == 1).then_some("Too slow");
            h.engine
                .rate(&Ctx::new(ann), t.id, score, comment)
                .await
                .unwrap();
            t.number
        }
    };
    rate(Some(sam), Some(billing), 5).await;
    rate(Some(sam), None, 4).await;
    let slow = rate(Some(kim), Some(billing), 1).await;
    rate(None, None, 3).await;
    let end = h.engine.now().plus_millis(1);
    let report = h.engine.rating_report(sam, start, end).await.unwrap();
    assert_eq!(report.all.counts, [1, 0, 1, 1, 1]);
    assert_eq!(report.all.average(), Some(3.25));
    let named =
        |rows: &[threadesk_core::engine::RatingRow]| -> Vec<(Option<String>, i64, Option<f64>)> {
            rows.iter()
                .map(|r| (r.name.clone(), r.total(), r.average()))
                .collect()
        };
    assert_eq!(
        named(&report.departments),
        [(Some("Billing".into()), 2, Some(3.0)), (None, 2, Some(3.5))]
    );
    assert_eq!(
        named(&report.owners),
        [
            (Some("Kim".into()), 1, Some(1.0)),
            (Some("Sam".into()), 2, Some(4.5)),
            (None, 1, Some(3.0))
        ]
    );
    assert_eq!(report.comments.len(), 1);
    assert_eq!(report.comments[0].number, slow);
    // another period: nothing.
    let before = h
        .engine
        .rating_report(sam, start.plus_millis(-86_400_000), start)
        .await
        .unwrap();
    assert_eq!(before.all.total(), 0);
    let r = h.engine.rating_report(ann, start, end).await;
    assert!(matches!(r, Err(EngineError::StaffOnly(_))), "{r:?}");
    let counts = h.engine.rating_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| c.3).sum::<i64>(), 4);
    assert!(counts.contains(&(Some("Billing".into()), Some("Kim".into()), 1, 1)));
}
