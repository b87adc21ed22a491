//! What the engine hands back: tickets, messages, delegates, pages.

use super::access::{Action, Role};
use super::parse::ParseError;
use super::platform::PlatformIdentity;
use super::status::{DelegateStatus, Status};
use crate::ids::*;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A person known to Threadesk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Their id.
    pub id: PersonId,
    /// The name shown to others.
    pub display_name: String,
    /// Their organization, if any.
    pub org_id: Option<OrgId>,
    /// Member of the support team.
    pub is_staff: bool,
    /// Company ticket admin of their organization.
    pub is_company_admin: bool,
}

/// An organization (company).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Its name.
    pub name: String,
}

/// A department tickets can be filed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// Its id.
    pub id: DepartmentId,
    /// Its name.
    pub name: String,
    /// Whether new tickets may be filed under it.
    pub active: bool,
}

/// A ticket's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Internal id.
    pub id: TicketId,
    /// The number people say aloud.
    pub number: TicketNumber,
    /// The subject.
    pub subject: String,
    /// The department, if any.
    pub department_id: Option<DepartmentId>,
    /// Who opened it.
    pub requester_id: PersonId,
    /// The requester's organization.
    pub org_id: Option<OrgId>,
    /// Where it stands.
    pub status: Status,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When anything last happened on it.
    pub last_activity_at: Timestamp,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
    /// The member of staff handling it, if anybody.
    #[serde(default)]
    pub owner_id: Option<PersonId>,
    /// Since when it has waited for staff (open, client replied).
    #[serde(default)]
    pub waiting_since: Option<Timestamp>,
    /// When staff first answered it publicly.
    #[serde(default)]
    pub first_response_at: Option<Timestamp>,
    /// When staff should answer by (service targets), while it waits.
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    /// When its next automatic step is due (a reminder, or closing),
    /// while it waits on its customer ([`crate::autoclose`]).
    #[serde(default)]
    pub auto_close_at: Option<Timestamp>,
    /// The customer was reminded: the next automatic step closes it.
    #[serde(default)]
    pub reminded: bool,
    /// Staff paused automatic closing of this ticket.
    #[serde(default)]
    pub auto_close_paused: bool,
}

/// How the requester rated the help on a closed ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// The ticket.
    pub ticket_id: TicketId,
    /// 1 (poor) to 5 (excellent).
    pub score: u8,
    /// What they added, if anything.
    pub comment: Option<String>,
    /// Who rated (the requester).
    pub rated_by: PersonId,
    /// When first rated.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
}

impl Rating {
    /// The score as stars: `★★★★☆`.
    pub fn stars(&self) -> String {
        stars(self.score)
    }
}

/// A score as five stars, filled up to it: `★★★☆☆`.
pub fn stars(score: u8) -> String {
    let n = usize::from(score.min(5));
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

/// The words for a score, 1 to 5.
pub fn score_label(score: u8) -> &'static str {
    match score {
        1 => "Poor",
        2 => "Fair",
        3 => "Good",
        4 => "Very good",
        _ => "Excellent",
    }
}

/// A line of a ticket list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketListItem {
    /// The ticket.
    pub ticket: Ticket,
    /// Shared with the asking person as a delegate (shown with a share icon).
    pub shared: bool,
}

/// An attachment's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Its id.
    pub id: AttachmentId,
    /// The file name.
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// Its size.
    pub size_bytes: u64,
    /// Where the bytes are.
    pub url: String,
}

/// A public reply or an internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The ticket it belongs to.
    pub ticket_id: TicketId,
    /// Who wrote it.
    pub author_id: PersonId,
    /// The author's name.
    pub author_name: String,
    /// The author's role when they wrote it: requester, delegate,
    /// company_admin or staff.
    pub author_role: String,
    /// An internal note (staff only).
    pub internal: bool,
    /// The current text.
    pub body: String,
    /// 1 for the original, one more per edit.
    pub revision: i64,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it was last edited.
    pub edited_at: Option<Timestamp>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
}

/// An earlier text of an edited message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// Which revision (1 is the original).
    pub revision: i64,
    /// Its text.
    pub body: String,
    /// Who replaced it.
    pub edited_by: PersonId,
    /// When it was replaced.
    pub replaced_at: Timestamp,
}

