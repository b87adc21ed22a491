//! Lists: my tickets (with shared ones), the organization's, the staff queue.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use std::collections::HashSet;
use threadesk_core::domain::*;
use threadesk_core::engine::{Invitee, NewTicket, OwnerFilter, QueueFilter};
use threadesk_core::{Ctx, EngineError, PersonId, Settings, TicketId};

async fn all_pages(h: &Harness, who: PersonId, view: View, limit: u32) -> Vec<TicketListItem> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = h
            .engine
            .my_tickets(who, PageRequest { view, after, limit })
            .await
            .unwrap();
        assert!(page.items.len() <= limit as usize);
        out.extend(page.items);
        match page.next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
}

#[apply(backends)]
#[tokio::test]
async fn my_tickets_include_shared_ones_marked_and_page_newest_first(#[case] kind: Kind) {
    let h = harness_with(
        kind,
        Settings {
            max_open_tickets_per_requester: 100,
            ..Default::default()
        },
        5,
    )
    .await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let mut mine = Vec::new();
    for i in 0..12 {
        mine.push(h.open(ann, &format!("ticket {i}")).await.ticket.id);
    }
    let theirs = h.open(bob, "Bob's").await.ticket;
    let d = h
        .engine
        .invite_delegate(&Ctx::new(bob), theirs.id, Invitee::Person(ann))
        .await
        .unwrap();
    h.engine
        .accept_delegation(&Ctx::new(ann), d.id)
        .await
        .unwrap();
    h.engine.close(&Ctx::new(ann), mine[3]).await.unwrap();
    // activity moves a ticket to the top.
    h.reply(ann, mine[0], "bump").await.unwrap();

    let active = all_pages(&h, ann, View::Active, 5).await;
    assert_eq!(active.len(), 12, "11 of mine still open + 1 shared");
    assert_eq!(active[0].ticket.id, mine[0]);
    let shared: Vec<TicketId> = active
        .iter()
        .filter(|i| i.shared)
        .map(|i| i.ticket.id)
        .collect();
    assert_eq!(shared, vec![theirs.id]);
    let keys: Vec<(i64, i64)> = active
        .iter()
        .map(|i| (i.ticket.last_activity_at.0, i.ticket.id.0))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest activity first");
    assert_eq!(
        keys.iter().collect::<HashSet<_>>().len(),
        keys.len(),
        "no ticket twice across pages"
    );

    let closed = all_pages(&h, ann, View::Closed, 5).await;
    assert_eq!(
        closed.iter().map(|i| i.ticket.id).collect::<Vec<_>>(),
        vec![mine[3]]
    );
    assert_eq!(all_pages(&h, ann, View::All, 4).await.len(), 13);
}

#[apply(backends)]
#[tokio::test]
async fn the_organization_view_is_for_company_admins(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let acme = h.org(sam, "Acme").await;
    let globex = h.org(sam, "Globex").await;
    let admin = h.company_admin(sam, acme, "Alice").await;
    let m1 = h.member(sam, acme, "Mo").await;
    let m2 = h.member(sam, acme, "Max").await;
    let outsider = h.member(sam, globex, "Gus").await;
    let t1 = h.open(m1, "Mo's").await.ticket;
    let t2 = h.open(m2, "Max's").await.ticket;
    h.open(outsider, "Gus's").await;
    let page = h
        .engine
        .org_tickets(admin, PageRequest::first(View::Active))
        .await
        .unwrap();
    let ids: HashSet<TicketId> = page.items.iter().map(|i| i.ticket.id).collect();
    assert_eq!(ids, HashSet::from([t1.id, t2.id]));
    // the admin may read and answer them; a fellow member may not.
    assert!(h.engine.thread(admin, t1.id).await.is_ok());
    assert!(matches!(
        h.engine.thread(m2, t1.id).await,
        Err(EngineError::NotFound(_))
    ));
    let err = h
        .engine
        .org_tickets(m1, PageRequest::first(View::Active))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::StaffOnly(_)), "{err:?}");
    // revoking company admin takes the view away.
    h.engine
        .revoke_company_admin(&Ctx::new(sam), admin)
        .await
        .unwrap();
    assert!(h
        .engine
        .org_tickets(admin, PageRequest::first(View::Active))
        .await
        .is_err());
    assert!(matches!(
        h.engine.thread(admin, t1.id).await,
        Err(EngineError::NotFound(_))
    ));
}

