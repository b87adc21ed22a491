//! Engine benchmarks, on SQLite (a file in WAL mode) and on PostgreSQL:
//!
//! 1. the raw baseline: single-row INSERT transactions per second through
//!    sqlx with the engine's own connection settings and `begin`;
//! 2. open-ticket and reply operations per second, each as a ratio to it,
//!    and the write-ahead log each writes (`*_log_kib`), which a commit
//!    waits to be on disk;
//! 3. p50 and p99 latency of "my active tickets, first page" with
//!    100 000 tickets stored;
//! 4. p50 and p99 latency of a full-text search with those tickets and
//!    1 000 000 messages stored: staff looking for a specific word (a
//!    product code), staff looking for two everyday words, and a customer
//!    looking for one everyday word among their own tickets.
//!
//! Run with `cargo bench -p threadesk-core`. Every figure is one line:
//! `BENCH <sqlite|postgres> <baseline|open|reply|list_p50_ms|list_p99_ms|search_p50_ms|search_p99_ms|…> <value> [ratio=<value>]`.
//! Knobs: `BENCH_OPS` (operations per throughput figure, default 2000),
//! `BENCH_TICKETS` (tickets stored for the list figure, default 100000),
//! `BENCH_MESSAGES` (messages stored for the search figure, default
//! 1000000), `BENCH_BACKENDS` (default `sqlite,postgres`),
//! `TEST_DATABASE_URL`.

use std::time::{Duration, Instant};
use threadesk_core::db::Db;
use threadesk_core::domain::{PageRequest, PlatformIdentity, View};
use threadesk_core::engine::{
    NewMessage, NewTicket, SearchQuery, SearchResult, TranscriptFormat, TranscriptKind,
};
use threadesk_core::testing::{harness_with, Kind};
use threadesk_core::time::Timestamp;
use threadesk_core::{Backend, Ctx, Engine, PersonId, Settings, TicketId};

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

/// Opens a ticket for `who`, as the bench's `i`th.
async fn open_one(engine: &Engine, who: PersonId, i: usize) -> TicketId {
    let input = NewTicket {
        subject: format!("bench ticket {i}"),
        body: "The VPN drops every hour.".into(),
        ..Default::default()
    };
    engine
        .open_ticket(&Ctx::new(who).with_key(format!("open-{i}")), input)
        .await
        .expect("open")
        .ticket
        .id
}

/// The bench's `i`th reply on a ticket and its requester: staff and
/// customer alternate, as a conversation does.
async fn reply_one(engine: &Engine, staff: PersonId, on: (TicketId, PersonId), i: usize) {
    let (ticket, requester) = on;
    let who = if i % 2 == 0 { staff } else { requester };
    let msg = NewMessage::text("a reply of ordinary length, about as long as people write");
    engine
        .reply(&Ctx::new(who).with_key(format!("reply-{i}")), ticket, msg)
        .await
        .expect("reply");
}

