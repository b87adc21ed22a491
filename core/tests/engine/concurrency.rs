//! Concurrency: racing writers lose nothing, racing opens never share a
//! number, and competing outbox workers never hold the same event.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use threadesk_core::engine::NewMessage;
use threadesk_core::outbox::Outbox;
use threadesk_core::{Ctx, Settings};

const WRITERS: usize = 8;
const EACH: usize = 10;

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_racing_on_one_ticket_never_lose_an_update(#[case] kind: Kind) {
    let h = Arc::new(harness_with(kind, Settings::default(), 8).await);
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "busy").await.ticket;
    // on an SQLite file, writers waiting for the one writer share commits.
    let before = h.engine.db().commit_stats();
    assert_eq!(before.is_some(), matches!(kind, Kind::Sqlite));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let h = h.clone();
        let who = if w % 2 == 0 { ann } else { sam };
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                h.engine
                    .reply(&Ctx::new(who), t.id, NewMessage::text(format!("w{w} m{i}")))
                    .await
                    .expect("reply commits");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    if let (Some(before), Some(after)) = (before, h.engine.db().commit_stats()) {
        let txs = after.transactions - before.transactions;
        let commits = after.commits - before.commits;
        assert!(txs >= (WRITERS * EACH) as u64, "{txs} transactions");
        assert!(
            commits < txs,
            "{txs} transactions waiting on each other took {commits} commits"
        );
    }
    let thread = h.engine.thread(sam, t.id).await.unwrap();
    assert_eq!(thread.messages.len(), 1 + WRITERS * EACH);
    let bodies: HashSet<&str> = thread.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies.len(), 1 + WRITERS * EACH, "every reply kept");
    let version: i64 = sqlx::query_scalar("select version from tickets where id = $1")
        .bind(t.id.0)
        .fetch_one(h.engine.db().pool())
        .await
        .unwrap();
    assert_eq!(
        version,
        (WRITERS * EACH) as i64,
        "every update applied on top of the last"
    );
    let events: i64 = sqlx::query_scalar("select count(*) from outbox_events where ticket_id = $1")
        .bind(t.id.0)
        .fetch_one(h.engine.db().pool())
        .await
        .unwrap();
    assert_eq!(events, 1 + (WRITERS * EACH) as i64);
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_opens_never_share_a_ticket_number(#[case] kind: Kind) {
    let h = Arc::new(harness_with(kind, Settings::default(), 8).await);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let who = h.person(&format!("P{w}")).await;
            let mut numbers = Vec::new();
            for i in 0..EACH {
                numbers.push(h.open(who, &format!("w{w} t{i}")).await.ticket.number.0);
            }
            numbers
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), WRITERS * EACH, "no number twice");
    let (lo, hi) = (*unique.iter().min().unwrap(), *unique.iter().max().unwrap());
    assert_eq!(
        (lo, hi),
        (1001, 1000 + (WRITERS * EACH) as i64),
        "numbers are gapless"
    );
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn competing_outbox_workers_never_handle_the_same_event(#[case] kind: Kind) {
    let h = Arc::new(
        harness_with(
            kind,
            Settings {
                max_open_tickets_per_requester: 1000,
                ..Default::default()
            },
            8,
        )
        .await,
    );
    let ann = h.person("Ann").await;
    let outbox = Outbox::new(h.engine.db().clone());
    outbox.register("surface").await.unwrap();
    let mut tickets = Vec::new();
    for i in 0..6 {
        let t = h.open(ann, &format!("t{i}")).await.ticket;
        for j in 0..4 {
            h.reply(ann, t.id, &format!("r{j}")).await.unwrap();
        }
        tickets.push(t.id);
    }
    let total = 6 * 5;
    let handled: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (outbox, handled) = (outbox.clone(), handled.clone());
        workers.push(tokio::spawn(async move {
            // bounded: a worker stops after enough empty polls.
            let mut idle = 0;
            while idle < 20 {
                let batch = outbox
                    .claim("surface", 3, Duration::from_secs(60))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                idle = 0;
                for d in batch {
                    handled
                        .lock()
                        .unwrap()
                        .push((d.event.ticket_id.unwrap().0, d.event.id.0));
                    outbox.ack("surface", d.event.id).await.unwrap();
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let handled = handled.lock().unwrap().clone();
    assert_eq!(handled.len(), total, "each event handled exactly once");
    let ids: HashSet<i64> = handled.iter().map(|(_, e)| *e).collect();
    assert_eq!(ids.len(), total);
    let mut per_ticket: HashMap<i64, Vec<i64>> = HashMap::new();
    for (t, e) in handled {
        per_ticket.entry(t).or_default().push(e);
    }
    for (t, events) in per_ticket {
        let mut sorted = events.clone();
        sorted.sort();
        assert_eq!(events, sorted, "ticket {t}: handled in order");
    }
    assert_eq!(outbox.lag("surface").await.unwrap().pending, 0);
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivered_event_racing_itself_acts_once(#[case] kind: Kind) {
    let h = Arc::new(harness_with(kind, Settings::default(), 8).await);
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    let events = h.events().await;
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = Ctx::new(ann).with_key("discord:interaction:1234");
            h.engine
                .reply(&ctx, t.id, NewMessage::text("sent once"))
                .await
                .expect("same answer for every copy")
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "every copy gets the first result"
    );
    assert_eq!(h.events().await, events + 1);
    assert_eq!(h.engine.thread(ann, t.id).await.unwrap().messages.len(), 2);
}

/// Waits until `n` writes wait for the writer.
async fn queued(db: &threadesk_core::Db, n: usize) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while db.commit_stats().unwrap().waiting < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the writes queue for the writer");
}

/// An SQLite engine with a scratch table, and a transaction that holds
/// the writer with one row written (`first`).
async fn first_in_group() -> (
    Harness,
    threadesk_core::Db,
    threadesk_core::writer::CommitStats,
    threadesk_core::db::Tx,
) {
    let h = harness_with(Kind::Sqlite, Settings::default(), 4).await;
    sqlx::query("create table scratch (id integer primary key, what text not null)")
        .execute(h.engine.db().pool())
        .await
        .unwrap();
    let db = h.engine.db().clone();
    let before = db.commit_stats().unwrap();
    let mut first = db.begin().await.unwrap();
    sqlx::query("insert into scratch values (1, 'first')")
        .execute(&mut *first)
        .await
        .unwrap();
    (h, db, before, first)
}

async fn scratch(h: &Harness) -> Vec<String> {
    sqlx::query_scalar("select what from scratch order by id")
        .fetch_all(h.engine.db().pool())
        .await
        .unwrap()
}

/// A transaction that fails inside a group (here on a real constraint,
/// after a write of its own) takes back its own writes only; the one it
/// shared the group with is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_transaction_in_a_group_undoes_only_its_own_writes() {
    let (h, db, before, first) = first_in_group().await;
    // the second waits for the writer while the first holds it.
    let second = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            sqlx::query("insert into scratch values (2, 'second')")
                .execute(&mut *tx)
                .await
                .unwrap();
            let clash = sqlx::query("insert into scratch values (1, 'clash')")
                .execute(&mut *tx)
                .await;
            assert!(clash.is_err(), "the primary key refuses it");
            tx.rollback().await.unwrap();
        }
    });
    queued(&db, 1).await;
    first.commit().await.expect("the first is committed");
    second.await.unwrap();
    assert_eq!(scratch(&h).await, vec!["first".to_owned()]);
    let after = db.commit_stats().unwrap();
    assert_eq!(after.transactions - before.transactions, 2);
    assert_eq!(after.commits - before.commits, 1, "one commit for both");
}

