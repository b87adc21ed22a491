//! The load driver. It starts `threadesk` on a fresh database (SQLite, or
//! a new PostgreSQL schema) and drives it through its front doors:
//!
//! - **the portal**, as a browser does: a session per client (the local
//!   sign-in), then each operation GETs its form (CSRF token, request id)
//!   and POSTs it;
//! - **chat**: Slack commands and modal submissions signed with the app's
//!   signing secret, Discord interactions signed with Ed25519, from
//!   `--chat` people at once while 8 portal clients keep writing, with a
//!   fake Slack and a fake Discord receiving what the outbox sends;
//! - **a soak** (`--soak N`): N engine events (opens, replies, closes over
//!   N/100 tickets) through the portal with the outbox delivering to the
//!   fakes, the server's memory and the outbox's lag read as it goes.
//!
//! Every figure is a line in the engine bench's format,
//! `BENCH <backend> <scenario> <value> [ratio=<to /healthz of the same run>]`.
//! Every phase stops after its operations or its time limit, whichever
//! comes first. Only loopback addresses are used.

mod chat;
mod portal;
mod server;
mod soak;

use anyhow::{anyhow, bail, Context};
use portal::Browser;
use server::Server;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// No portal phase runs longer than this.
const PHASE_LIMIT: Duration = Duration::from_secs(30);

/// What to run.
pub struct Options {
    pub backend: String,
    /// Operations per portal phase.
    pub ops: usize,
    /// Portal clients, one phase each.
    pub clients: Vec<usize>,
    /// Chat people at once (0: no chat scenario).
    pub chat: usize,
    /// Seconds of steady chat traffic.
    pub steady: u64,
    /// Engine events in the soak (0: no soak).
    pub soak: u64,
    /// The soak stops after this many minutes whatever it reached.
    pub soak_minutes: u64,
    /// Events a second the soak's writers keep to (0: as fast as they go).
    pub soak_rate: u64,
    /// Settings given to every server started (`--server-env NAME=VALUE`):
    /// its environment is otherwise only what the scenario sets.
    pub server_env: Vec<(String, String)>,
}

pub const USAGE: &str = "load [--backend sqlite|postgres] [--ops N] [--clients 1,8] \
[--chat PEOPLE (200; 0 skips)] [--steady SECONDS (10)] [--soak EVENTS (0 skips)] [--soak-rate EVENTS_PER_S (0: flat out)] [--soak-minutes M (40)] \
[--server-env NAME=VALUE (repeatable; e.g. OUTBOX_PARALLEL=1)]";

impl Options {
    /// Reads the command line (`--bench`, which `cargo bench` adds, is
    /// ignored).
    pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Options> {
        let mut o = Options {
            backend: "sqlite".into(),
            ops: 2_000,
            clients: vec![1, 8],
            chat: 200,
            steady: 10,
            soak: 0,
            soak_minutes: 40,
            soak_rate: 0,
            server_env: vec![],
        };
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            let mut value = || args.next().ok_or_else(|| anyhow!("{a} needs a value"));
            match a.as_str() {
                "--backend" => o.backend = value()?,
                "--ops" => o.ops = value()?.parse().context("--ops: a number")?,
                "--chat" => o.chat = value()?.parse().context("--chat: a number")?,
                "--steady" => o.steady = value()?.parse().context("--steady: seconds")?,
                "--soak" => o.soak = value()?.parse().context("--soak: a number")?,
                "--soak-rate" => o.soak_rate = value()?.parse().context("--soak-rate: a number")?,
                "--soak-minutes" => {
                    o.soak_minutes = value()?.parse().context("--soak-minutes: a number")?
                }
                "--clients" => {
                    o.clients = value()?
                        .split(',')
                        .map(|c| {
                            c.trim()
                                .parse::<usize>()
                                .context("--clients: numbers like 1,8")
                        })
                        .collect::<anyhow::Result<_>>()?
                }
                "--server-env" => {
                    let pair = value()?;
                    let Some((name, value)) = pair.split_once('=') else {
                        bail!("--server-env: NAME=VALUE, not {pair:?}");
                    };
                    o.server_env.push((name.to_owned(), value.to_owned()));
                }
                "--bench" => {}
                other => bail!("unknown argument {other:?}\nusage: {USAGE}"),
            }
        }
        if !matches!(o.backend.as_str(), "sqlite" | "postgres") {
            bail!("--backend is sqlite or postgres");
        }
        if o.clients.is_empty() || o.clients.contains(&0) || o.ops == 0 {
            bail!("--ops and --clients must be above zero");
        }
        if o.chat == 1 {
            bail!("--chat needs at least 2 people (one on Slack, one on Discord)");
        }
        Ok(o)
    }
}

