//! Delegates: invite, accept, decline, revoke, e-mail invitations.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::Invitee;
use threadesk_core::{Ctx, EngineError};

#[apply(backends)]
#[tokio::test]
async fn delegate_reply_sets_client_replied(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let t = h.open(ann, "VPN").await.ticket;
    let d = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(bob))
        .await
        .unwrap();
    assert_eq!(d.status, DelegateStatus::Invited);
    assert_eq!(d.person_name.as_deref(), Some("Bob"));
    let d = h
        .engine
        .accept_delegation(&Ctx::new(bob), d.id)
        .await
        .unwrap();
    assert_eq!(d.status, DelegateStatus::Accepted);
    h.reply(sam, t.id, "please try again").await.unwrap();
    let posted = h.reply(bob, t.id, "tried, still broken").await.unwrap();
    assert_eq!(posted.message.author_role, "delegate");
    assert_eq!(posted.ticket.status, Status::ClientReplied);
    // the requester sees Client replied too.
    assert_eq!(
        h.engine.ticket(ann, t.id).await.unwrap().status,
        Status::ClientReplied
    );
    let listed = h.engine.delegates(ann, t.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.status).collect::<Vec<_>>(),
        vec![DelegateStatus::Accepted]
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_invitation_shows_only_the_subject_until_accepted(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let t = h.open(ann, "Secret project").await.ticket;
    h.engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(bob))
        .await
        .unwrap();
    let err = h.engine.thread(bob, t.id).await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound("ticket")), "{err:?}");
    let invitations = h.engine.my_invitations(bob).await.unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].subject, "Secret project");
    assert_eq!(invitations[0].invited_by_name, "Ann");
    assert!(h
        .engine
        .my_tickets(bob, PageRequest::first(View::All))
        .await
        .unwrap()
        .items
        .is_empty());
}

#[apply(backends)]
#[tokio::test]
async fn only_the_invitee_can_answer_and_only_once(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let eve = h.person("Eve").await;
    let t = h.open(ann, "VPN").await.ticket;
    let d = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(bob))
        .await
        .unwrap();
    let err = h
        .engine
        .accept_delegation(&Ctx::new(eve), d.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::NotFound("invitation")),
        "{err:?}"
    );
    let declined = h
        .engine
        .decline_delegation(&Ctx::new(bob), d.id)
        .await
        .unwrap();
    assert_eq!(declined.status, DelegateStatus::Declined);
    let err = h
        .engine
        .accept_delegation(&Ctx::new(bob), d.id)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    assert!(matches!(
        h.engine.thread(bob, t.id).await,
        Err(EngineError::NotFound(_))
    ));
    // invited again after declining: a fresh invitation on the same row.
    let again = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(bob))
        .await
        .unwrap();
    assert_eq!((again.id, again.status), (d.id, DelegateStatus::Invited));
    let err = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(bob))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    let err = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(ann))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Conflict(_)),
        "the requester is not their own delegate: {err:?}"
    );
}

#[apply(backends)]
#[tokio::test]
async fn revoking_takes_effect_at_once(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let t = h.open(ann, "VPN").await.ticket;
    let d = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(bob))
        .await
        .unwrap();
    h.engine
        .accept_delegation(&Ctx::new(bob), d.id)
        .await
        .unwrap();
    let mine = h.reply(bob, t.id, "hello").await.unwrap().message;
    let revoked = h
        .engine
        .revoke_delegate(&Ctx::new(ann), d.id)
        .await
        .unwrap();
    assert_eq!(revoked.status, DelegateStatus::Revoked);
    assert!(matches!(
        h.reply(bob, t.id, "still here?").await,
        Err(EngineError::NotFound("ticket"))
    ));
    assert!(matches!(
        h.engine.thread(bob, t.id).await,
        Err(EngineError::NotFound("ticket"))
    ));
    assert!(matches!(
        h.engine
            .edit_message(&Ctx::new(bob), mine.id, "edited")
            .await,
        Err(EngineError::NotFound(_))
    ));
    assert!(h
        .engine
        .my_tickets(bob, PageRequest::first(View::All))
        .await
        .unwrap()
        .items
        .is_empty());
    let err = h
        .engine
        .revoke_delegate(&Ctx::new(ann), d.id)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
}

#[apply(backends)]
#[tokio::test]
async fn an_email_invitation_waits_for_whoever_has_that_address(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket;
    let d = h
        .engine
        .invite_delegate(
            &Ctx::new(ann),
            t.id,
            Invitee::Email(" Carol@Example.com ".into()),
        )
        .await
        .unwrap();
    assert_eq!(d.person_id, None);
    assert_eq!(d.email.as_deref(), Some("carol@example.com"));
    let err = h
        .engine
        .invite_delegate(
            &Ctx::new(ann),
            t.id,
            Invitee::Email("not-an-address".into()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Invalid(ValidationError::BadEmail(_))),
        "{err:?}"
    );
    // somebody else cannot take it.
    let mallory = h.person("Mallory").await;
    assert!(matches!(
        h.engine.accept_delegation(&Ctx::new(mallory), d.id).await,
        Err(EngineError::NotFound(_))
    ));
    // carol turns up by e-mail: the invitation is hers.
    let carol = h
        .engine
        .ensure_person(&PlatformIdentity::email("carol@example.com"), "Carol")
        .await
        .unwrap()
        .id;
    assert_eq!(h.engine.my_invitations(carol).await.unwrap().len(), 1);
    let accepted = h
        .engine
        .accept_delegation(&Ctx::new(carol), d.id)
        .await
        .unwrap();
    assert_eq!(
        (accepted.person_id, accepted.status),
        (Some(carol), DelegateStatus::Accepted)
    );
    assert!(h.reply(carol, t.id, "hi from carol").await.is_ok());
    let mine = h
        .engine
        .my_tickets(carol, PageRequest::first(View::Active))
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 1);
    assert!(mine.items[0].shared);
}

