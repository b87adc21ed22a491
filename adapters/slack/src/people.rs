//! Slack users as engine people. A user is created on first sight with
//! their Slack name; a Slack Connect guest (home team other than ours)
//! joins the organization named after their home team unless staff put
//! them elsewhere; members of the staff channels are staff.

use crate::SlackAdapter;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use threadesk_core::domain::{Person, PlatformIdentity};
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
        if !person.is_staff && self.in_staff_channel(user).await {
            person = self.engine().bootstrap_staff(person.id, true).await?;
        }
        Ok(person)
    }

    /// The Slack user id of a person in our workspace, if they have one.
    pub(crate) async fn slack_user_of(
        &self,
        person: threadesk_core::PersonId,
    ) -> Result<Option<String>, EngineError> {
        let profile = self.engine().person(person).await?;
        Ok(profile
            .identities
            .into_iter()
            .find(|i| {
                i.platform == threadesk_core::domain::Platform::Slack && i.workspace == self.team()
            })
            .map(|i| i.external_id))
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

    /// Whether a user is in one of the staff channels (cached briefly).
    pub(crate) async fn in_staff_channel(&self, user: &str) -> bool {
        for channel in self.config().staff_channels() {
            let mut cache = self.inner.people.members.lock().await;
            let fresh = cache
                .get(channel)
                .is_some_and(|(at, _)| at.elapsed() < MEMBERS_TTL);
            if !fresh {
                match self.api().channel_members(channel).await {
                    Ok(m) => {
                        cache.insert(
                            channel.to_owned(),
                            (Instant::now(), m.into_iter().collect()),
                        );
                    }
                    Err(e) => {
                        tracing::warn!(slack.channel = channel, error = %e, "staff channel members unavailable");
                        continue;
                    }
                }
            }
            if cache.get(channel).is_some_and(|(_, m)| m.contains(user)) {
                return true;
            }
        }
        false
    }
}