/// The figures, printed as they come and kept for the caller.
pub struct Report {
    backend: String,
    pub lines: Vec<String>,
}

impl Report {
    fn line(&mut self, name: &str, value: impl std::fmt::Display) {
        let line = format!("BENCH {} {name} {value}", self.backend);
        println!("{line}");
        self.lines.push(line);
    }

    /// A rate with its ratio to the `/healthz` rate of the same run.
    fn rate(&mut self, name: &str, per_second: f64, healthz: f64) {
        self.line(
            name,
            format!(
                "{per_second:.1} ratio={:.4}",
                per_second / healthz.max(f64::MIN_POSITIVE)
            ),
        );
    }
}

/// Runs every scenario `o` asks for.
pub async fn run(o: &Options) -> anyhow::Result<Report> {
    let mut report = Report {
        backend: o.backend.clone(),
        lines: vec![],
    };
    let server = server::start(&o.backend, &o.server_env, &[]).await?;
    let outcome = drive_portal(o, &server, &mut report).await;
    server.finish().await?;
    outcome?;
    if o.chat > 0 {
        chat_under_load(o, &mut report).await?;
    }
    if o.soak > 0 {
        soak::run(o, &mut report).await?;
    }
    Ok(report)
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Healthz,
    Open,
    Reply,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Healthz => "healthz",
            Scenario::Open => "open",
            Scenario::Reply => "reply",
        }
    }
}

/// What one phase measured.
#[derive(Clone)]
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms_per_op: f64,
    rss_kib: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn phase(
    server: &Server,
    browsers: &[Arc<(Browser, String)>],
    scenario: Scenario,
    ops: usize,
) -> anyhow::Result<Figures> {
    let next = Arc::new(AtomicU64::new(0));
    let cpu_before = server.cpu_ms();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for b in browsers {
        let (b, next) = (b.clone(), next.clone());
        tasks.spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= ops || start.elapsed() > PHASE_LIMIT {
                    return Ok::<_, anyhow::Error>(samples);
                }
                let (browser, ticket) = (&b.0, &b.1);
                let t0 = Instant::now();
                match scenario {
                    Scenario::Healthz => {
                        let (status, _) = browser.get("/healthz").await?;
                        if status != 200 {
                            bail!("/healthz: {status}");
                        }
                    }
                    Scenario::Open => {
                        browser.open(i).await?;
                    }
                    Scenario::Reply => browser.reply(ticket, i).await?,
                }
                samples.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        });
    }
    let mut samples = Vec::new();
    while let Some(done) = tasks.join_next().await {
        samples.extend(done??);
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = server.cpu_ms() - cpu_before;
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len().max(1) as f64;
    Ok(Figures {
        per_second: samples.len() as f64 / wall,
        p50_ms: percentile(&samples, 0.50),
        p99_ms: percentile(&samples, 0.99),
        cpu_ms_per_op: cpu / n,
        rss_kib: server.rss_kib(),
    })
}

