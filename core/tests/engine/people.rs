//! People, identities, organizations, staff and departments.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::engine::Invitee;
use threadesk_core::{Ctx, EngineError, PersonId};

#[apply(backends)]
#[tokio::test]
async fn a_platform_identity_is_one_person_however_often_it_is_seen(#[case] kind: Kind) {
    let h = harness(kind).await;
    let slack = PlatformIdentity::slack("T1", "U1");
    let a = h.engine.ensure_person(&slack, "Ann").await.unwrap();
    let b = h.engine.ensure_person(&slack, "Ann Renamed").await.unwrap();
    assert_eq!(a, b);
    let other_team = h
        .engine
        .ensure_person(&PlatformIdentity::slack("T2", "U1"), "Ann")
        .await
        .unwrap();
    assert_ne!(a.id, other_team.id, "ids are per workspace");
    // an unusable display name falls back to the platform id.
    let c = h
        .engine
        .ensure_person(&PlatformIdentity::discord("G", "42"), "   ")
        .await
        .unwrap();
    assert_eq!(c.display_name, "42");
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sightings_at_the_same_moment_make_one_person(#[case] kind: Kind) {
    let h = harness(kind).await;
    for round in 0..10 {
        let identity = PlatformIdentity::discord("G", format!("7{round}"));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let engine = h.engine.clone();
                let identity = identity.clone();
                tokio::spawn(async move { engine.ensure_person(&identity, "Twin").await })
            })
            .collect();
        let mut ids = vec![];
        for t in tasks {
            ids.push(t.await.unwrap().expect("every caller gets the person").id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "one person for one identity");
    }
}

#[apply(backends)]
#[tokio::test]
async fn staff_link_two_identities_into_one_person_with_everything_they_had(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let slack = PlatformIdentity::slack("T1", "U1");
    let discord = PlatformIdentity::discord("G1", "99");
    let on_slack = h.engine.ensure_person(&slack, "Ann").await.unwrap().id;
    let on_discord = h.engine.ensure_person(&discord, "ann#1").await.unwrap().id;
    let t1 = h.open(on_slack, "from slack").await.ticket;
    let t2 = h.open(on_discord, "from discord").await.ticket;
    let err = h
        .engine
        .link_identities(&Ctx::new(on_slack), &slack, &discord)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::StaffOnly(_)), "{err:?}");
    let merged = h
        .engine
        .link_identities(&Ctx::new(sam), &slack, &discord)
        .await
        .unwrap();
    assert_eq!(merged.id, on_slack);
    let profile = h.engine.person(on_slack).await.unwrap();
    assert_eq!(profile.identities.len(), 2);
    assert!(matches!(
        h.engine.person(on_discord).await,
        Err(EngineError::NotFound(_))
    ));
    let mine = h
        .engine
        .my_tickets(on_slack, PageRequest::first(View::All))
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 2);
    assert!(h.engine.thread(on_slack, t2.id).await.is_ok());
    assert_eq!(
        h.engine
            .person_by_identity(&discord)
            .await
            .unwrap()
            .map(|p| p.id),
        Some(on_slack)
    );
    // an identity nobody has yet is simply added.
    let email = PlatformIdentity::email("ann@example.com");
    h.engine
        .link_identities(&Ctx::new(sam), &slack, &email)
        .await
        .unwrap();
    assert_eq!(
        h.engine
            .person_by_identity(&email)
            .await
            .unwrap()
            .map(|p| p.id),
        Some(on_slack)
    );
    let err = h
        .engine
        .link_identities(&Ctx::new(sam), &slack, &discord)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    assert!(h.engine.thread(on_slack, t1.id).await.is_ok());
}

#[apply(backends)]
#[tokio::test]
async fn merging_a_delegate_into_the_requester_leaves_no_self_delegation(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let web = PlatformIdentity::web("ann");
    let mail = PlatformIdentity::email("ann@example.com");
    let ann = h.engine.ensure_person(&web, "Ann").await.unwrap().id;
    let ann2 = h.engine.ensure_person(&mail, "Ann").await.unwrap().id;
    let t = h.open(ann, "VPN").await.ticket;
    let d = h
        .engine
        .invite_delegate(&Ctx::new(ann), t.id, Invitee::Person(ann2))
        .await
        .unwrap();
    h.engine
        .accept_delegation(&Ctx::new(ann2), d.id)
        .await
        .unwrap();
    h.engine
        .link_identities(&Ctx::new(sam), &web, &mail)
        .await
        .unwrap();
    assert!(h.engine.delegates(ann, t.id).await.unwrap().is_empty());
    let mine = h
        .engine
        .my_tickets(ann, PageRequest::first(View::All))
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 1, "the ticket shows once, as her own");
    assert!(!mine.items[0].shared);
}

