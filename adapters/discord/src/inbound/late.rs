//! Acknowledged first, answered late ([`threadesk_chat::late`]): with the
//! binary's settings, a `/ticket` command that does not open a form, and a
//! submitted New ticket form, are stored and acknowledged at once with a
//! deferral (Discord shows the person a private "thinking…"), then handled;
//! the answer is edited into that message (`PATCH …/messages/@original`),
//! which shows the same however often it is edited in.
//!
//! Buttons and menus are still handled before they are answered: theirs
//! is to update the message they are on, or to open a form, which only
//! the first answer can do. One still being handled past
//! [`ANSWER_BUDGET`] is deferred, and stored then, so that its change and
//! answer survive the process as an acknowledged one's do.

use super::*;
use crate::api::ApiError;
use threadesk_chat::input::Command;
use threadesk_chat::late::{AckFirst, LateAnswers};

/// The store's name for Discord.
const PLATFORM: &str = "discord";

/// Discord's code for an interaction's webhook it does not know (yet: the
/// deferral may still be on its way).
const UNKNOWN_WEBHOOK: i64 = 10015;

/// A deferral: a private "thinking…" that the answer is edited into.
pub(super) fn thinking() -> Value {
    json!({ "type": 5, "data": { "flags": render::EPHEMERAL } })
}

impl DiscordAdapter {
    /// The runner, when this adapter acknowledges first.
    pub(super) fn late(&self) -> Option<&AckFirst> {
        self.inner.late.get()
    }

    /// From now on, acknowledges first what it can (the binary does this);
    /// the runner's [`AckFirst::recover`] must run beside it, for requests
    /// a process died with.
    pub fn acknowledge_first(&self) -> AckFirst {
        self.inner.late.start(self.engine())
    }

    /// The deferral of an interaction stored to be handled after it,
    /// when it can be; `None` for one to answer at once.
    /// Storing has [`ANSWER_BUDGET`]: a slower one is deferred anyway, and
    /// should it fail after all, the interaction is handled here and its
    /// answer edited in.
    pub(super) async fn acknowledged_first(&self, i: &Value) -> Option<Value> {
        let late = self.late()?.clone();
        let key = deferrable(i)?;
        let (me, payload) = (self.clone(), i.to_string());
        let mut storing = tokio::spawn(async move { late.accept(&me, &key, payload).await });
        match tokio::time::timeout(ANSWER_BUDGET, &mut storing).await {
            Ok(Ok(Ok(()))) => Some(thinking()),
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, "interaction not stored; handled before answering");
                None
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "storing an interaction failed; handled before answering");
                None
            }
            Err(_) => {
                tracing::warn!("interaction not stored yet; deferred");
                let (me, i) = (self.clone(), i.clone());
                tokio::spawn(async move {
                    if !matches!(storing.await, Ok(Ok(()))) {
                        let token = i["token"].as_str().unwrap_or_default().to_owned();
                        let answer = me.interaction(&i).await;
                        me.finish_deferred(&token, answer).await;
                    }
                });
                Some(thinking())
            }
        }
    }
}

/// The key of an interaction that can be answered late: a `/ticket`
/// command that does not open a form, or a submitted New ticket form.
fn deferrable(i: &Value) -> Option<String> {
    let key = interaction_key(i)?;
    let data = &i["data"];
    let late = match i["type"].as_u64() {
        Some(2) => {
            data["type"] != 3
                && parse::command(data).is_ok_and(|c| !matches!(c, Command::Open { .. }))
        }
        Some(5) => ids::split(data["custom_id"].as_str().unwrap_or_default()).0 == ids::OPEN,
        _ => false,
    };
    late.then_some(key)
}

impl LateAnswers for DiscordAdapter {
    type Answer = Value;
    const PLATFORM: &'static str = PLATFORM;

    async fn handle(&self, stored: &str) -> Value {
        match serde_json::from_str::<Value>(stored) {
            Ok(i) => self.interaction(&i).await,
            Err(_) => {
                tracing::error!("a stored discord interaction is not JSON; dropped");
                json!({ "type": 6 })
            }
        }
    }

    async fn answer(&self, stored: &str, answer: Value) -> Result<(), String> {
        let i: Value = serde_json::from_str(stored).unwrap_or_default();
        let Some(token) = i["token"].as_str() else {
            return Ok(());
        };
        // Discord may not have taken the deferral in yet: a few quick tries.
        let mut last = None;
        for wait in [0, 100, 300] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            match self.edit_original(token, &answer).await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e @ ApiError::Refused(_)) if e.code() != Some(UNKNOWN_WEBHOOK) => {
                tracing::info!(error = %e, "late interaction answer refused by discord; not tried again");
                Ok(())
            }
            Some(e) => Err(format!("late interaction answer: {e}")),
            None => Ok(()),
        }
    }
}
