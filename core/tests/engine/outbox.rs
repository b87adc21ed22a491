//! The outbox: one event per change, handed to each consumer in order per
//! ticket, at least once; and the platform links.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use std::time::Duration;
use threadesk_core::domain::*;
use threadesk_core::links::PlatformRef;
use threadesk_core::outbox::{EventPayload, Outbox, PARALLEL};
use threadesk_core::{Ctx, EventId, PersonId, TicketId};

const LEASE: Duration = Duration::from_secs(60);

/// A harness, its customer Ann, and an outbox with `consumer` registered
/// before Ann opens `tickets` tickets ("ticket 0", …: an event each).
async fn worker_setup(kind: Kind, consumer: &str, tickets: usize) -> (Harness, PersonId, Outbox) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let outbox = Outbox::new(h.engine.db().clone());
    outbox.register(consumer).await.unwrap();
    for i in 0..tickets {
        h.open(ann, &format!("ticket {i}")).await;
    }
    (h, ann, outbox)
}

/// `n` tickets of `who`, each opened and replied to `replies` times.
async fn tickets_with_replies(
    h: &Harness,
    who: PersonId,
    n: usize,
    replies: usize,
) -> Vec<TicketId> {
    let mut tickets = vec![];
    for i in 0..n {
        let t = h.open(who, &format!("ticket {i}")).await.ticket.id;
        for r in 0..replies {
            h.reply(who, t, &format!("reply {r}")).await.unwrap();
        }
        tickets.push(t);
    }
    tickets
}

/// Each ticket's `per_ticket` events were seen, each once, in order.
fn each_once_in_order(
    seen: &[(Option<TicketId>, EventId)],
    tickets: &[TicketId],
    per_ticket: usize,
) {
    assert_eq!(seen.len(), tickets.len() * per_ticket, "each event once");
    for t in tickets {
        let mine: Vec<EventId> = seen
            .iter()
            .filter(|(ticket, _)| *ticket == Some(*t))
            .map(|(_, e)| *e)
            .collect();
        assert_eq!(mine.len(), per_ticket);
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "in order: {mine:?}");
    }
}

#[apply(backends)]
#[tokio::test]
async fn each_consumer_sees_every_event_once_in_order_per_ticket(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let outbox = Outbox::new(h.engine.db().clone());
    outbox.register("slack").await.unwrap();
    outbox.register("discord").await.unwrap();
    let t1 = h.open(ann, "one").await.ticket;
    let t2 = h.open(ann, "two").await.ticket;
    h.reply(sam, t1.id, "first answer").await.unwrap();
    h.reply(sam, t2.id, "second answer").await.unwrap();

    let mut seen = Vec::new();
    loop {
        let batch = outbox.claim("slack", 10, LEASE).await.unwrap();
        if batch.is_empty() {
            break;
        }
        // per ticket only the oldest unacknowledged event is handed out.
        let mut tickets: Vec<_> = batch.iter().filter_map(|d| d.event.ticket_id).collect();
        let n = tickets.len();
        tickets.dedup();
        assert_eq!(tickets.len(), n, "one event per ticket per claim");
        for d in batch {
            assert_eq!(d.attempts, 1);
            seen.push((d.event.ticket_id, d.event.payload.kind()));
            outbox.ack("slack", d.event.id).await.unwrap();
        }
    }
    let for_ticket = |t| {
        seen.iter()
            .filter(|(id, _)| *id == Some(t))
            .map(|(_, k)| *k)
            .collect::<Vec<_>>()
    };
    assert_eq!(for_ticket(t1.id), vec!["ticket_opened", "reply_posted"]);
    assert_eq!(for_ticket(t2.id), vec!["ticket_opened", "reply_posted"]);
    assert_eq!(outbox.lag("slack").await.unwrap().pending, 0);
    // the other consumer still has all of its own.
    assert_eq!(outbox.lag("discord").await.unwrap().pending, 4);
}

