//! Engine benchmarks, on SQLite (a file in WAL mode) and on PostgreSQL:
//!
//! 1. the raw baseline: single-row INSERT transactions per second through
//!    sqlx with the engine's own connection settings and `begin`;
//! 2. open-ticket and reply operations per second, each as a ratio to it;
//! 3. p50 and p99 latency of "my active tickets, first page" with
//!    100 000 tickets stored.
//!
//! Run with `cargo bench -p threadesk-core`. Every figure is one line:
//! `BENCH <sqlite|postgres> <baseline|open|reply|list_p50_ms|list_p99_ms> <value> [ratio=<value>]`.
//! Knobs: `BENCH_OPS` (operations per throughput figure, default 2000),
//! `BENCH_TICKETS` (tickets stored for the list figure, default 100000),
//! `BENCH_BACKENDS` (default `sqlite,postgres`), `TEST_DATABASE_URL`.

use std::time::{Duration, Instant};
use threadesk_core::db::Db;
use threadesk_core::domain::{PageRequest, PlatformIdentity, View};
use threadesk_core::engine::{NewMessage, NewTicket};
use threadesk_core::testing::{harness_with, Kind};
use threadesk_core::time::Timestamp;
use threadesk_core::{Backend, Ctx, PersonId, Settings, TicketId};

