//! Lists: my tickets (with shared ones), the organization's, the staff queue.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use std::collections::HashSet;
use threadesk_core::domain::*;
use threadesk_core::engine::{Invitee, OwnerFilter, QueueFilter, Sort, SortBy};
use threadesk_core::{Ctx, EngineError, PersonId, Settings, TicketId};

/// Every item of a paged list, asking for each page with the cursor the
/// last one gave, none bigger than `limit`.
async fn walk<F, Fut>(limit: u32, mut page_after: F) -> Vec<TicketListItem>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: std::future::Future<Output = Page<TicketListItem>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = page_after(after).await;
        assert!(page.items.len() <= limit as usize);
        out.extend(page.items);
        match page.next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
}

async fn all_pages(h: &Harness, who: PersonId, view: View, limit: u32) -> Vec<TicketListItem> {
    walk(limit, |after| async move {
        h.engine
            .my_tickets(who, PageRequest { view, after, limit })
            .await
            .unwrap()
    })
    .await
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
    let billing = h.department(sam, "Billing").await;
    let answered = h.open(ann, "answered").await.ticket;
    let waiting = h.open(ann, "waiting").await.ticket;
    let billed = h.open_in(ann, "invoice", billing).await.ticket;
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
                department: Some(billing),
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

/// Every page of the staff queue in one order, walked two at a time.
async fn queue_in(h: &Harness, who: PersonId, sort: Sort) -> Vec<Ticket> {
    let filter = QueueFilter {
        sort,
        ..QueueFilter::default()
    };
    walk(2, |after| async move {
        let req = PageRequest {
            view: View::All,
            after,
            limit: 2,
        };
        h.engine.staff_queue(who, filter, req).await.unwrap()
    })
    .await
    .into_iter()
    .map(|i| i.ticket)
    .collect()
}

#[apply(backends)]
#[tokio::test]
async fn lists_sort_by_any_column_both_ways_across_pages(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam Support").await;
    let kim = h.staff("Kim Keeper").await;
    let ann = h.person("Ann").await;
    let zeta = h.department(sam, "Zeta").await;
    let alpha = h.department(sam, "alpha").await;
    let mut tickets = Vec::new();
    for i in 0..7 {
        tickets.push(h.open(ann, &format!("ticket {i}")).await.ticket);
    }
    let t = |i: usize| tickets[i].id;
    h.engine
        .move_to_department(&Ctx::new(sam), t(0), Some(zeta))
        .await
        .unwrap();
    h.engine
        .move_to_department(&Ctx::new(sam), t(1), Some(alpha))
        .await
        .unwrap();
    h.engine
        .move_to_department(&Ctx::new(sam), t(2), Some(alpha))
        .await
        .unwrap();
    h.engine.claim(&Ctx::new(sam), t(3)).await.unwrap();
    h.engine.claim(&Ctx::new(kim), t(4)).await.unwrap();
    h.engine
        .set_status(&Ctx::new(sam), t(5), Status::OnHold)
        .await
        .unwrap();
    h.engine.close(&Ctx::new(sam), t(6)).await.unwrap();
    h.reply(ann, t(2), "any news?").await.unwrap();

    // what each order must give, worked out here from the tickets.
    let all = queue_in(&h, sam, Sort::default()).await;
    assert_eq!(all.len(), 7);
    let ids = |list: &[Ticket]| list.iter().map(|t| t.id).collect::<Vec<_>>();
    let sorted = |key: &dyn Fn(&Ticket) -> (i64, String)| {
        let mut list = all.clone();
        // the lists break ties newest activity first, then newest id.
        list.sort_by(|a, b| {
            key(a)
                .cmp(&key(b))
                .then(b.last_activity_at.cmp(&a.last_activity_at))
                .then(b.id.cmp(&a.id))
        });
        ids(&list)
    };
    let dept_name = |t: &Ticket| match t.department_id {
        None => String::new(),
        Some(d) if d == zeta => "zeta".into(),
        Some(_) => "alpha".into(),
    };
    let owner_name = |t: &Ticket| match t.owner_id {
        None => String::new(),
        Some(o) if o == kim => "kim keeper".into(),
        Some(_) => "sam support".into(),
    };
    let status_place = |t: &Ticket| Status::ALL.iter().position(|s| *s == t.status).unwrap() as i64;
    let cases: Vec<(SortBy, Vec<TicketId>)> = vec![
        (SortBy::Number, sorted(&|t| (t.number.0, String::new()))),
        (SortBy::Opened, sorted(&|t| (t.created_at.0, String::new()))),
        (
            SortBy::Activity,
            sorted(&|t| (t.last_activity_at.0, String::new())),
        ),
        (
            SortBy::Status,
            sorted(&|t| (status_place(t), String::new())),
        ),
        (SortBy::Department, sorted(&|t| (0, dept_name(t)))),
        (SortBy::Owner, sorted(&|t| (0, owner_name(t)))),
    ];
    for (by, ascending) in cases {
        let up = ids(&queue_in(
            &h,
            sam,
            Sort {
                by,
                descending: false,
            },
        )
        .await);
        assert_eq!(up, ascending, "{by:?} ascending");
        // descending is the reverse, except that ties keep newest first.
        let down = ids(&queue_in(
            &h,
            sam,
            Sort {
                by,
                descending: true,
            },
        )
        .await);
        assert_eq!(down.len(), 7, "{by:?} descending");
        assert_eq!(
            down.iter().collect::<HashSet<_>>(),
            up.iter().collect::<HashSet<_>>()
        );
        if by == SortBy::Number {
            let mut reversed = up.clone();
            reversed.reverse();
            assert_eq!(down, reversed);
        }
    }
    // sorted by due time the tickets waiting on nobody (on hold, closed)
    // come last; the other way round, first.
    let waiting_on_nobody = HashSet::from([t(5), t(6)]);
    let tail: HashSet<TicketId> = all[5..].iter().map(|t| t.id).collect();
    assert_eq!(tail, waiting_on_nobody);
    let late_first = queue_in(
        &h,
        sam,
        Sort {
            by: SortBy::Due,
            descending: true,
        },
    )
    .await;
    let head: HashSet<TicketId> = late_first[..2].iter().map(|t| t.id).collect();
    assert_eq!(head, waiting_on_nobody);
    // text forms round-trip, and a wrong one says what to use.
    for by in SortBy::ALL {
        for descending in [false, true] {
            let s = Sort { by, descending };
            assert_eq!(s.to_string().parse::<Sort>().unwrap(), s);
        }
    }
    let err = "size".parse::<Sort>().unwrap_err().to_string();
    assert!(err.contains("use one of due, activity"), "{err}");
}

#[apply(backends)]
#[tokio::test]
async fn the_organization_view_sorts_and_names_only_its_people(#[case] kind: Kind) {
    let h = harness_with(
        kind,
        Settings {
            show_owner_to_customers: true,
            ..Settings::default()
        },
        5,
    )
    .await;
    let sam = h.staff("Sam Support").await;
    let acme = h.org(sam, "Acme").await;
    let globex = h.org(sam, "Globex").await;
    let admin = h.company_admin(sam, acme, "Alice").await;
    let mo = h.member(sam, acme, "Mo").await;
    let gus = h.member(sam, globex, "Gus").await;
    let first = h.open(mo, "first").await.ticket;
    let second = h.open(admin, "second").await.ticket;
    h.engine.claim(&Ctx::new(sam), first.id).await.unwrap();
    let by_number = |descending| {
        let engine = h.engine.clone();
        async move {
            engine
                .org_tickets_sorted(
                    admin,
                    Sort {
                        by: SortBy::Number,
                        descending,
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
    assert_eq!(by_number(false).await, vec![first.id, second.id]);
    assert_eq!(by_number(true).await, vec![second.id, first.id]);
    // the admin learns the names of their organization's people only.
    let names = h.engine.people_by_id(admin, &[mo, gus, sam]).await.unwrap();
    assert_eq!(names.keys().copied().collect::<Vec<_>>(), vec![mo]);
    assert!(matches!(
        h.engine.people_by_id(mo, &[mo]).await,
        Err(EngineError::StaffOnly(_))
    ));
    // owners: a first name for customers, in full for staff.
    let owners = h.engine.owner_names(admin, &[sam, mo]).await.unwrap();
    assert_eq!(owners.get(&sam).map(String::as_str), Some("Sam"));
    assert_eq!(owners.len(), 1, "only staff own tickets");
    let owners = h.engine.owner_names(sam, &[sam]).await.unwrap();
    assert_eq!(owners.get(&sam).map(String::as_str), Some("Sam Support"));
    // with owners hidden from customers, customers learn none.
    let hidden = harness(kind).await;
    let s = hidden.staff("Sam Support").await;
    let c = hidden.person("Cy").await;
    assert!(hidden.engine.owner_names(c, &[s]).await.unwrap().is_empty());
}
