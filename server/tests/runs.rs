//! Documents through the storage path and back out of `/api/runs`.

mod common;

use common::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<(String, Value)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bluesky-docs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} ({e}); copied from the recorded replies into server/tests/fixtures",
            path.display()
        )
    });
    text.lines()
        .map(|l| serde_json::from_str::<(String, Value)>(l).expect("a [name, doc] line"))
        .collect()
}

async fn get_text(server: &TestServer, path: &str) -> (u16, String) {
    use tower::ServiceExt;
    let router = hutch_server::http::router(server.state.clone());
    let req = axum::http::Request::builder()
        .uri(path)
        .header("authorization", format!("ApiKey {KEY}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    let code = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap();
    (code, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn every_fixture_round_trips_with_the_same_content() {
    let server = TestServer::start().await;
    for name in [
        "count_det1_det2.jsonl",
        "scan_det_motor.jsonl",
        "fail_midway.jsonl",
        "count_direct_img.jsonl",
        "count_img_external.jsonl",
        "scan_with_baseline.jsonl",
    ] {
        let docs = fixture(name);
        let stored = server
            .state
            .docs
            .store(docs.clone(), None)
            .await
            .expect("stored");
        assert_eq!(stored, docs.len());
        let uid = docs[0].1["uid"].as_str().unwrap();
        let (code, text) = get_text(&server, &format!("/api/runs/{uid}/documents")).await;
        assert_eq!(code, 200, "{name}: {text}");
        let back: Vec<(String, Value)> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back.len(), docs.len(), "{name}: every document comes back");
        for (i, (a, b)) in docs.iter().zip(&back).enumerate() {
            assert_eq!(a, b, "{name}: document {i} differs");
        }
    }
    let list = api_ok(&server, "GET", "/api/runs", json!({})).await;
    assert_eq!(list["runs"].as_array().unwrap().len(), 6);
    let failed = api_ok(&server, "GET", "/api/runs?status=fail", json!({})).await;
    assert_eq!(failed["runs"].as_array().unwrap().len(), 1);
    assert_eq!(failed["runs"][0]["num_events"]["primary"], 4);
}

#[tokio::test]
async fn stream_data_is_columnar_decimated_and_exportable_as_csv() {
    let server = TestServer::start().await;
    let docs = fixture("scan_det_motor.jsonl");
    server.state.docs.store(docs.clone(), None).await.unwrap();
    let uid = docs[0].1["uid"].as_str().unwrap();
    let all = api_ok(
        &server,
        "GET",
        &format!("/api/runs/{uid}/streams/primary/data?fields=det,motor"),
        json!({}),
    )
    .await;
    let det = all["data"]["det"].as_array().unwrap();
    assert_eq!(det.len(), 25);
    assert_eq!(all["data"]["motor"][0], -1.0);
    assert_eq!(all["data"]["seq_num"][24], 25);
    let small = api_ok(
        &server,
        "GET",
        &format!("/api/runs/{uid}/streams/primary/data?fields=det&max_points=6"),
        json!({}),
    )
    .await;
    let kept = small["data"]["det"].as_array().unwrap();
    assert!(kept.len() <= 6 && kept.len() >= 3, "{small}");
    let peak = det
        .iter()
        .filter_map(Value::as_f64)
        .fold(f64::MIN, f64::max);
    assert!(
        kept.iter().any(|v| v.as_f64() == Some(peak)),
        "the maximum survives decimation"
    );
    let (code, csv) = get_text(
        &server,
        &format!("/api/runs/{uid}/streams/primary/data.csv?fields=det,motor"),
    )
    .await;
    assert_eq!(code, 200);
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains("det") && header.contains("motor") && header.contains("seq_num"),
        "{header}"
    );
    assert_eq!(lines.count(), 25);
    let (code, _) = get_text(&server, &format!("/api/runs/{uid}/streams/nope/data")).await;
    assert_eq!(code, 404);
    let (code, body) = get_text(&server, "/api/runs/no-such-run").await;
    assert_eq!(code, 404);
    assert!(body.contains("there is no run"));
    let (code, _) = get_text(
        &server,
        &format!("/api/runs/{uid}/streams/primary/data?max_points=x"),
    )
    .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn a_bad_batch_stores_nothing_and_says_which_document_failed() {
    let server = TestServer::start().await;
    let mut docs = fixture("count_det1_det2.jsonl");
    let mut bad = docs[3].clone();
    bad.1["descriptor"] = json!("no-such-descriptor");
    docs.insert(4, bad);
    let err = server
        .state
        .docs
        .store(docs.clone(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("document 4 (event): unknown descriptor 'no-such-descriptor'"),
        "{err}"
    );
    let list = api_ok(&server, "GET", "/api/runs", json!({})).await;
    assert_eq!(list["runs"], json!([]), "nothing of the batch was stored");
    docs.remove(4);
    server
        .state
        .docs
        .store(docs.clone(), None)
        .await
        .expect("the good batch stores");
    let err = server
        .state
        .docs
        .store(vec![docs[0].clone()], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already stored"), "{err}");
    // An event of the finished run is refused too (before its uid is even looked at).
    let err = server
        .state
        .docs
        .store(vec![docs[2].clone()], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already stopped"), "{err}");
}

#[tokio::test]
async fn paging_by_cursor_visits_every_run_once() {
    let server = TestServer::start().await;
    for i in 0..7 {
        let start = json!({"uid": format!("run-{i}"), "time": 1000.0 + i as f64, "plan_name": if i % 2 == 0 { "scan" } else { "count" }, "scan_id": i});
        server
            .state
            .docs
            .store(vec![("start".into(), start)], None)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut url = "/api/runs?limit=3".to_string();
    loop {
        let page = api_ok(&server, "GET", &url, json!({})).await;
        for r in page["runs"].as_array().unwrap() {
            seen.push(r["uid"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => url = format!("/api/runs?limit=3&before={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..7).rev().map(|i| format!("run-{i}")).collect::<Vec<_>>()
    );
    let scans = api_ok(&server, "GET", "/api/runs?plan=scan&since=1002", json!({})).await;
    assert_eq!(scans["runs"].as_array().unwrap().len(), 3);
    // A refused parameter is named, with what it must be.
    for (query, needle) in [
        (
            "bogus=1",
            "unknown parameter 'bogus'; /api/runs takes plan, status",
        ),
        (
            "limit=ten",
            "'limit' must be an integer from 1 to 1000, got 'ten'",
        ),
        (
            "limit=0",
            "'limit' must be an integer from 1 to 1000, got '0'",
        ),
        (
            "since=soon",
            "'since' must be a number (Unix seconds), got 'soon'",
        ),
        ("plan=a&plan=b", "'plan' is given twice"),
    ] {
        let (code, v) = api(&server, "GET", &format!("/api/runs?{query}"), json!({})).await;
        assert_eq!(code, 400, "{query}: {v}");
        assert_eq!(v["success"], false);
        assert!(v["msg"].as_str().unwrap().contains(needle), "{query}: {v}");
    }
}

#[tokio::test]
async fn a_queue_run_is_stored_with_its_dispatch() {
    let server = TestServer::start().await;
    let _ws = run_plan(&server, json!({"name": "scan", "args": [["det"], "motor", -1, 1, 11], "kwargs": {}, "item_type": "plan"})).await;
    let history = api_ok(&server, "GET", "/api/history/get", json!({})).await;
    let run_uid = history["items"][0]["result"]["run_uids"][0]
        .as_str()
        .unwrap()
        .to_string();
    // A plan shows in history only once its documents are stored.
    let run =
        api_ok(&server, "GET", &format!("/api/runs/{run_uid}"), json!({})).await["run"].clone();
    assert_eq!(run["exit_status"], "success", "{run}");
    assert_eq!(run["num_events"]["primary"], 11);
    assert!(run["dispatch_uid"].is_string());
    assert_eq!(
        run["start"]["queue_item_uid"],
        history["items"][0]["item_uid"]
    );
    assert_eq!(run["streams"][0]["data_keys"]["motor"]["units"], "mm");
}

#[tokio::test]
async fn a_run_is_drawn_as_svg_and_png_and_bad_requests_say_what_to_fix() {
    let server = TestServer::start().await;
    let docs = fixture("scan_det_motor.jsonl");
    let uid = docs[0].1["uid"].as_str().unwrap().to_string();
    server.state.docs.store(docs, None).await.expect("stored");

    let (code, svg) = get_text(&server, &format!("/api/runs/{uid}/plot.svg")).await;
    assert_eq!(code, 200, "{svg}");
    assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
    // Defaults: the scan's motor on x, its hinted detector on y, every one of the 25 points.
    // Readable text: no tick label under 13 px.
    let smallest = svg
        .split("font-size=\"")
        .skip(1)
        .filter_map(|t| t.split('"').next()?.parse::<f64>().ok())
        .fold(f64::MAX, f64::min);
    assert!(smallest >= 13.0, "smallest text {smallest} px");
    assert!(svg.contains("\nmotor\n"), "x label");
    assert!(svg.contains("\ndet\n"), "y label");
    let line = svg
        .lines()
        .find(|l| l.starts_with("<polyline") && l.contains("#0072B2"))
        .expect("the curve, in the first series colour");
    let points = line
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(points.split_whitespace().count(), 25, "{line}");

    let (code, png) = api_raw(
        &server,
        "GET",
        &format!("/api/runs/{uid}/plot.png?width=400&height=300&kind=scatter"),
        "",
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        400,
        "IHDR width"
    );
    assert_eq!(
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
        300,
        "IHDR height"
    );

    let (code, svg) = get_text(
        &server,
        &format!("/api/runs/{uid}/plot.svg?kind=histogram&field=det&bins=5"),
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        svg.matches("<rect").count() >= 5,
        "five bars and the background"
    );

    // A field named twice is drawn once; more than 16 lines is refused before anything is drawn.
    let (code, twice) = get_text(
        &server,
        &format!("/api/runs/{uid}/plot.svg?y=det,det,%20det"),
    )
    .await;
    assert_eq!(code, 200, "{twice}");
    let (_, once) = get_text(&server, &format!("/api/runs/{uid}/plot.svg?y=det")).await;
    assert_eq!(
        twice, once,
        "a duplicated y field draws the same picture as one"
    );
    let many_y = format!(
        "y={}",
        (0..17)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (query, status, needle) in [
        ("kind=pie", 400, "'kind'"),
        ("width=5", 400, "'width'"),
        ("y=nope", 400, "det, motor"),
        ("colour=red", 400, "unknown parameter 'colour'"),
        ("stream=baseline", 404, "no stream 'baseline'"),
        ("kind=image", 400, "'field'"),
        ("kind=histogram&field=det&bins=0", 400, "'bins' must"),
        (many_y.as_str(), 400, "at most 16 lines"),
    ] {
        let (code, body) = get_text(&server, &format!("/api/runs/{uid}/plot.svg?{query}")).await;
        assert_eq!(code, status, "{query}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["success"], false);
        assert!(
            v["msg"].as_str().unwrap().contains(needle),
            "{query}: {body}"
        );
    }
    let (code, _) = get_text(&server, "/api/runs/nope/plot.png").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn the_monitor_plot_draws_a_run_as_the_first_applet_that_fits_it_does() {
    let server = TestServer::start().await;
    let docs = fixture("scan_det_motor.jsonl");
    let uid = docs[0].1["uid"].as_str().unwrap().to_string();
    server.state.docs.store(docs, None).await.expect("stored");
    let (defaults_code, defaults) =
        get_text(&server, &format!("/api/runs/{uid}/plot.svg?applet=first")).await;
    assert_eq!(defaults_code, 200, "{defaults}");
    let (_, plain) = get_text(&server, &format!("/api/runs/{uid}/plot.svg")).await;
    assert_eq!(defaults, plain, "no applet fits: the defaults are drawn");

    // Applets in list order (group, name): one of another plan, one with a field this run lacks,
    // then one that fits: a histogram of det.
    for (name, kind, spec) in [
        (
            "a",
            "line",
            json!({"latest_of_plan": "count", "x": "motor", "y": "det"}),
        ),
        (
            "b",
            "line",
            json!({"latest": true, "x": "motor", "y": "nope"}),
        ),
        (
            "c",
            "histogram",
            json!({"latest": true, "field": "det", "bins": 7}),
        ),
        (
            "d",
            "line",
            json!({"latest": true, "x": "motor", "y": "det"}),
        ),
    ] {
        let body = json!({"name": name, "kind": kind, "spec": spec});
        api_ok(&server, "POST", "/api/applets", body).await;
    }
    let (code, svg) = get_text(&server, &format!("/api/runs/{uid}/plot.svg?applet=first")).await;
    assert_eq!(code, 200, "{svg}");
    assert!(svg.contains("\ncount\n"), "the histogram's y axis: {svg}");
    assert_ne!(svg, plain);

    let (code, body) = get_text(&server, &format!("/api/runs/{uid}/plot.svg?applet=nope")).await;
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("no applet 'nope'"), "{body}");
}

#[tokio::test]
async fn exports_and_replays_go_in_steps_bounded_by_bytes_and_lose_nothing() {
    use hutch_server::runs::query;
    let server = TestServer::start().await;
    let docs = synthetic_run("stepped", 300);
    store(&server, &docs, 50).await;
    let db = &server.state.db;
    let end = query::document_end(db, "stepped").await.unwrap().unwrap();
    assert_eq!(end, docs.len() as u64);
    let whole = query::documents(db, "stepped").await.unwrap().unwrap();

    // Steps of ~1 kB of stored text: many steps, each at least one document, together the whole export.
    let (mut at, mut steps, mut joined) = (0, 0, String::new());
    while at < end {
        let to = query::step_end(db, "stepped", at, end, 5000, 1000)
            .await
            .unwrap();
        assert!(to > at, "a step holds at least one document");
        joined.push_str(&query::documents_text(db, "stepped", at, to).await.unwrap());
        at = to;
        steps += 1;
    }
    assert!(
        steps > 10,
        "1 kB steps over {} bytes took {steps}",
        whole.len()
    );
    assert_eq!(joined, whole);
    // A budget smaller than any document still moves on by one.
    assert_eq!(
        query::step_end(db, "stepped", 5, end, 5000, 1)
            .await
            .unwrap(),
        6
    );
    assert_eq!(
        query::step_end(db, "stepped", 5, end, 3, u64::MAX)
            .await
            .unwrap(),
        8
    );

    // The streamed HTTP export is the same text, line for line.
    let (code, body) = get_text(&server, "/api/runs/stepped/documents").await;
    assert_eq!(code, 200);
    assert_eq!(body, whole);
}
