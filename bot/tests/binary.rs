//! The `threadesk` binary as a user runs it: it starts on an SQLite file
//! with no credentials, serves the portal and the ops routes, stops cleanly
//! on SIGTERM, and refuses a malformed configuration naming the variable.
//! With Slack credentials it answers Slack on its listener and its outbox
//! worker posts to a fake Slack Web API; with Discord credentials it
//! connects to a fake Discord gateway and answers signed interactions.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

#[test]
fn starts_with_no_credentials_serves_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = threadesk(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("threadesk starts");
    let (addr, lines) = wait_for_portal(&mut child);
    let text = lines.join("\n");
    assert!(text.contains("seeded a demo"), "{text}");
    assert!(text.contains("local mode"), "{text}");
    // no transparent huge pages, whatever the system's setting: the kernel
    // would fill what the allocator hands back in again, 2 MiB at a time
    // (`bot/src/main.rs`). (The status line is there since Linux 5.0.)
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .expect("the process's status");
        let thp = status
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .map(str::trim);
        assert_eq!(thp, Some("0"), "{status}");
    }
    let (status, body) = get(&addr, "/healthz");
    assert!(status.contains("200"), "{status}");
    assert_eq!(body.trim(), "ok");
    let (status, _) = get(&addr, "/readyz");
    assert!(status.contains("200"), "{status}");
    let (status, _) = get(&addr, "/signin");
    assert!(status.contains("200"), "{status}");
    let (status, metrics) = get(&addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(
        metrics.contains("threadesk_commands_total{op=\"open_ticket\",outcome=\"ok\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "threadesk_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE threadesk_outbox_pending gauge"));
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    let (txs, commits) = (
        counter("threadesk_write_transactions_total"),
        counter("threadesk_write_commits_total"),
    );
    assert!(
        commits > 0 && commits <= txs,
        "{txs} transactions, {commits} commits"
    );
    assert!(metrics.contains("# TYPE threadesk_tickets_overdue gauge"));
    assert!(metrics.contains("# TYPE threadesk_first_response_seconds histogram"));
    // the demo's closed ticket was rated.
    assert!(
        metrics.contains("threadesk_ratings{department=\"Billing\",owner=\"none\",score=\"5\"} 1"),
        "{metrics}"
    );
    // the demo's staff answered one ticket at once.
    assert!(
        metrics.contains("threadesk_first_response_seconds_bucket{department=\"")
            && metrics.contains("le=\"300\"} 1"),
        "{metrics}"
    );
    terminate(&child);
    let status = wait_exit(&mut child);
    assert!(status.success(), "exit status {status:?}");
    assert!(dir.path().join("threadesk.db").exists());

    // a second start finds data and seeds nothing.
    let mut again = threadesk(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("threadesk starts again");
    let (_, lines) = wait_for_portal(&mut again);
    assert!(!lines.join("\n").contains("seeded a demo"));
    terminate(&again);
    assert!(wait_exit(&mut again).success());
}

#[test]
fn a_malformed_variable_stops_start_up_and_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    for (name, value) in [
        ("DATABASE_URL", "mysql://nope"),
        ("LISTEN_ADDR", "everywhere"),
        ("LOG_FORMAT", "xml"),
    ] {
        let out = threadesk(dir.path())
            .env(name, value)
            .output()
            .expect("threadesk runs");
        assert!(!out.status.success(), "{name}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    let out = threadesk(dir.path())
        .env("DATABASE_URL", "postgres://nobody:hunter2@127.0.0.1:1/none")
        .output()
        .expect("threadesk runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}

#[test]
fn migrate_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().expect("dir");
    let out = threadesk(dir.path())
        .arg("migrate")
        .output()
        .expect("threadesk runs");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
    let help = threadesk(dir.path()).arg("--help").output().expect("help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("migrate") && text.contains("--no-demo"),
        "{text}"
    );
}

/// A plain HTTP/1.1 POST with extra headers; returns the status line and body.
#[test]
fn with_slack_credentials_it_serves_slack_and_posts_from_the_outbox() {
    use threadesk_slack::testing::{form_encode, FakeSlack};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fake = runtime.block_on(FakeSlack::start());
    fake.add_user("UBOB", "Bob Builder", "T1");
    let secret = "a-signing-secret";
    let dir = tempfile::tempdir().expect("dir");
    let mut child = threadesk(dir.path())
        .env("SLACK_BOT_TOKEN", "xoxb-test")
        .env("SLACK_SIGNING_SECRET", secret)
        .env("SLACK_API_URL", &fake.api_url)
        .env("SLACK_STAFF_CHANNEL", "CSTAFF")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("threadesk starts");
    let (addr, lines) = wait_for_portal(&mut child);
    let text = lines.join("\n");
    assert!(text.contains("Slack: connected to workspace T1"), "{text}");
    assert!(
        !text.contains("seeded a demo"),
        "no demo next to a real workspace"
    );

    let view = serde_json::json!({ "type": "view_submission", "user": { "id": "UBOB" }, "team": { "id": "T1" }, "trigger_id": "t1",
        "view": { "id": "V1", "callback_id": "td_new_ticket", "state": { "values": {
            "subject": { "value": { "type": "plain_text_input", "value": "VPN down" } },
            "message": { "value": { "type": "plain_text_input", "value": "since this morning" } } } } } });
    let body = form_encode(&[("payload", &view.to_string())]);
    let (status, answer) = post_slack(&addr, "/slack/interactions", secret, &body);
    assert!(status.contains("200"), "{status}");
    assert!(
        answer.contains("\"response_action\":\"update\""),
        "{answer}"
    );
    // acknowledged first: "Opening your ticket…", then the opened ticket.
    assert!(answer.contains("Opening your ticket"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fake
        .calls_of("views.update")
        .iter()
        .any(|v| v["view"].to_string().contains("is open"))
    {
        assert!(Instant::now() < deadline, "no answer: {:?}", fake.calls());
        std::thread::sleep(Duration::from_millis(50));
    }
    // the outbox worker posts the staff card and Bob's DM card on its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.posts("CSTAFF", None).is_empty() || fake.posts("DUBOB", None).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no cards were posted: {:?}",
            fake.calls()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let (status, _) = post(
        &addr,
        "/slack/interactions",
        "application/x-www-form-urlencoded",
        &[],
        &body,
    );
    assert!(
        status.contains("401"),
        "unsigned requests are refused: {status}"
    );
    terminate(&child);
    assert!(wait_exit(&mut child).success());
}

#[test]
fn with_discord_credentials_it_connects_the_gateway_and_answers_interactions() {
    use threadesk_discord::testing::{interaction, FakeDiscord, Person, SUPPORT_CHANNEL};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fake = runtime.block_on(FakeDiscord::start());
    let dir = tempfile::tempdir().expect("dir");
    let mut child = threadesk(dir.path())
        .envs(fake.settings_in(dir.path()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("threadesk starts");
    let (addr, lines) = wait_for_portal(&mut child);
    let text = lines.join("\n");
    assert!(
        text.contains("Discord: connected to server 800000000000000001"),
        "{text}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.gateway().sessions() == 0 {
        assert!(Instant::now() < deadline, "the gateway never connected");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(fake.gateway().intents(), 0, "identified with intents");

    let bob = Person::new(700000000000000001, "Bob Builder");
    let submit = interaction::modal(
        &bob,
        &SUPPORT_CHANNEL.to_string(),
        "open:0",
        &[("subject", "VPN down"), ("message", "since this morning")],
    )
    .to_string();
    let (status, answer) = try_post_discord(&addr, &submit).expect("an answer");
    assert!(status.contains("200"), "{status}");
    // acknowledged first: a private deferral, the answer edited into it.
    assert!(answer.contains("\"type\":5"), "{answer}");
    let edited = || {
        fake.calls_to("PATCH", "/webhooks/*/*/messages/@original")
            .iter()
            .any(|c| {
                c.body["content"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("is open")
            })
    };
    while !edited() {
        assert!(Instant::now() < deadline, "no answer: {:?}", fake.calls());
        std::thread::sleep(Duration::from_millis(50));
    }
    // the outbox worker creates the private thread on its own.
    while fake.threads_in(SUPPORT_CHANNEL).is_empty() {
        assert!(Instant::now() < deadline, "no thread: {:?}", fake.calls());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let (status, _) = post(
        &addr,
        "/discord/interactions",
        "application/json",
        &[],
        &submit,
    );
    assert!(
        status.contains("401"),
        "unsigned requests are refused: {status}"
    );
    terminate(&child);
    assert!(wait_exit(&mut child).success());
}

#[test]
fn with_smtp_settings_the_demo_tickets_are_confirmed_by_mail() {
    use threadesk_email::testing::SmtpSink;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sink = runtime.block_on(SmtpSink::start());
    let dir = tempfile::tempdir().expect("dir");
    let mut child = threadesk(dir.path())
        .env("SMTP_URL", sink.url())
        .env("MAIL_FROM", "Acme Support <help@support.example>")
        .env("MAIL_REPLY_DOMAIN", "reply.support.example")
        .env("MAIL_TOKEN_SECRET", "a-test-token-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("threadesk starts");
    let (_, lines) = wait_for_portal(&mut child);
    let text = lines.join("\n");
    assert!(
        text.contains(&format!(
            "E-mail: sending through {} as Acme Support <help@support.example>",
            sink.addr
        )),
        "{text}"
    );
    // the demo's requesters have addresses: the worker confirms their tickets.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.to("bob@acme.example").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no confirmation: {:?}",
            sink.received().len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mail = &sink.to("bob@acme.example")[0];
    assert_eq!(
        mail.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert!(mail
        .header("Reply-To")
        .unwrap()
        .contains("@reply.support.example"));
    terminate(&child);
    assert!(wait_exit(&mut child).success());
}

#[test]
fn with_teams_credentials_it_serves_teams_and_posts_from_the_outbox() {
    use threadesk_teams::testing::{
        Activities, FakeTeams, User, APP_ID, APP_PASSWORD, KEY_ID, STAFF_CHANNEL, TENANT,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fake = runtime.block_on(FakeTeams::start());
    let dir = tempfile::tempdir().expect("dir");
    let mut child = threadesk(dir.path())
        .env("TEAMS_APP_ID", APP_ID)
        .env("TEAMS_APP_PASSWORD", APP_PASSWORD)
        .env("TEAMS_TENANT_ID", TENANT)
        .env("TEAMS_STAFF_CHANNEL", STAFF_CHANNEL)
        .env("TEAMS_SERVICE_URL", fake.service_url())
        .env("TEAMS_LOGIN_URL", &fake.base)
        .env("TEAMS_OPENID_URL", format!("{}/openid", fake.base))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("threadesk starts");
    let (addr, lines) = wait_for_portal(&mut child);
    let text = lines.join("\n");
    assert!(text.contains("Teams: signed in to tenant"), "{text}");
    assert!(text.contains("/teams/messages"), "{text}");

    let make = Activities::new(&fake);
    let ann = User::new(1, "Ann Customer");
    let submit = make.task_submit(
        &ann,
        serde_json::json!({ "dialog": "new", "subject": "VPN down", "message": "since this morning" }),
    );
    let body = submit.to_string();
    let token = fake.sign(KEY_ID, &submit, serde_json::json!({}));
    let (status, answer) = post(
        &addr,
        "/teams/messages",
        "application/json",
        &[("Authorization", format!("Bearer {token}"))],
        &body,
    );
    assert!(status.contains("200"), "{status}");
    assert!(answer.contains("is open"), "{answer}");
    // the outbox worker posts the staff thread and Ann's card on its own.
    let chat = FakeTeams::chat_of(&ann.id);
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.in_conversation(&chat).is_empty()
        || !fake
            .posted()
            .iter()
            .any(|p| p.conversation.starts_with(STAFF_CHANNEL))
    {
        assert!(
            Instant::now() < deadline,
            "no cards were posted: {:?}",
            fake.calls()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let (status, _) = post(&addr, "/teams/messages", "application/json", &[], &body);
    assert!(
        status.contains("401"),
        "unsigned requests are refused: {status}"
    );
    terminate(&child);
    assert!(wait_exit(&mut child).success());
}

#[test]
fn a_stalled_client_is_cut_off_and_cannot_hold_up_shutdown() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("dir");
    let mut child = threadesk(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("threadesk starts");
    let (addr, _) = wait_for_portal(&mut child);
    // headers never finished.
    let mut headers = std::net::TcpStream::connect(&addr).expect("connect");
    headers
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    // a body that never arrives in full.
    let mut body = std::net::TcpStream::connect(&addr).expect("connect");
    body.write_all(b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nperson=")
        .expect("write");
    let opened = Instant::now();
    headers
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 512];
    let read = headers.read(&mut buf).unwrap_or(0);
    let cut = opened.elapsed();
    println!("HEADER_CUT_OFF {} ms", cut.as_millis());
    assert!(
        cut < Duration::from_secs(14),
        "the half-sent headers held the connection {cut:?}"
    );
    let answer = String::from_utf8_lossy(&buf[..read]).to_string();
    assert!(read == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
    // the portal still answers others meanwhile.
    let (status, _) = get(&addr, "/healthz");
    assert!(status.contains("200"), "{status}");
    // SIGTERM with the stalled body still open: the process exits 0 in time.
    let asked = Instant::now();
    terminate(&child);
    let exit = wait_exit(&mut child);
    let took = asked.elapsed();
    println!("SIGTERM_TO_EXIT {} ms", took.as_millis());
    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(13), "{took:?}");
    drop(body);
}

/// Two replicas on one PostgreSQL share Slack's traffic; one is killed
/// (`kill -9`) mid-burst and the client sends what it could not deliver
/// there to the other, as Slack's redelivery would. Every message is
/// mirrored to the staff thread exactly once, and the survivor takes over
/// the dead replica's claimed events once their lease lapses.
#[test]
fn two_replicas_on_postgresql_one_killed_mid_burst_lose_and_repeat_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use threadesk_core::testing::{harness, Kind};
    use threadesk_slack::testing::{signature, FakeSlack};
    const BURST: usize = 200;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(FakeSlack::start());
    fake.add_user("UBOB", "Bob Builder", "T1");
    let h = rt.block_on(harness(Kind::Postgres));
    rt.block_on(async {
        let bob = slack_bob(&h).await;
        h.open(bob, "VPN down").await;
    });
    let secret = "a-signing-secret";
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let start = |dir: &std::path::Path| {
        let mut child = threadesk(dir)
            .env("DATABASE_URL", &h.url)
            .env("SLACK_BOT_TOKEN", "xoxb-test")
            .env("SLACK_SIGNING_SECRET", secret)
            .env("SLACK_API_URL", &fake.api_url)
            .env("SLACK_STAFF_CHANNEL", "CSTAFF")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr.log")).expect("a log file"))
            .spawn()
            .expect("threadesk starts");
        let (addr, _) = wait_for_portal(&mut child);
        (child, addr)
    };
    // what the replicas warned of, for a failure's message.
    let warnings = || {
        dirs.iter()
            .map(|d| std::fs::read_to_string(d.path().join("stderr.log")).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (mut a, a_addr) = start(dirs[0].path());
    let (mut b, b_addr) = start(dirs[1].path());
    // the cards are posted by whichever replica claims the opening.
    let deadline = Instant::now() + Duration::from_secs(30);
    let card = loop {
        let top: Vec<_> = fake.posts("DUBOB", None);
        let staff: Vec<_> = fake.posts("CSTAFF", None);
        if let (Some(card), false) = (top.first(), staff.is_empty()) {
            break card.answer["ts"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no cards: {:?}", fake.calls());
        std::thread::sleep(Duration::from_millis(50));
    };
    // the replica that posted the card writes down where it is once Slack
    // has answered: a reply in its thread before that finds no ticket there
    // (a person cannot reply to a card within those milliseconds; a test
    // can). The burst starts once it is written down.
    let recorded = |card: &str| -> i64 {
        rt.block_on(
            sqlx::query_scalar("select count(*) from surfaces where channel = $1 and card_id = $2")
                .bind("DUBOB")
                .bind(card)
                .fetch_one(h.engine.db().pool()),
        )
        .expect("count")
    };
    while recorded(&card) == 0 {
        assert!(
            Instant::now() < deadline,
            "the card's place never written down"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let send = move |addr: &str, i: usize| {
        let event = serde_json::json!({ "token": "x", "team_id": "T1", "api_app_id": "A1",
            "type": "event_callback", "event_id": format!("EvBurst{i}"), "event_time": 1800000000,
            "event": { "type": "message", "channel": "DUBOB", "user": "UBOB", "channel_type": "im",
                "text": format!("burst message {i}."), "ts": format!("1800000000.{i:06}"), "thread_ts": card } })
        .to_string();
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        let request = format!(
            "POST /slack/events HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {}\r\n\r\n{event}",
            event.len(),
            signature(secret, &ts, &event)
        );
        try_exchange(addr, &request).map(|(status, _)| status)
    };
    let sent = Arc::new(AtomicUsize::new(0));
    let redelivered = Arc::new(AtomicUsize::new(0));
    // two clients, one per replica: even messages to A, odd ones to B; a
    // message A cannot take goes to B.
    let clients: Vec<_> = [(0usize, a_addr.clone()), (1, b_addr.clone())]
        .into_iter()
        .map(|(parity, addr)| {
            let (send, sent, redelivered, other) = (
                send.clone(),
                sent.clone(),
                redelivered.clone(),
                b_addr.clone(),
            );
            std::thread::spawn(move || {
                for i in (parity..BURST).step_by(2) {
                    let status = match send(&addr, i) {
                        Ok(s) if s.contains("200") => s,
                        _ => {
                            redelivered.fetch_add(1, Ordering::Relaxed);
                            send(&other, i).expect("the survivor answers")
                        }
                    };
                    assert!(status.contains("200"), "message {i}: {status}");
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    while sent.load(Ordering::Relaxed) < BURST / 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let copies = |fake: &FakeSlack| {
        fake.posts("CSTAFF", Some(&card_of_staff(fake)))
            .iter()
            .filter(|c| {
                c.args["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("burst message")
            })
            .count()
    };
    let before = copies(&fake);
    Command::new("kill")
        .args(["-KILL", &a.id().to_string()])
        .status()
        .expect("kill");
    let killed = Instant::now();
    // the ticket's events go in order: while the dead replica's lease on
    // the one in hand runs, nothing of the ticket moves; the first copy
    // after the kill marks the takeover.
    let first_after = {
        let fake = fake.clone();
        std::thread::spawn(move || {
            while copies(&fake) == before && killed.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(5));
            }
            killed.elapsed()
        })
    };
    a.wait().expect("the killed replica is reaped");
    for c in clients {
        c.join().expect("every message acknowledged");
    }
    let first_after = first_after.join().expect("the sampler");
    let deadline = Instant::now() + Duration::from_secs(90);
    while copies(&fake) < BURST {
        assert!(
            Instant::now() < deadline,
            "only {} of {BURST} messages mirrored (missing: {:?}); the replicas said:\n{}",
            copies(&fake),
            (0..BURST)
                .filter(|i| {
                    let needle = format!("burst message {i}.");
                    !fake
                        .posts("CSTAFF", Some(&card_of_staff(&fake)))
                        .iter()
                        .any(|c| {
                            c.args["text"]
                                .as_str()
                                .unwrap_or_default()
                                .contains(&needle)
                        })
                })
                .collect::<Vec<_>>(),
            warnings()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let all = killed.elapsed();
    // nothing twice: each message once in the staff thread.
    std::thread::sleep(Duration::from_millis(500));
    let texts: Vec<String> = fake
        .posts("CSTAFF", Some(&card_of_staff(&fake)))
        .iter()
        .filter_map(|c| c.args["text"].as_str().map(str::to_owned))
        .filter(|t| t.contains("burst message"))
        .collect();
    for i in 0..BURST {
        let needle = format!("burst message {i}.");
        let n = texts.iter().filter(|t| t.contains(&needle)).count();
        assert_eq!(n, 1, "message {i} mirrored {n} times: {}", warnings());
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    println!(
        "REPLICAS postgres messages={BURST} lost=0 duplicates=0 redelivered_to_survivor={} mirrored_before_kill={before} first_copy_after_kill_ms={} all_mirrored_after_kill_ms={}",
        redelivered.load(Ordering::Relaxed),
        first_after.as_millis(),
        all.as_millis()
    );
    terminate(&b);
    assert!(wait_exit(&mut b).success());
}

/// The `ts` of the staff card (the staff thread's root).
fn card_of_staff(fake: &threadesk_slack::testing::FakeSlack) -> String {
    fake.posts("CSTAFF", None)
        .first()
        .and_then(|c| c.answer["ts"].as_str().map(str::to_owned))
        .expect("a staff card")
}

#[test]
fn a_busy_port_is_said_once_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("address").to_string();
    let out = threadesk(dir.path())
        .env("LISTEN_ADDR", &addr)
        .output()
        .expect("threadesk runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "said once: {stderr}");
    assert!(
        lines[0].contains("cannot listen on LISTEN_ADDR") && lines[0].contains(&addr),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("seeded a demo"), "{stdout}");
    assert!(
        !dir.path().join("threadesk.db").exists(),
        "nothing written before the port is known to be free"
    );
}

#[test]
fn help_speaks_to_the_person_running_it() {
    let dir = tempfile::tempdir().expect("dir");
    let out = threadesk(dir.path()).arg("--help").output().expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("a help desk that lives in chat"), "{help}");
    assert!(
        help.contains(".env.example") && help.contains("LISTEN_ADDR"),
        "{help}"
    );
    assert!(!help.contains("wired together"), "{help}");
}
