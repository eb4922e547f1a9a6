//! The listener's bounds: a client that never finishes its request headers is dropped, and the
//! number of open connections is capped (the next client waits until one closes).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_dropped() {
    let server = TestServer::start_with(|c| {
        c.connections.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /api/status HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The rest of the headers never comes: the server must close the socket by itself.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "a connection without complete headers is still open after 20 s"
    );
    // Others are served as before.
    let (code, _) = http(server.addr, "GET", "/api/status", json!({})).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn open_connections_are_capped_and_the_next_one_waits_its_turn() {
    let server = TestServer::start_with(|c| {
        c.connections.max_connections = 2;
        c.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let holders = [
        TcpStream::connect(server.addr).await.unwrap(),
        TcpStream::connect(server.addr).await.unwrap(),
    ];
    // Both slots are taken by idle sockets: a third client's request is not answered...
    let addr = server.addr;
    let mut third = tokio::spawn(async move { http(addr, "GET", "/api/status", json!({})).await });
    let early = tokio::time::timeout(Duration::from_millis(500), &mut third).await;
    assert!(
        early.is_err(),
        "a third connection was served while two were open"
    );
    // ...until one of them closes.
    drop(holders);
    let (code, _) = third.await.unwrap();
    assert_eq!(code, 200);
}