async fn drive_portal(o: &Options, server: &Server, r: &mut Report) -> anyhow::Result<()> {
    r.line("rss_start_kib", server.rss_kib());
    let most = o.clients.iter().copied().max().unwrap_or(1);
    let browsers = writers(server, most).await?;
    for &clients in &o.clients {
        let mine = &browsers[..clients];
        let base = phase(server, mine, Scenario::Healthz, o.ops).await?;
        for scenario in [Scenario::Healthz, Scenario::Open, Scenario::Reply] {
            let f = if scenario == Scenario::Healthz {
                base.clone()
            } else {
                phase(server, mine, scenario, o.ops).await?
            };
            let name = format!("{}_{clients}", scenario.name());
            r.rate(&name, f.per_second, base.per_second);
            r.line(&format!("{name}_p50_ms"), format!("{:.2}", f.p50_ms));
            r.line(&format!("{name}_p99_ms"), format!("{:.2}", f.p99_ms));
            r.line(
                &format!("{name}_cpu_ms_per_op"),
                format!("{:.2}", f.cpu_ms_per_op),
            );
            r.line(&format!("{name}_rss_kib"), f.rss_kib);
        }
    }
    Ok(())
}

/// `n` browsers signed in as the first people of the sign-in page, each
/// with a ticket of its own to reply on.
async fn writers(server: &Server, n: usize) -> anyhow::Result<Vec<Arc<(Browser, String)>>> {
    let mut browsers = Vec::new();
    for i in 0..n {
        let b = Browser::sign_in(&server.base, i).await?;
        let ticket = b.open(i).await?;
        browsers.push(Arc::new((b, ticket)));
    }
    Ok(browsers)
}

/// The outbox as `/metrics` shows it: events pending over all consumers,
/// the oldest one's age in seconds, and events given up on.
async fn outbox(http: &reqwest::Client, base: &str) -> anyhow::Result<(u64, f64, u64)> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let value = |l: &str| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
    let (mut pending, mut oldest, mut failed) = (0, 0.0f64, 0);
    for l in text.lines() {
        if l.starts_with("threadesk_outbox_pending{") {
            pending += value(l).unwrap_or(0.0) as u64;
        } else if l.starts_with("threadesk_outbox_oldest_pending_seconds{") {
            oldest = oldest.max(value(l).unwrap_or(0.0));
        } else if l.starts_with("threadesk_outbox_failed{") {
            failed += value(l).unwrap_or(0.0) as u64;
        }
    }
    Ok((pending, oldest, failed))
}

/// The largest outbox lag seen while it was watched.
#[derive(Default, Clone, Copy)]
struct Lag {
    pending: u64,
    oldest_s: f64,
    failed: u64,
}

/// Reads the outbox every half second until `stop`; the worst it saw.
fn watch_outbox(
    base: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<Lag>> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut worst = Lag::default();
        while !stop.load(Ordering::Relaxed) {
            let (pending, oldest, failed) = outbox(&http, &base).await?;
            worst.pending = worst.pending.max(pending);
            worst.oldest_s = worst.oldest_s.max(oldest);
            worst.failed = worst.failed.max(failed);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(worst)
    })
}

/// Seconds until the outbox has nothing pending (at most `limit`).
async fn drained(base: &str, limit: Duration) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        let (pending, _, _) = outbox(&http, base).await?;
        if pending == 0 {
            return Ok(start.elapsed().as_secs_f64());
        }
        if start.elapsed() > limit {
            bail!("the outbox still had {pending} events after {limit:?}");
        }
        // /metrics counts the backlog: not so often that reading it weighs.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Portal clients replying on their tickets until `stop`: their latencies.
fn keep_writing(
    browsers: &[Arc<(Browser, String)>],
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinSet<anyhow::Result<Vec<f64>>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (n, b) in browsers.iter().enumerate() {
        let (b, stop) = (b.clone(), stop.clone());
        tasks.spawn(async move {
            let mut samples = vec![];
            let mut i = n * 1_000_000;
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                b.0.reply(&b.1, i).await?;
                samples.push(t0.elapsed().as_secs_f64() * 1000.0);
                i += 1;
            }
            Ok(samples)
        });
    }
    tasks
}

async fn collect(
    mut tasks: tokio::task::JoinSet<anyhow::Result<Vec<f64>>>,
) -> anyhow::Result<Vec<f64>> {
    let mut all = vec![];
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    all.sort_by(|a, b| a.total_cmp(b));
    Ok(all)
}

/// A spread-out think time in [0.5, 1.5) seconds for a person's `round`.
fn think(person: usize, round: usize) -> Duration {
    // the fractional parts of multiples of the golden ratio spread evenly.
    let x = ((person * 31 + round * 7) as f64 * 0.618_033_988_75).fract();
    Duration::from_secs_f64(0.5 + x)
}

