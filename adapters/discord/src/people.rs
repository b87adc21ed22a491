//! Discord users as engine people. A user becomes a person on first sight
//! with their server nickname (or display name); members holding the staff
//! role are staff while they hold it (Discord sends a member's roles with
//! every interaction and message); staff granted with a command stay staff
//! either way.

use crate::DiscordAdapter;
use serde_json::Value;
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::{Person, Platform, PlatformIdentity};
use threadesk_core::EngineError;

/// Who did something, as Discord described them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// The user id.
    pub id: String,
    /// The name to show.
    pub name: String,
    /// The member's roles, when Discord sent them (in a server).
    pub roles: Option<Vec<String>>,
    /// Whether it is a bot (or a webhook).
    pub bot: bool,
}

impl Who {
    /// Reads `user`/`author` and `member` objects (either may be missing).
    pub fn from(user: &Value, member: &Value) -> Option<Who> {
        let user = if user.is_object() {
            user
        } else {
            &member["user"]
        };
        let id = user["id"].as_str()?.to_owned();
        let name = [&member["nick"], &user["global_name"], &user["username"]]
            .into_iter()
            .filter_map(Value::as_str)
            .find(|n| !n.trim().is_empty())
            .unwrap_or(&id)
            .to_owned();
        let roles = member["roles"].as_array().map(|r| {
            r.iter()
                .filter_map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .or_else(|| x.as_u64().map(|n| n.to_string()))
                })
                .collect()
        });
        Some(Who {
            id,
            name,
            roles,
            bot: user["bot"].as_bool().unwrap_or(false)
                || user["system"].as_bool().unwrap_or(false),
        })
    }

    /// The person who sent an interaction.
    pub fn of_interaction(i: &Value) -> Option<Who> {
        Who::from(&i["user"], &i["member"])
    }
}

impl DiscordAdapter {
    /// The engine person behind a Discord user of our server, their staff
    /// standing brought up to date from the roles Discord sent.
    pub(crate) async fn person(&self, who: &Who) -> Result<Person, EngineError> {
        let identity = PlatformIdentity::discord(self.guild(), &who.id);
        let mut person = match self.engine().person_by_identity(&identity).await? {
            Some(p) => p,
            None => self.engine().ensure_person(&identity, &who.name).await?,
        };
        if let (Some(role), Some(roles)) = (self.config().staff_role, &who.roles) {
            let member = roles.iter().any(|r| r == &role.to_string());
            if member != person.is_staff {
                person = self
                    .engine()
                    .sync_platform_staff(person.id, Platform::Discord, member)
                    .await?;
            }
        }
        Ok(person)
    }

    /// A user left our server (a gateway `GUILD_MEMBER_REMOVE`, sent with
    /// the Server Members intent): they hold no staff role any more, so a
    /// person we know loses the staff rights the role gave them at once
    /// (Discord itself takes them out of the server's threads).
    pub async fn on_member_left(&self, user: &Value) {
        let Some(who) = Who::from(user, &Value::Null) else {
            return;
        };
        if who.bot || user["guild_id"].as_str().is_some_and(|g| g != self.guild()) {
            return;
        }
        self.member_changed(Who {
            roles: Some(vec![]),
            ..who
        })
        .await;
    }

    /// A member of our server changed (a gateway `GUILD_MEMBER_UPDATE`,
    /// sent with the Server Members intent): a person we know follows their
    /// roles at once, so a staff role taken away ends their staff rights
    /// (and their place in ticket threads) before they next do anything.
    pub async fn on_member_update(&self, member: &Value) {
        let Some(who) = Who::from(&member["user"], member) else {
            return;
        };
        if who.bot
            || member["guild_id"]
                .as_str()
                .is_some_and(|g| g != self.guild())
        {
            return;
        }
        self.member_changed(who).await;
    }

    /// A member's standing follows their roles now, if we know them.
    async fn member_changed(&self, who: Who) {
        let identity = PlatformIdentity::discord(self.guild(), &who.id);
        let known = match self.engine().person_by_identity(&identity).await {
            Ok(p) => p.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "discord member update not applied");
                return;
            }
        };
        // somebody we never met has no standing to change.
        if known {
            match self.person(&who).await {
                Ok(_) => self.wake(),
                Err(e) => tracing::warn!(error = %e, "discord member update not applied"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_roles_are_read_from_user_and_member() {
        let w = Who::from(
            &json!({ "id": "7", "username": "ann", "global_name": "Ann B" }),
            &json!({ "nick": "Ann (Acme)", "roles": ["5", "6"] }),
        )
        .unwrap();
        assert_eq!(w.name, "Ann (Acme)");
        assert_eq!(w.roles, Some(vec!["5".to_owned(), "6".to_owned()]));
        assert!(!w.bot);
        let w = Who::from(
            &Value::Null,
            &json!({ "user": { "id": "8", "username": "bo", "bot": true } }),
        )
        .unwrap();
        assert_eq!((w.name.as_str(), w.bot, w.roles), ("bo", true, None));
        assert!(Who::from(&Value::Null, &Value::Null).is_none());
    }
}
