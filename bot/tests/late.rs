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

fn slack(point: &str) {
    use threadesk_slack::testing::{form_encode, FakeSlack};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeSlack::start());
    fake.add_user("UBOB", "Bob Builder", "T1");
    let h = rt.block_on(harness(Kind::Sqlite));
    let secret = "a-signing-secret";
    let env = [
        ("SLACK_BOT_TOKEN", "xoxb-test".to_owned()),
        ("SLACK_SIGNING_SECRET", secret.to_owned()),
        ("SLACK_API_URL", fake.api_url.clone()),
        ("SLACK_STAFF_CHANNEL", "CSTAFF".to_owned()),
    ];
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
    use threadesk_discord::testing::{interaction, sign, FakeDiscord, Person, SUPPORT_CHANNEL};
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
        let ts = unix_now();
        let headers = [
            ("X-Signature-Ed25519", sign(&ts, submit.as_bytes())),
            ("X-Signature-Timestamp", ts),
        ];
        let _ = try_post(
            addr,
            "/discord/interactions",
            "application/json",
            &headers,
            &submit,
        );
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
