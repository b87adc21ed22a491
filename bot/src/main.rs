//! `threadesk`: the help desk that lives in chat, in one binary.
//!
//! For now it opens the database, applies the migrations and reports which
//! platform adapters are configured; the adapters and the web portal plug in
//! here as they land.
#![forbid(unsafe_code)]

mod config;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{redact_url, Config};
use threadesk_core::db::{Db, DbOptions};

/// A help desk that lives in chat.
#[derive(Debug, Parser)]
#[command(name = "threadesk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open the database, apply migrations and start (the default).
    Run,
    /// Apply the database migrations and exit.
    Migrate,
}

/// The platform variables the adapters will read; none is implemented yet.
const ADAPTER_VARIABLES: [(&str, &str); 2] =
    [("Slack", "SLACK_BOT_TOKEN"), ("Discord", "DISCORD_TOKEN")];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = Config::load()?;
    let db = Db::connect(&config.database_url, DbOptions::default())
        .await
        .with_context(|| format!("opening {}", redact_url(&config.database_url)))?;
    db.migrate().await?;
    tracing::info!(database = %redact_url(&config.database_url), backend = db.backend().name(), "database ready");
    match cli.command.unwrap_or(Command::Run) {
        Command::Migrate => println!("migrations applied to {}", redact_url(&config.database_url)),
        Command::Run => {
            let configured: Vec<&str> = ADAPTER_VARIABLES
                .iter()
                .filter(|(_, var)| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))
                .map(|(name, _)| *name)
                .collect();
            if configured.is_empty() {
                println!("threadesk: database ready; no adapter is configured (Slack and Discord are not set up yet), nothing to run");
            } else {
                println!(
                    "threadesk: database ready; {} credentials found, but this build has no adapter for them yet",
                    configured.join(" and ")
                );
            }
        }
    }
    db.close().await;
    Ok(())
}
