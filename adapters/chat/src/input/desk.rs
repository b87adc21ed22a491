//! The one executor: a typed input becomes engine calls and an answer.
//! Platforms only read their payloads into inputs and draw the answers.

use super::command::{Command, DepartmentCommand, SavedCommand};
use super::list::{view_word, ListAt, More, Scope, SearchAt};
use crate::ChatPlatform;
use std::future::Future;
use threadesk_core::domain::{
    staff_note, AttachmentMeta, Department, Person, PlatformIdentity, TicketListItem, View,
};
use threadesk_core::engine::{
    NewMessage, OwnerFilter, Posted, QueueFilter, SearchQuery, SearchResult,
};
use threadesk_core::{Ctx, EngineError, MessageId, TicketId, TicketNumber};

/// How many tickets a list page shows.
pub const PAGE: u32 = 10;
/// How many tickets the queue shows.
pub const QUEUE_PAGE: u32 = 20;

/// What the executor needs of a platform beyond [`ChatPlatform`]: how
/// users named in commands become people.
pub trait ChatDesk: ChatPlatform {
    /// How the platform names a user in a command.
    type User: Send + Sync;
    /// The person a user named in a command is; `None` for a bot.
    fn person_named(
        &self,
        user: &Self::User,
    ) -> impl Future<Output = Result<Option<Person>, EngineError>> + Send;
    /// The user's identity on the platform.
    fn identity_of(&self, user: &Self::User) -> PlatformIdentity;
    /// A person's own text quoted back to them (clipped, escaped).
    fn quote(&self, text: &str) -> String;
}

/// A page of tickets to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketPage {
    /// Its title (`My tickets · active`).
    pub title: String,
    /// The tickets.
    pub items: Vec<TicketListItem>,
    /// Drawn for staff (status labels).
    pub staff: bool,
    /// What to say when there are none.
    pub empty: &'static str,
    /// Where the next page starts, if there is one.
    pub more: Option<More>,
    /// Search results: where the words are in each ticket, in the order
    /// of `items` (`None` where only the subject has them). Empty for
    /// lists.
    pub excerpts: Vec<Option<String>>,
}

impl TicketPage {
    /// For staff: " · due in 2 h" (or overdue) after a waiting ticket's
    /// status; empty otherwise.
    pub fn due(&self, item: &TicketListItem) -> String {
        match item.ticket.due_at {
            Some(due) if self.staff => format!(
                " · {}",
                threadesk_core::service::due_words(due, threadesk_core::time::Timestamp::now())
            ),
            _ => String::new(),
        }
    }

    /// Where the words are in the `i`th ticket, for search results.
    pub fn excerpt(&self, i: usize) -> Option<&str> {
        self.excerpts.get(i).and_then(|e| e.as_deref())
    }
}

/// The longest a "More" button's place may be written: a Discord custom id
/// holds 100 characters, with the button's prefix.
const MORE_LIMIT: usize = 90;

/// The answer to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A sentence (names in it already escaped for the platform).
    Said(String),
    /// The platform's help, for staff or not.
    Help {
        /// Whether the staff part is shown.
        staff: bool,
    },
    /// The new-ticket form.
    Form {
        /// The subject to fill in.
        subject: String,
        /// The department chosen already.
        department: Option<Department>,
    },
    /// A page of tickets.
    List(TicketPage),
    /// Bring the person to this ticket (their card, or the thread); they
    /// may read it.
    Show(threadesk_core::domain::Ticket),
    /// Staff: choose one of these saved replies to send on a ticket.
    Pick(SavedPicker),
}

/// The saved replies that fit a ticket, to choose one from (staff).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPicker {
    /// The ticket.
    pub ticket: threadesk_core::domain::Ticket,
    /// The replies, team-wide and the ticket's department's, by name: never
    /// empty (with none, the person is told how to save one instead).
    pub replies: Vec<SavedChoice>,
}

