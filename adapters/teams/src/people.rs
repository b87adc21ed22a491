//! Teams users as engine people. A user (their `29:` id for this bot, in
//! the tenant) becomes a person on first sight with the name Teams gives.
//! Everyone who works from a staff channel is in the support team's team,
//! so is staff while they are in it: they become staff by platform when
//! they act there, and stop being staff when Teams says they left the team.

use crate::TeamsAdapter;
use threadesk_core::domain::{Person, Platform, PlatformIdentity};
use threadesk_core::EngineError;

/// Who did something, as Teams described them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// Their id for the bot (`29:…`).
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their Entra object id, when Teams sent it.
    pub aad: Option<String>,
}

impl TeamsAdapter {
    /// The engine person behind a Teams user; `staff_side` when they acted
    /// in a staff channel (which makes them staff by platform).
    pub(crate) async fn person(&self, who: &Who, staff_side: bool) -> Result<Person, EngineError> {
        let identity = PlatformIdentity::teams(self.tenant(), &who.id);
        let name = if who.name.trim().is_empty() {
            who.id.as_str()
        } else {
            who.name.as_str()
        };
        let mut person = match self.engine().person_by_identity(&identity).await? {
            Some(p) => p,
            None => self.engine().ensure_person(&identity, name).await?,
        };
        if staff_side && !person.is_staff {
            person = self
                .engine()
                .sync_platform_staff(person.id, Platform::Teams, true)
                .await?;
        }
        Ok(person)
    }

    /// Someone left the support team: staff by platform no longer.
    pub(crate) async fn left_team(&self, user: &str) -> Result<(), EngineError> {
        let identity = PlatformIdentity::teams(self.tenant(), user);
        if let Some(p) = self.engine().person_by_identity(&identity).await? {
            if p.is_staff {
                self.engine()
                    .sync_platform_staff(p.id, Platform::Teams, false)
                    .await?;
            }
        }
        Ok(())
    }
}
