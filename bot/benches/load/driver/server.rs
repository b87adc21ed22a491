//! The server under load: `threadesk` on a fresh SQLite file or a new
//! PostgreSQL schema, with the settings a scenario adds.

use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Linux's clock ticks per second for `/proc/<pid>/stat` times.
const TICKS_PER_SECOND: f64 = 100.0;

/// A running `threadesk`, stopped (SIGTERM) and its database removed by
/// [`Server::finish`] (or, without the schema, when dropped).
pub struct Server {
    child: Child,
    pub base: String,
    dir: PathBuf,
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
    pub fn cpu_ms(&self) -> f64 {
        cpu_ms_of(&self.child.id().to_string())
    }

    /// Its resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.proc_number("status", "VmRSS:")
    }

    /// Of its resident memory, how much is its own (anonymous: heap,
    /// stacks) and how much is mapped from files (its code, chiefly), in
    /// KiB: code counts once it has run, so the second can grow with no
    /// memory in use behind it.
    pub fn rss_parts_kib(&self) -> (u64, u64) {
        (
            self.proc_number("status", "RssAnon:"),
            self.proc_number("status", "RssFile:"),
        )
    }

    /// How much of its resident memory is in transparent huge pages, in
    /// KiB: each counts 2 MiB however little of it is in use.
    pub fn huge_kib(&self) -> u64 {
        self.proc_number("smaps_rollup", "AnonHugePages:")
    }

    /// How many threads it runs now (tokio's, the blocking pool's, one
    /// per SQLite connection).
    pub fn threads(&self) -> u64 {
        self.proc_number("status", "Threads:")
    }

    /// The number on a `name: N kB` (or `name: N`) line of one of its
    /// `/proc` files (0 if absent).
    fn proc_number(&self, file: &str, name: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Stops it and drops its PostgreSQL schema.
    pub async fn finish(self) -> anyhow::Result<()> {
        let schema = self.schema.clone();
        // the server stops first; then its schema goes.
        drop(self);
        if let Some((base, schema)) = schema {
            let admin = threadesk_core::Db::connect(&base, Default::default()).await?;
            sqlx::query(&format!("drop schema {schema} cascade"))
                .execute(admin.pool())
                .await?;
            admin.close().await;
        }
        Ok(())
    }
}

/// A process's CPU time so far (user + system), in milliseconds: `pid`
/// is a process id or `self`.
pub fn cpu_ms_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
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

/// The server binary: `THREADESK_BIN`, or the one Cargo built beside this.
fn binary() -> PathBuf {
    std::env::var_os("THREADESK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_threadesk")))
}

/// Starts `threadesk` on a fresh database of `backend` with these extra
/// settings; `files` are written into its working directory first (a
/// certificate to trust, say), so settings can name them relatively.
pub async fn start(
    backend: &str,
    settings: &[(String, String)],
    files: &[(&str, &[u8])],
) -> anyhow::Result<Server> {
    let bin = binary();
    if !bin.exists() {
        bail!(
            "{} is not there: build it first or set THREADESK_BIN",
            bin.display()
        );
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let tag = format!("{}_{nanos}", std::process::id());
    let dir = std::env::temp_dir().join(format!("threadesk-load-{tag}"));
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes)?;
    }
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
    let mut command = Command::new(&bin);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", &url)
        .env("BLOB_DIR", dir.join("blobs"))
        .env("MAX_OPEN_TICKETS_PER_REQUESTER", "1000000")
        .env("RUST_LOG", "warn");
    for (name, value) in settings {
        command.env(name, value);
    }
    let mut child = command
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
    // made first, so that a failure from here on stops the server.
    let mut server = Server {
        child,
        base: String::new(),
        dir,
        schema: made,
    };
    let addr = addr.ok_or_else(|| anyhow!("threadesk did not say where it listens"))?;
    server.base = format!("http://{addr}");
    Ok(server)
}
