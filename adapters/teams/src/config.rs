//! What the Teams adapter needs to know, already parsed. The binary reads
//! it from the environment (`TEAMS_*`); tests build it by hand.

use std::collections::BTreeMap;
use std::fmt;
use threadesk_chat::channels::{all_channels, channel_for};
pub use threadesk_chat::channels::{parse_department_channels, DepartmentChannelError};

/// Where to post before any activity has told us a service URL.
pub const DEFAULT_SERVICE_URL: &str = "https://smba.trafficmanager.net/teams/";
/// The token authority (Microsoft Entra ID).
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// The Bot Framework's OpenID metadata (the keys inbound tokens are
/// signed with).
pub const DEFAULT_OPENID_URL: &str =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";

/// Service-URL hosts the bot's token may be sent to without being named:
/// Microsoft's own (public, government and China clouds).
pub const MICROSOFT_SERVICE_HOSTS: [&str; 7] = [
    "smba.trafficmanager.net",
    "*.botframework.com",
    "smba.infra.gcc.teams.microsoft.com",
    "smba.infra.gov.teams.microsoft.us",
    "smba.infra.dod.teams.microsoft.us",
    "*.botframework.us",
    "*.botframework.azure.cn",
];

/// The Teams adapter's settings.
#[derive(Clone)]
pub struct TeamsConfig {
    /// The app registration's application (client) id: the bot's id.
    pub app_id: String,
    /// The registration's client secret.
    pub app_password: String,
    /// The bot's home tenant (new bots are single-tenant).
    pub tenant_id: String,
    /// The triage channel's conversation id (`19:…@thread.tacv2`).
    pub staff_channel: Option<String>,
    /// Department name (lower case) → its triage channel.
    pub department_channels: BTreeMap<String, String>,
    /// Where to post until an activity names a service URL.
    pub service_url: String,
    /// The token authority, without a trailing slash.
    pub login_url: String,
    /// The Bot Framework OpenID metadata document.
    pub openid_url: String,
    /// Further service-URL origins the token may be sent to
    /// (`https://host[:port]`; plain http only on loopback).
    pub trusted_origins: Vec<String>,
}

impl TeamsConfig {
    /// Settings with the defaults for everything optional.
    pub fn new(
        app_id: impl Into<String>,
        app_password: impl Into<String>,
        tenant_id: impl Into<String>,
    ) -> Self {
        TeamsConfig {
            app_id: app_id.into(),
            app_password: app_password.into(),
            tenant_id: tenant_id.into(),
            staff_channel: None,
            department_channels: BTreeMap::new(),
            service_url: DEFAULT_SERVICE_URL.to_owned(),
            login_url: DEFAULT_LOGIN_URL.to_owned(),
            openid_url: DEFAULT_OPENID_URL.to_owned(),
            trusted_origins: vec![],
        }
    }

    /// The triage channel for a ticket's department (or the default one).
    pub fn triage_channel(&self, department: Option<&str>) -> Option<&str> {
        channel_for(
            self.staff_channel.as_deref(),
            &self.department_channels,
            department,
        )
    }

    /// Every staff channel.
    pub fn staff_channels(&self) -> Vec<&str> {
        all_channels(self.staff_channel.as_deref(), &self.department_channels)
    }

    /// Whether the bot's token may be sent to this service URL: one of
    /// Microsoft's hosts over https, the configured service URL's origin, or
    /// a trusted origin.
    pub fn trusts(&self, service_url: &str) -> bool {
        let Ok(url) = url::Url::parse(service_url) else {
            return false;
        };
        let origin = url.origin().ascii_serialization();
        let configured = url::Url::parse(&self.service_url)
            .map(|u| u.origin().ascii_serialization())
            .ok();
        if configured.as_deref() == Some(origin.as_str()) || self.trusted_origins.contains(&origin)
        {
            return true;
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        url.scheme() == "https"
            && MICROSOFT_SERVICE_HOSTS
                .iter()
                .any(|h| match h.strip_prefix("*.") {
                    Some(domain) => host.ends_with(&format!(".{domain}")),
                    None => host == *h,
                })
    }
}

/// Why a URL setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("`{0}` is not a URL")]
    NotAUrl(String),
    /// Plain http somewhere else than this machine.
    #[error("`{0}` must use https (plain http only on 127.0.0.1, ::1 or localhost)")]
    NotHttps(String),
}

/// Reads a URL setting: https, or http on a loopback host only.
pub fn parse_url(raw: &str) -> Result<url::Url, UrlError> {
    let url = url::Url::parse(raw.trim()).map_err(|_| UrlError::NotAUrl(raw.to_owned()))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "http" | "https" => Err(UrlError::NotHttps(raw.to_owned())),
        _ => Err(UrlError::NotAUrl(raw.to_owned())),
    }
}

/// Reads `TEAMS_TRUSTED_SERVICE_URLS`: URLs, comma-separated, as origins.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, UrlError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_url(s).map(|u| u.origin().ascii_serialization()))
        .collect()
}

impl fmt::Debug for TeamsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsConfig")
            .field("app_id", &self.app_id)
            .field("app_password", &"<redacted>")
            .field("tenant_id", &self.tenant_id)
            .field("staff_channel", &self.staff_channel)
            .field("department_channels", &self.department_channels)
            .field("service_url", &self.service_url)
            .field("login_url", &self.login_url)
            .field("openid_url", &self.openid_url)
            .field("trusted_origins", &self.trusted_origins)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(parse_url("https://smba.trafficmanager.net/teams/").is_ok());
        assert!(parse_url("http://127.0.0.1:9000/").is_ok());
        assert!(parse_url("http://[::1]:9000/").is_ok());
        assert_eq!(
            parse_url("http://example.com/").unwrap_err().to_string(),
            "`http://example.com/` must use https (plain http only on 127.0.0.1, ::1 or localhost)"
        );
        assert!(parse_url("smba").is_err());
        assert_eq!(
            parse_origins("https://a.example/x, http://127.0.0.1:81/").unwrap(),
            vec!["https://a.example", "http://127.0.0.1:81"]
        );
    }

    #[test]
    fn the_token_goes_only_to_trusted_service_urls() {
        let mut c = TeamsConfig::new("app", "secret", "tenant");
        assert!(c.trusts("https://smba.trafficmanager.net/amer/"));
        assert!(c.trusts("https://europe.botframework.com/"));
        assert!(!c.trusts("https://evilbotframework.com/"));
        assert!(!c.trusts("http://smba.trafficmanager.net/amer/"));
        assert!(!c.trusts("https://attacker.example/"));
        c.trusted_origins = vec!["http://127.0.0.1:4000".into()];
        assert!(c.trusts("http://127.0.0.1:4000/teams/"));
        assert!(!c.trusts("http://127.0.0.1:4001/"));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = TeamsConfig::new("app", "very-secret", "tenant");
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
