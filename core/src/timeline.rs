//! A ticket's history of changes, in words: who set a status, edited the
//! subject, moved or assigned the ticket, invited, accepted, declined or
//! revoked a delegate, and who closed it. The outbox's events are the
//! record (written in each change's transaction); this module says which
//! of them are changes, which only staff may see, and how they read.
//! The portal shows them inline in the conversation; the chat layer posts
//! them as short lines in the ticket's threads.

use crate::domain::Status;
use crate::ids::PersonId;
use crate::outbox::EventPayload;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The event kinds a ticket's history shows.
pub const KINDS: [&str; 12] = [
    "status_changed",
    "subject_edited",
    "owner_changed",
    "ticket_moved",
    "delegate_invited",
    "delegate_accepted",
    "delegate_declined",
    "delegate_revoked",
    "ticket_closed",
    "auto_close_reminder",
    "auto_close_paused",
    "ticket_rated",
];

/// One change in a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// When.
    pub at: Timestamp,
    /// What happened, in a sentence (plain text: escape it to show it).
    pub text: String,
    /// Only staff see it (assignment, moves between departments).
    pub internal: bool,
}

/// Whether only staff may see this change: who owns a ticket and which
/// department has it are the support team's business.
pub fn is_internal(payload: &EventPayload) -> bool {
    matches!(
        payload,
        EventPayload::OwnerChanged { .. }
            | EventPayload::TicketMoved { .. }
            | EventPayload::AutoClosePaused { .. }
            | EventPayload::TicketRated { .. }
    )
}

fn quoted(s: &str) -> String {
    let s: String = s.chars().take(120).collect();
    format!("“{s}”")
}

/// Who made a change: their id and name.
pub type Actor<'a> = Option<(PersonId, &'a str)>;