/// One saved reply in a picker.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedChoice {
    /// Its id: what the choice sends back.
    pub id: threadesk_core::SavedReplyId,
    /// Its name.
    pub name: String,
    /// The start of its text, filled in for the ticket.
    pub preview: String,
}

/// What to say when no saved reply fits a ticket.
pub const NO_SAVED_REPLIES: &str =
    "No saved replies fit this ticket yet. Save one with `saved add <name> = <text>`.";

/// The saved replies a staff member may send on a ticket, as a picker; a
/// sentence when there are none. Rights are core's: staff only, and only
/// tickets they may read.
pub async fn saved_picker<P: ChatPlatform>(
    p: &P,
    person: &Person,
    ticket: threadesk_core::TicketId,
) -> Result<Reply, EngineError> {
    let engine = p.engine();
    let t = engine.ticket(person.id, ticket).await?;
    let replies = engine.saved_replies_for(person.id, ticket).await?;
    if replies.is_empty() {
        return Ok(Reply::Said(NO_SAVED_REPLIES.to_owned()));
    }
    let requester = engine.person_alone(t.requester_id).await?.display_name;
    let replies = replies
        .into_iter()
        .map(|r| SavedChoice {
            preview: crate::text::clip(
                &threadesk_core::engine::fill_saved_reply(&r.body, &requester, t.number),
                90,
            ),
            id: r.id,
            name: r.name,
        })
        .collect();
    Ok(Reply::Pick(SavedPicker { ticket: t, replies }))
}

/// Sends the saved reply a person chose in a picker; what to tell them.
pub async fn send_saved<P: ChatPlatform>(
    p: &P,
    ctx: &Ctx,
    ticket: threadesk_core::TicketId,
    reply: threadesk_core::SavedReplyId,
) -> Result<String, EngineError> {
    let (name, posted) = p.engine().reply_saved_id(ctx, ticket, reply).await?;
    Ok(format!(
        "Saved reply \"{}\" sent on {}.",
        p.escape(&crate::text::clip(&name, 100)),
        posted.ticket.number
    ))
}