/// A transaction dropped halfway (its request was) while in a group: its
/// writes are undone and the group still commits the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_transaction_in_a_group_leaves_nothing_and_holds_nobody_up() {
    let (h, db, _, first) = first_in_group().await;
    let (wrote, written) = tokio::sync::oneshot::channel();
    let dropped = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            sqlx::query("insert into scratch values (2, 'dropped')")
                .execute(&mut *tx)
                .await
                .unwrap();
            wrote.send(()).unwrap();
            // never commits: the task is aborted here.
            std::future::pending::<()>().await;
        }
    });
    queued(&db, 1).await;
    let committed = tokio::spawn(first.commit());
    written.await.unwrap();
    dropped.abort();
    tokio::time::timeout(Duration::from_secs(10), committed)
        .await
        .expect("the group commits without the dropped one")
        .unwrap()
        .expect("committed");
    // and the writer is free again.
    let mut next = db.begin().await.unwrap();
    sqlx::query("insert into scratch values (3, 'next')")
        .execute(&mut *next)
        .await
        .unwrap();
    next.commit().await.unwrap();
    assert_eq!(
        scratch(&h).await,
        vec!["first".to_owned(), "next".to_owned()]
    );
}

/// Single-statement writes waiting for the writer join the open group too
/// (no savepoint: SQLite undoes a failed statement by itself), and one
/// refused by a constraint costs the others nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_writes_join_the_group_and_a_refused_one_costs_nobody() {
    let (h, db, before, first) = first_in_group().await;
    let write = |id: i64, what: &'static str| {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(
                sqlx::query("insert into scratch values ($1, $2)")
                    .bind(id)
                    .bind(what),
            )
            .await
            .map(|done| done.rows_affected())
        })
    };
    let clash = write(1, "clash");
    queued(&db, 1).await;
    let second = write(2, "second");
    queued(&db, 2).await;
    first.commit().await.expect("the first is committed");
    assert!(clash.await.unwrap().is_err(), "the primary key refuses it");
    assert_eq!(second.await.unwrap().expect("written"), 1);
    assert_eq!(
        scratch(&h).await,
        vec!["first".to_owned(), "second".to_owned()]
    );
    let after = db.commit_stats().unwrap();
    assert_eq!(after.transactions - before.transactions, 3);
    assert_eq!(
        after.commits - before.commits,
        1,
        "one commit for all three"
    );
    // alone, a write commits by itself.
    db.write(sqlx::query("insert into scratch values (3, 'alone')"))
        .await
        .unwrap();
    assert_eq!(db.commit_stats().unwrap().commits - after.commits, 1);
    assert_eq!(scratch(&h).await.len(), 3);
}

