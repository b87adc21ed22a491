//! Who may see what on a chat surface: the one rule every adapter asks,
//! as a pure function of the surface's kind, the viewer's role on the
//! ticket and the kind of thing shown.

use super::access::{Action, Role};
use super::model::Message;
use serde::{Deserialize, Serialize};

/// What is to be shown on a surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// A public reply (or the first message) by the requester, a company
    /// ticket admin or staff.
    PublicReply,
    /// A public reply by an accepted delegate.
    DelegateReply,
    /// An internal note: staff only, on every surface.
    InternalNote,
    /// A line the bot writes about the ticket (closed, declined, …).
    SystemLine,
}

impl Shown {
    /// The kind of a stored message.
    pub fn of(message: &Message) -> Shown {
        if message.internal {
            Shown::InternalNote
        } else if message.author_role == "delegate" {
            Shown::DelegateReply
        } else {
            Shown::PublicReply
        }
    }

    /// Every kind.
    pub const ALL: [Shown; 4] = [
        Shown::PublicReply,
        Shown::DelegateReply,
        Shown::InternalNote,
        Shown::SystemLine,
    ];
}

/// The kind of surface something is shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SurfaceKind {
    /// The support team's side (a triage card and its thread).
    StaffSide,
    /// One person's own card (a Slack DM, a Teams 1:1 chat).
    OwnCard,
    /// A customer thread shared by the requester and their followers (a
    /// Discord private ticket thread): every member must be able to read
    /// it, so it never shows what only some of them may see.
    SharedThread,
}

/// Whether `shown` may appear on a surface of `kind` to a viewer with
/// `role` on the ticket (for a shared thread: any one of its members; the
/// staff side has no single viewer, its channel is the staff's).
pub fn may_show(kind: SurfaceKind, role: Option<Role>, shown: Shown) -> bool {
    let reads = role.is_some_and(|r| r.can(Action::View));
    match kind {
        SurfaceKind::StaffSide => true,
        SurfaceKind::OwnCard => match shown {
            Shown::InternalNote => role == Some(Role::Staff),
            Shown::PublicReply | Shown::DelegateReply | Shown::SystemLine => reads,
        },
        SurfaceKind::SharedThread => match shown {
            Shown::InternalNote => false,
            Shown::PublicReply | Shown::DelegateReply | Shown::SystemLine => reads,
        },
    }
}

/// Whether a staff member's message is an internal note, and its text
/// without the marker: `note:` at its start (any case) makes it one,
/// wherever it is written and on every platform.
pub fn staff_note(text: &str) -> Option<&str> {
    let t = text.trim_start();
    match t.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("note:") => Some(t[5..].trim_start()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DelegateStatus;

    const ROLES: [Role; 9] = [
        Role::Staff,
        Role::Requester,
        Role::CompanyAdmin,
        Role::Delegate(DelegateStatus::Invited),
        Role::Delegate(DelegateStatus::Accepted),
        Role::Delegate(DelegateStatus::Declined),
        Role::Delegate(DelegateStatus::Revoked),
        Role::OrgMember,
        Role::Outsider,
    ];

    #[test]
    fn notes_reach_staff_only_on_every_surface() {
        for role in ROLES {
            assert!(!may_show(
                SurfaceKind::SharedThread,
                Some(role),
                Shown::InternalNote
            ));
            assert_eq!(
                may_show(SurfaceKind::OwnCard, Some(role), Shown::InternalNote),
                role == Role::Staff
            );
        }
        assert!(may_show(SurfaceKind::StaffSide, None, Shown::InternalNote));
    }

    #[test]
    fn public_messages_reach_whoever_may_view_the_ticket() {
        for role in ROLES {
            for shown in [Shown::PublicReply, Shown::DelegateReply, Shown::SystemLine] {
                let reads = role.can(Action::View);
                assert_eq!(may_show(SurfaceKind::OwnCard, Some(role), shown), reads);
                assert_eq!(
                    may_show(SurfaceKind::SharedThread, Some(role), shown),
                    reads
                );
            }
        }
        for shown in Shown::ALL {
            assert!(!may_show(SurfaceKind::OwnCard, None, shown));
        }
    }

    #[test]
    fn note_marker_is_read_in_any_case_and_dropped() {
        assert_eq!(staff_note("note: check the logs"), Some("check the logs"));
        assert_eq!(staff_note("  NOTE:x"), Some("x"));
        assert_eq!(staff_note("Note:"), Some(""));
        assert_eq!(staff_note("notes: no"), None);
        assert_eq!(staff_note("a note: no"), None);
        assert_eq!(staff_note("nöte"), None);
    }
}