/// Runs a command for a person. Refusals come back as `Err` (tell them
/// [`crate::reply::sentence`]); what the person mistyped comes back as a
/// sentence.
pub async fn command<P: ChatDesk>(
    p: &P,
    person: &Person,
    ctx: &Ctx,
    command: Command<P::User>,
) -> Result<Reply, EngineError> {
    // the engine checks every change; these two read what only staff
    // may (inactive departments) before it is asked.
    if matches!(
        command,
        Command::Queue { .. } | Command::Department(_) | Command::Saved(_)
    ) && !person.is_staff
    {
        return Err(EngineError::StaffOnly("support staff"));
    }
    let engine = p.engine();
    let said = |s: String| Ok(Reply::Said(s));
    let reply = match command {
        Command::Help => Reply::Help {
            staff: person.is_staff,
        },
        Command::Open {
            subject,
            department,
        } => {
            let department = match department {
                None => None,
                Some(raw) => match find_department(p, &raw, false).await? {
                    Some(d) => Some(d),
                    None => {
                        return said(format!(
                        "There is no department \"{}\". Choose one from the list, or leave it out.",
                        p.escape(&crate::text::clip(&raw, 100))
                    ))
                    }
                },
            };
            Reply::Form {
                subject,
                department,
            }
        }
        Command::List(at) => Reply::List(list(p, person, at).await?),
        Command::Show(n) => Reply::Show(engine.ticket_by_number(person.id, n).await?),
        Command::Close(n) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            let t = engine.close(ctx, t.id).await?;
            Reply::Said(format!("Ticket {} is closed.", t.number))
        }
        Command::Queue {
            status,
            department,
            owner,
        } => {
            let department = match department {
                None => None,
                Some(name) => match find_department(p, &name, true).await? {
                    Some(d) => Some(d.id),
                    None => return said(no_department(p, &name)),
                },
            };
            let first = threadesk_core::domain::PageRequest {
                view: View::Active,
                after: None,
                limit: QUEUE_PAGE,
            };
            let filter = QueueFilter {
                department,
                status,
                owner,
                ..QueueFilter::default()
            };
            let mut items = Vec::new();
            if owner.is_none() {
                // theirs first: what they own, then everybody's.
                let mine = QueueFilter {
                    owner: Some(OwnerFilter::Mine),
                    ..filter
                };
                items = engine.staff_queue(person.id, mine, first).await?.items;
            }
            for it in engine.staff_queue(person.id, filter, first).await?.items {
                if items.len() >= QUEUE_PAGE as usize {
                    break;
                }
                if !items.iter().any(|m| m.ticket.id == it.ticket.id) {
                    items.push(it);
                }
            }
            let title = match owner {
                Some(OwnerFilter::Mine) => "Your queue (unanswered first)",
                Some(OwnerFilter::Unassigned) => "Unassigned (unanswered first)",
                _ => "Queue (yours first, then unanswered first)",
            };
            Reply::List(TicketPage {
                title: title.to_owned(),
                items,
                staff: true,
                empty: "Nothing waiting.",
                more: None,
                excerpts: Vec::new(),
            })
        }
        Command::SetStatus(n, status) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            let t = engine.set_status(ctx, t.id, status).await?;
            Reply::Said(format!(
                "Ticket {} is now {}.",
                t.number,
                t.status.label_for(true)
            ))
        }
        Command::Move(n, name) => {
            let department = match name {
                None => None,
                Some(name) => match find_department(p, &name, false).await? {
                    Some(d) => Some(d),
                    None => return said(no_department(p, &name)),
                },
            };
            let t = engine.ticket_by_number(person.id, n).await?;
            engine
                .move_to_department(ctx, t.id, department.as_ref().map(|d| d.id))
                .await?;
            Reply::Said(match department {
                Some(d) => format!("Ticket {} is now in {}.", t.number, p.escape(&d.name)),
                None => format!("Ticket {} is in no department now.", t.number),
            })
        }
        Command::Search(words) => match search(p, person, SearchAt { words, after: None }).await? {
            Found::Jump(t) => Reply::Show(t),
            Found::Page(page) => Reply::List(page),
        },
        Command::Claim(n) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            engine.claim(ctx, t.id).await?;
            Reply::Said(format!("You now own ticket {}.", t.number))
        }
        Command::Assign(n, to) => {
            let owner = match to {
                None => None,
                Some(user) => match p.person_named(&user).await? {
                    Some(who) => Some(who),
                    None => return said(NOT_A_PERSON.to_owned()),
                },
            };
            let t = engine.ticket_by_number(person.id, n).await?;
            engine
                .assign(ctx, t.id, owner.as_ref().map(|o| o.id))
                .await?;
            Reply::Said(match owner {
                Some(o) => format!(
                    "{} now owns ticket {}.",
                    p.escape(&o.display_name),
                    t.number
                ),
                None => format!("Ticket {} has no owner now.", t.number),
            })
        }
        Command::ReplySaved(n, name) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            match engine.reply_saved(ctx, t.id, &name).await {
                Ok(_) => Reply::Said(format!(
                    "Saved reply \"{}\" sent on {}.",
                    p.escape(&crate::text::clip(&name, 100)),
                    t.number
                )),
                Err(EngineError::NotFound("saved reply")) => Reply::Said(format!(
                    "There is no saved reply \"{}\" for {}. `saved list` shows them.",
                    p.escape(&crate::text::clip(&name, 100)),
                    t.number
                )),
                Err(e) => return Err(e),
            }
        }
        Command::PickSaved(n) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            saved_picker(p, person, t.id).await?
        }
        Command::Saved(c) => Reply::Said(saved(p, person, ctx, c).await?),
        Command::Rate(n, score, comment) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            Reply::Said(rate(p, ctx, t.id, score, comment.as_deref()).await?)
        }
        Command::PauseAutoClose(n, pause) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            let t = engine.pause_auto_close(ctx, t.id, pause).await?;
            Reply::Said(if pause {
                format!("Automatic closing of {} is paused.", t.number)
            } else {
                format!(
                    "Automatic closing of {} is on again: the customer has the whole period from now.",
                    t.number
                )
            })
        }
        Command::Note(n, text) => {
            let t = engine.ticket_by_number(person.id, n).await?;
            match engine.note(ctx, t.id, NewMessage::text(&text)).await {
                Ok(_) => Reply::Said(format!("Internal note added to {}.", t.number)),
                Err(EngineError::Invalid(v)) => Reply::Said(format!(
                    "{}. Your note was:\n{}",
                    EngineError::Invalid(v).sentence().trim_end_matches('.'),
                    p.quote(&text)
                )),
                Err(e) => return Err(e),
            }
        }
        Command::Admin(grant, user) => {
            let Some(who) = p.person_named(&user).await? else {
                return said(NOT_A_PERSON.to_owned());
            };
            let changed = if grant {
                engine.grant_company_admin(ctx, who.id).await?
            } else {
                engine.revoke_company_admin(ctx, who.id).await?
            };
            Reply::Said(format!(
                "{} {} a company ticket admin.",
                p.escape(&changed.display_name),
                now_or_no_longer(changed.is_company_admin)
            ))
        }
        Command::Staff(add, user) => {
            let Some(who) = p.person_named(&user).await? else {
                return said(NOT_A_PERSON.to_owned());
            };
            let changed = engine.set_staff(ctx, who.id, add).await?;
            Reply::Said(format!(
                "{} {} staff.",
                p.escape(&changed.display_name),
                now_or_no_longer(changed.is_staff)
            ))
        }
        Command::Organization(user, name) => {
            let Some(who) = p.person_named(&user).await? else {
                return said(NOT_A_PERSON.to_owned());
            };
            let name = name.as_deref().map(str::trim).filter(|n| !n.is_empty());
            let who_name = p.escape(&who.display_name);
            Reply::Said(
                match engine.place_in_organization(ctx, who.id, name).await? {
                    Some(o) => format!("{who_name} is now in {}.", p.escape(&o.name)),
                    None => format!("{who_name} is in no organization now."),
                },
            )
        }
        Command::Link(user, email) => {
            if p.person_named(&user).await?.is_none() {
                return said(NOT_A_PERSON.to_owned());
            }
            let email = email.trim();
            let linked = engine
                .link_identities(ctx, &p.identity_of(&user), &PlatformIdentity::email(email))
                .await?;
            Reply::Said(format!(
                "{} and {} are now one person.",
                p.escape(&linked.display_name),
                p.escape(email)
            ))
        }
        Command::Department(d) => Reply::Said(department(p, ctx, d).await?),
    };
    p.wake();
    Ok(reply)
}

