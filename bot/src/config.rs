//! Configuration: read once, from `.env` (if present) and then the
//! environment. A malformed variable stops start-up with a message that
//! names it; secrets never show in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use threadesk_discord::config as discord;
use threadesk_discord::DiscordConfig;
use threadesk_email::EmailConfig;
use threadesk_slack::config::parse_department_channels;
use threadesk_slack::SlackConfig;
use threadesk_teams::config as teams;
use threadesk_teams::TeamsConfig;

/// The default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://threadesk.db?mode=rwc";

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable is present but unusable.
    #[error("{name} is not valid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// For people at a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// How people sign in to the web portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalSignIn {
    /// A persona switcher (trying Threadesk locally).
    Local,
    /// Sign-in links by e-mail.
    Link,
}

/// The whole configuration.
#[derive(Clone)]
pub struct Config {
    /// Where the data lives (may hold a password).
    pub database_url: String,
    /// How many tickets one requester may have open at once.
    pub max_open_tickets: u32,
    /// Where the HTTP listener binds.
    pub listen_addr: SocketAddr,
    /// The address people reach the portal at, if it differs from the
    /// listener's (behind a proxy).
    pub public_url: Option<String>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// How people sign in to the portal.
    pub portal_sign_in: PortalSignIn,
    /// Signs portal sessions (secret).
    pub session_secret: Option<String>,
    /// Where uploaded files are kept.
    pub blob_dir: PathBuf,
    /// The largest upload request, in bytes.
    pub max_upload_bytes: usize,
    /// A portal session ends after this long without a request.
    pub session_idle: std::time::Duration,
    /// A portal session ends this long after signing in.
    pub session_max: std::time::Duration,
    /// Whether customers see who handles their ticket (`SHOW_OWNER_TO_CUSTOMERS`).
    pub show_owner_to_customers: bool,
    /// How soon staff should answer (`SERVICE_TARGETS`, `BUSINESS_HOURS`,
    /// `BUSINESS_TIMEZONE`).
    pub service: threadesk_core::service::ServiceTargets,
    /// When tickets waiting on a quiet customer are reminded and closed
    /// (`AUTO_CLOSE`: `7d/3d`, or `default=7d/3d, Billing=14d/7d, Sales=off`;
    /// off when unset).
    pub auto_close: threadesk_core::autoclose::AutoClose,
    /// How long a claimed outbox event is this replica's before another
    /// takes it over (`OUTBOX_LEASE_MS`, default 5,000).
    pub outbox_lease: std::time::Duration,
    /// How many outbox events (each of another ticket) a worker delivers
    /// at once (`OUTBOX_PARALLEL`, default 8, 1 to 20).
    pub outbox_parallel: usize,
    /// The most connections that read the database at once
    /// (`DATABASE_MAX_CONNECTIONS`, 1 to 100): on SQLite the reading
    /// connections beside the one that writes, on PostgreSQL the pool's.
    /// Unset: the backend's default
    /// (`threadesk_core::db::DbOptions::default_max_connections`).
    pub database_max_connections: Option<u32>,
    /// Which platforms have credentials (by name).
    pub platforms: Vec<&'static str>,
    /// The Slack adapter's settings, when `SLACK_BOT_TOKEN` is set.
    pub slack: Option<SlackConfig>,
    /// The Discord adapter's settings, when `DISCORD_TOKEN` is set.
    pub discord: Option<DiscordConfig>,
    /// The e-mail channel's settings, when `SMTP_URL` is set.
    pub email: Option<EmailConfig>,
    /// The Teams adapter's settings, when `TEAMS_APP_ID` is set.
    pub teams: Option<TeamsConfig>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("max_open_tickets", &self.max_open_tickets)
            .field("listen_addr", &self.listen_addr)
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("portal_sign_in", &self.portal_sign_in)
            .field(
                "session_secret",
                &self.session_secret.as_ref().map(|_| "***"),
            )
            .field("blob_dir", &self.blob_dir)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("session_idle", &self.session_idle)
            .field("session_max", &self.session_max)
            .field("outbox_lease", &self.outbox_lease)
            .field("outbox_parallel", &self.outbox_parallel)
            .field("database_max_connections", &self.database_max_connections)
            .field("show_owner_to_customers", &self.show_owner_to_customers)
            .field("service", &self.service)
            .field("auto_close", &self.auto_close)
            .field("platforms", &self.platforms)
            .field("slack", &self.slack)
            .field("discord", &self.discord)
            .field("email", &self.email)
            .field("teams", &self.teams)
            .finish()
    }
}

/// The platform credentials that say a platform is configured.
pub const PLATFORM_VARIABLES: [(&str, &str); 3] = [
    ("Slack", "SLACK_BOT_TOKEN"),
    ("Discord", "DISCORD_TOKEN"),
    ("Teams", "TEAMS_APP_ID"),
];

/// A switch: `on` / `off` (or true / false, 1 / 0).
fn on_off(name: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(invalid(name, format!("{other:?} is not on or off"))),
    }
}

