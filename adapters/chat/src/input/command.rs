//! `/ticket` and its subcommands as typed commands, and how a command
//! typed as text (Slack's slash command, a Teams message) is read.

use super::list::{ListAt, Scope};
use threadesk_core::domain::{Status, View};
use threadesk_core::engine::OwnerFilter;
use threadesk_core::TicketNumber;

/// A `/ticket` command, whatever platform it was typed on. `U` is how the
/// platform names a user (a Slack user id, a resolved Discord member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<U> {
    /// What one can do.
    Help,
    /// The new-ticket form, pre-filled.
    Open {
        /// The subject typed after the command.
        subject: String,
        /// A department named by id or name.
        department: Option<String>,
    },
    /// A page of one's tickets.
    List(ListAt),
    /// Bring the person to a ticket (their card, the thread).
    Show(TicketNumber),
    /// Close a ticket.
    Close(TicketNumber),
    /// Staff: the queue, unanswered first.
    Queue {
        /// Only this status.
        status: Option<Status>,
        /// Only this department, by name.
        department: Option<String>,
        /// Only tickets owned so (`mine`, `unassigned`).
        owner: Option<OwnerFilter>,
    },
    /// Search the tickets one may read (`#N` alone goes to that ticket).
    Search(String),
    /// Staff: take a ticket (become its owner).
    Claim(TicketNumber),
    /// Staff: give a ticket to a colleague, or to nobody (`unassign`).
    Assign(TicketNumber, Option<U>),
    /// Staff: move a ticket to a department, by name (`None`: to none).
    Move(TicketNumber, Option<String>),
    /// Staff: set a status by hand.
    SetStatus(TicketNumber, Status),
    /// Staff: an internal note.
    Note(TicketNumber, String),
    /// Staff: answer a ticket with a saved reply, by name.
    ReplySaved(TicketNumber, String),
    /// Staff: choose a saved reply for a ticket from a list.
    PickSaved(TicketNumber),
    /// Staff: the saved replies.
    Saved(SavedCommand),
    /// The requester: rate a closed ticket, 1 to 5, with a comment.
    Rate(TicketNumber, i64, Option<String>),
    /// Staff: pause (true) or resume automatic closing of a ticket.
    PauseAutoClose(TicketNumber, bool),
    /// Staff: grant (true) or revoke company ticket admin.
    Admin(bool, U),
    /// Staff: add (true) or remove a staff member.
    Staff(bool, U),
    /// Staff: put someone in an organization (`None`: in none).
    Organization(U, Option<String>),
    /// Staff: the same person by e-mail.
    Link(U, String),
    /// Staff: departments.
    Department(DepartmentCommand),
}

/// `/ticket department …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepartmentCommand {
    /// Every department, inactive ones marked.
    List,
    /// A new department.
    Add(String),
    /// Rename one.
    Rename {
        /// Its name now.
        from: String,
        /// Its new name.
        to: String,
    },
    /// Take one in or out of use.
    SetActive {
        /// Its name.
        name: String,
        /// In use or not.
        active: bool,
    },
}

/// `/ticket saved …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedCommand {
    /// Every saved reply, by name.
    List,
    /// Keep a reply under a name (changing one with that name).
    Add {
        /// Its name.
        name: String,
        /// Its text, with placeholders.
        text: String,
    },
    /// Remove one, by name.
    Remove(String),
}

