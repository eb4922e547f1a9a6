//! Run topics on `/api/stream`: documents fan out to every subscriber in order and complete,
//! a tab opening mid-run gets the run from its start, `since` resumes without holes or repeats,
//! a stalled client changes nothing for the others, and plots can ask for decimated data.

mod common;

use common::*;
use serde_json::{json, Value};

async fn subscriber(server: &TestServer, topic: &str, extra: Value) -> Ws {
    let mut ws = server.ws().await;
    next_json(&mut ws).await; // hello
    let sub = subscribe_topic(&mut ws, topic, extra).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    ws
}

#[tokio::test]
async fn a_run_reaches_a_subscriber_in_order_with_events_in_pages() {
    let server = TestServer::start().await;
    let mut runs = subscriber(&server, "runs", json!({})).await;
    let snapshot = next_matching(&mut runs, |f| f["type"] == "snapshot").await;
    assert_eq!(snapshot["data"]["open"], json!([]));
    let mut ws = subscriber(&server, "run:r1", json!({})).await;
    let docs = synthetic_run("r1", 500);
    store(&server, &docs, 7).await;
    let log = RunLog::read_until_stop(&mut ws, "run:r1", 0).await;
    assert_same_docs(&log.docs, &docs);
    assert_eq!(log.seq, docs.len() as u64);
    let opened = next_matching(&mut runs, |f| f["type"] == "update").await;
    assert_eq!(opened["data"]["op"], "opened");
    assert_eq!(opened["data"]["run"]["plan_name"], "synthetic");
    let closed = next_matching(&mut runs, |f| f["type"] == "update").await;
    assert_eq!(closed["data"]["op"], "closed");
    assert_eq!(closed["data"]["run"]["exit_status"], "success");
}

#[tokio::test]
async fn a_tab_opening_mid_run_gets_the_run_from_its_start() {
    let server = TestServer::start().await;
    let docs = synthetic_run("mid", 3000);
    store(&server, &docs[..1500], 100).await;
    let mut ws = subscriber(&server, "run:mid", json!({})).await;
    store(&server, &docs[1500..], 100).await;
    let log = RunLog::read_until_stop(&mut ws, "run:mid", 0).await;
    assert_same_docs(&log.docs, &docs);
}