const NOT_A_PERSON: &str = "Choose a person (not a bot).";

/// Rates a closed ticket as the person (from a command, a card's buttons
/// or a rating form): what they are told.
pub async fn rate<P: ChatPlatform>(
    p: &P,
    ctx: &Ctx,
    ticket: threadesk_core::TicketId,
    score: i64,
    comment: Option<&str>,
) -> Result<String, EngineError> {
    let rated = p.engine().rate(ctx, ticket, score, comment).await?;
    let t = p.engine().ticket(ctx.actor, ticket).await?;
    p.wake();
    Ok(format!(
        "Thank you! You rated {} {} ({}). You can change it for 7 days after closing.",
        t.number,
        rated.stars(),
        threadesk_core::domain::score_label(rated.score)
    ))
}

fn now_or_no_longer(yes: bool) -> &'static str {
    if yes {
        "is now"
    } else {
        "is no longer"
    }
}

fn no_department<P: ChatPlatform>(p: &P, name: &str) -> String {
    format!(
        "There is no department named \"{}\".",
        p.escape(name.trim())
    )
}

/// A department by id or name (any case).
async fn find_department<P: ChatPlatform>(
    p: &P,
    raw: &str,
    inactive_too: bool,
) -> Result<Option<Department>, EngineError> {
    let raw = raw.trim();
    Ok(p.engine()
        .departments(inactive_too)
        .await?
        .into_iter()
        .find(|d| d.id.0.to_string() == raw || d.name.eq_ignore_ascii_case(raw)))
}

