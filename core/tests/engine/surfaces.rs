//! Surfaces: a ticket's cards on a platform, one per audience.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use threadesk_core::domain::*;
use threadesk_core::links::PlatformRef;
use threadesk_core::surfaces::Audience;
use threadesk_core::Ctx;

fn card(channel: &str, ts: &str) -> PlatformRef {
    PlatformRef {
        platform: Platform::Slack,
        workspace: "T1".into(),
        channel: channel.into(),
        message_id: ts.into(),
    }
}

#[apply(backends)]
#[tokio::test]
async fn each_audience_has_one_card_per_ticket_and_platform(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let opened = h.open(ann, "VPN").await;
    let t = opened.ticket.id;
    let staff = h
        .engine
        .system()
        .put_surface(t, &card("C1", "1.1"), Audience::Staff)
        .await
        .unwrap();
    let mine = h
        .engine
        .system()
        .put_surface(t, &card("D1", "2.1"), Audience::Person(ann))
        .await
        .unwrap();
    // a redelivered event posting a second card keeps the first one.
    let again = h
        .engine
        .system()
        .put_surface(t, &card("D1", "3.1"), Audience::Person(ann))
        .await
        .unwrap();
    assert_eq!(again, mine);
    assert_eq!(
        h.engine
            .system()
            .surface_at(&card("C1", "1.1"))
            .await
            .unwrap(),
        Some(staff.clone())
    );
    assert_eq!(
        h.engine
            .system()
            .surface_at(&card("D1", "3.1"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        h.engine
            .system()
            .surfaces_of_ticket(t, Platform::Slack)
            .await
            .unwrap(),
        vec![staff, mine.clone()]
    );
    assert!(h
        .engine
        .system()
        .surfaces_of_ticket(t, Platform::Discord)
        .await
        .unwrap()
        .is_empty());

    let facts = h.engine.system().card_facts(t).await.unwrap();
    assert_eq!(
        (
            facts.ticket.number,
            facts.requester_name.as_str(),
            facts.department
        ),
        (opened.ticket.number, "Ann", None)
    );

    h.engine.system().close_surface(&mine.card).await.unwrap();
    let closed = h
        .engine
        .system()
        .surface_for(t, Platform::Slack, Audience::Person(ann))
        .await
        .unwrap()
        .unwrap();
    assert!(!closed.is_live());
    h.engine.system().reopen_surface(&mine.card).await.unwrap();
    assert!(h
        .engine
        .system()
        .surface_at(&mine.card)
        .await
        .unwrap()
        .unwrap()
        .is_live());
}

#[apply(backends)]
#[tokio::test]
async fn authored_links_are_told_apart_from_mirrors(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let opened = h.open(ann, "VPN").await;
    let t = opened.ticket.id;
    let ctx = Ctx::new(ann).with_origin(card("D1", "5.1"));
    let m = h
        .engine
        .reply(&ctx, t, threadesk_core::engine::NewMessage::text("hi"))
        .await
        .unwrap()
        .message
        .id;
    let mirror = h
        .engine
        .system()
        .put_link(t, Some(m), &card("C1", "5.2"))
        .await
        .unwrap();
    let written = h
        .engine
        .system()
        .link_at(&card("D1", "5.1"))
        .await
        .unwrap()
        .unwrap();
    assert!(written.authored);
    assert!(!mirror.authored);
    let all = h.engine.system().links_of_message(m).await.unwrap();
    assert_eq!(all, vec![written, mirror]);
}

#[apply(backends)]
#[tokio::test]
async fn merging_people_moves_their_cards(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let slack = PlatformIdentity::slack("T1", "U1");
    let discord = PlatformIdentity::discord("G1", "42");
    let on_slack = h.engine.ensure_person(&slack, "Ann").await.unwrap().id;
    let on_discord = h.engine.ensure_person(&discord, "Ann D").await.unwrap().id;
    let opened = h.open(on_discord, "VPN").await;
    let t = opened.ticket.id;
    h.engine
        .system()
        .put_surface(t, &card("D9", "7.1"), Audience::Person(on_discord))
        .await
        .unwrap();
    h.engine
        .link_identities(&Ctx::new(sam), &slack, &discord)
        .await
        .unwrap();
    let moved = h
        .engine
        .system()
        .surface_at(&card("D9", "7.1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.audience, Audience::Person(on_slack));
}

#[apply(backends)]
#[tokio::test]
async fn merging_people_moves_their_place_in_shared_threads(#[case] kind: Kind) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let slack = PlatformIdentity::slack("T1", "U1");
    let discord = PlatformIdentity::discord("G1", "42");
    let on_slack = h.engine.ensure_person(&slack, "Ann").await.unwrap().id;
    let on_discord = h.engine.ensure_person(&discord, "Ann D").await.unwrap().id;
    let t = h.open(on_discord, "VPN").await.ticket.id;
    let system = h.engine.system();
    let thread = system
        .put_surface(t, &card("TH1", "TH1"), Audience::Shared)
        .await
        .unwrap();
    assert!(system
        .add_surface_member(thread.id, on_discord)
        .await
        .unwrap());
    assert!(
        !system
            .add_surface_member(thread.id, on_discord)
            .await
            .unwrap(),
        "already a member"
    );
    assert!(system.reads_in_chat(t, on_discord).await.unwrap());
    assert_eq!(system.followers(t).await.unwrap(), vec![on_discord]);
    h.engine
        .link_identities(&Ctx::new(sam), &slack, &discord)
        .await
        .expect("people in shared threads merge");
    assert_eq!(
        system.surface_members(thread.id).await.unwrap(),
        vec![on_slack]
    );
    assert!(system.reads_in_chat(t, on_slack).await.unwrap());
    assert_eq!(system.followers(t).await.unwrap(), vec![on_slack]);
    // taken out: no longer reading there, and back in when added again.
    system
        .remove_surface_member(thread.id, on_slack)
        .await
        .unwrap();
    assert!(!system.reads_in_chat(t, on_slack).await.unwrap());
    assert!(system
        .add_surface_member(thread.id, on_slack)
        .await
        .unwrap());
}

#[apply(backends)]
#[tokio::test]
async fn a_reply_written_on_a_platform_commits_with_its_link(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let opened = h.open(ann, "VPN").await;
    let at = card("D1", "9.1");
    let ctx = Ctx::new(ann)
        .with_key("slack:event:Ev1")
        .with_origin(at.clone());
    let posted = h
        .engine
        .reply(
            &ctx,
            opened.ticket.id,
            threadesk_core::engine::NewMessage::text("hi"),
        )
        .await
        .unwrap();
    let link = h.engine.system().link_at(&at).await.unwrap().unwrap();
    assert_eq!(link.message_id, Some(posted.message.id));
    assert!(link.authored);
    // the redelivery returns the first result and records nothing new.
    let again = h
        .engine
        .reply(
            &ctx,
            opened.ticket.id,
            threadesk_core::engine::NewMessage::text("hi"),
        )
        .await
        .unwrap();
    assert_eq!(again.message.id, posted.message.id);
    assert_eq!(
        h.engine
            .system()
            .links_of_message(posted.message.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[apply(backends)]
#[tokio::test]
async fn platform_staff_come_and_go_with_the_platform_but_granted_staff_stay(#[case] kind: Kind) {
    let h = harness(kind).await;
    let boss = h.staff("Boss").await;
    let ann = h.person("Ann").await;
    let sync = |member| h.engine.sync_platform_staff(ann, Platform::Slack, member);
    assert!(sync(true).await.unwrap().is_staff);
    assert!(
        sync(true).await.unwrap().is_staff,
        "a second sync changes nothing"
    );
    assert!(
        !sync(false).await.unwrap().is_staff,
        "left the staff channel"
    );
    // granted by staff: the platform cannot take it away.
    assert!(sync(true).await.unwrap().is_staff);
    h.engine
        .set_staff(&Ctx::new(boss), ann, true)
        .await
        .unwrap_err();
    let bob = h.person("Bob").await;
    h.engine
        .set_staff(&Ctx::new(boss), bob, true)
        .await
        .unwrap();
    assert!(
        h.engine
            .sync_platform_staff(bob, Platform::Slack, false)
            .await
            .unwrap()
            .is_staff
    );
    // Ann's platform staff is confirmed by a staff decision once she is demoted and granted.
    h.engine
        .set_staff(&Ctx::new(boss), ann, false)
        .await
        .unwrap();
    h.engine
        .set_staff(&Ctx::new(boss), ann, true)
        .await
        .unwrap();
    assert!(
        sync(false).await.unwrap().is_staff,
        "a staff decision outranks the platform"
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_consumers_steps_are_remembered_until_the_event_is_acknowledged(#[case] kind: Kind) {
    use threadesk_core::outbox::Outbox;
    let h = harness(kind).await;
    let outbox = Outbox::new(h.engine.db().clone());
    outbox.register("c").await.unwrap();
    let ann = h.person("Ann").await;
    h.open(ann, "VPN").await;
    let d = outbox
        .claim("c", 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let e = d[0].event.id;
    assert!(!outbox.effect_done("c", e, "line:C1").await.unwrap());
    outbox.record_effect("c", e, "line:C1").await.unwrap();
    outbox.record_effect("c", e, "line:C1").await.unwrap();
    assert!(outbox.effect_done("c", e, "line:C1").await.unwrap());
    assert!(!outbox.effect_done("other", e, "line:C1").await.unwrap());
    // another consumer's steps of the same event are its own.
    outbox.register("d").await.unwrap();
    outbox.record_effect("d", e, "line:C1").await.unwrap();
    outbox.ack("c", e).await.unwrap();
    assert!(!outbox.effect_done("c", e, "line:C1").await.unwrap());
    assert!(outbox.effect_done("d", e, "line:C1").await.unwrap());
}

/// The delivery's one read of a ticket's surfaces with their readers
/// judges each surface as a read of its own would, and a shared thread's
/// members who may not read the ticket are found in one read too.
#[apply(backends)]
#[tokio::test]
async fn surfaces_read_with_their_readers_judge_as_each_read_alone(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let bob = h.person("Bob").await;
    let cay = h.person("Cay").await;
    let t = h.open(ann, "VPN").await.ticket.id;
    let system = h.engine.system();
    let staff = system
        .put_surface(t, &card("C1", "1.1"), Audience::Staff)
        .await
        .unwrap();
    let anns = system
        .put_surface(t, &card("D1", "2.1"), Audience::Person(ann))
        .await
        .unwrap();
    let bobs = system
        .put_surface(t, &card("D2", "3.1"), Audience::Person(bob))
        .await
        .unwrap();
    system
        .put_surface(t, &card("D3", "4.1"), Audience::Person(cay))
        .await
        .unwrap();
    system.close_surface(&card("D3", "4.1")).await.unwrap();
    let shared = system
        .put_surface(t, &card("G1", "5.1"), Audience::Shared)
        .await
        .unwrap();
    for p in [ann, bob] {
        system.add_surface_member(shared.id, p).await.unwrap();
    }

    let read = system
        .surfaces_with_readers(t, Platform::Slack)
        .await
        .unwrap();
    let surfaces: Vec<_> = read.iter().map(|(s, _)| s.clone()).collect();
    assert_eq!(
        surfaces,
        system.surfaces_of_ticket(t, Platform::Slack).await.unwrap()
    );
    for (s, reader) in &read {
        assert_eq!(reader, &system.reader(s).await.unwrap(), "{s:?}");
        for shown in [Shown::PublicReply, Shown::InternalNote] {
            assert_eq!(
                reader.may_show(shown),
                system.may_show(s, shown).await.unwrap(),
                "{s:?} {shown:?}"
            );
        }
    }
    let judged = |id| {
        let (_, r) = read.iter().find(|(s, _)| s.id == id).unwrap();
        (
            r.views(),
            r.may_show(Shown::PublicReply),
            r.may_show(Shown::InternalNote),
        )
    };
    assert_eq!(judged(staff.id), (true, true, true));
    assert_eq!(judged(anns.id), (true, true, false));
    // Bob may not read Ann's ticket; Cay's card is closed.
    assert_eq!(judged(bobs.id), (false, false, false));
    let (_, cays) = read.iter().find(|(s, _)| !s.is_live()).unwrap();
    assert!(!cays.may_show(Shown::PublicReply));
    assert_eq!(judged(shared.id), (true, true, false));
    assert_eq!(
        system.members_without_access(&shared).await.unwrap(),
        vec![bob]
    );
}

#[apply(backends)]
#[tokio::test]
async fn card_facts_read_for_an_event_serve_that_event_and_earlier_ones(#[case] kind: Kind) {
    let h = harness(kind).await;
    let ann = h.person("Ann").await;
    let t = h.open(ann, "VPN").await.ticket.id;
    let opened = h.newest_event("ticket_opened").await;
    assert_eq!(opened.ticket_id, Some(t));
    let other = h.open(ann, "Printer").await.ticket.id;
    // a clone of the engine (another consumer's) shares what was read.
    let consumer = h.engine.clone();
    let mine = h.engine.system();
    let first = mine.card_facts_since(t, opened.id).await.unwrap();
    assert_eq!(first.ticket.subject, "VPN");

    h.engine
        .edit_subject(&Ctx::new(ann), t, "VPN drops")
        .await
        .unwrap();
    let edited = h.newest_event("subject_edited").await;
    assert!(edited.id > opened.id);
    // for the opening (delivered by a consumer behind the first), the
    // facts read for it are taken as they are: no second read.
    assert_eq!(
        consumer
            .system()
            .card_facts_since(t, opened.id)
            .await
            .unwrap(),
        first
    );
    // for the edit, read again: they hold it.
    let after = consumer
        .system()
        .card_facts_since(t, edited.id)
        .await
        .unwrap();
    assert_eq!(after.ticket.subject, "VPN drops");
    assert_eq!(after, mine.card_facts(t).await.unwrap());
    // and from then on those serve the opening too, on either clone.
    let subject = |t, e| async move { mine.card_facts_since(t, e).await.unwrap().ticket.subject };
    assert_eq!(subject(t, opened.id).await, "VPN drops");
    // another ticket's facts are its own.
    assert_eq!(subject(other, edited.id).await, "Printer");
}

#[apply(backends)]
#[tokio::test]
async fn card_facts_kept_for_deliveries_go_stale_in_seconds_and_with_a_change_of_no_ticket(
    #[case] kind: Kind,
) {
    let h = harness(kind).await;
    let sam = h.staff("Sam").await;
    let ann = h.person("Ann").await;
    let billing = h.department(sam, "Billing").await;
    let t = h.open_in(ann, "Invoice", billing).await.ticket.id;
    let opened = h.newest_event("ticket_opened").await;
    let system = h.engine.system();
    let read = system.card_facts_since(t, opened.id).await.unwrap();
    assert_eq!(read.department.as_deref(), Some("Billing"));

    // a department renamed has no event of the ticket's: what was kept is
    // forgotten when it commits.
    h.engine
        .rename_department(&Ctx::new(sam), billing, "Accounts")
        .await
        .unwrap();
    let after = system.card_facts_since(t, opened.id).await.unwrap();
    assert_eq!(after.department.as_deref(), Some("Accounts"));

    // kept facts serve for a few seconds only: a consumer far behind reads
    // for itself (here a requester's name changed with no event at all).
    sqlx::query("update people set display_name = 'Ann Lee' where id = $1")
        .bind(ann.0)
        .execute(h.engine.db().pool())
        .await
        .unwrap();
    let kept = system.card_facts_since(t, opened.id).await.unwrap();
    assert_eq!(kept.requester_name, "Ann", "kept for a moment");
    h.engine.clock().advance(std::time::Duration::from_secs(6));
    let later = system.card_facts_since(t, opened.id).await.unwrap();
    assert_eq!(later.requester_name, "Ann Lee");
}