#[apply(backends)]
#[tokio::test]
async fn organizations_and_company_admins_are_managed_by_staff(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let err = h
        .engine
        .create_organization(&Ctx::new(ann), "Acme")
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::StaffOnly(_)));
    let acme = h.org(sam, "Acme").await;
    let err = h
        .engine
        .create_organization(&Ctx::new(sam), "ACME")
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Conflict(_)),
        "names are unique regardless of case: {err:?}"
    );
    assert_eq!(h.engine.ensure_organization("acme").await.unwrap().id, acme);
    let err = h
        .engine
        .grant_company_admin(&Ctx::new(sam), ann)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Conflict(_)),
        "needs an organization first: {err:?}"
    );
    // tickets follow their requester into the organization.
    let t = h.open(ann, "VPN").await.ticket;
    h.engine
        .set_organization(&Ctx::new(sam), ann, Some(acme))
        .await
        .unwrap();
    let boss = h.company_admin(sam, acme, "Boss").await;
    assert!(h.engine.thread(boss, t.id).await.is_ok());
    let err = h
        .engine
        .grant_company_admin(&Ctx::new(boss), ann)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::StaffOnly(_)),
        "company admins do not make admins: {err:?}"
    );
    let err = h
        .engine
        .set_staff(&Ctx::new(ann), ann, true)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::StaffOnly(_)));
    let p = h.engine.set_staff(&Ctx::new(sam), ann, true).await.unwrap();
    assert!(p.is_staff);
    let err = h
        .engine
        .set_staff(&Ctx::new(sam), sam, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Conflict(_)),
        "staff cannot lock themselves out: {err:?}"
    );
    // leaving the organization ends company-admin rights over it.
    let boss_now = h
        .engine
        .set_organization(&Ctx::new(sam), boss, None)
        .await
        .unwrap();
    assert!(!boss_now.is_company_admin);
    assert!(matches!(
        h.engine.thread(boss, t.id).await,
        Err(EngineError::NotFound(_))
    ));
}

#[apply(backends)]
#[tokio::test]
async fn departments_are_created_renamed_deactivated_and_listed(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    assert!(matches!(
        h.engine.create_department(&Ctx::new(ann), "Sales").await,
        Err(EngineError::StaffOnly(_))
    ));
    let sales = h
        .engine
        .create_department(&Ctx::new(sam), "Sales")
        .await
        .unwrap();
    let tech = h
        .engine
        .create_department(&Ctx::new(sam), "Tech")
        .await
        .unwrap();
    assert!(matches!(
        h.engine.create_department(&Ctx::new(sam), "sales").await,
        Err(EngineError::Conflict(_))
    ));
    let renamed = h
        .engine
        .rename_department(&Ctx::new(sam), tech.id, "Technical support")
        .await
        .unwrap();
    assert_eq!(renamed.name, "Technical support");
    assert!(matches!(
        h.engine
            .rename_department(&Ctx::new(sam), tech.id, "Sales")
            .await,
        Err(EngineError::Conflict(_))
    ));
    h.engine
        .set_department_active(&Ctx::new(sam), sales.id, false)
        .await
        .unwrap();
    let active: Vec<String> = h
        .engine
        .departments(false)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(active, vec!["Technical support"]);
    let all: Vec<(String, bool)> = h
        .engine
        .departments(true)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.name, d.active))
        .collect();
    assert_eq!(
        all,
        vec![
            ("Sales".to_owned(), false),
            ("Technical support".to_owned(), true)
        ]
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_address_names_only_people_one_may_name(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let acme = h.org(sam, "Acme").await;
    let alice = h.company_admin(sam, acme, "Alice").await;
    let by_mail = |address: &'static str, name: &'static str| {
        let engine = h.engine.clone();
        async move {
            engine
                .ensure_person(&PlatformIdentity::email(address), name)
                .await
                .unwrap()
                .id
        }
    };
    let mo = by_mail("mo@acme.example", "Mo").await;
    h.engine
        .set_organization(&Ctx::new(sam), mo, Some(acme))
        .await
        .unwrap();
    let eve = by_mail("eve@example.com", "Eve").await;
    let find = |actor, address: &'static str| {
        let engine = h.engine.clone();
        async move { engine.person_with_email(actor, address).await }
    };
    // staff anyone, written any case; an admin their organization; others themselves.
    assert_eq!(find(sam, "EVE@example.com").await.unwrap(), Some(eve));
    assert_eq!(find(alice, "mo@acme.example").await.unwrap(), Some(mo));
    assert_eq!(find(alice, "eve@example.com").await.unwrap(), None);
    assert_eq!(find(mo, "mo@acme.example").await.unwrap(), Some(mo));
    assert_eq!(find(eve, "mo@acme.example").await.unwrap(), None);
    assert_eq!(find(sam, "nobody@example.com").await.unwrap(), None);
    assert!(matches!(
        find(sam, "not an address").await,
        Err(EngineError::Invalid(_))
    ));
}