/// An urgent transaction (a chat request stored before it is acknowledged)
/// is handed the writer before the writes queued ahead of it, and commits
/// without waiting for them: here the write queued first holds the writer
/// until it is let go, so an urgent transaction taking its turn in the
/// queue, or leaving its group open for it, would never finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_urgent_transaction_goes_first_and_commits_without_the_queue() {
    let (h, db, before, first) = first_in_group().await;
    let (let_go, held) = tokio::sync::oneshot::channel::<()>();
    let queued_first = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            sqlx::query("insert into scratch (what) values ('queued')")
                .execute(&mut *tx)
                .await
                .unwrap();
            held.await.unwrap();
            tx.commit().await.unwrap();
        }
    });
    queued(&db, 1).await;
    let urgent = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin_urgent().await.unwrap();
            sqlx::query("insert into scratch (what) values ('urgent')")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    });
    queued(&db, 2).await;
    let first = tokio::spawn(first.commit());
    tokio::time::timeout(Duration::from_secs(10), urgent)
        .await
        .expect("the urgent one is committed while the queue waits")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .expect("the group it joined is committed with it")
        .unwrap()
        .unwrap();
    assert_eq!(
        scratch(&h).await,
        vec!["first".to_owned(), "urgent".to_owned()],
        "committed: the one holding the writer and the urgent one"
    );
    let_go.send(()).unwrap();
    queued_first.await.unwrap();
    assert_eq!(
        scratch(&h).await,
        vec!["first".to_owned(), "urgent".to_owned(), "queued".to_owned()]
    );
    let after = db.commit_stats().unwrap();
    assert_eq!(after.transactions - before.transactions, 3);
    assert_eq!(after.commits - before.commits, 2);
}

