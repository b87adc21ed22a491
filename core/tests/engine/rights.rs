//! The rights matrix of PRODUCT.md: every command × every role, each cell's
//! expected outcome stated once in [`EXPECTED`] and checked on a ticket of
//! its own. A second pass runs every cell again on a closed ticket, where
//! the rule is: who could not see it still gets "not found", reads still
//! work, and every write is refused as closed.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::{Invitee, NewMessage, SearchQuery, SearchResult};
use threadesk_core::{
    Ctx, DelegateId, DepartmentId, EngineError, MessageId, OrgId, PersonId, Settings, TicketId,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Requester,
    DelegateInvited,
    DelegateAccepted,
    DelegateDeclined,
    DelegateRevoked,
    CompanyAdmin,
    SameOrgMember,
    OtherOrgPerson,
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    ViewThread,
    ListDelegates,
    MessageRevisions,
    Reply,
    Note,
    Close,
    EditSubject,
    EditRequesterMessage,
    InviteDelegate,
    RevokeDelegate,
    SetStatus,
    Claim,
    AssignColleague,
    Move,
    ReplySaved,
    SearchNumber,
}

impl Command {
    fn is_read(self) -> bool {
        matches!(
            self,
            Command::ViewThread
                | Command::ListDelegates
                | Command::MessageRevisions
                | Command::SearchNumber
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It happened.
    Ok,
    /// "not found": the ticket's existence is not leaked.
    NotFound,
    /// Visible, but this role may not do it.
    NotAllowed,
    /// Only a message's author edits it.
    NotAuthor,
    /// The ticket is closed.
    Closed,
}

use Command as C;
use Outcome::{NotAllowed as NA, NotAuthor as AU, NotFound as NF, Ok as OK};

const COMMANDS: [Command; 16] = [
    C::ViewThread,
    C::ListDelegates,
    C::MessageRevisions,
    C::Reply,
    C::Note,
    C::Close,
    C::EditSubject,
    C::EditRequesterMessage,
    C::InviteDelegate,
    C::RevokeDelegate,
    C::SetStatus,
    C::Claim,
    C::AssignColleague,
    C::Move,
    C::ReplySaved,
    C::SearchNumber,
];

/// PRODUCT.md's table, one row per role, one column per command above.
const EXPECTED: [(Who, [Outcome; 16]); 9] = [
    //                          view list revs reply note close subj edit invite revoke status claim assign move saved search
    (
        Who::Requester,
        /*      */
        [
            OK, OK, OK, OK, NA, OK, OK, OK, OK, OK, NA, NA, NA, NA, NA, OK,
        ],
    ),
    (
        Who::DelegateInvited,
        /**/
        [
            NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF,
        ],
    ),
    (
        Who::DelegateAccepted,
        /**/
        [
            OK, NA, OK, OK, NA, NA, NA, AU, NA, NA, NA, NA, NA, NA, NA, OK,
        ],
    ),
    (
        Who::DelegateDeclined,
        /**/
        [
            NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF,
        ],
    ),
    (
        Who::DelegateRevoked,
        /* */
        [
            NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF,
        ],
    ),
    (
        Who::CompanyAdmin,
        /*   */
        [
            OK, OK, OK, OK, NA, OK, OK, AU, OK, OK, NA, NA, NA, NA, NA, OK,
        ],
    ),
    (
        Who::SameOrgMember,
        /*  */
        [
            NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF,
        ],
    ),
    (
        Who::OtherOrgPerson,
        /* */
        [
            NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF, NF,
        ],
    ),
    (
        Who::Staff,
        /*          */
        [
            OK, OK, OK, OK, OK, OK, OK, AU, OK, OK, OK, OK, OK, OK, OK, OK,
        ],
    ),
];

/// On a closed ticket: derived from [`EXPECTED`] by the rule in the module docs.
fn expected_when_closed(open: Outcome, cmd: Command) -> Outcome {
    match open {
        NF => NF,
        _ if cmd.is_read() => open,
        _ => Outcome::Closed,
    }
}

struct Cast {
    staff: PersonId,
    requester: PersonId,
    admin: PersonId,
    member: PersonId,
    outsider: PersonId,
    invited: PersonId,
    accepted: PersonId,
    declined: PersonId,
    revoked: PersonId,
    /// An accepted delegate whose delegation the revoke command revokes.
    target: PersonId,
    newcomer: PersonId,
    /// Another member of staff, to assign tickets to.
    colleague: PersonId,
    /// A department to move tickets to.
    billing: DepartmentId,
}

impl Cast {
    fn person(&self, who: Who) -> PersonId {
        match who {
            Who::Requester => self.requester,
            Who::DelegateInvited => self.invited,
            Who::DelegateAccepted => self.accepted,
            Who::DelegateDeclined => self.declined,
            Who::DelegateRevoked => self.revoked,
            Who::CompanyAdmin => self.admin,
            Who::SameOrgMember => self.member,
            Who::OtherOrgPerson => self.outsider,
            Who::Staff => self.staff,
        }
    }
}

struct Scene {
    ticket: TicketId,
    first_message: MessageId,
    target_delegation: DelegateId,
}

async fn cast(h: &Harness) -> Cast {
    let staff = h.staff("Sam Staff").await;
    let acme: OrgId = h.org(staff, "Acme").await;
    let other: OrgId = h.org(staff, "Globex").await;
    // the saved reply the ReplySaved column sends.
    h.engine
        .save_reply(&Ctx::new(staff), "thanks", "Thanks, {first_name}.", None)
        .await
        .unwrap();
    Cast {
        staff,
        requester: h.member(staff, acme, "Rita Requester").await,
        admin: h.company_admin(staff, acme, "Alice Admin").await,
        member: h.member(staff, acme, "Mo Member").await,
        outsider: h.member(staff, other, "Otto Outsider").await,
        invited: h.person("Ivy Invited").await,
        accepted: h.person("Ace Accepted").await,
        declined: h.person("Dee Declined").await,
        revoked: h.person("Rex Revoked").await,
        target: h.person("Tia Target").await,
        newcomer: h.person("Ned Newcomer").await,
        colleague: h.staff("Cal Colleague").await,

        billing: h.department(staff, "Billing").await,
    }
}

async fn scene(h: &Harness, c: &Cast) -> Scene {
    let e = &h.engine;
    let opened = h.open(c.requester, "Rights").await;
    let t = opened.ticket.id;
    let invite = |p| async move {
        e.invite_delegate(&Ctx::new(c.requester), t, Invitee::Person(p))
            .await
            .unwrap()
            .id
    };
    invite(c.invited).await;
    let d = invite(c.accepted).await;
    e.accept_delegation(&Ctx::new(c.accepted), d).await.unwrap();
    let d = invite(c.declined).await;
    e.decline_delegation(&Ctx::new(c.declined), d)
        .await
        .unwrap();
    let d = invite(c.revoked).await;
    e.accept_delegation(&Ctx::new(c.revoked), d).await.unwrap();
    e.revoke_delegate(&Ctx::new(c.requester), d).await.unwrap();
    let target = invite(c.target).await;
    e.accept_delegation(&Ctx::new(c.target), target)
        .await
        .unwrap();
    Scene {
        ticket: t,
        first_message: opened.message.id,
        target_delegation: target,
    }
}

async fn run(
    h: &Harness,
    c: &Cast,
    s: &Scene,
    who: PersonId,
    cmd: Command,
) -> Result<(), EngineError> {
    let e = &h.engine;
    let ctx = Ctx::new(who);
    let t = s.ticket;
    match cmd {
        C::ViewThread => e.thread(who, t).await.map(drop),
        C::ListDelegates => e.delegates(who, t).await.map(drop),
        C::MessageRevisions => e.message_revisions(who, s.first_message).await.map(drop),
        C::Reply => e
            .reply(&ctx, t, NewMessage::text("a reply"))
            .await
            .map(drop),
        C::Note => e.note(&ctx, t, NewMessage::text("a note")).await.map(drop),
        C::Close => e.close(&ctx, t).await.map(drop),
        C::EditSubject => e.edit_subject(&ctx, t, "A new subject").await.map(drop),
        C::EditRequesterMessage => e
            .edit_message(&ctx, s.first_message, "rewritten")
            .await
            .map(drop),
        C::InviteDelegate => e
            .invite_delegate(&ctx, t, Invitee::Person(c.newcomer))
            .await
            .map(drop),
        C::RevokeDelegate => e.revoke_delegate(&ctx, s.target_delegation).await.map(drop),
        C::SetStatus => e.set_status(&ctx, t, Status::InProgress).await.map(drop),
        C::Claim => e.claim(&ctx, t).await.map(drop),
        C::AssignColleague => e.assign(&ctx, t, Some(c.colleague)).await.map(drop),
        C::Move => e
            .move_to_department(&ctx, t, Some(c.billing))
            .await
            .map(drop),
        C::ReplySaved => e.reply_saved(&ctx, t, "thanks").await.map(drop),
        // `#N` goes to the ticket exactly when the person may read it.
        C::SearchNumber => {
            let number = h.engine.ticket(c.staff, t).await?.number;
            let q = SearchQuery::words(format!("#{}", number.0));
            match e.search(who, &q, None, 10).await? {
                SearchResult::Jump(found) if found.id == t => Ok(()),
                SearchResult::Jump(other) => panic!("jumped to {other:?}"),
                SearchResult::Hits(_) => Err(EngineError::NotFound("ticket")),
            }
        }
    }
}

fn outcome(r: &Result<(), EngineError>) -> Outcome {
    match r {
        Ok(()) => OK,
        Err(EngineError::NotFound(_)) => NF,
        Err(EngineError::NotAllowed(_)) => NA,
        Err(EngineError::NotAuthor) => AU,
        // staff features (saved replies) refuse everybody else as such.
        Err(EngineError::StaffOnly(_)) => NA,
        Err(EngineError::TicketClosed { .. }) => Outcome::Closed,
        Err(other) => panic!("unexpected error in the rights matrix: {other:?}"),
    }
}

#[apply(backends)]
#[tokio::test]
async fn every_role_can_do_exactly_what_the_rights_table_says(#[case] kind: Kind) {
    let settings = Settings {
        max_open_tickets_per_requester: 1_000,
        ..Default::default()
    };
    let h = harness_with(kind, settings, 5).await;
    let c = cast(&h).await;
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for closed in [false, true] {
        for (who, row) in EXPECTED {
            for (cmd, expected_open) in COMMANDS.into_iter().zip(row) {
                let s = scene(&h, &c).await;
                if closed {
                    h.engine.close(&Ctx::new(c.staff), s.ticket).await.unwrap();
                }
                let expected = if closed {
                    expected_when_closed(expected_open, cmd)
                } else {
                    expected_open
                };
                let events = h.events().await;
                let got = outcome(&run(&h, &c, &s, c.person(who), cmd).await);
                cells += 1;
                if got != expected {
                    mismatches.push(format!(
                        "{}{who:?} × {cmd:?}: expected {expected:?}, got {got:?}",
                        if closed { "closed: " } else { "" }
                    ));
                }
                let written = h.events().await - events;
                let expect_written = i64::from(got == OK && !cmd.is_read());
                assert_eq!(
                    written, expect_written,
                    "{who:?} × {cmd:?}: one event per change, none otherwise"
                );
            }
        }
    }
    assert_eq!(cells, 2 * 9 * 16);
    assert!(
        mismatches.is_empty(),
        "rights matrix mismatches:\n{}",
        mismatches.join("\n")
    );
}
