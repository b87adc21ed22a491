//! The gateway connection (serenity's client): interactions, thread
//! messages, edits, reactions and (with the Server Members intent) member
//! updates arrive here. serenity reconnects by
//! itself; after every (re)connection the adapter fetches what was written
//! in open ticket threads while it was away.

use crate::DiscordAdapter;
use serde::Serialize;
use serde_json::Value;
use serenity::all::{
    Context, EventHandler, GatewayIntents, GuildId, GuildMemberUpdateEvent, Interaction, Member,
    Message, MessageUpdateEvent, Reaction, Ready, ResumedEvent, User,
};
use serenity::http::{LightMethod, Route};
use serenity::model::id::InteractionId;

/// What the bot listens to: server messages (with their content, a
/// privileged intent to enable for the bot), reactions and DMs; with
/// `member_events`, member updates too (the privileged Server Members
/// intent), so a staff role taken away applies at once rather than at the
/// member's next interaction or message.
pub fn intents(member_events: bool) -> GatewayIntents {
    let always = GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::DIRECT_MESSAGES;
    if member_events {
        // privileged (Server Members Intent): role changes arrive at once.
        always | GatewayIntents::GUILD_MEMBERS
    } else {
        always
    }
}

/// Thread events, recorded one at a time in the order they arrived
/// (serenity runs each event handler on its own task). Catching up after
/// a (re)connection is queued too, so a message it reads from history and
/// the same message arriving live are never handled at once.
enum Inbound {
    Message(Value),
    Update(Value),
    Reaction(Value),
    Member(Value),
    Left(Value),
    CatchUp,
}

struct Handler {
    adapter: DiscordAdapter,
    inbound: tokio::sync::mpsc::UnboundedSender<Inbound>,
}

impl Handler {
    fn queue(&self, event: Inbound) {
        if self.inbound.send(event).is_err() {
            tracing::warn!("discord inbound queue closed; event dropped until the next catch-up");
        }
    }
}

fn json(x: &impl Serialize) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _: Context, ready: Ready) {
        tracing::info!(discord.user = %ready.user.name, "discord gateway ready");
        self.queue(Inbound::CatchUp);
    }

    async fn resume(&self, _: Context, _: ResumedEvent) {
        tracing::info!("discord gateway resumed");
        self.queue(Inbound::CatchUp);
    }

    async fn interaction_create(&self, _: Context, interaction: Interaction) {
        // serenity's serialization leaves out the interaction's type.
        let kind = match &interaction {
            Interaction::Ping(_) => 1,
            Interaction::Command(_) => 2,
            Interaction::Component(_) => 3,
            Interaction::Autocomplete(_) => 4,
            Interaction::Modal(_) => 5,
            _ => 0,
        };
        let mut raw = json(&interaction);
        raw["type"] = kind.into();
        let (Some(id), Some(token)) = (
            raw["id"].as_str().and_then(|i| i.parse::<u64>().ok()),
            raw["token"].as_str().map(str::to_owned),
        ) else {
            return;
        };
        let answer = self.adapter.on_interaction(raw).await;
        let route = Route::InteractionResponse {
            interaction_id: InteractionId::new(id.max(1)),
            token: &token,
        };
        if let Err(e) = self
            .adapter
            .api()
            .call(route, LightMethod::Post, Some(&answer), None)
            .await
        {
            tracing::warn!(error = %e, "interaction answer not delivered");
        }
    }

    async fn message(&self, _: Context, message: Message) {
        self.queue(Inbound::Message(json(&message)));
    }

    async fn message_update(
        &self,
        _: Context,
        _: Option<Message>,
        _: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        self.queue(Inbound::Update(json(&event)));
    }

    async fn reaction_add(&self, _: Context, reaction: Reaction) {
        self.queue(Inbound::Reaction(json(&reaction)));
    }

    async fn guild_member_update(
        &self,
        _: Context,
        _: Option<Member>,
        _: Option<Member>,
        event: GuildMemberUpdateEvent,
    ) {
        self.queue(Inbound::Member(json(&event)));
    }

    async fn guild_member_removal(
        &self,
        _: Context,
        guild_id: GuildId,
        user: User,
        _: Option<Member>,
    ) {
        let mut left = json(&user);
        left["guild_id"] = Value::String(guild_id.to_string());
        self.queue(Inbound::Left(left));
    }
}

impl DiscordAdapter {
    async fn caught_up(&self) {
        match self.catch_up().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "ticket threads caught up after a gap"),
            Err(e) => tracing::warn!(error = %e, "ticket threads not caught up"),
        }
    }

    /// Connects to the gateway and serves it until `shutdown` resolves;
    /// serenity reconnects (and resumes) by itself.
    pub async fn run_gateway(&self, shutdown: impl std::future::Future<Output = ()>) {
        let http = match crate::api::build_http(self.config()) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "discord gateway not started");
                return;
            }
        };
        let (inbound, mut queue) = tokio::sync::mpsc::unbounded_channel();
        let recorder = self.clone();
        let recording = tokio::spawn(async move {
            while let Some(event) = queue.recv().await {
                match event {
                    Inbound::Message(m) => recorder.on_message(&m).await,
                    Inbound::Update(m) => recorder.on_message_update(&m).await,
                    Inbound::Reaction(r) => recorder.on_reaction(&r).await,
                    Inbound::Member(m) => recorder.on_member_update(&m).await,
                    Inbound::Left(u) => recorder.on_member_left(&u).await,
                    Inbound::CatchUp => recorder.caught_up().await,
                }
            }
        });
        let client =
            serenity::all::ClientBuilder::new_with_http(http, intents(self.config().member_events))
                .event_handler(Handler {
                    adapter: self.clone(),
                    inbound,
                })
                .await;
        let mut client = match client {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "discord gateway client not built");
                return;
            }
        };
        let shards = client.shard_manager.clone();
        tokio::select! {
            outcome = client.start() => {
                if let Err(e) = outcome {
                    tracing::error!(error = %e, "discord gateway stopped");
                }
            }
            () = shutdown => shards.shutdown_all().await,
        }
        // the handler's sender goes with the client: what is queued is
        // recorded, then the recorder ends (bounded: the process is stopping).
        drop(client);
        if tokio::time::timeout(std::time::Duration::from_secs(5), recording)
            .await
            .is_err()
        {
            tracing::warn!("discord events still queued at shutdown; the next catch-up reads them");
        }
    }
}
