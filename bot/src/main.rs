//! `threadesk`: the help desk that lives in chat, in one binary.
//!
//! Reads the configuration once, opens the database and applies the
//! migrations, then runs the HTTP listener (the web portal and the ops
//! routes) and every adapter that has credentials, until SIGINT or SIGTERM.
#![forbid(unsafe_code)]

mod config;
mod demo;
mod http;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{redact_url, Config, LogFormat, PortalSignIn};
use std::sync::Arc;
use std::time::Duration;
use threadesk_core::db::{Db, DbOptions};
use threadesk_core::outbox::Consumer;
use threadesk_core::{Engine, Settings};
use threadesk_discord::DiscordAdapter;
use threadesk_email::EmailAdapter;
use threadesk_slack::SlackAdapter;
use threadesk_web::{BlobStore, Portal, PortalConfig, SessionKey, SignIn};
use tokio::task::JoinSet;

/// A help desk that lives in chat.
#[derive(Debug, Parser)]
#[command(name = "threadesk", version, about)]
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("threadesk: cannot start: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
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
            tracing::error!(error = format!("{e:#}"), "threadesk stopped");
            eprintln!("threadesk: {e:#}");
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
    let shown_url = redact_url(&config.database_url);
    let db = Db::connect(&config.database_url, DbOptions::default())
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
            ..Settings::default()
        },
    );
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
    let outcome = serve(&config, engine).await;
    db.close().await;
    outcome
}

