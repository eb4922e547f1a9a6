//! The dispatch log: the closed-UI scenario, filters and paging on 10 000 dispatches, and the
//! database operations (backup, check, trim).

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn closed_ui_scenario_everything_that_ran_can_be_read_back() {
    // Nothing is subscribed to anything: a plain HTTP client starts the queue and leaves.
    let dir = tempfile::tempdir().unwrap();
    let hutch = Process::start(dir.path());
    let addr = hutch.addr;
    http(addr, "POST", "/api/environment/open", json!({})).await;
    wait_process_status(addr, |s| {
        s["worker_environment_exists"] == true && s["manager_state"] == "idle"
    })
    .await;
    let plans = [
        json!({"name": "count", "args": [["det1", "det2"]], "kwargs": {"num": 3}, "item_type": "plan"}),
        json!({"name": "scan", "args": [["det"], "motor", -1, 1, 7], "kwargs": {}, "item_type": "plan", "meta": {"sample": "silicon"}}),
        json!({"name": "grid_scan", "args": [["det4"], "motor1", -1, 1, 3, "motor2", -1, 1, 3], "kwargs": {"snake_axes": true}, "item_type": "plan"}),
    ];
    http(
        addr,
        "POST",
        "/api/queue/item/add/batch",
        json!({"items": plans}),
    )
    .await;
    http(addr, "POST", "/api/queue/start", json!({})).await;
    wait_process_status(addr, |s| {
        s["manager_state"] == "idle" && s["items_in_history"] == 3
    })
    .await;

    let (_, overview) = http(addr, "GET", "/api/dispatches/overview", json!({})).await;
    assert_eq!(overview["counts"]["completed"], 3, "{overview}");
    let (_, list) = http(addr, "GET", "/api/dispatches?sort=oldest", json!({})).await;
    let list = list["dispatches"].as_array().unwrap().clone();
    assert_eq!(
        list.iter()
            .map(|d| d["plan_name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["count", "scan", "grid_scan"]
    );
    let (_, found) = http(addr, "GET", "/api/dispatches?q=silicon", json!({})).await;
    assert_eq!(
        found["dispatches"].as_array().unwrap().len(),
        1,
        "free text finds the metadata"
    );

    for d in &list {
        let (code, detail) = http(
            addr,
            "GET",
            &format!("/api/dispatches/{}", d["uid"].as_str().unwrap()),
            json!({}),
        )
        .await;
        assert_eq!(code, 200);
        let detail = &detail["dispatch"];
        let log: Vec<&str> = detail["status_log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(log, ["running", "completed"]);
        let run = &detail["runs"][0];
        let uid = run["uid"].as_str().unwrap();
        let (code, docs) = http(
            addr,
            "GET",
            &format!("/api/runs/{uid}/documents"),
            json!({}),
        )
        .await;
        assert_eq!(code, 200);
        let text = docs.as_str().unwrap();
        assert!(text.starts_with("[\"start\","), "{text}");
        assert!(text
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("[\"stop\","));
    }
    let grid = &list[2];
    let (_, detail) = http(
        addr,
        "GET",
        &format!("/api/dispatches/{}", grid["uid"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(detail["dispatch"]["runs"][0]["num_events"]["primary"], 9);
    // Its picture by default is a heatmap: the detector over the fast and the slow motor.
    let run = detail["dispatch"]["runs"][0]["uid"].as_str().unwrap();
    let (code, svg) = http(addr, "GET", &format!("/api/runs/{run}/plot.svg"), json!({})).await;
    let svg = svg.as_str().unwrap_or_default();
    assert_eq!(code, 200, "{svg}");
    for label in ["motor2 [mm]", "motor1 [mm]", "det4 [counts]"] {
        assert!(
            svg.contains(&format!("\n{label}\n")),
            "axis or colour bar label {label}: {svg}"
        );
    }
    let curve = |svg: &str| {
        svg.lines()
            .any(|l| l.starts_with("<polyline") && l.contains("#0072B2"))
    };
    assert!(!curve(svg), "no curve: {svg}");
    // A 1-D scan stays a curve.
    let (_, scan) = http(
        addr,
        "GET",
        &format!("/api/dispatches/{}", list[1]["uid"].as_str().unwrap()),
        json!({}),
    )
    .await;
    let run = scan["dispatch"]["runs"][0]["uid"].as_str().unwrap();
    let (_, svg) = http(addr, "GET", &format!("/api/runs/{run}/plot.svg"), json!({})).await;
    assert!(
        svg.as_str().unwrap_or_default().contains("<polyline"),
        "{svg}"
    );
}

#[tokio::test]
async fn filters_and_paging_are_right_on_10000_dispatches() {
    let server = TestServer::start().await;
    let mut tx = server.state.db.begin().await.unwrap();
    let statuses = ["completed", "failed", "stopped", "aborted"];
    for i in 0..10_000i64 {
        let status = statuses[(i % 4) as usize];
        let plan = if i % 3 == 0 { "scan" } else { "count" };
        let user = if i % 5 == 0 { "bob" } else { "ann" };
        sqlx::query(
            "INSERT INTO dispatches (uid, item_uid, kind, item, plan_name, user, user_group, status, created_at, updated_at, finished_at, in_history) \
             VALUES (?, ?, 'queue', ?, ?, ?, 'primary', ?, ?, ?, ?, 1)",
        )
        .bind(format!("d{i}"))
        .bind(format!("i{i}"))
        .bind(json!({"name": plan, "meta": {"n": i}}).to_string())
        .bind(plan)
        .bind(user)
        .bind(status)
        .bind(i as f64)
        .bind(i as f64)
        .bind(i as f64)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    // Page through scans by bob that failed, newest first, 100 at a time.
    let expected: Vec<String> = (0..10_000)
        .rev()
        .filter(|i| i % 4 == 1 && i % 3 == 0 && i % 5 == 0)
        .map(|i| format!("d{i}"))
        .collect();
    let mut seen = Vec::new();
    let mut url = "/api/dispatches?status=failed&plan=scan&user=bob&limit=100".to_string();
    loop {
        let page = api_ok(&server, "GET", &url, json!({})).await;
        seen.extend(
            page["dispatches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["uid"].as_str().unwrap().to_string()),
        );
        match page["next"].as_i64() {
            Some(next) => {
                url = format!(
                    "/api/dispatches?status=failed&plan=scan&user=bob&limit=100&after={next}"
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, expected);

    let window = api_ok(
        &server,
        "GET",
        "/api/dispatches?since=100&until=199&sort=oldest&limit=1000",
        json!({}),
    )
    .await;
    let uids: Vec<&str> = window["dispatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids.len(), 100);
    assert_eq!((uids[0], uids[99]), ("d100", "d199"));
    // Free text that matches everything still pages in order.
    let page = api_ok(&server, "GET", "/api/dispatches?q=meta&limit=3", json!({})).await;
    let uids: Vec<&str> = page["dispatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids, ["d9999", "d9998", "d9997"]);
    let next = page["next"].as_i64().unwrap();
    let page = api_ok(
        &server,
        "GET",
        &format!("/api/dispatches?q=meta&limit=3&after={next}&status=completed"),
        json!({}),
    )
    .await;
    assert_eq!(
        page["dispatches"][0]["uid"], "d9996",
        "text and status filters combine"
    );
    let overview = api_ok(&server, "GET", "/api/dispatches/overview", json!({})).await;
    assert_eq!(overview["counts"]["failed"], 2500);
    assert_eq!(overview["total"], 10_000);
    for bad in [
        "/api/dispatches?status=nope",
        "/api/dispatches?limit=0",
        "/api/dispatches?sort=sideways",
        "/api/dispatches?bogus=1",
    ] {
        let (code, v) = api(&server, "GET", bad, json!({})).await;
        assert_eq!(code, 400, "{bad}: {v}");
    }
    let (code, _) = api(&server, "GET", "/api/dispatches/no-such", json!({})).await;
    assert_eq!(code, 404);
}

fn hutch_cmd(dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_hutch"));
    c.env("HUTCH_CONFIG", "/dev/null").arg("db");
    c.env("HUTCH_DATA_DIR", dir);
    c
}

fn output(mut c: std::process::Command) -> (bool, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn backup_check_and_trim() {
    let server = TestServer::start().await;
    let dir = server.dir.path().to_path_buf();
    for i in 0..5 {
        sqlx::query(
            "INSERT INTO dispatches (uid, item_uid, kind, item, plan_name, user, user_group, status, created_at, updated_at, finished_at, in_history) \
             VALUES (?, ?, 'queue', '{}', 'count', 'ann', 'primary', 'completed', ?, ?, ?, 1)",
        )
        .bind(format!("d{i}"))
        .bind(format!("i{i}"))
        .bind(i as f64)
        .bind(i as f64)
        .bind(i as f64)
        .execute(&server.state.db)
        .await
        .unwrap();
    }
    let start = json!({"uid": "r0", "time": 0.0, "plan_name": "count"});
    server
        .state
        .docs
        .store(vec![("start".into(), start)], None)
        .await
        .unwrap();
    sqlx::query("UPDATE runs SET dispatch_uid = 'd0'")
        .execute(&server.state.db)
        .await
        .unwrap();

    let backup = dir.join("copy.db");
    let mut c = hutch_cmd(&dir);
    c.arg("backup").arg(&backup);
    let (ok, text) = output(c);
    assert!(ok, "{text}");
    let (copy, _) = hutch_server::db::open(&backup).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dispatches")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(n, 5, "the backup has the data, taken while the server runs");
    let mut again = hutch_cmd(&dir);
    again.arg("backup").arg(&backup);
    let (ok, text) = output(again);
    assert!(!ok && text.contains("exists already"), "{text}");

    let mut c = hutch_cmd(&dir);
    c.arg("check");
    let (ok, text) = output(c);
    assert!(ok && text.contains(": ok"), "{text}");

    let mut c = hutch_cmd(&dir);
    c.args(["trim", "--keep", "2"]);
    let (ok, text) = output(c);
    assert!(ok && text.contains("deleted 3"), "{text}");
    let left: Vec<String> = sqlx::query_scalar("SELECT uid FROM dispatches ORDER BY id")
        .fetch_all(&server.state.db)
        .await
        .unwrap();
    assert_eq!(left, ["d3", "d4"], "the newest stay");
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs")
        .fetch_one(&server.state.db)
        .await
        .unwrap();
    assert_eq!(runs, 0, "the trimmed dispatch's run went with it");
    let mut c = hutch_cmd(&dir);
    c.arg("check");
    assert!(output(c).0, "still consistent after trimming");
    let mut c = hutch_cmd(&dir);
    c.arg("trim");
    let (ok, text) = output(c);
    assert!(!ok && text.contains("say what to trim"), "{text}");
}

async fn audit_at(db: &sqlx::SqlitePool) -> Vec<String> {
    sqlx::query_scalar("SELECT at FROM audit ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_audit_log_is_kept_for_its_retention_and_trimmed_on_request() {
    let mut server = TestServer::start().await;
    let old = (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339();
    let recent = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    for at in [&old, &old, &recent, &recent] {
        sqlx::query(
            "INSERT INTO audit (at, user, role, action, status, source) VALUES (?, 'ann', 'admin', 'POST /api/x', 200, 'test')",
        )
        .bind(at)
        .execute(&server.state.db)
        .await
        .unwrap();
    }
    server.shutdown().await;
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    // A restart with a 30-day retention deletes what is older, before anything new is written.
    let server = TestServer::start_in(dir, |c| c.audit.keep_days = 30.0).await;
    server.state.auth.audit.flush().await;
    assert_eq!(audit_at(&server.state.db).await, [recent.clone(), recent]);

    let path = server.dir.path().to_path_buf();
    let mut c = hutch_cmd(&path);
    c.args(["trim", "--audit-keep", "1"]);
    let (ok, text) = output(c);
    assert!(ok && text.contains("deleted 1 audit-log entries"), "{text}");
    assert_eq!(audit_at(&server.state.db).await.len(), 1);
    let mut c = hutch_cmd(&path);
    c.args(["trim", "--audit-older-than-days=-1"]);
    let (ok, text) = output(c);
    assert!(!ok && text.contains("0 or more"), "{text}");
}