/// The write-ahead log one operation adds, in KiB, averaged over `n` runs
/// of `op` one after another (the volume a commit waits to be on disk).
/// SQLite: a checkpoint before each run lets the log start again, so the
/// frames in it after are that run's (a frame is a page and a 24-byte
/// header). PostgreSQL: how far the log's insert position moved.
async fn log_kib<F, Fut>(db: &Db, n: usize, mut op: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let bytes = match db.backend() {
        Backend::Sqlite => {
            let page: i64 = sqlx::query_scalar("pragma page_size")
                .fetch_one(db.pool())
                .await
                .expect("page size");
            let checkpoint = || async move {
                let (busy, frames, _): (i64, i64, i64) =
                    sqlx::query_as("pragma wal_checkpoint(passive)")
                        .fetch_one(db.pool())
                        .await
                        .expect("checkpoint");
                assert_eq!(busy, 0, "the checkpoint ran");
                frames
            };
            let mut frames = 0;
            for i in 0..n {
                checkpoint().await;
                op(i).await;
                frames += checkpoint().await;
            }
            (frames * (page + 24)) as f64
        }
        Backend::Postgres => {
            let at = || async move {
                sqlx::query_scalar::<_, f64>(
                    "select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::float8",
                )
                .fetch_one(db.pool())
                .await
                .expect("log position")
            };
            let start = at().await;
            for i in 0..n {
                op(i).await;
            }
            at().await - start
        }
    };
    bytes / n as f64 / 1024.0
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
                // counted per requester: every 200th ticket is `me`'s,
                // and 200 is a multiple of 5 (all of them were closed).
                let k = if requester == me.0 { i / 200 } else { i };
                let status = if k % 5 == 0 {
                    "closed"
                } else if k % 3 == 0 {
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

/// Everyday words: each message has ten of the 600 (so each word is in
/// about 1.7 % of messages, as "printer" or "invoice" are in a help desk).
fn everyday(i: u64) -> String {
    const STEMS: [&str; 60] = [
        "printer",
        "network",
        "invoice",
        "login",
        "password",
        "account",
        "email",
        "server",
        "update",
        "error",
        "screen",
        "laptop",
        "office",
        "meeting",
        "access",
        "report",
        "payment",
        "refund",
        "order",
        "delivery",
        "license",
        "backup",
        "folder",
        "share",
        "install",
        "restart",
        "crash",
        "slow",
        "browser",
        "mobile",
        "phone",
        "calendar",
        "contract",
        "address",
        "billing",
        "vpn",
        "wifi",
        "monitor",
        "keyboard",
        "mouse",
        "scanner",
        "toner",
        "paper",
        "drive",
        "cloud",
        "sync",
        "token",
        "certificate",
        "firewall",
        "proxy",
        "database",
        "export",
        "import",
        "upload",
        "download",
        "camera",
        "headset",
        "audio",
        "video",
        "sound",
    ];
    const ENDINGS: [&str; 10] = [
        "", "s", "ed", "ing", "er", "ly", "al", "ment", "ness", "ion",
    ];
    // whole words only: an ending never makes another word's prefix.
    format!(
        "{}{}x",
        STEMS[(i % 60) as usize],
        ENDINGS[(i / 60 % 10) as usize]
    )
}

/// How many everyday words there are.
const EVERYDAY: u64 = 600;

/// A small deterministic generator (no randomness crate for a bench).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Log-uniform in 1..=n: a few codes are everywhere, most are rare.
    fn code(&mut self, n: u64) -> u64 {
        let u = self.below(1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) as u64).clamp(1, n)
    }
}

/// Product codes `q<n>z`: 20 000 of them.
const CODES: u64 = 20_000;

/// Inserts messages given as SQL value rows, in one statement.
async fn insert_messages(tx: &mut threadesk_core::db::Tx, rows: &[String]) {
    sqlx::query(&format!(
        "insert into messages (ticket_id, author_id, author_role, internal, body, created_at) values {}",
        rows.join(", ")
    ))
    .execute(&mut **tx)
    .await
    .expect("messages");
}

/// Stores `total` messages over the seeded tickets (ten everyday words
/// and two product codes each), authored by the requester.
async fn seed_messages(db: &Db, total: usize) {
    let now = Timestamp::now().0;
    let mut rng = Lcg(42);
    let tickets: Vec<(i64, i64)> = sqlx::query_as(
        "select id, requester_id from tickets where subject like 'seeded ticket %' order by id",
    )
    .fetch_all(db.pool())
    .await
    .expect("tickets");
    let mut tx = db.begin().await.expect("begin");
    for chunk in (0..total).collect::<Vec<_>>().chunks(1_000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|&i| {
                let (ticket, author) = tickets[i % tickets.len()];
                let mut words: Vec<String> =
                    (0..10).map(|_| everyday(rng.below(EVERYDAY))).collect();
                words.push(format!("q{}z", rng.code(CODES)));
                words.push(format!("q{}z", rng.code(CODES)));
                let internal = i64::from(i % 10 == 9);
                let role = if internal == 1 { "staff" } else { "requester" };
                format!(
                    "({ticket}, {author}, '{role}', {internal}, '{}', {})",
                    words.join(" "),
                    now - (total - i) as i64
                )
            })
            .collect();
        insert_messages(&mut tx, &rows).await;
    }
    tx.commit().await.expect("commit");
    sqlx::query("analyze")
        .execute(db.pool())
        .await
        .expect("analyze");
}