/// A whole number within `range`.
fn number_from<T>(
    name: &'static str,
    raw: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display,
{
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            invalid(
                name,
                format!(
                    "{raw:?} is not a number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// `127.0.0.1:8080`, `[::1]:8080`, or a host name with a port
/// (`localhost:8080`), resolved once; IPv4 first where a name has both.
fn listen_address(text: &str) -> Option<SocketAddr> {
    if let Ok(addr) = text.parse() {
        return Some(addr);
    }
    let (host, port) = text.rsplit_once(':')?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return None;
    }
    use std::net::ToSocketAddrs;
    let all: Vec<SocketAddr> = text.to_socket_addrs().ok()?.collect();
    all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// A URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let Some((user, _password)) = userinfo.split_once(':') else {
        return url.to_owned();
    };
    let slash = if rest.contains('/') { "/" } else { "" };
    format!("{scheme}://{user}:***@{host}{slash}{tail}")
}

impl Config {
    /// Reads `.env` (when present) and then the environment.
    pub fn load() -> Result<Config, ConfigError> {
        // a missing .env is fine; the environment may carry everything.
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from a variable lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let database_url = get("DATABASE_URL")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if threadesk_core::Backend::of_url(&database_url).is_none() {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "use sqlite://FILE or postgres://USER@HOST/DB".into(),
            });
        }
        let max_open_tickets = match get("MAX_OPEN_TICKETS_PER_REQUESTER") {
            None => threadesk_core::Settings::default().max_open_tickets_per_requester,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError::Invalid {
                    name: "MAX_OPEN_TICKETS_PER_REQUESTER",
                    reason: format!("{v:?} is not a positive whole number"),
                })?,
        };
        let value = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let listen_addr = match value("LISTEN_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => listen_address(v.trim()).ok_or_else(|| {
                invalid(
                    "LISTEN_ADDR",
                    format!("{v:?} is not an address like 127.0.0.1:8080 or localhost:8080"),
                )
            })?,
        };
        let public_url = match value("PUBLIC_URL") {
            None => None,
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v.trim().trim_end_matches('/').to_owned())
            }
            Some(v) => {
                return Err(invalid(
                    "PUBLIC_URL",
                    format!("{v:?} must start with http:// or https://"),
                ))
            }
        };
        let log_format = match value("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(v) => return Err(invalid("LOG_FORMAT", format!("{v:?}: use pretty or json"))),
        };
        let portal_sign_in = match value("PORTAL_SIGN_IN").as_deref().map(str::trim) {
            None | Some("local") => PortalSignIn::Local,
            Some("link") => PortalSignIn::Link,
            Some(v) => {
                return Err(invalid(
                    "PORTAL_SIGN_IN",
                    format!("{v:?}: use local or link"),
                ))
            }
        };
        let session_secret = value("SESSION_SECRET");
        if let Some(secret) = &session_secret {
            if secret.trim().len() < 32 {
                return Err(invalid(
                    "SESSION_SECRET",
                    "use at least 32 random characters",
                ));
            }
        }
        if portal_sign_in == PortalSignIn::Link && session_secret.is_none() {
            return Err(invalid(
                "SESSION_SECRET",
                "is required when PORTAL_SIGN_IN=link, so sessions survive restarts and replicas agree",
            ));
        }
        let blob_dir = value("BLOB_DIR")
            .map(|v| PathBuf::from(v.trim()))
            .unwrap_or_else(|| PathBuf::from("threadesk-blobs"));
        let max_upload_bytes = match value("MAX_UPLOAD_BYTES") {
            None => 25 * 1024 * 1024,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n >= 1024)
                .ok_or_else(|| {
                    invalid(
                        "MAX_UPLOAD_BYTES",
                        format!("{v:?} is not a number of bytes (at least 1024)"),
                    )
                })?,
        };
        let minutes =
            |name: &'static str, default: u64| -> Result<std::time::Duration, ConfigError> {
                match value(name) {
                    None => Ok(std::time::Duration::from_secs(default * 60)),
                    Some(v) => v
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .map(|n| std::time::Duration::from_secs(n * 60))
                        .ok_or_else(|| {
                            invalid(name, format!("{v:?} is not a positive number of minutes"))
                        }),
                }
            };
        let session_idle = minutes("SESSION_IDLE_MINUTES", 8 * 60)?;
        let session_max = minutes("SESSION_MAX_MINUTES", 7 * 24 * 60)?;
        let show_owner_to_customers = match value("SHOW_OWNER_TO_CUSTOMERS") {
            None => false,
            Some(v) => on_off("SHOW_OWNER_TO_CUSTOMERS", &v)?,
        };
        let service = threadesk_core::service::ServiceTargets::parse(
            &value("SERVICE_TARGETS").unwrap_or_default(),
            value("BUSINESS_HOURS").as_deref(),
            value("BUSINESS_TIMEZONE").as_deref(),
        )
        .map_err(|why| {
            let name = if why.contains("time zone") {
                "BUSINESS_TIMEZONE"
            } else if why.contains("weekday") || why.contains("09:00") || why.contains("day must") {
                "BUSINESS_HOURS"
            } else {
                "SERVICE_TARGETS"
            };
            invalid(name, why)
        })?;
        if value("BUSINESS_TIMEZONE").is_some() && service.hours().is_none() {
            return Err(invalid(
                "BUSINESS_TIMEZONE",
                "it is the time zone of BUSINESS_HOURS: set those too",
            ));
        }
        if !service.is_on() && value("BUSINESS_HOURS").is_some() {
            return Err(invalid(
                "BUSINESS_HOURS",
                "business hours count only towards service targets: set SERVICE_TARGETS too",
            ));
        }
        let auto_close =
            threadesk_core::autoclose::AutoClose::parse(&value("AUTO_CLOSE").unwrap_or_default())
                .map_err(|why| invalid("AUTO_CLOSE", why))?;
        let outbox_lease = match value("OUTBOX_LEASE_MS") {
            None => threadesk_core::outbox::LEASE,
            Some(v) => {
                let min = threadesk_core::outbox::MIN_LEASE.as_millis();
                v.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| u128::from(*n) >= min)
                    .map(std::time::Duration::from_millis)
                    .ok_or_else(|| {
                        invalid(
                            "OUTBOX_LEASE_MS",
                            format!("{v:?} is not a number of milliseconds of at least {min}"),
                        )
                    })?
            }
        };
        let most = threadesk_core::outbox::BATCH as usize;
        let outbox_parallel = match value("OUTBOX_PARALLEL") {
            None => threadesk_core::outbox::PARALLEL,
            Some(v) => number_from("OUTBOX_PARALLEL", &v, 1..=most)?,
        };
        let database_max_connections = value("DATABASE_MAX_CONNECTIONS")
            .map(|v| number_from("DATABASE_MAX_CONNECTIONS", &v, 1..=100))
            .transpose()?;
        let platforms = PLATFORM_VARIABLES
            .iter()
            .filter(|(_, var)| value(var).is_some())
            .map(|(name, _)| *name)
            .collect();
        // transcripts posted to chat link to the portal, as mails do.
        let portal = public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen_addr}"));
        let slack = slack_config(&value, &portal)?;
        let discord = discord_config(&value, &portal)?;
        let teams = teams_config(&value)?;
        let email = email_config(
            &value,
            public_url.as_deref(),
            listen_addr,
            session_secret.as_deref(),
        )?;
        Ok(Config {
            slack,
            discord,
            teams,
            email,
            database_url,
            max_open_tickets,
            listen_addr,
            public_url,
            log_format,
            portal_sign_in,
            session_secret,
            blob_dir,
            max_upload_bytes,
            session_idle,
            session_max,
            outbox_lease,
            outbox_parallel,
            database_max_connections,
            show_owner_to_customers,
            service,
            auto_close,
            platforms,
        })
    }
}

