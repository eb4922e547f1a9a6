//! Tests of `stream`: the wire format of topics and of client and server messages.

use super::*;

#[test]
fn runs_deltas_keep_their_wire_format() {
    let opened = RunsDelta::Opened {
        run: RunOpened {
            uid: "r1".into(),
            plan_name: Some("count".into()),
            scan_id: Some(3),
            time_start: None,
        },
    };
    assert_eq!(
        serde_json::to_value(&opened).unwrap(),
        serde_json::json!({"op": "opened", "run": {"uid": "r1", "plan_name": "count", "scan_id": 3, "time_start": null}})
    );
    let closed: RunsDelta = serde_json::from_value(serde_json::json!({"op": "closed",
        "run": {"uid": "r1", "exit_status": "success", "time_stop": 2.5, "num_events": {"primary": 4}, "reason": ""}}))
    .unwrap();
    let RunsDelta::Closed { run } = closed else {
        panic!("not closed: {closed:?}")
    };
    assert_eq!(run.num_events.unwrap()["primary"], 4);
    assert_eq!(
        serde_json::from_value::<RunsDelta>(serde_json::json!({"op": "reset"})).unwrap(),
        RunsDelta::Reset
    );
    assert!(serde_json::from_value::<RunsDelta>(serde_json::json!({"op": "opened"})).is_err());
}

#[test]
fn client_messages_parse_from_plain_json() {
    let m: ClientMessage =
        serde_json::from_str(r#"{"type":"subscribe","topics":["status"]}"#).unwrap();
    assert_eq!(
        m,
        ClientMessage::Subscribe {
            topics: vec![Topic::Status],
            since: BTreeMap::new(),
            options: BTreeMap::new(),
        }
    );
}

#[test]
fn an_unknown_topic_is_named_in_the_error() {
    let err = serde_json::from_str::<ClientMessage>(r#"{"type":"subscribe","topics":["nope"]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown topic 'nope'"), "{err}");
    assert!(err.contains("status"), "{err}");
}

#[test]
fn run_topics_carry_their_uid() {
    let t: Topic = serde_json::from_str(r#""run:abc-1""#).unwrap();
    assert_eq!(t, Topic::Run("abc-1".into()));
    assert_eq!(serde_json::to_string(&t).unwrap(), r#""run:abc-1""#);
    assert!("run:".parse::<Topic>().is_err());
    assert_eq!("runs".parse::<Topic>().unwrap(), Topic::Runs);
}

#[test]
fn server_frames_carry_type_topic_and_seq() {
    let m = ServerMessage::Update {
        topic: Topic::Status,
        seq: 7,
        data: serde_json::json!({"a": 1}),
    };
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["type"], "update");
    assert_eq!(v["topic"], "status");
    assert_eq!(v["seq"], 7);
    let back: ServerMessage = serde_json::from_value(v).unwrap();
    assert_eq!(back, m);
}