/// One page of a person's tickets.
pub async fn list<P: ChatPlatform>(
    p: &P,
    person: &Person,
    at: ListAt,
) -> Result<TicketPage, EngineError> {
    let req = threadesk_core::domain::PageRequest {
        view: at.view,
        after: at.after,
        limit: PAGE,
    };
    let page = match at.scope {
        Scope::Mine => p.engine().my_tickets(person.id, req).await?,
        Scope::Organization => p.engine().org_tickets(person.id, req).await?,
    };
    let whose = match at.scope {
        Scope::Mine => "My tickets",
        Scope::Organization => "Owned by organization",
    };
    Ok(TicketPage {
        title: format!("{whose} · {}", view_word(at.view)),
        items: page.items,
        staff: person.is_staff,
        empty: "No tickets.",
        more: page.next.map(|c| {
            More::List(ListAt {
                after: Some(c),
                ..at
            })
        }),
        excerpts: Vec::new(),
    })
}

/// What a search in chat found.
enum Found {
    /// `#N`: the ticket itself.
    Jump(threadesk_core::domain::Ticket),
    /// A page of results.
    Page(TicketPage),
}

/// One page of a search's results, as the person may see them.
async fn search<P: ChatPlatform>(
    p: &P,
    person: &Person,
    at: SearchAt,
) -> Result<Found, EngineError> {
    let query = match search_query(p, person, &at.words).await? {
        Ok(q) => q,
        Err(why) => {
            return Ok(Found::Page(TicketPage {
                title: format!("Search · {}", crate::text::clip(&at.words, 60)),
                items: Vec::new(),
                staff: person.is_staff,
                empty: why,
                more: None,
                excerpts: Vec::new(),
            }))
        }
    };
    let found = p.engine().search(person.id, &query, at.after, PAGE).await?;
    let page = match found {
        SearchResult::Jump(t) => return Ok(Found::Jump(t)),
        SearchResult::Hits(page) => page,
    };
    let mut more = page.next.map(|c| {
        More::Search(SearchAt {
            words: at.words.clone(),
            after: Some(c),
        })
    });
    let mut title = format!("Search · {}", crate::text::clip(&at.words, 60));
    if more
        .as_ref()
        .is_some_and(|m| m.to_string().len() > MORE_LIMIT)
    {
        // words too long to carry on a button: the first page only.
        more = None;
        title.push_str(" · the first ten; fewer words page further");
    }
    let excerpts = page
        .items
        .iter()
        .map(|h| {
            h.excerpt.as_ref().map(|e| {
                if h.internal {
                    format!("(internal note) {e}")
                } else {
                    e.clone()
                }
            })
        })
        .collect();
    Ok(Found::Page(TicketPage {
        title,
        items: page.items.into_iter().map(|h| h.item).collect(),
        staff: person.is_staff,
        empty: "No tickets with those words.",
        more,
        excerpts,
    }))
}

