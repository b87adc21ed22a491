//! Buttons, selects, modal submissions and the internal-note shortcut.

use super::parse::files;
use super::{field_of, modal_errors, sentence, Answer};
use crate::render::{self, ids};
use crate::SlackAdapter;
use serde_json::{json, Value};
use threadesk_chat::input::{ListAt, More};
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::Status;
use threadesk_core::engine::{Invitee, NewMessage, NewTicket};
use threadesk_core::surfaces::Audience;
use threadesk_core::{DelegateId, DepartmentId, EngineError, TicketId};

fn state<'a>(view: &'a Value, block: &str) -> &'a Value {
    &view["state"]["values"][block]["value"]
}

fn text_input(view: &Value, block: &str) -> String {
    state(view, block)["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// What the New ticket modal holds.
pub(crate) fn new_ticket(view: &Value) -> NewTicket {
    NewTicket {
        subject: text_input(view, "subject"),
        department: state(view, "department")["selected_option"]["value"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .map(DepartmentId),
        body: text_input(view, "message"),
        attachments: files(&state(view, "attachments")["files"]),
    }
}

/// The modal's id and hash: a modal updated in place (Delegates) keeps its
/// id but gets a new hash each time, so the pair names one submission.
pub(crate) fn submission_id(view: &Value) -> String {
    match (view["id"].as_str(), view["hash"].as_str()) {
        (Some(id), Some(hash)) => format!("{id}:{hash}"),
        (Some(id), None) => id.to_owned(),
        _ => String::new(),
    }
}

impl SlackAdapter {
    /// An interaction (the decoded `payload` JSON), handled before it is
    /// answered.
    pub(crate) async fn handle_interaction(&self, p: &Value) -> Answer {
        let user = p["user"]["id"].as_str().unwrap_or_default();
        if user.is_empty() {
            return Answer::Ack;
        }
        let person = match self.person(user).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "interaction from an unknown person dropped");
                return Answer::Ack;
            }
        };
        let trigger = p["trigger_id"].as_str().unwrap_or_default();
        let answer = match p["type"].as_str().unwrap_or_default() {
            "block_actions" => self
                .action(p, &person, user, trigger)
                .await
                .map(|()| Answer::Ack),
            "view_submission" => self.submission(p, &person).await,
            "message_action" | "shortcut" => self
                .shortcut(p, &person, user, trigger)
                .await
                .map(|()| Answer::Ack),
            _ => Ok(Answer::Ack),
        };
        match answer {
            Ok(a) => a,
            Err(e) => {
                let channel = p["container"]["channel_id"]
                    .as_str()
                    .or(p["channel"]["id"].as_str());
                if let Some(channel) = channel {
                    self.tell(channel, user, &sentence(&e), None).await;
                }
                Answer::Ack
            }
        }
    }

    async fn action(
        &self,
        p: &Value,
        person: &threadesk_core::domain::Person,
        user: &str,
        trigger: &str,
    ) -> Result<(), EngineError> {
        let action = &p["actions"][0];
        let id = action["action_id"].as_str().unwrap_or_default();
        let value = action["value"].as_str().unwrap_or_default();
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| EngineError::NotFound("ticket"))
        };
        let ctx = super::ctx(person.id, "action", trigger);
        let engine = self.engine();
        if let Some(score) = id
            .strip_prefix(ids::RATE)
            .and_then(|s| s.parse::<u8>().ok())
        {
            // the modal asks for a comment; the rating is given on submit.
            let t = engine.ticket(person.id, TicketId(number(value)?)).await?;
            let comment = engine
                .rating(person.id, t.id)
                .await?
                .and_then(|r| r.comment);
            self.open_modal(
                trigger,
                render::rate_modal(t.id.0, t.number, score, comment.as_deref()),
            );
            return Ok(());
        }
        match id {
            ids::CLOSE => {
                engine.close(&ctx, TicketId(number(value)?)).await?;
            }
            ids::CLAIM => {
                engine.claim(&ctx, TicketId(number(value)?)).await?;
            }
            ids::SET_STATUS => {
                let ticket = p["actions"][0]["block_id"]
                    .as_str()
                    .and_then(|b| b.strip_prefix("card:"))
                    .unwrap_or_default();
                let wanted = action["selected_option"]["value"]
                    .as_str()
                    .unwrap_or_default();
                let Some(status) = Status::ALL.iter().find(|s| s.as_str() == wanted) else {
                    return Ok(());
                };
                engine
                    .set_status(&ctx, TicketId(number(ticket)?), *status)
                    .await?;
            }
            ids::DELEGATES => {
                let t = engine.ticket(person.id, TicketId(number(value)?)).await?;
                let list = engine.delegates(person.id, t.id).await?;
                self.open_modal(trigger, render::delegates_modal(t.id.0, t.number, &list));
            }
            ids::EDIT_SUBJECT => {
                let t = engine.ticket(person.id, TicketId(number(value)?)).await?;
                self.open_modal(
                    trigger,
                    render::edit_subject_modal(t.id.0, t.number, &t.subject),
                );
            }
            ids::ACCEPT | ids::DECLINE => {
                let d = DelegateId(number(value).map_err(|_| EngineError::NotFound("invitation"))?);
                let (d, done) = if id == ids::ACCEPT {
                    (
                        engine.accept_delegation(&ctx, d).await?,
                        "You accepted: the ticket's card is in your direct messages.",
                    )
                } else {
                    (
                        engine.decline_delegation(&ctx, d).await?,
                        "You declined this invitation.",
                    )
                };
                if let (Some(ch), Some(ts)) = (
                    p["container"]["channel_id"].as_str(),
                    p["container"]["message_ts"].as_str(),
                ) {
                    let (text, blocks) = render::line(done);
                    let body = json!({ "channel": ch, "ts": ts, "text": text, "blocks": blocks });
                    if let Err(e) = self.api().update_message(body).await {
                        tracing::warn!(error = %e, delegate.id = %d.id, "invitation not updated");
                    }
                }
            }
            ids::REVOKE => {
                let d = engine
                    .revoke_delegate(
                        &ctx,
                        DelegateId(number(value).map_err(|_| EngineError::NotFound("delegate"))?),
                    )
                    .await?;
                let t = engine.ticket(person.id, d.ticket_id).await?;
                let list = engine.delegates(person.id, t.id).await?;
                if let Some(view_id) = p["view"]["id"].as_str() {
                    let view = render::delegates_modal(t.id.0, t.number, &list);
                    if let Err(e) = self
                        .api()
                        .post("views.update", json!({ "view_id": view_id, "view": view }))
                        .await
                    {
                        tracing::warn!(error = %e, "delegates modal not refreshed");
                    }
                }
            }
            ids::NEW_TICKET => {
                let view = self.new_ticket_modal("", value).await;
                self.open_modal(trigger, view);
            }
            ids::FOLLOW => {
                let t = engine.ticket(person.id, TicketId(number(value)?)).await?;
                self.follow_in_background(t.id, person.id, user);
            }
            ids::LIST_MORE => {
                let at: More = value.parse().unwrap_or_default();
                let blocks = self.list(person, at.clone()).await?;
                let channel = p["container"]["channel_id"]
                    .as_str()
                    .or(p["channel"]["id"].as_str());
                if let Some(url) = p["response_url"].as_str() {
                    // the list is an ephemeral answer: show the next page in its place.
                    let page = json!({ "response_type": "ephemeral", "replace_original": true, "text": "Your tickets", "blocks": blocks });
                    if let Err(e) = self.api().respond(url, page).await {
                        tracing::warn!(error = %e, "next page not shown");
                    }
                } else if let Some(ch) = channel {
                    self.tell(ch, user, "More tickets", Some(json!(blocks)))
                        .await;
                } else if let More::List(at) = at {
                    self.publish_home(person, user, at).await;
                }
            }
            other if other.starts_with(ids::HOME_VIEW) => {
                let at = other
                    .strip_prefix(ids::HOME_VIEW)
                    .and_then(|s| s.strip_prefix(':'))
                    .and_then(|s| s.parse::<ListAt>().ok())
                    .unwrap_or_default();
                self.publish_home(person, user, ListAt { after: None, ..at })
                    .await;
            }
            _ => {}
        }
        self.wake();
        Ok(())
    }

    async fn submission(
        &self,
        p: &Value,
        person: &threadesk_core::domain::Person,
    ) -> Result<Answer, EngineError> {
        let view = &p["view"];
        let ctx = super::ctx(person.id, "view", &submission_id(view));
        let ticket = view["private_metadata"]
            .as_str()
            .and_then(|m| m.parse().ok())
            .map(TicketId);
        let engine = self.engine();
        let answer = match (view["callback_id"].as_str().unwrap_or_default(), ticket) {
            (ids::NEW_TICKET_VIEW, _) => match engine.open_ticket(&ctx, new_ticket(view)).await {
                Ok(opened) => Answer::Json(json!({
                    "response_action": "update",
                    "view": render::opened_modal(opened.ticket.number, &opened.ticket.subject),
                })),
                Err(EngineError::Invalid(v)) => modal_errors(field_of(&v), &v.to_string()),
                Err(EngineError::NotFound("department")) => modal_errors(
                    "department",
                    "That department is no longer available; choose another.",
                ),
                Err(e) => modal_errors("message", &sentence(&e)),
            },
            (ids::EDIT_SUBJECT_VIEW, Some(t)) => match engine
                .edit_subject(&ctx, t, &text_input(view, "subject"))
                .await
            {
                Ok(_) => Answer::Ack,
                Err(e) => modal_errors("subject", &sentence(&e)),
            },
            (ids::SAVED_VIEW, Some(t)) => {
                let chosen = state(view, "saved")["selected_option"]["value"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .map(threadesk_core::SavedReplyId);
                let Some(chosen) = chosen else {
                    return Ok(modal_errors("saved", "Choose a saved reply."));
                };
                match engine.reply_saved_id(&ctx, t, chosen).await {
                    Ok(_) => Answer::Ack,
                    Err(e) => modal_errors("saved", &sentence(&e)),
                }
            }
            (ids::RATE_VIEW, Some(t)) => {
                let score = state(view, "score")["selected_option"]["value"]
                    .as_str()
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0);
                let comment = text_input(view, "comment");
                let comment = Some(comment.trim()).filter(|c| !c.is_empty());
                // the card, redrawn with the rating, is the confirmation.
                match threadesk_chat::input::rate(self, &ctx, t, score, comment).await {
                    Ok(_) => Answer::Ack,
                    Err(e) => modal_errors("score", &sentence(&e)),
                }
            }
            (ids::NOTE_VIEW, Some(t)) => match engine
                .note(&ctx, t, NewMessage::text(text_input(view, "message")))
                .await
            {
                Ok(_) => Answer::Ack,
                Err(e) => modal_errors("message", &sentence(&e)),
            },
            (ids::DELEGATES_VIEW, Some(t)) => {
                let Some(invitee) = state(view, "invitee")["selected_user"].as_str() else {
                    return Ok(Answer::Ack);
                };
                let who = self.person(invitee).await?;
                match engine
                    .invite_delegate(&ctx, t, Invitee::Person(who.id))
                    .await
                {
                    Ok(_) => {
                        let t = engine.ticket(person.id, t).await?;
                        let list = engine.delegates(person.id, t.id).await?;
                        Answer::Json(json!({
                            "response_action": "update",
                            "view": render::delegates_modal(t.id.0, t.number, &list),
                        }))
                    }
                    Err(e) => modal_errors("invitee", &sentence(&e)),
                }
            }
            _ => Answer::Ack,
        };
        self.wake();
        Ok(answer)
    }

    async fn shortcut(
        &self,
        p: &Value,
        person: &threadesk_core::domain::Person,
        user: &str,
        trigger: &str,
    ) -> Result<(), EngineError> {
        let (name, staff_thread_only) = match p["callback_id"].as_str() {
            Some(ids::NOTE_SHORTCUT) => ("Internal note", true),
            Some(ids::SAVED_SHORTCUT) => ("Send saved reply", false),
            _ => return Ok(()),
        };
        let channel = p["channel"]["id"].as_str().unwrap_or_default();
        let message = &p["message"];
        let root = message["thread_ts"]
            .as_str()
            .or(message["ts"].as_str())
            .unwrap_or_default();
        let surface = self
            .engine()
            .system()
            .surface_at(&self.at(channel, root))
            .await?
            .filter(|s| !staff_thread_only || s.audience == Audience::Staff);
        let Some(s) = surface else {
            let place = if staff_thread_only {
                "a ticket's staff thread"
            } else {
                "a ticket's thread"
            };
            self.tell(
                channel,
                user,
                &format!("Use *{name}* on a message in {place}."),
                None,
            )
            .await;
            return Ok(());
        };
        if staff_thread_only {
            let t = self.engine().system().card_facts(s.ticket_id).await?.ticket;
            self.open_modal(trigger, render::note_modal(t.id.0, t.number));
            return Ok(());
        }
        // the rights are core's: staff only, tickets they may read.
        match threadesk_chat::input::saved_picker(self, person, s.ticket_id).await? {
            threadesk_chat::input::Reply::Pick(picker) => {
                self.open_modal(trigger, render::saved_modal(&picker))
            }
            _ => {
                self.tell(channel, user, threadesk_chat::input::NO_SAVED_REPLIES, None)
                    .await
            }
        }
        Ok(())
    }
}
