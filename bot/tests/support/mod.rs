//! What the binary's tests share: starting `threadesk` as a user would,
//! reading its start-up report, and plain HTTP/1.1 requests to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn threadesk(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_threadesk"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn");
    cmd
}

/// A plain HTTP/1.1 GET; returns the status line and the body.
pub fn get(addr: &str, path: &str) -> (String, String) {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

/// Sends one raw request; returns the status line and the body.
pub fn exchange(addr: &str, request: &str) -> (String, String) {
    try_exchange(addr, request).expect("an answer")
}

/// [`exchange`], with what went wrong on the way (a process gone).
pub fn try_exchange(addr: &str, request: &str) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.lines().next().unwrap_or_default().to_owned();
    if status.is_empty() {
        return Err(std::io::Error::other("no answer"));
    }
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Reads stdout through the start-up report (it ends with the e-mail
/// line); returns the listening address and the lines.
pub fn wait_for_portal(child: &mut Child) -> (String, Vec<String>) {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read stdout") == 0 {
            break;
        }
        lines.push(line.trim_end().to_owned());
        if line.contains("E-mail:") {
            let addr = lines
                .iter()
                .find_map(|l| l.split("(listening on ").nth(1))
                .map(|rest| rest.trim_end_matches(')').to_owned())
                .expect("the portal line names the address");
            // drain anything later so the process never blocks on stdout.
            std::thread::spawn(move || for _ in reader.lines() {});
            return (addr, lines);
        }
    }
    panic!("no portal line; stdout so far: {lines:?}");
}

pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

pub fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "threadesk did not stop within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn post(
    addr: &str,
    path: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (String, String) {
    try_post(addr, path, content_type, headers, body).expect("an answer")
}

/// [`post`], with what went wrong on the way (a process gone).
pub fn try_post(
    addr: &str,
    path: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: &str,
) -> std::io::Result<(String, String)> {
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    try_exchange(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n{body}",
            body.len()
        ),
    )
}

/// Seconds since the epoch, as a platform's request timestamp.
pub fn unix_now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
        .to_string()
}

/// A form POST to a Slack endpoint (`/slack/commands`,
/// `/slack/interactions`), signed with `secret` now as Slack signs it.
pub fn try_post_slack(
    addr: &str,
    path: &str,
    secret: &str,
    body: &str,
) -> std::io::Result<(String, String)> {
    let ts = unix_now();
    let signature = threadesk_slack::testing::signature(secret, &ts, body);
    let headers = [
        ("X-Slack-Request-Timestamp", ts),
        ("X-Slack-Signature", signature),
    ];
    try_post(
        addr,
        path,
        "application/x-www-form-urlencoded",
        &headers,
        body,
    )
}

/// An interaction POSTed to `/discord/interactions`, signed now as
/// Discord signs it (with the fake's key).
pub fn try_post_discord(addr: &str, body: &str) -> std::io::Result<(String, String)> {
    let ts = unix_now();
    let headers = [
        (
            "X-Signature-Ed25519",
            threadesk_discord::testing::sign(&ts, body.as_bytes()),
        ),
        ("X-Signature-Timestamp", ts),
    ];
    try_post(
        addr,
        "/discord/interactions",
        "application/json",
        &headers,
        body,
    )
}

/// [`try_post_slack`], answered.
pub fn post_slack(addr: &str, path: &str, secret: &str, body: &str) -> (String, String) {
    try_post_slack(addr, path, secret, body).expect("an answer")
}

/// The outbox's `slack` consumer registered on `h`'s database, and Bob
/// (Slack user `UBOB` of workspace `T1`) known to it.
pub async fn slack_bob(h: &threadesk_core::testing::Harness) -> threadesk_core::PersonId {
    threadesk_core::outbox::Outbox::new(h.engine.db().clone())
        .register("slack")
        .await
        .expect("registered");
    h.engine
        .ensure_person(
            &threadesk_core::domain::PlatformIdentity::slack("T1", "UBOB"),
            "Bob Builder",
        )
        .await
        .expect("Bob")
        .id
}
