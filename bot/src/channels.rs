//! The ways in and out of Threadesk besides the portal (chat platforms and
//! e-mail), each as one [`Channel`]: its name, the routes it adds to the
//! listener, its start-up line, and the tasks it runs until shutdown.
//! `main` wires a list of them and names none.

use crate::config::Config;
use anyhow::Context;
use axum::Router;
use std::future::Future;
use std::pin::Pin;
use threadesk_core::outbox::Consumer;
use threadesk_core::Engine;
use threadesk_discord::DiscordAdapter;
use threadesk_email::EmailAdapter;
use threadesk_slack::SlackAdapter;
use threadesk_teams::TeamsAdapter;
use threadesk_web::BlobStore;
use tokio::sync::watch;

/// Resolves once shutdown was asked for; cheap to clone.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and its trigger.
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Waits until shutdown is asked for (or its trigger is gone).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

type TaskFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A long-running task of a channel.
pub struct Task {
    /// Its name in logs and errors.
    pub name: &'static str,
    /// Runs until the shutdown signal; an end before it stops the process.
    pub run: Box<dyn FnOnce(Shutdown) -> TaskFuture + Send>,
}

impl Task {
    fn new<F, Fut>(name: &'static str, run: F) -> Task
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Task {
            name,
            run: Box::new(move |s| Box::pin(run(s))),
        }
    }
}

/// One connected way in and out.
pub struct Channel {
    /// Its name, as the start-up lines say it.
    pub name: &'static str,
    /// Routes it adds to the listener.
    pub router: Option<Router>,
    /// Its start-up line, given the public base URL.
    pub banner: Box<dyn Fn(&str) -> String + Send>,
    /// What it runs until shutdown.
    pub tasks: Vec<Task>,
}

/// An outbox worker: finishes the step in hand when shutdown is asked for.
fn worker<C: Consumer + Send + 'static>(name: &'static str, consumer: C) -> Task {
    Task::new(name, move |stop| async move {
        consumer.run_outbound(stop.wait()).await;
        Ok(())
    })
}

/// Takes up the chat requests acknowledged first whose process died (or
/// whose answer waits to be tried again).
fn late_answers<L: threadesk_chat::late::LateAnswers>(
    name: &'static str,
    runner: threadesk_chat::late::AckFirst,
    adapter: L,
) -> Task {
    Task::new(name, move |stop| async move {
        runner.recover(adapter, stop.wait()).await;
        Ok(())
    })
}

/// The e-mail channel, when SMTP is configured.
pub async fn email(
    config: &Config,
    engine: &Engine,
    blobs: &BlobStore,
) -> anyhow::Result<Option<(Channel, EmailAdapter)>> {
    let Some(settings) = &config.email else {
        return Ok(None);
    };
    let adapter = EmailAdapter::new(engine.clone(), settings.clone())
        .map_err(|e| anyhow::anyhow!("cannot set up the SMTP client: {e}"))?
        .with_blobs(blobs.clone());
    let up = adapter
        .connect()
        .await
        .context("cannot register the e-mail outbox")?;
    let shown = adapter.clone();
    let channel = Channel {
        name: "E-mail",
        router: Some(threadesk_email::router(adapter.clone())),
        banner: Box::new(move |url| {
            let c = shown.config();
            let waiting = " (the SMTP server does not answer yet; mail waits in the outbox)";
            let inbound = match (c.inbound_secret.is_some(), up) {
                (true, true) => format!("; replies by e-mail at {url}/email/inbound"),
                (true, false) => format!("; replies by e-mail at {url}/email/inbound{waiting}"),
                (false, true) => String::new(),
                (false, false) => waiting.to_owned(),
            };
            format!(
                "sending through {}:{} as {}{inbound}",
                c.host, c.port, c.from
            )
        }),
        tasks: vec![worker("e-mail outbox worker", adapter.clone())],
    };
    Ok(Some((channel, adapter)))
}

