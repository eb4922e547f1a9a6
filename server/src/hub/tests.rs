//! Tests of `hub`.

use super::*;
use serde_json::json;

#[test]
fn subscribers_get_a_snapshot_then_ordered_updates() {
    let hub = Hub::default();
    hub.publish(Topic::Status, json!({"n": 1}));
    let mut c = hub.connect();
    let start = c.subscribe(&Topic::Status);
    assert_eq!(start.seq, 1);
    assert_eq!(*start.snapshot.unwrap(), json!({"n": 1}));
    hub.publish(Topic::Status, json!({"n": 2}));
    hub.publish(Topic::Status, json!({"n": 3}));
    let a = c.rx.try_recv().unwrap();
    let b = c.rx.try_recv().unwrap();
    assert_eq!((a.seq, b.seq), (2, 3));
    assert!(b.text.contains(r#""n":3"#));
}

#[test]
fn a_full_client_is_marked_lagged_and_others_are_unaffected() {
    let hub = Hub::default();
    let mut slow = hub.connect();
    let mut fast = hub.connect();
    slow.subscribe(&Topic::Status);
    fast.subscribe(&Topic::Status);
    for i in 0..(CLIENT_QUEUE + 10) {
        hub.publish(Topic::Status, json!({ "i": i }));
        // The fast client keeps reading.
        assert_eq!(fast.rx.try_recv().unwrap().seq, i as u64 + 1);
    }
    assert_eq!(slow.take_lagged(), vec![Topic::Status]);
    assert!(slow.take_lagged().is_empty(), "the mark clears once taken");
    assert!(fast.take_lagged().is_empty());
    let mut n = 0;
    while slow.rx.try_recv().is_ok() {
        n += 1;
    }
    assert_eq!(n, CLIENT_QUEUE, "the queue is bounded");
}

#[test]
fn dropping_a_client_unsubscribes_it() {
    let hub = Hub::default();
    let mut c = hub.connect();
    c.subscribe(&Topic::Status);
    assert_eq!(hub.client_count(), 1);
    drop(c);
    assert_eq!(hub.client_count(), 0);
    assert!(hub.lock().topics[&Topic::Status].subscribers.is_empty());
}

#[test]
fn unsubscribed_clients_get_nothing() {
    let hub = Hub::default();
    let mut c = hub.connect();
    c.subscribe(&Topic::Status);
    c.unsubscribe(&Topic::Status);
    hub.publish(Topic::Status, json!({}));
    assert!(c.rx.try_recv().is_err());
}
