//! Tests of `plan_form`.

use super::*;

fn scan() -> PlanSpec {
    plans(&json!({"scan": {"description": "Scan.", "parameters": [
        {"name": "detectors", "kind": {"name": "POSITIONAL_OR_KEYWORD", "value": 1},
         "annotation": {"type": "collections.abc.Sequence[__READABLE__]"}},
        {"name": "args", "kind": {"name": "VAR_POSITIONAL", "value": 2},
         "annotation": {"type": "__MOVABLE__ | typing.Any"},
         "description": "For one dimension, ``motor, start, stop``."},
        {"name": "num", "kind": {"name": "KEYWORD_ONLY", "value": 3},
         "annotation": {"type": "int | None"}, "default": "None"},
        {"name": "md", "kind": {"name": "KEYWORD_ONLY", "value": 3},
         "annotation": {"type": "dict[str, typing.Any] | None"}, "default": "None"}
    ]}}))
    .remove(0)
}

#[test]
fn widgets_follow_the_annotations() {
    let s = scan();
    let w: Vec<&Widget> = s.params.iter().map(|p| &p.widget).collect();
    assert_eq!(
        w,
        [
            &Widget::Devices(DeviceClass::Readable),
            &Widget::VarArgs,
            &Widget::Int,
            &Widget::Json
        ]
    );
    assert!(s.params[0].required() && !s.params[1].required() && !s.params[2].required());
}

#[test]
fn items_put_parameters_before_args_by_position() {
    let s = scan();
    let fields: BTreeMap<String, String> = [
        ("detectors", "det1, det2"),
        ("args", r#"["motor", -1, 1]"#),
        ("num", "5"),
        ("md", r#"{"sample": "Si"}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let item = build_item(&s, &fields).unwrap();
    assert_eq!(
        item,
        json!({"name": "scan", "args": [["det1", "det2"], "motor", -1, 1],
               "kwargs": {"num": 5, "md": {"sample": "Si"}}, "item_type": "plan"})
    );
    let back = fields_of(&s, &item);
    assert_eq!(back["detectors"], "det1,det2");
    assert_eq!(back["args"], r#"["motor",-1,1]"#);
    assert_eq!(back["num"], "5");
}

#[test]
fn errors_are_per_field() {
    let s = scan();
    let fields: BTreeMap<String, String> = [
        ("num".to_string(), "five".to_string()),
        ("args".to_string(), "motor".to_string()),
    ]
    .into();
    let e = build_item(&s, &fields).unwrap_err();
    assert_eq!(e["detectors"], "required");
    assert!(e["num"].contains("not a whole number"));
    assert!(e["args"].contains("JSON list"));
    // Broken JSON in a dictionary is refused as typed, not sent as a string.
    let md = &s.params[3];
    assert!(field_error(md, r#"{"sample": "Si""#)
        .unwrap()
        .contains("not valid JSON"));
    assert!(field_error(md, "sample=Si")
        .unwrap()
        .contains("JSON object"));
    assert!(field_error(md, "[1]").unwrap().contains("JSON object"));
    assert_eq!(field_error(md, r#"{"sample": "Si"}"#), None);
    assert_eq!(field_error(md, "null"), None, "None is allowed");
    // Optional[...] and Union[...] are read as their alternatives.
    let mut optional = md.clone();
    optional.type_text = "typing.Optional[typing.Dict[str, typing.Any]]".into();
    assert!(field_error(&optional, "sample=Si")
        .unwrap()
        .contains("JSON object"));
    assert_eq!(field_error(&optional, "null"), None);
    let mut positions = md.clone();
    positions.type_text = "list[float]".into();
    assert!(field_error(&positions, "5").unwrap().contains("JSON list"));
    assert!(
        field_error(&positions, "null").is_some(),
        "no None in list[float]"
    );
    assert_eq!(field_error(&positions, "[1, 2.5]"), None);
    let mut delay = md.clone();
    delay.type_text = "float | collections.abc.Iterable[float]".into();
    assert_eq!(field_error(&delay, "0.5"), None);
    assert_eq!(field_error(&delay, "[0.1, 0.2]"), None);
    // The scan's args are checked against its motor/start/stop rows.
    let args = &s.params[1];
    assert_eq!(
        field_error(args, r#"["motor", -1]"#).as_deref(),
        Some("row 1: stop is missing")
    );
    assert_eq!(
        field_of_message(&s, "Plan validation failed: 'num' must be int"),
        Some("num")
    );
}

#[test]
fn lists_in_json_fields_survive_an_edit() {
    let plan = plans(&json!({"count": {"parameters": [
        {"name": "delay", "kind": {"name": "POSITIONAL_OR_KEYWORD"},
         "annotation": {"type": "float | collections.abc.Iterable[float]"}, "default": "0.0"},
        {"name": "snake", "kind": {"name": "KEYWORD_ONLY"},
         "annotation": {"type": "list[typing.Any]"}, "default": "None"}]}}))
    .remove(0);
    assert_eq!(
        plan.params[0].widget,
        Widget::Json,
        "a union with a list type is JSON"
    );
    let item =
        json!({"name": "count", "args": [], "kwargs": {"delay": [0.1, 0.2], "snake": ["motor1"]}});
    let fields = fields_of(&plan, &item);
    assert_eq!(fields["snake"], r#"["motor1"]"#);
    let back = build_item(&plan, &fields).unwrap();
    assert_eq!(back["kwargs"], item["kwargs"]);
}
