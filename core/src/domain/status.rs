//! Ticket and delegate statuses and how replies move a ticket between them.

use super::parse::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Opened; nobody on staff has answered yet.
    Open,
    /// Staff are working on it (set by hand).
    InProgress,
    /// Parked by staff (set by hand).
    OnHold,
    /// Staff answered; the customer's turn.
    AwaitingClient,
    /// The requester, a delegate or a company admin answered after staff.
    ClientReplied,
    /// Final: nothing changes any more.
    Closed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] = [
        Status::Open,
        Status::InProgress,
        Status::OnHold,
        Status::AwaitingClient,
        Status::ClientReplied,
        Status::Closed,
    ];

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::OnHold => "on_hold",
            Status::AwaitingClient => "awaiting_client",
            Status::ClientReplied => "client_replied",
            Status::Closed => "closed",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::InProgress => "In progress",
            Status::OnHold => "On hold",
            Status::AwaitingClient => "Awaiting client",
            Status::ClientReplied => "Client replied",
            Status::Closed => "Closed",
        }
    }

    /// The label as its reader should read it: customers see "Awaiting
    /// your reply" where staff see "Awaiting client".
    pub fn label_for(self, staff_view: bool) -> &'static str {
        match self {
            Status::AwaitingClient if !staff_view => "Awaiting your reply",
            other => other.label(),
        }
    }

    /// Whether the ticket is closed (final).
    pub fn is_closed(self) -> bool {
        self == Status::Closed
    }

    /// The status after a public reply: staff answering hands the turn to the
    /// customer; a customer answering after staff marks it `client_replied`;
    /// a customer adding to a ticket nobody on staff has answered leaves it
    /// `open`.
    pub fn after_reply(self, by_staff: bool) -> Status {
        match (self, by_staff) {
            (Status::Closed, _) => Status::Closed,
            (_, true) => Status::AwaitingClient,
            (Status::Open, false) => Status::Open,
            (_, false) => Status::ClientReplied,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
                ParseError::Unknown {
                    what: "status",
                    value: s.to_owned(),
                    hint: Some(format!("use one of {}", names.join(", "))),
                }
            })
    }
}

/// Where a delegation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelegateStatus {
    /// Invited, not answered yet: sees only the subject.
    Invited,
    /// Accepted: reads the public thread and replies.
    Accepted,
    /// Declined the invitation.
    Declined,
    /// Access taken away.
    Revoked,
}

impl DelegateStatus {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            DelegateStatus::Invited => "invited",
            DelegateStatus::Accepted => "accepted",
            DelegateStatus::Declined => "declined",
            DelegateStatus::Revoked => "revoked",
        }
    }

    /// Whether the delegation can still be revoked: an open invitation or
    /// an accepted one (declined and revoked ones are over).
    pub fn is_revocable(self) -> bool {
        matches!(self, DelegateStatus::Invited | DelegateStatus::Accepted)
    }
}

impl FromStr for DelegateStatus {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "invited" => Ok(DelegateStatus::Invited),
            "accepted" => Ok(DelegateStatus::Accepted),
            "declined" => Ok(DelegateStatus::Declined),
            "revoked" => Ok(DelegateStatus::Revoked),
            other => Err(ParseError::Unknown {
                what: "delegate status",
                value: other.to_owned(),
                hint: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_asked_for_their_reply_where_staff_see_awaiting_client() {
        assert_eq!(
            Status::AwaitingClient.label_for(false),
            "Awaiting your reply"
        );
        assert_eq!(Status::AwaitingClient.label_for(true), "Awaiting client");
        assert_eq!(Status::OnHold.label_for(false), "On hold");
    }

    #[test]
    fn staff_reply_hands_the_turn_to_the_customer() {
        for s in Status::ALL.into_iter().filter(|s| !s.is_closed()) {
            assert_eq!(s.after_reply(true), Status::AwaitingClient);
        }
    }

    #[test]
    fn customer_reply_after_staff_is_client_replied() {
        assert_eq!(
            Status::AwaitingClient.after_reply(false),
            Status::ClientReplied
        );
        assert_eq!(Status::InProgress.after_reply(false), Status::ClientReplied);
        assert_eq!(Status::OnHold.after_reply(false), Status::ClientReplied);
        assert_eq!(
            Status::ClientReplied.after_reply(false),
            Status::ClientReplied
        );
    }

    #[test]
    fn customer_reply_before_any_staff_answer_stays_open() {
        assert_eq!(Status::Open.after_reply(false), Status::Open);
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
        assert_eq!(
            "Client replied".parse::<Status>().unwrap(),
            Status::ClientReplied
        );
        assert!("nope".parse::<Status>().is_err());
    }
}
