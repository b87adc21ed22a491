//! Where a person is known: `(platform, workspace, id)`, never a bare string.

use super::parse::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A surface people reach Threadesk from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// A Slack workspace.
    Slack,
    /// A Discord server.
    Discord,
    /// A Microsoft Teams tenant.
    Teams,
    /// The web portal's own login.
    Web,
    /// An e-mail address.
    Email,
}

impl Platform {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Teams => "teams",
            Platform::Web => "web",
            Platform::Email => "email",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "slack" => Ok(Platform::Slack),
            "discord" => Ok(Platform::Discord),
            "teams" => Ok(Platform::Teams),
            "web" => Ok(Platform::Web),
            "email" => Ok(Platform::Email),
            other => Err(ParseError::Unknown {
                what: "platform",
                value: other.to_owned(),
                hint: None,
            }),
        }
    }
}

/// One identity of a person on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlatformIdentity {
    /// The platform.
    pub platform: Platform,
    /// The Slack team or Discord guild; empty for web and e-mail.
    pub workspace: String,
    /// The user id on that platform (an e-mail address is stored lower-case).
    pub external_id: String,
}

impl PlatformIdentity {
    /// A Slack user in a team.
    pub fn slack(team: impl Into<String>, user: impl Into<String>) -> Self {
        Self::new(Platform::Slack, team, user)
    }

    /// A Discord user; `guild` may be empty for a user known outside a server.
    pub fn discord(guild: impl Into<String>, user: impl Into<String>) -> Self {
        Self::new(Platform::Discord, guild, user)
    }

    /// A Teams user (their `29:` id for the bot) in a tenant.
    pub fn teams(tenant: impl Into<String>, user: impl Into<String>) -> Self {
        Self::new(Platform::Teams, tenant, user)
    }

    /// A web portal login.
    pub fn web(login: impl Into<String>) -> Self {
        Self::new(Platform::Web, "", login)
    }

    /// An e-mail address (kept lower-case, so lookups ignore case).
    pub fn email(address: &str) -> Self {
        Self::new(Platform::Email, "", address.trim().to_lowercase())
    }

    fn new(platform: Platform, workspace: impl Into<String>, id: impl Into<String>) -> Self {
        PlatformIdentity {
            platform,
            workspace: workspace.into(),
            external_id: id.into(),
        }
    }
}