/// A read transaction dropped halfway (its request was) hands its
/// connection back rolled back: the next reader on it sees what was
/// written since, not the old snapshot.
#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_read_transaction_leaves_no_old_snapshot_behind(#[case] kind: Kind) {
    // one reading connection, so the next read gets the same one.
    let h = harness_with(kind, Settings::default(), 1).await;
    let ann = h.person("Ann").await;
    let count = "select count(*) from tickets";
    let mut snapshot = h.engine.db().pool().begin().await.unwrap();
    let before: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut *snapshot)
        .await
        .unwrap();
    drop(snapshot);
    h.open(ann, "after the snapshot").await;
    let now: i64 = sqlx::query_scalar(count)
        .fetch_one(h.engine.db().pool())
        .await
        .unwrap();
    assert_eq!(now, before + 1);
    // and a connection taken for several statements goes back too.
    let held = h.engine.db().pool().acquire().await.unwrap();
    drop(held);
    let again: i64 = sqlx::query_scalar(count)
        .fetch_one(h.engine.db().pool())
        .await
        .unwrap();
    assert_eq!(again, now);
}

/// The arguments of a query, as the engine hands them to
/// `begin_fetching` and `commit_executing`.
fn args<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::any::AnyArguments<'q> {
    threadesk_core::db::arguments(query).unwrap()
}

/// Alone, a transaction begun with its read and ended with its write (the
/// opening and the read in one round trip, the write and the commit in
/// another) reads inside the transaction and commits once; a write that
/// fails undoes the whole transaction and leaves the writer free.
#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_begun_with_its_read_and_ended_with_its_write(#[case] kind: Kind) {
    let h = harness_with(kind, Settings::default(), 4).await;
    let db = h.engine.db().clone();
    sqlx::query("create table scratch (id bigint primary key, what text not null)")
        .execute(db.pool())
        .await
        .unwrap();
    let before = db.commit_stats();
    let next = "select coalesce(max(id), 0) + 1 as next, $1 as asked from scratch";
    let (tx, row) = db
        .begin_fetching(next, args(sqlx::query("").bind("one")))
        .await
        .unwrap();
    let row = row.expect("the read's row");
    let id: i64 = sqlx::Row::get(&row, "next");
    let asked: String = sqlx::Row::get(&row, "asked");
    assert_eq!((id, asked.as_str()), (1, "one"));
    let done = tx
        .commit_executing(
            "insert into scratch values ($1, $2), ($3, $2)",
            args(sqlx::query("").bind(id).bind("written").bind(id + 1)),
        )
        .await
        .expect("written and committed");
    assert_eq!(done.rows_affected(), 2, "both statements ran");
    assert_eq!(scratch(&h).await, vec!["written", "written"]);
    if let (Some(before), Some(after)) = (before, db.commit_stats()) {
        assert_eq!(after.transactions - before.transactions, 1);
        assert_eq!(after.commits - before.commits, 1);
    }

    // the write clashes after writing a row of its own, in a statement
    // before it (SQLite: several statements in one query) or in the same.
    let (mut tx, _) = db
        .begin_fetching(next, args(sqlx::query("").bind("two")))
        .await
        .unwrap();
    let clash = match kind {
        Kind::Sqlite => "insert into scratch values (10, $1); insert into scratch values (1, $1)",
        Kind::Postgres => "insert into scratch values (10, $1), (1, $1)",
    };
    sqlx::query("insert into scratch values (11, 'before')")
        .execute(&mut *tx)
        .await
        .unwrap();
    let clash = tx
        .commit_executing(clash, args(sqlx::query("").bind("clash")))
        .await;
    assert!(clash.is_err(), "the primary key refuses it");
    assert_eq!(scratch(&h).await.len(), 2, "nothing of it stays");
    // and the writer is free.
    let mut tx = db.begin().await.unwrap();
    sqlx::query("insert into scratch values (3, 'next')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(scratch(&h).await.len(), 3);
}

