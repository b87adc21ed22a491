//! What the Slack adapter needs to know, already parsed. The binary reads
//! it from the environment; tests build it by hand.

use std::collections::BTreeMap;
use std::fmt;
use threadesk_chat::channels::{all_channels, channel_for};
pub use threadesk_chat::channels::{parse_department_channels, DepartmentChannelError};

/// The default Web API base.
pub const DEFAULT_API_URL: &str = "https://slack.com/api";

/// The portal's address when none is given (the binary's default
/// listener).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// The Slack adapter's settings.
#[derive(Clone)]
pub struct SlackConfig {
    /// The bot token (`xoxb-…`).
    pub bot_token: String,
    /// The app's signing secret, for HTTP requests from Slack.
    pub signing_secret: String,
    /// The app-level token (`xapp-…`): Socket Mode instead of HTTP.
    pub app_token: Option<String>,
    /// The Web API base, without a trailing slash.
    pub api_url: String,
    /// The default triage channel for staff.
    pub staff_channel: Option<String>,
    /// Department name (lower case) → its triage channel.
    pub department_channels: BTreeMap<String, String>,
    /// The channel closed tickets' public transcripts are posted to as
    /// files (`SLACK_TRANSCRIPT_CHANNEL`); none without it.
    pub transcript_channel: Option<String>,
    /// The portal's public address, which transcripts link to.
    pub public_url: String,
}

impl SlackConfig {
    /// Settings with the defaults for everything optional.
    pub fn new(bot_token: impl Into<String>, signing_secret: impl Into<String>) -> Self {
        SlackConfig {
            bot_token: bot_token.into(),
            signing_secret: signing_secret.into(),
            app_token: None,
            api_url: DEFAULT_API_URL.to_owned(),
            staff_channel: None,
            department_channels: BTreeMap::new(),
            transcript_channel: None,
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
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

    /// Every channel whose members are staff.
    pub fn staff_channels(&self) -> Vec<&str> {
        all_channels(self.staff_channel.as_deref(), &self.department_channels)
    }
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("bot_token", &"<redacted>")
            .field("signing_secret", &"<redacted>")
            .field("app_token", &self.app_token.as_ref().map(|_| "<redacted>"))
            .field("api_url", &self.api_url)
            .field("staff_channel", &self.staff_channel)
            .field("department_channels", &self.department_channels)
            .field("transcript_channel", &self.transcript_channel)
            .field("public_url", &self.public_url)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn department_channels_parse_and_route_case_insensitively() {
        let map = parse_department_channels(" Billing=C1, Technical support = C2 ,").unwrap();
        let mut c = SlackConfig::new("xoxb-1", "s");
        c.staff_channel = Some("C0".into());
        c.department_channels = map;
        assert_eq!(c.triage_channel(Some("billing")), Some("C1"));
        assert_eq!(c.triage_channel(Some("Technical Support")), Some("C2"));
        assert_eq!(c.triage_channel(Some("Sales")), Some("C0"));
        assert_eq!(c.triage_channel(None), Some("C0"));
        assert_eq!(c.staff_channels(), vec!["C0", "C1", "C2"]);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let mut c = SlackConfig::new("xoxb-secret", "sign-secret");
        c.app_token = Some("xapp-secret".into());
        let shown = format!("{c:?}");
        for secret in ["xoxb-secret", "sign-secret", "xapp-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
