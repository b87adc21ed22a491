//! The fake gateway: the real protocol over a loopback websocket.

use super::*;

/// The fake gateway.
#[derive(Clone)]
pub struct Gateway {
    /// Its address (`ws://127.0.0.1:port`).
    pub url: String,
    events: broadcast::Sender<Value>,
    drops: broadcast::Sender<()>,
    state: Arc<Mutex<GatewayState>>,
}

#[derive(Default)]
struct GatewayState {
    identifies: usize,
    resumes: usize,
    sessions_up: usize,
    seq: u64,
    intents: u64,
}

impl Gateway {
    pub(super) async fn start() -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("ws://{}", listener.local_addr().expect("an address"));
        let (events, _) = broadcast::channel(256);
        let (drops, _) = broadcast::channel(4);
        let gw = Gateway {
            url,
            events,
            drops,
            state: Arc::new(Mutex::new(GatewayState::default())),
        };
        let me = gw.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.session(tcp).await });
            }
        });
        gw
    }

    fn next_seq(&self) -> u64 {
        let mut s = self.state.lock().expect("gateway state");
        s.seq += 1;
        s.seq
    }

    async fn session(&self, tcp: tokio::net::TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let mut events = self.events.subscribe();
        let mut drops = self.drops.subscribe();
        let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41250 }, "s": null, "t": null });
        if ws.send(Ws::text(hello.to_string())).await.is_err() {
            return;
        }
        // IDENTIFY or RESUME first.
        let first = loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Ws::Text(t)))) => {
                    break serde_json::from_str::<Value>(&t).unwrap_or(Value::Null)
                }
                Ok(Some(Ok(_))) => continue,
                _ => return,
            }
        };
        let reply = match first["op"].as_u64() {
            Some(2) => {
                {
                    let mut s = self.state.lock().expect("gateway state");
                    s.identifies += 1;
                    s.intents = first["d"]["intents"].as_u64().unwrap_or(0);
                }
                json!({ "op": 0, "t": "READY", "s": self.next_seq(), "d": {
                    "v": 10,
                    "user": { "id": BOT_USER, "username": "threadesk", "discriminator": "0", "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0, "global_name": null },
                    "guilds": [{ "id": GUILD, "unavailable": true }],
                    "session_id": "fake-session",
                    "resume_gateway_url": self.url,
                    "shard": [0, 1],
                    "application": { "id": APPLICATION.to_string(), "flags": 0 },
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "guild_join_requests": [],
                    "geo_ordered_rtc_regions": [],
                    "user_settings": {},
                    "_trace": ["fake"]
                } })
            }
            Some(6) => {
                self.state.lock().expect("gateway state").resumes += 1;
                json!({ "op": 0, "t": "RESUMED", "s": self.next_seq(), "d": { "_trace": ["fake"] } })
            }
            _ => return,
        };
        if ws.send(Ws::text(reply.to_string())).await.is_err() {
            return;
        }
        self.state.lock().expect("gateway state").sessions_up += 1;
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Ws::Text(t))) => {
                        let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                        if v["op"] == 1 {
                            let _ = ws.send(Ws::text(json!({ "op": 11, "d": null, "s": null, "t": null }).to_string())).await;
                        }
                    }
                    Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        if ws.send(Ws::text(ev.to_string())).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
                _ = drops.recv() => {
                    // as Discord does when it wants a reconnect: close with 4000.
                    let _ = ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                        code: 4000u16.into(),
                        reason: "reconnect".into(),
                    })).await;
                    break;
                }
            }
        }
        self.state.lock().expect("gateway state").sessions_up -= 1;
    }

    /// Sends a dispatch (`t`, `d`) to every connected session.
    pub fn dispatch(&self, kind: &str, data: Value) {
        let seq = self.next_seq();
        let _ = self
            .events
            .send(json!({ "op": 0, "t": kind, "s": seq, "d": data }));
    }

    /// Closes every session (the client reconnects and resumes).
    pub fn drop_connections(&self) {
        let _ = self.drops.send(());
    }

    /// IDENTIFY + RESUME handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        let s = self.state.lock().expect("gateway state");
        s.identifies + s.resumes
    }

    /// Sessions connected now.
    pub fn sessions(&self) -> usize {
        self.state.lock().expect("gateway state").sessions_up
    }

    /// The intents the client identified with.
    pub fn intents(&self) -> u64 {
        self.state.lock().expect("gateway state").intents
    }
}
