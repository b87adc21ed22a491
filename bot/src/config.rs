//! Configuration: read once, from `.env` (if present) and then the
//! environment. A malformed variable stops start-up with a message that
//! names it; secrets never show in `Debug`.

use std::fmt;

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

/// The whole configuration.
#[derive(Clone)]
pub struct Config {
    /// Where the data lives (may hold a password).
    pub database_url: String,
    /// How many tickets one requester may have open at once.
    pub max_open_tickets: u32,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("max_open_tickets", &self.max_open_tickets)
            .finish()
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
        Ok(Config {
            database_url,
            max_open_tickets,
        })
    }
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
    fn passwords_never_show_in_debug() {
        let c = load(&[(
            "DATABASE_URL",
            "postgres://app:s3cret@db.internal:5432/threadesk",
        )])
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