/// p50 and p99 of searches: staff for a product code, staff for two
/// everyday words, a customer for one everyday word; printed per kind
/// and over all of them.
async fn search_figures(
    name: &str,
    engine: &threadesk_core::Engine,
    staff: PersonId,
    me: PersonId,
) {
    let mut rng = Lcg(7);
    let mut all = Vec::new();
    let kinds: [(&str, PersonId); 3] = [("code", staff), ("two_words", staff), ("customer", me)];
    for (kind, who) in kinds {
        let mut samples = Vec::new();
        let mut hits = 0usize;
        let start = Instant::now();
        while samples.len() < 200 && start.elapsed() < PHASE_LIMIT {
            let words = match kind {
                "code" => format!("q{}z", 1 + rng.below(CODES)),
                "two_words" => format!(
                    "{} {}",
                    everyday(rng.below(EVERYDAY)),
                    everyday(rng.below(EVERYDAY))
                ),
                _ => everyday(rng.below(EVERYDAY)),
            };
            let t0 = Instant::now();
            let found = engine
                .search(who, &SearchQuery::words(words), None, 25)
                .await
                .expect("search");
            samples.push(t0.elapsed().as_secs_f64() * 1000.0);
            if let SearchResult::Hits(page) = found {
                hits += page.items.len();
            }
        }
        assert!(hits > 0, "{kind}: searches found nothing");
        all.extend_from_slice(&samples);
        samples.sort_by(|a, b| a.total_cmp(b));
        println!(
            "BENCH {name} search_{kind}_p50_ms {:.3}",
            percentile(&samples, 0.50)
        );
        println!(
            "BENCH {name} search_{kind}_p99_ms {:.3}",
            percentile(&samples, 0.99)
        );
    }
    all.sort_by(|a, b| a.total_cmp(b));
    println!("BENCH {name} search_p50_ms {:.3}", percentile(&all, 0.50));
    println!("BENCH {name} search_p99_ms {:.3}", percentile(&all, 0.99));
}

