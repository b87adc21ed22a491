//! Invokes: card buttons (`adaptiveCard/action`, answered with the card
//! redrawn), dialogs (`task/fetch`, `task/submit`) and the "Create ticket"
//! message action (`composeExtension/fetchTask`, `…/submitAction`).

use super::ctx;
use super::parse::Activity;
use crate::platform::split_thread;
use crate::render::{self, verbs};
use crate::TeamsAdapter;
use serde_json::{json, Value};
use threadesk_chat::input::{self, Written, Wrote};
use threadesk_chat::{CardFor, ChatPlatform};
use threadesk_core::domain::Person;
use threadesk_core::engine::{Invitee, NewTicket};
use threadesk_core::surfaces::Audience;
use threadesk_core::{Ctx, DelegateId, DepartmentId, EngineError, TicketId};

fn number(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Text of a message a "Create ticket" action was started from (HTML).
fn message_text(v: &Value) -> String {
    let html = v["messagePayload"]["body"]["content"]
        .as_str()
        .unwrap_or_default();
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    super::parse::plain_text(&out)
}

impl TeamsAdapter {
    pub(super) async fn invoke(&self, a: &Activity) -> Value {
        let staff_side = self.is_staff_channel(&a.conversation);
        let person = match self.person(&a.from, staff_side).await {
            Ok(p) => p,
            Err(e) => {
                let said = threadesk_chat::reply::sentence(&e, "teams invoke");
                return json!({ "statusCode": 500, "type": "application/vnd.microsoft.error", "value": { "code": "Unavailable", "message": said } });
            }
        };
        let ctx = ctx(&person, "invoke", &a.id);
        let answer = match a.name.as_deref().unwrap_or_default() {
            "adaptiveCard/action" => self.card_action(a, &person, &ctx).await,
            "task/fetch" => self.dialog(&a.value["data"]).await,
            "composeExtension/fetchTask" => {
                let prefill = json!({ "message": message_text(&a.value) });
                self.dialog(&prefill).await
            }
            "task/submit" | "composeExtension/submitAction" => {
                self.submit(&ctx, &a.value["data"]).await
            }
            other => {
                tracing::info!(invoke = other, "teams invoke not handled");
                Ok(json!({}))
            }
        };
        answer.unwrap_or_else(|e| {
            let said = threadesk_chat::reply::sentence(&e, "teams card action");
            match a.name.as_deref() {
                Some("adaptiveCard/action") => render::card_answer(render::said(&said)),
                _ => render::dialog_done(&said),
            }
        })
    }

    /// A dialog's form: a new ticket (filled with what is known) or the
    /// subject of a ticket.
    async fn dialog(&self, data: &Value) -> Result<Value, EngineError> {
        if data["dialog"] == verbs::SUBJECT {
            let Some(t) = number(&data["ticket"]) else {
                return Ok(render::dialog_done("That button is out of date."));
            };
            let facts = self.engine().system().card_facts(TicketId(t)).await?;
            return Ok(render::dialog(
                "Edit subject",
                render::subject_form(t, &facts.ticket.subject, None),
            ));
        }
        let departments = self.engine().departments(false).await?;
        Ok(render::dialog(
            "New ticket",
            render::new_ticket_form(
                &departments,
                &string(&data["subject"]),
                number(&data["department"]),
                &string(&data["message"]),
                None,
            ),
        ))
    }

    /// A submitted dialog: the ticket opened (or the subject changed); a
    /// refusal shows the form again with what was typed.
    async fn submit(&self, ctx: &Ctx, data: &Value) -> Result<Value, EngineError> {
        let subject = string(&data["subject"]);
        if data["dialog"] == verbs::SUBJECT {
            let Some(t) = number(&data["ticket"]) else {
                return Ok(render::dialog_done("That form is out of date."));
            };
            return match self.engine().edit_subject(ctx, TicketId(t), &subject).await {
                Ok(t) => Ok(render::dialog_done(&format!(
                    "Subject of {} changed.",
                    t.number
                ))),
                Err(e @ EngineError::Invalid(_)) => Ok(render::dialog(
                    "Edit subject",
                    render::subject_form(t, &subject, Some(&e.sentence())),
                )),
                Err(e) => Err(e),
            };
        }
        let message = string(&data["message"]);
        let department = number(&data["department"]);
        let input = NewTicket {
            subject: subject.clone(),
            department: department.map(DepartmentId),
            body: message.clone(),
            attachments: vec![],
        };
        match self.engine().open_ticket(ctx, input).await {
            Ok(o) => Ok(render::dialog_done(&format!(
                "Ticket {} is open. Its card is in our 1:1 chat; the support team answers there.",
                o.ticket.number
            ))),
            Err(e @ (EngineError::Invalid(_) | EngineError::NotFound("department"))) => {
                let why = match e {
                    EngineError::NotFound(_) => {
                        "That department is no longer available; choose another.".to_owned()
                    }
                    e => e.sentence(),
                };
                let departments = self.engine().departments(false).await?;
                Ok(render::dialog(
                    "New ticket",
                    render::new_ticket_form(
                        &departments,
                        &subject,
                        department,
                        &message,
                        Some(&why),
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// The card an action came from, redrawn for its audience.
    async fn redraw(&self, a: &Activity, ticket: TicketId) -> Result<Value, EngineError> {
        let at = match (split_thread(&a.conversation), &a.reply_to) {
            (Some((channel, root)), _) => Some(self.at(channel, root)),
            (None, Some(card)) => Some(self.at(&a.conversation, card)),
            (None, None) => None,
        };
        let surface = match at {
            Some(at) => self.engine().system().surface_at(&at).await?,
            None => None,
        };
        let to = match surface.map(|s| s.audience) {
            Some(Audience::Staff) => CardFor::Staff,
            _ => CardFor::Customer,
        };
        let facts = self.engine().system().card_facts(ticket).await?;
        Ok(render::card_answer(render::card(&facts, to)))
    }

    async fn card_action(
        &self,
        a: &Activity,
        person: &Person,
        ctx: &Ctx,
    ) -> Result<Value, EngineError> {
        let action = &a.value["action"];
        let data = &action["data"];
        let verb = action["verb"].as_str().unwrap_or_default();
        let ticket = number(&data["ticket"]).map(TicketId);
        let delegate = number(&data["delegate"]).map(DelegateId);
        let engine = self.engine();
        let stale = || {
            Ok(render::card_answer(render::said(
                "That button is out of date.",
            )))
        };
        match (verb, ticket, delegate) {
            (verbs::CLOSE, Some(t), _) => {
                let t = engine.ticket(person.id, t).await?;
                Ok(render::card_answer(render::confirm_close(
                    t.number, &t.subject, t.id.0,
                )))
            }
            (verbs::CLOSE_CONFIRMED, Some(t), _) => {
                engine.close(ctx, t).await?;
                self.redraw(a, t).await
            }
            ("card", Some(t), _) => {
                engine.ticket(person.id, t).await?;
                self.redraw(a, t).await
            }
            (verbs::STATUS, Some(t), _) => {
                let Some(status) = data["status"].as_str().and_then(|s| s.parse().ok()) else {
                    return self.redraw(a, t).await;
                };
                engine.set_status(ctx, t, status).await?;
                self.redraw(a, t).await
            }
            (verbs::CLAIM, Some(t), _) => {
                engine.claim(ctx, t).await?;
                self.redraw(a, t).await
            }
            (verbs::DELEGATES, Some(t), _) => self.delegates(person, t, None).await,
            (verbs::INVITE, Some(t), _) => {
                let email = string(&data["email"]);
                let said = if email.trim().is_empty() {
                    "Write the e-mail address of the person to invite.".to_owned()
                } else {
                    match engine
                        .invite_delegate(ctx, t, Invitee::Email(email.trim().to_owned()))
                        .await
                    {
                        Ok(_) => format!("Invited {}.", render::escape(email.trim())),
                        Err(e @ (EngineError::Invalid(_) | EngineError::Conflict(_))) => {
                            format!("{} ({})", e.sentence(), render::escape(email.trim()))
                        }
                        Err(e) => return Err(e),
                    }
                };
                self.delegates(person, t, Some(&said)).await
            }
            (verbs::REVOKE, Some(t), Some(d)) => {
                let d = engine.revoke_delegate_of(ctx, t, d).await?;
                self.delegates(person, d.ticket_id, Some("Access revoked."))
                    .await
            }
            (verbs::ACCEPT, _, Some(d)) => {
                engine.accept_delegation(ctx, d).await?;
                Ok(render::card_answer(render::said(
                    "Invitation accepted: the ticket's card is on its way to this chat.",
                )))
            }
            (verbs::DECLINE, _, Some(d)) => {
                engine.decline_delegation(ctx, d).await?;
                Ok(render::card_answer(render::said("Invitation declined.")))
            }
            (verbs::RATE, Some(t), _) => {
                let score = string(&data["score"]).trim().parse::<i64>().unwrap_or(0);
                if score == 0 {
                    return Ok(render::card_answer(render::said(
                        "Choose a rating from 1 to 5 first.",
                    )));
                }
                let comment = string(&data["comment"]);
                let comment = Some(comment.trim()).filter(|c| !c.is_empty());
                match input::rate(self, ctx, t, score, comment).await {
                    // the card, redrawn with the rating, says it.
                    Ok(_) => self.redraw(a, t).await,
                    Err(e @ (EngineError::Invalid(_) | EngineError::Conflict(_))) => {
                        Ok(render::card_answer(render::said(&e.sentence())))
                    }
                    Err(e) => Err(e),
                }
            }
            (verbs::SAVED, Some(t), _) => {
                let Some(reply) = number(&data["reply"]) else {
                    return Ok(render::card_answer(render::said("Choose a saved reply.")));
                };
                let said =
                    input::send_saved(self, ctx, t, threadesk_core::SavedReplyId(reply)).await?;
                Ok(render::card_answer(render::said(&said)))
            }
            (verbs::LIST, _, _) => {
                let page = input::more(self, person, render::list_at(data)).await?;
                Ok(render::card_answer(render::list(&page)))
            }
            (verbs::ROUTE, Some(t), _) => {
                let written = Written {
                    text: string(&data["text"]),
                    attachments: vec![],
                };
                let c = ctx.clone().with_origin(self.at(&a.conversation, &a.id));
                Ok(render::card_answer(render::said(&match input::write(
                    self, person, &c, t, written,
                )
                .await?
                {
                    Wrote::Added { posted, .. } => {
                        format!("Added to ticket {}.", posted.ticket.number)
                    }
                    Wrote::Refused(r) => {
                        format!("{} You wrote: “{}”", r.why, render::clip(&r.text, 500))
                    }
                })))
            }
            _ => stale(),
        }
    }

    async fn delegates(
        &self,
        person: &Person,
        t: TicketId,
        said: Option<&str>,
    ) -> Result<Value, EngineError> {
        let ticket = self.engine().ticket(person.id, t).await?;
        let list = self.engine().delegates(person.id, t).await?;
        let mut card = render::delegates(t.0, ticket.number, &ticket.subject, &list, said);
        if let Some(actions) = card["actions"].as_array_mut() {
            actions.push(render::execute("Back", "card", json!({ "ticket": t.0 })));
        }
        Ok(render::card_answer(card))
    }
}