/// `TEAMS_*`: the adapter runs when `TEAMS_APP_ID` is set.
fn teams_config(
    value: &impl Fn(&str) -> Option<String>,
) -> Result<Option<TeamsConfig>, ConfigError> {
    let Some(app_id) = value("TEAMS_APP_ID").map(|v| v.trim().to_owned()) else {
        return Ok(None);
    };
    let guid = |name: &'static str, v: &str| {
        let ok = v.len() == 36
            && v.chars().enumerate().all(|(i, c)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if ok {
            Ok(())
        } else {
            Err(invalid(
                name,
                format!("{v:?} is not an id like 00000000-0000-0000-0000-000000000000"),
            ))
        }
    };
    guid("TEAMS_APP_ID", &app_id)?;
    let password = value("TEAMS_APP_PASSWORD").ok_or_else(|| {
        invalid(
            "TEAMS_APP_PASSWORD",
            "is required with TEAMS_APP_ID (the app registration's client secret)",
        )
    })?;
    let tenant = value("TEAMS_TENANT_ID")
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| {
            invalid(
                "TEAMS_TENANT_ID",
                "is required with TEAMS_APP_ID (the bot's home tenant)",
            )
        })?;
    guid("TEAMS_TENANT_ID", &tenant)?;
    let mut c = TeamsConfig::new(app_id, password.trim(), tenant);
    let conversation = |name: &'static str, v: String| {
        let v = v.trim().to_owned();
        if v.starts_with("19:") && !v.contains(char::is_whitespace) {
            Ok(v)
        } else {
            Err(invalid(
                name,
                format!("{v:?} is not a channel's conversation id (19:…@thread.tacv2)"),
            ))
        }
    };
    c.staff_channel = value("TEAMS_STAFF_CHANNEL")
        .map(|v| conversation("TEAMS_STAFF_CHANNEL", v))
        .transpose()?;
    if let Some(map) = value("TEAMS_DEPARTMENT_CHANNELS") {
        c.department_channels = teams::parse_department_channels(&map)
            .map_err(|e| invalid("TEAMS_DEPARTMENT_CHANNELS", e.to_string()))?;
        for channel in c.department_channels.values() {
            conversation("TEAMS_DEPARTMENT_CHANNELS", channel.clone())?;
        }
    }
    let url = |name: &'static str| -> Result<Option<String>, ConfigError> {
        value(name)
            .map(|v| {
                teams::parse_url(&v)
                    .map(|u| u.as_str().trim_end_matches('/').to_owned())
                    .map_err(|e| invalid(name, e.to_string()))
            })
            .transpose()
    };
    if let Some(u) = url("TEAMS_SERVICE_URL")? {
        c.service_url = format!("{u}/");
    }
    if let Some(u) = url("TEAMS_LOGIN_URL")? {
        c.login_url = u;
    }
    if let Some(u) = url("TEAMS_OPENID_URL")? {
        c.openid_url = u;
    }
    if let Some(v) = value("TEAMS_TRUSTED_SERVICE_URLS") {
        c.trusted_origins = teams::parse_origins(&v)
            .map_err(|e| invalid("TEAMS_TRUSTED_SERVICE_URLS", e.to_string()))?;
    }
    Ok(Some(c))
}

