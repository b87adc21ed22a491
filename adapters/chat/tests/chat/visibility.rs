//! The visibility matrix: every viewer (requester; delegate invited,
//! accepted, revoked; company admin, and one revoked; staff, and staff who
//! left; a stranger) × every kind of message (public reply, delegate reply,
//! internal note, system line) × Slack and Discord, after each access
//! change: what the platform shows them is exactly what core says.

use rstest::rstest;
use rstest_reuse::apply;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;
use threadesk_core::domain::{may_show, PlatformIdentity, Shown, SurfaceKind};
use threadesk_core::engine::{Invitee, NewMessage};
use threadesk_core::outbox::Consumer;
use threadesk_core::testing::{harness, Harness, Kind};
use threadesk_core::{Ctx, DelegateId, PersonId, TicketId};
use threadesk_discord::testing::{FakeDiscord, GUILD, STAFF_CHANNEL, SUPPORT_CHANNEL};
use threadesk_discord::DiscordAdapter;
use threadesk_slack::testing::FakeSlack;
use threadesk_slack::{SlackAdapter, SlackConfig};

use threadesk_core::testing::backends;

const SLACK_STAFF: &str = "CSTAFF";

/// Someone known on both platforms.
#[derive(Debug, Clone)]
struct Viewer {
    role: &'static str,
    id: PersonId,
    slack: String,
    discord: String,
}

struct World {
    h: Harness,
    slack: SlackAdapter,
    sfake: FakeSlack,
    discord: DiscordAdapter,
    dfake: FakeDiscord,
    /// Slack users in the staff channel (Slack says who sees it).
    slack_staff: Mutex<Vec<String>>,
    /// Discord users holding the staff role (who see the staff channel).
    discord_staff: Mutex<BTreeSet<String>>,
    next: Mutex<u64>,
}

async fn world(kind: Kind) -> World {
    let h = harness(kind).await;
    let sfake = FakeSlack::start().await;
    sfake.set_members(SLACK_STAFF, &["UBOT"]);
    let mut config = SlackConfig::new("xoxb-test-token", "secret");
    config.api_url = sfake.api_url.clone();
    config.staff_channel = Some(SLACK_STAFF.into());
    let slack = SlackAdapter::new(h.engine.clone(), config).unwrap();
    slack.connect().await.unwrap();
    let dfake = FakeDiscord::start().await;
    let discord = DiscordAdapter::new(h.engine.clone(), dfake.config()).unwrap();
    discord.connect().await.unwrap();
    World {
        h,
        slack,
        sfake,
        discord,
        dfake,
        slack_staff: Mutex::new(vec!["UBOT".into()]),
        discord_staff: Mutex::new(BTreeSet::new()),
        next: Mutex::new(0),
    }
}

impl World {
    /// A person known on Slack and Discord.
    async fn viewer(&self, role: &'static str, name: &str, linker: PersonId) -> Viewer {
        let n = {
            let mut next = self.next.lock().unwrap();
            *next += 1;
            *next
        };
        let slack = format!("UVIEW{n}");
        let discord = (700_000_000_000_000_100 + n).to_string();
        self.sfake.add_user(&slack, name, "T1");
        let on_slack = PlatformIdentity::slack("T1", &slack);
        let p = self.h.engine.ensure_person(&on_slack, name).await.unwrap();
        self.h
            .engine
            .link_identities(
                &Ctx::new(linker),
                &on_slack,
                &PlatformIdentity::discord(GUILD, &discord),
            )
            .await
            .unwrap();
        Viewer {
            role,
            id: p.id,
            slack,
            discord,
        }
    }

    /// Staff on both platforms: in Slack's staff channel, with Discord's
    /// staff role.
    fn make_staff(&self, v: &Viewer, on: bool) {
        let mut members = self.slack_staff.lock().unwrap();
        members.retain(|m| *m != v.slack);
        if on {
            members.push(v.slack.clone());
        }
        let refs: Vec<&str> = members.iter().map(String::as_str).collect();
        self.sfake.set_members(SLACK_STAFF, &refs);
        let mut roles = self.discord_staff.lock().unwrap();
        if on {
            roles.insert(v.discord.clone());
        } else {
            roles.remove(&v.discord);
        }
    }

    async fn settle(&self) {
        for _ in 0..30 {
            let a = self.slack.mirror().pump().await.unwrap();
            let b = self.discord.mirror().pump().await.unwrap();
            if a + b == 0 {
                return;
            }
        }
        panic!("the outboxes did not settle");
    }

