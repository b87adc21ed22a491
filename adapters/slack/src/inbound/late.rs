//! Acknowledged first, answered late ([`threadesk_chat::late`]): with the
//! binary's settings, a slash command, a button or menu action and a New
//! ticket form are stored and acknowledged at once, then handled; the
//! answer replaces the acknowledgement. What opens a form (`/ticket open`,
//! `/ticket reply #N` without a name, the Rate, Delegates, Edit subject and
//! New ticket buttons, the message shortcuts) is handled before it is
//! answered: a form opens only within 3 seconds of the request.
//!
//! - A slash command is acknowledged with a private "Working on it…" that
//!   its answer replaces through the command's `response_url`
//!   (`replace_original`), or removes when the answer is a form.
//! - A New ticket form is checked as typed first (an empty subject is
//!   still shown beside its field at once); then it turns into "Opening
//!   your ticket…", which `views.update` turns into the opened ticket, or
//!   into the form again, as typed, with why it was not opened.
//! - Other buttons and menus answer with an empty acknowledgement as
//!   before; what they change shows on the card, and refusals are told
//!   privately.
//! - A late answer goes out no sooner than 300 ms after its request came
//!   in, so Slack shows the acknowledgement it replaces first.
//!
//! Other modal submissions are handled before they are answered: their
//! refusals belong beside their fields, which only the first answer can do.
//!
//! An event (a message in a ticket's thread, an edit, a ✅) is handled
//! before it is acknowledged, and stored here only when that takes longer
//! than [`super::ANSWER_BUDGET`] ([`SlackAdapter::on_event`]): Slack would
//! not deliver an acknowledged event again, so it must be durable first.

use super::interactions::{new_ticket, submission_id};
use super::Answer;
use crate::api::ApiError;
use crate::render::{self, ids};
use crate::SlackAdapter;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use threadesk_chat::late::{AckFirst, LateAnswers};

/// The store's name for Slack.
const PLATFORM: &str = "slack";

/// Whether a button's handling opens a form (with the request's
/// trigger, which expires 3 seconds after the click).
fn opens_a_form(p: &Value) -> bool {
    let id = p["actions"][0]["action_id"].as_str().unwrap_or_default();
    id.starts_with(ids::RATE) || [ids::DELEGATES, ids::EDIT_SUBJECT, ids::NEW_TICKET].contains(&id)
}

/// The earliest a late answer goes out after its request arrived: Slack
/// must have shown the acknowledgement first, or the answer that replaces
/// it would come before it (and be covered by it).
const NOT_BEFORE: Duration = Duration::from_millis(300);