/// A search typed in chat: words, and filters written `status:on_hold`,
/// `is:active|closed|all`, `owner:mine|unassigned`, `dept:<name>` and
/// `org:<name>` (`_` for spaces), `requester:<address>|me`, and
/// `after:` / `before:` a date (opened on or after, before). The refusal
/// is what to say.
async fn search_query<P: ChatPlatform>(
    p: &P,
    person: &Person,
    text: &str,
) -> Result<Result<SearchQuery, &'static str>, EngineError> {
    let mut q = SearchQuery::words("");
    let mut words = Vec::new();
    for w in text.split_whitespace() {
        let Some((key, value)) = w.split_once(':') else {
            words.push(w);
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "status" => match value.parse() {
                Ok(s) => q.status = Some(s),
                Err(_) => return Ok(Err("No such status: use open, in_progress, on_hold, awaiting_client, client_replied or closed.")),
            },
            "is" => match value.parse() {
                Ok(v) => q.view = v,
                Err(_) => return Ok(Err("`is:` takes active, closed or all.")),
            },
            "owner" => match value.to_ascii_lowercase().as_str() {
                "mine" | "me" => q.owner = Some(OwnerFilter::Mine),
                "unassigned" | "none" => q.owner = Some(OwnerFilter::Unassigned),
                _ => return Ok(Err("`owner:` takes mine or unassigned.")),
            },
            "dept" | "department" => {
                match find_department(p, &value.replace('_', " "), true).await? {
                    Some(d) => q.department = Some(d.id),
                    None => return Ok(Err("No department by that name (write spaces as _).")),
                }
            }
            "org" | "organization" => {
                match p
                    .engine()
                    .organization_named_by(person.id, &value.replace('_', " "))
                    .await?
                {
                    Some(o) => q.organization = Some(o.id),
                    None => return Ok(Err("No organization by that name (write spaces as _).")),
                }
            }
            "requester" | "by" => {
                if value.eq_ignore_ascii_case("me") {
                    q.requester = Some(person.id);
                } else {
                    match p.engine().person_with_email(person.id, value).await {
                        Ok(Some(id)) => q.requester = Some(id),
                        Ok(None) => return Ok(Err("Nobody you can search for has that e-mail address.")),
                        Err(EngineError::Invalid(_)) => {
                            return Ok(Err("`requester:` takes an e-mail address, or me."))
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            "after" | "since" => match threadesk_core::time::day_start(value) {
                Some(t) => q.from = Some(t),
                None => return Ok(Err("`after:` takes a date written 2026-11-30.")),
            },
            "before" | "until" => match threadesk_core::time::day_start(value) {
                Some(t) => q.to = Some(t),
                None => return Ok(Err("`before:` takes a date written 2026-11-30.")),
            },
            // a word with a colon in it (an address, a time): a word.
            _ => words.push(w),
        }
    }
    q.words = words.join(" ");
    Ok(Ok(q))
}

/// The page a "More" button asks for: a list's or a search's.
pub async fn more<P: ChatPlatform>(
    p: &P,
    person: &Person,
    more: More,
) -> Result<TicketPage, EngineError> {
    match more {
        More::List(at) => list(p, person, at).await,
        More::Search(at) => match search(p, person, at).await? {
            Found::Page(page) => Ok(page),
            // a button never carries a bare number; should one, show it
            // as the one result.
            Found::Jump(ticket) => Ok(TicketPage {
                title: format!("Ticket {}", ticket.number),
                items: vec![TicketListItem {
                    ticket,
                    shared: false,
                }],
                staff: person.is_staff,
                empty: "",
                more: None,
                excerpts: Vec::new(),
            }),
        },
    }
}

async fn saved<P: ChatPlatform>(
    p: &P,
    person: &Person,
    ctx: &Ctx,
    command: SavedCommand,
) -> Result<String, EngineError> {
    let engine = p.engine();
    let replies = engine.saved_replies(person.id).await?;
    let departments = engine.departments(true).await?;
    let place = |d: Option<threadesk_core::DepartmentId>| match d {
        None => String::new(),
        Some(id) => departments
            .iter()
            .find(|x| x.id == id)
            .map(|x| format!(" ({})", p.escape(&x.name)))
            .unwrap_or_default(),
    };
    Ok(match command {
        SavedCommand::List if replies.is_empty() => {
            "No saved replies yet. Add one with `saved add <name> = <text>`.".to_owned()
        }
        SavedCommand::List => {
            let lines: Vec<String> = replies
                .iter()
                .map(|r| {
                    format!(
                        "• {}{}: {}",
                        p.escape(&r.name),
                        place(r.department_id),
                        p.escape(&crate::text::clip(&r.body, 80))
                    )
                })
                .collect();
            format!("Saved replies:\n{}", lines.join("\n"))
        }
        SavedCommand::Add { name, text } => {
            let r = engine.save_reply(ctx, &name, &text, None).await?;
            format!(
                "Saved reply \"{}\" kept. Use it with `reply #N {}`.",
                p.escape(&r.name),
                p.escape(&r.name)
            )
        }
        SavedCommand::Remove(name) => {
            // a team-wide one first, as `reply` would pick it elsewhere.
            let Some(r) = replies
                .iter()
                .filter(|r| r.name.eq_ignore_ascii_case(name.trim()))
                .min_by_key(|r| r.department_id.is_some())
            else {
                return Ok(format!(
                    "There is no saved reply \"{}\".",
                    p.escape(&crate::text::clip(&name, 100))
                ));
            };
            engine.remove_saved_reply(ctx, r.id).await?;
            format!("Saved reply \"{}\" removed.", p.escape(&r.name))
        }
    })
}

async fn department<P: ChatPlatform>(
    p: &P,
    ctx: &Ctx,
    command: DepartmentCommand,
) -> Result<String, EngineError> {
    let engine = p.engine();
    Ok(match command {
        DepartmentCommand::List => {
            let lines: Vec<String> = engine
                .departments(true)
                .await?
                .iter()
                .map(|d| {
                    let inactive = if d.active { "" } else { " (inactive)" };
                    format!("• {}{inactive}", p.escape(&d.name))
                })
                .collect();
            if lines.is_empty() {
                "No departments yet.".to_owned()
            } else {
                lines.join("\n")
            }
        }
        DepartmentCommand::Add(name) => format!(
            "Department \"{}\" created.",
            p.escape(&engine.create_department(ctx, &name).await?.name)
        ),
        DepartmentCommand::Rename { from, to } => {
            let Some(d) = find_department(p, &from, true).await? else {
                return Ok(no_department(p, &from));
            };
            let d = engine.rename_department(ctx, d.id, &to).await?;
            format!("Renamed to \"{}\".", p.escape(&d.name))
        }
        DepartmentCommand::SetActive { name, active } => {
            let Some(d) = find_department(p, &name, true).await? else {
                return Ok(no_department(p, &name));
            };
            let d = engine.set_department_active(ctx, d.id, active).await?;
            let state = if d.active { "active" } else { "inactive" };
            format!("\"{}\" is {state}.", p.escape(&d.name))
        }
    })
}

/// What a person wrote in a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The text, as typed (the platform's escaping undone).
    pub text: String,
    /// Files attached to it.
    pub attachments: Vec<AttachmentMeta>,
}

/// What became of a written message.
#[derive(Debug)]
pub enum Wrote {
    /// Added to the ticket: a reply, or (`note`) an internal note.
    Added {
        /// The engine's record of it.
        posted: Box<Posted>,
        /// Whether it became an internal note (a staff `note:`).
        note: bool,
    },
    /// Not added; the person is to be told why, with their text.
    Refused(Refusal),
}

/// Why a written message was not added, with the text to give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What to tell the person, ending in a full stop.
    pub why: String,
    /// The ticket is closed (a new ticket may be offered).
    pub closed: Option<TicketNumber>,
    /// What they wrote (without a `note:` marker).
    pub text: String,
}

impl Refusal {
    /// What the person is told: why, their text quoted back (`quoted`, as
    /// the platform quotes), and for a closed ticket how to open a new one
    /// (`P::NEW_TICKET`).
    pub fn told<P: ChatDesk>(&self, p: &P) -> String {
        let new = if self.closed.is_some() {
            format!("\n\nTo ask something new, use `{}`.", P::NEW_TICKET)
        } else {
            String::new()
        };
        format!(
            "{} Here is what you wrote:\n\n{}{new}",
            self.why,
            p.quote(&self.text)
        )
    }
}

/// Adds what a person wrote in a ticket's thread: an internal note when
/// staff start it with `note:` (wherever they write it), a reply
/// otherwise. A refusal the person can act on comes back as
/// [`Wrote::Refused`] with their text; anything else is an error.
pub async fn write<P: ChatPlatform>(
    p: &P,
    person: &Person,
    ctx: &Ctx,
    ticket: TicketId,
    written: Written,
) -> Result<Wrote, EngineError> {
    let (note, text) = match staff_note(&written.text) {
        Some(rest) if person.is_staff => (true, rest.trim().to_owned()),
        _ => (false, written.text),
    };
    let input = NewMessage {
        body: text.clone(),
        attachments: written.attachments,
    };
    let done = if note {
        p.engine().note(ctx, ticket, input).await
    } else {
        p.engine().reply(ctx, ticket, input).await
    };
    let (why, closed) = match done {
        Ok(posted) => {
            p.wake();
            return Ok(Wrote::Added {
                posted: Box::new(posted),
                note,
            });
        }
        Err(EngineError::TicketClosed { number, .. }) => (
            format!("Ticket {number} is closed, so your message was not added to it."),
            Some(number),
        ),
        Err(EngineError::NotFound(_) | EngineError::NotAllowed(_)) => (
            "You no longer have access to this ticket, so your message was not added to it."
                .to_owned(),
            None,
        ),
        Err(e @ EngineError::Invalid(_)) => (
            format!("{} Your message was not added.", e.sentence()),
            None,
        ),
        Err(e) => return Err(e),
    };
    Ok(Wrote::Refused(Refusal { why, closed, text }))
}

/// Edits the engine message a person's chat message became. A note keeps
/// its `note:` marker out of its text. A refusal comes back as the
/// sentence to tell the person; an internal error as `Err`.
pub async fn edit<P: ChatPlatform>(
    p: &P,
    person: &Person,
    ctx: &Ctx,
    message: MessageId,
    text: &str,
) -> Result<Option<String>, EngineError> {
    let body = match staff_note(text) {
        Some(rest) if person.is_staff => rest.trim(),
        _ => text,
    };
    match p.engine().edit_message(ctx, message, body).await {
        Ok(_) => {
            p.wake();
            Ok(None)
        }
        Err(e) if e.is_internal() => Err(e),
        Err(e) => Ok(Some(format!(
            "Your edit was not saved: {}",
            crate::reply::sentence(&e, "chat edit")
        ))),
    }
}

/// The engine message a person's own platform message became (a reply or
/// note they wrote in chat), if it became one.
pub async fn authored_message<P: ChatPlatform>(
    p: &P,
    at: &threadesk_core::links::PlatformRef,
) -> Result<Option<MessageId>, EngineError> {
    let link = p.engine().system().link_at(at).await?;
    Ok(link.filter(|l| l.authored).and_then(|l| l.message_id))
}

/// Whether a reaction closes a ticket: a check mark, as a character or
/// by its name (✅ ✔️ ☑️).
pub fn is_closing(reaction: &str) -> bool {
    matches!(
        reaction,
        "✅" | "✔️" | "☑️" | "white_check_mark" | "heavy_check_mark" | "ballot_box_with_check"
    )
}

/// Closes a ticket for a closing reaction. A ticket closed already is no
/// news; another refusal comes back as what to tell the person.
pub async fn close_by_reaction<P: ChatPlatform>(
    p: &P,
    ctx: &Ctx,
    ticket: TicketId,
) -> Result<Option<String>, EngineError> {
    match p.engine().close(ctx, ticket).await {
        Ok(_) => {
            p.wake();
            Ok(None)
        }
        Err(EngineError::TicketClosed { .. }) => Ok(None),
        Err(e) if e.is_internal() => Err(e),
        Err(e) => Ok(Some(format!(
            "That reaction did not close the ticket: {}",
            crate::reply::sentence(&e, "closing reaction")
        ))),
    }
}
