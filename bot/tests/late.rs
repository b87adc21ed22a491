//! A chat request acknowledged first survives the process: `threadesk` is
//! made to abort, as `kill -9` would, at each moment it holds a New ticket
//! form from Slack or Discord (stored; handled, the ticket committed but
//! not answered; answered, not yet forgotten), and is started again. The
//! form is then handled once (one ticket), and its answer is shown in the
//! place of the acknowledgement, the same each time it is given.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use threadesk_chat::late::{ANSWERED, HANDLED, STORED};
use threadesk_core::faults;
use threadesk_core::inbound::Inbound;
use threadesk_core::testing::{harness, Harness, Kind};

/// The lease the processes run with: a dead one's request is taken up
/// again this soon.
const LEASE_MS: &str = "300";

fn start(
    h: &Harness,
    env: &[(&str, String)],
    point: Option<&str>,
) -> (Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let mut cmd = threadesk(dir.path());
    cmd.env("DATABASE_URL", &h.url)
        .env("OUTBOX_LEASE_MS", LEASE_MS)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(p) = point {
        cmd.env(faults::VARIABLE, p);
    }
    let mut child = cmd.spawn().expect("threadesk starts");
    let (addr, _) = wait_for_portal(&mut child);
    (child, addr, dir)
}

fn aborted(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert_eq!(
                status.signal(),
                Some(6),
                "ended at its crash point: {status}"
            );
            return;
        }
        assert!(Instant::now() < deadline, "never reached its crash point");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stopped(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(wait_exit(child).success());
}

/// What the platform was shown, each time it was shown.
type Shown = Box<dyn Fn() -> Vec<String>>;

