//! Slack users as engine people. A user is created on first sight with
//! their Slack name; a Slack Connect guest (home team other than ours)
//! joins the organization named after their home team unless staff put
//! them elsewhere. Members of the staff channels are staff while they are
//! members (checked against a briefly cached member list); staff granted
//! with a command stay staff either way.

use crate::SlackAdapter;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use threadesk_core::domain::{Person, Platform, PlatformIdentity};
use threadesk_core::EngineError;
use tokio::sync::Mutex;

/// How long a staff channel's member list is trusted.
const MEMBERS_TTL: Duration = Duration::from_secs(60);

/// Caches of what Slack told us about people.
#[derive(Default)]
pub(crate) struct Directory {
    members: Mutex<HashMap<String, (Instant, HashSet<String>)>>,
}

impl SlackAdapter {
    /// The engine person behind a Slack user of our workspace.
    pub(crate) async fn person(&self, user: &str) -> Result<Person, EngineError> {
        let identity = PlatformIdentity::slack(self.team(), user);
        let mut person = match self.engine().person_by_identity(&identity).await? {
            Some(p) => p,
            None => self.first_sight(&identity, user).await?,
        };
        let member = self.in_staff_channel(user).await;
        if let Some(member) = member.filter(|m| *m != person.is_staff) {
            person = self
                .engine()
                .sync_platform_staff(person.id, Platform::Slack, member)
                .await?;
        }
        Ok(person)
    }

    async fn first_sight(
        &self,
        identity: &PlatformIdentity,
        user: &str,
    ) -> Result<Person, EngineError> {
        let profile = match self.api().user_info(user).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "slack user profile unavailable; using the user id as name");
                serde_json::Value::Null
            }
        };
        let name = ["real_name", "display_name"]
            .iter()
            .filter_map(|k| profile["profile"][k].as_str())
            .chain(profile["real_name"].as_str())
            .chain(profile["name"].as_str())
            .find(|n| !n.trim().is_empty())
            .unwrap_or(user)
            .to_owned();
        let person = self.engine().ensure_person(identity, &name).await?;
        let home = profile["team_id"].as_str().unwrap_or_default();
        if person.org_id.is_none() && !home.is_empty() && home != self.team() {
            let org_name = match self.api().team_name(home).await {
                Ok(n) => n,
                Err(_) => format!("Slack workspace {home}"),
            };
            let org = self.engine().ensure_organization(&org_name).await?;
            return self.engine().ensure_membership(person.id, org.id).await;
        }
        Ok(person)
    }

    /// Someone joined or left a staff channel: forget its cached members and
    /// bring that person's staff standing up to date at once.
    pub(crate) async fn staff_channel_changed(
        &self,
        channel: &str,
        user: &str,
    ) -> Result<(), EngineError> {
        if !self.config().staff_channels().contains(&channel) {
            return Ok(());
        }
        self.inner.people.members.lock().await.remove(channel);
        self.person(user).await.map(drop)
    }

    /// Whether a user is in one of the staff channels (cached briefly);
    /// `None` when Slack could not tell us (then nothing changes).
    pub(crate) async fn in_staff_channel(&self, user: &str) -> Option<bool> {
        let channels = self.config().staff_channels();
        if channels.is_empty() {
            return None;
        }
        let mut known = true;
        for channel in channels {
            let cached = {
                let cache = self.inner.people.members.lock().await;
                cache
                    .get(channel)
                    .filter(|(at, _)| at.elapsed() < MEMBERS_TTL)
                    .map(|(_, m)| m.contains(user))
            };
            let member = match cached {
                Some(m) => m,
                // fetched without holding the lock: other requests go on.
                None => match self.api().channel_members(channel).await {
                    Ok(m) => {
                        let m: HashSet<String> = m.into_iter().collect();
                        let member = m.contains(user);
                        let mut cache = self.inner.people.members.lock().await;
                        cache.insert(channel.to_owned(), (Instant::now(), m));
                        member
                    }
                    Err(e) => {
                        tracing::warn!(slack.channel = channel, error = %e, "staff channel members unavailable");
                        known = false;
                        continue;
                    }
                },
            };
            if member {
                return Some(true);
            }
        }
        known.then_some(false)
    }
}