#[apply(backends)]
#[tokio::test]
async fn an_unacknowledged_event_holds_back_its_ticket_and_comes_again(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let outbox = Outbox::new(h.engine.db().clone());
    outbox.register("mail").await.unwrap();
    let t = h.open(ann, "one").await.ticket;
    h.reply(ann, t.id, "more").await.unwrap();
    let first = outbox.claim("mail", 10, LEASE).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        outbox.claim("mail", 10, LEASE).await.unwrap().is_empty(),
        "leased, and the reply waits behind it"
    );
    // a transient failure: handed back, tried again once due.
    outbox
        .retry_later("mail", first[0].event.id, "smtp 451", Duration::ZERO)
        .await
        .unwrap();
    let again = outbox.claim("mail", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].event.id, again[0].attempts),
        (first[0].event.id, 2)
    );
    // a lease that runs out (a dead worker) hands the event out again.
    let short = outbox.claim("mail", 10, Duration::ZERO).await.unwrap();
    assert!(short.is_empty(), "still leased from the previous claim");
    outbox
        .retry_later("mail", first[0].event.id, "crash", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        outbox
            .claim("mail", 10, Duration::ZERO)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        outbox.claim("mail", 10, LEASE).await.unwrap()[0].attempts,
        4
    );
    // giving up keeps the event for staff and lets the ticket move on.
    outbox
        .give_up("mail", first[0].event.id, "550 no such user")
        .await
        .unwrap();
    let next = outbox.claim("mail", 10, LEASE).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event.payload.kind(), "reply_posted");
    let lag = outbox.lag("mail").await.unwrap();
    assert_eq!((lag.pending, lag.failed), (1, 1));
}

#[apply(backends)]
#[tokio::test]
async fn events_carry_what_adapters_need_and_notes_are_marked_staff_only(#[case] kind: Kind) {
    let h = harness(kind).await;
    let outbox = Outbox::new(h.engine.db().clone());
    outbox.register("staff-surface").await.unwrap();
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    h.engine
        .note(
            &Ctx::new(sam),
            t.id,
            threadesk_core::engine::NewMessage::text("internal"),
        )
        .await
        .unwrap();
    let mut payloads = Vec::new();
    while let Some(d) = outbox.claim("staff-surface", 1, LEASE).await.unwrap().pop() {
        outbox.ack("staff-surface", d.event.id).await.unwrap();
        payloads.push(d.event.payload);
    }
    let opened = payloads
        .iter()
        .find(|p| p.kind() == "ticket_opened")
        .unwrap();
    match opened {
        EventPayload::TicketOpened { ticket, message } => {
            assert_eq!(ticket.number, t.number);
            assert_eq!(message.body, "about VPN");
            assert!(!opened.staff_only());
        }
        other => panic!("{other:?}"),
    }
    let note = payloads.iter().find(|p| p.kind() == "note_posted").unwrap();
    assert!(note.staff_only());
    // events from before a consumer registered are not replayed to it.
    outbox.register("late").await.unwrap();
    assert!(outbox.claim("late", 10, LEASE).await.unwrap().is_empty());
    assert!(matches!(
        outbox.event(EventId(999_999)).await,
        Err(threadesk_core::EngineError::NotFound(_))
    ));
}

