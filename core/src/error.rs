//! The engine's one error type. Its `Display` is a sentence for the person
//! who asked; [`EngineError::Database`] keeps the cause for the logs only.

use crate::domain::{Action, Status, ValidationError};
use crate::ids::TicketNumber;
use thiserror::Error;

/// Why a command or query did not happen.
#[derive(Debug, Error)]
pub enum EngineError {
    /// Unknown, or not visible to the asking person: existence is not leaked.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The person can see the ticket but may not do this to it.
    #[error("you are not allowed to {}", action_words(*.0))]
    NotAllowed(Action),
    /// A staff-only or admin-only operation asked by somebody else.
    #[error("only {0} can do that")]
    StaffOnly(&'static str),
    /// The ticket is closed: closed is final. The text the person wrote
    /// comes back so that it is not lost.
    #[error(
        "ticket {number} is closed, so it cannot be changed any more; open a new ticket instead"
    )]
    TicketClosed {
        /// The closed ticket.
        number: TicketNumber,
        /// What the person wrote, to show back or carry into a new ticket.
        unsent: Option<String>,
    },
    /// Input that does not fit the rules.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// The requester has too many open tickets.
    #[error("you already have {open} open tickets (the limit is {limit}); close one or add to an existing ticket")]
    TooManyOpenTickets {
        /// How many are open.
        open: i64,
        /// The configured cap.
        limit: u32,
    },
    /// Editing somebody else's message.
    #[error("only the author of a message can edit it")]
    NotAuthor,
    /// A state change that does not apply (e.g. accepting a revoked invitation).
    #[error("{0}")]
    Conflict(String),
    /// Setting a status by hand to what it already is, or to something odd.
    #[error("the ticket is already {}", .0.label())]
    SameStatus(Status),
    /// The idempotency key was used before for a different operation.
    #[error("this request id was already used for another operation")]
    IdempotencyMismatch,
    /// A storage failure; the cause is for the logs, not for people.
    #[error("something went wrong on our side; please try again")]
    Database(#[source] sqlx::Error),
    /// A stored value the engine cannot read (a bug or a hand-edited row).
    #[error("something went wrong on our side; please try again")]
    Corrupt(String),
    /// A transient conflict with a concurrent writer; the engine retries it.
    #[error("the system is busy; please try again")]
    Busy,
}

fn action_words(a: Action) -> &'static str {
    match a {
        Action::View => "see this ticket",
        Action::Reply => "reply to this ticket",
        Action::Note => "write internal notes: only support staff can",
        Action::Close => "close this ticket",
        Action::EditSubject => "edit this ticket's subject",
        Action::ManageDelegates => "manage this ticket's delegates",
        Action::SetStatus => "set this ticket's status: only support staff can",
        Action::Assign => "assign this ticket: only support staff can",
        Action::Move => "move this ticket to another department: only support staff can",
    }
}

impl EngineError {
    /// The refusal as a sentence for the person who asked: an unknown or
    /// forbidden ticket is "not found", never told apart.
    pub fn sentence(&self) -> String {
        match self {
            EngineError::NotFound("ticket") => {
                "I can't find that ticket, or you don't have access to it.".to_owned()
            }
            other => {
                let s = other.to_string();
                let mut c = s.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
                    None => s,
                }
            }
        }
    }

    /// A short, stable name of the error's kind, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::NotFound(_) => "not_found",
            EngineError::NotAllowed(_) => "not_allowed",
            EngineError::StaffOnly(_) => "staff_only",
            EngineError::TicketClosed { .. } => "ticket_closed",
            EngineError::Invalid(_) => "invalid",
            EngineError::TooManyOpenTickets { .. } => "too_many_open_tickets",
            EngineError::NotAuthor => "not_author",
            EngineError::Conflict(_) => "conflict",
            EngineError::SameStatus(_) => "same_status",
            EngineError::IdempotencyMismatch => "idempotency_mismatch",
            EngineError::Database(_) => "database",
            EngineError::Corrupt(_) => "corrupt",
            EngineError::Busy => "busy",
        }
    }

    /// Whether the cause is on our side (to be logged), not the person's.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            EngineError::Database(_) | EngineError::Corrupt(_) | EngineError::Busy
        )
    }
}

impl From<sqlx::Error> for EngineError {
    /// Storage errors become domain errors at the boundary: row-not-found is
    /// "not found", lock conflicts are retryable, the rest is internal.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => EngineError::NotFound("record"),
            _ if is_busy(&e) => EngineError::Busy,
            _ => EngineError::Database(e),
        }
    }
}

/// Whether a database error is a lock conflict worth trying again:
/// PostgreSQL's serialization failure or deadlock, SQLite's busy or locked.
pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(
            db.code().unwrap_or_default().as_ref(),
            "40001" | "40P01" | "5" | "6" | "517" | "261"
        ),
        _ => false,
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        EngineError::Corrupt(e.to_string())
    }
}

/// The engine's result type.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences_for_people() {
        let closed = EngineError::TicketClosed {
            number: TicketNumber(1042),
            unsent: None,
        };
        assert_eq!(
            closed.to_string(),
            "ticket #1042 is closed, so it cannot be changed any more; open a new ticket instead"
        );
        assert_eq!(
            EngineError::NotFound("ticket").to_string(),
            "ticket not found"
        );
        assert_eq!(
            EngineError::NotAllowed(Action::Close).to_string(),
            "you are not allowed to close this ticket"
        );
        let db = EngineError::from(sqlx::Error::PoolTimedOut);
        assert!(db.is_internal());
        assert!(!db.to_string().contains("pool"));
    }
}
