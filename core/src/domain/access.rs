//! The rights table of PRODUCT.md, as a pure function of a person's role on
//! one ticket.

use super::status::DelegateStatus;
use crate::ids::{OrgId, PersonId};
use serde::{Deserialize, Serialize};

/// A person's relation to one ticket. Rights are always relative to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Member of the support team.
    Staff,
    /// Opened the ticket (the account holder).
    Requester,
    /// Company ticket admin of the requester's organization.
    CompanyAdmin,
    /// A delegate, with the delegation's status.
    Delegate(DelegateStatus),
    /// In the requester's organization, without admin rights.
    OrgMember,
    /// Anybody else.
    Outsider,
}

/// Something a person may try to do to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See the ticket and its public thread.
    View,
    /// Post a public reply (or edit one's own message).
    Reply,
    /// Post an internal note (staff only).
    Note,
    /// Close the ticket.
    Close,
    /// Change the subject.
    EditSubject,
    /// Invite, revoke and list delegates.
    ManageDelegates,
    /// Set any status by hand (staff only).
    SetStatus,
    /// Claim, assign or unassign the ticket (staff only).
    Assign,
    /// Move the ticket to another department (staff only).
    Move,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::View,
        Action::Reply,
        Action::Note,
        Action::Close,
        Action::EditSubject,
        Action::ManageDelegates,
        Action::SetStatus,
        Action::Assign,
        Action::Move,
    ];
}

/// What the engine knows about the person acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorFacts {
    /// Who.
    pub id: PersonId,
    /// Their name, as shown on what they write.
    pub display_name: String,
    /// Member of the support team.
    pub is_staff: bool,
    /// Their organization.
    pub org_id: Option<OrgId>,
    /// Company ticket admin of that organization.
    pub is_company_admin: bool,
}

impl Role {
    /// The strongest role `actor` holds on a ticket with this requester and
    /// organization, given the actor's delegation on it (if any).
    pub fn of(
        actor: &ActorFacts,
        requester: PersonId,
        ticket_org: Option<OrgId>,
        delegation: Option<DelegateStatus>,
    ) -> Role {
        let same_org = ticket_org.is_some() && ticket_org == actor.org_id;
        if actor.is_staff {
            Role::Staff
        } else if actor.id == requester {
            Role::Requester
        } else if same_org && actor.is_company_admin {
            Role::CompanyAdmin
        } else if delegation == Some(DelegateStatus::Accepted) {
            Role::Delegate(DelegateStatus::Accepted)
        } else if same_org {
            Role::OrgMember
        } else if let Some(d) = delegation {
            Role::Delegate(d)
        } else {
            Role::Outsider
        }
    }

    /// Whether this role may do `action`.
    pub fn can(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Staff => true,
            Role::Requester | Role::CompanyAdmin => {
                !matches!(action, Note | SetStatus | Assign | Move)
            }
            Role::Delegate(DelegateStatus::Accepted) => matches!(action, View | Reply),
            Role::Delegate(_) | Role::OrgMember | Role::Outsider => false,
        }
    }

    /// The role's name as stored on messages (only roles that can write).
    pub fn author_role(self) -> Option<&'static str> {
        match self {
            Role::Staff => Some("staff"),
            Role::Requester => Some("requester"),
            Role::CompanyAdmin => Some("company_admin"),
            Role::Delegate(DelegateStatus::Accepted) => Some("delegate"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: i64, org: Option<i64>, admin: bool, staff: bool) -> ActorFacts {
        ActorFacts {
            id: PersonId(id),
            display_name: format!("p{id}"),
            is_staff: staff,
            org_id: org.map(OrgId),
            is_company_admin: admin,
        }
    }

    #[test]
    fn roles_follow_the_strongest_relation() {
        let req = PersonId(1);
        let org = Some(OrgId(9));
        assert_eq!(
            Role::of(&actor(1, Some(9), false, false), req, org, None),
            Role::Requester
        );
        assert_eq!(
            Role::of(&actor(2, Some(9), true, false), req, org, None),
            Role::CompanyAdmin
        );
        assert_eq!(
            Role::of(&actor(2, Some(8), true, false), req, org, None),
            Role::Outsider
        );
        assert_eq!(
            Role::of(&actor(2, Some(9), false, false), req, org, None),
            Role::OrgMember
        );
        assert_eq!(
            Role::of(
                &actor(2, Some(9), false, false),
                req,
                org,
                Some(DelegateStatus::Accepted)
            ),
            Role::Delegate(DelegateStatus::Accepted)
        );
        assert_eq!(
            Role::of(
                &actor(2, None, false, false),
                req,
                org,
                Some(DelegateStatus::Revoked)
            ),
            Role::Delegate(DelegateStatus::Revoked)
        );
        assert_eq!(
            Role::of(&actor(3, None, false, true), req, org, None),
            Role::Staff
        );
        // no organization on either side is not "the same organization".
        assert_eq!(
            Role::of(&actor(2, None, true, false), req, None, None),
            Role::Outsider
        );
    }

    #[test]
    fn only_staff_write_notes_and_set_status() {
        for role in [
            Role::Requester,
            Role::CompanyAdmin,
            Role::Delegate(DelegateStatus::Accepted),
            Role::OrgMember,
            Role::Outsider,
        ] {
            assert!(!role.can(Action::Note));
            assert!(!role.can(Action::SetStatus));
        }
        assert!(Action::ALL.iter().all(|a| Role::Staff.can(*a)));
    }
}