/// The Slack channel, when a bot token is configured.
pub async fn slack(config: &Config, engine: &Engine) -> anyhow::Result<Option<Channel>> {
    let Some(settings) = &config.slack else {
        return Ok(None);
    };
    let adapter = SlackAdapter::new(engine.clone(), settings.clone())
        .context("cannot set up the Slack client")?;
    let me = adapter
        .connect()
        .await
        .context("cannot connect to Slack (check SLACK_BOT_TOKEN and SLACK_API_URL)")?;
    for channel in adapter.public_staff_channels().await {
        tracing::warn!(
            channel = %channel,
            "Slack: staff channel {channel} is public: anyone who joins it becomes staff and reads internal notes; make it private"
        );
    }
    let socket = settings.app_token.is_some();
    let mut tasks = vec![
        worker("slack outbox worker", adapter.mirror()),
        late_answers(
            "slack late answers",
            adapter.acknowledge_first(),
            adapter.clone(),
        ),
    ];
    if socket {
        let client = adapter.clone();
        tasks.push(Task::new(
            "slack socket mode client",
            move |stop| async move {
                client.run_socket_mode(stop.wait()).await;
                Ok(())
            },
        ));
    }
    Ok(Some(Channel {
        name: "Slack",
        router: (!socket).then(|| threadesk_slack::router(adapter.clone())),
        banner: Box::new(move |url| {
            let mode = if socket {
                "Socket Mode".to_owned()
            } else {
                format!("HTTP mode: {url}/slack/commands, /slack/interactions, /slack/events")
            };
            format!(
                "connected to workspace {} as bot user {} ({mode})",
                me.team_id, me.user_id
            )
        }),
        tasks,
    }))
}

/// The Discord channel, when a bot token is configured.
pub async fn discord(config: &Config, engine: &Engine) -> anyhow::Result<Option<Channel>> {
    let Some(settings) = &config.discord else {
        return Ok(None);
    };
    let adapter = DiscordAdapter::new(engine.clone(), settings.clone())
        .map_err(|e| anyhow::anyhow!("cannot set up the Discord client: {e}"))?;
    let me = adapter.connect().await.context(
        "cannot connect to Discord (check DISCORD_TOKEN, DISCORD_APPLICATION_ID, DISCORD_SUPPORT_CHANNEL and DISCORD_API_URL)",
    )?;
    let mut tasks = vec![
        worker("discord outbox worker", adapter.mirror()),
        late_answers(
            "discord late answers",
            adapter.acknowledge_first(),
            adapter.clone(),
        ),
    ];
    if settings.gateway {
        let client = adapter.clone();
        tasks.push(Task::new(
            "discord gateway client",
            move |stop| async move {
                let stopped = stop.clone();
                client.run_gateway(stop.wait()).await;
                if *stopped.0.borrow() {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("the gateway connection ended"))
                }
            },
        ));
    }
    let (gateway, public_key, support) = (
        settings.gateway,
        settings.public_key.is_some(),
        settings.support_channel,
    );
    Ok(Some(Channel {
        name: "Discord",
        router: Some(threadesk_discord::router(adapter.clone())),
        banner: Box::new(move |url| {
            let mut modes = vec![];
            if gateway {
                modes.push("gateway".to_owned());
            }
            if public_key {
                modes.push(format!("interactions endpoint: {url}/discord/interactions"));
            }
            format!(
                "connected to server {} as {} ({}); tickets open in channel {support}",
                me.guild_id,
                me.name,
                modes.join(", "),
            )
        }),
        tasks,
    }))
}

/// The Teams channel, when an app id is configured.
pub async fn teams(
    config: &Config,
    engine: &Engine,
    blobs: &BlobStore,
) -> anyhow::Result<Option<Channel>> {
    let Some(settings) = &config.teams else {
        return Ok(None);
    };
    let adapter = TeamsAdapter::new(engine.clone(), settings.clone())
        .context("cannot set up the Teams client")?;
    adapter.keep_files_in(blobs.clone());
    adapter.connect().await.context(
        "cannot connect to Teams (check TEAMS_APP_ID, TEAMS_APP_PASSWORD, TEAMS_TENANT_ID and TEAMS_LOGIN_URL)",
    )?;
    let tenant = settings.tenant_id.clone();
    let staff = settings
        .staff_channel
        .clone()
        .unwrap_or_else(|| "none (set TEAMS_STAFF_CHANNEL)".to_owned());
    Ok(Some(Channel {
        name: "Teams",
        router: Some(threadesk_teams::router(adapter.clone())),
        banner: Box::new(move |url| {
            format!(
                "signed in to tenant {tenant}; messaging endpoint {url}/teams/messages; triage channel {staff}"
            )
        }),
        tasks: vec![worker("teams outbox worker", adapter.mirror())],
    }))
}