#[apply(backends)]
#[tokio::test]
async fn an_invitation_to_a_known_address_goes_to_that_person(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let dan = h
        .engine
        .ensure_person(&PlatformIdentity::email("dan@example.com"), "Dan")
        .await
        .unwrap()
        .id;
    let t = h.open(ann, "VPN").await.ticket;
    let d = h
        .engine
        .invite_delegate(
            &Ctx::new(ann),
            t.id,
            Invitee::Email("DAN@example.com".into()),
        )
        .await
        .unwrap();
    assert_eq!(d.person_id, Some(dan));
    assert_eq!(
        h.engine
            .accept_delegation(&Ctx::new(dan), d.id)
            .await
            .unwrap()
            .status,
        DelegateStatus::Accepted
    );
}

#[apply(backends)]
#[tokio::test]
async fn mailed_links_act_once_and_expire(#[case] kind: Kind) {
    use std::time::Duration;
    use threadesk_core::engine::LinkPurpose;
    let h = harness(kind).await;
    let bob = h.person("Bob").await;
    let t = h.open(bob, "Shared").await.ticket;
    let d = h
        .engine
        .invite_delegate(
            &Ctx::new(bob),
            t.id,
            Invitee::Email("Dana@Partner.example".into()),
        )
        .await
        .unwrap();
    let token = h
        .engine
        .issue_link_token(
            LinkPurpose::Accept(d.id),
            "dana@partner.example",
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert_eq!(token.len(), 64);
    // a sign-in link is not an accept link.
    assert!(matches!(
        h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::SignIn, &token)
            .await,
        Err(EngineError::NotFound("link"))
    ));
    let r = h
        .engine
        .redeem_link_token(threadesk_core::engine::LinkKind::Accept, &token)
        .await
        .unwrap();
    assert_eq!(r.delegate, Some(d.id));
    // the address became a person, and the invitation is theirs to accept.
    h.engine
        .accept_delegation(&Ctx::new(r.person.id), d.id)
        .await
        .unwrap();
    assert!(h.engine.ticket(r.person.id, t.id).await.is_ok());
    // once only.
    assert!(matches!(
        h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::Accept, &token)
            .await,
        Err(EngineError::NotFound("link"))
    ));
    // an expired link does nothing.
    let old = h
        .engine
        .issue_link_token(LinkPurpose::SignIn, "bob@acme.example", Duration::ZERO)
        .await
        .unwrap();
    assert!(matches!(
        h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::SignIn, &old)
            .await,
        Err(EngineError::NotFound("link"))
    ));
    let fresh = h
        .engine
        .issue_link_token(
            LinkPurpose::SignIn,
            "bob@acme.example",
            Duration::from_secs(900),
        )
        .await
        .unwrap();
    let signed = h
        .engine
        .redeem_link_token(threadesk_core::engine::LinkKind::SignIn, &fresh)
        .await
        .unwrap();
    assert_eq!(signed.delegate, None);
    assert!(matches!(
        h.engine
            .redeem_link_token(threadesk_core::engine::LinkKind::SignIn, "nonsense")
            .await,
        Err(EngineError::NotFound("link"))
    ));
    assert!(h
        .engine
        .issue_link_token(
            LinkPurpose::SignIn,
            "not an address",
            Duration::from_secs(9)
        )
        .await
        .is_err());
}

#[apply(backends)]
#[tokio::test]
async fn a_delegation_revoked_through_another_ticket_is_not_found_and_stays(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let acme = h.org(sam, "Acme").await;
    let ann = h.member(sam, acme, "Ann").await;
    let ada = h.company_admin(sam, acme, "Ada").await;
    let bob = h.person("Bob").await;
    let first = h.open(ann, "VPN").await.ticket;
    let second = h.open(ann, "Printer").await.ticket;
    let d = h
        .engine
        .invite_delegate(&Ctx::new(ann), second.id, Invitee::Person(bob))
        .await
        .unwrap();
    // Ada may manage both tickets' delegates, but names the wrong ticket.
    let err = h
        .engine
        .revoke_delegate_of(&Ctx::new(ada), first.id, d.id)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err:?}");
    let still = h.engine.delegates(ann, second.id).await.unwrap();
    assert_eq!(still[0].status, DelegateStatus::Invited, "nothing happened");
    let events = h.events().await;
    let revoked = h
        .engine
        .revoke_delegate_of(&Ctx::new(ada), second.id, d.id)
        .await
        .unwrap();
    assert_eq!(revoked.status, DelegateStatus::Revoked);
    assert_eq!(h.events().await, events + 1);
}
