//! `threadesk`: the help desk that lives in chat, in one binary.
//!
//! Reads the configuration once, opens the database and applies the
//! migrations, then runs the HTTP listener (the web portal and the ops
//! routes) and every adapter that has credentials, until SIGINT or SIGTERM.
#![forbid(unsafe_code)]

mod channels;
mod config;
mod demo;
mod http;
mod listener;

use anyhow::Context;
use channels::{Channel, Shutdown};
use clap::{Parser, Subcommand};
use config::{redact_url, Config, LogFormat, PortalSignIn};
use std::sync::Arc;
use std::time::Duration;
use threadesk_core::db::{Db, DbOptions};
use threadesk_core::{Engine, Settings};
use threadesk_email::EmailAdapter;
use threadesk_web::{BlobStore, Portal, PortalConfig, SessionKey, SignIn};
use tokio::task::JoinSet;

/// Threadesk: a help desk that lives in chat.
///
/// Customers open, follow and close support tickets from Slack, Discord,
/// Microsoft Teams, e-mail and a web portal; the support team answers from
/// its own channels.
#[derive(Debug, Parser)]
#[command(
    name = "threadesk",
    version,
    about = "Threadesk: a help desk that lives in chat (Slack, Discord, Teams, e-mail and a web portal).",
    after_help = "Settings come from the environment or a .env file in the current directory; \
.env.example lists every one. With none set, threadesk runs on this machine alone: \
an SQLite file (threadesk.db), a small demo to try, and the portal on http://127.0.0.1:8080/ \
(LISTEN_ADDR changes the address). Set DATABASE_URL for PostgreSQL, and the SLACK_*, \
DISCORD_*, TEAMS_* or SMTP_* settings to connect a platform."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Do not seed the demo data into an empty database.
    #[arg(long, global = true)]
    no_demo: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the database, apply migrations and serve (the default).
    Run,
    /// Apply the database migrations and exit.
    Migrate,
}

/// mimalloc rather than glibc's malloc: with a thread per SQLite
/// connection beside tokio's, glibc's per-thread arenas kept freed memory
/// and the resident size crept up through a long soak. For SQLite's own
/// allocations too (the `override` feature: `malloc` and `free` are
/// mimalloc's in the whole process): they had stayed with glibc, and a
/// reading connection's page cache, emptied whenever another connection
/// has written, is allocated again at its next read, so each connection's
/// glibc arena grew through a soak (20 MiB across 12 arenas at 600,000
/// events, more than mimalloc held for all of Rust).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No transparent huge pages for this process. The allocator hands freed
/// memory back to the kernel in small pieces; with huge pages allowed
/// (mimalloc asks for them, and some systems give them unasked) the
/// kernel's background collapsing fills those 2 MiB ranges in again, so
/// that the resident size grew in steps with nothing in use behind them
/// (in a soak, 26 MiB became huge pages within 30 seconds and the
/// resident size rose 4.5 MiB at that moment).
fn no_huge_pages() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        // (a sandbox that refuses prctl: only memory is at stake.)
        eprintln!("threadesk: cannot turn transparent huge pages off: {e}");
    }
}