/// Sends the form to a process that dies at `point`, starts another, and
/// checks the outcome; `send` posts the form, `shown` lists the answers.
fn survives(
    rt: &tokio::runtime::Runtime,
    h: &Harness,
    platform: &str,
    env: &[(&str, String)],
    point: &str,
    send: impl Fn(&str),
    shown: Shown,
) {
    let inbound = Inbound::new(h.engine.db().clone());
    let (mut first, addr, _dir) = start(h, env, Some(point));
    send(&addr);
    aborted(&mut first);
    assert_eq!(
        rt.block_on(inbound.backlog(platform)).unwrap().pending,
        1,
        "the form is still stored after a crash at {point}"
    );
    let before = shown().len();
    let (mut second, addr2, _dir) = start(h, env, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt.block_on(inbound.backlog(platform)).unwrap().pending > 0 || shown().len() == before {
        assert!(
            Instant::now() < deadline,
            "{platform} at {point}: never handled"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let (status, metrics) = get(&addr2, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(
        metrics.contains(&format!(
            "threadesk_inbound_pending{{platform=\"{platform}\"}} 0"
        )),
        "{metrics}"
    );
    stopped(&mut second);
    let tickets: i64 = rt
        .block_on(
            sqlx::query_scalar("select count(*) from tickets").fetch_one(h.engine.db().pool()),
        )
        .unwrap();
    assert_eq!(tickets, 1, "{platform} at {point}: opened once");
    let answers = shown();
    // answered once before the crash at ANSWERED, and again after it.
    let expected = if point == ANSWERED { 2 } else { 1 };
    assert_eq!(
        answers.len(),
        expected,
        "{platform} at {point}: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|a| a == &answers[0] && a.contains("is open")),
        "{platform} at {point}: the same answer each time: {answers:?}"
    );
}

/// The Slack signing secret the processes are started with.
const SLACK_SECRET: &str = "a-signing-secret";

/// The settings of a process talking to the fake Slack.
fn slack_env(fake: &threadesk_slack::testing::FakeSlack) -> [(&'static str, String); 4] {
    [
        ("SLACK_BOT_TOKEN", "xoxb-test".to_owned()),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET.to_owned()),
        ("SLACK_API_URL", fake.api_url.clone()),
        ("SLACK_STAFF_CHANNEL", "CSTAFF".to_owned()),
    ]
}

fn slack(point: &str) {
    use threadesk_slack::testing::{form_encode, FakeSlack};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeSlack::start());
    fake.add_user("UBOB", "Bob Builder", "T1");
    let h = rt.block_on(harness(Kind::Sqlite));
    let secret = SLACK_SECRET;
    let env = slack_env(&fake);
    let view = serde_json::json!({ "type": "view_submission",
        "user": { "id": "UBOB", "team_id": "T1" }, "team": { "id": "T1" }, "trigger_id": "t1",
        "view": { "id": "V1", "hash": "h1", "callback_id": "td_new_ticket", "state": { "values": {
            "subject": { "value": { "type": "plain_text_input", "value": "VPN down" } },
            "message": { "value": { "type": "plain_text_input", "value": "since this morning" } } } } } });
    let body = form_encode(&[("payload", &view.to_string())]);
    let send = |addr: &str| {
        // the process may be gone before it answers.
        let _ = try_post_slack(addr, "/slack/interactions", secret, &body);
    };
    let watched = fake.clone();
    let shown: Shown = Box::new(move || {
        watched
            .calls_of("views.update")
            .iter()
            .map(|u| format!("{} {}", u["view_id"], u["view"]))
            .collect()
    });
    survives(&rt, &h, "slack", &env, point, send, shown);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

fn discord(point: &str) {
    use threadesk_discord::testing::{interaction, FakeDiscord, Person, SUPPORT_CHANNEL};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeDiscord::start());
    let h = rt.block_on(harness(Kind::Sqlite));
    let dir = tempfile::tempdir().expect("dir");
    let env = fake.settings_in(dir.path());
    let bob = Person::new(700000000000000001, "Bob Builder");
    let submit = interaction::modal(
        &bob,
        &SUPPORT_CHANNEL.to_string(),
        "open:0",
        &[("subject", "VPN down"), ("message", "since this morning")],
    )
    .to_string();
    let send = |addr: &str| {
        // the process may be gone before it answers.
        let _ = try_post_discord(addr, &submit);
    };
    let watched = fake.clone();
    let shown: Shown = Box::new(move || {
        watched
            .calls_to("PATCH", "/webhooks/*/*/messages/@original")
            .iter()
            .map(|c| format!("{} {}", c.path, c.body))
            .collect::<Vec<_>>()
    });
    survives(&rt, &h, "discord", &env, point, send, shown);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[test]
fn slack_form_killed_once_stored() {
    slack(STORED);
}

#[test]
fn slack_form_killed_once_handled() {
    slack(HANDLED);
}

#[test]
fn slack_form_killed_once_answered() {
    slack(ANSWERED);
}

#[test]
fn discord_form_killed_once_stored() {
    discord(STORED);
}

#[test]
fn discord_form_killed_once_handled() {
    discord(HANDLED);
}

#[test]
fn discord_form_killed_once_answered() {
    discord(ANSWERED);
}

/// A Slack event still being handled when its answer is due is
/// acknowledged once stored; the process is killed (`kill -9`) right
/// after that acknowledgement, before the handling commits. Slack will not
/// deliver an acknowledged event again: the next process takes it up from
/// the store, and the reply lands once, mirrored once.
#[test]
fn slack_event_acknowledged_past_the_budget_survives_a_kill() {
    use threadesk_slack::testing::{signature, FakeSlack};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeSlack::start());
    fake.add_user("UBOB", "Bob Builder", "T1");
    fake.add_user("USAM", "Sam Support", "T1");
    fake.set_members("CSTAFF", &["USAM"]);
    let h = rt.block_on(harness(Kind::Sqlite));
    let ticket = rt.block_on(async {
        let bob = slack_bob(&h).await;
        h.open(bob, "Printer jams").await
    });
    let secret = SLACK_SECRET;
    let env = slack_env(&fake);
    let (mut first, addr, _dir) = start(&h, &env, None);
    // the cards: Bob's in his DM, the staff's in the staff channel.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (card, staff_card) = loop {
        let dm = fake.posts("DUBOB", None);
        let staff = fake.posts("CSTAFF", None);
        if let (Some(d), Some(s)) = (dm.first(), staff.first()) {
            break (
                d.answer["ts"].as_str().unwrap().to_owned(),
                s.answer["ts"].as_str().unwrap().to_owned(),
            );
        }
        assert!(Instant::now() < deadline, "no cards: {:?}", fake.calls());
        std::thread::sleep(Duration::from_millis(25));
    };
    // Sam is new to the bot: his profile is read first, and Slack is slow.
    let slow = threadesk_slack::ANSWER_BUDGET * 4;
    fake.delay_next("users.info", slow);
    let event = serde_json::json!({ "token": "x", "team_id": "T1", "api_app_id": "A1",
        "type": "event_callback", "event_id": "EvSlowKill", "event_time": 1800000000,
        "event": { "type": "message", "channel": "CSTAFF", "user": "USAM", "channel_type": "channel",
            "text": "Try the other tray.", "ts": "1800000001.000100", "thread_ts": staff_card } })
    .to_string();
    let ts = unix_now();
    let headers = [
        ("X-Slack-Request-Timestamp", ts.clone()),
        ("X-Slack-Signature", signature(secret, &ts, &event)),
    ];
    let asked = Instant::now();
    let (status, _) = post(&addr, "/slack/events", "application/json", &headers, &event);
    assert!(status.contains("200"), "{status}");
    assert!(asked.elapsed() < slow, "acknowledged before it was handled");
    let _ = Command::new("kill")
        .args(["-KILL", &first.id().to_string()])
        .status();
    let _ = first.wait();
    let replies = || -> i64 {
        rt.block_on(
            sqlx::query_scalar(
                "select count(*) from messages where ticket_id = $1 and body like '%other tray%'",
            )
            .bind(ticket.ticket.id.0)
            .fetch_one(h.engine.db().pool()),
        )
        .unwrap()
    };
    assert_eq!(replies(), 0, "killed before the handling committed");
    let inbound = Inbound::new(h.engine.db().clone());
    assert_eq!(
        rt.block_on(inbound.backlog("slack")).unwrap().pending,
        1,
        "the acknowledged event is stored"
    );
    let (mut second, _, _dir2) = start(&h, &env, None);
    let mirrored = || {
        fake.posts("DUBOB", Some(&card))
            .iter()
            .filter(|p| p.args["text"].to_string().contains("other tray"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while mirrored() == 0 || rt.block_on(inbound.backlog("slack")).unwrap().pending > 0 {
        assert!(
            Instant::now() < deadline,
            "never handled: {:?}",
            fake.calls()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    std::thread::sleep(Duration::from_millis(500));
    stopped(&mut second);
    assert_eq!(replies(), 1, "the reply landed once");
    assert_eq!(mirrored(), 1, "and was mirrored once");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

/// A Discord button still being handled past the budget (the ticket's row
/// held by another writer) is stored, then deferred; the process dies
/// right after storing it, before the close commits. The next process
/// takes it up: the ticket is closed once and the answer is edited into
/// the deferral.
#[test]
fn discord_button_deferred_past_the_budget_survives_a_crash() {
    use threadesk_core::domain::{PlatformIdentity, Status};
    use threadesk_discord::testing::{interaction, FakeDiscord, Person, GUILD};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeDiscord::start());
    let h = rt.block_on(harness(Kind::Postgres));
    let dir = tempfile::tempdir().expect("dir");
    let env = fake.settings_in(dir.path());
    let bob = Person::new(700000000000000001, "Bob Builder");
    let ticket = rt.block_on(async {
        let id = h
            .engine
            .ensure_person(&PlatformIdentity::discord(GUILD, &bob.id), "Bob Builder")
            .await
            .expect("Bob")
            .id;
        h.open(id, "Printer jams").await.ticket
    });
    let (mut first, addr, _dir) = start(&h, &env, Some(STORED));
    // another writer holds the ticket's row past the budget.
    let held = threadesk_discord::ANSWER_BUDGET * 2;
    let mut tx = rt
        .block_on(h.engine.db().pool().begin())
        .expect("a transaction");
    rt.block_on(
        sqlx::query("select id from tickets where id = $1 for update")
            .bind(ticket.id.0)
            .fetch_one(&mut *tx),
    )
    .expect("the row held");
    let holding = rt.spawn(async move {
        tokio::time::sleep(held).await;
        tx.commit().await.expect("released");
    });
    let press = interaction::component(
        &bob,
        "810000000000000001",
        &format!("close-yes:{}", ticket.id.0),
        2,
        None,
    )
    .to_string();
    // it is stored before it is deferred, so the process may die first.
    if let Ok((status, answer)) = try_post_discord(&addr, &press) {
        assert!(status.contains("200"), "{status}");
        assert!(answer.contains("\"type\":5"), "a deferral: {answer}");
    }
    aborted(&mut first);
    let inbound = Inbound::new(h.engine.db().clone());
    assert_eq!(
        rt.block_on(inbound.backlog("discord")).unwrap().pending,
        1,
        "the deferred press is stored"
    );
    let edits = || fake.calls_to("PATCH", "/webhooks/*/*/messages/@original");
    assert!(edits().is_empty(), "not answered before the crash");
    let (mut second, _, _dir2) = start(&h, &env, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while edits().is_empty() || rt.block_on(inbound.backlog("discord")).unwrap().pending > 0 {
        assert!(
            Instant::now() < deadline,
            "never taken up: {:?}",
            fake.calls()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    rt.block_on(holding).expect("the holder");
    stopped(&mut second);
    let edited = edits();
    assert_eq!(edited.len(), 1, "{edited:?}");
    assert!(
        edited[0].body.to_string().contains("is closed"),
        "{:?}",
        edited[0].body
    );
    let staff = rt.block_on(h.staff("Root"));
    let now = rt
        .block_on(h.engine.ticket(staff, ticket.id))
        .expect("the ticket");
    assert_eq!(now.status, Status::Closed);
    let closings: i64 = rt
        .block_on(
            sqlx::query_scalar(
                "select count(*) from outbox_events where ticket_id = $1 and kind = 'ticket_closed'",
            )
            .bind(ticket.id.0)
            .fetch_one(h.engine.db().pool()),
        )
        .unwrap();
    assert_eq!(closings, 1, "closed once");
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
