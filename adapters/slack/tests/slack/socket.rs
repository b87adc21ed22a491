//! Socket Mode: the same commands and events over a websocket.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use rstest::rstest;
use rstest_reuse::apply;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

#[apply(backends)]
#[tokio::test]
async fn socket_mode_carries_commands_and_events_and_acknowledges_each(#[case] kind: Kind) {
    let w = world(kind).await;
    let t = w.open_ticket(BOB, "VPN", "down").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    w.fake
        .set_socket_url(&format!("ws://{}/link", listener.local_addr().unwrap()));
    let (acks_tx, mut acks) = tokio::sync::mpsc::channel::<Value>(4);
    let (dm, card) = (t.dm.clone(), t.card_ts.clone());
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let envelopes = [
            json!({ "type": "hello", "num_connections": 1 }),
            json!({ "envelope_id": "E1", "type": "slash_commands", "accepts_response_payload": true,
                "payload": { "command": "/ticket", "text": "help", "user_id": BOB, "team_id": "T1", "trigger_id": "t-sock" } }),
            json!({ "envelope_id": "E2", "type": "events_api", "accepts_response_payload": false,
                "payload": { "type": "event_callback", "team_id": "T1", "event_id": "EvSock", "event":
                    { "type": "message", "channel": dm, "user": BOB, "text": "over the socket", "ts": "1800000009.1", "thread_ts": card } } }),
        ];
        for e in envelopes {
            ws.send(Ws::text(e.to_string())).await.unwrap();
        }
        while let Some(Ok(frame)) = ws.next().await {
            if let Ws::Text(text) = frame {
                if acks_tx
                    .send(serde_json::from_str(&text).unwrap())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let slack = w.slack.clone();
    let client = tokio::spawn(async move {
        slack
            .run_socket_mode(async {
                stopped.await.ok();
            })
            .await;
    });
    // each envelope is acknowledged; handlers run side by side, so the
    // acknowledgements may come in either order.
    let mut got = vec![];
    for _ in 0..2 {
        got.push(
            tokio::time::timeout(Duration::from_secs(10), acks.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let first = got
        .iter()
        .find(|a| a["envelope_id"] == "E1")
        .expect("the command is acknowledged");
    assert!(first["payload"]["text"]
        .as_str()
        .unwrap()
        .contains("Threadesk help"));
    assert!(
        got.iter().any(|a| a["envelope_id"] == "E2"),
        "the event is acknowledged"
    );
    let bodies = w.bodies(BOB, 1).await;
    assert_eq!(bodies.last().unwrap(), "over the socket");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), client)
        .await
        .unwrap()
        .unwrap();
    assert!(w.fake.calls_of("apps.connections.open").len() == 1);
}