/// `SLACK_*`: the adapter runs when `SLACK_BOT_TOKEN` is set.
fn slack_config(
    value: &impl Fn(&str) -> Option<String>,
    portal: &str,
) -> Result<Option<SlackConfig>, ConfigError> {
    let Some(token) = value("SLACK_BOT_TOKEN") else {
        return Ok(None);
    };
    let token = token.trim().to_owned();
    if !token.starts_with("xox") {
        return Err(invalid("SLACK_BOT_TOKEN", "a bot token starts with xoxb-"));
    }
    let app_token = value("SLACK_APP_TOKEN").map(|t| t.trim().to_owned());
    if app_token.as_ref().is_some_and(|t| !t.starts_with("xapp-")) {
        return Err(invalid(
            "SLACK_APP_TOKEN",
            "an app-level token starts with xapp-",
        ));
    }
    let secret = value("SLACK_SIGNING_SECRET").map(|s| s.trim().to_owned());
    if secret.is_none() && app_token.is_none() {
        return Err(invalid(
            "SLACK_SIGNING_SECRET",
            "is required for HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
        ));
    }
    let mut slack = SlackConfig::new(token, secret.unwrap_or_default());
    slack.app_token = app_token;
    if let Some(url) = value("SLACK_API_URL") {
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(invalid(
                "SLACK_API_URL",
                format!("{url:?} must start with https:// or http://"),
            ));
        }
        slack.api_url = url.to_owned();
    }
    slack.staff_channel = value("SLACK_STAFF_CHANNEL").map(|c| c.trim().to_owned());
    if let Some(map) = value("SLACK_DEPARTMENT_CHANNELS") {
        slack.department_channels = parse_department_channels(&map)
            .map_err(|e| invalid("SLACK_DEPARTMENT_CHANNELS", e.to_string()))?;
    }
    slack.transcript_channel = value("SLACK_TRANSCRIPT_CHANNEL").map(|c| c.trim().to_owned());
    slack.public_url = portal.to_owned();
    Ok(Some(slack))
}

/// `SMTP_URL`, `MAIL_*`: the e-mail channel runs when `SMTP_URL` is set.
fn email_config(
    value: &impl Fn(&str) -> Option<String>,
    public_url: Option<&str>,
    listen_addr: std::net::SocketAddr,
    session_secret: Option<&str>,
) -> Result<Option<EmailConfig>, ConfigError> {
    let Some(url) = value("SMTP_URL") else {
        return Ok(None);
    };
    let (host, port, security, credentials) =
        EmailConfig::parse_smtp_url(&url).map_err(|e| invalid("SMTP_URL", e.to_string()))?;
    let from = value("MAIL_FROM")
        .map(|f| f.trim().to_owned())
        .ok_or_else(|| {
            invalid(
                "MAIL_FROM",
                "is required with SMTP_URL (e.g. `Acme Support <help@acme.example>`)",
            )
        })?;
    let address = from
        .rsplit_once('<')
        .map_or(from.as_str(), |(_, a)| a.trim_end_matches('>'));
    let Some((_, from_domain)) = address
        .split_once('@')
        .filter(|(l, d)| !l.is_empty() && d.contains('.'))
    else {
        return Err(invalid(
            "MAIL_FROM",
            format!("{from:?} has no address like help@acme.example"),
        ));
    };
    let reply_domain =
        value("MAIL_REPLY_DOMAIN").map_or_else(|| from_domain.to_owned(), |d| d.trim().to_owned());
    if reply_domain.is_empty() || reply_domain.contains(['@', '/', ' ']) {
        return Err(invalid(
            "MAIL_REPLY_DOMAIN",
            "is a domain name, e.g. reply.acme.example",
        ));
    }
    let secret = value("MAIL_TOKEN_SECRET")
        .or_else(|| session_secret.map(str::to_owned))
        .ok_or_else(|| {
            invalid(
                "MAIL_TOKEN_SECRET",
                "is required with SMTP_URL (it signs reply addresses; or set SESSION_SECRET)",
            )
        })?;
    if secret.len() < 16 {
        return Err(invalid(
            "MAIL_TOKEN_SECRET",
            "must be at least 16 characters",
        ));
    }
    Ok(Some(EmailConfig {
        host,
        port,
        security,
        credentials,
        from,
        reply_domain,
        secret: secret.into_bytes(),
        inbound_secret: match value("INBOUND_EMAIL_SECRET") {
            Some(s) if s.trim().len() >= 16 => Some(s.trim().as_bytes().to_vec()),
            Some(_) => {
                return Err(invalid(
                    "INBOUND_EMAIL_SECRET",
                    "must be at least 16 characters",
                ))
            }
            None => None,
        },
        public_url: public_url.map_or_else(
            || format!("http://{listen_addr}"),
            |u| u.trim_end_matches('/').to_owned(),
        ),
    }))
}