    /// The texts Slack shows a user: their DMs, and the channels they are in.
    fn slack_sees(&self, v: &Viewer) -> Vec<String> {
        let staff = self.slack_staff.lock().unwrap().contains(&v.slack);
        let dm = format!("D{}", v.slack);
        // posts and edits alike.
        ["chat.postMessage", "chat.update"]
            .iter()
            .flat_map(|m| self.sfake.calls_of(m))
            .filter(|a| a["channel"] == dm.as_str() || (staff && a["channel"] == SLACK_STAFF))
            .map(|a| a["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The texts Discord showed a user: the customer thread's messages
    /// that reached them (they were a member when it was posted), the staff
    /// channel's threads with the staff role, their DMs.
    fn discord_sees(&self, v: &Viewer) -> Vec<String> {
        let staff = self.discord_staff.lock().unwrap().contains(&v.discord);
        let mut seen: Vec<Value> = self
            .dfake
            .threads_in(SUPPORT_CHANNEL)
            .into_iter()
            .flat_map(|(id, _)| self.dfake.messages_in(&id))
            .filter(|m| {
                self.dfake
                    .delivered_to(m["id"].as_str().unwrap_or_default())
                    .contains(&v.discord)
            })
            .collect();
        let mut channels: Vec<String> = vec![];
        if staff {
            channels.extend(
                self.dfake
                    .threads_in(STAFF_CHANNEL)
                    .into_iter()
                    .map(|(id, _)| id),
            );
        }
        channels.extend(self.dfake.dm_of(&v.discord));
        seen.extend(channels.iter().flat_map(|c| self.dfake.messages_in(c)));
        seen.iter()
            .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Whether a viewer's Slack card was redrawn as revoked, and stayed
    /// so: no later redraw (of a status change, say) drew it live again.
    fn card_marked_revoked(&self, v: &Viewer) -> bool {
        let dm = format!("D{}", v.slack);
        self.sfake
            .calls_of("chat.update")
            .iter()
            .rfind(|u| u["channel"] == dm.as_str())
            .is_some_and(|u| u.to_string().contains("access to this ticket was revoked"))
    }

    /// Both fakes found every request we sent valid.
    fn no_violations(&self) {
        let (s, d) = (self.sfake.violations(), self.dfake.violations());
        assert!(s.is_empty(), "{s:?}");
        assert!(d.is_empty(), "{d:?}");
    }

    /// The customer thread's members on Discord.
    fn thread_members(&self) -> BTreeSet<String> {
        let threads = self.dfake.threads_in(SUPPORT_CHANNEL);
        assert_eq!(threads.len(), 1, "one customer thread");
        threads[0].1.members.clone()
    }
}

/// One message of each kind, each carrying a token of its round.
async fn round(
    w: &World,
    t: TicketId,
    n: usize,
    staff: &Viewer,
    delegate: &Viewer,
    requester: &Viewer,
) -> [(Shown, String); 4] {
    let e = &w.h.engine;
    let public = format!("R{n}PUBLIC");
    let reply = format!("R{n}DELEGATE");
    let note = format!("R{n}NOTE");
    let line = format!("R{n}LINE");
    e.reply(&Ctx::new(staff.id), t, NewMessage::text(&public))
        .await
        .unwrap();
    e.reply(&Ctx::new(delegate.id), t, NewMessage::text(&reply))
        .await
        .unwrap();
    e.note(&Ctx::new(staff.id), t, NewMessage::text(&note))
        .await
        .unwrap();
    // a system line: somebody declines an invitation.
    let decliner = w.h.person(&format!("{line} Decliner")).await;
    let d = e
        .invite_delegate(&Ctx::new(requester.id), t, Invitee::Person(decliner))
        .await
        .unwrap();
    e.decline_delegation(&Ctx::new(decliner), d.id)
        .await
        .unwrap();
    [
        (Shown::PublicReply, public),
        (Shown::DelegateReply, reply),
        (Shown::InternalNote, note),
        (Shown::SystemLine, line),
    ]
}

/// Every viewer × kind × platform where what is shown is not what core
/// says; empty when they agree.
async fn disagreements(
    w: &World,
    t: TicketId,
    phase: &str,
    viewers: &[&Viewer],
    posted: &[(Shown, String); 4],
) -> Vec<String> {
    let mut out = vec![];
    for v in viewers {
        let role = w.h.engine.system().role_on(v.id, t).await.unwrap();
        let seen = [("slack", w.slack_sees(v)), ("discord", w.discord_sees(v))];
        for (shown, token) in posted {
            let allowed = may_show(SurfaceKind::OwnCard, role, *shown);
            for (platform, texts) in &seen {
                let shows = texts.iter().any(|x| x.contains(token.as_str()));
                if shows != allowed {
                    out.push(format!(
                        "{phase}: {} ({role:?}) on {platform}: {shown:?} shown {shows}, core says {allowed}",
                        v.role
                    ));
                }
            }
        }
    }
    out
}

#[apply(backends)]
#[tokio::test]
async fn every_platform_shows_each_person_what_core_says_after_each_access_change(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let e = w.h.engine.clone();
    let root = w.h.staff("Root").await;
    let staff = w.viewer("staff", "Sam Support", root).await;
    let leaver = w.viewer("staff who left", "Lee Leaving", root).await;
    for s in [&staff, &leaver] {
        e.bootstrap_staff(s.id, true).await.unwrap();
        w.make_staff(s, true);
    }
    let acme = w.h.org(root, "Acme").await;
    let requester = w.viewer("requester", "Rita Requester", root).await;
    let admin = w.viewer("company admin", "Ada Admin", root).await;
    let revoked_admin = w.viewer("company admin revoked", "Cy Admin", root).await;
    for p in [&requester, &admin, &revoked_admin] {
        e.set_organization(&Ctx::new(root), p.id, Some(acme))
            .await
            .unwrap();
    }
    for p in [&admin, &revoked_admin] {
        e.grant_company_admin(&Ctx::new(root), p.id).await.unwrap();
    }
    let accepted = w.viewer("delegate accepted", "Del Accepted", root).await;
    let invited = w.viewer("delegate invited", "Ivy Invited", root).await;
    let revoked = w.viewer("delegate revoked", "Vic Revoked", root).await;
    let stranger = w.viewer("stranger", "Eve Stranger", root).await;

    let t = w.h.open(requester.id, "Printer on fire").await.ticket.id;
    let mut delegations: Vec<DelegateId> = vec![];
    for d in [&accepted, &invited, &revoked] {
        let made = e
            .invite_delegate(&Ctx::new(requester.id), t, Invitee::Person(d.id))
            .await
            .unwrap();
        delegations.push(made.id);
    }
    for (d, id) in [(&accepted, delegations[0]), (&revoked, delegations[2])] {
        e.accept_delegation(&Ctx::new(d.id), id).await.unwrap();
    }
    w.settle().await;
    // the admins and the second staff member follow the ticket in chat.
    for p in [&admin, &revoked_admin, &leaver] {
        w.slack.mirror().follow(t, p.id, None).await.unwrap();
        w.discord.mirror().follow(t, p.id, None).await.unwrap();
    }
    w.settle().await;
    let viewers = [
        &requester,
        &accepted,
        &invited,
        &revoked,
        &admin,
        &revoked_admin,
        &staff,
        &leaver,
        &stranger,
    ];
    let mut wrong = vec![];

    let posted = round(&w, t, 1, &staff, &accepted, &requester).await;
    w.settle().await;
    wrong.extend(disagreements(&w, t, "everyone in", &viewers, &posted).await);

    // a delegate revoked.
    e.revoke_delegate(&Ctx::new(requester.id), delegations[2])
        .await
        .unwrap();
    let posted = round(&w, t, 2, &staff, &accepted, &requester).await;
    w.settle().await;
    wrong.extend(disagreements(&w, t, "delegate revoked", &viewers, &posted).await);
    assert!(!w.thread_members().contains(&revoked.discord));

    // a company ticket admin revoked: the next reply reaches them nowhere.
    e.revoke_company_admin(&Ctx::new(root), revoked_admin.id)
        .await
        .unwrap();
    let posted = round(&w, t, 3, &staff, &accepted, &requester).await;
    w.settle().await;
    wrong.extend(disagreements(&w, t, "company admin revoked", &viewers, &posted).await);
    assert!(
        !w.thread_members().contains(&revoked_admin.discord),
        "a revoked company admin is removed from the Discord thread"
    );

    // a staff member leaves the staff channel and loses the staff role.
    w.make_staff(&leaver, false);
    e.set_staff(&Ctx::new(root), leaver.id, false)
        .await
        .unwrap();
    let posted = round(&w, t, 4, &staff, &accepted, &requester).await;
    w.settle().await;
    wrong.extend(disagreements(&w, t, "staff left", &viewers, &posted).await);
    assert!(!w.thread_members().contains(&leaver.discord));

    // an edit after all that reaches only those who may still see it: a
    // closed Slack card keeps its old copy.
    let first = e
        .thread(staff.id, t)
        .await
        .unwrap()
        .messages
        .into_iter()
        .find(|m| m.body == "R1PUBLIC")
        .unwrap();
    e.edit_message(&Ctx::new(staff.id), first.id, "R1PUBLIC R5EDIT")
        .await
        .unwrap();
    w.settle().await;
    for v in &viewers {
        let role = e.system().role_on(v.id, t).await.unwrap();
        let allowed = may_show(SurfaceKind::OwnCard, role, Shown::PublicReply);
        let shows = w.slack_sees(v).iter().any(|x| x.contains("R5EDIT"));
        if shows != allowed {
            wrong.push(format!(
                "edit: {} ({role:?}) on slack: shown {shows}, core says {allowed}",
                v.role
            ));
        }
    }

    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // who keeps their place: the requester, the accepted delegate and the admin.
    let members = w.thread_members();
    for p in [&requester, &accepted, &admin] {
        assert!(members.contains(&p.discord), "{} left the thread", p.role);
    }
    // Slack cards of those who lost access are marked so.
    for p in [&revoked, &revoked_admin, &leaver] {
        assert!(
            w.card_marked_revoked(p),
            "{}'s Slack card is not marked revoked",
            p.role
        );
    }
    w.no_violations();
}

/// Root (staff), a requester and their company's ticket admin in Acme, and
/// the requester's ticket, which the admin follows on both platforms.
async fn admin_following(w: &World) -> (PersonId, Viewer, Viewer, TicketId) {
    let e = &w.h.engine;
    let root = w.h.staff("Root").await;
    let acme = w.h.org(root, "Acme").await;
    let requester = w.viewer("requester", "Rita Requester", root).await;
    let admin = w.viewer("company admin", "Ada Admin", root).await;
    for p in [&requester, &admin] {
        e.set_organization(&Ctx::new(root), p.id, Some(acme))
            .await
            .unwrap();
    }
    e.grant_company_admin(&Ctx::new(root), admin.id)
        .await
        .unwrap();
    let t = w.h.open(requester.id, "Printer on fire").await.ticket.id;
    w.settle().await;
    w.slack.mirror().follow(t, admin.id, None).await.unwrap();
    w.discord.mirror().follow(t, admin.id, None).await.unwrap();
    w.settle().await;
    (root, requester, admin, t)
}

#[apply(backends)]
#[tokio::test]
async fn a_requester_who_changes_organization_takes_the_old_admins_access_along_at_once(
    #[case] kind: Kind,
) {
    let w = world(kind).await;
    let e = w.h.engine.clone();
    let (root, requester, admin, _) = admin_following(&w).await;
    let other = w.h.org(root, "Globex").await;
    assert!(w.thread_members().contains(&admin.discord));

    // the requester moves: nothing else happens on the ticket.
    e.set_organization(&Ctx::new(root), requester.id, Some(other))
        .await
        .unwrap();
    w.settle().await;
    assert!(
        !w.thread_members().contains(&admin.discord),
        "the old organization's admin left the Discord thread with the move"
    );
    assert!(
        w.thread_members().contains(&requester.discord),
        "the requester stays"
    );
    assert!(
        w.card_marked_revoked(&admin),
        "the admin's Slack card is marked revoked with the move"
    );
    w.no_violations();
}

#[apply(backends)]
#[tokio::test]
async fn a_card_closed_on_the_way_is_redrawn_as_revoked_by_the_event_that_found_it(
    #[case] kind: Kind,
) {
    // a ticket's event can be delivered before the event of a person's
    // lost access (they queue apart): that delivery closes the card, and
    // its own redraw of the ticket's cards must keep it closed.
    let w = world(kind).await;
    let e = w.h.engine.clone();
    let (root, _, admin, t) = admin_following(&w).await;
    assert!(!w.card_marked_revoked(&admin), "a live card to begin with");

    e.revoke_company_admin(&Ctx::new(root), admin.id)
        .await
        .unwrap();
    e.set_status(&Ctx::new(root), t, threadesk_core::domain::Status::OnHold)
        .await
        .unwrap();
    // only the status change is delivered: the admin's own event waits.
    let outbox = threadesk_core::outbox::Outbox::new(e.db().clone());
    let name = <threadesk_chat::Mirror<SlackAdapter> as Consumer>::NAME;
    let claimed = outbox
        .claim(name, 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let status = claimed
        .iter()
        .find(|d| d.event.ticket_id == Some(t))
        .expect("the status change is handed out");
    w.slack.mirror().deliver(&status.event).await.unwrap();
    assert!(
        w.card_marked_revoked(&admin),
        "the status change's redraw left the admin's card live"
    );
    for d in &claimed {
        outbox.ack(name, d.event.id).await.unwrap();
    }
    w.settle().await;
    assert!(w.card_marked_revoked(&admin));
    w.no_violations();
}