#[apply(backends)]
#[tokio::test]
async fn only_staff_name_other_organizations_in_a_search(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let acme = h.org(sam, "Acme Inc").await;
    h.org(sam, "Globex").await;
    let mo = h.member(sam, acme, "Mo").await;
    let named = |who, name: &'static str| {
        let engine = h.engine.clone();
        async move {
            engine
                .organization_named_by(who, name)
                .await
                .unwrap()
                .map(|o| o.name)
        }
    };
    assert_eq!(named(sam, "globex").await.as_deref(), Some("Globex"));
    assert_eq!(named(mo, "ACME INC").await.as_deref(), Some("Acme Inc"));
    assert_eq!(named(mo, "Globex").await, None, "not theirs: as if unknown");
    assert_eq!(named(mo, "Nowhere").await, None);
}

/// The people directory is read a page at a time, by name, found by a
/// piece of a name or an e-mail address in any case (`%` and `_` are
/// themselves), and only by staff.
#[apply(backends)]
#[tokio::test]
async fn staff_page_through_the_people_directory_and_find_people(#[case] kind: Kind) {
    use threadesk_core::engine::PEOPLE_AT_ONCE;
    let h = harness(kind).await;
    let sam = h.staff("Sam Staff").await;
    let ann = h.person("Ann").await;
    let extra = PEOPLE_AT_ONCE + 7;
    for i in 0..extra {
        h.person(&format!("Customer {i:03}")).await;
    }
    let zoe = h
        .engine
        .ensure_person(
            &PlatformIdentity::email("zoe@acme.example"),
            "Zoë 100% Sure",
        )
        .await
        .unwrap()
        .id;
    let everybody = extra + 3;

    let first = h.engine.people_page(sam, "", 0).await.unwrap();
    assert_eq!(first.people.len(), PEOPLE_AT_ONCE);
    assert!(first.more);
    let names: Vec<&str> = first
        .people
        .iter()
        .map(|p| p.display_name.as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "by name");
    assert_eq!(names[0], "Ann");
    let rest = h.engine.people_page(sam, "", PEOPLE_AT_ONCE).await.unwrap();
    assert_eq!(rest.people.len(), everybody - PEOPLE_AT_ONCE);
    assert!(!rest.more);
    assert!(first.people.iter().all(|p| !rest.people.contains(p)));
    assert_eq!(
        rest.addresses.get(&zoe),
        Some(&vec!["zoe@acme.example".to_owned()])
    );

    let find = |what: &'static str| {
        let h = &h;
        async move {
            let page = h.engine.people_page(sam, what, 0).await.unwrap();
            page.people.into_iter().map(|p| p.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(find("ACME.EX").await, vec![zoe], "by e-mail, any case");
    assert_eq!(find("0% s").await, vec![zoe], "% is itself");
    assert_eq!(
        find("r%0").await,
        Vec::<PersonId>::new(),
        "% is no wildcard"
    );
    assert_eq!(find("0_").await, Vec::<PersonId>::new(), "_ is no wildcard");
    assert_eq!(find("  ann ").await, vec![ann], "by name, trimmed");
    // "Customer 050" to "Customer 056".
    assert_eq!(find("customer 05").await.len(), 7);
    assert_eq!(find("nobody like this").await, Vec::<PersonId>::new());
    assert!(matches!(
        h.engine.people_page(ann, "", 0).await,
        Err(EngineError::StaffOnly(_))
    ));
}

/// A ticket's page offers staff everybody to invite while there are few
/// people, and once there are many only the requester's organization's
/// people: it never lists the whole directory.
#[apply(backends)]
#[tokio::test]
async fn the_people_offered_to_invite_to_a_ticket_are_few(#[case] kind: Kind) {
    use threadesk_core::engine::PICK_AT_MOST;
    let h = harness(kind).await;
    let sam = h.staff("Sam Staff").await;
    let acme = h.org(sam, "Acme").await;
    let alice = h.member(sam, acme, "Alice").await;
    let carol = h.member(sam, acme, "Carol").await;
    let bob = h.person("Bob").await;
    let a = h.open(alice, "VPN down").await.ticket.id;
    let b = h.open(bob, "Printer").await.ticket.id;
    let few = h.engine.invite_choices(sam, a).await.unwrap();
    assert_eq!(few.len(), 4, "everybody while few: {few:?}");

    for i in 0..PICK_AT_MOST {
        h.person(&format!("Customer {i:03}")).await;
    }
    let ids = |people: Vec<Person>| people.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(h.engine.invite_choices(sam, a).await.unwrap()),
        vec![alice, carol],
        "the requester's organization, by name"
    );
    assert_eq!(
        ids(h.engine.invite_choices(sam, b).await.unwrap()),
        Vec::<PersonId>::new(),
        "a requester of no organization: by e-mail only"
    );
    assert!(matches!(
        h.engine.invite_choices(alice, a).await,
        Err(EngineError::StaffOnly(_))
    ));
}
