//! Buttons, selects and modals: the card's actions, delegates, invitations
//! and the New ticket form.

use super::*;

impl DiscordAdapter {
    pub(super) async fn component(
        &self,
        person: &Person,
        ctx: &Ctx,
        who: &Who,
        data: &Value,
    ) -> Result<Value, EngineError> {
        let custom = data["custom_id"].as_str().unwrap_or_default();
        let (kind, rest) = ids::split(custom);
        let num = |s: &str| s.parse::<i64>().ok();
        match kind {
            ids::SAVED => {
                let (Some(t), Some(reply)) = (num(rest), data["values"][0].as_str().and_then(num))
                else {
                    return Ok(render::ephemeral("Unknown saved reply."));
                };
                let said = threadesk_chat::input::send_saved(
                    self,
                    ctx,
                    TicketId(t),
                    threadesk_core::SavedReplyId(reply),
                )
                .await?;
                Ok(render::update(&said, json!([])))
            }
            ids::CLOSE => {
                let Some(t) = num(rest) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                let t = self.engine().ticket(person.id, TicketId(t)).await?;
                Ok(render::ephemeral_with(
                    &format!(
                        "Close ticket {} *{}*? Replies in its thread stop.",
                        t.number,
                        render::escape(&t.subject)
                    ),
                    json!([{ "type": 1, "components": [
                        { "type": 2, "style": 4, "label": "Yes, close it", "custom_id": ids::make(ids::CLOSE_CONFIRMED, t.id.0) }
                    ] }]),
                ))
            }
            ids::CLOSE_CONFIRMED => {
                let Some(t) = num(rest) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                let t = self.engine().close(ctx, TicketId(t)).await?;
                Ok(render::update(
                    &format!("Ticket {} is closed.", t.number),
                    json!([]),
                ))
            }
            ids::SUBJECT => {
                let Some(t) = num(rest) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                let t = self.engine().ticket(person.id, TicketId(t)).await?;
                Ok(render::subject_modal(t.id.0, &t.subject))
            }
            ids::RATE => {
                let (t, score) = rest.split_once(':').unwrap_or((rest, ""));
                let (Some(t), Ok(score)) = (num(t), score.parse::<u8>()) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                // the modal asks for a comment; the rating is given on submit.
                let t = self.engine().ticket(person.id, TicketId(t)).await?;
                let comment = self
                    .engine()
                    .rating(person.id, t.id)
                    .await?
                    .and_then(|r| r.comment)
                    .unwrap_or_default();
                Ok(render::rating_modal(
                    t.id.0,
                    &t.number.to_string(),
                    score,
                    &comment,
                ))
            }
            ids::DELEGATES => {
                let Some(t) = num(rest) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                self.delegates_panel(person, TicketId(t), false, None).await
            }
            ids::INVITE => {
                let Some(t) = num(rest) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                let ticket = TicketId(t);
                let mut said = vec![];
                for user in data["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let invitee = parse::resolved_user(data, user);
                    if invitee.bot {
                        said.push(format!("{} is a bot.", render::escape(&invitee.name)));
                        continue;
                    }
                    let p = self.person(&invitee).await?;
                    let c = Ctx::new(person.id).with_key(format!(
                        "{}:{}",
                        ctx.key.clone().unwrap_or_default(),
                        user
                    ));
                    match self
                        .engine()
                        .invite_delegate(&c, ticket, Invitee::Person(p.id))
                        .await
                    {
                        Ok(_) => said.push(format!("Invited {}.", render::escape(&invitee.name))),
                        Err(e) => said.push(format!(
                            "{}: {}",
                            render::escape(&invitee.name),
                            e.sentence()
                        )),
                    }
                }
                self.wake();
                self.delegates_panel(person, ticket, true, Some(said.join(" ")))
                    .await
            }
            ids::REVOKE => {
                let Some(d) = num(rest) else {
                    return Ok(render::ephemeral("Unknown delegate."));
                };
                let d = self.engine().revoke_delegate(ctx, DelegateId(d)).await?;
                self.wake();
                self.delegates_panel(
                    person,
                    d.ticket_id,
                    true,
                    Some("Access revoked.".to_owned()),
                )
                .await
            }
            ids::ACCEPT | ids::DECLINE => {
                let Some(d) = num(rest) else {
                    return Ok(render::ephemeral("Unknown invitation."));
                };
                let text = if kind == ids::ACCEPT {
                    self.engine().accept_delegation(ctx, DelegateId(d)).await?;
                    "Invitation accepted: you are being added to the ticket's thread."
                } else {
                    self.engine().decline_delegation(ctx, DelegateId(d)).await?;
                    "Invitation declined."
                };
                Ok(render::update(text, json!([])))
            }
            ids::CLAIM => {
                let Some(t) = num(rest) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                let t = self.engine().claim(ctx, TicketId(t)).await?;
                Ok(render::ephemeral(&format!(
                    "You now own ticket {}.",
                    t.number
                )))
            }
            ids::STATUS => {
                let (Some(t), Some(status)) = (
                    num(rest),
                    data["values"][0]
                        .as_str()
                        .and_then(|s| s.parse::<Status>().ok()),
                ) else {
                    return Ok(render::ephemeral("Unknown status."));
                };
                self.engine().set_status(ctx, TicketId(t), status).await?;
                Ok(json!({ "type": 6 }))
            }
            ids::RETRY => {
                let department = rest.parse::<i64>().unwrap_or(0);
                let draft = self
                    .inner
                    .drafts
                    .lock()
                    .ok()
                    .and_then(|mut d| d.remove(&who.id));
                let (subject, body) = draft.unwrap_or_default();
                Ok(render::new_ticket_modal(department, &subject, &body))
            }
            ids::LIST => match rest.parse() {
                Ok(at) => self.more(person, at).await,
                Err(_) => Ok(render::ephemeral(
                    "That list is out of date; use `/ticket list` again.",
                )),
            },
            _ => {
                tracing::info!(discord.custom_id = custom, user = %who.id, "unknown component");
                Ok(render::ephemeral("That button is no longer in use."))
            }
        }
    }