#[tokio::test]
async fn since_resumes_where_the_client_left_off() {
    let server = TestServer::start().await;
    let docs = synthetic_run("again", 400);
    store(&server, &docs[..250], 50).await;
    // A client that saw the first 100 documents comes back.
    let mut ws = subscriber(&server, "run:again", json!({"since": {"run:again": 100}})).await;
    store(&server, &docs[250..], 50).await;
    let log = RunLog::read_until_stop(&mut ws, "run:again", 100).await;
    assert_same_docs(&log.docs, &docs[100..]);
    // After the run is closed (and forgotten by the live feed) the same works from the database.
    let mut late = subscriber(&server, "run:again", json!({"since": {"run:again": 390}})).await;
    let log = RunLog::read_until_stop(&mut late, "run:again", 390).await;
    assert_same_docs(&log.docs, &docs[390..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_each_receive_100_000_events_complete_and_in_order() {
    let server = TestServer::start().await;
    let docs = synthetic_run("big", 100_000);
    let mut clients = Vec::new();
    for _ in 0..10 {
        let ws = subscriber(&server, "run:big", json!({})).await;
        clients.push(tokio::spawn(async move {
            let mut ws = ws;
            SeqLog::read_until_stop(&mut ws, 0).await
        }));
    }
    store(&server, &docs, 1000).await;
    let want: Vec<i64> = (1..=100_000).collect();
    for c in clients {
        let log = c.await.unwrap();
        assert!(log.seq_nums == want, "every event once, in order");
        assert_eq!(log.seq, docs.len() as u64);
        assert_eq!(log.names, ["start", "descriptor", "event_page", "stop"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_changes_nothing_for_the_others_and_catches_up() {
    let server = TestServer::start().await;
    let docs = synthetic_run("stall", 60_000);
    let mut stalled = subscriber(&server, "run:stall", json!({})).await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut ws = subscriber(&server, "run:stall", json!({})).await;
        readers.push(tokio::spawn(async move {
            RunLog::read_until_stop(&mut ws, "run:stall", 0).await
        }));
    }
    // The stalled client reads nothing while the whole run is published and delivered.
    store(&server, &docs, 500).await;
    for r in readers {
        let log = r.await.unwrap();
        assert_same_docs(&log.docs, &docs);
        assert_eq!(log.gaps, 0, "readers that keep up see no gap");
    }
    // Once it reads again it gets everything, in order: merged pages, or a gap and a replay.
    let log = RunLog::read_until_stop(&mut stalled, "run:stall", 0).await;
    assert_same_docs(&log.docs, &docs);
}

#[tokio::test]
async fn a_plot_subscription_gets_min_max_buckets_not_every_event() {
    let server = TestServer::start().await;
    let docs = synthetic_run("plot", 20_000);
    store(&server, &docs[..10_000], 1000).await;
    let mut ws = subscriber(
        &server,
        "run:plot",
        json!({"options": {"run:plot": {"max_points": 200, "max_rate": 50}}}),
    )
    .await;
    store(&server, &docs[10_000..], 1000).await;
    // Rebuild the client's picture from the updates: buckets from `start` on are replaced.
    let (mut counts, mut maxima): (Vec<u64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut names = Vec::new();
    loop {
        let f = next_matching(&mut ws, |f| f["type"] == "update").await;
        let (name, doc) = (
            f["data"]["name"].as_str().unwrap().to_string(),
            &f["data"]["doc"],
        );
        assert_ne!(name, "event_page", "no raw events for a plot subscription");
        if name == "decimated" {
            let start = doc["start"].as_u64().unwrap() as usize;
            counts.truncate(start);
            maxima.truncate(start);
            counts.extend(
                doc["count"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_u64().unwrap()),
            );
            maxima.extend(
                doc["data"]["x"]["max"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap()),
            );
            assert!(counts.len() <= 100, "at most max_points / 2 buckets");
        }
        if names.last() != Some(&name) {
            names.push(name.clone());
        }
        if name == "stop" {
            break;
        }
    }
    assert_eq!(names, ["start", "descriptor", "decimated", "stop"]);
    assert_eq!(
        counts.iter().sum::<u64>(),
        20_000,
        "every event is in a bucket"
    );
    assert_eq!(
        maxima.last().copied(),
        Some(20_000.0),
        "the last bucket holds the last maximum"
    );
}

#[tokio::test]
async fn bad_subscriptions_are_explained() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    next_json(&mut ws).await;
    let reply = subscribe_topic(
        &mut ws,
        "status",
        json!({"options": {"status": {"max_points": 10}}}),
    )
    .await;
    assert_eq!(reply["type"], "error");
    assert!(
        reply["msg"].as_str().unwrap().contains("run topics"),
        "{reply}"
    );
    send_json(&mut ws, json!({"type": "subscribe", "topics": ["run:"]})).await;
    let reply = next_json(&mut ws).await;
    assert!(
        reply["msg"].as_str().unwrap().contains("run:<uid>"),
        "{reply}"
    );
}

#[tokio::test]
async fn subscriptions_are_collapsed_capped_and_their_options_clamped() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    next_json(&mut ws).await;
    // A tiny max_rate panicked the connection (1 / 1e-300 s is no Duration).
    send_json(
        &mut ws,
        json!({"type": "subscribe", "topics": ["run:r0", "run:r0"],
               "options": {"run:r0": {"max_points": 1_000_000_000u64, "max_rate": 1e-300}}}),
    )
    .await;
    let reply = next_json(&mut ws).await;
    assert_eq!(
        (reply["type"].clone(), reply["topic"].clone()),
        (json!("subscribed"), json!("run:r0"))
    );
    // The duplicate was one subscription: the next frame answers the next request.
    let topics: Vec<String> = (1..300).map(|i| format!("run:r{i}")).collect();
    send_json(&mut ws, json!({"type": "subscribe", "topics": topics})).await;
    let (mut subscribed, mut refused) = (0, 0);
    while subscribed + refused < 299 {
        let m = next_json(&mut ws).await;
        match m["type"].as_str() {
            Some("subscribed") => subscribed += 1,
            Some("error") => {
                assert!(
                    m["msg"].as_str().unwrap().contains("at most 256 topics"),
                    "{m}"
                );
                refused += 1;
            }
            _ => {}
        }
    }
    assert_eq!(
        (subscribed, refused),
        (255, 44),
        "256 topics in all, r0 included"
    );
}

/// Ten tabs subscribe to a run that does not exist yet and the publisher starts it without
/// waiting for their `subscribed` replies: every tab gets every document from the start, in
/// every trial. (Before runs were held for early subscribers, a subscriber that asked after the
/// start was committed moved the feed past the start for the ones that had asked before.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_while_the_run_starts_misses_nothing_in_1000_trials() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for _ in 0..10 {
        let mut ws = server.ws().await;
        next_json(&mut ws).await; // hello
        clients.push(ws);
    }
    for trial in 0..1000 {
        let uid = format!("race{trial}");
        let topic = format!("run:{uid}");
        let docs = synthetic_run(&uid, 2);
        for ws in &mut clients {
            send_json(ws, json!({"type": "subscribe", "topics": [topic]})).await;
        }
        store(&server, &docs, 1).await;
        for (i, ws) in clients.iter_mut().enumerate() {
            let log = RunLog::read_until_stop(ws, &topic, 0).await;
            assert_eq!(
                log.docs.len(),
                docs.len(),
                "trial {trial}, client {i}: got {:?}",
                log.docs.iter().map(|(n, _)| n).collect::<Vec<_>>()
            );
            assert_same_docs(&log.docs, &docs);
            send_json(ws, json!({"type": "unsubscribe", "topics": [topic]})).await;
        }
    }
}
