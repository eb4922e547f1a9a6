//! Tests of the document checks: every fixture document passes, headers carry what places a
//! document, bad documents are named precisely, and batch shapes.

use super::*;
use hutch_app::model::docs::ExitStatus;
use serde_json::json;

fn fixtures() -> Vec<(String, Value)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bluesky-docs/all.jsonl"
    );
    let text = std::fs::read_to_string(dir).expect("server/tests/fixtures/bluesky-docs");
    text.lines()
        .map(|l| pair(serde_json::from_str(l).unwrap()).unwrap())
        .collect()
}

#[test]
fn every_fixture_document_passes() {
    let docs = fixtures();
    assert!(docs.len() > 50);
    for (name, doc) in &docs {
        let header = check(name, doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(header.name().as_str(), name);
    }
}

#[test]
fn the_header_carries_what_places_the_document() {
    let start = json!({"uid": "s", "time": 1.5, "scan_id": 7, "plan_name": "count", "extra": 1});
    assert_eq!(
        check("start", &start),
        Ok(Header::Start {
            uid: "s".into(),
            time: 1.5,
            plan_name: Some("count".into()),
            scan_id: Some(7)
        })
    );
    let descriptor = json!({"uid": "d", "run_start": "s", "time": 2, "data_keys": {}});
    assert_eq!(
        check("descriptor", &descriptor),
        Ok(Header::Descriptor {
            uid: "d".into(),
            run_start: "s".into(),
            stream: "primary".into()
        })
    );
    let page = json!({"descriptor": "d", "uid": ["a", "b"], "time": [1, 2], "seq_num": [1, 2],
                      "data": {"x": [1, 2]}, "timestamps": {"x": [1, 2]}});
    let header = check("event_page", &page).unwrap();
    assert_eq!(header.events(), 2);
    let stop = json!({"uid": "t", "run_start": "s", "time": 3, "exit_status": "abort"});
    assert!(matches!(
        check("stop", &stop),
        Ok(Header::Stop {
            exit_status: ExitStatus::Abort,
            ..
        })
    ));
    // A null optional key is absent; a mistyped one is refused.
    assert!(check("start", &json!({"uid": "s", "time": 1, "scan_id": null})).is_ok());
    assert_eq!(
        check("start", &json!({"uid": "s", "time": 1, "scan_id": 1.5})).unwrap_err(),
        "'scan_id' must be an integer"
    );
}

#[test]
fn bad_documents_are_named_precisely() {
    let event = json!({"uid": "e", "descriptor": "d", "time": 1.0, "seq_num": 1,
                       "data": {"x": 1}, "timestamps": {"x": 1.0}});
    assert_eq!(
        check("event", &event),
        Ok(Header::Event {
            descriptor: "d".into()
        })
    );
    let cases = [
        ("event", json!({"descriptor": "d"}), "'uid' is missing"),
        ("event", json!({"uid": 5}), "'uid' must be a string"),
        (
            "event",
            {
                let mut e = event.clone();
                e["seq_num"] = json!("1");
                e
            },
            "'seq_num' must be an integer",
        ),
        (
            "event",
            {
                let mut e = event.clone();
                e["timestamps"] = json!({});
                e
            },
            "no entry for data key 'x'",
        ),
        ("start", json!({"uid": "s"}), "'time' is missing"),
        (
            "stop",
            json!({"uid": "s", "run_start": "r", "time": 1, "exit_status": "ok"}),
            "success, abort or fail",
        ),
        (
            "descriptor",
            json!({"uid": "d", "run_start": "r", "time": 1, "data_keys": {"x": {"dtype": "float", "source": "s", "shape": []}}}),
            "'data_keys.x.dtype' must be one of",
        ),
        (
            "event_page",
            json!({"descriptor": "d", "uid": ["a", "b"], "time": [1], "seq_num": [1, 2], "data": {}, "timestamps": {}}),
            "'time' has 1 values",
        ),
        (
            "event_page",
            json!({"descriptor": "d", "uid": ["a"], "time": [1], "seq_num": [1], "data": {"x": [1, 2]}, "timestamps": {}}),
            "'data.x' has 2 values",
        ),
        ("weird", json!({}), "unknown document type 'weird'"),
        ("start", json!([1]), "must be a JSON object"),
    ];
    for (name, doc, want) in cases {
        let err = check(name, &doc).unwrap_err();
        assert!(
            err.contains(want),
            "{name} {doc}: got '{err}', want '{want}'"
        );
    }
}

#[test]
fn batches_are_one_pair_or_a_list_of_pairs() {
    assert_eq!(parse_batch(json!(["start", {}])).unwrap().len(), 1);
    assert_eq!(
        parse_batch(json!([["start", {}], ["stop", {}]]))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(parse_batch(json!([])).unwrap().len(), 0);
    assert!(parse_batch(json!({"name": "start"}))
        .unwrap_err()
        .contains("JSON array"));
    assert!(parse_batch(json!([["start", {}], ["stop"]]))
        .unwrap_err()
        .contains("item 1"));
    assert!(parse_batch(json!([[1, {}]]))
        .unwrap_err()
        .contains("document name"));
}
