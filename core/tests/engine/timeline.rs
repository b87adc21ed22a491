//! A ticket's history of changes: who changed what, inline in the
//! thread; assignment and moves for staff only.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::Invitee;
use threadesk_core::Ctx;

#[apply(backends)]
#[tokio::test]
async fn every_change_is_in_the_history_and_customers_do_not_see_internal_ones(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let kim = h.staff("Kim").await;
    let ann = h.person("Ann").await;
    let dee = h.person("Dee").await;
    let eve = h.person("Eve").await;
    let t = h.open(ann, "Printer").await.ticket;
    let billing = h.department(sam, "Billing").await;
    h.engine
        .set_status(&Ctx::new(sam), t.id, Status::OnHold)
        .await
        .unwrap();
    h.engine
        .edit_subject(&Ctx::new(ann), t.id, "Printer on floor 2")
        .await
        .unwrap();
    h.engine.claim(&Ctx::new(sam), t.id).await.unwrap();
    h.engine
        .assign(&Ctx::new(sam), t.id, Some(kim))
        .await
        .unwrap();
    h.engine
        .move_to_department(&Ctx::new(kim), t.id, Some(billing))
        .await
        .unwrap();
    let d = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(dee))
        .await
        .unwrap();
    h.engine
        .accept_delegation(&Ctx::new(dee), d.id)
        .await
        .unwrap();
    let e = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(eve))
        .await
        .unwrap();
    h.engine
        .decline_delegation(&Ctx::new(eve), e.id)
        .await
        .unwrap();
    h.engine
        .revoke_delegate(&Ctx::new(ann), d.id)
        .await
        .unwrap();
    // a reply in between: changes stay where they happened.
    h.reply(ann, t.id, "still jammed").await.unwrap();
    h.engine.close(&Ctx::new(kim), t.id).await.unwrap();
    let texts = |thread: Thread| {
        thread
            .changes
            .iter()
            .map(|c| c.text.clone())
            .collect::<Vec<_>>()
    };
    let staff = h.engine.thread(sam, t.id).await.unwrap();
    let reply_at = staff.messages.last().unwrap().created_at;
    assert!(staff
        .changes
        .iter()
        .all(|c| c.at <= reply_at || c.text.contains("closed")));
    assert_eq!(
        texts(staff),
        [
            "Sam set the status to On hold.",
            "Ann changed the subject from “Printer” to “Printer on floor 2”.",
            "Sam took the ticket.",
            "Sam assigned the ticket to Kim.",
            "Kim moved the ticket from no department to Billing.",
            "Ann invited Dee to follow the ticket.",
            "Dee accepted the invitation to follow the ticket.",
            "Ann invited Eve to follow the ticket.",
            "Eve declined the invitation to follow the ticket.",
            "Ann removed Dee from the ticket.",
            "Kim closed the ticket.",
        ]
    );
    let customer = h.engine.thread(ann, t.id).await.unwrap();
    assert!(customer.changes.iter().all(|c| !c.internal));
    assert_eq!(
        texts(customer),
        [
            "Sam set the status to On hold.",
            "Ann changed the subject from “Printer” to “Printer on floor 2”.",
            "Ann invited Dee to follow the ticket.",
            "Dee accepted the invitation to follow the ticket.",
            "Ann invited Eve to follow the ticket.",
            "Eve declined the invitation to follow the ticket.",
            "Ann removed Dee from the ticket.",
            "Kim closed the ticket.",
        ]
    );
}
