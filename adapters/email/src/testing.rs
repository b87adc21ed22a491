//! Test support: an SMTP server on 127.0.0.1 that accepts every mail (or
//! refuses on demand, 451 or 550) and keeps what it received, so the real
//! SMTP path is exercised and the mails can be parsed and checked.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One received mail.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM`.
    pub mail_from: String,
    /// `RCPT TO`s.
    pub rcpt_to: Vec<String>,
    /// The message as sent (dot-unstuffed).
    pub data: Vec<u8>,
}

impl Received {
    /// The parsed message.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message")
    }

    /// A header's raw value (unfolded, trimmed), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        let m = self.parsed();
        m.header_raw(name)
            .map(|v| v.replace("\r\n", "").trim().to_owned())
    }

    /// The plain-text body.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The HTML body.
    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Replies to give the next `RCPT TO`s instead of 250.
    refusals: Vec<String>,
}

/// The sink, running until dropped with the test's runtime.
#[derive(Clone)]
pub struct SmtpSink {
    /// Its address (`127.0.0.1:port`).
    pub addr: String,
    state: Arc<Mutex<State>>,
}

impl SmtpSink {
    /// Starts the sink on a free loopback port.
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address").to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = session(tcp, state).await;
                });
            }
        });
        SmtpSink { addr, state }
    }

    /// The `SMTP_URL` for this sink.
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    /// Mails received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("sink state").received.clone()
    }

    /// Mails received for an address.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.rcpt_to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// The next `RCPT TO` is answered with this reply (e.g. `451 4.3.0 try
    /// later` or `550 5.1.1 no such user`).
    pub fn refuse_next(&self, reply: &str) {
        self.state
            .lock()
            .expect("sink state")
            .refusals
            .push(reply.to_owned());
    }
}

fn address(arg: &str) -> String {
    arg.split_once(':')
        .map_or(arg, |(_, a)| a)
        .trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn session(tcp: tokio::net::TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = tcp.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let verb = cmd
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING".into(),
            "HELO" => "250 sink.test".into(),
            "MAIL" => {
                from = address(&cmd[4..]);
                to.clear();
                "250 2.1.0 ok".into()
            }
            "RCPT" => {
                let refusal = {
                    let mut s = state.lock().expect("sink state");
                    (!s.refusals.is_empty()).then(|| s.refusals.remove(0))
                };
                match refusal {
                    Some(r) => r,
                    None => {
                        to.push(address(&cmd[4..]));
                        "250 2.1.5 ok".into()
                    }
                }
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let l = line.strip_prefix('.').unwrap_or(&line);
                    data.extend_from_slice(l.as_bytes());
                }
                state.lock().expect("sink state").received.push(Received {
                    mail_from: from.clone(),
                    rcpt_to: to.clone(),
                    data,
                });
                "250 2.0.0 queued".into()
            }
            "RSET" => {
                from.clear();
                to.clear();
                "250 ok".into()
            }
            "NOOP" => "250 ok".into(),
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 not implemented".into(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}