#[apply(backends)]
#[tokio::test]
async fn platform_links_are_found_both_ways_and_recorded_once(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let opened = h.open(ann, "VPN").await;
    let card = PlatformRef {
        platform: Platform::Slack,
        workspace: "T1".into(),
        channel: "D1".into(),
        message_id: "1700000000.000100".into(),
    };
    let first = PlatformRef {
        message_id: "1700000000.000200".into(),
        ..card.clone()
    };
    let staff_copy = PlatformRef {
        platform: Platform::Discord,
        workspace: "G1".into(),
        channel: "C9".into(),
        message_id: "123456789".into(),
    };
    h.engine
        .system()
        .put_link(opened.ticket.id, None, &card)
        .await
        .unwrap();
    let l1 = h
        .engine
        .system()
        .put_link(opened.ticket.id, Some(opened.message.id), &first)
        .await
        .unwrap();
    let again = h
        .engine
        .system()
        .put_link(opened.ticket.id, Some(opened.message.id), &first)
        .await
        .unwrap();
    assert_eq!(l1, again);
    h.engine
        .system()
        .put_link(opened.ticket.id, Some(opened.message.id), &staff_copy)
        .await
        .unwrap();
    let found = h.engine.system().link_at(&first).await.unwrap().unwrap();
    assert_eq!(
        (found.ticket_id, found.message_id),
        (opened.ticket.id, Some(opened.message.id))
    );
    assert_eq!(
        h.engine
            .system()
            .link_at(&card)
            .await
            .unwrap()
            .unwrap()
            .message_id,
        None
    );
    let unknown = PlatformRef {
        message_id: "nope".into(),
        ..card.clone()
    };
    assert_eq!(h.engine.system().link_at(&unknown).await.unwrap(), None);
    assert_eq!(
        h.engine
            .system()
            .links_of_ticket(opened.ticket.id)
            .await
            .unwrap()
            .len(),
        3
    );
    let copies: Vec<Platform> = h
        .engine
        .system()
        .links_of_message(opened.message.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.at.platform)
        .collect();
    assert_eq!(copies, vec![Platform::Slack, Platform::Discord]);
}

#[apply(backends)]
#[tokio::test]
async fn a_stopping_worker_finishes_the_events_in_hand_and_hands_back_the_rest(#[case] kind: Kind) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use threadesk_core::outbox::Attempt;
    // more tickets than a worker delivers at once.
    let (_h, _, outbox) = worker_setup(kind, "slow", PARALLEL + 4).await;
    let started = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let stop = tokio::sync::Notify::new();
    let wake = tokio::sync::Notify::new();
    let worker = outbox.run("slow", &wake, stop.notified(), |_event| async {
        started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        finished.fetch_add(1, Ordering::SeqCst);
        Attempt::Done
    });
    let stopper = async {
        // shutdown arrives while the first events are being delivered.
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.notify_one();
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(worker, stopper)
    })
    .await
    .expect("the worker stops");
    // a batch's tickets are delivered PARALLEL at a time.
    assert_eq!(
        started.load(Ordering::SeqCst),
        PARALLEL,
        "nothing new started"
    );
    assert_eq!(
        finished.load(Ordering::SeqCst),
        PARALLEL,
        "the steps in hand finished"
    );
    let lag = outbox.lag("slow").await.unwrap();
    assert_eq!(lag.pending, 4, "the rest waits");
    // handed back at once, not left to a lease: due now, attempt not counted.
    let next = outbox.claim("slow", 20, LEASE).await.unwrap();
    assert_eq!(next.len(), 4);
    assert!(next.iter().all(|d| d.attempts == 1), "{next:?}");
}