fn main() -> std::process::ExitCode {
    no_huge_pages();
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("threadesk: cannot start: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let config_format = config.log_format;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("threadesk: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // said once: as a log record where logs are read by machines,
            // else as one line for the person at the terminal.
            match config_format {
                LogFormat::Json => tracing::error!(error = format!("{e:#}"), "threadesk stopped"),
                LogFormat::Pretty => eprintln!("threadesk: {e:#}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    // serenity's HTTP spans carry request routes, and an interaction's
    // route holds its token: off whatever RUST_LOG says (the adapter logs
    // its own errors, redacted).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into())
        .add_directive("serenity::http=off".parse().expect("a valid log directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    threadesk_core::outbox::set_lease(config.outbox_lease);
    threadesk_core::outbox::set_parallel(config.outbox_parallel);
    // the address first: a busy port is said before anything is written
    // (migrations, the demo).
    let listener = match cli.command {
        Some(Command::Migrate) => None,
        _ => Some(
            tokio::net::TcpListener::bind(config.listen_addr)
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on LISTEN_ADDR ({}): is another program (or another threadesk) using it?",
                        config.listen_addr
                    )
                })?,
        ),
    };
    let shown_url = redact_url(&config.database_url);
    let db_options = DbOptions {
        max_connections: config.database_max_connections,
        ..DbOptions::default()
    };
    let db = Db::connect(&config.database_url, db_options)
        .await
        .with_context(|| format!("cannot open DATABASE_URL ({shown_url})"))?;
    db.migrate()
        .await
        .with_context(|| format!("cannot migrate DATABASE_URL ({shown_url})"))?;
    tracing::info!(database = %shown_url, backend = db.backend().name(), "database ready");
    if let Some(Command::Migrate) = cli.command {
        println!("threadesk: migrations applied to {shown_url}");
        db.close().await;
        return Ok(());
    }
    let engine = Engine::new(
        db.clone(),
        Settings {
            max_open_tickets_per_requester: config.max_open_tickets,
            show_owner_to_customers: config.show_owner_to_customers,
            service: config.service.clone(),
            auto_close: config.auto_close.clone(),
            ..Settings::default()
        },
    );
    // targets may have changed (or gone) since the last start: every
    // waiting ticket's due time follows the ones in force now.
    let changed = engine
        .refresh_due_times()
        .await
        .context("cannot set the tickets' due times")?;
    if config.service.is_on() {
        tracing::info!(
            tickets = changed,
            business_hours = %config.service.hours().map(|h| h.to_string()).unwrap_or_else(|| "round the clock".into()),
            "service targets on"
        );
    }
    // the periods may have changed too: waiting tickets get due times by
    // the ones in force (none when it is off).
    let changed = engine
        .refresh_auto_close()
        .await
        .context("cannot set the tickets' automatic-closing times")?;
    if config.auto_close.is_on() {
        tracing::info!(tickets = changed, periods = %config.auto_close, "automatic closing on");
    }
    if config.email.is_some() {
        // before the demo is seeded, so its tickets are confirmed by mail.
        threadesk_core::outbox::Outbox::new(db.clone())
            .register(threadesk_email::CONSUMER)
            .await
            .context("cannot register the e-mail outbox")?;
    }
    if config.platforms.is_empty() && !cli.no_demo && demo::seed_if_empty(&engine).await? {
        println!("threadesk: seeded a demo (Acme Corp, Sam Support and a few tickets); start with --no-demo to skip it");
    }
    let listener = listener.context("no listener for the run command")?;
    let outcome = serve(&config, engine, listener).await;
    db.close().await;
    outcome
}

async fn serve(
    config: &Config,
    engine: Engine,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    let session_key = match &config.session_secret {
        Some(secret) => SessionKey::from_secret(secret)?,
        None => SessionKey::random()?,
    };
    let blobs = BlobStore::open(&config.blob_dir)
        .with_context(|| format!("cannot open BLOB_DIR ({})", config.blob_dir.display()))?;
    let sign_in = match config.portal_sign_in {
        PortalSignIn::Local => SignIn::Local,
        PortalSignIn::Link => SignIn::Link,
    };
    let email = channels::email(config, &engine, &blobs).await?;
    let portal = Portal::new(
        engine.clone(),
        blobs.clone(),
        PortalConfig {
            sign_in,
            session_key,
            secure_cookies: config
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            max_upload_bytes: config.max_upload_bytes,
            email_enabled: config.email.is_some(),
            session_idle: config.session_idle,
            session_max: config.session_max,
        },
    );
    let mut channels: Vec<Channel> = vec![];
    let portal = match email {
        Some((channel, adapter)) => {
            channels.push(channel);
            portal.with_mailer(Arc::new(MailLinks(adapter)))
        }
        None => portal,
    };
    let requests = Arc::new(http::RequestCounter::default());
    let mut app = portal.router();
    channels.extend(channels::slack(config, &engine).await?);
    channels.extend(channels::discord(config, &engine).await?);
    channels.extend(channels::teams(config, &engine, &blobs).await?);
    channels.push(channels::housekeeping(&engine, &blobs));
    if config.auto_close.is_on() {
        channels.push(channels::auto_close(&engine));
    }
    for c in &mut channels {
        if let Some(routes) = c.router.take() {
            app = app.merge(routes);
        }
    }
    let app = app
        .merge(http::routes(http::Ops {
            engine,
            requests: requests.clone(),
        }))
        .layer(axum::middleware::from_fn_with_state(
            requests,
            http::count_requests,
        ));
    let bound = listener.local_addr()?;
    let url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    // signal handlers before the lines that say it is up.
    let signals = shutdown_signal();
    println!("threadesk: portal at {url}/ (listening on {bound})");
    if sign_in == SignIn::Local {
        println!(
            "threadesk: the portal is in local mode: pick a person at {url}/signin, no password"
        );
        if !bound.ip().is_loopback() {
            tracing::warn!(%bound, "local mode on a non-loopback address: anyone who reaches it can act as anyone");
        }
    }
    let named = |name: &str| channels.iter().find(|c| c.name == name);
    for (name, var) in config::PLATFORM_VARIABLES {
        match named(name) {
            Some(c) => println!("threadesk: {name}: {}", (c.banner)(&url)),
            None if config.platforms.contains(&name) => println!(
                "threadesk: {name}: {var} is set, but this build has no {name} adapter yet"
            ),
            None => println!("threadesk: {name}: not configured (set {var} to connect)"),
        }
    }
    match named("E-mail") {
        Some(c) => println!("threadesk: E-mail: {}", (c.banner)(&url)),
        None => println!("threadesk: E-mail: off (set SMTP_URL and MAIL_FROM to send ticket mail)"),
    }
    match named("Automatic closing") {
        Some(c) => println!("threadesk: Automatic closing: {}", (c.banner)(&url)),
        None => println!("threadesk: Automatic closing: off (set AUTO_CLOSE, like 7d/3d, to remind quiet customers and close their tickets)"),
    }
    run_until_shutdown(channels, listener, app, signals).await
}

/// Runs every channel's tasks and the listener until a shutdown signal
/// (or until one of them fails, which stops the whole process rather than
/// leaving it half-alive); then asks each to stop, lets outbox workers
/// finish the step in hand, and reports why each task ended.
async fn run_until_shutdown(
    channels: Vec<Channel>,
    listener: tokio::net::TcpListener,
    app: axum::Router,
    signals: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop_tx, stop) = Shutdown::new();
    let mut tasks = JoinSet::new();
    for channel in channels {
        for task in channel.tasks {
            let stop = stop.clone();
            tasks.spawn(async move { (task.name, (task.run)(stop).await) });
        }
    }
    let graceful = stop.clone();
    tasks.spawn(async move {
        let served = listener::serve(listener, app, graceful.wait()).await;
        ("http listener", served.map_err(anyhow::Error::from))
    });
    let first = tokio::select! {
        () = signals => None,
        first = tasks.join_next() => first,
    };
    let outcome = match first {
        None => Ok(()),
        Some(Ok((name, Ok(())))) => Err(anyhow::anyhow!("the {name} stopped on its own")),
        Some(Ok((name, Err(e)))) => Err(e.context(format!("the {name} failed"))),
        Some(Err(e)) => Err(anyhow::anyhow!("a task panicked or was cancelled: {e}")),
    };
    let _ = stop_tx.send(true);
    // in-flight requests and outbox steps finish; a task that does not
    // within the deadline is cut off.
    let drained = tokio::time::timeout(SHUTDOWN_DEADLINE, async {
        while let Some(ended) = tasks.join_next().await {
            match ended {
                Ok((name, Ok(()))) => tracing::info!(task = name, "stopped"),
                Ok((name, Err(e))) => {
                    tracing::warn!(
                        task = name,
                        error = format!("{e:#}"),
                        "stopped with an error"
                    )
                }
                Err(e) => tracing::warn!(error = %e, "a task panicked or was cancelled"),
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            deadline_s = SHUTDOWN_DEADLINE.as_secs(),
            "tasks still running at the shutdown deadline were cut off"
        );
        tasks.abort_all();
    }
    outcome
}

/// How long tasks get to finish after a shutdown signal.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Portal sign-in links go out through the e-mail channel.
struct MailLinks(EmailAdapter);

impl threadesk_web::LinkMailer for MailLinks {
    fn send_sign_in<'a>(
        &'a self,
        to: &'a str,
        token: &'a str,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), threadesk_web::LinkMailError>> + Send + 'a>,
    > {
        Box::pin(async move { self.0.send_sign_in(to, token).await.map_err(Into::into) })
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are in place when
/// this returns, before the future is first awaited: a signal sent right
/// after start-up's last line is caught, not fatal.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>, name: &'static str| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for {name}");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = wait(int, "SIGINT") => tracing::info!("SIGINT received: finishing in-flight requests"),
            () = wait(term, "SIGTERM") => tracing::info!("SIGTERM received: finishing in-flight requests"),
        }
    }
}
