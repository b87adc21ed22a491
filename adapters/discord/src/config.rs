//! What the Discord adapter needs to know, already parsed. The binary reads
//! it from the environment; tests build it by hand.

use std::fmt;

/// Discord's REST API origin; serenity builds every route on it.
pub const DEFAULT_API_URL: &str = "https://discord.com";

/// The portal's address when none is given (the binary's default
/// listener).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// The Discord adapter's settings.
#[derive(Clone)]
pub struct DiscordConfig {
    /// The bot token.
    pub token: String,
    /// The application (client) id, for registering slash commands and
    /// answering interactions.
    pub application_id: u64,
    /// The text channel ticket threads are created in.
    pub support_channel: u64,
    /// Members with this role are staff.
    pub staff_role: Option<u64>,
    /// A staff-only text channel for the triage cards (all messages and
    /// internal notes); without it staff work from the ticket threads or
    /// from another platform's triage channel.
    pub staff_channel: Option<u64>,
    /// The application's public key (hex): enables `POST /discord/interactions`.
    pub public_key: Option<String>,
    /// Where requests for Discord's REST API go (another origin: an egress
    /// proxy or a test server that presents a certificate for discord.com).
    pub api_url: String,
    /// An extra trusted root certificate (PEM) for that origin.
    pub extra_root_pem: Option<Vec<u8>>,
    /// Whether to connect to the gateway (off: HTTP interactions only).
    pub gateway: bool,
    /// Whether to ask the gateway for member updates (the privileged Server
    /// Members intent, `DISCORD_MEMBER_EVENTS=on`): a staff role taken away
    /// then applies at once; without it, at the member's next interaction
    /// or message.
    pub member_events: bool,
    /// The text channel closed tickets' public transcripts are posted to
    /// as files (`DISCORD_TRANSCRIPT_CHANNEL`); none without it.
    pub transcript_channel: Option<u64>,
    /// The portal's public address, which transcripts link to.
    pub public_url: String,
}

impl DiscordConfig {
    /// Settings with defaults for everything optional.
    pub fn new(token: impl Into<String>, application_id: u64, support_channel: u64) -> Self {
        DiscordConfig {
            token: token.into(),
            application_id,
            support_channel,
            staff_role: None,
            staff_channel: None,
            public_key: None,
            api_url: DEFAULT_API_URL.to_owned(),
            extra_root_pem: None,
            gateway: true,
            member_events: false,
            transcript_channel: None,
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
        }
    }
}

/// Why a Discord setting could not be read or the REST client not set up.
/// Its text is the sentence people see.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Not a Discord id (a snowflake).
    #[error("`{0}` is not a Discord id (digits, as \"Copy ID\" gives them)")]
    NotASnowflake(String),
    /// A public key that is not 64 hexadecimal digits.
    #[error("a public key is 64 hexadecimal digits (General Information → Public Key)")]
    PublicKeyShape,
    /// A public key that is not hexadecimal.
    #[error("not hex")]
    PublicKeyNotHex,
    /// 64 hexadecimal digits that are no Ed25519 public key.
    #[error("{0}")]
    PublicKeyInvalid(serenity::interactions_endpoint::InvalidKey),
    /// `DISCORD_API_URL` is not a URL.
    #[error("`{raw}`: {reason}")]
    NotAUrl {
        /// The setting as given.
        raw: String,
        /// Why it is not a URL.
        reason: url::ParseError,
    },
    /// `DISCORD_API_URL` is not an https:// address with a host.
    #[error("`{0}` is not an https:// address")]
    NotHttps(String),
    /// The configured API origin is not a URL.
    #[error("{0}")]
    ApiUrl(url::ParseError),
    /// The configured API origin has no host.
    #[error("DISCORD_API_URL has no host")]
    ApiUrlHost,
    /// The configured API origin's host could not be resolved.
    #[error("{url}: {reason}")]
    Resolve {
        /// The configured API origin.
        url: String,
        /// Why its host could not be resolved.
        reason: std::io::Error,
    },
    /// The extra root certificate is not a PEM certificate.
    #[error("{0}")]
    Certificate(reqwest::Error),
    /// The HTTP client could not be built.
    #[error("{0}")]
    Client(reqwest::Error),
}

/// Reads a Discord id (a snowflake): digits only, not zero.
pub fn parse_snowflake(raw: &str) -> Result<u64, SetupError> {
    let raw = raw.trim();
    match raw.parse::<u64>() {
        Ok(n) if n > 0 && raw.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err(SetupError::NotASnowflake(raw.to_owned())),
    }
}

/// Reads an Ed25519 public key as Discord shows it: 64 hex digits.
pub fn parse_public_key(raw: &str) -> Result<String, SetupError> {
    let raw = raw.trim();
    if raw.len() == 64 && raw.chars().all(|c| c.is_ascii_hexdigit()) {
        serenity::interactions_endpoint::Verifier::try_new(
            hex_bytes(raw).ok_or(SetupError::PublicKeyNotHex)?,
        )
        .map_err(SetupError::PublicKeyInvalid)?;
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(SetupError::PublicKeyShape)
    }
}

fn hex_bytes(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Checks `DISCORD_API_URL`: an https origin (Discord's API is https only).
pub fn parse_api_url(raw: &str) -> Result<String, SetupError> {
    let url = url::Url::parse(raw.trim()).map_err(|reason| SetupError::NotAUrl {
        raw: raw.to_owned(),
        reason,
    })?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(SetupError::NotHttps(raw.to_owned()));
    }
    Ok(url.origin().ascii_serialization())
}

impl fmt::Debug for DiscordConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordConfig")
            .field("token", &"<redacted>")
            .field("application_id", &self.application_id)
            .field("support_channel", &self.support_channel)
            .field("staff_role", &self.staff_role)
            .field("staff_channel", &self.staff_channel)
            .field("public_key", &self.public_key)
            .field("api_url", &self.api_url)
            .field("extra_root_pem", &self.extra_root_pem.is_some())
            .field("gateway", &self.gateway)
            .field("member_events", &self.member_events)
            .field("transcript_channel", &self.transcript_channel)
            .field("public_url", &self.public_url)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_keys_and_urls_are_checked() {
        assert_eq!(
            parse_snowflake(" 81384788765712384 ").unwrap(),
            81384788765712384
        );
        assert_eq!(
            parse_snowflake(" #support ").unwrap_err().to_string(),
            "`#support` is not a Discord id (digits, as \"Copy ID\" gives them)"
        );
        assert!(parse_snowflake("0").is_err());
        assert!(parse_snowflake("+12").is_err());
        let key = "67c6bd767ca099e79efac9fcce4d2022a63bf7dea780e7f3d813f694c1597089";
        assert_eq!(parse_public_key(&key.to_uppercase()).unwrap(), key);
        assert_eq!(
            parse_public_key("abc").unwrap_err().to_string(),
            "a public key is 64 hexadecimal digits (General Information → Public Key)"
        );
        assert_eq!(
            parse_api_url("https://127.0.0.1:4443/api/v10").unwrap(),
            "https://127.0.0.1:4443"
        );
        assert_eq!(
            parse_api_url("http://discord.com").unwrap_err().to_string(),
            "`http://discord.com` is not an https:// address"
        );
        assert_eq!(
            parse_api_url("discord.com").unwrap_err().to_string(),
            "`discord.com`: relative URL without a base"
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let c = DiscordConfig::new("secret-token-value", 1, 2);
        assert!(!format!("{c:?}").contains("secret-token-value"));
    }
}