/// Waits until [`NOT_BEFORE`] after the request was stored (`at`, in
/// milliseconds since the epoch; long past for a request taken up again).
async fn not_before(stored: &Value) {
    let at = stored["at"].as_u64().unwrap_or(0);
    let now = now_ms();
    let due = at.saturating_add(u64::try_from(NOT_BEFORE.as_millis()).unwrap_or(0));
    if due > now {
        tokio::time::sleep(Duration::from_millis(due - now)).await;
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// A refusal is final (logged); anything else is tried again.
fn outcome(what: &str, r: Result<impl Sized, ApiError>) -> Result<(), String> {
    match r {
        Ok(_) => Ok(()),
        Err(ApiError::Refused { code }) => {
            tracing::info!(code, "{what} refused by slack; not tried again");
            Ok(())
        }
        Err(e) => Err(format!("{what}: {e}")),
    }
}

impl SlackAdapter {
    /// A slash command: acknowledged first when it can be, else handled
    /// and answered at once.
    pub async fn on_command(&self, form: &HashMap<String, String>) -> Answer {
        if let (Some(late), Some(key)) = (self.late(), self.deferrable_command(form)) {
            let stored = json!({ "command": form, "at": now_ms() }).to_string();
            match late.accept(self, &key, stored).await {
                Ok(()) => return Answer::Json(render::working()),
                Err(e) => {
                    tracing::warn!(error = %e, "slash command not stored; handled before answering")
                }
            }
        }
        self.handle_command(form).await
    }

    /// An interaction (the decoded `payload` JSON): acknowledged first when
    /// it can be, else handled and answered at once.
    pub async fn on_interaction(&self, p: &Value) -> Answer {
        if let (Some(late), Some((key, ack))) = (self.late(), self.deferrable_interaction(p)) {
            let stored = json!({ "interaction": p, "at": now_ms() }).to_string();
            match late.accept(self, &key, stored).await {
                Ok(()) => return ack,
                Err(e) => {
                    tracing::warn!(error = %e, "interaction not stored; handled before answering")
                }
            }
        }
        self.handle_interaction(p).await
    }

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

    /// The key and acknowledgement of an interaction that can be answered
    /// late; `None` for one answered at once.
    fn deferrable_interaction(&self, p: &Value) -> Option<(String, Answer)> {
        if p["user"]["id"].as_str().unwrap_or_default().is_empty() {
            return None;
        }
        let trigger = p["trigger_id"].as_str().unwrap_or_default();
        match p["type"].as_str()? {
            // a button that opens a form must do it within the trigger's 3
            // seconds: those are handled before they are answered.
            "block_actions" if !trigger.is_empty() && !opens_a_form(p) => {
                Some((super::request_key("interaction", trigger), Answer::Ack))
            }
            "view_submission" if p["view"]["callback_id"] == ids::NEW_TICKET_VIEW => {
                let view = &p["view"];
                let id = submission_id(view);
                // refusals of what was typed show beside the fields, now.
                let checked = self.engine().check_new_ticket(&new_ticket(view));
                (!id.is_empty() && checked.is_ok()).then(|| {
                    let ack =
                        json!({ "response_action": "update", "view": render::opening_modal() });
                    (super::request_key("view", &id), Answer::Json(ack))
                })
            }
            _ => None,
        }
    }

    /// Shows a form's late answer in the modal it was submitted from.
    async fn answer_form(&self, p: &Value, answer: Answer) -> Result<(), String> {
        let Some(view_id) = p["view"]["id"].as_str() else {
            return Ok(());
        };
        let why = match answer {
            Answer::Json(a) if a["response_action"] == "update" => {
                return self.update_view(view_id, a["view"].clone()).await;
            }
            Answer::Json(a) if a["response_action"] == "errors" => a["errors"]
                .as_object()
                .and_then(|e| e.values().next())
                .and_then(Value::as_str)
                .unwrap_or("That did not work; please try again.")
                .to_owned(),
            // not handled (the person could not be read).
            _ => "Something went wrong on our side; please try again.".to_owned(),
        };
        // the form again, as typed, with why.
        let typed = new_ticket(&p["view"]);
        let departments = self.engine().departments(false).await.unwrap_or_default();
        let view =
            render::new_ticket_modal_refused(&departments, &typed.subject, &typed.body, &why);
        self.update_view(view_id, view).await
    }

    /// Replaces the modal `view_id` shows.
    async fn update_view(&self, view_id: &str, view: Value) -> Result<(), String> {
        let update = json!({ "view_id": view_id, "view": view });
        outcome(
            "late form answer",
            self.api().post("views.update", update).await,
        )
    }
}

impl LateAnswers for SlackAdapter {
    type Answer = Answer;
    const PLATFORM: &'static str = PLATFORM;

    async fn handle(&self, stored: &str) -> Answer {
        let Ok(stored) = serde_json::from_str::<Value>(stored) else {
            tracing::error!("a stored slack request is not JSON; dropped");
            return Answer::Ack;
        };
        if let Some(envelope) = stored.get("event") {
            self.event(envelope).await
        } else if let Some(form) = stored.get("command") {
            let form: HashMap<String, String> =
                serde_json::from_value(form.clone()).unwrap_or_default();
            self.handle_command(&form).await
        } else {
            self.handle_interaction(&stored["interaction"]).await
        }
    }

    async fn answer(&self, stored: &str, answer: Answer) -> Result<(), String> {
        if answer == Answer::Again {
            // not handled: tried again later.
            return Err("not handled, for a reason on our side".to_owned());
        }
        let stored: Value = serde_json::from_str(stored).unwrap_or_default();
        if stored.get("event").is_some() {
            // an event has nobody to answer: what it changed shows itself.
            return Ok(());
        }
        not_before(&stored).await;
        if let Some(form) = stored.get("command") {
            let Some(url) = form["response_url"].as_str().filter(|u| !u.is_empty()) else {
                return Ok(());
            };
            let body = match answer {
                // the answer takes the place of "Working on it…".
                Answer::Json(mut a) => {
                    a["replace_original"] = json!(true);
                    a
                }
                // a form opened (or nothing to say): "Working on it…" goes.
                Answer::Ack | Answer::Again => json!({ "delete_original": true }),
            };
            return outcome("late command answer", self.api().respond(url, body).await);
        }
        let p = &stored["interaction"];
        if p["type"] == "view_submission" {
            return self.answer_form(p, answer).await;
        }
        Ok(())
    }
}
