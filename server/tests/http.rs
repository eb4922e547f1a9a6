//! HTTP routes through the real router (`oneshot`), and the pages' server rendering.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestServer;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn call(server: &TestServer, method: &str, path: &str, body: &str) -> (StatusCode, String) {
    call_as(
        server,
        Some(&format!("ApiKey {}", common::KEY)),
        method,
        path,
        body,
    )
    .await
}

async fn call_as(
    server: &TestServer,
    auth: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, String) {
    let router = hutch_server::http::router(server.state.clone());
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let request = request.body(Body::from(body.to_string())).unwrap();
    // A render that never finishes fails here, by name, instead of holding CI until its limit.
    let response =
        tokio::time::timeout(std::time::Duration::from_secs(60), router.oneshot(request))
            .await
            .unwrap_or_else(|_| panic!("{method} {path} did not answer within 60 s"))
            .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Leptos keeps process-wide rendering state; two tests rendering pages at once, each on its own
/// test runtime, can deadlock (seen as a rare hang). The server has one runtime, so this only
/// serialises the tests that render pages.
async fn page_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn status_ping_and_root_return_the_status_dictionary() {
    let server = TestServer::start().await;
    for path in ["/api/status", "/api/ping", "/api/"] {
        let (code, body) = call(&server, "GET", path, "").await;
        assert_eq!(code, StatusCode::OK, "{path}");
        let v = json(&body);
        assert_eq!(v["manager_state"], "idle", "{path}");
        assert_eq!(v["worker_environment_exists"], false);
        assert_eq!(v["plan_queue_mode"]["loop"], false);
        assert!(v["msg"].as_str().unwrap().starts_with("hutch "));
    }
    // bluesky clients send a JSON body on GET.
    let (code, _) = call(&server, "GET", "/api/status", r#"{"reload": true}"#).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused_with_422() {
    let server = TestServer::start().await;
    let (code, body) = call(&server, "GET", "/api/status", "[1, 2]").await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let v = json(&body);
    assert_eq!(v["success"], false);
    assert!(v["msg"].as_str().unwrap().contains("JSON object"));
    let (code, body) = call(&server, "GET", "/api/status", "{not json").await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(&body)["msg"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
}

#[tokio::test]
async fn the_console_takes_nlines_from_the_body_or_the_query() {
    let server = TestServer::start().await;
    for i in 0..5 {
        server.state.console.push(1.0, &format!("line {i}"));
    }
    let (code, body) = call(&server, "GET", "/api/console_output?nlines=2", "").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["text"], "line 3\nline 4");
    let (code, body) = call(&server, "GET", "/api/console_output", r#"{"nlines": 1}"#).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["text"],
        "line 4"
    );
    let (code, body) = call(&server, "GET", "/api/console_output?nlines=many", "").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["success"], false);
    assert_eq!(
        v["msg"],
        "'nlines' must be a whole number of lines, got 'many'"
    );
    // The past with times, for a browser: `last_msg_uid` in the query too.
    let (code, body) = call(
        &server,
        "GET",
        "/api/console_output_update?last_msg_uid=ALL",
        "",
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["console_output_msgs"].as_array().map(Vec::len),
        Some(5),
        "{v}"
    );
    assert_eq!(
        v["console_output_msgs"][4],
        json!({"time": 1.0, "msg": "line 4\n"})
    );
    let (code, body) = call(&server, "GET", "/api/console_output_update", "").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn unknown_api_routes_and_wrong_methods_answer_json() {
    let server = TestServer::start().await;
    let (code, body) = call(&server, "GET", "/api/no/such/route", "").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let v = json(&body);
    assert_eq!(v["success"], false);
    assert!(v["msg"]
        .as_str()
        .unwrap()
        .contains("GET /api/no/such/route"));
    assert_eq!(v["detail"], v["msg"]);

    let (code, body) = call(&server, "POST", "/api/status", "{}").await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    assert!(json(&body)["msg"]
        .as_str()
        .unwrap()
        .contains("does not accept POST"));
}

#[tokio::test]
async fn pages_are_server_rendered_with_the_status() {
    let _pages = page_lock().await;
    let server = TestServer::start().await;
    let (code, html) = call(&server, "GET", "/", "").await;
    assert_eq!(code, StatusCode::OK);
    assert!(html.contains("<nav"), "navigation is rendered");
    for label in [
        "Monitor", "Queue", "History", "Applets", "Datasets", "Console",
    ] {
        assert!(html.contains(label), "nav has {label}");
    }
    // In the document itself, not in a streamed <template> that needs a script to show.
    let manager = html
        .find(r#"data-testid="manager-state""#)
        .expect("status is in the first render");
    assert!(
        !html[..manager].contains("<template"),
        "status is rendered in place"
    );
    assert!(
        html.contains("/pkg/hutch.js"),
        "hydration script is referenced"
    );
    assert!(html.contains(r#"data-state="connecting""#));

    let (code, html) = call(&server, "GET", "/queue", "").await;
    assert_eq!(code, StatusCode::OK);
    assert!(html.contains(r#"<h1 id="queue-h">Queue</h1>"#), "{html}");
    assert!(
        html.contains("The queue is empty"),
        "the queue is rendered on the server, with its data: {html}"
    );

    let (code, html) = call(&server, "GET", "/no/such/page", "").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn api_routes_and_pages_need_the_key_and_the_login_page_does_not() {
    let _pages = page_lock().await;
    let server = TestServer::start().await;
    let (code, body) = call_as(&server, None, "GET", "/api/status", "").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert!(json(&body)["detail"].as_str().unwrap().contains("API key"));
    let (code, body) = call_as(&server, Some("ApiKey wrong"), "GET", "/api/queue/get", "").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(json(&body)["detail"], "Invalid API key");
    let (code, _) = call_as(&server, Some("Token x"), "GET", "/api/status", "").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = call_as(&server, Some("Bearer test-key"), "GET", "/api/status", "").await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = call_as(&server, None, "GET", "/api/status?api_key=test-key", "").await;
    assert_eq!(code, StatusCode::OK);
    let router = hutch_server::http::router(server.state.clone());
    let req = Request::builder()
        .uri("/history?status=failed")
        .body(Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    assert!(
        resp.status().is_redirection(),
        "pages need a signed-in browser"
    );
    assert_eq!(
        resp.headers()["location"],
        "/login?next=/history%3Fstatus%3Dfailed",
        "and come back to where they were"
    );
    let (code, html) = call_as(&server, None, "GET", "/login?next=/queue", "").await;
    assert_eq!(code, StatusCode::OK, "the login page is public");
    assert!(
        html.contains(r#"name="api_key""#) && html.contains(r#"value="/queue""#),
        "{html}"
    );
}

#[tokio::test]
async fn a_page_link_with_the_key_sets_a_cookie_and_cleans_the_address() {
    let _pages = page_lock().await;
    let server = TestServer::start().await;
    let router = hutch_server::http::router(server.state.clone());
    let req = Request::builder()
        .uri("/queue?api_key=test-key")
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    assert!(resp.status().is_redirection());
    assert_eq!(resp.headers()["location"], "/queue");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("hutch_api_key=test-key;")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
    );
    let req = Request::builder()
        .uri("/api/status")
        .header("cookie", "hutch_api_key=test-key")
        .body(Body::empty())
        .unwrap();
    assert_eq!(router.oneshot(req).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_short_or_empty_api_key_is_refused_at_start() {
    for key in ["", "short"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = hutch_server::config::Config::for_data_dir(dir.path());
        config.api_key = Some(key.into());
        let err = match hutch_server::prepare(config).await {
            Ok(_) => panic!("a {}-character key was accepted", key.len()),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("shorter than 8 characters"), "{err}");
    }
}
