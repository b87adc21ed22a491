//! From Slack to the engine: slash commands, interactions and events, the
//! same code whether they came over HTTP or Socket Mode. Each engine call
//! carries Slack's own id of the request as its idempotency key.

mod commands;
mod events;
mod interactions;
mod late;
mod parse;

use crate::render;
use crate::SlackAdapter;
use serde_json::{json, Value};
use threadesk_chat::late::Within;
use threadesk_core::domain::ValidationError;
use threadesk_core::EngineError;

/// How long a handler may work before Slack gets a bare acknowledgement
/// (Slack wants an answer within 3 seconds).
pub const ANSWER_BUDGET: std::time::Duration = std::time::Duration::from_millis(2500);

/// Runs a handler on its own task and gives its answer, or a bare
/// acknowledgement once [`ANSWER_BUDGET`] is spent (the work goes on; a
/// redelivery would find it done, every command being idempotent). Both
/// HTTP mode and Socket Mode answer through this.
pub(crate) async fn within_budget<F>(work: F) -> Answer
where
    F: std::future::Future<Output = Answer> + Send + 'static,
{
    match tokio::time::timeout(ANSWER_BUDGET, tokio::spawn(work)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "slack handler failed");
            Answer::Ack
        }
        Err(_) => {
            tracing::warn!("slack handler still working; acknowledged first");
            Answer::Ack
        }
    }
}

/// What to answer Slack with.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `200` with an empty body.
    Ack,
    /// `200` with this JSON body (an ephemeral reply, a `response_action`).
    Json(Value),
    /// Not handled for a reason on our side (the database out of reach):
    /// not acknowledged (`503`; in Socket Mode, no acknowledgement), so
    /// that Slack delivers it again.
    Again,
}

/// A request's context: the idempotency key is Slack's own id of the
/// request, `slack:<kind>:<id>`; a request without one gets no key (rather
/// than a key shared by every such request).
pub(crate) fn ctx(person: threadesk_core::PersonId, kind: &str, id: &str) -> threadesk_core::Ctx {
    let ctx = threadesk_core::Ctx::new(person);
    if id.is_empty() {
        ctx
    } else {
        ctx.with_key(request_key(kind, id))
    }
}

/// Slack's id of a request as a key, `slack:<kind>:<id>`.
pub(crate) fn request_key(kind: &str, id: &str) -> String {
    format!("slack:{kind}:{id}")
}

/// A sentence for the person, from an engine refusal; an internal error
/// is logged (the chat layer's one mapping).
pub(crate) fn sentence(e: &EngineError) -> String {
    threadesk_chat::reply::sentence(e, "slack request")
}

/// An ephemeral slash-command answer.
pub(crate) fn ephemeral(text: &str) -> Answer {
    Answer::Json(json!({ "response_type": "ephemeral", "text": text }))
}

/// Where a validation error belongs in a modal.
pub(crate) fn field_of(e: &ValidationError) -> &'static str {
    match e {
        ValidationError::EmptySubject | ValidationError::SubjectTooLong(_) => "subject",
        ValidationError::EmptyMessage | ValidationError::MessageTooLong(_) => "message",
        ValidationError::TooManyAttachments(_)
        | ValidationError::BadAttachmentName(_)
        | ValidationError::AttachmentTooLarge { .. }
        | ValidationError::BadAttachmentLink(_) => "attachments",
        _ => "subject",
    }
}

/// Inline modal errors: nothing the person typed is lost.
pub(crate) fn modal_errors(block: &str, message: &str) -> Answer {
    Answer::Json(json!({ "response_action": "errors", "errors": { block: message } }))
}

impl SlackAdapter {
    /// An Events API envelope (`event_callback` or `url_verification`).
    ///
    /// Slack delivers an event again only when it was not acknowledged, so
    /// an event is acknowledged once its change is durable: handled within
    /// [`ANSWER_BUDGET`], or stored for late handling past it (with the
    /// binary's settings, [`SlackAdapter::acknowledge_first`]); without a
    /// store, the answer waits for the handling. An event that could not be
    /// handled for a reason on our side is not acknowledged.
    pub async fn on_event(&self, envelope: &Value) -> Answer {
        if envelope["type"] == "url_verification" {
            return Answer::Json(json!({ "challenge": envelope["challenge"] }));
        }
        if envelope["type"] != "event_callback" {
            return Answer::Ack;
        }
        let me = self.clone();
        let event = envelope.clone();
        let running = tokio::spawn(async move { me.event(&event).await });
        let id = envelope["event_id"].as_str().unwrap_or_default();
        let Some(late) = self.late().filter(|_| !id.is_empty()) else {
            return running.await.unwrap_or(Answer::Again);
        };
        let stored = json!({ "event": envelope }).to_string();
        let key = request_key("event", id);
        match late
            .within(self, &key, stored, running, ANSWER_BUDGET)
            .await
        {
            Within::Answered(answer) => answer,
            Within::Later => Answer::Ack,
            // the handling may go on; acknowledged or not, it acts once.
            Within::Failed { why, .. } => {
                tracing::warn!(
                    why,
                    "slack event neither handled in time nor stored; not acknowledged"
                );
                Answer::Again
            }
        }
    }

    /// Shows a short message to one person in a channel, logging a failure.
    pub(crate) async fn tell(&self, channel: &str, user: &str, text: &str, blocks: Option<Value>) {
        let mut body = json!({ "channel": channel, "user": user, "text": text });
        if let Some(b) = blocks {
            body["blocks"] = b;
        }
        if let Err(e) = self.api().post_ephemeral(body).await {
            tracing::warn!(error = %e, "ephemeral message not delivered");
        }
    }

    /// Opens a modal in the background (Slack wants the answer first).
    pub(crate) fn open_modal(&self, trigger_id: &str, view: Value) {
        let me = self.clone();
        let trigger = trigger_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = me.api().open_view(&trigger, view).await {
                tracing::warn!(error = %e, "modal not opened");
            }
        });
    }

    /// The new-ticket modal, pre-filled.
    pub(crate) async fn new_ticket_modal(&self, subject: &str, body: &str) -> Value {
        let departments = self.engine().departments(false).await.unwrap_or_default();
        render::new_ticket_modal(&departments, subject, body)
    }
}
