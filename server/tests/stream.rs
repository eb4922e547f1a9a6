//! `/api/stream` against a real server: hello, subscribe, live updates, errors, shutdown.

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn the_first_frame_says_the_protocol_version() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(
        hello["protocol"],
        hutch_app::model::stream::PROTOCOL_VERSION
    );
    assert!(hello["topics"]
        .as_array()
        .unwrap()
        .contains(&json!("status")));
}

#[tokio::test]
async fn a_subscriber_gets_the_status_snapshot() {
    let server = TestServer::start().await;
    let (_ws, snapshot) = subscribed_to_status(&server).await;
    assert_eq!(snapshot["topic"], "status");
    assert_eq!(snapshot["data"]["manager_state"], "idle");
    assert_eq!(snapshot["data"]["worker_environment_exists"], false);
    assert_eq!(snapshot["data"]["hutch"]["stream_clients"], 1);
}

#[tokio::test]
async fn status_changes_are_pushed_with_growing_seq() {
    let server = TestServer::start().await;
    let (mut first, snapshot) = subscribed_to_status(&server).await;
    let seq0 = snapshot["seq"].as_u64().unwrap();
    let uid0 = snapshot["data"]["status_uid"].clone();

    // A second client connecting changes the status (client count) for everyone.
    let (mut second, _) = subscribed_to_status(&server).await;
    let update = next_matching(&mut first, |f| f["type"] == "update").await;
    assert_eq!(update["topic"], "status");
    assert_eq!(update["seq"].as_u64().unwrap(), seq0 + 1);
    assert_eq!(update["data"]["hutch"]["stream_clients"], 2);
    assert_ne!(
        update["data"]["status_uid"], uid0,
        "status_uid changes on every change"
    );

    // And disconnecting changes it back.
    second.close(None).await.unwrap();
    let update = next_matching(&mut first, |f| {
        f["type"] == "update" && f["data"]["hutch"]["stream_clients"] == 1
    })
    .await;
    assert_eq!(update["seq"].as_u64().unwrap(), seq0 + 2);
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_connection_survives() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    next_json(&mut ws).await; // hello

    ws.send_text("this is not json").await;
    let err = next_json(&mut ws).await;
    assert_eq!(err["type"], "error");
    assert!(
        err["msg"]
            .as_str()
            .unwrap()
            .contains("could not read your message"),
        "{err}"
    );

    send_json(
        &mut ws,
        json!({"type": "subscribe", "topics": ["no-such-topic"]}),
    )
    .await;
    let err = next_json(&mut ws).await;
    assert_eq!(err["type"], "error");
    assert!(
        err["msg"]
            .as_str()
            .unwrap()
            .contains("unknown topic 'no-such-topic'"),
        "{err}"
    );

    send_json(&mut ws, json!({"type": "dance"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "error");

    futures_util::SinkExt::send(&mut ws, Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let err = next_json(&mut ws).await;
    assert!(
        err["msg"].as_str().unwrap().contains("binary frames"),
        "{err}"
    );

    // Still usable.
    send_json(&mut ws, json!({"type": "subscribe", "topics": ["status"]})).await;
    assert_eq!(next_json(&mut ws).await["type"], "subscribed");
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");
}

#[tokio::test]
async fn unsubscribe_stops_updates() {
    let server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    send_json(
        &mut ws,
        json!({"type": "unsubscribe", "topics": ["status"]}),
    )
    .await;
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["type"], "unsubscribed");
    // Another client's arrival changes the status (published before its snapshot is sent), but
    // this socket no longer hears of it: the next frame it gets is the reply to a new request.
    let _other = subscribed_to_status(&server).await;
    send_json(&mut ws, json!({"type": "subscribe", "topics": ["status"]})).await;
    let frame = next_json(&mut ws).await;
    assert_eq!(
        frame["type"], "subscribed",
        "no update arrived while unsubscribed: {frame}"
    );
}

#[tokio::test]
async fn heartbeats_carry_the_topic_seq() {
    let server =
        TestServer::start_with(|c| c.heartbeat = std::time::Duration::from_millis(100)).await;
    let (mut ws, snapshot) = subscribed_to_status(&server).await;
    let beat = next_matching(&mut ws, |f| f["type"] == "heartbeat").await;
    assert_eq!(beat["topic"], "status");
    assert_eq!(beat["seq"], snapshot["seq"]);
    assert!(beat["time"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn shutdown_closes_live_connections_with_going_away() {
    let mut server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    server.shutdown().await;
    let close = tokio::time::timeout(DEADLINE, async {
        while let Some(msg) = ws.next().await {
            if let Ok(Message::Close(frame)) = msg {
                return frame;
            }
        }
        None
    })
    .await
    .expect("the server closes the socket");
    assert_eq!(u16::from(close.expect("a close frame").code), 1001);
}

trait SendText {
    async fn send_text(&mut self, text: &str);
}

impl SendText for Ws {
    async fn send_text(&mut self, text: &str) {
        futures_util::SinkExt::send(self, Message::Text(text.to_string().into()))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_client_without_the_key_is_told_why_and_closed_with_4001() {
    let server = TestServer::start().await;
    let mut ws = server.ws_anonymous().await;
    let err = next_json(&mut ws).await;
    assert_eq!(err["type"], "error");
    assert!(
        err["msg"].as_str().unwrap().contains("not signed in"),
        "{err}"
    );
    let close = tokio::time::timeout(DEADLINE, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match close {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4001),
        other => panic!("expected a close frame, got {other:?}"),
    }
}
