//! Losing access on Discord: a staff role taken away (seen in a gateway
//! member update, with the Server Members intent) takes the person out of
//! the ticket threads they were in, before anything further is posted.

use crate::helpers::*;
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::json;
use threadesk_discord::testing::GUILD;

#[apply(backends)]
#[tokio::test]
async fn a_staff_role_taken_away_removes_them_from_ticket_threads_at_once(#[case] kind: Kind) {
    let w = world_with(kind, |c| c.member_events = true).await;
    let t = w.open_ticket(&bob(), "Printer", "It is on fire").await;
    w.gateway().await;
    assert_ne!(
        w.fake.gateway().intents() & (1 << 1),
        0,
        "asks for member updates (GUILD_MEMBERS)"
    );
    // Sam answers in the customer thread, which makes him one of its members.
    let said = w.fake.user_message(&t.thread, &sam(), "Unplug it");
    w.fake.gateway().dispatch("MESSAGE_CREATE", said);
    w.wait_messages(t.id, 2).await;
    w.settle().await;
    let sam_id = sam().id;
    let sam_person = w.person(&sam()).await;
    let shared = w
        .discord
        .mirror()
        .shared_surface(t.id)
        .await
        .unwrap()
        .expect("a customer thread");
    let members = || async {
        w.h.engine
            .system()
            .surface_members(shared.id)
            .await
            .unwrap()
    };
    assert!(
        members().await.contains(&sam_person),
        "writing there joined it"
    );

    // Sam's staff role is taken away.
    let update = json!({
        "guild_id": GUILD, "roles": [], "user": sam().user(), "nick": null,
        "avatar": null, "joined_at": "2026-01-01T00:00:00.000000+00:00", "premium_since": null,
        "deaf": false, "mute": false, "pending": false, "flags": 0,
        "communication_disabled_until": null,
    });
    w.fake.gateway().dispatch("GUILD_MEMBER_UPDATE", update);
    let staff = w.h.staff("Checker").await;
    for _ in 0..200 {
        if !w.h.engine.person(sam_person).await.unwrap().person.is_staff {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        !w.h.engine.person(sam_person).await.unwrap().person.is_staff,
        "no longer staff"
    );
    // the member update alone takes him out, before anything is posted.
    let thread_posts = format!("/channels/{}/messages", t.thread);
    let posts_before = w.fake.calls_to("POST", &thread_posts).len();
    w.settle().await;
    let removal = format!("/channels/{}/thread-members/{sam_id}", t.thread);
    assert_eq!(
        w.fake.calls_to("DELETE", &removal).len(),
        1,
        "taken out of the customer thread on the member update"
    );
    assert_eq!(
        w.fake.calls_to("POST", &thread_posts).len(),
        posts_before,
        "nothing was posted in between"
    );
    w.h.reply(staff, t.id, "Sam moved to another team")
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.fake.calls_to("DELETE", &removal).len(), 1, "once");
    assert!(!w.fake.channel(&t.thread).unwrap().members.contains(&sam_id));
    assert!(!members().await.contains(&sam_person));
    assert!(
        w.fake
            .channel(&t.thread)
            .unwrap()
            .members
            .contains(&bob().id),
        "the requester stays"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_staff_member_who_leaves_the_server_is_no_longer_staff(#[case] kind: Kind) {
    let w = world_with(kind, |c| c.member_events = true).await;
    let t = w.open_ticket(&bob(), "Printer", "It is on fire").await;
    w.gateway().await;
    let said = w.fake.user_message(&t.thread, &sam(), "Unplug it");
    w.fake.gateway().dispatch("MESSAGE_CREATE", said);
    w.wait_messages(t.id, 2).await;
    let sam_person = w.person(&sam()).await;
    assert!(w.h.engine.person(sam_person).await.unwrap().person.is_staff);
    // a stranger leaving changes nothing and creates nobody.
    let people_before = w.h.engine.system().followers(t.id).await.unwrap();
    let stranger = json!({ "id": "999000111", "username": "zed", "discriminator": "0", "avatar": null, "global_name": null });
    w.fake.gateway().dispatch(
        "GUILD_MEMBER_REMOVE",
        json!({ "guild_id": GUILD, "user": stranger }),
    );
    w.fake.gateway().dispatch(
        "GUILD_MEMBER_REMOVE",
        json!({ "guild_id": GUILD, "user": sam().user() }),
    );
    let mut staff = true;
    for _ in 0..200 {
        staff = w.h.engine.person(sam_person).await.unwrap().person.is_staff;
        if !staff {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(!staff, "leaving the server ends the staff role's rights");
    let stranger_identity =
        threadesk_core::domain::PlatformIdentity::discord(GUILD.to_string(), "999000111");
    assert!(w
        .h
        .engine
        .person_by_identity(&stranger_identity)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        w.h.engine.system().followers(t.id).await.unwrap(),
        people_before
    );
    w.no_violations();
}