    /// The Delegates panel: who follows the ticket, Revoke buttons, and a
    /// user select to invite more.
    pub(super) async fn delegates_panel(
        &self,
        person: &Person,
        ticket: TicketId,
        replace: bool,
        said: Option<String>,
    ) -> Result<Value, EngineError> {
        let t = self.engine().ticket(person.id, ticket).await?;
        let delegates = self.engine().delegates(person.id, ticket).await?;
        let mut lines = vec![format!(
            "**Delegates of {}** *{}*",
            t.number,
            render::escape(&t.subject)
        )];
        if let Some(s) = said.filter(|s| !s.is_empty()) {
            lines.push(s);
        }
        let mut revoke = vec![];
        for d in &delegates {
            let name = d.display_name();
            lines.push(format!(
                "• {} · {}",
                render::escape(name),
                d.status.as_str()
            ));
            if d.status.is_revocable() && revoke.len() < 5 {
                revoke.push(json!({ "type": 2, "style": 4, "label": render::clip(&format!("Revoke {name}"), 80), "custom_id": ids::make(ids::REVOKE, d.id.0) }));
            }
        }
        if delegates.is_empty() {
            lines.push("Nobody else follows this ticket yet.".to_owned());
        }
        let mut rows = vec![json!({ "type": 1, "components": [
            { "type": 5, "custom_id": ids::make(ids::INVITE, ticket.0), "placeholder": "Invite someone to follow it", "min_values": 1, "max_values": 5 }
        ] })];
        if !revoke.is_empty() {
            rows.push(json!({ "type": 1, "components": revoke }));
        }
        let text = lines.join("\n");
        Ok(if replace {
            render::update(&text, Value::Array(rows))
        } else {
            render::ephemeral_with(&text, Value::Array(rows))
        })
    }

    pub(super) async fn modal(
        &self,
        who: &Who,
        ctx: &Ctx,
        data: &Value,
    ) -> Result<Value, EngineError> {
        let custom = data["custom_id"].as_str().unwrap_or_default();
        let (kind, rest) = ids::split(custom);
        match kind {
            ids::OPEN => {
                let subject = field(data, "subject");
                let body = field(data, "message");
                let department = rest
                    .parse::<i64>()
                    .ok()
                    .filter(|d| *d > 0)
                    .map(DepartmentId);
                let input = NewTicket {
                    subject: subject.clone(),
                    department,
                    body: body.clone(),
                    attachments: vec![],
                };
                match self.engine().open_ticket(ctx, input).await {
                    Ok(o) => Ok(render::ephemeral(&format!(
                        "Ticket {} *{}* is open. Its private thread appears in <#{}> in a moment; the support team answers there.",
                        o.ticket.number,
                        render::escape(&o.ticket.subject),
                        self.config().support_channel
                    ))),
                    Err(EngineError::Invalid(v)) => {
                        if let Ok(mut drafts) = self.inner.drafts.lock() {
                            if drafts.len() > 10_000 {
                                drafts.clear();
                            }
                            drafts.insert(who.id.clone(), (subject.clone(), body.clone()));
                        }
                        Ok(render::ephemeral_with(
                        &format!(
                            "{} Nothing was lost; here is what you wrote:\n**Subject:** {}\n>>> {}",
                            EngineError::Invalid(v).sentence(),
                            render::clip(&subject, 200),
                            render::clip(&body, 1500)
                        ),
                        json!([{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Try again", "custom_id": ids::make(ids::RETRY, rest) }] }]),
                    ))
                    }
                    Err(e) => Err(e),
                }
            }
            ids::SUBJECT => {
                let Some(t) = rest.parse::<i64>().ok() else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                let subject = field(data, "subject");
                match self.engine().edit_subject(ctx, TicketId(t), &subject).await {
                    Ok(t) => Ok(render::ephemeral(&format!(
                        "Subject of {} changed.",
                        t.number
                    ))),
                    Err(EngineError::Invalid(v)) => Ok(render::ephemeral(&format!(
                        "{} You wrote: {}",
                        EngineError::Invalid(v).sentence(),
                        render::clip(&subject, 300)
                    ))),
                    Err(e) => Err(e),
                }
            }
            ids::RATING => {
                let (t, score) = rest.split_once(':').unwrap_or((rest, ""));
                let (Ok(t), Ok(score)) = (t.parse::<i64>(), score.parse::<i64>()) else {
                    return Ok(render::ephemeral("Unknown ticket."));
                };
                let comment = field(data, "comment");
                let comment = Some(comment.trim()).filter(|c| !c.is_empty());
                match threadesk_chat::input::rate(self, ctx, TicketId(t), score, comment).await {
                    Ok(thanks) => Ok(render::ephemeral(&thanks)),
                    Err(e @ (EngineError::Invalid(_) | EngineError::Conflict(_))) => {
                        Ok(render::ephemeral(&format!(
                            "{} You wrote: {}",
                            e.sentence(),
                            render::clip(comment.unwrap_or(""), 300)
                        )))
                    }
                    Err(e) => Err(e),
                }
            }
            _ => Ok(render::ephemeral("That form is no longer in use.")),
        }
    }
}