/// The resident memory of this process, in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Exports tickets of 1,000 and 10,000 messages as full HTML transcripts:
/// the time, the size, and how far resident memory rose while writing
/// (the file goes nowhere: it is counted, as a download would stream it).
async fn transcript_figures(
    name: &str,
    db: &Db,
    engine: &threadesk_core::Engine,
    staff: PersonId,
    me: PersonId,
) {
    let mut times = Vec::new();
    let mut page_times = Vec::new();
    for n in [1_000usize, 10_000] {
        let opened = engine
            .open_ticket(
                &Ctx::new(me),
                NewTicket {
                    subject: format!("long ticket {n}"),
                    body: "It started small.".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("open");
        let ticket = opened.ticket.id;
        let now = Timestamp::now().0;
        let mut rng = Lcg(n as u64);
        let mut tx = db.begin().await.expect("begin");
        for chunk in (1..n).collect::<Vec<_>>().chunks(500) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|&i| {
                    let (author, role) = if i % 2 == 0 {
                        (staff, "staff")
                    } else {
                        (me, "requester")
                    };
                    let words: Vec<String> =
                        (0..30).map(|_| everyday(rng.below(EVERYDAY))).collect();
                    format!(
                        "({}, {}, '{role}', {}, '{}', {})",
                        ticket.0,
                        author.0,
                        i64::from(i % 10 == 9),
                        words.join(" "),
                        now + i as i64
                    )
                })
                .collect();
            insert_messages(&mut tx, &rows).await;
        }
        tx.commit().await.expect("commit");
        let before = rss_kib();
        let mut peak = before;
        let start = Instant::now();
        let mut transcript = engine
            .transcript(
                staff,
                ticket,
                TranscriptKind::Full,
                TranscriptFormat::Html,
                "https://help.example",
            )
            .await
            .expect("transcript");
        let mut bytes = 0usize;
        while let Some(chunk) = transcript.next_chunk().await.expect("chunk") {
            bytes += chunk.len();
            peak = peak.max(rss_kib());
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        times.push(ms);
        // the portal's ticket page reads the latest page of the thread:
        // its cost should not grow with the ticket.
        let mut samples = Vec::new();
        for _ in 0..50 {
            let t0 = Instant::now();
            let page = engine.thread_page(staff, ticket, None).await.expect("page");
            samples.push(t0.elapsed().as_secs_f64() * 1000.0);
            assert!(page.earlier);
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        let page_ms = percentile(&samples, 0.50);
        page_times.push(page_ms);
        println!("BENCH {name} thread_page_{n}_p50_ms {page_ms:.3}");
        println!("BENCH {name} transcript_{n}_ms {ms:.1}");
        println!("BENCH {name} transcript_{n}_kib {}", bytes / 1024);
        println!(
            "BENCH {name} transcript_{n}_rss_growth_kib {}",
            peak.saturating_sub(before)
        );
    }
    // ten times the messages: ten times the time, not more.
    println!(
        "BENCH {name} transcript_10k_vs_1k ratio={:.2}",
        times[1] / times[0]
    );
    // and the same page time.
    println!(
        "BENCH {name} thread_page_10k_vs_1k ratio={:.2}",
        page_times[1] / page_times[0]
    );
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
                let t = open_one(engine, who, i).await;
                opened.borrow_mut().push((t, who));
            }
        })
        .await;
        let targets = opened.borrow().clone();
        timed(&mut reply_meter, first, per_round, limit, |i| {
            reply_one(&engine, staff, targets[i % targets.len()], i)
        })
        .await;
    }
    let base = base.rate();
    println!("BENCH {name} baseline {base:.1}");
    for (what, meter) in [("open", &open_meter), ("reply", &reply_meter)] {
        let rate = meter.rate();
        println!("BENCH {name} {what} {rate:.1} ratio={:.2}", rate / base);
    }
    // what each writes to the log, which a commit waits to be on disk.
    let n = 200;
    let base_log = log_kib(&db, n, |i| baseline_insert(&db, 3_000_000 + i)).await;
    println!("BENCH {name} baseline_log_kib {base_log:.1}");
    let open_log = log_kib(&db, n, |i| {
        let (engine, who) = (&engine, requesters[i % requesters.len()]);
        async move {
            open_one(engine, who, 1_000_000 + i).await;
        }
    })
    .await;
    println!(
        "BENCH {name} open_log_kib {open_log:.1} ratio={:.2}",
        open_log / base_log
    );
    let targets = opened.borrow().clone();
    let reply_log = log_kib(&db, n, |i| {
        reply_one(&engine, staff, targets[i % targets.len()], 1_000_000 + i)
    })
    .await;
    println!(
        "BENCH {name} reply_log_kib {reply_log:.1} ratio={:.2}",
        reply_log / base_log
    );

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

    // the long tickets are somebody else's: the customer's search below
    // walks the customer's own messages.
    transcript_figures(name, &db, &engine, staff, requesters[0]).await;

    let messages = env_usize("BENCH_MESSAGES", 1_000_000);
    let seeding = Instant::now();
    seed_messages(&db, messages).await;
    // into the search indexes, as a running server's indexer puts them
    // (SQLite indexes in batches after the writes).
    engine.index_new_words().await.expect("indexed");
    eprintln!(
        "{name}: {messages} messages stored and indexed in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    search_figures(name, &engine, staff, me).await;

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
