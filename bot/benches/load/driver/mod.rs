//! `threadesk-load`: a load driver. It starts `threadesk` on a fresh
//! database (SQLite, or a new PostgreSQL schema) and drives its portal as a
//! browser does: a session per client (the local sign-in), then each
//! operation GETs its form (CSRF token, request id) and POSTs it. Per
//! scenario and concurrency it prints throughput, p50/p99 latency, the
//! server's CPU per operation and its resident memory, and the ratio to
//! `/healthz` measured in the same run, in the engine bench's format:
//! `BENCH <backend> <scenario>_<clients> <per second> ratio=<to healthz>`.
//!
//! `cargo build --release --bins && target/release/threadesk-load`
//! (`--backend sqlite|postgres`, `--ops N`, `--clients 1,8`; PostgreSQL at
//! `TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! `THREADESK_BIN` names the server binary, default the one beside this).
//! Every phase stops after `--ops` operations or 30 seconds, whichever
//! comes first. Only loopback addresses are used.

use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// No phase runs longer than this.
const PHASE_LIMIT: Duration = Duration::from_secs(30);
/// Linux's clock ticks per second for `/proc/<pid>/stat` times.
const TICKS_PER_SECOND: f64 = 100.0;

struct Options {
    backend: String,
    ops: usize,
    clients: Vec<usize>,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        backend: "sqlite".into(),
        ops: 2_000,
        clients: vec![1, 8],
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow!("{a} needs a value"));
        match a.as_str() {
            "--backend" => o.backend = value()?,
            "--ops" => o.ops = value()?.parse().context("--ops: a number")?,
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
            "--help" | "-h" => {
                println!("threadesk-load [--backend sqlite|postgres] [--ops N] [--clients 1,8]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if !matches!(o.backend.as_str(), "sqlite" | "postgres") {
        bail!("--backend is sqlite or postgres");
    }
    if o.clients.is_empty() || o.clients.contains(&0) || o.ops == 0 {
        bail!("--ops and --clients must be above zero");
    }
    Ok(o)
}

/// The server under load, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    base: String,
    dir: std::path::PathBuf,
    /// On PostgreSQL: the server's address and the schema to drop after.
    schema: Option<(String, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    /// Its CPU time so far (user + system), in milliseconds.
    fn cpu_ms(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // the fields after the command name (which may hold spaces).
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are the 14th and 15th fields: 12 and 13 here.
        (ticks(11) + ticks(12)) * 1000.0 / TICKS_PER_SECOND
    }

    /// Its resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

async fn start(backend: &str) -> anyhow::Result<Server> {
    let bin = match std::env::var_os("THREADESK_BIN") {
        Some(b) => std::path::PathBuf::from(b),
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("threadesk"))
            .ok_or_else(|| anyhow!("no directory beside this binary"))?,
    };
    if !bin.exists() {
        bail!(
            "{} is not there: build it first (cargo build --release --bins) or set THREADESK_BIN",
            bin.display()
        );
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let tag = format!("{}_{nanos}", std::process::id());
    let dir = std::env::temp_dir().join(format!("threadesk-load-{tag}"));
    std::fs::create_dir_all(&dir)?;
    let mut made = None;
    let url = match backend {
        "sqlite" => format!("sqlite://{}/load.db?mode=rwc", dir.display()),
        _ => {
            let base = std::env::var("TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let admin = threadesk_core::Db::connect(&base, Default::default())
                .await
                .with_context(|| format!("PostgreSQL at {base}"))?;
            let schema = format!("load_{tag}");
            sqlx::query(&format!("create schema {schema}"))
                .execute(admin.pool())
                .await
                .with_context(|| format!("create schema {schema}"))?;
            admin.close().await;
            made = Some((base.clone(), schema));
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-c%20search_path%3Dload_{tag}")
        }
    };
    let mut child = Command::new(&bin)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", &url)
        .env("BLOB_DIR", dir.join("blobs"))
        .env("MAX_OPEN_TICKETS_PER_REQUESTER", "1000000")
        .env("RUST_LOG", "warn")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.split("(listening on ").nth(1) {
            addr = Some(rest.trim_end_matches(')').to_owned());
            break;
        }
    }
    // drain the rest so the server never blocks on its stdout.
    std::thread::spawn(move || for _ in lines {});
    let addr = addr.ok_or_else(|| anyhow!("threadesk did not say where it listens"))?;
    Ok(Server {
        child,
        base: format!("http://{addr}"),
        dir,
        schema: made,
    })
}

/// One browser: a session cookie and a client.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

/// The value after `name="<name>" value="` in a page.
fn field(page: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .ok_or_else(|| anyhow!("no {name} field in the page"))?;
    let rest = &page[at + marker.len()..];
    Ok(rest[..rest.find('"').unwrap_or(0)].to_owned())
}

static BOUNDARY: AtomicU64 = AtomicU64::new(1);

/// A `multipart/form-data` body of text fields, as a browser sends it.
fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = format!(
        "----threadeskload{}",
        BOUNDARY.fetch_add(1, Ordering::Relaxed)
    );
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

impl Browser {
    async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await?;
        Ok((res.status().as_u16(), res.text().await?))
    }

    /// Posts a multipart form; the address it redirects to.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<String> {
        let (content_type, body) = multipart(fields);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        if res.status().as_u16() != 303 {
            bail!("POST {path}: {}", res.status());
        }
        Ok(res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned())
    }

    /// Signs in (local mode) as the `n`th person of the sign-in page.
    async fn sign_in(base: &str, n: usize) -> anyhow::Result<Browser> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let res = http.get(format!("{base}/signin")).send().await?;
        let cookie = cookies(&res);
        let page = res.text().await?;
        let people: Vec<String> = page
            .split("name=\"person\" value=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_owned))
            .collect();
        if people.is_empty() {
            bail!("nobody to sign in as (the demo seeds people)");
        }
        let person = &people[n % people.len()];
        let csrf = field(&page, "csrf")?;
        let res = http
            .post(format!("{base}/signin"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("person", person.as_str())])
            .send()
            .await?;
        if res.status().as_u16() != 303 {
            bail!("signing in: {}", res.status());
        }
        Ok(Browser {
            http,
            base: base.to_owned(),
            cookie: cookies(&res),
        })
    }

    /// Opens a ticket as a browser does; its number.
    async fn open(&self, i: usize) -> anyhow::Result<String> {
        let (_, form) = self.get("/tickets/new").await?;
        let (csrf, request) = (field(&form, "csrf")?, field(&form, "request")?);
        let subject = format!("Load ticket {i}");
        let at = self
            .post(
                "/tickets",
                &[
                    ("csrf", &csrf),
                    ("request", &request),
                    ("subject", &subject),
                    ("body", "The printer on the third floor jams again."),
                ],
            )
            .await?;
        at.strip_prefix("/tickets/")
            .map(|n| n.split(['?', '#']).next().unwrap_or(n).to_owned())
            .ok_or_else(|| anyhow!("opening went to {at:?}"))
    }

    /// Replies on a ticket as a browser does.
    async fn reply(&self, number: &str, i: usize) -> anyhow::Result<()> {
        let path = format!("/tickets/{number}");
        let (_, page) = self.get(&path).await?;
        let (csrf, request) = (field(&page, "csrf")?, field(&page, "request")?);
        let body = format!("Still jamming, try {i}.");
        self.post(
            &format!("{path}/reply"),
            &[("csrf", &csrf), ("request", &request), ("body", &body)],
        )
        .await
        .map(drop)
    }
}