#[apply(backends)]
#[tokio::test]
async fn the_staff_queue_puts_unanswered_first_and_filters(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let billing = h
        .engine
        .create_department(&Ctx::new(sam), "Billing")
        .await
        .unwrap();
    let answered = h.open(ann, "answered").await.ticket;
    let waiting = h.open(ann, "waiting").await.ticket;
    let billed = h
        .engine
        .open_ticket(
            &Ctx::new(ann),
            NewTicket {
                subject: "invoice".into(),
                body: "x".into(),
                department: Some(billing.id),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .ticket;
    // the answered one has the newest activity, yet comes after the unanswered.
    h.reply(sam, answered.id, "done?").await.unwrap();
    let page = h
        .engine
        .staff_queue(
            sam,
            QueueFilter::default(),
            PageRequest::first(View::Active),
        )
        .await
        .unwrap();
    let order: Vec<TicketId> = page.items.iter().map(|i| i.ticket.id).collect();
    assert_eq!(order, vec![billed.id, waiting.id, answered.id]);
    // paging through one at a time gives the same order.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let p = h
            .engine
            .staff_queue(
                sam,
                QueueFilter::default(),
                PageRequest {
                    view: View::Active,
                    after,
                    limit: 1,
                },
            )
            .await
            .unwrap();
        paged.extend(p.items.iter().map(|i| i.ticket.id));
        match p.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(paged, order);
    let by_dept = h
        .engine
        .staff_queue(
            sam,
            QueueFilter {
                department: Some(billing.id),
                ..QueueFilter::default()
            },
            PageRequest::first(View::All),
        )
        .await
        .unwrap();
    assert_eq!(
        by_dept
            .items
            .iter()
            .map(|i| i.ticket.id)
            .collect::<Vec<_>>(),
        vec![billed.id]
    );
    let by_status = h
        .engine
        .staff_queue(
            sam,
            QueueFilter {
                status: Some(Status::AwaitingClient),
                ..QueueFilter::default()
            },
            PageRequest::first(View::All),
        )
        .await
        .unwrap();
    assert_eq!(
        by_status
            .items
            .iter()
            .map(|i| i.ticket.id)
            .collect::<Vec<_>>(),
        vec![answered.id]
    );
    assert!(matches!(
        h.engine
            .staff_queue(ann, QueueFilter::default(), PageRequest::first(View::All))
            .await,
        Err(EngineError::StaffOnly(_))
    ));
}

#[apply(backends)]
#[tokio::test]
async fn tickets_are_found_by_number_only_by_those_who_may_see_them(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let eve = h.person("Eve").await;
    let t = h.open(ann, "VPN").await.ticket;
    assert_eq!(
        h.engine
            .ticket_by_number(ann, "#1001".parse().unwrap())
            .await
            .unwrap()
            .id,
        t.id
    );
    let hidden = h.engine.ticket_by_number(eve, t.number).await.unwrap_err();
    let unknown = h
        .engine
        .ticket_by_number(eve, "#9999".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        hidden.to_string(),
        unknown.to_string(),
        "existence is not leaked"
    );
}

#[apply(backends)]
#[tokio::test]
async fn staff_claim_assign_and_unassign_and_the_queue_filters_by_owner(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let kim = h.staff("Kim").await;
    let ann = h.person("Ann").await;
    let a = h.open(ann, "first").await.ticket;
    let b = h.open(ann, "second").await.ticket;
    let c = h.open(ann, "third").await.ticket;
    let events = h.events().await;
    let claimed = h.engine.claim(&Ctx::new(sam), a.id).await.unwrap();
    assert_eq!(claimed.owner_id, Some(sam));
    let given = h
        .engine
        .assign(&Ctx::new(sam), b.id, Some(kim))
        .await
        .unwrap();
    assert_eq!(given.owner_id, Some(kim));
    assert_eq!(h.events().await, events + 2, "one event each");
    // one owner at a time: Kim takes the first over.
    h.engine.claim(&Ctx::new(kim), a.id).await.unwrap();
    assert_eq!(
        h.engine.ticket(sam, a.id).await.unwrap().owner_id,
        Some(kim)
    );
    // claiming what one owns already changes nothing and says so.
    let again = h.engine.claim(&Ctx::new(kim), a.id).await.unwrap_err();
    assert!(again.sentence().contains("already owns"), "{again}");
    // only staff own tickets; customers cannot assign.
    let to_ann = h
        .engine
        .assign(&Ctx::new(sam), c.id, Some(ann))
        .await
        .unwrap_err();
    assert!(
        to_ann.sentence().contains("not on the support team"),
        "{to_ann}"
    );
    assert!(matches!(
        h.engine.claim(&Ctx::new(ann), c.id).await,
        Err(EngineError::NotAllowed(Action::Assign))
    ));
    let ids = |owner| {
        let engine = h.engine.clone();
        async move {
            engine
                .staff_queue(
                    sam,
                    QueueFilter {
                        owner: Some(owner),
                        ..QueueFilter::default()
                    },
                    PageRequest::first(View::Active),
                )
                .await
                .unwrap()
                .items
                .iter()
                .map(|i| i.ticket.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(OwnerFilter::Mine).await, Vec::<TicketId>::new());
    assert_eq!(ids(OwnerFilter::Person(kim)).await, vec![b.id, a.id]);
    assert_eq!(ids(OwnerFilter::Unassigned).await, vec![c.id]);
    // unassigned again: back among the unassigned.
    h.engine.assign(&Ctx::new(sam), b.id, None).await.unwrap();
    assert_eq!(ids(OwnerFilter::Unassigned).await, vec![c.id, b.id]);
    // the owner stays on a closed ticket, which can no longer change hands.
    h.engine.close(&Ctx::new(kim), a.id).await.unwrap();
    assert!(matches!(
        h.engine.assign(&Ctx::new(sam), a.id, Some(sam)).await,
        Err(EngineError::TicketClosed { .. })
    ));
    assert_eq!(
        h.engine.ticket(sam, a.id).await.unwrap().owner_id,
        Some(kim)
    );
}

#[apply(backends)]
#[tokio::test]
async fn customers_see_who_handles_their_ticket_only_where_the_deployment_says_so(
    #[case] kind: Kind,
) {
    for shown in [false, true] {
        let h = threadesk_core::testing::harness_with(
            kind,
            Settings {
                show_owner_to_customers: shown,
                ..Default::default()
            },
            5,
        )
        .await;
        let sam = h.staff("Sam Support").await;
        let ann = h.person("Ann").await;
        let t = h.open(ann, "VPN").await.ticket;
        let facts = |h: &threadesk_core::testing::Harness| {
            let engine = h.engine.clone();
            async move { engine.system().card_facts(t.id).await.unwrap() }
        };
        assert_eq!(facts(&h).await.handled_by, None, "nobody owns it yet");
        h.engine.claim(&Ctx::new(sam), t.id).await.unwrap();
        let f = facts(&h).await;
        assert_eq!(f.owner_name.as_deref(), Some("Sam Support"));
        assert_eq!(
            f.handled_by.as_deref(),
            shown.then_some("Sam"),
            "the first name, and only when shown"
        );
    }
}
