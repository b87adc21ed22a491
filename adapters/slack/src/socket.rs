//! Socket Mode: with an app-level token, Slack sends the same commands,
//! interactions and events over a websocket that `apps.connections.open`
//! hands out, instead of HTTP requests. Each envelope is acknowledged with
//! its `envelope_id` (carrying the answer for commands and interactions);
//! the handling is the HTTP mode's own.

use crate::inbound::{within_budget, Answer};
use crate::SlackAdapter;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

/// The longest pause between reconnection attempts.
const MAX_PAUSE: Duration = Duration::from_secs(30);

impl SlackAdapter {
    /// Keeps a Socket Mode connection until `shutdown` resolves,
    /// reconnecting (with growing pauses) whenever Slack drops it.
    pub async fn run_socket_mode(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut pause = Duration::from_millis(250);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                ended = self.one_connection() => match ended {
                    Ok(()) => pause = Duration::from_millis(250),
                    Err(e) => {
                        tracing::warn!(error = %e, "socket mode connection failed");
                        pause = (pause * 2).min(MAX_PAUSE);
                    }
                },
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One websocket session: returns when Slack asks us to reconnect.
    /// Envelopes are handled side by side, each acknowledged when its
    /// answer is ready (or its budget is spent), so one slow envelope never
    /// holds up the others.
    async fn one_connection(&self) -> Result<(), String> {
        let url = self.api().open_socket().await.map_err(|e| e.to_string())?;
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| format!("websocket: {e}"))?;
        tracing::info!("slack socket mode connected");
        let (mut sink, mut stream) = ws.split();
        let (acks, mut ready) = tokio::sync::mpsc::channel::<Value>(64);
        loop {
            tokio::select! {
                frame = stream.next() => {
                    let text = match frame {
                        None | Some(Ok(Ws::Close(_))) => return Ok(()),
                        Some(Err(e)) => return Err(format!("websocket: {e}")),
                        Some(Ok(Ws::Text(t))) => t.to_string(),
                        Some(Ok(_)) => continue,
                    };
                    let Ok(envelope) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    if envelope["type"] == "disconnect" {
                        return Ok(());
                    }
                    let me = self.clone();
                    let acks = acks.clone();
                    tokio::spawn(async move {
                        if let Some(ack) = me.envelope(envelope).await {
                            let _ = acks.send(ack).await;
                        }
                    });
                }
                Some(ack) = ready.recv() => {
                    sink.send(Ws::text(ack.to_string()))
                        .await
                        .map_err(|e| format!("websocket: {e}"))?;
                }
            }
        }
    }

    /// Handles one envelope; returns its acknowledgement.
    async fn envelope(&self, envelope: Value) -> Option<Value> {
        let id = envelope["envelope_id"].as_str()?.to_owned();
        let payload = envelope["payload"].clone();
        let me = self.clone();
        let answer = match envelope["type"].as_str()? {
            "events_api" => me.on_event(&payload).await,
            "slash_commands" => {
                within_budget(async move {
                    let form: HashMap<String, String> = payload
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                        .collect();
                    me.on_command(&form).await
                })
                .await
            }
            "interactive" => within_budget(async move { me.on_interaction(&payload).await }).await,
            _ => Answer::Ack,
        };
        match answer {
            Answer::Ack => Some(json!({ "envelope_id": id })),
            Answer::Json(p) => Some(json!({ "envelope_id": id, "payload": p })),
            // unacknowledged: Slack sends the envelope again.
            Answer::Again => None,
        }
    }
}