fn cookies(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
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

async fn run(o: Options) -> anyhow::Result<()> {
    let server = start(&o.backend).await?;
    let schema = server.schema.clone();
    let outcome = drive(&o, &server).await;
    // the server stops first; then its schema goes.
    drop(server);
    if let Some((base, schema)) = schema {
        let admin = threadesk_core::Db::connect(&base, Default::default()).await?;
        sqlx::query(&format!("drop schema {schema} cascade"))
            .execute(admin.pool())
            .await?;
        admin.close().await;
    }
    outcome
}

async fn drive(o: &Options, server: &Server) -> anyhow::Result<()> {
    let backend = o.backend.as_str();
    println!("BENCH {backend} rss_start_kib {}", server.rss_kib());
    let most = o.clients.iter().copied().max().unwrap_or(1);
    // one session per client, each with a ticket of its own to reply on.
    let mut browsers = Vec::new();
    for n in 0..most {
        let b = Browser::sign_in(&server.base, n).await?;
        let ticket = b.open(n).await?;
        browsers.push(Arc::new((b, ticket)));
    }
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
            println!(
                "BENCH {backend} {name} {:.1} ratio={:.4}",
                f.per_second,
                f.per_second / base.per_second.max(f64::MIN_POSITIVE)
            );
            println!("BENCH {backend} {name}_p50_ms {:.2}", f.p50_ms);
            println!("BENCH {backend} {name}_p99_ms {:.2}", f.p99_ms);
            println!(
                "BENCH {backend} {name}_cpu_ms_per_op {:.2}",
                f.cpu_ms_per_op
            );
            println!("BENCH {backend} {name}_rss_kib {}", f.rss_kib);
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("threadesk-load: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("threadesk-load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(o)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("threadesk-load: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