async fn serve(config: &Config, engine: Engine) -> anyhow::Result<()> {
    let session_key = match &config.session_secret {
        Some(secret) => SessionKey::from_secret(secret).map_err(anyhow::Error::msg)?,
        None => SessionKey::random().map_err(anyhow::Error::msg)?,
    };
    let blobs = BlobStore::open(&config.blob_dir)
        .with_context(|| format!("cannot open BLOB_DIR ({})", config.blob_dir.display()))?;
    let sign_in = match config.portal_sign_in {
        PortalSignIn::Local => SignIn::Local,
        PortalSignIn::Link => SignIn::Link,
    };
    let email = match &config.email {
        Some(settings) => {
            let adapter = EmailAdapter::new(engine.clone(), settings.clone())
                .map_err(|e| anyhow::anyhow!("cannot set up the SMTP client: {e}"))?
                .with_blobs(blobs.clone());
            let up = adapter
                .connect()
                .await
                .context("cannot register the e-mail outbox")?;
            Some((adapter, up))
        }
        None => None,
    };
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
        },
    );
    let portal = match &email {
        Some((adapter, _)) => portal.with_mailer(Arc::new(MailLinks(adapter.clone()))),
        None => portal,
    };
    let requests = Arc::new(http::RequestCounter::default());
    let mut app = portal.router();
    let slack = match &config.slack {
        Some(settings) => {
            let adapter = SlackAdapter::new(engine.clone(), settings.clone())
                .context("cannot set up the Slack client")?;
            let me = adapter
                .connect()
                .await
                .context("cannot connect to Slack (check SLACK_BOT_TOKEN and SLACK_API_URL)")?;
            if settings.app_token.is_none() {
                app = app.merge(threadesk_slack::router(adapter.clone()));
            }
            Some((adapter, me))
        }
        None => None,
    };
    let discord = match &config.discord {
        Some(settings) => {
            let adapter = DiscordAdapter::new(engine.clone(), settings.clone())
                .map_err(|e| anyhow::anyhow!("cannot set up the Discord client: {e}"))?;
            let me = adapter.connect().await.context(
                "cannot connect to Discord (check DISCORD_TOKEN, DISCORD_APPLICATION_ID, DISCORD_SUPPORT_CHANNEL and DISCORD_API_URL)",
            )?;
            app = app.merge(threadesk_discord::router(adapter.clone()));
            Some((adapter, me))
        }
        None => None,
    };
    if let Some((adapter, _)) = &email {
        app = app.merge(threadesk_email::router(adapter.clone()));
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
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on LISTEN_ADDR ({})", config.listen_addr))?;
    let bound = listener.local_addr()?;
    let url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    println!("threadesk: portal at {url}/ (listening on {bound})");
    if sign_in == SignIn::Local {
        println!(
            "threadesk: the portal is in local mode: pick a person at {url}/signin, no password"
        );
        if !bound.ip().is_loopback() {
            tracing::warn!(%bound, "local mode on a non-loopback address: anyone who reaches it can act as anyone");
        }
    }
    for (name, var) in config::PLATFORM_VARIABLES {
        match (name, &slack) {
            ("Discord", _) if discord.is_some() => {
                if let Some((adapter, me)) = &discord {
                    let mut modes = vec![];
                    if adapter.config().gateway {
                        modes.push("gateway".to_owned());
                    }
                    if adapter.config().public_key.is_some() {
                        modes.push(format!("interactions endpoint: {url}/discord/interactions"));
                    }
                    println!(
                        "threadesk: Discord: connected to server {} as {} ({}); tickets open in channel {}",
                        me.guild_id,
                        me.name,
                        modes.join(", "),
                        adapter.config().support_channel
                    );
                }
            }
            ("Slack", Some((adapter, me))) => {
                let mode = if adapter.config().app_token.is_some() {
                    "Socket Mode".to_owned()
                } else {
                    format!("HTTP mode: {url}/slack/commands, /slack/interactions, /slack/events")
                };
                println!(
                    "threadesk: Slack: connected to workspace {} as bot user {} ({mode})",
                    me.team_id, me.user_id
                );
            }
            _ if config.platforms.contains(&name) => {
                println!(
                    "threadesk: {name}: {var} is set, but this build has no {name} adapter yet"
                );
            }
            _ => println!("threadesk: {name}: not configured (set {var} to connect)"),
        }
    }

    match &email {
        Some((adapter, up)) => println!(
            "threadesk: E-mail: sending through {}:{} as {}{}",
            adapter.config().host,
            adapter.config().port,
            adapter.config().from,
            match (adapter.config().inbound_secret.is_some(), *up) {
                (true, true) => format!("; replies by e-mail at {url}/email/inbound"),
                (true, false) => format!("; replies by e-mail at {url}/email/inbound (the SMTP server does not answer yet; mail waits in the outbox)"),
                (false, true) => String::new(),
                (false, false) => " (the SMTP server does not answer yet; mail waits in the outbox)".to_owned(),
            }
        ),
        None => println!("threadesk: E-mail: off (set SMTP_URL and MAIL_FROM to send ticket mail)"),
    }

    let mut tasks = JoinSet::new();
    if let Some((adapter, _)) = email {
        tasks.spawn(async move {
            adapter.run_outbound(std::future::pending()).await;
            ("e-mail outbox worker", Ok(()))
        });
    }
    if let Some((adapter, _)) = slack {
        let worker = adapter.mirror();
        tasks.spawn(async move {
            worker.run_outbound(std::future::pending()).await;
            ("slack outbox worker", Ok(()))
        });
        if adapter.config().app_token.is_some() {
            tasks.spawn(async move {
                adapter.run_socket_mode(std::future::pending()).await;
                ("slack socket mode client", Ok(()))
            });
        }
    }
    if let Some((adapter, _)) = discord {
        let worker = adapter.mirror();
        tasks.spawn(async move {
            worker.run_outbound(std::future::pending()).await;
            ("discord outbox worker", Ok(()))
        });
        if adapter.config().gateway {
            tasks.spawn(async move {
                adapter.run_gateway(std::future::pending()).await;
                (
                    "discord gateway client",
                    Err(anyhow::anyhow!("the gateway connection ended")),
                )
            });
        }
    }
    tasks.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await;
        ("http listener", served.map_err(anyhow::Error::from))
    });
    // the first task to end decides: a clean stop after a signal, or a
    // failure that stops the whole process rather than leaving it half-alive.
    let first = tasks.join_next().await;
    let outcome = match first {
        Some(Ok((name, Ok(())))) => {
            tracing::info!(task = name, "stopped after a shutdown signal");
            Ok(())
        }
        Some(Ok((name, Err(e)))) => Err(e.context(format!("the {name} failed"))),
        Some(Err(e)) => Err(anyhow::anyhow!("a task panicked or was cancelled: {e}")),
        None => Ok(()),
    };
    tasks.abort_all();
    // in-flight work was finished by the graceful shutdown; give other tasks
    // a moment to wind down.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    outcome
}

/// Portal sign-in links go out through the e-mail channel.
struct MailLinks(EmailAdapter);

impl threadesk_web::LinkMailer for MailLinks {
    fn send_sign_in<'a>(
        &'a self,
        to: &'a str,
        token: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(self.0.send_sign_in(to, token))
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received: finishing in-flight requests"),
        () = term => tracing::info!("SIGTERM received: finishing in-flight requests"),
    }
}