/// Chat people at once (a burst, then steady traffic) while 8 portal
/// clients keep writing; each acknowledgement's time and the outbox's lag.
async fn chat_under_load(o: &Options, r: &mut Report) -> anyhow::Result<()> {
    let (platforms, server) = chat::Platforms::with_server(o).await?;
    let outcome = chat_phases(o, r, &server, &platforms).await;
    platforms.finish(server, outcome).await
}

async fn chat_phases(
    o: &Options,
    r: &mut Report,
    server: &Server,
    platforms: &chat::Platforms,
) -> anyhow::Result<()> {
    platforms.connected().await?;
    let n = o.chat;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .build()?;
    let people: Arc<Vec<chat::User>> =
        Arc::new((0..n).map(|i| chat::User::nth(platforms, i, n)).collect());
    let seq = Arc::new(AtomicU64::new(0));
    let hook = platforms.slack.response_url();
    // every chat person opens a ticket first: they become people, whom
    // the portal's sign-in page lists too.
    for chunk in people.chunks(8) {
        let mut tasks = tokio::task::JoinSet::new();
        for who in chunk {
            let (http, base, who, hook) =
                (http.clone(), server.base.clone(), who.clone(), hook.clone());
            let i = seq.fetch_add(1, Ordering::Relaxed);
            tasks.spawn(
                async move { chat::send(&http, &base, &hook, &who, chat::Ask::Open, i).await },
            );
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
    }
    const WRITERS: usize = 8;
    let browsers = writers(server, WRITERS).await?;
    let healthz = phase(server, &browsers, Scenario::Healthz, o.ops).await?;
    r.rate(
        &format!("chat_healthz_{WRITERS}"),
        healthz.per_second,
        healthz.per_second,
    );

    let stop_writing = Arc::new(AtomicBool::new(false));
    let stop_watching = Arc::new(AtomicBool::new(false));
    let watcher = watch_outbox(server.base.clone(), stop_watching.clone());
    let writing = keep_writing(&browsers, &stop_writing);
    let writing_since = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_before = server.cpu_ms();

    // the burst: every person at once, half of them opening a ticket.
    let gate = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = tokio::task::JoinSet::new();
    let answered_before = platforms.late_answers();
    for (p, who) in people.iter().enumerate() {
        let (http, base, who, gate) =
            (http.clone(), server.base.clone(), who.clone(), gate.clone());
        let i = seq.fetch_add(1, Ordering::Relaxed);
        let ask = if p % 2 == 0 {
            chat::Ask::Open
        } else {
            chat::Ask::List
        };
        // signed first, as the platforms sign on their own machines.
        let signed = chat::sign_request(&hook, &who, ask, i);
        tasks.spawn(async move {
            gate.wait().await;
            let took = chat::post(&http, &base, signed).await?;
            Ok::<_, anyhow::Error>((who.platform(), took.as_secs_f64() * 1000.0))
        });
    }
    // the gate opens once every task waits at it.
    let burst_start = Instant::now();
    let burst = acks(tasks).await?;
    let burst_wall = burst_start.elapsed().as_secs_f64();
    // every request of the burst answered late: when the last one was.
    let deadline = Instant::now() + Duration::from_secs(120);
    while platforms.late_answers() < answered_before + n {
        if Instant::now() > deadline {
            bail!(
                "{} of the burst's {n} requests were never answered",
                answered_before + n - platforms.late_answers()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let burst_answered_ms = burst_start.elapsed().as_secs_f64() * 1000.0;

    // steady: each person asks again every 0.5 to 1.5 seconds.
    let steady_start = Instant::now();
    let until = steady_start + Duration::from_secs(o.steady);
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..n {
        let (http, base, people, seq, hook) = (
            http.clone(),
            server.base.clone(),
            people.clone(),
            seq.clone(),
            hook.clone(),
        );
        tasks.spawn(async move {
            let who = &people[p];
            let mut took = vec![];
            for round in 0.. {
                tokio::time::sleep(think(p, round)).await;
                if Instant::now() >= until {
                    break;
                }
                let ask = if (p + round) % 2 == 0 {
                    chat::Ask::Open
                } else {
                    chat::Ask::List
                };
                let i = seq.fetch_add(1, Ordering::Relaxed);
                let t = chat::send(&http, &base, &hook, who, ask, i).await?;
                took.push((who.platform(), t.as_secs_f64() * 1000.0));
            }
            Ok::<_, anyhow::Error>(took)
        });
    }
    let mut steady = vec![];
    while let Some(done) = tasks.join_next().await {
        steady.extend(done??);
    }
    let steady_wall = steady_start.elapsed().as_secs_f64();
    stop_writing.store(true, Ordering::Relaxed);
    let written = collect(writing).await?;
    let writing_wall = writing_since.elapsed().as_secs_f64();
    let cpu = server.cpu_ms() - cpu_before;
    // while the outbox drains: how busy the server and this driver (with
    // the fake platforms in it) are, of one core.
    let (server_then, me_then) = (server.cpu_ms(), server::cpu_ms_of("self"));
    let drain = drained(&server.base, Duration::from_secs(300)).await?;
    let busy = |ms: f64| 100.0 * ms / (drain * 1000.0).max(1.0);
    let (server_busy, me_busy) = (
        busy(server.cpu_ms() - server_then),
        busy(server::cpu_ms_of("self") - me_then),
    );
    stop_watching.store(true, Ordering::Relaxed);
    let lag = watcher.await??;

    for (phase, samples, wall) in [
        ("burst", &burst, burst_wall),
        ("steady", &steady, steady_wall),
    ] {
        let name = format!("chat_{phase}_{n}");
        let mut all: Vec<f64> = samples.iter().map(|s| s.1).collect();
        all.sort_by(|a, b| a.total_cmp(b));
        r.rate(&name, all.len() as f64 / wall, healthz.per_second);
        r.line(
            &format!("{name}_p50_ms"),
            format!("{:.2}", percentile(&all, 0.5)),
        );
        r.line(
            &format!("{name}_p99_ms"),
            format!("{:.2}", percentile(&all, 0.99)),
        );
        for platform in ["slack", "discord"] {
            let mut mine: Vec<f64> = samples
                .iter()
                .filter(|s| s.0 == platform)
                .map(|s| s.1)
                .collect();
            mine.sort_by(|a, b| a.total_cmp(b));
            r.line(
                &format!("{name}_{platform}_p99_ms"),
                format!("{:.2}", percentile(&mine, 0.99)),
            );
        }
    }
    r.line(
        &format!("chat_burst_{n}_all_answered_ms"),
        format!("{burst_answered_ms:.0}"),
    );
    let name = format!("chat_writers_{WRITERS}");
    r.rate(
        &name,
        written.len() as f64 / writing_wall,
        healthz.per_second,
    );
    r.line(
        &format!("{name}_p99_ms"),
        format!("{:.2}", percentile(&written, 0.99)),
    );
    let ops = (burst.len() + steady.len() + written.len()).max(1) as f64;
    r.line("chat_cpu_ms_per_op", format!("{:.2}", cpu / ops));
    r.line("chat_outbox_pending_max", lag.pending);
    r.line("chat_outbox_oldest_max_s", format!("{:.2}", lag.oldest_s));
    r.line("chat_outbox_failed", lag.failed);
    r.line("chat_outbox_drain_s", format!("{drain:.2}"));
    r.line(
        "chat_outbox_drain_server_cpu_pct",
        format!("{server_busy:.0}"),
    );
    r.line("chat_outbox_drain_driver_cpu_pct", format!("{me_busy:.0}"));
    r.line("chat_rss_kib", server.rss_kib());
    if lag.failed > 0 {
        bail!("the outbox gave up on {} events", lag.failed);
    }
    Ok(())
}

type Acks = tokio::task::JoinSet<anyhow::Result<(&'static str, f64)>>;

async fn acks(mut tasks: Acks) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let mut all = vec![];
    while let Some(done) = tasks.join_next().await {
        all.push(done??);
    }
    Ok(all)
}
