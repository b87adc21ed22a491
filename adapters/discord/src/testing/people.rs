//! People of the fake server, and interactions signed as Discord signs them.

use super::*;

/// A Discord user in the fake server.
#[derive(Debug, Clone)]
pub struct Person {
    /// The user id.
    pub id: String,
    /// The user name.
    pub name: String,
    /// Their roles.
    pub roles: Vec<String>,
}

impl Person {
    /// A member without roles.
    pub fn new(id: u64, name: &str) -> Person {
        Person {
            id: id.to_string(),
            name: name.to_owned(),
            roles: vec![],
        }
    }

    /// A member with the staff role.
    pub fn staff(id: u64, name: &str) -> Person {
        Person {
            roles: vec![STAFF_ROLE.to_string()],
            ..Person::new(id, name)
        }
    }

    /// The user object.
    pub fn user(&self) -> Value {
        json!({ "id": self.id, "username": self.name.to_lowercase(), "global_name": self.name, "discriminator": "0", "avatar": null })
    }

    /// The member object of a message (no user inside).
    pub fn member_partial(&self) -> Value {
        json!({ "roles": self.roles, "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0 })
    }

    /// The member object of an interaction.
    pub fn member(&self) -> Value {
        let mut m = self.member_partial();
        m["user"] = self.user();
        m["permissions"] = json!("2248473465835073");
        m
    }
}

/// The key HTTP interactions are signed with.
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// Signs a body the way Discord does: Ed25519 over timestamp + body.
pub fn sign(timestamp: &str, body: &[u8]) -> String {
    let mut msg = timestamp.as_bytes().to_vec();
    msg.extend_from_slice(body);
    hex(&signing_key().sign(&msg).to_bytes())
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Interactions as Discord sends them.
pub mod interaction {
    use super::{Person, APPLICATION, GUILD};
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(1_100_000_000_000_000_000);

    fn base(kind: u64, who: &Person, channel: &str, data: Value) -> Value {
        let id = NEXT.fetch_add(1, Ordering::SeqCst);
        json!({
            "id": id.to_string(),
            "application_id": APPLICATION.to_string(),
            "type": kind,
            "data": data,
            "guild_id": GUILD,
            "channel_id": channel,
            "channel": { "id": channel, "type": 0 },
            "member": who.member(),
            "token": format!("itoken{id}"),
            "version": 1,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "authorizing_integration_owners": { "0": GUILD },
            "context": 0,
            "attachment_size_limit": 8388608,
        })
    }

    /// `/ticket <sub> [options]`.
    pub fn command(who: &Person, channel: &str, sub: &str, options: Value) -> Value {
        base(
            2,
            who,
            channel,
            json!({
                "id": "840000000000000001", "name": "ticket", "type": 1,
                "options": [{ "type": 1, "name": sub, "options": options }]
            }),
        )
    }

    /// `/ticket <sub>` whose `user` option names `target` (with Discord's
    /// resolved data).
    pub fn command_on(
        who: &Person,
        channel: &str,
        sub: &str,
        target: &Person,
        mut options: Value,
    ) -> Value {
        if let Some(list) = options.as_array_mut() {
            list.push(json!({ "type": 6, "name": "user", "value": target.id }));
        }
        let mut i = command(who, channel, sub, options);
        i["data"]["resolved"] = json!({
            "users": { target.id.clone(): target.user() },
            "members": { target.id.clone(): target.member_partial() }
        });
        i
    }

    /// A button press (or a select, with `values`).
    pub fn component(
        who: &Person,
        channel: &str,
        custom_id: &str,
        kind: u64,
        values: Option<Value>,
    ) -> Value {
        let mut data = json!({ "custom_id": custom_id, "component_type": kind });
        if let Some(v) = values {
            data["values"] = v;
        }
        let mut i = base(3, who, channel, data);
        i["message"] = json!({ "id": "1", "channel_id": channel, "content": "", "components": [] });
        i
    }

    /// A user select with resolved users.
    pub fn user_select(who: &Person, channel: &str, custom_id: &str, users: &[&Person]) -> Value {
        let mut i = component(
            who,
            channel,
            custom_id,
            5,
            Some(json!(users
                .iter()
                .map(|u| u.id.clone())
                .collect::<Vec<_>>())),
        );
        let mut resolved = json!({ "users": {}, "members": {} });
        for u in users {
            resolved["users"][&u.id] = u.user();
            resolved["members"][&u.id] = u.member_partial();
        }
        i["data"]["resolved"] = resolved;
        i
    }

    /// A modal submission with text inputs `(custom id, value)`.
    pub fn modal(who: &Person, channel: &str, custom_id: &str, fields: &[(&str, &str)]) -> Value {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, v)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": id, "value": v }] }))
            .collect();
        base(
            5,
            who,
            channel,
            json!({ "custom_id": custom_id, "components": rows }),
        )
    }

    /// A button press in a DM (no member, a user).
    pub fn dm_component(who: &Person, channel: &str, custom_id: &str) -> Value {
        let mut i = component(who, channel, custom_id, 2, None);
        if let Some(o) = i.as_object_mut() {
            o.remove("member");
            o.remove("guild_id");
            o.insert("user".to_owned(), who.user());
            o.insert("context".to_owned(), json!(1));
        }
        i
    }

    /// A message command (a message's Apps menu) on a message.
    pub fn message_command(who: &Person, channel: &str, name: &str, message: &str) -> Value {
        base(
            2,
            who,
            channel,
            json!({
                "id": "840000000000000002", "name": name, "type": 3, "target_id": message,
                "resolved": { "messages": { message: {
                    "id": message, "channel_id": channel, "content": "x", "type": 0,
                    "author": who.user(), "timestamp": "2026-11-30T10:00:00.000000+00:00" } } }
            }),
        )
    }

    /// A `PING`.
    pub fn ping() -> Value {
        json!({ "id": "1", "application_id": APPLICATION.to_string(), "type": 1, "token": "t", "version": 1 })
    }
}
