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
use threadesk_core::domain::{AttachmentMeta, DelegateStatus, Person, Platform, Status, View};
use threadesk_core::engine::{Invitee, NewMessage, NewTicket, QueueFilter};
use threadesk_core::surfaces::{Audience, Surface};
use threadesk_core::{Ctx, DelegateId, DepartmentId, EngineError, TicketId, TicketNumber};

/// How long a handler may work before Discord gets a deferral (Discord
/// wants an answer within 3 seconds).
pub const ANSWER_BUDGET: Duration = Duration::from_millis(2500);

/// Reactions that close a ticket.
const CLOSING: [&str; 3] = ["✅", "✔️", "☑️"];

/// A request's context keyed by Discord's id of it (`discord:<kind>:<id>`).
fn ctx(person: &Person, kind: &str, id: &str) -> Ctx {
    let ctx = Ctx::new(person.id);
    if id.is_empty() {
        ctx
    } else {
        ctx.with_key(format!("discord:{kind}:{id}"))
    }
}

/// An option of a (sub)command by name.
fn option<'a>(options: &'a Value, name: &str) -> &'a Value {
    options
        .as_array()
        .and_then(|o| o.iter().find(|x| x["name"] == name))
        .map_or(&Value::Null, |x| &x["value"])
}

/// A text input of a submitted modal by custom id.
fn field(data: &Value, id: &str) -> String {
    data["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .find(|c| c["custom_id"] == id)
        .and_then(|c| c["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Attachments of a message as engine attachment metadata.
fn attachments(message: &Value) -> Vec<AttachmentMeta> {
    message["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| AttachmentMeta {
            name: a["filename"].as_str().unwrap_or("file").to_owned(),
            content_type: a["content_type"]
                .as_str()
                .unwrap_or("application/octet-stream")
                .to_owned(),
            size_bytes: a["size"].as_u64().unwrap_or(0),
            url: a["url"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

fn help(staff: bool) -> String {
    let mut text = String::from(
        "**/ticket open** opens a ticket: a private thread with you and the support team.\n\
         **/ticket list** lists your tickets (`scope`: mine or organization; `state`: active, closed, all).\n\
         **/ticket show** *number* brings you into a ticket's thread.\n\
         **/ticket close** *number* closes a ticket; so do the card's **Close** button and a ✅ reaction.\n\
         Write in a ticket's thread to reply; edit your message to correct it. **Delegates** on the card invites someone to follow the ticket.",
    );
    if staff {
        text.push_str(
            "\n\n**Staff**\n**/ticket queue** [status] lists the tickets waiting for support.\n\
             **/ticket status** *number* *status* sets a status.\n\
             **/ticket note** *number* *text* adds an internal note. A message of yours that starts with `note:` is an internal note wherever you write it; written in a customer thread, it is removed there (you are told privately) and kept on the staff side.\n\
             **/ticket admin**, **/ticket staff**, **/ticket org** and **/ticket link** manage people; **/ticket department** manages departments.",
        );
    }
    text
}

impl DiscordAdapter {
    /// Answers an interaction: its response body, given within
    /// [`ANSWER_BUDGET`]; slower work is answered with a deferral and its
    /// result edited in when it is done.
    pub async fn on_interaction(&self, i: Value) -> Value {
        if i["type"] == 1 {
            return json!({ "type": 1 });
        }
        let token = i["token"].as_str().unwrap_or_default().to_owned();
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
                tokio::spawn(async move {
                    if let Ok(answer) = work.await {
                        me.finish_deferred(&token, answer).await;
                    }
                });
                // a private "thinking…" message of its own, also for a
                // button: editing `@original` then never touches the card.
                json!({ "type": 5, "data": { "flags": render::EPHEMERAL } })
            }
        }
    }

    /// Edits the deferred answer in, once Discord has seen the deferral.
    async fn finish_deferred(&self, token: &str, answer: Value) {
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
        for attempt in 0..5u32 {
            tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt + 1))).await;
            let route = Route::WebhookOriginalInteractionResponse {
                application_id: ApplicationId::new(self.config().application_id),
                token,
            };
            match self
                .api()
                .call(route, LightMethod::Patch, Some(&body), None)
                .await
            {
                Ok(_) => return,
                Err(e) => tracing::info!(error = %e, "deferred answer not edited yet"),
            }
        }
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
            Some(2) => self.command(&person, &ctx, &i["data"]).await,
            Some(3) => self.component(&person, &ctx, &who, &i["data"]).await,
            Some(5) => self.modal(&who, &ctx, &i["data"]).await,
            _ => Ok(render::ephemeral("That is not something I handle.")),
        };
        self.wake();
        outcome.unwrap_or_else(|e| render::ephemeral(&e.sentence()))
    }

    async fn command(
        &self,
        person: &Person,
        ctx: &Ctx,
        data: &Value,
    ) -> Result<Value, EngineError> {
        let sub = &data["options"][0];
        let opts = &sub["options"];
        let number = || option(opts, "number").as_i64().map(TicketNumber);
        match sub["name"].as_str().unwrap_or("help") {
            "open" => {
                let department = match option(opts, "department").as_str() {
                    None => 0,
                    Some(raw) => {
                        let active = self.engine().departments(false).await?;
                        match active.iter().find(|d| d.id.0.to_string() == raw || d.name.eq_ignore_ascii_case(raw)) {
                            Some(d) => d.id.0,
                            None => {
                                return Ok(render::ephemeral(&format!(
                                    "There is no department \"{}\". Choose one from the list, or leave it out.",
                                    render::clip(raw, 100)
                                )))
                            }
                        }
                    }
                };
                Ok(render::new_ticket_modal(department, "", ""))
            }
            "list" => {
                let org = option(opts, "scope") == "org";
                let view = option(opts, "state")
                    .as_str()
                    .unwrap_or("active")
                    .parse()
                    .unwrap_or(View::Active);
                self.list(person, org, view, 0, false).await
            }
            "show" => {
                let Some(n) = number() else {
                    return Ok(render::ephemeral("Which ticket?"));
                };
                let t = self.engine().ticket_by_number(person.id, n).await?;
                let text = match self.follow(t.id, person).await? {
                    Some(thread) => format!(
                        "Ticket {} *{}*: <#{thread}>",
                        t.number,
                        render::escape(&t.subject)
                    ),
                    None => format!(
                        "Ticket {} *{}* is {}. Its thread is not on this server yet.",
                        t.number,
                        render::escape(&t.subject),
                        t.status.label_for(person.is_staff)
                    ),
                };
                Ok(render::ephemeral(&text))
            }
            "close" => {
                let Some(n) = number() else {
                    return Ok(render::ephemeral("Which ticket?"));
                };
                let t = self.engine().ticket_by_number(person.id, n).await?;
                let t = self.engine().close(ctx, t.id).await?;
                Ok(render::ephemeral(&format!(
                    "Ticket {} is closed.",
                    t.number
                )))
            }
            "queue" => {
                let status = option(opts, "status")
                    .as_str()
                    .and_then(|s| s.parse::<Status>().ok());
                self.queue(person, status).await
            }
            "status" => {
                let (Some(n), Some(status)) = (
                    number(),
                    option(opts, "status")
                        .as_str()
                        .and_then(|s| s.parse::<Status>().ok()),
                ) else {
                    return Ok(render::ephemeral("Which ticket, and which status?"));
                };
                let t = self.engine().ticket_by_number(person.id, n).await?;
                let t = self.engine().set_status(ctx, t.id, status).await?;
                Ok(render::ephemeral(&format!(
                    "Ticket {} is now {}.",
                    t.number,
                    t.status.label_for(true)
                )))
            }
            "note" => {
                let Some(n) = number() else {
                    return Ok(render::ephemeral("Which ticket?"));
                };
                let text = option(opts, "text").as_str().unwrap_or_default();
                let t = self.engine().ticket_by_number(person.id, n).await?;
                match self.engine().note(ctx, t.id, NewMessage::text(text)).await {
                    Ok(_) => Ok(render::ephemeral(&format!(
                        "Internal note added to {}.",
                        t.number
                    ))),
                    Err(EngineError::Invalid(v)) => Ok(render::ephemeral(&format!(
                        "{}. Your note was:\n>>> {}",
                        EngineError::Invalid(v).sentence().trim_end_matches('.'),
                        render::clip(text, 1800)
                    ))),
                    Err(e) => Err(e),
                }
            }
            "admin" | "staff" | "org" | "link" => self.people_command(ctx, sub, data).await,
            "department" => self.department_command(ctx, opts).await,
            _ => Ok(render::ephemeral(&help(person.is_staff))),
        }
    }

    /// The person a command's `user` option names (resolved by Discord).
    async fn target(&self, sub: &Value, data: &Value) -> Result<Option<Person>, EngineError> {
        let Some(id) = option(&sub["options"], "user").as_str() else {
            return Ok(None);
        };
        let resolved = &data["resolved"];
        let who = Who::from(&resolved["users"][id], &resolved["members"][id]).unwrap_or(Who {
            id: id.to_owned(),
            name: id.to_owned(),
            roles: None,
            bot: false,
        });
        if who.bot {
            return Ok(None);
        }
        // their roles are not ours to re-read here: the command decides.
        self.person(&Who { roles: None, ..who }).await.map(Some)
    }

    async fn people_command(
        &self,
        ctx: &Ctx,
        sub: &Value,
        data: &Value,
    ) -> Result<Value, EngineError> {
        let engine = self.engine();
        let opts = &sub["options"];
        let Some(who) = self.target(sub, data).await? else {
            return Ok(render::ephemeral("Choose a person (not a bot)."));
        };
        let name = render::escape(&who.display_name);
        let text = match sub["name"].as_str().unwrap_or_default() {
            "admin" => {
                let p = if option(opts, "action") == "grant" {
                    engine.grant_company_admin(ctx, who.id).await?
                } else {
                    engine.revoke_company_admin(ctx, who.id).await?
                };
                format!(
                    "{name} {} a company ticket admin.",
                    if p.is_company_admin {
                        "is now"
                    } else {
                        "is no longer"
                    }
                )
            }
            "staff" => {
                let p = engine
                    .set_staff(ctx, who.id, option(opts, "action") == "add")
                    .await?;
                format!(
                    "{name} {} staff.",
                    if p.is_staff { "is now" } else { "is no longer" }
                )
            }
            "org" => {
                let raw = option(opts, "name").as_str().unwrap_or_default().trim();
                let org = if raw.eq_ignore_ascii_case("none") || raw.is_empty() {
                    None
                } else {
                    Some(raw)
                };
                match engine.place_in_organization(ctx, who.id, org).await? {
                    Some(o) => format!("{name} is now in {}.", render::escape(&o.name)),
                    None => format!("{name} is in no organization now."),
                }
            }
            _ => {
                let email = option(opts, "email").as_str().unwrap_or_default().trim();
                let mine = threadesk_core::domain::PlatformIdentity::discord(
                    self.guild(),
                    option(opts, "user").as_str().unwrap_or_default(),
                );
                let p = engine
                    .link_identities(
                        ctx,
                        &mine,
                        &threadesk_core::domain::PlatformIdentity::email(email),
                    )
                    .await?;
                format!(
                    "{} and {} are now one person.",
                    render::escape(&p.display_name),
                    render::escape(email)
                )
            }
        };
        Ok(render::ephemeral(&text))
    }

    async fn department_command(&self, ctx: &Ctx, opts: &Value) -> Result<Value, EngineError> {
        let engine = self.engine();
        let all = engine.departments(true).await?;
        let name = option(opts, "name")
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let find = |n: &str| {
            all.iter()
                .find(|d| d.name.eq_ignore_ascii_case(n.trim()))
                .cloned()
        };
        let missing = || {
            Ok(render::ephemeral(&format!(
                "There is no department named \"{}\".",
                render::escape(&name)
            )))
        };
        let text = match option(opts, "action").as_str().unwrap_or("list") {
            "add" => format!(
                "Department \"{}\" created.",
                render::escape(&engine.create_department(ctx, &name).await?.name)
            ),
            "rename" => {
                let Some(d) = find(&name) else {
                    return missing();
                };
                let new = option(opts, "new_name").as_str().unwrap_or_default();
                format!(
                    "Renamed to \"{}\".",
                    render::escape(&engine.rename_department(ctx, d.id, new).await?.name)
                )
            }
            verb @ ("deactivate" | "activate") => {
                let Some(d) = find(&name) else {
                    return missing();
                };
                let d = engine
                    .set_department_active(ctx, d.id, verb == "activate")
                    .await?;
                format!(
                    "\"{}\" is {}.",
                    render::escape(&d.name),
                    if d.active { "active" } else { "inactive" }
                )
            }
            _ => {
                let lines: Vec<String> = all
                    .iter()
                    .map(|d| {
                        format!(
                            "• {}{}",
                            render::escape(&d.name),
                            if d.active { "" } else { " (inactive)" }
                        )
                    })
                    .collect();
                if lines.is_empty() {
                    "No departments yet.".to_owned()
                } else {
                    lines.join("\n")
                }
            }
        };
        Ok(render::ephemeral(&text))
    }

    /// One page of a list (10 tickets), with a More button.
    async fn list(
        &self,
        person: &Person,
        org: bool,
        view: View,
        page: u32,
        replace: bool,
    ) -> Result<Value, EngineError> {
        let mut after = None;
        let mut items = vec![];
        // pages are walked from the start: a cursor does not fit in a custom id.
        for _ in 0..=page {
            let req = threadesk_core::domain::PageRequest {
                view,
                after,
                limit: 10,
            };
            let p = if org {
                self.engine().org_tickets(person.id, req).await?
            } else {
                self.engine().my_tickets(person.id, req).await?
            };
            items = p.items;
            after = p.next;
            if after.is_none() {
                break;
            }
        }
        let title = format!(
            "**{}** · {}",
            if org {
                "Owned by your organization"
            } else {
                "My tickets"
            },
            format!("{view:?}").to_lowercase()
        );
        let mut lines = vec![title];
        if items.is_empty() {
            lines.push("No tickets.".to_owned());
        }
        for it in &items {
            let t = &it.ticket;
            lines.push(format!(
                "{} *{}* · {}{}",
                t.number,
                render::escape(&render::clip(&t.subject, 80)),
                t.status.label_for(person.is_staff),
                if it.shared { " · shared with you" } else { "" }
            ));
        }
        let components = match after {
            Some(_) => json!([{ "type": 1, "components": [{ "type": 2, "style": 2, "label": "More",
                "custom_id": format!("{}:{}:{}:{}", ids::LIST, if org { "org" } else { "mine" }, format!("{view:?}").to_lowercase(), page + 1) }] }]),
            None => json!([]),
        };
        let text = lines.join("\n");
        Ok(if replace {
            render::update(&text, components)
        } else {
            render::ephemeral_with(&text, components)
        })
    }

    async fn queue(&self, person: &Person, status: Option<Status>) -> Result<Value, EngineError> {
        let filter = QueueFilter {
            department: None,
            status,
        };
        let page = self
            .engine()
            .staff_queue(
                person.id,
                filter,
                threadesk_core::domain::PageRequest::first(View::Active),
            )
            .await?;
        let mut lines = vec!["**Queue**".to_owned()];
        if page.items.is_empty() {
            lines.push("Nothing waiting.".to_owned());
        }
        for it in page.items.iter().take(25) {
            let t = &it.ticket;
            lines.push(format!(
                "{} *{}* · {}",
                t.number,
                render::escape(&render::clip(&t.subject, 80)),
                t.status.label_for(true)
            ));
        }
        Ok(render::ephemeral(&lines.join("\n")))
    }

    async fn component(
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
                    let resolved = &data["resolved"];
                    let invitee = Who::from(&resolved["users"][user], &resolved["members"][user])
                        .unwrap_or(Who {
                            id: user.to_owned(),
                            name: user.to_owned(),
                            roles: None,
                            bot: false,
                        });
                    if invitee.bot {
                        said.push(format!("{} is a bot.", render::escape(&invitee.name)));
                        continue;
                    }
                    let p = self
                        .person(&Who {
                            roles: None,
                            ..invitee.clone()
                        })
                        .await?;
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
            ids::LIST => {
                let mut parts = rest.split(':');
                let org = parts.next() == Some("org");
                let view = parts
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(View::Active);
                let page = parts
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0)
                    .min(100);
                self.list(person, org, view, page, true).await
            }
            _ => {
                tracing::info!(discord.custom_id = custom, user = %who.id, "unknown component");
                Ok(render::ephemeral("That button is no longer in use."))
            }
        }
    }

    /// The Delegates panel: who follows the ticket, Revoke buttons, and a
    /// user select to invite more.
    async fn delegates_panel(
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
            let name = d
                .person_name
                .clone()
                .or_else(|| d.email.clone())
                .unwrap_or_default();
            lines.push(format!(
                "• {} · {}",
                render::escape(&name),
                d.status.as_str()
            ));
            if matches!(d.status, DelegateStatus::Invited | DelegateStatus::Accepted)
                && revoke.len() < 5
            {
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

    async fn modal(&self, who: &Who, ctx: &Ctx, data: &Value) -> Result<Value, EngineError> {
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
            _ => Ok(render::ephemeral("That form is no longer in use.")),
        }
    }

    /// Brings a person who may see a ticket into its customer thread (when
    /// it has one here); the thread id.
    pub(crate) async fn follow(
        &self,
        ticket: TicketId,
        person: &Person,
    ) -> Result<Option<String>, EngineError> {
        self.engine().ticket(person.id, ticket).await?;
        let Some(user) = self.discord_user_of(person.id).await? else {
            return Ok(None);
        };
        let mirror = self.mirror();
        let Some(s) = mirror.shared_surface(ticket).await? else {
            return Ok(None);
        };
        if let Err(e) = mirror.follow(ticket, person.id, Some(&user)).await {
            tracing::warn!(error = %e, "could not add a member to a ticket thread");
        }
        Ok(Some(crate::thread_of(&s).to_owned()))
    }

    /// The surface a thread belongs to: a staff triage thread (its id is
    /// its card's) or a ticket's private thread (which holds its card).
    pub(crate) async fn surface_of_thread(
        &self,
        thread: &str,
    ) -> Result<Option<Surface>, EngineError> {
        if let Some(staff) = self.config().staff_channel {
            if let Some(s) = self
                .engine()
                .system()
                .surface_at(&self.at(&staff.to_string(), thread))
                .await?
            {
                return Ok(Some(s));
            }
        }
        // a ticket's private thread holds its customers' card; the staff
        // channel itself (which holds the triage cards) is no ticket's thread.
        Ok(self
            .engine()
            .system()
            .surfaces_in_channel(Platform::Discord, self.guild(), thread)
            .await?
            .into_iter()
            .find(|s| s.audience != Audience::Staff))
    }

    /// A message in a channel the bot sees: a reply (or, from staff in a
    /// triage thread, a `note:`) when it is in a ticket's thread.
    pub async fn on_message(&self, m: &Value) {
        if let Err(e) = self.message(m).await {
            tracing::warn!(error = %e, "discord message not recorded");
        }
    }

    async fn message(&self, m: &Value) -> Result<(), EngineError> {
        let Some(who) = Who::from(&m["author"], &m["member"]) else {
            return Ok(());
        };
        if who.bot || who.id == self.bot_user() || !m["webhook_id"].is_null() {
            return Ok(());
        }
        if !matches!(m["type"].as_u64(), None | Some(0) | Some(19)) {
            return Ok(());
        }
        let (Some(channel), Some(id)) = (m["channel_id"].as_str(), m["id"].as_str()) else {
            return Ok(());
        };
        let Some(surface) = self.surface_of_thread(channel).await? else {
            return Ok(());
        };
        let at = self.at(channel, id);
        if self.engine().system().link_at(&at).await?.is_some() {
            // seen before (recorded, or refused and told): a redelivery or
            // a catch-up reading it again.
            return Ok(());
        }
        let person = self.person(&who).await?;
        let text = m["content"].as_str().unwrap_or_default();
        let files = attachments(m);
        // `note:` from staff is an internal note wherever it is written.
        let (note, body) = match threadesk_core::domain::staff_note(text) {
            Some(rest) if person.is_staff => (true, rest.trim().to_owned()),
            _ => (false, text.to_owned()),
        };
        let ctx = ctx(&person, "message", id).with_origin(self.at(channel, id));
        let input = NewMessage {
            body: body.clone(),
            attachments: files,
        };
        let done = if note {
            self.engine().note(&ctx, surface.ticket_id, input).await
        } else {
            self.engine().reply(&ctx, surface.ticket_id, input).await
        };
        match done {
            Ok(posted) => {
                self.wake();
                if surface.audience == Audience::Shared {
                    // writing in a thread joins it: they leave it with their access.
                    self.engine()
                        .system()
                        .add_surface_member(surface.id, person.id)
                        .await?;
                    if note {
                        self.withdraw_note(channel, id, &who.id, posted.ticket.number)
                            .await;
                    }
                }
                return Ok(());
            }
            Err(EngineError::TicketClosed { number, .. }) => {
                self.dm(&who.id, &format!(
                    "Ticket {number} is closed, so your message was not added to it:\n>>> {}\n\nTo ask something new, use `/ticket open`.",
                    render::clip(&body, 1500)
                ))
                .await;
            }
            Err(EngineError::NotFound(_)) => {
                self.dm(&who.id, &format!(
                    "You no longer have access to this ticket, so your message was not added to it:\n>>> {}",
                    render::clip(&body, 1500)
                ))
                .await;
            }
            Err(EngineError::Invalid(v)) => {
                self.dm(
                    &who.id,
                    &format!(
                        "{} Your message was not added; here it is:\n>>> {}",
                        EngineError::Invalid(v).sentence(),
                        render::clip(&body, 1500)
                    ),
                )
                .await;
            }
            Err(e) => return Err(e),
        };
        // told once: a mark at the message's address, so a redelivery or a
        // catch-up after a reconnect does not tell them again.
        self.engine()
            .system()
            .put_link(surface.ticket_id, None, &at)
            .await?;
        Ok(())
    }

    /// An edited message: the engine message it became is edited too.
    pub async fn on_message_update(&self, m: &Value) {
        if let Err(e) = self.message_update(m).await {
            tracing::warn!(error = %e, "discord edit not recorded");
        }
    }

    async fn message_update(&self, m: &Value) -> Result<(), EngineError> {
        let (Some(channel), Some(id), Some(text)) = (
            m["channel_id"].as_str(),
            m["id"].as_str(),
            m["content"].as_str(),
        ) else {
            return Ok(());
        };
        let Some(who) = Who::from(&m["author"], &m["member"]) else {
            return Ok(());
        };
        if who.bot || who.id == self.bot_user() {
            return Ok(());
        }
        let Some(link) = self
            .engine()
            .system()
            .link_at(&self.at(channel, id))
            .await?
        else {
            return Ok(());
        };
        let Some(message) = link.message_id.filter(|_| link.authored) else {
            return Ok(());
        };
        let person = self.person(&who).await?;
        let edited = m["edited_timestamp"].as_str().unwrap_or_default();
        let ctx = ctx(&person, "edit", &format!("{id}:{edited}"));
        // a note keeps its `note:` marker out of its text when edited.
        let body = match threadesk_core::domain::staff_note(text) {
            Some(rest) if person.is_staff => rest.trim(),
            _ => text,
        };
        match self.engine().edit_message(&ctx, message, body).await {
            Ok(_) => self.wake(),
            Err(
                e @ (EngineError::Invalid(_)
                | EngineError::NotFound(_)
                | EngineError::NotAllowed(_)
                | EngineError::TicketClosed { .. }),
            ) => {
                self.dm(
                    &who.id,
                    &format!("Your edit was not recorded: {}", e.sentence()),
                )
                .await;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// A reaction: ✅ in a ticket's thread (or on its triage card) closes it.
    pub async fn on_reaction(&self, r: &Value) {
        if let Err(e) = self.reaction(r).await {
            tracing::warn!(error = %e, "discord reaction not handled");
        }
    }

    async fn reaction(&self, r: &Value) -> Result<(), EngineError> {
        let emoji = r["emoji"]["name"].as_str().unwrap_or_default();
        if !CLOSING.contains(&emoji) {
            return Ok(());
        }
        let (Some(channel), Some(message), Some(user)) = (
            r["channel_id"].as_str(),
            r["message_id"].as_str(),
            r["user_id"].as_str(),
        ) else {
            return Ok(());
        };
        if user == self.bot_user() {
            return Ok(());
        }
        // a triage card itself first, then the thread the message is in.
        let mut surface = self
            .engine()
            .system()
            .surface_at(&self.at(channel, message))
            .await?;
        if surface.is_none() {
            surface = self.surface_of_thread(channel).await?;
        }
        let Some(surface) = surface else {
            return Ok(());
        };
        let who = Who::from(&json!({ "id": user }), &r["member"]).unwrap_or(Who {
            id: user.to_owned(),
            name: user.to_owned(),
            roles: None,
            bot: false,
        });
        if who.bot {
            return Ok(());
        }
        let person = self.person(&who).await?;
        let ctx = ctx(&person, "reaction", &format!("{channel}:{message}:{user}"));
        match self.engine().close(&ctx, surface.ticket_id).await {
            Ok(_) => self.wake(),
            Err(e @ (EngineError::NotFound(_) | EngineError::NotAllowed(_))) => {
                self.dm(
                    user,
                    &format!("That reaction did not close the ticket: {}", e.sentence()),
                )
                .await;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// A staff member's `note:` written in a customer thread was recorded
    /// as an internal note (kept on the staff side): it is removed from the
    /// thread and its author told so privately; where it cannot be removed,
    /// the author is told at once that the customer saw it.
    async fn withdraw_note(&self, channel: &str, id: &str, user: &str, number: TicketNumber) {
        let removed = match crate::snowflake(id) {
            Some(m) => self
                .api()
                .call(
                    Route::ChannelMessage {
                        channel_id: ChannelId::new(crate::snowflake(channel).unwrap_or(1)),
                        message_id: serenity::model::id::MessageId::new(m),
                    },
                    LightMethod::Delete,
                    None,
                    None,
                )
                .await
                .map(drop),
            None => Err(crate::api::ApiError::Refused("bad message id".into())),
        };
        let told = match removed {
            // already gone: removed by hand, or by an earlier delivery.
            Err(e) if e.code() == Some(10008) => return,
            Ok(()) => format!(
                "Your internal note on ticket {number} was removed from the customer thread; it is kept on the staff side, where staff see it."
            ),
            Err(e) => {
                tracing::warn!(error = %e, "internal note not removed from a customer thread");
                format!(
                    "⚠️ Your internal note on ticket {number} could not be removed from the customer thread: the customer can see it there. It is kept as an internal note on the staff side."
                )
            }
        };
        self.dm(user, &told).await;
    }

    /// Tells one person something in their DMs, logging a failure.
    pub(crate) async fn dm(&self, user: &str, text: &str) {
        if let Err(e) = self.dm_body(user, &render::line(text)).await {
            tracing::warn!(error = %e, "direct message not delivered");
        }
    }

    pub(crate) async fn dm_body(
        &self,
        user: &str,
        body: &Value,
    ) -> Result<String, crate::api::ApiError> {
        use threadesk_chat::ChatPlatform;
        let channel = self.open_dm(user).await?;
        let channel = crate::snowflake(&channel).unwrap_or(1);
        let sent = self
            .api()
            .call(
                Route::ChannelMessages {
                    channel_id: ChannelId::new(channel),
                },
                LightMethod::Post,
                Some(body),
                None,
            )
            .await?;
        Ok(sent["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Records what was written in open ticket threads while the bot was
    /// away (after a gateway reconnect): each thread's history after the
    /// last message we know, oldest first, through the same path as live
    /// messages (so nothing is recorded twice).
    pub async fn catch_up(&self) -> Result<usize, EngineError> {
        let mut seen = 0;
        for s in self
            .engine()
            .system()
            .open_surfaces(Platform::Discord)
            .await?
        {
            let thread = crate::thread_of(&s).to_owned();
            let Some(c) = crate::snowflake(&thread) else {
                continue;
            };
            let links = self.engine().system().links_of_ticket(s.ticket_id).await?;
            // after the last message a person wrote there (the bot's own
            // copies may be newer than what was missed), else the card.
            let mut after = links
                .iter()
                .filter(|l| l.authored && l.at.channel == thread)
                .filter_map(|l| l.at.message_id.parse::<u64>().ok())
                .chain(crate::snowflake(&s.card.message_id))
                .max()
                .unwrap_or(0);
            for _ in 0..20 {
                let params = vec![("after", after.to_string()), ("limit", "100".to_owned())];
                let page = match self
                    .api()
                    .call(
                        Route::ChannelMessages {
                            channel_id: ChannelId::new(c),
                        },
                        LightMethod::Get,
                        None,
                        Some(params),
                    )
                    .await
                {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "thread history unavailable");
                        break;
                    }
                };
                let mut messages: Vec<Value> = page.as_array().cloned().unwrap_or_default();
                messages.sort_by_key(|m| {
                    m["id"]
                        .as_str()
                        .and_then(|i| i.parse::<u64>().ok())
                        .unwrap_or(0)
                });
                let full = messages.len() >= 100;
                for m in &messages {
                    after = after.max(m["id"].as_str().and_then(|i| i.parse().ok()).unwrap_or(0));
                    self.on_message(m).await;
                    seen += 1;
                }
                if !full {
                    break;
                }
            }
        }
        Ok(seen)
    }
}