/// A delegation of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegate {
    /// Its id.
    pub id: DelegateId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The delegate, once known.
    pub person_id: Option<PersonId>,
    /// Their name, once known.
    pub person_name: Option<String>,
    /// The address an invitation went to, for people not known yet.
    pub email: Option<String>,
    /// Where it stands.
    pub status: DelegateStatus,
    /// Who invited them.
    pub invited_by: PersonId,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl Delegate {
    /// The name to show for the delegate: their name once known, else the
    /// address the invitation went to.
    pub fn display_name(&self) -> &str {
        self.person_name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or("someone")
    }
}

/// What an invited (not yet accepted) delegate may see: only the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The delegation.
    pub delegate_id: DelegateId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its number.
    pub number: TicketNumber,
    /// Its subject.
    pub subject: String,
    /// Who invited them.
    pub invited_by_name: String,
}

/// One ticket as the asking person may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    /// The header.
    pub ticket: Ticket,
    /// The asking person's role.
    pub role: Role,
    /// What the asking person may do now (nothing but view once closed).
    pub allowed: Vec<Action>,
    /// The messages, oldest first (internal notes only for staff).
    pub messages: Vec<Message>,
    /// What changed, oldest first: status, subject, owner, department,
    /// delegates, closing (owner and department only for staff).
    pub changes: Vec<crate::timeline::Change>,
    /// A page of the thread: older messages exist than the first here.
    #[serde(default)]
    pub earlier: bool,
    /// The requester's display name.
    #[serde(default)]
    pub requester_name: String,
}

/// What a ticket's page shows, read at one moment
/// ([`crate::Engine::ticket_page`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPage {
    /// A page of the thread.
    pub thread: Thread,
    /// The ticket's delegates, when the person may manage them now.
    pub delegates: Option<Vec<Delegate>>,
}

/// Which tickets a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Not closed (the default).
    #[default]
    Active,
    /// Closed only.
    Closed,
    /// Everything.
    All,
}

impl FromStr for View {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" | "" => Ok(View::Active),
            "closed" => Ok(View::Closed),
            "all" => Ok(View::All),
            other => Err(ParseError::Unknown {
                what: "view",
                value: other.to_owned(),
                hint: Some("use active, closed or all".to_owned()),
            }),
        }
    }
}

/// Where the next page of a list starts; opaque to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// A leading sort key (the staff queue puts unanswered tickets first).
    pub rank: i64,
    /// Last activity of the last item shown.
    pub last_activity_at: i64,
    /// Id of the last item shown.
    pub id: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.rank, self.last_activity_at, self.id)
    }
}

impl FromStr for Cursor {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError::Cursor(s.to_owned());
        let mut parts = s.split('.').map(|p| p.parse::<i64>().map_err(|_| bad()));
        let (Some(rank), Some(at), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        Ok(Cursor {
            rank: rank?,
            last_activity_at: at?,
            id: id?,
        })
    }
}

/// One page of a list, newest activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

/// A list request: which view, from where, how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// Active, closed or all.
    pub view: View,
    /// Continue after this item.
    pub after: Option<Cursor>,
    /// How many (1..=100; 0 means the default of 25).
    pub limit: u32,
}

impl PageRequest {
    /// The first page of a view.
    pub fn first(view: View) -> Self {
        PageRequest {
            view,
            after: None,
            limit: 0,
        }
    }

    /// The effective page size.
    pub fn size(&self) -> i64 {
        match self.limit {
            0 => 25,
            n => i64::from(n.min(100)),
        }
    }
}

/// A person with the identities they are known by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonProfile {
    /// The person.
    pub person: Person,
    /// Where they are known.
    pub identities: Vec<PlatformIdentity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c = Cursor {
            rank: 1,
            last_activity_at: 1_700_000,
            id: 42,
        };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        for bad in ["", "1.2", "1.2.3.4", "a.b.c"] {
            assert!(bad.parse::<Cursor>().is_err());
        }
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(PageRequest::first(View::All).size(), 25);
        assert_eq!(
            PageRequest {
                limit: 1000,
                ..Default::default()
            }
            .size(),
            100
        );
    }
}

/// A reply staff keep to use again, for the whole team or one department.
/// `{name}`, `{first_name}` and `{ticket}` in it are filled in when used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReply {
    /// Its id.
    pub id: SavedReplyId,
    /// What staff call it (`refund-policy`).
    pub name: String,
    /// The text, with placeholders.
    pub body: String,
    /// Only for this department's tickets; `None`: for every ticket.
    pub department_id: Option<DepartmentId>,
    /// When it last changed.
    pub updated_at: Timestamp,
}
