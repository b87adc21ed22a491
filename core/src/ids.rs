//! Typed identifiers: a ticket id is never mistaken for a person id.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A ticket's internal id (not the number people say aloud).
    TicketId
);
id_type!(
    /// A person: a customer, a delegate or a member of staff.
    PersonId
);
id_type!(
    /// An organization (a company) that people belong to.
    OrgId
);
id_type!(
    /// A department tickets can be filed under.
    DepartmentId
);
id_type!(
    /// A message (public reply or internal note) on a ticket.
    MessageId
);
id_type!(
    /// A delegation of one ticket to one person or e-mail address.
    DelegateId
);
id_type!(
    /// An outbox event.
    EventId
);
id_type!(
    /// An attachment's metadata row.
    AttachmentId
);
id_type!(
    /// A ticket's card on a chat platform (see `surfaces`).
    SurfaceId
);
id_type!(
    /// A saved reply.
    SavedReplyId
);

/// The number people say aloud, shown as `#1042`; unique per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketNumber(pub i64);

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl std::str::FromStr for TicketNumber {
    type Err = std::num::ParseIntError;

    /// Accepts `1042` and `#1042`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        s.strip_prefix('#').unwrap_or(s).parse().map(TicketNumber)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_read_and_print_with_a_hash() {
        assert_eq!("#1042".parse::<TicketNumber>().unwrap(), TicketNumber(1042));
        assert_eq!(" 7 ".parse::<TicketNumber>().unwrap(), TicketNumber(7));
        assert!("#x".parse::<TicketNumber>().is_err());
        assert_eq!(TicketNumber(1042).to_string(), "#1042");
    }
}
