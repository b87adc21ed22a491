//! Service targets: a waiting ticket's due time, from the first or next
//! response target of its department; the queue puts the soonest first.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::QueueFilter;
use threadesk_core::service::ServiceTargets;
use threadesk_core::{Ctx, Engine, Settings};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

fn settings(targets: &str) -> Settings {
    Settings {
        service: ServiceTargets::parse(targets, None, None).unwrap(),
        ..Settings::default()
    }
}

#[apply(backends)]
#[tokio::test]
async fn a_waiting_ticket_is_due_by_its_departments_target_and_the_clock_stops_on_an_answer(
    #[case] kind: Kind,
) {
    let h = harness_with(kind, settings("default=4h/1h, Billing=30m/15m"), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    assert_eq!(t.waiting_since, Some(t.created_at));
    assert_eq!(
        t.due_at,
        Some(t.created_at.plus_millis(4 * HOUR)),
        "first response"
    );
    let read = |h: &Harness| {
        let engine = h.engine.clone();
        async move { engine.ticket(sam, t.id).await.unwrap() }
    };
    assert_eq!(read(&h).await.due_at, t.due_at, "stored");
    // more from the customer: the same wait.
    h.reply(ann, t.id, "still down").await.unwrap();
    assert_eq!(read(&h).await.due_at, t.due_at);
    // staff answer: the clock stops; the first response is kept.
    let answered = h.reply(sam, t.id, "looking").await.unwrap().ticket;
    assert_eq!((answered.waiting_since, answered.due_at), (None, None));
    let first = answered.first_response_at.expect("first response");
    // a note does not answer.
    let again = h.reply(ann, t.id, "any news?").await.unwrap();
    let since = again.message.created_at;
    assert_eq!(
        again.ticket.due_at,
        Some(since.plus_millis(HOUR)),
        "next response"
    );
    h.engine
        .note(
            &Ctx::new(sam),
            t.id,
            threadesk_core::engine::NewMessage::text("hm"),
        )
        .await
        .unwrap();
    assert_eq!(read(&h).await.due_at, Some(since.plus_millis(HOUR)));
    // moved: the new department's target, from when the wait began.
    let billing = h.department(sam, "Billing").await;
    let moved = h
        .engine
        .move_to_department(&Ctx::new(sam), t.id, Some(billing))
        .await
        .unwrap();
    assert_eq!(moved.due_at, Some(since.plus_millis(15 * MINUTE)));
    // opened in Billing: its first response target from the start, the
    // department's name read with the opening's other facts.
    let opened = h.open_in(ann, "Invoice", billing).await.ticket;
    // with a file (the other way in): the name read with the department's
    // state.
    let with_file = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            threadesk_core::engine::NewTicket {
                subject: "Receipt".into(),
                department: Some(billing),
                body: "attached".into(),
                attachments: vec![file("receipt.pdf", 2048)],
            },
        )
        .await
        .unwrap()
        .ticket;
    for opened in [opened, with_file] {
        assert_eq!(
            opened.due_at,
            Some(opened.created_at.plus_millis(30 * MINUTE))
        );
        let stored = h.engine.ticket(sam, opened.id).await.unwrap();
        assert_eq!(stored.due_at, opened.due_at, "stored");
    }
    // parked: no clock; opened again by hand: a new wait.
    let held = h
        .engine
        .set_status(&Ctx::new(sam), t.id, Status::OnHold)
        .await
        .unwrap();
    assert_eq!((held.waiting_since, held.due_at), (None, None));
    let reopened = h
        .engine
        .set_status(&Ctx::new(sam), t.id, Status::Open)
        .await
        .unwrap();
    let since = reopened.waiting_since.expect("waiting again");
    assert_eq!(reopened.due_at, Some(since.plus_millis(15 * MINUTE)));
    assert_eq!(reopened.first_response_at, Some(first));
    // answered, then waiting again on a reply: Billing's target.
    h.reply(sam, t.id, "on it").await.unwrap();
    let waits = h.reply(ann, t.id, "and now?").await.unwrap();
    let since = waits.message.created_at;
    assert_eq!(waits.ticket.due_at, Some(since.plus_millis(15 * MINUTE)));
    assert_eq!(read(&h).await.due_at, waits.ticket.due_at, "stored");
    let closed = h.engine.close(&Ctx::new(sam), t.id).await.unwrap();
    assert_eq!((closed.waiting_since, closed.due_at), (None, None));
}