#[apply(backends)]
#[tokio::test]
async fn a_dead_workers_events_are_taken_over_within_seconds(#[case] kind: Kind) {
    use threadesk_core::outbox::{Attempt, LEASE as WORKER_LEASE};
    let (_h, _, outbox) = worker_setup(kind, "replica", 3).await;
    // a replica claims them as its worker does, then dies (no ack, no renewal).
    let dead = outbox.claim("replica", 20, WORKER_LEASE).await.unwrap();
    assert_eq!(dead.len(), 3);
    let died = std::time::Instant::now();
    let delivered = std::sync::Mutex::new(vec![]);
    loop {
        outbox
            .pump("replica", |e| {
                delivered.lock().unwrap().push(e.id);
                async { Attempt::Done }
            })
            .await
            .unwrap();
        if delivered.lock().unwrap().len() == 3 {
            break;
        }
        assert!(died.elapsed() < Duration::from_secs(15), "not taken over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = died.elapsed();
    println!("TAKEOVER {kind:?} {} ms", took.as_millis());
    assert!(took < WORKER_LEASE + Duration::from_secs(2), "{took:?}");
}

#[apply(backends)]
#[tokio::test]
async fn a_worker_acknowledges_with_its_next_claim_and_before_it_stops(#[case] kind: Kind) {
    use std::sync::Mutex;
    use threadesk_core::outbox::Attempt;
    let (h, ann, outbox) = worker_setup(kind, "steady", 0).await;
    // three events on each of 20 tickets: three batches (one per ticket).
    let tickets = tickets_with_replies(&h, ann, 20, 2).await;
    let before = h.engine.db().commit_stats();
    let seen = Mutex::new(Vec::new());
    let all_seen = tokio::sync::Notify::new();
    let (stop, wake) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
    let worker = outbox.run("steady", &wake, stop.notified(), |e| {
        let mut seen = seen.lock().unwrap();
        seen.push((e.ticket_id, e.id));
        if seen.len() == 60 {
            all_seen.notify_one();
        }
        async { Attempt::Done }
    });
    let stopper = async {
        all_seen.notified().await;
        stop.notify_one();
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(worker, stopper)
    })
    .await
    .expect("every event delivered and the worker stopped");
    // nothing left: the last batch was acknowledged before it stopped.
    assert_eq!(outbox.lag("steady").await.unwrap().pending, 0);
    each_once_in_order(&seen.into_inner().unwrap(), &tickets, 3);
    // on an SQLite file every write waits for the one writer: the 60
    // acknowledgements rode with the claims (one a batch, and the last
    // before stopping), not a write transaction each.
    if let (Some(before), Some(after)) = (before, h.engine.db().commit_stats()) {
        let txs = after.transactions - before.transactions;
        assert!(txs <= 12, "{txs} write transactions for 60 events");
    }
}

#[apply(backends)]
#[tokio::test]
async fn events_delivered_but_not_yet_acknowledged_come_again_after_a_crash(#[case] kind: Kind) {
    use std::sync::Mutex;
    use threadesk_core::outbox::{Attempt, LEASE as WORKER_LEASE};
    // 25 tickets: a batch of 20, then one of 5.
    let (_h, _, outbox) = worker_setup(kind, "doomed", 25).await;
    let seen = Mutex::new(Vec::new());
    let (stop, wake) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
    let in_hand = tokio::sync::Notify::new();
    let worker = outbox.run("doomed", &wake, stop.notified(), |e| {
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push(e.id);
            seen.len()
        };
        let in_hand = &in_hand;
        async move {
            if n == 25 {
                // the second batch's last event never finishes: the
                // process dies with it in hand.
                in_hand.notify_one();
                std::future::pending::<()>().await;
            }
            Attempt::Done
        }
    });
    tokio::select! {
        () = worker => panic!("the worker stopped on its own"),
        () = in_hand.notified() => {}
        () = tokio::time::sleep(Duration::from_secs(20)) => panic!("never reached the second batch"),
    }
    // the worker is gone (dropped mid-batch, as a crash would leave it):
    // the first batch was acknowledged with the second claim; the
    // second's four delivered events were not, nor the one in hand.
    let died = std::time::Instant::now();
    assert_eq!(outbox.lag("doomed").await.unwrap().pending, 5);
    assert!(
        outbox.claim("doomed", 20, LEASE).await.unwrap().is_empty(),
        "still leased"
    );
    let again = loop {
        let again = outbox.claim("doomed", 20, LEASE).await.unwrap();
        if !again.is_empty() {
            break again;
        }
        assert!(
            died.elapsed() < WORKER_LEASE + Duration::from_secs(5),
            "never handed out again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let seen = seen.into_inner().unwrap();
    let mut expected: Vec<EventId> = seen[20..].to_vec();
    expected.sort();
    let mut got: Vec<EventId> = again.iter().map(|d| d.event.id).collect();
    got.sort();
    assert_eq!(
        got, expected,
        "the second batch comes again, the first does not"
    );
    assert!(again.iter().all(|d| d.attempts == 2), "{again:?}");
}

#[apply(backends)]
#[tokio::test]
async fn a_live_worker_keeps_a_slow_event_past_its_lease(#[case] kind: Kind) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use threadesk_core::outbox::{Attempt, LEASE as WORKER_LEASE};
    let (_h, _, outbox) = worker_setup(kind, "slowpoke", 1).await;
    let deliveries = AtomicUsize::new(0);
    let slow = outbox.pump("slowpoke", |_e| async {
        deliveries.fetch_add(1, Ordering::SeqCst);
        // longer than a lease: only the heartbeat keeps it ours.
        tokio::time::sleep(WORKER_LEASE + Duration::from_secs(2)).await;
        Attempt::Done
    });
    let other = async {
        let until = std::time::Instant::now() + WORKER_LEASE + Duration::from_secs(1);
        let mut took = 0;
        while std::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(250)).await;
            took += outbox
                .claim("slowpoke", 20, WORKER_LEASE)
                .await
                .unwrap()
                .len();
        }
        took
    };
    let (handled, taken) = tokio::join!(slow, other);
    assert_eq!(handled.unwrap(), 1);
    assert_eq!(taken, 0, "another worker never got the event");
    assert_eq!(deliveries.load(Ordering::SeqCst), 1);
    assert_eq!(outbox.lag("slowpoke").await.unwrap().pending, 0);
}