/// A command that could not be read, and what the person is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// No such subcommand.
    Unknown(String),
    /// A known subcommand with its arguments missing or wrong: its usage,
    /// without the platform's command prefix.
    Usage(&'static str),
    /// Which ticket is missing (the subcommand).
    WhichTicket(&'static str),
    /// A list argument that is neither a scope nor a view.
    List(String),
}

impl Unreadable {
    /// What the person is told; `command` is how the platform writes the
    /// command (`/ticket`).
    pub fn sentence(&self, command: &str) -> String {
        match self {
            Unreadable::Unknown(word) => format!("I don't know `{command} {word}`."),
            Unreadable::Usage(usage) => format!("Usage: `{command} {usage}`"),
            Unreadable::WhichTicket(sub) => {
                format!("Which ticket? For example `{command} {sub} #1042`.")
            }
            Unreadable::List(why) => format!("{why}. Try `{command} list mine active`."),
        }
    }
}

/// Usages, without the platform's command prefix.
pub mod usage {
    /// `status`.
    pub const STATUS: &str = "status #N open|in_progress|on_hold|awaiting_client|client_replied";
    /// `admin`.
    pub const ADMIN: &str = "admin grant|revoke @user";
    /// `staff`.
    pub const STAFF: &str = "staff add|remove @user";
    /// `org`.
    pub const ORG: &str = "org @user <organization name> (or `none`)";
    /// `link`.
    pub const LINK: &str = "link @user <email address>";
    /// `note`.
    pub const NOTE: &str = "note #N <text>";
    /// `reply`.
    pub const REPLY: &str = "reply #N [saved reply name] (without a name: choose from a list)";
    /// `saved`.
    pub const SAVED: &str =
        "saved list | add <name> = <text> ({name}, {first_name}, {ticket} are filled in) | remove <name>";
    /// `search`.
    pub const SEARCH: &str =
        "search <words> [status:<status>] [is:active|closed] [owner:mine|unassigned] [dept:<name>] [org:<name>] [requester:<address>|me] [after:<date>] [before:<date>] (or #N)";
    /// `assign`.
    pub const ASSIGN: &str = "assign #N @user";
    /// `rate`.
    pub const RATE: &str = "rate #N 1-5 [comment]";
    /// `autoclose`.
    pub const AUTOCLOSE: &str = "autoclose #N pause|resume";
    /// `department #N` (moving a ticket).
    pub const MOVE: &str = "department #N <department name> (or `none`)";
    /// `department`.
    pub const DEPARTMENT: &str =
        "department list | add <name> | rename <old> = <new> | deactivate <name> | activate <name>";
}

/// How a platform writes what people type in a text command.
pub trait TextSyntax {
    /// How the platform names a user.
    type User;
    /// The user a word mentions (`<@U123|ann>` on Slack), if it is one.
    fn mention(&self, word: &str) -> Option<Self::User>;
    /// Text as the person typed it, the platform's escaping undone.
    fn literal(&self, text: &str) -> String {
        text.to_owned()
    }
    /// An e-mail address as typed, the platform's auto-link undone.
    fn address(&self, word: &str) -> String {
        word.to_owned()
    }
}

fn number(word: Option<&&str>) -> Option<TicketNumber> {
    word.and_then(|w| w.parse().ok())
}

fn status(word: &str) -> Option<Status> {
    Status::ALL.iter().copied().find(|s| s.as_str() == word)
}

/// `mine|org` and `active|closed|all`, in any order.
fn list_args(words: &[&str]) -> Result<ListAt, Unreadable> {
    let mut at = ListAt::first(Scope::Mine, View::Active);
    for w in words {
        match w.to_ascii_lowercase().as_str() {
            "mine" => at.scope = Scope::Mine,
            "org" | "organization" => at.scope = Scope::Organization,
            other => {
                at.view = other
                    .parse()
                    .map_err(|e| Unreadable::List(format!("{e}")))?
            }
        }
    }
    Ok(at)
}

impl<U> Command<U> {
    /// Reads a command typed as text (the words after `/ticket`).
    pub fn from_text<S: TextSyntax<User = U>>(text: &str, syntax: &S) -> Result<Self, Unreadable> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let rest = |n: usize| syntax.literal(&words.get(n..).unwrap_or_default().join(" "));
        let user = |n: usize| words.get(n).and_then(|w| syntax.mention(w));
        let sub = words
            .first()
            .map(|w| w.to_ascii_lowercase())
            .unwrap_or_default();
        Ok(match sub.as_str() {
            "" | "new" => Command::Open {
                subject: String::new(),
                department: None,
            },
            "open" => Command::Open {
                subject: rest(1),
                department: None,
            },
            "help" => Command::Help,
            "list" => Command::List(list_args(&words[1..])?),
            "show" | "follow" => {
                Command::Show(number(words.get(1)).ok_or(Unreadable::WhichTicket("show"))?)
            }
            "close" => {
                Command::Close(number(words.get(1)).ok_or(Unreadable::WhichTicket("close"))?)
            }
            "queue" => {
                let (mut wanted, mut department, mut owner) = (None, vec![], None);
                for w in &words[1..] {
                    match (status(w), w.to_ascii_lowercase().as_str()) {
                        (Some(s), _) => wanted = Some(s),
                        (None, "mine") => owner = Some(OwnerFilter::Mine),
                        (None, "unassigned") => owner = Some(OwnerFilter::Unassigned),
                        (None, _) => department.push(*w),
                    }
                }
                let department = syntax.literal(&department.join(" "));
                Command::Queue {
                    status: wanted,
                    department: Some(department).filter(|d| !d.is_empty()),
                    owner,
                }
            }
            "search" | "find" => match rest(1).trim() {
                "" => return Err(Unreadable::Usage(usage::SEARCH)),
                words => Command::Search(words.to_owned()),
            },
            "claim" => {
                Command::Claim(number(words.get(1)).ok_or(Unreadable::WhichTicket("claim"))?)
            }
            "assign" => match (number(words.get(1)), user(2)) {
                (Some(n), Some(u)) => Command::Assign(n, Some(u)),
                _ => return Err(Unreadable::Usage(usage::ASSIGN)),
            },
            "unassign" => Command::Assign(
                number(words.get(1)).ok_or(Unreadable::WhichTicket("unassign"))?,
                None,
            ),
            "status" => match (number(words.get(1)), words.get(2).and_then(|w| status(w))) {
                (Some(n), Some(s)) => Command::SetStatus(n, s),
                _ => return Err(Unreadable::Usage(usage::STATUS)),
            },
            "reply" => match (number(words.get(1)), rest(2)) {
                (Some(n), name) if !name.trim().is_empty() => {
                    Command::ReplySaved(n, name.trim().to_owned())
                }
                (Some(n), _) => Command::PickSaved(n),
                _ => return Err(Unreadable::Usage(usage::REPLY)),
            },
            "saved" => {
                let arg = rest(2);
                Command::Saved(match words.get(1).copied().unwrap_or("list") {
                    "list" => SavedCommand::List,
                    "add" => match arg.split_once('=') {
                        Some((name, text))
                            if !name.trim().is_empty() && !text.trim().is_empty() =>
                        {
                            SavedCommand::Add {
                                name: name.trim().to_owned(),
                                text: text.trim().to_owned(),
                            }
                        }
                        _ => return Err(Unreadable::Usage(usage::SAVED)),
                    },
                    "remove" if !arg.trim().is_empty() => {
                        SavedCommand::Remove(arg.trim().to_owned())
                    }
                    _ => return Err(Unreadable::Usage(usage::SAVED)),
                })
            }
            "rate" => match (
                number(words.get(1)),
                words.get(2).and_then(|w| w.parse().ok()),
            ) {
                (Some(n), Some(score)) => {
                    let comment = rest(3);
                    let comment = Some(comment.trim().to_owned()).filter(|c| !c.is_empty());
                    Command::Rate(n, score, comment)
                }
                _ => return Err(Unreadable::Usage(usage::RATE)),
            },
            "autoclose" => match (number(words.get(1)), words.get(2).copied()) {
                (Some(n), Some("pause")) => Command::PauseAutoClose(n, true),
                (Some(n), Some("resume")) => Command::PauseAutoClose(n, false),
                _ => return Err(Unreadable::Usage(usage::AUTOCLOSE)),
            },
            "note" => match (number(words.get(1)), rest(2)) {
                (Some(n), text) if !text.trim().is_empty() => Command::Note(n, text),
                _ => return Err(Unreadable::Usage(usage::NOTE)),
            },
            "admin" => match (words.get(1).copied(), user(2)) {
                (Some("grant"), Some(u)) => Command::Admin(true, u),
                (Some("revoke"), Some(u)) => Command::Admin(false, u),
                _ => return Err(Unreadable::Usage(usage::ADMIN)),
            },
            "staff" => match (words.get(1).copied(), user(2)) {
                (Some("add"), Some(u)) => Command::Staff(true, u),
                (Some("remove"), Some(u)) => Command::Staff(false, u),
                _ => return Err(Unreadable::Usage(usage::STAFF)),
            },
            "org" => {
                let name = rest(2);
                match (user(1), name.trim()) {
                    (Some(_), "") | (None, _) => return Err(Unreadable::Usage(usage::ORG)),
                    (Some(u), "none") => Command::Organization(u, None),
                    (Some(u), n) => Command::Organization(u, Some(n.to_owned())),
                }
            }
            "link" => match (user(1), words.get(2)) {
                (Some(u), Some(email)) => Command::Link(u, syntax.address(email)),
                _ => return Err(Unreadable::Usage(usage::LINK)),
            },
            "department" | "move" if number(words.get(1)).is_some() => {
                let n = number(words.get(1)).ok_or(Unreadable::Usage(usage::MOVE))?;
                let name = rest(2);
                match name.trim() {
                    "" => return Err(Unreadable::Usage(usage::MOVE)),
                    "none" => Command::Move(n, None),
                    name => Command::Move(n, Some(name.to_owned())),
                }
            }
            "move" => return Err(Unreadable::Usage(usage::MOVE)),
            "department" => {
                let arg = rest(2);
                Command::Department(match words.get(1).copied().unwrap_or("list") {
                    "list" => DepartmentCommand::List,
                    "add" => DepartmentCommand::Add(arg),
                    "rename" => match arg.split_once('=') {
                        Some((from, to)) => DepartmentCommand::Rename {
                            from: from.trim().to_owned(),
                            to: to.trim().to_owned(),
                        },
                        None => return Err(Unreadable::Usage(usage::DEPARTMENT)),
                    },
                    verb @ ("deactivate" | "activate") => DepartmentCommand::SetActive {
                        name: arg.trim().to_owned(),
                        active: verb == "activate",
                    },
                    _ => return Err(Unreadable::Usage(usage::DEPARTMENT)),
                })
            }
            _ => return Err(Unreadable::Unknown(words[0].to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users as `@name`; `&amp;` escaped as Slack does.
    struct At;
    impl TextSyntax for At {
        type User = String;
        fn mention(&self, word: &str) -> Option<String> {
            word.strip_prefix('@').map(str::to_owned)
        }
        fn literal(&self, text: &str) -> String {
            text.replace("&amp;", "&")
        }
    }

    fn read(text: &str) -> Result<Command<String>, Unreadable> {
        Command::from_text(text, &At)
    }

    #[test]
    fn every_command_reads_from_its_words() {
        assert_eq!(
            read("").unwrap(),
            Command::Open {
                subject: String::new(),
                department: None
            }
        );
        assert_eq!(
            read("open Printer &amp; scanner").unwrap(),
            Command::Open {
                subject: "Printer & scanner".into(),
                department: None
            }
        );
        assert_eq!(
            read("list closed org").unwrap(),
            Command::List(ListAt::first(Scope::Organization, View::Closed))
        );
        assert_eq!(
            read("SHOW #1042").unwrap(),
            Command::Show(TicketNumber(1042))
        );
        assert_eq!(read("close 7").unwrap(), Command::Close(TicketNumber(7)));
        assert_eq!(
            read("queue on_hold R&amp;D Labs").unwrap(),
            Command::Queue {
                status: Some(Status::OnHold),
                department: Some("R&D Labs".into()),
                owner: None,
            }
        );
        assert_eq!(
            read("queue unassigned").unwrap(),
            Command::Queue {
                status: None,
                department: None,
                owner: Some(OwnerFilter::Unassigned),
            }
        );
        assert_eq!(
            read("queue mine open").unwrap(),
            Command::Queue {
                status: Some(Status::Open),
                department: None,
                owner: Some(OwnerFilter::Mine),
            }
        );
        assert_eq!(read("claim #12").unwrap(), Command::Claim(TicketNumber(12)));
        assert_eq!(
            read("assign #12 @kim").unwrap(),
            Command::Assign(TicketNumber(12), Some("kim".into()))
        );
        assert_eq!(
            read("unassign 12").unwrap(),
            Command::Assign(TicketNumber(12), None)
        );
        assert_eq!(read("assign #12"), Err(Unreadable::Usage(usage::ASSIGN)));
        assert_eq!(read("claim"), Err(Unreadable::WhichTicket("claim")));
        assert_eq!(
            read("department #12 R&amp;D Labs").unwrap(),
            Command::Move(TicketNumber(12), Some("R&D Labs".into()))
        );
        assert_eq!(
            read("move 12 none").unwrap(),
            Command::Move(TicketNumber(12), None)
        );
        assert_eq!(read("department #12"), Err(Unreadable::Usage(usage::MOVE)));
        assert_eq!(
            read("department add Billing").unwrap(),
            Command::Department(DepartmentCommand::Add("Billing".into()))
        );
        assert_eq!(
            read("status #3 awaiting_client").unwrap(),
            Command::SetStatus(TicketNumber(3), Status::AwaitingClient)
        );
        assert_eq!(
            read("note #3 call them back").unwrap(),
            Command::Note(TicketNumber(3), "call them back".into())
        );
        assert_eq!(
            read("admin revoke @ann").unwrap(),
            Command::Admin(false, "ann".into())
        );
        assert_eq!(
            read("staff add @bo").unwrap(),
            Command::Staff(true, "bo".into())
        );
        assert_eq!(
            read("org @bo Acme Corp").unwrap(),
            Command::Organization("bo".into(), Some("Acme Corp".into()))
        );
        assert_eq!(
            read("org @bo none").unwrap(),
            Command::Organization("bo".into(), None)
        );
        assert_eq!(
            read("link @bo bo@acme.test").unwrap(),
            Command::Link("bo".into(), "bo@acme.test".into())
        );
        assert_eq!(
            read("department rename Bills = Invoices").unwrap(),
            Command::Department(DepartmentCommand::Rename {
                from: "Bills".into(),
                to: "Invoices".into()
            })
        );
        assert_eq!(
            read("department deactivate Old one").unwrap(),
            Command::Department(DepartmentCommand::SetActive {
                name: "Old one".into(),
                active: false
            })
        );
        assert_eq!(
            read("department").unwrap(),
            Command::Department(DepartmentCommand::List)
        );
    }

    #[test]
    fn a_wrong_command_says_what_to_type() {
        assert_eq!(
            read("frobnicate").unwrap_err(),
            Unreadable::Unknown("frobnicate".into())
        );
        assert_eq!(
            read("status #3 soon").unwrap_err(),
            Unreadable::Usage(usage::STATUS)
        );
        assert_eq!(
            read("admin grant ann").unwrap_err(),
            Unreadable::Usage(usage::ADMIN)
        );
        assert_eq!(read("org @bo").unwrap_err(), Unreadable::Usage(usage::ORG));
        assert_eq!(read("note #3").unwrap_err(), Unreadable::Usage(usage::NOTE));
        assert_eq!(read("show").unwrap_err(), Unreadable::WhichTicket("show"));
        assert_eq!(
            read("list soon").unwrap_err().sentence("/ticket"),
            r#"unknown view "soon"; use active, closed or all. Try `/ticket list mine active`."#
        );
    }
}
