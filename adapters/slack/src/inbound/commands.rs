//! `/ticket` and its subcommands.

use super::{ephemeral, sentence, Answer};
use crate::render;
use crate::text::unescape;
use crate::SlackAdapter;
use serde_json::json;
use std::collections::HashMap;
use threadesk_chat::ChatPlatform;
use threadesk_core::domain::{PageRequest, Person, PlatformIdentity, Status, View};
use threadesk_core::engine::QueueFilter;
use threadesk_core::{Ctx, EngineError, TicketNumber};

/// A user mention as Slack escapes it in command text: `<@U123|name>`.
pub(crate) fn mentioned_user(word: &str) -> Option<&str> {
    let inner = word.strip_prefix("<@")?.strip_suffix('>')?;
    Some(inner.split('|').next().unwrap_or(inner))
}

/// `mine|org` and `active|closed|all`, in any order.
pub(crate) fn list_args(words: &[&str]) -> Result<(bool, View), String> {
    let (mut org, mut view) = (false, View::Active);
    for w in words {
        match w.to_ascii_lowercase().as_str() {
            "mine" => org = false,
            "org" | "organization" => org = true,
            other => view = other.parse()?,
        }
    }
    Ok((org, view))
}

impl SlackAdapter {
    /// A slash command (`application/x-www-form-urlencoded` fields).
    pub async fn on_command(&self, form: &HashMap<String, String>) -> Answer {
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let (user, trigger, text) = (field("user_id"), field("trigger_id"), field("text"));
        if user.is_empty() {
            return ephemeral("That command arrived without a user; please try again.");
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        // Slack escapes &, < and > in what people type; mentions stay <@U…>.
        let rest = |n: usize| unescape(&words.get(n..).unwrap_or_default().join(" "));
        let sub = words
            .first()
            .map(|w| w.to_ascii_lowercase())
            .unwrap_or_default();
        // the form first: its trigger expires in 3 seconds, and it needs no
        // person yet (the submission brings one).
        if matches!(sub.as_str(), "" | "new" | "open") {
            let subject = if sub == "open" {
                rest(1)
            } else {
                String::new()
            };
            let view = self.new_ticket_modal(&subject, "").await;
            self.open_modal(trigger, view);
            return Answer::Ack;
        }
        let person = match self.person(user).await {
            Ok(p) => p,
            Err(e) => return ephemeral(&sentence(&e)),
        };
        let ctx = super::ctx(person.id, "cmd", trigger);
        let result: Result<Answer, EngineError> = match sub.as_str() {
            "help" => Ok(ephemeral(&render::help(person.is_staff))),
            "list" => match list_args(&words[1..]) {
                Ok((org, view)) => self.list(&person, org, view, None).await.map(|blocks| {
                    Answer::Json(json!({ "response_type": "ephemeral", "text": "Your tickets", "blocks": blocks }))
                }),
                Err(e) => Ok(ephemeral(&format!("{e}. Try `/ticket list mine active`."))),
            },
            "show" | "follow" => match words.get(1).and_then(|w| w.parse::<TicketNumber>().ok()) {
                Some(n) => {
                    let t = self.engine().ticket_by_number(person.id, n).await;
                    match t {
                        Ok(t) => {
                            self.follow_in_background(t.id, person.id, user);
                            Ok(ephemeral(&format!("I'm sending you the card of {n} in our direct messages.")))
                        }
                        Err(e) => Err(e),
                    }
                }
                None => Ok(ephemeral("Which ticket? For example `/ticket show #1042`.")),
            },
            "close" => self.close_command(&person, &ctx, words.get(1).copied()).await,
            _ => self.staff_command(&person, &ctx, &words).await,
        };
        match result {
            Ok(a) => a,
            Err(e) => ephemeral(&sentence(&e)),
        }
    }

    /// One page of a list as blocks; `after` is a page cursor.
    pub(crate) async fn list(
        &self,
        person: &Person,
        org: bool,
        view: View,
        after: Option<threadesk_core::domain::Cursor>,
    ) -> Result<Vec<serde_json::Value>, EngineError> {
        let req = PageRequest {
            view,
            after,
            limit: 10,
        };
        let page = if org {
            self.engine().org_tickets(person.id, req).await?
        } else {
            self.engine().my_tickets(person.id, req).await?
        };
        let scope = if org { "org" } else { "mine" };
        let view_name = format!("{view:?}").to_lowercase();
        let title = format!(
            "{} · {}",
            if org {
                "Owned by organization"
            } else {
                "My tickets"
            },
            view_name
        );
        let more = page.next.map(|c| format!("{scope}:{view_name}:{c}"));
        Ok(render::ticket_list(
            &title,
            &page.items,
            person.is_staff,
            more,
        ))
    }

    async fn close_command(
        &self,
        person: &Person,
        ctx: &Ctx,
        number: Option<&str>,
    ) -> Result<Answer, EngineError> {
        let Some(n) = number.and_then(|w| w.parse::<TicketNumber>().ok()) else {
            return Ok(ephemeral(
                "Which ticket? For example `/ticket close #1042`.",
            ));
        };
        let t = self.engine().ticket_by_number(person.id, n).await?;
        self.engine().close(ctx, t.id).await?;
        self.wake();
        Ok(ephemeral(&format!("Ticket {n} is closed.")))
    }

    async fn staff_command(
        &self,
        person: &Person,
        ctx: &Ctx,
        words: &[&str],
    ) -> Result<Answer, EngineError> {
        let sub = words[0].to_ascii_lowercase();
        let known = [
            "queue",
            "status",
            "admin",
            "staff",
            "org",
            "department",
            "link",
        ];
        if !known.contains(&sub.as_str()) {
            return Ok(ephemeral(&format!(
                "I don't know `/ticket {}`.\n\n{}",
                words[0],
                render::help(person.is_staff)
            )));
        }
        if !person.is_staff {
            return Err(EngineError::StaffOnly("support staff"));
        }
        let engine = self.engine();
        let usage = |u: &str| Ok(ephemeral(&format!("Usage: `{u}`")));
        let target = |i: usize| async move {
            match words.get(i).and_then(|w| mentioned_user(w)) {
                Some(u) => self.person(u).await.map(Some),
                None => Ok(None),
            }
        };
        match sub.as_str() {
            "queue" => {
                let mut filter = QueueFilter::default();
                let mut dept_words = vec![];
                for w in &words[1..] {
                    match Status::ALL.iter().find(|s| s.as_str() == *w) {
                        Some(s) => filter.status = Some(*s),
                        None => dept_words.push(*w),
                    }
                }
                if !dept_words.is_empty() {
                    let name = unescape(&dept_words.join(" ")).to_lowercase();
                    let all = engine.departments(true).await?;
                    match all.iter().find(|d| d.name.to_lowercase() == name) {
                        Some(d) => filter.department = Some(d.id),
                        None => {
                            return Ok(ephemeral(&format!(
                                "There is no department named “{name}”."
                            )))
                        }
                    }
                }
                let page = engine
                    .staff_queue(
                        person.id,
                        filter,
                        PageRequest {
                            limit: 20,
                            ..PageRequest::first(View::Active)
                        },
                    )
                    .await?;
                let blocks =
                    render::ticket_list("Queue (unanswered first)", &page.items, true, None);
                Ok(Answer::Json(
                    json!({ "response_type": "ephemeral", "text": "Queue", "blocks": blocks }),
                ))
            }
            "status" => {
                let (Some(n), Some(s)) = (
                    words.get(1).and_then(|w| w.parse::<TicketNumber>().ok()),
                    words
                        .get(2)
                        .and_then(|w| Status::ALL.iter().find(|s| s.as_str() == *w)),
                ) else {
                    return usage(
                        "/ticket status #N open|in_progress|on_hold|awaiting_client|client_replied",
                    );
                };
                let t = engine.ticket_by_number(person.id, n).await?;
                let t = engine.set_status(ctx, t.id, *s).await?;
                self.wake();
                Ok(ephemeral(&format!(
                    "{} is now {}.",
                    t.number,
                    t.status.label()
                )))
            }
            "admin" => {
                let grant = match words.get(1).copied() {
                    Some("grant") => true,
                    Some("revoke") => false,
                    _ => return usage("/ticket admin grant|revoke @user"),
                };
                let Some(who) = target(2).await? else {
                    return usage("/ticket admin grant|revoke @user");
                };
                let p = if grant {
                    engine.grant_company_admin(ctx, who.id).await?
                } else {
                    engine.revoke_company_admin(ctx, who.id).await?
                };
                let what = if p.is_company_admin {
                    "is now"
                } else {
                    "is no longer"
                };
                Ok(ephemeral(&format!(
                    "{} {what} a company ticket admin.",
                    crate::text::escape(&p.display_name)
                )))
            }
            "staff" => {
                let add = match words.get(1).copied() {
                    Some("add") => true,
                    Some("remove") => false,
                    _ => return usage("/ticket staff add|remove @user"),
                };
                let Some(who) = target(2).await? else {
                    return usage("/ticket staff add|remove @user");
                };
                let p = engine.set_staff(ctx, who.id, add).await?;
                let what = if p.is_staff { "is now" } else { "is no longer" };
                Ok(ephemeral(&format!(
                    "{} {what} staff.",
                    crate::text::escape(&p.display_name)
                )))
            }
            "org" => {
                let Some(who) = target(1).await? else {
                    return usage("/ticket org @user <organization name> (or `none`)");
                };
                let name = unescape(&words.get(2..).unwrap_or_default().join(" "));
                let name = match name.trim() {
                    "" => return usage("/ticket org @user <organization name> (or `none`)"),
                    "none" => None,
                    n => Some(n),
                };
                let org = engine.place_in_organization(ctx, who.id, name).await?;
                Ok(ephemeral(&match org {
                    Some(o) => format!(
                        "{} is now in {}.",
                        crate::text::escape(&who.display_name),
                        crate::text::escape(&o.name)
                    ),
                    None => format!(
                        "{} is in no organization now.",
                        crate::text::escape(&who.display_name)
                    ),
                }))
            }
            "department" => self.department_command(ctx, words).await,
            "link" => {
                let (Some(who), Some(email)) = (target(1).await?, words.get(2)) else {
                    return usage("/ticket link @user <email address>");
                };
                let email = email
                    .trim_start_matches("<mailto:")
                    .split('|')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('>');
                let mine = engine
                    .person(who.id)
                    .await?
                    .identities
                    .into_iter()
                    .next()
                    .ok_or(EngineError::NotFound("person"))?;
                let p = engine
                    .link_identities(ctx, &mine, &PlatformIdentity::email(email))
                    .await?;
                Ok(ephemeral(&format!(
                    "{} and {} are now one person.",
                    crate::text::escape(&p.display_name),
                    crate::text::escape(email)
                )))
            }
            _ => Ok(ephemeral(&render::help(true))),
        }
    }

    async fn department_command(&self, ctx: &Ctx, words: &[&str]) -> Result<Answer, EngineError> {
        let engine = self.engine();
        let all = engine.departments(true).await?;
        let find = |name: &str| {
            let name = name.trim().to_lowercase();
            all.iter().find(|d| d.name.to_lowercase() == name).cloned()
        };
        let arg = unescape(&words.get(2..).unwrap_or_default().join(" "));
        let missing = |n: &str| {
            Ok(ephemeral(&format!(
                "There is no department named “{}”.",
                crate::text::escape(n)
            )))
        };
        match words.get(1).copied().unwrap_or("list") {
            "list" => {
                let lines: Vec<String> = all
                    .iter()
                    .map(|d| format!("• {}{}", crate::text::escape(&d.name), if d.active { "" } else { " (inactive)" }))
                    .collect();
                Ok(ephemeral(&if lines.is_empty() { "No departments yet.".to_owned() } else { lines.join("\n") }))
            }
            "add" => {
                let d = engine.create_department(ctx, &arg).await?;
                Ok(ephemeral(&format!("Department “{}” created.", crate::text::escape(&d.name))))
            }
            "rename" => {
                let Some((old, new)) = arg.split_once('=') else {
                    return Ok(ephemeral("Usage: `/ticket department rename <old name> = <new name>`"));
                };
                let Some(d) = find(old) else { return missing(old) };
                let d = engine.rename_department(ctx, d.id, new.trim()).await?;
                Ok(ephemeral(&format!("Renamed to “{}”.", crate::text::escape(&d.name))))
            }
            verb @ ("deactivate" | "activate") => {
                let Some(d) = find(&arg) else { return missing(&arg) };
                let d = engine.set_department_active(ctx, d.id, verb == "activate").await?;
                Ok(ephemeral(&format!(
                    "“{}” is {}.",
                    crate::text::escape(&d.name),
                    if d.active { "active" } else { "inactive" }
                )))
            }
            _ => Ok(ephemeral("Usage: `/ticket department list | add <name> | rename <old> = <new> | deactivate <name> | activate <name>`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_read_with_or_without_a_name() {
        assert_eq!(mentioned_user("<@U123|ann>"), Some("U123"));
        assert_eq!(mentioned_user("<@U123>"), Some("U123"));
        assert_eq!(mentioned_user("@ann"), None);
    }

    #[test]
    fn list_arguments_come_in_any_order() {
        assert_eq!(list_args(&[]).unwrap(), (false, View::Active));
        assert_eq!(list_args(&["closed", "org"]).unwrap(), (true, View::Closed));
        assert!(list_args(&["soon"]).is_err());
    }
}