#[apply(backends)]
#[tokio::test]
async fn a_worker_delivers_several_tickets_at_once_each_ticket_in_order(#[case] kind: Kind) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use threadesk_core::outbox::Attempt;
    let (h, ann, outbox) = worker_setup(kind, "slow", 0).await;
    // three events on each of twelve tickets: opened, two replies.
    let tickets = tickets_with_replies(&h, ann, 12, 2).await;
    let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let seen = Mutex::new(Vec::new());
    let deliver = |e: threadesk_core::outbox::Event| {
        let (now, most, seen) = (&now, &most, &seen);
        async move {
            let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(at_once, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen.lock().unwrap().push((e.ticket_id, e.id));
            now.fetch_sub(1, Ordering::SeqCst);
            Attempt::Done
        }
    };
    while outbox.pump("slow", deliver).await.unwrap() > 0 {}
    assert_eq!(outbox.lag("slow").await.unwrap().pending, 0);
    each_once_in_order(&seen.into_inner().unwrap(), &tickets, 3);
    assert_eq!(
        most.load(Ordering::SeqCst),
        PARALLEL,
        "{PARALLEL} tickets' events at once"
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_record_closes_its_intent_in_the_same_commit(#[case] kind: Kind) {
    use threadesk_core::outbox::Intent;
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let opened = h.open(ann, "VPN").await;
    let outbox = Outbox::new(h.engine.db().clone());
    let copy = Intent::new(format!("copy:{}:1", opened.message.id));
    let at = PlatformRef {
        platform: Platform::Slack,
        workspace: "T1".into(),
        channel: "D1".into(),
        message_id: "1700000000.000300".into(),
    };
    assert_eq!(outbox.open_intent("slack", &copy).await.unwrap(), None);
    // open: a second attempt is told an earlier one may have posted.
    assert!(outbox.open_intent("slack", &copy).await.unwrap().is_some());
    outbox
        .record_link(
            "slack",
            &copy,
            opened.ticket.id,
            Some(opened.message.id),
            &at,
        )
        .await
        .unwrap();
    let link = h.engine.system().link_at(&at).await.unwrap().unwrap();
    assert_eq!(
        (link.ticket_id, link.message_id),
        (opened.ticket.id, Some(opened.message.id))
    );
    // closed: the next attempt under it starts afresh.
    assert_eq!(outbox.open_intent("slack", &copy).await.unwrap(), None);

    let event = h.newest_event("ticket_opened").await.id;
    let line = Intent::new(format!("line:{event}:1"));
    outbox.open_intent("slack", &line).await.unwrap();
    assert!(!outbox.effect_done("slack", event, "line:D1").await.unwrap());
    outbox
        .record_effect_closing("slack", event, "line:D1", &line)
        .await
        .unwrap();
    assert!(outbox.effect_done("slack", event, "line:D1").await.unwrap());
    assert_eq!(outbox.open_intent("slack", &line).await.unwrap(), None);
    // another consumer's intent under the same key is its own.
    assert_eq!(outbox.open_intent("discord", &copy).await.unwrap(), None);
}

/// Within a delivery, the event's attempt says whether a call may have
/// been made before: the first attempt writes nothing down before its
/// calls; a later one is told to ask the platform, from when the event
/// was written; an intent left open (written down outside a delivery)
/// counts from when it was opened.
#[apply(backends)]
#[tokio::test]
async fn a_first_attempt_writes_no_intent_and_a_retry_asks_since_the_event(#[case] kind: Kind) {
    use std::sync::Mutex;
    use threadesk_core::outbox::{Attempt, Intent};
    use threadesk_core::time::Timestamp;
    let (h, _, outbox) = worker_setup(kind, "asker", 2).await;
    let first_id: i64 =
        sqlx::query_scalar("select min(id) from outbox_events where kind = 'ticket_opened'")
            .fetch_one(h.engine.db().pool())
            .await
            .unwrap();
    let events = [
        h.newest_event("ticket_opened").await,
        outbox.event(EventId(first_id)).await.unwrap(),
    ];
    let second = &events[0];
    // one key per ticket; the second ticket's left open by a call made
    // outside a delivery (as an earlier version made every call).
    let key = |t: Option<TicketId>| {
        let t = t.unwrap();
        Intent::of_ticket(t, format!("copy:{}:1", t.0))
    };
    let left = outbox
        .open_intent("asker", &key(second.ticket_id))
        .await
        .unwrap();
    assert_eq!(left, None, "written down outside a delivery");
    let left_at: i64 = sqlx::query_scalar("select opened_at from delivery_intents")
        .fetch_one(h.engine.db().pool())
        .await
        .unwrap();

    let told = Mutex::new(Vec::<(EventId, Option<Timestamp>)>::new());
    let recording = std::sync::atomic::AtomicBool::new(false);
    let at = |e: EventId| PlatformRef {
        platform: Platform::Slack,
        workspace: "T1".into(),
        channel: "C1".into(),
        message_id: format!("1700000000.{:06}", e.0),
    };
    let deliver = |e: threadesk_core::outbox::Event| {
        let (outbox, told, recording) = (&outbox, &told, &recording);
        async move {
            let intent = key(e.ticket_id);
            let asked = outbox.open_intent("asker", &intent).await.unwrap();
            told.lock().unwrap().push((e.id, asked));
            if !recording.load(std::sync::atomic::Ordering::Relaxed) {
                // the platform took the call, the answer never came back.
                return Attempt::Transient("timed out".into());
            }
            let ticket = e.ticket_id.unwrap();
            outbox
                .record_link("asker", &intent, ticket, None, &at(e.id))
                .await
                .unwrap();
            Attempt::Done
        }
    };
    let intents = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from delivery_intents")
            .fetch_one(h.engine.db().pool())
            .await
            .unwrap()
    };
    let before = h.engine.db().commit_stats();
    assert_eq!(outbox.pump("asker", deliver).await.unwrap(), 2);
    let mut first = std::mem::take(&mut *told.lock().unwrap());
    first.sort_by_key(|(e, _)| *e);
    let (first_ticket, second_ticket) = (&events[1], second);
    assert_eq!(
        first,
        vec![
            (first_ticket.id, None),
            (second_ticket.id, Some(Timestamp(left_at)))
        ],
        "the first attempt asks only where an intent was left open"
    );
    assert_eq!(intents().await, 1, "the first attempt wrote none down");
    if let (Some(before), Some(after)) = (before, h.engine.db().commit_stats()) {
        // the claim and the two deferrals: nothing before the calls.
        let txs = after.transactions - before.transactions;
        assert!(txs <= 3, "{txs} write transactions for two first attempts");
    }

    // deferred by a second: the retry is told to ask, and records.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    recording.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(outbox.pump("asker", deliver).await.unwrap(), 2);
    let mut again = std::mem::take(&mut *told.lock().unwrap());
    again.sort_by_key(|(e, _)| *e);
    assert_eq!(
        again,
        vec![
            (first_ticket.id, Some(first_ticket.created_at)),
            (
                second_ticket.id,
                Some(Timestamp(left_at.min(second_ticket.created_at.0)))
            ),
        ],
        "a retry asks from when the event was written (or the intent opened)"
    );
    // the retry wrote none down either, and its record closed the one
    // left open.
    assert_eq!(intents().await, 0);
    for e in [first_ticket, second_ticket] {
        let link = h.engine.system().link_at(&at(e.id)).await.unwrap();
        assert_eq!(link.map(|l| l.ticket_id), e.ticket_id, "recorded");
    }
}

/// What a first attempt leaves unwritten is its own ticket's (or named
/// by its event): another ticket's thing is written down, and a step
/// outside the delivery (a person's follow request) that would make one
/// of the ticket's things while the ticket has an event claimed and not
/// acknowledged is told to ask the platform from that event: its attempt
/// may have made the call and crashed before recording it.
#[apply(backends)]
#[tokio::test]
async fn a_step_outside_a_delivery_asks_while_its_ticket_has_an_event_claimed(#[case] kind: Kind) {
    use std::sync::Mutex;
    use threadesk_core::outbox::{Attempt, Intent};
    let (h, ann, outbox) = worker_setup(kind, "asker", 1).await;
    let event = h.newest_event("ticket_opened").await;
    let mine = event.ticket_id.unwrap();
    let other = h.open(ann, "another").await.ticket.id;
    // only the first ticket's event is handed out this time.
    sqlx::query(
        "update outbox_deliveries set available_at = available_at + 3600000 where ticket_key = $1",
    )
    .bind(other.0)
    .execute(h.engine.db().pool())
    .await
    .unwrap();
    let card = |t: TicketId| Intent::of_ticket(t, format!("card:{}:p1", t.0));
    let line = Intent::new(format!("line:{}:1", event.id));
    let told = Mutex::new(Vec::new());
    let deliver = |_e: threadesk_core::outbox::Event| {
        let (outbox, told, line) = (&outbox, &told, &line);
        async move {
            for intent in [card(mine), line.clone(), card(other)] {
                let asked = outbox.open_intent("asker", &intent).await.unwrap();
                told.lock().unwrap().push((intent.key, asked));
            }
            // the calls were made; the process died before recording them.
            Attempt::Transient("crashed".into())
        }
    };
    assert_eq!(outbox.pump("asker", deliver).await.unwrap(), 1);
    assert_eq!(
        told.into_inner().unwrap(),
        vec![
            (card(mine).key, None),
            (line.key.clone(), None),
            (card(other).key, None),
        ]
    );
    let written: Vec<String> = sqlx::query_scalar("select intent from delivery_intents")
        .fetch_all(h.engine.db().pool())
        .await
        .unwrap();
    assert_eq!(
        written,
        vec![card(other).key],
        "another ticket's card is written down; the event's own are not"
    );

    // a follow request making the first ticket's card, before the retry:
    // told to ask from the event.
    assert_eq!(
        outbox.open_intent("asker", &card(mine)).await.unwrap(),
        Some(event.created_at)
    );
    // another consumer's own deliveries are its own.
    outbox.register("other").await.unwrap();
    assert_eq!(
        outbox.open_intent("other", &card(mine)).await.unwrap(),
        None
    );
    // a ticket with nothing claimed: a fresh intent, nothing to ask.
    let third = h.open(ann, "a third").await.ticket.id;
    assert_eq!(
        outbox.open_intent("asker", &card(third)).await.unwrap(),
        None
    );
    // once the event is delivered and acknowledged, the ticket's steps
    // start afresh.
    sqlx::query("update outbox_deliveries set available_at = 0")
        .execute(h.engine.db().pool())
        .await
        .unwrap();
    while outbox
        .pump("asker", |_| async { Attempt::Done })
        .await
        .unwrap()
        > 0
    {}
    let fresh = Intent::of_ticket(mine, "copy:0:1");
    assert_eq!(outbox.open_intent("asker", &fresh).await.unwrap(), None);
}
