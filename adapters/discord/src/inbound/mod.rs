//! From Discord to the engine: interactions (slash commands, buttons,
//! selects, modals), thread messages, edits and reactions. Interactions
//! arrive over the gateway or the signed HTTP endpoint and take the same
//! path. Every engine call carries Discord's own id as its idempotency key,
//! so a redelivered interaction or event acts once.

use crate::people::Who;
use crate::render::{self, ids};
use crate::DiscordAdapter;
use serde_json::{json, Value};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ApplicationId, ChannelId};
use std::time::Duration;
use threadesk_chat::late::Within;
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::{Person, Platform, Status};
use threadesk_core::engine::{Invitee, NewTicket};
use threadesk_core::surfaces::{Audience, Surface};
use threadesk_core::{Ctx, DelegateId, DepartmentId, EngineError, TicketId, TicketNumber};

/// How long a handler may work before Discord gets a deferral (Discord
/// wants an answer within 3 seconds).
pub const ANSWER_BUDGET: Duration = Duration::from_millis(2500);

/// How long a deferral past [`ANSWER_BUDGET`] waits for its interaction to
/// be stored: within Discord's 3 seconds.
const STORE_WAIT: Duration = Duration::from_millis(400);

/// A request's context keyed by Discord's id of it (`discord:<kind>:<id>`).
fn ctx(person: &Person, kind: &str, id: &str) -> Ctx {
    let ctx = Ctx::new(person.id);
    if id.is_empty() {
        ctx
    } else {
        ctx.with_key(format!("discord:{kind}:{id}"))
    }
}

/// The key of an interaction Discord can be answered late for (it has an
/// id, and a token to answer with): the key its engine commands carry.
fn interaction_key(i: &Value) -> Option<String> {
    let id = i["id"].as_str().filter(|id| !id.is_empty())?;
    let token = i["token"].as_str().unwrap_or_default();
    (!token.is_empty()).then(|| format!("discord:interaction:{id}"))
}

fn help(staff: bool) -> String {
    let mut text = String::from(
        "**/ticket open** opens a ticket: a private thread with you and the support team.\n\
         **/ticket list** lists your tickets (`scope`: mine or organization; `state`: active, closed, all).\n\
         **/ticket show** *number* brings you into a ticket's thread.\n\
         **/ticket close** *number* closes a ticket; so do the card's **Close** button and a ✅ reaction.\n\
         **/ticket rate** *number* *score* [*comment*] rates the help on a closed ticket of yours (or the buttons on its card; you can change it for 7 days).\n\
         **/ticket search** *words* finds your tickets by words in their subject or messages (`#N` goes straight to one; narrow with `is:closed`, `status:on_hold`, `owner:mine`, `dept:Billing`, `requester:me`, `after:2026-11-01`).\n\
         Write in a ticket's thread to reply; edit your message to correct it. **Delegates** on the card invites someone to follow the ticket.",
    );
    if staff {
        text.push_str(
            "\n\n**Staff**\n**/ticket queue** [status] [department] [owner: mine or unassigned] lists the tickets waiting for support.\n\
             **/ticket claim** *number* takes a ticket; **/ticket assign** *number* *user* gives it to a colleague (leave out the user to unassign it). The **Claim** button on a triage card does the same. **/ticket move** *number* *department* moves a ticket to another department.\n\
             **/ticket status** *number* *status* sets a status.\n\
             **/ticket reply** *number* *name* answers with a saved reply (leave out the name, or use **Apps → Send saved reply** on a message in the ticket's thread, to choose from a list); **/ticket saved** lists, adds and removes them (`{name}`, `{first_name}` and `{ticket}` are filled in).\n\
             **/ticket autoclose** *number* pause|resume keeps a ticket waiting on its customer from closing by itself, or lets it again.\n\
             **/ticket note** *number* *text* adds an internal note. A message of yours that starts with `note:` is an internal note wherever you write it; written in a customer thread, it is removed there (you are told privately) and kept on the staff side.\n\
             **/ticket admin**, **/ticket staff**, **/ticket org** and **/ticket link** manage people; **/ticket department** manages departments.",
        );
    }
    text
}

mod commands;
mod components;
mod late;
mod parse;
mod threads;

use parse::field;

