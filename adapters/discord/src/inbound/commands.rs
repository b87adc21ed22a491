//! `/ticket` and its subcommands: lists, queue, staff commands.

use super::*;

impl DiscordAdapter {
    pub(super) async fn command(
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
    pub(super) async fn target(
        &self,
        sub: &Value,
        data: &Value,
    ) -> Result<Option<Person>, EngineError> {
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

    pub(super) async fn people_command(
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

    pub(super) async fn department_command(
        &self,
        ctx: &Ctx,
        opts: &Value,
    ) -> Result<Value, EngineError> {
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
    pub(super) async fn list(
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

    pub(super) async fn queue(
        &self,
        person: &Person,
        status: Option<Status>,
    ) -> Result<Value, EngineError> {
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
}
