//! `GET /api/plans/schema`: the catalogue as JSON Schema 2020-12 (the standard validator's side
//! is in end2end/python/test_plan_schema.py).

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn plans_are_published_as_json_schema_with_types_bounds_defaults_and_device_enums() {
    let server = TestServer::start().await;
    let all = api_ok(&server, "GET", "/api/plans/schema", json!({})).await;
    assert_eq!(
        all["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let count = &all["plans"]["count"];
    assert_eq!(count["title"], "count");
    assert_eq!(count["type"], "object");
    assert_eq!(count["required"], json!(["detectors"]));
    assert_eq!(count["additionalProperties"], false);
    let num = &count["properties"]["num"];
    assert_eq!(num["anyOf"], json!([{"type": "integer"}, {"type": "null"}]));
    assert_eq!(
        (num["minimum"].as_f64(), num["default"].as_i64()),
        (Some(1.0), Some(1))
    );
    // Device parameters refer to the plan's one list of each kind, in `$defs`.
    let detectors = &count["properties"]["detectors"];
    assert_eq!(detectors["type"], "array");
    assert_eq!(detectors["items"], json!({"$ref": "#/$defs/readable"}));
    let names = count["$defs"]["readable"]["enum"].as_array().unwrap();
    assert!(
        names.contains(&json!("det1")) && names.contains(&json!("det1.val")),
        "{count}"
    );
    assert!(
        count["$defs"].get("flyable").is_none(),
        "only the lists used"
    );
    let scan_args = &all["plans"]["scan"]["properties"]["args"];
    assert_eq!(scan_args["type"], "array", "{scan_args}");

    let (code, one) = api(&server, "GET", "/api/plans/schema/count", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(&one, count, "the single schema is the document itself");
    let (code, none) = api(&server, "GET", "/api/plans/schema/no_such_plan", json!({})).await;
    assert_eq!(code, 404, "{none}");
    assert!(
        none["msg"]
            .as_str()
            .unwrap()
            .contains("no plan 'no_such_plan'"),
        "{none}"
    );
}