/// The sentence for a change, as a staff member (`staff_view`) or a
/// customer reads it; `actor` is who did it (`None`: the system). `None`
/// for events that are not changes in a ticket's history.
pub fn describe(payload: &EventPayload, actor: Actor<'_>, staff_view: bool) -> Option<String> {
    let who = actor.map_or("Threadesk", |(_, name)| name);
    let label = |s: &Status| s.label_for(staff_view);
    Some(match payload {
        EventPayload::StatusChanged { to, .. } => {
            format!("{who} set the status to {}.", label(to))
        }
        EventPayload::SubjectEdited {
            subject, previous, ..
        } => format!(
            "{who} changed the subject from {} to {}.",
            quoted(previous),
            quoted(subject)
        ),
        EventPayload::OwnerChanged {
            to: None,
            from: Some(_),
            ..
        } => format!("{who} unassigned the ticket."),
        EventPayload::OwnerChanged {
            to: None,
            from: None,
            ..
        } => return None,
        EventPayload::OwnerChanged { to: Some(to), .. }
            if actor.is_some_and(|(id, _)| id == *to) =>
        {
            format!("{who} took the ticket.")
        }
        EventPayload::OwnerChanged { owner_name, .. } => format!(
            "{who} assigned the ticket to {}.",
            owner_name.as_deref().unwrap_or("a colleague")
        ),
        EventPayload::TicketMoved { from, to, .. } => format!(
            "{who} moved the ticket from {} to {}.",
            from.as_deref().unwrap_or("no department"),
            to.as_deref().unwrap_or("no department")
        ),
        EventPayload::DelegateInvited { delegate, .. } => format!(
            "{who} invited {} to follow the ticket.",
            delegate.display_name()
        ),
        EventPayload::DelegateAccepted { delegate, .. } => format!(
            "{} accepted the invitation to follow the ticket.",
            delegate.display_name()
        ),
        EventPayload::DelegateDeclined { delegate, .. } => format!(
            "{} declined the invitation to follow the ticket.",
            delegate.display_name()
        ),
        EventPayload::DelegateRevoked { delegate, .. } => {
            format!("{who} removed {} from the ticket.", delegate.display_name())
        }
        EventPayload::TicketClosed {
            reason: Some(reason),
            ..
        } => format!("{who} closed the ticket: {}.", reason.text()),
        EventPayload::TicketClosed { .. } => format!("{who} closed the ticket."),
        EventPayload::AutoCloseReminder {
            closes_at,
            quiet_minutes,
            ..
        } => {
            let silent = crate::time::span(*quiet_minutes);
            let on = crate::time::when(*closes_at);
            if staff_view {
                format!("{who} reminded the customer after {silent} without a reply: the ticket closes on {on} unless they reply.")
            } else {
                format!("We haven't heard from you for {silent}: this ticket closes on {on} unless you reply.")
            }
        }
        EventPayload::AutoClosePaused { paused: true, .. } => {
            format!("{who} paused automatic closing.")
        }
        EventPayload::AutoClosePaused { paused: false, .. } => {
            format!("{who} resumed automatic closing.")
        }
        EventPayload::TicketRated {
            rating, changed, ..
        } => {
            let verb = if *changed {
                "changed their rating to"
            } else {
                "rated the help"
            };
            let comment = match &rating.comment {
                Some(c) => format!(": {}", quoted(c)),
                None => ".".to_owned(),
            };
            format!(
                "{who} {verb} {} ({}/5){comment}",
                rating.stars(),
                rating.score
            )
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Delegate, DelegateStatus};
    use crate::ids::*;

    const SAM: Actor<'static> = Some((PersonId(2), "Sam"));

    fn delegate() -> Delegate {
        Delegate {
            id: DelegateId(1),
            ticket_id: TicketId(1),
            person_id: Some(PersonId(3)),
            person_name: Some("Dee".into()),
            email: None,
            status: DelegateStatus::Invited,
            invited_by: PersonId(2),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn every_kind_listed_reads_as_a_sentence_and_nothing_else_does() {
        let n = TicketNumber(1001);
        let all = [
            EventPayload::StatusChanged {
                number: n,
                from: Status::Open,
                to: Status::AwaitingClient,
            },
            EventPayload::SubjectEdited {
                number: n,
                subject: "New".into(),
                previous: "Old".into(),
            },
            EventPayload::OwnerChanged {
                number: n,
                from: None,
                to: Some(PersonId(9)),
                owner_name: Some("Kim".into()),
            },
            EventPayload::TicketMoved {
                number: n,
                from: None,
                to: Some("Billing".into()),
            },
            EventPayload::DelegateInvited {
                number: n,
                delegate: delegate(),
            },
            EventPayload::DelegateAccepted {
                number: n,
                delegate: delegate(),
            },
            EventPayload::DelegateDeclined {
                number: n,
                delegate: delegate(),
            },
            EventPayload::DelegateRevoked {
                number: n,
                delegate: delegate(),
            },
            EventPayload::TicketClosed {
                number: n,
                previous_status: Status::Open,
                reason: None,
            },
            EventPayload::AutoCloseReminder {
                number: n,
                closes_at: Timestamp(1_764_547_200_000_000),
                quiet_minutes: 7 * 24 * 60,
            },
            EventPayload::AutoClosePaused {
                number: n,
                paused: true,
            },
            EventPayload::TicketRated {
                number: n,
                rating: crate::domain::Rating {
                    ticket_id: TicketId(1),
                    score: 4,
                    comment: Some("Quick".into()),
                    rated_by: PersonId(5),
                    created_at: Timestamp(0),
                    updated_at: Timestamp(0),
                },
                changed: false,
            },
        ];
        let kinds: Vec<&str> = all.iter().map(EventPayload::kind).collect();
        assert_eq!(kinds, KINDS);
        let said: Vec<String> = all
            .iter()
            .map(|p| describe(p, SAM, false).unwrap())
            .collect();
        assert_eq!(
            said,
            [
                "Sam set the status to Awaiting your reply.",
                "Sam changed the subject from “Old” to “New”.",
                "Sam assigned the ticket to Kim.",
                "Sam moved the ticket from no department to Billing.",
                "Sam invited Dee to follow the ticket.",
                "Dee accepted the invitation to follow the ticket.",
                "Dee declined the invitation to follow the ticket.",
                "Sam removed Dee from the ticket.",
                "Sam closed the ticket.",
                "We haven't heard from you for 7 days: this ticket closes on 2025-12-01 00:00 UTC unless you reply.",
                "Sam paused automatic closing.",
                "Sam rated the help ★★★★☆ (4/5): “Quick”",
            ]
        );
        assert_eq!(
            describe(&all[9], None, true).unwrap(),
            "Threadesk reminded the customer after 7 days without a reply: the ticket closes on 2025-12-01 00:00 UTC unless they reply."
        );
        let auto = EventPayload::TicketClosed {
            number: n,
            previous_status: Status::AwaitingClient,
            reason: Some(crate::outbox::CloseReason::NoReply {
                quiet_minutes: 10 * 24 * 60,
            }),
        };
        assert_eq!(
            describe(&auto, None, false).unwrap(),
            "Threadesk closed the ticket: no reply for 10 days."
        );
        assert_eq!(
            describe(&all[0], SAM, true).unwrap(),
            "Sam set the status to Awaiting client."
        );
        let internal: Vec<bool> = all.iter().map(is_internal).collect();
        assert_eq!(
            internal,
            [false, false, true, true, false, false, false, false, false, false, true, true]
        );
        assert_eq!(
            describe(&all[2], Some((PersonId(9), "Kim")), true).unwrap(),
            "Kim took the ticket."
        );
        let unassigned = EventPayload::OwnerChanged {
            number: n,
            from: Some(PersonId(9)),
            to: None,
            owner_name: None,
        };
        assert_eq!(
            describe(&unassigned, SAM, true).unwrap(),
            "Sam unassigned the ticket."
        );
        assert_eq!(
            describe(&all[8], None, false).unwrap(),
            "Threadesk closed the ticket."
        );
        assert!(describe(
            &EventPayload::PersonCreated {
                person_id: PersonId(1)
            },
            None,
            true
        )
        .is_none());
    }
}