#[apply(backends)]
#[tokio::test]
async fn the_queue_puts_the_soonest_due_first_and_targets_follow_a_restart(#[case] kind: Kind) {
    let h = harness_with(kind, settings("default=4h/1h, Billing=30m"), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let billing = h.department(sam, "Billing").await;
    let later = h.open(ann, "due in four hours").await.ticket;
    let soon = h.open(ann, "due in thirty minutes").await.ticket;
    h.engine
        .move_to_department(&Ctx::new(sam), soon.id, Some(billing))
        .await
        .unwrap();
    let answered = h.open(ann, "answered").await.ticket;
    h.reply(sam, answered.id, "done").await.unwrap();
    let newest = h.open(ann, "newest, due in four hours").await.ticket;
    let order = |engine: Engine| async move {
        engine
            .staff_queue(
                sam,
                QueueFilter::default(),
                PageRequest::first(View::Active),
            )
            .await
            .unwrap()
            .items
            .iter()
            .map(|i| i.ticket.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order(h.engine.clone()).await,
        vec![soon.id, later.id, newest.id, answered.id],
        "soonest due first; answered ones after the waiting ones"
    );
    // pages follow each other in that order.
    let first = h
        .engine
        .staff_queue(
            sam,
            QueueFilter::default(),
            PageRequest {
                view: View::Active,
                after: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    let second = h
        .engine
        .staff_queue(
            sam,
            QueueFilter::default(),
            PageRequest {
                view: View::Active,
                after: first.next,
                limit: 2,
            },
        )
        .await
        .unwrap();
    let ids: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|i| i.ticket.id)
        .collect();
    assert_eq!(ids, vec![soon.id, later.id, newest.id, answered.id]);
    // restarted with other targets: every waiting ticket follows them.
    let restarted = Engine::new(h.engine.db().clone(), settings("2h"));
    assert_eq!(restarted.refresh_due_times().await.unwrap(), 3);
    let t = restarted.ticket(sam, later.id).await.unwrap();
    assert_eq!(t.due_at, Some(t.created_at.plus_millis(2 * HOUR)));
    assert_eq!(
        restarted.refresh_due_times().await.unwrap(),
        0,
        "nothing left to change"
    );
    // targets turned off: nothing is due any more.
    let off = Engine::new(h.engine.db().clone(), Settings::default());
    assert_eq!(off.refresh_due_times().await.unwrap(), 3);
    assert_eq!(off.ticket(sam, later.id).await.unwrap().due_at, None);
}

#[apply(backends)]
#[tokio::test]
async fn overdue_tickets_and_first_responses_are_counted_per_department(#[case] kind: Kind) {
    let h = harness_with(kind, settings("default=4h/1h, Billing=30m"), 4).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let billing = h.department(sam, "Billing").await;
    let a = h.open(ann, "plain").await.ticket;
    let b = h.open(ann, "billing").await.ticket;
    h.engine
        .move_to_department(&Ctx::new(sam), b.id, Some(billing))
        .await
        .unwrap();
    let answered = h.open(ann, "answered at once").await.ticket;
    h.reply(sam, answered.id, "here").await.unwrap();
    let now = threadesk_core::time::Timestamp::now();
    assert!(h
        .engine
        .service_figures(now)
        .await
        .unwrap()
        .overdue
        .is_empty());
    // an hour on: Billing's 30 minutes are past, the default's 4 h not.
    let later = h
        .engine
        .service_figures(now.plus_millis(HOUR))
        .await
        .unwrap();
    assert_eq!(later.overdue, vec![("Billing".to_owned(), 1)]);
    let much_later = h
        .engine
        .service_figures(a.created_at.plus_millis(5 * HOUR))
        .await
        .unwrap();
    assert_eq!(
        much_later.overdue,
        vec![(String::new(), 1), ("Billing".to_owned(), 1)]
    );
    let f = &much_later.first_response;
    assert_eq!(f.len(), 1, "{f:?}");
    let (dept, buckets, n, _total) = &f[0];
    assert_eq!((dept.as_str(), *n), ("", 1));
    assert!(
        buckets.iter().all(|c| *c == 1),
        "answered within five minutes: {buckets:?}"
    );
}