/// `DISCORD_*`: the adapter runs when `DISCORD_TOKEN` is set.
fn discord_config(
    value: &impl Fn(&str) -> Option<String>,
    portal: &str,
) -> Result<Option<DiscordConfig>, ConfigError> {
    let Some(token) = value("DISCORD_TOKEN") else {
        return Ok(None);
    };
    let token = token.trim().trim_start_matches("Bot ").to_owned();
    if token.len() < 10 || token.contains(char::is_whitespace) {
        return Err(invalid(
            "DISCORD_TOKEN",
            "is not a bot token (Bot → Reset Token)",
        ));
    }
    let id = |name: &'static str| -> Result<Option<u64>, ConfigError> {
        value(name)
            .map(|v| discord::parse_snowflake(&v).map_err(|e| invalid(name, e.to_string())))
            .transpose()
    };
    let application = id("DISCORD_APPLICATION_ID")?
        .ok_or_else(|| invalid("DISCORD_APPLICATION_ID", "is required with DISCORD_TOKEN"))?;
    let support = id("DISCORD_SUPPORT_CHANNEL")?.ok_or_else(|| {
        invalid(
            "DISCORD_SUPPORT_CHANNEL",
            "is required with DISCORD_TOKEN (the channel ticket threads are created in)",
        )
    })?;
    let mut c = DiscordConfig::new(token, application, support);
    c.staff_role = id("DISCORD_STAFF_ROLE")?;
    c.staff_channel = id("DISCORD_STAFF_CHANNEL")?;
    c.transcript_channel = id("DISCORD_TRANSCRIPT_CHANNEL")?;
    c.public_url = portal.to_owned();
    if let Some(key) = value("DISCORD_PUBLIC_KEY") {
        c.public_key = Some(
            discord::parse_public_key(&key)
                .map_err(|e| invalid("DISCORD_PUBLIC_KEY", e.to_string()))?,
        );
    }
    if let Some(url) = value("DISCORD_API_URL") {
        c.api_url =
            discord::parse_api_url(&url).map_err(|e| invalid("DISCORD_API_URL", e.to_string()))?;
    }
    if let Some(path) = value("DISCORD_CA_CERT") {
        let pem = std::fs::read(path.trim())
            .map_err(|e| invalid("DISCORD_CA_CERT", format!("cannot read {path:?}: {e}")))?;
        c.extra_root_pem = Some(pem);
    }
    if let Some(g) = value("DISCORD_GATEWAY") {
        c.gateway = on_off("DISCORD_GATEWAY", &g)?;
    }
    if let Some(m) = value("DISCORD_MEMBER_EVENTS") {
        c.member_events = on_off("DISCORD_MEMBER_EVENTS", &m)?;
    }
    if !c.gateway && c.public_key.is_none() {
        return Err(invalid(
            "DISCORD_GATEWAY",
            "off needs DISCORD_PUBLIC_KEY, or nothing would reach the bot",
        ));
    }
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    /// Each `(name, value)` put over `base` is refused, naming `name`.
    fn each_refused_by_name(base: &[(&str, &str)], cases: &[(&'static str, &str)]) {
        for &(name, value) in cases {
            let mut vars = base.to_vec();
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            let e = load(&vars).unwrap_err();
            assert!(e.to_string().starts_with(name), "{name}: {e}");
        }
    }

    #[test]
    fn defaults_to_a_local_sqlite_file() {
        let c = load(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.max_open_tickets, 25);
    }

    #[test]
    fn a_bad_variable_is_named() {
        let e = load(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(e.to_string().starts_with("DATABASE_URL is not valid"));
        let e = load(&[("MAX_OPEN_TICKETS_PER_REQUESTER", "lots")]).unwrap_err();
        assert!(e.to_string().contains("MAX_OPEN_TICKETS_PER_REQUESTER"));
    }

    #[test]
    fn listener_and_portal_settings_are_checked() {
        let c = load(&[]).unwrap();
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8080");
        // a host name with a port is resolved (IPv4 first).
        let named = load(&[("LISTEN_ADDR", "localhost:9090")]).unwrap();
        assert_eq!(named.listen_addr.to_string(), "127.0.0.1:9090");
        assert_eq!(
            load(&[("LISTEN_ADDR", "[::1]:9090")])
                .unwrap()
                .listen_addr
                .to_string(),
            "[::1]:9090"
        );
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert_eq!(c.portal_sign_in, PortalSignIn::Local);
        assert!(c.platforms.is_empty());
        for (name, value) in [
            ("LISTEN_ADDR", "localhost"),
            ("LISTEN_ADDR", "localhost:http"),
            ("LISTEN_ADDR", ":8080"),
            ("LOG_FORMAT", "xml"),
            ("PUBLIC_URL", "example.com"),
            ("PORTAL_SIGN_IN", "magic"),
            ("SESSION_SECRET", "short"),
            ("MAX_UPLOAD_BYTES", "lots"),
        ] {
            let e = load(&[(name, value)]).unwrap_err();
            assert!(e.to_string().starts_with(name), "{e}");
        }
        let e = load(&[("PORTAL_SIGN_IN", "link")]).unwrap_err();
        assert!(e.to_string().starts_with("SESSION_SECRET"), "{e}");
        let c = load(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_SIGNING_SECRET", "abc"),
            ("PUBLIC_URL", "https://help.example.com/"),
        ])
        .unwrap();
        assert_eq!(c.platforms, vec!["Slack"]);
        assert_eq!(c.public_url.as_deref(), Some("https://help.example.com"));
    }

    #[test]
    fn email_settings_are_read_and_checked() {
        let base = [
            ("SMTP_URL", "smtp://u:pa%40ss@mail.acme.test"),
            ("MAIL_FROM", "Acme Support <help@acme.test>"),
            ("MAIL_TOKEN_SECRET", "a-long-enough-secret"),
        ];
        let c = load(&base).unwrap().email.unwrap();
        assert_eq!((c.host.as_str(), c.port), ("mail.acme.test", 587));
        assert_eq!(
            c.reply_domain, "acme.test",
            "the sender's domain by default"
        );
        assert_eq!(c.credentials.as_ref().unwrap().1, "pa@ss");
        let shown = format!("{:?}", load(&base).unwrap());
        assert!(
            !shown.contains("pa@ss") && !shown.contains("a-long-enough-secret"),
            "{shown}"
        );
        let mut more = base.to_vec();
        more.push(("MAIL_REPLY_DOMAIN", "reply.acme.test"));
        assert_eq!(
            load(&more).unwrap().email.unwrap().reply_domain,
            "reply.acme.test"
        );
        each_refused_by_name(
            &base,
            &[
                ("SMTP_URL", "http://mail.acme.test"),
                ("MAIL_FROM", "Acme Support"),
                ("MAIL_REPLY_DOMAIN", "help@acme.test"),
                ("MAIL_TOKEN_SECRET", "short"),
                ("INBOUND_EMAIL_SECRET", "short"),
            ],
        );
        let e = load(&base[..2]).unwrap_err();
        assert!(e.to_string().starts_with("MAIL_TOKEN_SECRET"), "{e}");
        assert!(load(&[]).unwrap().email.is_none(), "off without SMTP_URL");
    }

    #[test]
    fn session_limits_are_read_and_checked() {
        let c = load(&[]).unwrap();
        assert_eq!(c.session_idle, std::time::Duration::from_secs(8 * 3600));
        assert_eq!(c.session_max, std::time::Duration::from_secs(7 * 24 * 3600));
        let c = load(&[
            ("SESSION_IDLE_MINUTES", "30"),
            ("SESSION_MAX_MINUTES", "600"),
        ])
        .unwrap();
        assert_eq!(c.session_idle, std::time::Duration::from_secs(1800));
        assert_eq!(c.session_max, std::time::Duration::from_secs(36000));
        each_refused_by_name(
            &[],
            &[
                ("SESSION_IDLE_MINUTES", "0"),
                ("SESSION_MAX_MINUTES", "a week"),
            ],
        );
    }

    #[test]
    fn the_outbox_lease_is_read_and_checked() {
        assert_eq!(
            load(&[]).unwrap().outbox_lease,
            threadesk_core::outbox::LEASE
        );
        let c = load(&[("OUTBOX_LEASE_MS", "2000")]).unwrap();
        assert_eq!(c.outbox_lease, std::time::Duration::from_secs(2));
        each_refused_by_name(
            &[],
            &[("OUTBOX_LEASE_MS", "50"), ("OUTBOX_LEASE_MS", "soon")],
        );
        assert_eq!(
            load(&[]).unwrap().outbox_parallel,
            threadesk_core::outbox::PARALLEL
        );
        assert_eq!(
            load(&[("OUTBOX_PARALLEL", "1")]).unwrap().outbox_parallel,
            1
        );
        each_refused_by_name(
            &[],
            &[
                ("OUTBOX_PARALLEL", "0"),
                ("OUTBOX_PARALLEL", "21"),
                ("OUTBOX_PARALLEL", "many"),
            ],
        );
        assert_eq!(load(&[]).unwrap().database_max_connections, None);
        assert_eq!(
            load(&[("DATABASE_MAX_CONNECTIONS", " 4 ")])
                .unwrap()
                .database_max_connections,
            Some(4)
        );
        each_refused_by_name(
            &[],
            &[
                ("DATABASE_MAX_CONNECTIONS", "0"),
                ("DATABASE_MAX_CONNECTIONS", "101"),
                ("DATABASE_MAX_CONNECTIONS", "few"),
            ],
        );
        assert!(!load(&[]).unwrap().show_owner_to_customers);
        assert!(
            load(&[("SHOW_OWNER_TO_CUSTOMERS", "on")])
                .unwrap()
                .show_owner_to_customers
        );
        each_refused_by_name(&[], &[("SHOW_OWNER_TO_CUSTOMERS", "maybe")]);
    }

    #[test]
    fn service_targets_and_business_hours_are_read_and_checked() {
        assert!(!load(&[]).unwrap().service.is_on());
        let c = load(&[
            ("SERVICE_TARGETS", "default=4h/8h, Billing=1h/4h"),
            ("BUSINESS_HOURS", "mon-fri 09:00-17:00"),
            ("BUSINESS_TIMEZONE", "Europe/Berlin"),
        ])
        .unwrap();
        assert_eq!(c.service.target(Some("billing")).unwrap().first_minutes, 60);
        assert!(c.service.hours().is_some());
        each_refused_by_name(
            &[("SERVICE_TARGETS", "4h")],
            &[
                ("SERVICE_TARGETS", "soon"),
                ("BUSINESS_HOURS", "weekdays"),
                ("BUSINESS_TIMEZONE", "Nowhere/City"),
            ],
        );
        // business hours alone count towards nothing: said, not ignored.
        each_refused_by_name(&[], &[("BUSINESS_HOURS", "mon-fri 09:00-17:00")]);
    }

    #[test]
    fn automatic_closing_is_read_and_checked() {
        assert!(!load(&[]).unwrap().auto_close.is_on());
        assert!(!load(&[("AUTO_CLOSE", "")]).unwrap().auto_close.is_on());
        let c = load(&[("AUTO_CLOSE", "default=7d/3d, Billing=off")]).unwrap();
        assert_eq!(c.auto_close.periods(None).unwrap().close_after, 3 * 24 * 60);
        assert_eq!(c.auto_close.periods(Some("billing")), None);
        each_refused_by_name(&[], &[("AUTO_CLOSE", "a week")]);
    }

    #[test]
    fn teams_settings_are_read_and_checked() {
        let base = [
            ("TEAMS_APP_ID", "11111111-2222-3333-4444-555555555555"),
            ("TEAMS_APP_PASSWORD", "a-client-secret"),
            ("TEAMS_TENANT_ID", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        ];
        let c = load(&base).unwrap().teams.unwrap();
        assert_eq!(c.service_url, "https://smba.trafficmanager.net/teams/");
        assert_eq!(c.login_url, "https://login.microsoftonline.com");
        assert!(c.staff_channel.is_none());
        let mut all = base.to_vec();
        all.extend([
            ("TEAMS_STAFF_CHANNEL", "19:triage@thread.tacv2"),
            ("TEAMS_DEPARTMENT_CHANNELS", "Billing=19:bills@thread.tacv2"),
            ("TEAMS_SERVICE_URL", "http://127.0.0.1:9000/teams"),
            ("TEAMS_LOGIN_URL", "https://login.microsoftonline.us/"),
            ("TEAMS_OPENID_URL", "http://localhost:9000/openid"),
            ("TEAMS_TRUSTED_SERVICE_URLS", "https://smba.example.test/x"),
        ]);
        let loaded = load(&all).unwrap();
        assert!(loaded.platforms.contains(&"Teams"));
        let c = loaded.teams.clone().unwrap();
        assert_eq!(
            c.triage_channel(Some("billing")),
            Some("19:bills@thread.tacv2")
        );
        assert_eq!(c.service_url, "http://127.0.0.1:9000/teams/");
        assert_eq!(c.login_url, "https://login.microsoftonline.us");
        assert_eq!(c.trusted_origins, vec!["https://smba.example.test"]);
        assert!(!format!("{loaded:?}").contains("a-client-secret"));
        each_refused_by_name(
            &base,
            &[
                ("TEAMS_APP_ID", "my-bot"),
                ("TEAMS_TENANT_ID", "contoso.onmicrosoft.com"),
                ("TEAMS_STAFF_CHANNEL", "General"),
                ("TEAMS_DEPARTMENT_CHANNELS", "Billing"),
                ("TEAMS_SERVICE_URL", "http://smba.trafficmanager.net/teams/"),
                ("TEAMS_LOGIN_URL", "login"),
                ("TEAMS_OPENID_URL", "http://example.com/openid"),
                ("TEAMS_TRUSTED_SERVICE_URLS", "http://10.0.0.5/"),
            ],
        );
        let e = load(&base[..1]).unwrap_err();
        assert!(e.to_string().starts_with("TEAMS_APP_PASSWORD"), "{e}");
    }

    #[test]
    fn discord_settings_are_read_and_checked() {
        let base = [
            ("DISCORD_TOKEN", "MTA1.bot-token-value"),
            ("DISCORD_APPLICATION_ID", "830000000000000001"),
            ("DISCORD_SUPPORT_CHANNEL", "810000000000000001"),
        ];
        let c = load(&base).unwrap().discord.unwrap();
        assert_eq!(c.support_channel, 810000000000000001);
        assert_eq!(c.api_url, "https://discord.com");
        assert!(c.gateway && c.public_key.is_none() && !c.member_events);
        let mut all = base.to_vec();
        all.extend([
            ("DISCORD_STAFF_ROLE", "820000000000000001"),
            ("DISCORD_STAFF_CHANNEL", "810000000000000002"),
            (
                "DISCORD_PUBLIC_KEY",
                "67c6bd767ca099e79efac9fcce4d2022a63bf7dea780e7f3d813f694c1597089",
            ),
            ("DISCORD_API_URL", "https://127.0.0.1:4443/"),
            ("DISCORD_MEMBER_EVENTS", "on"),
        ]);
        let c = load(&all).unwrap().discord.unwrap();
        assert!(c.member_events);
        assert_eq!(c.staff_role, Some(820000000000000001));
        assert_eq!(c.api_url, "https://127.0.0.1:4443");
        assert!(!format!("{:?}", load(&all).unwrap()).contains("bot-token-value"));
        each_refused_by_name(
            &base,
            &[
                ("DISCORD_APPLICATION_ID", "my app"),
                ("DISCORD_SUPPORT_CHANNEL", "#support"),
                ("DISCORD_STAFF_ROLE", "Support"),
                ("DISCORD_PUBLIC_KEY", "xyz"),
                ("DISCORD_API_URL", "http://127.0.0.1:9"),
                ("DISCORD_CA_CERT", "/nonexistent/ca.pem"),
                ("DISCORD_GATEWAY", "off"),
                ("DISCORD_MEMBER_EVENTS", "maybe"),
            ],
        );
        let e = load(&base[..2]).unwrap_err();
        assert!(e.to_string().starts_with("DISCORD_SUPPORT_CHANNEL"), "{e}");
    }

    #[test]
    fn slack_settings_are_read_and_checked() {
        let e = load(&[("SLACK_BOT_TOKEN", "xoxb-1")]).unwrap_err();
        assert!(e.to_string().starts_with("SLACK_SIGNING_SECRET"), "{e}");
        let c = load(&[("SLACK_BOT_TOKEN", "xoxb-1"), ("SLACK_APP_TOKEN", "xapp-1")]).unwrap();
        assert!(c.slack.unwrap().app_token.is_some());
        let c = load(&[
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_SIGNING_SECRET", "abc"),
            ("SLACK_API_URL", "http://127.0.0.1:9/api/"),
            ("SLACK_STAFF_CHANNEL", "C1"),
            ("SLACK_DEPARTMENT_CHANNELS", "Billing=C2"),
        ])
        .unwrap();
        let slack = c.slack.unwrap();
        assert_eq!(slack.api_url, "http://127.0.0.1:9/api");
        assert_eq!(slack.triage_channel(Some("Billing")), Some("C2"));
        each_refused_by_name(
            &[
                ("SLACK_BOT_TOKEN", "xoxb-1"),
                ("SLACK_SIGNING_SECRET", "abc"),
            ],
            &[
                ("SLACK_BOT_TOKEN", "token"),
                ("SLACK_APP_TOKEN", "app"),
                ("SLACK_API_URL", "slack.com"),
                ("SLACK_DEPARTMENT_CHANNELS", "Billing"),
            ],
        );
    }

    #[test]
    fn transcript_channels_are_read_and_an_empty_one_is_off() {
        let slack = [
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("SLACK_SIGNING_SECRET", "abc"),
        ];
        let discord = [
            ("DISCORD_TOKEN", "MTA1.bot-token-value"),
            ("DISCORD_APPLICATION_ID", "830000000000000001"),
            ("DISCORD_SUPPORT_CHANNEL", "810000000000000001"),
        ];
        let both: Vec<(&str, &str)> = slack.iter().chain(&discord).copied().collect();
        // off by default, and the portal they link to is the listener's.
        let c = load(&both).unwrap();
        let (s, d) = (c.slack.unwrap(), c.discord.unwrap());
        assert_eq!(s.transcript_channel, None);
        assert_eq!(d.transcript_channel, None);
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert_eq!(d.public_url, "http://127.0.0.1:8080");
        let mut set = both.clone();
        set.extend([
            ("SLACK_TRANSCRIPT_CHANNEL", " C0TRANSCRIPTS "),
            ("DISCORD_TRANSCRIPT_CHANNEL", "810000000000000003"),
            ("PUBLIC_URL", "https://help.example.com/"),
        ]);
        let c = load(&set).unwrap();
        let (s, d) = (c.slack.unwrap(), c.discord.unwrap());
        assert_eq!(s.transcript_channel.as_deref(), Some("C0TRANSCRIPTS"));
        assert_eq!(d.transcript_channel, Some(810000000000000003));
        assert_eq!(s.public_url, "https://help.example.com");
        assert_eq!(d.public_url, "https://help.example.com");
        // an empty value is no channel.
        let mut empty = both.clone();
        empty.extend([
            ("SLACK_TRANSCRIPT_CHANNEL", ""),
            ("DISCORD_TRANSCRIPT_CHANNEL", "  "),
        ]);
        let c = load(&empty).unwrap();
        assert_eq!(c.slack.unwrap().transcript_channel, None);
        assert_eq!(c.discord.unwrap().transcript_channel, None);
        // a Discord transcript channel is an id, as the others.
        each_refused_by_name(&discord, &[("DISCORD_TRANSCRIPT_CHANNEL", "#transcripts")]);
    }

    #[test]
    fn passwords_never_show_in_debug() {
        let c = load(&[
            (
                "DATABASE_URL",
                "postgres://app:s3cret@db.internal:5432/threadesk",
            ),
            ("SESSION_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.internal:5432/threadesk"),
            "{shown}"
        );
        assert_eq!(redact_url("sqlite://threadesk.db"), "sqlite://threadesk.db");
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