impl DiscordAdapter {
    /// Answers an interaction: acknowledged first when it can be
    /// ([`late`]), else its response body, given within [`ANSWER_BUDGET`];
    /// slower work is answered with a deferral and its result edited in
    /// when it is done.
    pub async fn on_interaction(&self, i: Value) -> Value {
        if i["type"] == 1 {
            return json!({ "type": 1 });
        }
        if let Some(answer) = self.acknowledged_first(&i).await {
            return answer;
        }
        let token = i["token"].as_str().unwrap_or_default().to_owned();
        let key = interaction_key(&i);
        let payload = i.to_string();
        let me = self.clone();
        let mut work = tokio::spawn(async move { me.interaction(&i).await });
        match tokio::time::timeout(ANSWER_BUDGET, &mut work).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "discord interaction handler failed");
                render::ephemeral("Something went wrong on our side; please try again.")
            }
            Err(_) => {
                tracing::warn!("discord interaction still working; deferred");
                let me = self.clone();
                let (decided, told) = tokio::sync::oneshot::channel();
                tokio::spawn(
                    async move { me.finish_late(key, payload, &token, work, decided).await },
                );
                // deferred once it is stored (Discord never delivers an
                // interaction again), or when Discord's 3 seconds near.
                let _ = tokio::time::timeout(STORE_WAIT, told).await;
                late::thinking()
            }
        }
    }

    /// Finishes an interaction deferred past [`ANSWER_BUDGET`]: stored
    /// first (with the binary's settings), so that should the process die
    /// before its change commits or its answer is edited in, another takes
    /// it up again; else, or if it cannot be stored, edited in from here.
    /// `decided` is told once it is stored (or will not be).
    async fn finish_late(
        &self,
        key: Option<String>,
        payload: String,
        token: &str,
        work: tokio::task::JoinHandle<Value>,
        decided: tokio::sync::oneshot::Sender<()>,
    ) {
        let work = match (self.late(), key) {
            (Some(late), Some(key)) => {
                let within = late.within(self, &key, payload, work, Duration::ZERO).await;
                let _ = decided.send(());
                match within {
                    Within::Answered(answer) => {
                        self.finish_deferred(token, answer).await;
                        return;
                    }
                    Within::Later => return,
                    Within::Failed {
                        why,
                        running: Some(work),
                    } => {
                        tracing::warn!(why, "deferred interaction not stored; edited in from here");
                        work
                    }
                    Within::Failed { why, running: None } => {
                        tracing::error!(why, "deferred interaction failed");
                        return;
                    }
                }
            }
            (_, _) => {
                let _ = decided.send(());
                work
            }
        };
        if let Ok(answer) = work.await {
            self.finish_deferred(token, answer).await;
        }
    }

    /// Edits the deferred answer in, once Discord has seen the deferral.
    async fn finish_deferred(&self, token: &str, answer: Value) {
        for attempt in 0..5u32 {
            tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt + 1))).await;
            match self.edit_original(token, &answer).await {
                Ok(()) => return,
                Err(e) => tracing::info!(error = %e, "deferred answer not edited yet"),
            }
        }
    }

    /// Edits an interaction's original response (a deferral's "thinking…")
    /// into `answer`, a response body as [`DiscordAdapter::on_interaction`]
    /// would have given it. Editing it twice shows the same.
    pub(crate) async fn edit_original(
        &self,
        token: &str,
        answer: &Value,
    ) -> Result<(), crate::api::ApiError> {
        let data = &answer["data"];
        let mut body = json!({ "allowed_mentions": render::no_pings() });
        match answer["type"].as_u64() {
            // a form can only open as the first answer.
            Some(9) => {
                body["content"] =
                    json!("That took too long to open; please press the button again.")
            }
            // a bare acknowledgement: the change itself shows on the card.
            Some(6) => body["content"] = json!("Done."),
            _ => {}
        }
        for k in ["content", "components", "embeds"] {
            if !data[k].is_null() {
                body[k] = data[k].clone();
            }
        }
        let route = Route::WebhookOriginalInteractionResponse {
            application_id: ApplicationId::new(self.config().application_id),
            token,
        };
        self.api()
            .call(route, LightMethod::Patch, Some(&body), None)
            .await
            .map(drop)
    }

    async fn interaction(&self, i: &Value) -> Value {
        let Some(who) = Who::of_interaction(i) else {
            return render::ephemeral("I can't tell who you are.");
        };
        let person = match self.person(&who).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "person not resolved");
                return render::ephemeral(
                    "Threadesk is unavailable right now; please try again in a moment.",
                );
            }
        };
        let id = i["id"].as_str().unwrap_or_default();
        let ctx = ctx(&person, "interaction", id);
        let outcome = match i["type"].as_u64() {
            Some(2) if i["data"]["type"] == 3 => self.message_command(&person, i).await,
            Some(2) => self.command(&person, &ctx, &i["data"]).await,
            Some(3) => self.component(&person, &ctx, &who, &i["data"]).await,
            Some(5) => self.modal(&who, &ctx, &i["data"]).await,
            _ => Ok(render::ephemeral("That is not something I handle.")),
        };
        self.wake();
        outcome.unwrap_or_else(|e| {
            render::ephemeral(&threadesk_chat::reply::sentence(&e, "discord interaction"))
        })
    }
}