/// How long a stored file may go unreferenced before it is swept (an
/// upload in progress, or a message being committed, is younger).
const BLOB_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);
/// How often stored files are swept.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// How long a delivery intent a crash left behind is kept (its record, if
/// any, wins anyway; a retry after that long finds nothing to ask about).
const INTENT_KEEP: i64 = 7 * 24 * 3600 * 1000;

/// The longest the automatic-closing worker sleeps between looks: a step
/// that another replica made due (a resumed ticket) waits no longer.
const AUTO_CLOSE_LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Reminds quiet customers and closes their tickets when due (every
/// replica runs it; each step is taken by one).
pub fn auto_close(engine: &Engine) -> Channel {
    let engine = engine.clone();
    let worker = Task::new("automatic closing", move |stop| async move {
        let stopping = stop.wait();
        tokio::pin!(stopping);
        loop {
            match engine.run_auto_close(100).await {
                Ok(run) if run.reminded + run.closed > 0 => {
                    tracing::info!(
                        reminded = run.reminded,
                        closed = run.closed,
                        "automatic closing"
                    );
                    // more may be due at once.
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "automatic closing did not run"),
            }
            let next = match engine.next_auto_close().await {
                Ok(Some(at)) => {
                    let ms = (at.0 - engine.now().0).max(0) / 1000;
                    std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0) + 50)
                }
                _ => AUTO_CLOSE_LOOK_EVERY,
            };
            tokio::select! {
                () = &mut stopping => return Ok(()),
                () = tokio::time::sleep(next.min(AUTO_CLOSE_LOOK_EVERY)) => {}
            }
        }
    });
    Channel {
        name: "Automatic closing",
        router: None,
        banner: Box::new(|_| {
            "reminding quiet customers and closing their tickets when due".to_owned()
        }),
        tasks: vec![worker],
    }
}

/// Housekeeping: files in the blob store that no attachment refers to
/// (a refused form, a crash mid-upload) are removed at start-up and every
/// hour, once older than an hour; delivery intents a crash left open go
/// after a week; on SQLite, new words go into the search indexes every
/// second.
pub fn housekeeping(engine: &Engine, blobs: &BlobStore) -> Channel {
    let sqlite = engine.db().backend() == threadesk_core::Backend::Sqlite;
    let mut tasks = Vec::new();
    if sqlite {
        tasks.push(search_indexer(engine));
    }
    let (engine, blobs) = (engine.clone(), blobs.clone());
    let sweeper = Task::new("blob sweeper", move |stop| async move {
        let stopping = stop.wait();
        tokio::pin!(stopping);
        loop {
            match engine.system().blob_links().await {
                Ok(referenced) => match blobs.sweep(&referenced, BLOB_GRACE).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(files = n, "unreferenced files removed"),
                    Err(e) => tracing::warn!(error = %e, "blob store not swept"),
                },
                Err(e) => tracing::warn!(error = %e, "blob store not swept"),
            }
            let outbox = threadesk_core::outbox::Outbox::new(engine.db().clone());
            let before = threadesk_core::time::Timestamp::now().plus_millis(-INTENT_KEEP);
            match outbox.sweep_intents(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(intents = n, "stale delivery intents removed"),
                Err(e) => tracing::warn!(error = %e, "delivery intents not swept"),
            }
            tokio::select! {
                () = &mut stopping => return Ok(()),
                () = tokio::time::sleep(SWEEP_EVERY) => {}
            }
        }
    });
    tasks.push(sweeper);
    Channel {
        name: "Housekeeping",
        router: None,
        banner: Box::new(move |_| {
            let hourly = "sweeping unreferenced files and stale delivery intents hourly";
            if sqlite {
                format!("{hourly}, indexing new words for search every second")
            } else {
                hourly.to_owned()
            }
        }),
        tasks,
    }
}

/// How often new messages and subjects go into the search indexes on
/// SQLite (a search indexes whatever is left first: this keeps that
/// little).
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Puts the words written since into the search indexes, every second.
fn search_indexer(engine: &Engine) -> Task {
    let engine = engine.clone();
    Task::new("search indexer", move |stop| async move {
        let stopping = stop.wait();
        tokio::pin!(stopping);
        loop {
            if let Err(e) = engine.index_new_words().await {
                tracing::warn!(error = %e, "new words not indexed for search");
            }
            tokio::select! {
                () = &mut stopping => return Ok(()),
                () = tokio::time::sleep(INDEX_EVERY) => {}
            }
        }
    })
}