/// In a group, a transaction begun with its read opens a savepoint, reads
/// what the group wrote before it, and ends inside the group's one commit;
/// when its write fails only its own writes are undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_begun_with_its_read_in_a_group_shares_the_commit() {
    let (h, db, before, first) = first_in_group().await;
    let joined = |what: &'static str, clash: bool| {
        let db = db.clone();
        tokio::spawn(async move {
            let (tx, row) = db
                .begin_fetching(
                    "select coalesce(max(id), 0) + 1 as next from scratch",
                    args(sqlx::query("")),
                )
                .await
                .unwrap();
            let id: i64 = sqlx::Row::get(&row.unwrap(), "next");
            let sql = if clash {
                "insert into scratch values ($1, $2); insert into scratch values (1, $2)"
            } else {
                "insert into scratch values ($1, $2)"
            };
            tx.commit_executing(sql, args(sqlx::query("").bind(id).bind(what)))
                .await
                .map(|_| id)
        })
    };
    let refused = joined("refused", true);
    queued(&db, 1).await;
    let second = joined("second", false);
    queued(&db, 2).await;
    first.commit().await.expect("the first is committed");
    assert!(
        refused.await.unwrap().is_err(),
        "the primary key refuses it"
    );
    assert_eq!(
        second.await.unwrap().expect("written"),
        2,
        "it read the first one's row, written in the same transaction"
    );
    assert_eq!(scratch(&h).await, vec!["first", "second"]);
    let after = db.commit_stats().unwrap();
    assert_eq!(after.transactions - before.transactions, 3);
    assert_eq!(
        after.commits - before.commits,
        1,
        "one commit for all three"
    );
}

/// A read that fails in a group (here on a table that is not there) may
/// have opened its savepoint or not: the group is undone and everyone in it
/// told, rather than undoing to a savepoint that may be another's; the
/// writer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_read_at_the_opening_fails_its_group_and_frees_the_writer() {
    let (h, db, _, first) = first_in_group().await;
    let failed = tokio::spawn({
        let db = db.clone();
        async move {
            db.begin_fetching("select * from no_such_table", args(sqlx::query("")))
                .await
                .map(drop)
        }
    });
    queued(&db, 1).await;
    let committed = tokio::spawn(first.commit());
    assert!(failed.await.unwrap().is_err());
    assert!(
        tokio::time::timeout(Duration::from_secs(10), committed)
            .await
            .expect("told")
            .unwrap()
            .is_err(),
        "the group it was in is not committed"
    );
    assert!(scratch(&h).await.is_empty());
    // alone, the same failure leaves nothing open either.
    assert!(db
        .begin_fetching("select * from no_such_table", args(sqlx::query("")))
        .await
        .is_err());
    let mut tx = db.begin().await.unwrap();
    sqlx::query("insert into scratch values (2, 'after')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(scratch(&h).await, vec!["after"]);
}

/// Polls `work` once (far enough to hand its query to the connection's
/// thread), then drops it, as a request dropped halfway is.
async fn once_then_dropped<T>(work: impl std::future::Future<Output = T>) {
    tokio::select! {
        biased;
        _ = work => {}
        () = std::future::ready(()) => {}
    }
}

/// Dropped halfway (its request was), a transaction begun with its read,
/// or ended with its write and commit, leaves nothing half done: whoever
/// takes the writer next finds no transaction left open, and each write
/// is there whole or not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_dropped_at_its_read_or_its_write_leaves_nothing_half_done() {
    let h = harness_with(Kind::Sqlite, Settings::default(), 4).await;
    let db = h.engine.db().clone();
    sqlx::query("create table scratch (id integer primary key, what text not null)")
        .execute(db.pool())
        .await
        .unwrap();
    let count = "select count(*) as n from scratch";
    const ROUNDS: i64 = 20;
    for round in 0..ROUNDS {
        // dropped while its opening and its read are with the writer.
        once_then_dropped(db.begin_fetching(count, args(sqlx::query("")))).await;
        // dropped while its two writes and the commit are.
        let (tx, _) = db
            .begin_fetching(count, args(sqlx::query("")))
            .await
            .expect("the writer is free again");
        once_then_dropped(tx.commit_executing(
            "insert into scratch values ($1, 'a'); insert into scratch values ($2, 'b')",
            args(sqlx::query("").bind(round * 2).bind(round * 2 + 1)),
        ))
        .await;
        let mut tx = db.begin().await.expect("nothing left open");
        sqlx::query("insert into scratch values ($1, 'next')")
            .bind(1000 + round)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.expect("committed");
    }
    let ids: Vec<i64> = sqlx::query_scalar("select id from scratch order by id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    for round in 0..ROUNDS {
        let pair = ids
            .iter()
            .filter(|&&id| id == round * 2 || id == round * 2 + 1)
            .count();
        assert!(pair == 0 || pair == 2, "round {round}: {ids:?}");
        assert!(ids.contains(&(1000 + round)), "round {round}: {ids:?}");
    }
}