/// No phase runs longer than this, whatever `BENCH_OPS` says.
const PHASE_LIMIT: Duration = Duration::from_secs(30);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `op(first)`, `op(first + 1)`, … `n` times (or until the phase
/// limit), and adds the count and the time to `meter`.
async fn timed<F, Fut>(meter: &mut Meter, first: usize, n: usize, limit: Duration, mut op: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    let mut done = 0;
    while done < n && start.elapsed() < limit {
        op(first + done).await;
        done += 1;
    }
    meter.ops += done;
    meter.secs += start.elapsed().as_secs_f64();
}

/// Operations and the time they took, summed over rounds.
#[derive(Default)]
struct Meter {
    ops: usize,
    secs: f64,
}

impl Meter {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
}

/// The baseline and the engine operations are measured in interleaved
/// rounds, so that drift in the machine's speed (other load, the disk's
/// state) weighs on all of them alike.
const ROUNDS: usize = 5;

async fn create_baseline_table(db: &Db) {
    sqlx::query("create table bench_baseline (id bigint primary key, body text not null, created_at bigint not null)")
        .execute(db.pool())
        .await
        .expect("baseline table");
}

/// One raw single-row INSERT transaction.
async fn baseline_insert(db: &Db, i: usize) {
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("insert into bench_baseline (id, body, created_at) values ($1, $2, $3)")
        .bind(i as i64)
        .bind("a reply of ordinary length, about as long as people write")
        .bind(Timestamp::now().0)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
}

/// Stores `total` tickets among 2 000 requesters with plain multi-row
/// inserts; `me` requests 500 of them (a fifth closed) and 50 more are
/// shared with `me` as an accepted delegate.
async fn seed(db: &Db, me: PersonId, total: usize) {
    let people = 2_000usize;
    let now = Timestamp::now().0;
    let mut tx = db.begin().await.expect("begin");
    for chunk in (0..people).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| format!("('seeded {i}', {now})"))
            .collect();
        sqlx::query(&format!(
            "insert into people (display_name, created_at) values {}",
            rows.join(", ")
        ))
        .execute(&mut *tx)
        .await
        .expect("people");
    }
    let first_person: i64 =
        sqlx::query_scalar("select min(id) from people where display_name like 'seeded %'")
            .fetch_one(&mut *tx)
            .await
            .expect("first person");
    for chunk in (0..total).collect::<Vec<_>>().chunks(1_000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|&i| {
                let requester = if i % 200 == 0 {
                    me.0
                } else {
                    first_person + (i % people) as i64
                };
                let status = if i % 5 == 0 {
                    "closed"
                } else if i % 3 == 0 {
                    "awaiting_client"
                } else {
                    "open"
                };
                let at = now - (total - i) as i64 * 1_000;
                format!(
                    "({}, 'seeded ticket {i}', {requester}, '{status}', {at}, {at})",
                    500_000 + i
                )
            })
            .collect();
        sqlx::query(&format!(
            "insert into tickets (number, subject, requester_id, status, created_at, last_activity_at) values {}",
            rows.join(", ")
        ))
        .execute(&mut *tx)
        .await
        .expect("tickets");
    }
    sqlx::query(&format!(
        "insert into delegates (ticket_id, person_id, status, invited_by, created_at, updated_at) \
         select id, {me}, 'accepted', requester_id, {now}, {now} from tickets \
         where requester_id <> {me} and number % 2000 = 1 and number < 600000",
        me = me.0
    ))
    .execute(&mut *tx)
    .await
    .expect("delegations");
    tx.commit().await.expect("commit");
    sqlx::query("analyze")
        .execute(db.pool())
        .await
        .expect("analyze");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn run(backend: Backend) {
    let name = backend.name();
    let ops = env_usize("BENCH_OPS", 2_000);
    let tickets = env_usize("BENCH_TICKETS", 100_000);
    let settings = Settings {
        max_open_tickets_per_requester: u32::MAX,
        ..Default::default()
    };
    // a fresh database (an SQLite file, or a PostgreSQL schema dropped when
    // the harness is), as the test suite gets.
    let kind = match backend {
        Backend::Sqlite => Kind::Sqlite,
        Backend::Postgres => Kind::Postgres,
    };
    let harness = harness_with(kind, settings, 4).await;
    let engine = harness.engine.clone();
    let db = engine.db().clone();
    let staff = engine
        .ensure_person(&PlatformIdentity::web("bench-staff"), "Bench Staff")
        .await
        .expect("staff")
        .id;
    engine.bootstrap_staff(staff, true).await.expect("staff");
    let mut requesters = Vec::new();
    for i in 0..20 {
        requesters.push(
            engine
                .ensure_person(&PlatformIdentity::web(format!("bench-{i}")), "Bench")
                .await
                .expect("person")
                .id,
        );
    }
    create_baseline_table(&db).await;
    // warm the pools and the statement caches.
    for i in 0..50 {
        baseline_insert(&db, 1_000_000 + i).await;
    }

    let per_round = ops.div_ceil(ROUNDS);
    let limit = PHASE_LIMIT / ROUNDS as u32;
    let (mut base, mut open_meter, mut reply_meter) =
        (Meter::default(), Meter::default(), Meter::default());
    let opened = std::cell::RefCell::new(Vec::<(TicketId, PersonId)>::new());
    for round in 0..ROUNDS {
        let first = round * per_round;
        timed(&mut base, first, per_round, limit, |i| {
            baseline_insert(&db, i)
        })
        .await;
        timed(&mut open_meter, first, per_round, limit, |i| {
            let (engine, who, opened) = (&engine, requesters[i % requesters.len()], &opened);
            async move {
                let input = NewTicket {
                    subject: format!("bench ticket {i}"),
                    body: "The VPN drops every hour.".into(),
                    ..Default::default()
                };
                let t = engine
                    .open_ticket(&Ctx::new(who).with_key(format!("open-{i}")), input)
                    .await
                    .expect("open");
                opened.borrow_mut().push((t.ticket.id, who));
            }
        })
        .await;
        let targets = opened.borrow().clone();
        timed(&mut reply_meter, first, per_round, limit, |i| {
            let (engine, (ticket, requester)) = (&engine, targets[i % targets.len()]);
            // alternate customer and staff, as a conversation does.
            let who = if i % 2 == 0 { staff } else { requester };
            async move {
                let msg =
                    NewMessage::text("a reply of ordinary length, about as long as people write");
                engine
                    .reply(&Ctx::new(who).with_key(format!("reply-{i}")), ticket, msg)
                    .await
                    .expect("reply");
            }
        })
        .await;
    }
    let base = base.rate();
    println!("BENCH {name} baseline {base:.1}");
    for (what, meter) in [("open", &open_meter), ("reply", &reply_meter)] {
        let rate = meter.rate();
        println!("BENCH {name} {what} {rate:.1} ratio={:.2}", rate / base);
    }

    let me = engine
        .ensure_person(&PlatformIdentity::web("bench-me"), "Me")
        .await
        .expect("me")
        .id;
    seed(&db, me, tickets).await;
    let stored: i64 = sqlx::query_scalar("select count(*) from tickets")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert!(stored >= tickets as i64, "seeded {stored} tickets");
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 2_000 && start.elapsed() < PHASE_LIMIT {
        let t0 = Instant::now();
        let page = engine
            .my_tickets(me, PageRequest::first(View::Active))
            .await
            .expect("list");
        samples.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.items.len(), 25);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    println!("BENCH {name} list_p50_ms {:.3}", percentile(&samples, 0.50));
    println!("BENCH {name} list_p99_ms {:.3}", percentile(&samples, 0.99));

    drop(harness);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing
    // useful and should not run the long figures.
    if !std::env::args().any(|a| a == "--bench") {
        println!("engine bench: run with `cargo bench -p threadesk-core`");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let wanted = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if wanted.split(',').any(|w| w.trim() == backend.name()) {
            rt.block_on(run(backend));
        }
    }
}
