//! Users, roles, keys and TLS: the route matrix generated from the router, sign-in and its
//! throttle, CSRF, WebSocket authorization, kiosk tokens, the audit log, lock breaking, the
//! principal stamped into items, and an HTTPS/WSS smoke test.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use common::{next_json, send_json, TestServer, KEY};
use futures_util::StreamExt;
use hutch_server::auth::scopes::{Need, Role};
use hutch_server::auth::Mode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tower::ServiceExt;

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A request through the real router, from 127.0.0.1, with the given headers.
async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let router = hutch_server::http::router(server.state.clone());
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A request with an API key and a JSON body.
async fn with_key(server: &TestServer, method: &str, path: &str, key: &str, body: &str) -> Reply {
    let auth = key_header(key);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    call(server, method, path, &headers, body).await
}

fn key_header(key: &str) -> String {
    format!("ApiKey {key}")
}

/// A multi-user server with an admin, an operator, an observer (each with an API key of all their
/// scopes) and a kiosk token.
struct People {
    server: TestServer,
    admin: String,
    operator: String,
    observer: String,
    kiosk: String,
}

async fn people() -> People {
    let server = TestServer::start_with(|c| c.auth = Mode::Multi).await;
    let store = &server.state.auth.store;
    let mut keys = Vec::new();
    for (name, role) in [
        ("ada", Role::Admin),
        ("otto", Role::Operator),
        ("olga", Role::Observer),
    ] {
        store
            .add_user(name, role, "primary", "password-1")
            .await
            .unwrap();
        let (key, _) = store
            .create_key(name, "user", &role.scopes(), "test", None)
            .await
            .unwrap();
        keys.push(key);
    }
    let (kiosk, _) = store
        .create_key(
            "ada",
            "kiosk",
            hutch_server::auth::scopes::KIOSK,
            "hall",
            None,
        )
        .await
        .unwrap();
    let [admin, operator, observer]: [String; 3] = keys.try_into().unwrap();
    People {
        server,
        admin,
        operator,
        observer,
        kiosk,
    }
}

/// A concrete path for a declared route pattern.
fn concrete(path: &str) -> String {
    path.replace("{uid}", "no-such-uid")
        .replace("{key}", "no.such.key")
        .replace("{group}", "nogroup")
        .replace("{name}", "nobody")
        .replace("{stream}", "primary")
}

#[tokio::test]
async fn every_route_checks_its_scope_for_every_kind_of_caller() {
    let p = people().await;
    let table = hutch_server::http::auth::route_table();
    assert!(
        table.len() > 60,
        "the table comes from the router: {} routes",
        table.len()
    );
    let callers: Vec<(&str, Option<String>, Option<Role>)> = vec![
        ("no credentials", None, None),
        ("bad key", Some(key_header("not-a-key")), None),
        (
            "observer",
            Some(key_header(&p.observer)),
            Some(Role::Observer),
        ),
        (
            "operator",
            Some(key_header(&p.operator)),
            Some(Role::Operator),
        ),
        ("admin", Some(key_header(&p.admin)), Some(Role::Admin)),
        ("kiosk", Some(key_header(&p.kiosk)), Some(Role::Kiosk)),
    ];
    // Declarations themselves: a route that changes something never needs only a read scope.
    for route in table {
        if let Need::Scope(s) = route.need {
            let reads = s.starts_with("read:");
            let writes =
                route.method != "GET" || (route.websocket && route.path.contains("documents"));
            assert!(
                !(reads && writes) || route.path == "/api/re/runs",
                "{} {} needs {s}",
                route.method,
                route.path
            );
        }
    }
    let mut checked = 0;
    for route in table {
        let path = concrete(route.path);
        for (who, auth, role) in &callers {
            let mut headers = vec![("content-type", "application/json")];
            if let Some(a) = auth {
                headers.push(("authorization", a.as_str()));
            }
            // A JSON list is no route's valid body: a request that gets through is refused by
            // the handler's own validation instead of changing anything.
            let r = call(&p.server, route.method, &path, &headers, "[]").await;
            let what = format!(
                "{} {} as {who}: {} {}",
                route.method, route.path, r.status, r.body
            );
            assert!(
                !r.body.contains("there is no API route"),
                "declared but not routed: {what}"
            );
            assert_ne!(r.status, 405, "{what}");
            assert!(
                !r.body.contains("panicked") && !r.body.to_lowercase().contains("sqlite"),
                "no internals in replies: {what}"
            );
            let allowed = match (route.need, role) {
                (Need::Public, _) => true,
                (_, None) => false,
                (Need::SignedIn | Need::Stream, Some(_)) => true,
                (Need::Scope(s), Some(role)) => role.scopes().contains(&s),
            };
            if allowed {
                assert!(r.status != 401 && r.status != 403, "should pass: {what}");
            } else if role.is_none() {
                assert_eq!(r.status, 401, "{what}");
                assert_eq!(r.json()["success"], false, "{what}");
            } else {
                assert_eq!(r.status, 403, "{what}");
                assert!(
                    r.json()["msg"]
                        .as_str()
                        .unwrap()
                        .contains("Not enough permissions"),
                    "{what}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table.len() * callers.len());
}

#[tokio::test]
async fn the_scope_list_shows_the_caller_and_every_route() {
    let p = people().await;
    let r = with_key(&p.server, "GET", "/api/auth/scopes", &p.observer, "").await;
    let v = r.json();
    assert_eq!(v["roles"], json!(["observer"]));
    assert!(v["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("read:queue")));
    assert!(!v["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("write:queue:edit")));
    let routes = v["routes"].as_array().unwrap();
    assert!(routes.contains(&json!({"method": "POST", "path": "/api/queue/item/add", "need": "write:queue:edit", "websocket": false})));
    let r = call(&p.server, "GET", "/api/auth/scopes", &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["scopes"], json!([]));
}

fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn cookie_value(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
        .to_string()
}

#[tokio::test]
async fn a_session_needs_the_csrf_token_to_write_and_items_carry_the_signed_in_user() {
    let p = people().await;
    let s = &p.server;
    let login = call(
        s,
        "POST",
        "/api/auth/login",
        &[("content-type", "application/json")],
        r#"{"username": "otto", "password": "password-1"}"#,
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let cookies = set_cookies(&login.headers);
    let session = cookie_value(&cookies, "hutch_session");
    let csrf = cookie_value(&cookies, "hutch_csrf");
    assert_eq!(login.json()["csrf_token"], csrf.as_str());
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("hutch_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"));
    assert!(!session_cookie.contains("Secure"), "plain HTTP here");

    let jar = format!("hutch_session={session}; hutch_csrf={csrf}");
    let item = r#"{"item": {"name": "count", "args": [["det1"]], "item_type": "plan", "user": "mallory", "user_group": "admin"}}"#;
    let r = call(
        s,
        "POST",
        "/api/queue/item/add",
        &[("cookie", &jar), ("content-type", "application/json")],
        item,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("CSRF"), "{}", r.body);
    let r = call(
        s,
        "POST",
        "/api/queue/item/add",
        &[
            ("cookie", &jar),
            ("content-type", "application/json"),
            ("x-csrf", "wrong"),
        ],
        item,
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        s,
        "POST",
        "/api/queue/item/add",
        &[
            ("cookie", &jar),
            ("content-type", "application/json"),
            ("x-csrf", &csrf),
        ],
        item,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["item"]["user"],
        "otto",
        "from the session, not the body"
    );
    assert_eq!(r.json()["item"]["user_group"], "primary");
    // Reading needs no token; a page opens without a redirect.
    let r = call(s, "GET", "/api/queue/get", &[("cookie", &jar)], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"][0]["user"], "otto");
    let r = call(s, "GET", "/", &[("cookie", &jar)], "").await;
    assert_eq!(r.status, 200);

    let who = call(s, "GET", "/api/auth/whoami", &[("cookie", &jar)], "")
        .await
        .json();
    assert_eq!(
        (who["user"].as_str(), who["role"].as_str()),
        (Some("otto"), Some("operator"))
    );

    // Signing out ends the session for good.
    let out = call(s, "POST", "/api/auth/logout", &[("cookie", &jar)], "").await;
    assert_eq!(out.status, 200);
    let r = call(s, "GET", "/api/queue/get", &[("cookie", &jar)], "").await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("sign in again"), "{}", r.body);
}

#[tokio::test]
async fn failed_logins_are_throttled_and_audited() {
    let p = people().await;
    let s = &p.server;
    let form = |pw: &str| format!("username=olga&password={pw}&next=%2Fhistory");
    let formh = [("content-type", "application/x-www-form-urlencoded")];
    for i in 0..5 {
        let r = call(s, "POST", "/api/auth/login", &formh, &form("nope")).await;
        assert_eq!(
            r.status, 303,
            "attempt {i}: the form goes back to the login page"
        );
        let to = r.headers["location"].to_str().unwrap();
        assert!(
            to.starts_with("/login?error=Wrong") && to.contains("next=/history"),
            "{to}"
        );
    }
    let r = call(
        s,
        "POST",
        "/api/auth/login",
        &[("content-type", "application/json")],
        r#"{"username": "olga", "password": "password-1"}"#,
    )
    .await;
    assert_eq!(r.status, 429, "even the right password waits: {}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    // Others, from this address too, wait (the address is throttled as well).
    let r = call(
        s,
        "POST",
        "/api/auth/login",
        &[("content-type", "application/json")],
        r#"{"username": "ada", "password": "password-1"}"#,
    )
    .await;
    assert_eq!(r.status, 429);

    let log = with_key(s, "GET", "/api/audit?limit=50", &p.admin, "")
        .await
        .json();
    let failed = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"] == "login failed" && e["user"] == "olga" && e["source"] == "127.0.0.1"
        })
        .count();
    assert_eq!(failed, 5, "{log}");
}

#[tokio::test]
async fn a_form_login_redirects_back_and_a_page_without_it_goes_to_login() {
    let p = people().await;
    let s = &p.server;
    let r = call(
        s,
        "POST",
        "/api/auth/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "username=ada&password=password-1&next=%2Fhistory%3Fstatus%3Dfailed",
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/history?status=failed");
    let r = call(
        s,
        "POST",
        "/api/auth/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "username=ada&password=password-1&next=https%3A%2F%2Fevil.example",
    )
    .await;
    assert_eq!(r.headers["location"], "/", "never off-site");
    let r = call(s, "GET", "/login", &[], "").await;
    assert!(r.body.contains(r#"name="username""#) && r.body.contains(r#"type="password""#));
}

#[tokio::test]
async fn kiosk_tokens_and_observers_cannot_write() {
    let p = people().await;
    let s = &p.server;
    let item = r#"{"item": {"name": "count", "args": [["det1"]], "item_type": "plan"}}"#;
    for key in [&p.kiosk, &p.observer] {
        let h = key_header(key);
        let r = call(
            s,
            "POST",
            "/api/queue/item/add",
            &[("authorization", &h), ("content-type", "application/json")],
            item,
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = call(s, "GET", "/api/status", &[("authorization", &h)], "").await;
        assert_eq!(r.status, 200);
    }
    // A kiosk link signs the screen in and keeps the rest of the address.
    let r = call(
        s,
        "GET",
        &format!("/?dashboard=hall&api_key={}", p.kiosk),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/?dashboard=hall");
    let r = with_key(s, "GET", "/api/queue/get", &p.kiosk, "").await;
    assert_eq!(r.status, 200);
    let r = with_key(s, "GET", "/api/console_output", &p.kiosk, "").await;
    assert_eq!(r.status, 403, "a wall screen does not show the console");
    // The queue is untouched.
    let r = with_key(s, "GET", "/api/queue/get", &p.admin, "").await;
    assert_eq!(r.json()["items"], json!([]));
}

#[tokio::test]
async fn keys_are_scoped_expire_and_can_be_revoked() {
    let p = people().await;
    let s = &p.server;
    let r = with_key(
        s,
        "POST",
        "/api/auth/apikey",
        &p.operator,
        r#"{"scopes": ["admin"]}"#,
    )
    .await;
    assert_eq!(r.status, 422, "not more than the owner has: {}", r.body);
    let r = with_key(
        s,
        "POST",
        "/api/auth/apikey",
        &p.operator,
        r#"{"scopes": ["read:status", "publish:documents"], "note": "publisher"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let narrow = r.json()["key"].as_str().unwrap().to_string();
    let first = r.json()["first_eight"].as_str().unwrap().to_string();
    assert_eq!(
        with_key(s, "GET", "/api/status", &narrow, "").await.status,
        200
    );
    assert_eq!(
        with_key(s, "GET", "/api/queue/get", &narrow, "")
            .await
            .status,
        403
    );
    let listed = with_key(s, "GET", "/api/auth/apikey", &p.operator, "")
        .await
        .json();
    assert!(listed["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["first_eight"] == first.as_str()));
    assert!(
        !listed.to_string().contains(&narrow),
        "keys are never shown again"
    );
    let r = with_key(
        s,
        "DELETE",
        &format!("/api/auth/apikey?first_eight={first}"),
        &p.operator,
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = with_key(s, "GET", "/api/status", &narrow, "").await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("revoked"));
    // A lowered role lowers its keys at once.
    s.state
        .auth
        .store
        .update_user("otto", Some(Role::Observer), None, None, None)
        .await
        .unwrap();
    let r = with_key(
        s,
        "POST",
        "/api/queue/item/add",
        &p.operator,
        r#"{"item": {"name": "count", "args": [["det1"]], "item_type": "plan"}}"#,
    )
    .await;
    assert_eq!(r.status, 403);
    // Expired keys are refused.
    let (old, _) = s
        .state
        .auth
        .store
        .create_key(
            "ada",
            "user",
            &["read:status"],
            "",
            Some(chrono::Duration::seconds(-1)),
        )
        .await
        .unwrap();
    let r = with_key(s, "GET", "/api/status", &old, "").await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("expired"));
}

#[tokio::test]
async fn changes_are_audited_and_only_admins_read_the_log() {
    let p = people().await;
    let s = &p.server;
    let op = key_header(&p.operator);
    let r = call(s, "POST", "/api/queue/item/add",
        &[("authorization", &op), ("content-type", "application/json"), ("x-forwarded-for", "203.0.113.9")],
        r#"{"item": {"name": "count", "args": [["det1"]], "item_type": "plan"}, "lock_key": "secret-lock"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(s, "GET", "/api/audit", &[("authorization", &op)], "").await;
    assert_eq!(r.status, 403);
    let log = with_key(s, "GET", "/api/audit?user=otto", &p.admin, "")
        .await
        .json();
    let e = &log["entries"][0];
    assert_eq!(e["action"], "POST /api/queue/item/add");
    assert_eq!(e["role"], "operator");
    assert_eq!(e["status"], 200);
    assert_eq!(e["source"], "127.0.0.1 (forwarded for 203.0.113.9)");
    let detail = e["detail"].as_str().unwrap();
    assert!(
        detail.contains("count") && !detail.contains("secret-lock"),
        "{detail}"
    );
    // Reads are not audited.
    let log = with_key(s, "GET", "/api/audit", &p.admin, "").await.json();
    assert!(log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"] != "GET /api/audit"));
}

#[tokio::test]
async fn staff_can_break_a_lock_that_others_cannot_open() {
    let p = people().await;
    let s = &p.server;
    let r = with_key(
        s,
        "POST",
        "/api/lock",
        &p.operator,
        r#"{"lock_key": "lost-key", "environment": true, "queue": true}"#,
    )
    .await;
    assert_eq!(r.json()["success"], true, "{}", r.body);
    let r = with_key(s, "POST", "/api/lock/break", &p.operator, "{}").await;
    assert_eq!(r.status, 403);
    let r = with_key(s, "POST", "/api/lock/break", &p.admin, "{}").await;
    assert_eq!(r.json()["success"], true, "{}", r.body);
    assert_eq!(r.json()["lock_info"]["queue"], false);
}

#[tokio::test]
async fn websocket_topics_and_publishing_follow_the_scopes() {
    let p = people().await;
    let s = &p.server;
    let mut req = format!("ws://{}/api/stream", s.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", key_header(&p.kiosk).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    send_json(
        &mut ws,
        json!({"type": "subscribe", "topics": ["console", "status"]}),
    )
    .await;
    let refused = next_json(&mut ws).await;
    assert_eq!(refused["type"], "error");
    assert!(
        refused["msg"].as_str().unwrap().contains("read:console"),
        "{refused}"
    );
    let ok = next_json(&mut ws).await;
    assert_eq!(
        (ok["type"].as_str(), ok["topic"].as_str()),
        (Some("subscribed"), Some("status"))
    );

    // No credentials: told why, then closed with 4001.
    let mut anon = s.ws_anonymous().await;
    assert_eq!(next_json(&mut anon).await["type"], "error");
    let close = tokio::time::timeout(common::DEADLINE, anon.next())
        .await
        .unwrap();
    match close {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f)))) => {
            assert_eq!(u16::from(f.code), 4001)
        }
        other => panic!("expected close 4001, got {other:?}"),
    }

    // Publishing needs publish:documents.
    let mut req = format!("ws://{}/api/documents/ws", s.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", key_header(&p.observer).parse().unwrap());
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");

    // A cookie-signed socket opened from another site's page is refused.
    let mut req = format!("ws://{}/api/stream", s.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("cookie", format!("hutch_api_key={KEY}").parse().unwrap());
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test]
async fn single_user_mode_keeps_the_bluesky_principal() {
    let server = TestServer::start().await;
    let r = with_key(&server, "GET", "/api/auth/whoami", KEY, "").await;
    assert_eq!(r.json()["user"], "UNAUTHENTICATED_SINGLE_USER");
    assert_eq!(r.json()["user_group"], "primary");
    let r = with_key(&server, "GET", "/api/auth/users", KEY, "").await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("--auth multi"));
    // The login page takes the key and sets the cookie.
    let r = call(
        &server,
        "POST",
        "/api/auth/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        &format!("api_key={KEY}&next=%2Fqueue"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/queue");
    assert!(set_cookies(&r.headers)
        .iter()
        .any(|c| c.starts_with(&format!("hutch_api_key={KEY};"))));
}

mod tls {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, pki_types::ServerName};

    #[tokio::test]
    async fn https_and_wss_work_with_a_self_signed_certificate() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
        let server =
            TestServer::start_with(|c| c.tls = Some((cert_path.clone(), key_path.clone()))).await;

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.cert.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let connect = || async {
            let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
            connector
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .expect("TLS handshake with the self-signed certificate")
        };

        let mut tls = connect().await;
        let req = format!("GET /api/status HTTP/1.1\r\nHost: localhost\r\nAuthorization: ApiKey {KEY}\r\nConnection: close\r\n\r\n");
        tls.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let _ = tls.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("manager_state"));

        // Cookies set under TLS are Secure.
        let mut tls = connect().await;
        let req =
            format!("GET /?api_key={KEY} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        tls.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let _ = tls.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).to_lowercase();
        assert!(
            text.contains("set-cookie: hutch_api_key=") && text.contains("; secure"),
            "{text}"
        );

        // WSS: the stream says hello.
        let tls = connect().await;
        let mut req = "wss://localhost/api/stream".into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("ApiKey {KEY}").parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::client_async(req, tls)
            .await
            .expect("WSS upgrade");
        let hello = tokio::time::timeout(common::DEADLINE, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(hello.to_text().unwrap().contains("hello"));

        // The CLI speaks HTTPS and WSS, trusting the certificate given with --ca-cert.
        let port = server.addr.port();
        let cli = |args: &[&str], ca: Option<&std::path::Path>| {
            // tokio's process: the server answers on this test's own thread meanwhile.
            let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_hutch"));
            c.args(args)
                .env("HUTCH_URL", format!("https://localhost:{port}"))
                .env("HUTCH_API_KEY", KEY)
                .env("HUTCH_CONFIG", "/dev/null")
                .env("SSL_CERT_FILE", "/nonexistent")
                .env_remove("HUTCH_DATA_DIR")
                .env_remove("HUTCH_CA_CERT");
            if let Some(ca) = ca {
                c.arg("--ca-cert").arg(ca);
            }
            async move { c.output().await.expect("hutch runs") }
        };
        let out = cli(&["status", "--json"], Some(&cert_path)).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status["manager_state"], "idle");
        let out = cli(&["wait", "idle"], Some(&cert_path)).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let untrusted = cli(&["status"], None).await;
        assert_eq!(untrusted.status.code(), Some(2), "no authority to trust");
        assert!(String::from_utf8_lossy(&untrusted.stderr).contains("--ca-cert"));
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let other_path = dir.path().join("other.pem");
        std::fs::write(&other_path, other.cert.pem()).unwrap();
        let wrong = cli(&["status"], Some(&other_path)).await;
        assert_eq!(
            wrong.status.code(),
            Some(3),
            "a certificate it does not trust"
        );
        assert!(String::from_utf8_lossy(&wrong.stderr).contains("TLS handshake"));

        // Plain HTTP on the TLS port gets no HTTP answer.
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(common::DEADLINE, tcp.read_to_end(&mut raw)).await;
        assert!(!String::from_utf8_lossy(&raw).contains("manager_state"));
    }
}

#[tokio::test]
async fn a_permissions_file_limits_plans_and_devices_per_group() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("permissions.toml");
    std::fs::write(
        &file,
        "[groups.primary]\nallowed_plans = [\".*\"]\nforbidden_plans = [\"mv\"]\nallowed_devices = [\".*\"]\nforbidden_devices = [\"motor2\"]\n",
    )
    .unwrap();
    let server = TestServer::start_with(|c| c.permissions = Some(file.clone())).await;
    let add = |body: &'static str| with_key(&server, "POST", "/api/queue/item/add", KEY, body);
    let r = add(r#"{"item": {"name": "mv", "args": ["motor", 1], "item_type": "plan"}}"#).await;
    assert_eq!(r.json()["success"], false);
    assert!(
        r.json()["msg"]
            .as_str()
            .unwrap()
            .contains("plan 'mv' is not allowed for user group 'primary'"),
        "{}",
        r.body
    );
    let r = add(
        r#"{"item": {"name": "scan", "args": [["det"], "motor2", -1, 1, 3], "item_type": "plan"}}"#,
    )
    .await;
    assert!(
        r.json()["msg"]
            .as_str()
            .unwrap()
            .contains("device 'motor2' is not allowed"),
        "{}",
        r.body
    );
    let r = add(
        r#"{"item": {"name": "scan", "args": [["det"], "motor1", -1, 1, 3], "item_type": "plan"}}"#,
    )
    .await;
    assert_eq!(r.json()["success"], true, "{}", r.body);
    let allowed = with_key(&server, "GET", "/api/plans/allowed", KEY, "")
        .await
        .json();
    assert!(
        allowed["plans_allowed"].get("mv").is_none()
            && allowed["plans_allowed"].get("scan").is_some()
    );
    let existing = with_key(&server, "GET", "/api/plans/existing", KEY, "")
        .await
        .json();
    assert!(existing["plans_existing"].get("mv").is_some());
    let devices = with_key(&server, "GET", "/api/devices/allowed", KEY, "")
        .await
        .json();
    assert!(
        devices["devices_allowed"].get("motor2").is_none()
            && devices["devices_allowed"].get("motor1").is_some()
    );
}

/// A multi-user server with a fast heartbeat and an operator `name` with a key: (server, key, info).
async fn operator_with_key(name: &str) -> (TestServer, String, hutch_server::auth::store::KeyInfo) {
    let server = TestServer::start_with(|c| {
        c.auth = Mode::Multi;
        c.heartbeat = std::time::Duration::from_millis(100);
    })
    .await;
    let store = &server.state.auth.store;
    store
        .add_user(name, Role::Operator, "primary", "password-1")
        .await
        .unwrap();
    let (key, info) = store
        .create_key(name, "user", &Role::Operator.scopes(), "", None)
        .await
        .unwrap();
    (server, key, info)
}

#[tokio::test]
async fn open_sockets_end_when_their_key_is_revoked() {
    use tokio_tungstenite::tungstenite::Message;
    let (server, key, info) = operator_with_key("otto").await;
    let store = &server.state.auth.store;
    let connect = |path: &str| {
        let mut req = format!("ws://{}{path}", server.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("authorization", key_header(&key).parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    let (mut stream, _) = connect("/api/stream").await.unwrap();
    assert_eq!(next_json(&mut stream).await["type"], "hello");
    let (mut publisher, _) = connect("/api/documents/ws").await.unwrap();
    let (mut status_ws, _) = connect("/api/status/ws").await.unwrap();
    let (mut console_ws, _) = connect("/api/console_output/ws").await.unwrap();
    store.revoke(&info.first_eight, None).await.unwrap();

    // bluesky's own sockets close too (they used to stay open until the client left).
    for ws in [&mut status_ws, &mut console_ws] {
        let code = loop {
            match tokio::time::timeout(common::DEADLINE, ws.next())
                .await
                .unwrap()
            {
                Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(code, Some(4001));
    }

    let error = common::next_matching(&mut stream, |f| f["type"] == "error").await;
    assert!(
        error["msg"].as_str().unwrap().contains("revoked"),
        "{error}"
    );
    let closed = loop {
        match tokio::time::timeout(common::DEADLINE, stream.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(f))) => break f,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| u16::from(f.code)), Some(4001));

    let told = tokio::time::timeout(common::DEADLINE, publisher.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let told: Value = serde_json::from_str(told.to_text().unwrap()).unwrap();
    assert_eq!(
        (told["type"].as_str(), told["status"].as_u64()),
        (Some("error"), Some(401))
    );
}

#[tokio::test]
async fn a_publisher_whose_role_is_lowered_stops_publishing() {
    let (server, key, _) = operator_with_key("pia").await;
    let store = &server.state.auth.store;
    let mut req = format!("ws://{}/api/documents/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", key_header(&key).parse().unwrap());
    let (mut publisher, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    // Still the same valid key, but an observer may not publish.
    store
        .update_user("pia", Some(Role::Observer), None, None, None)
        .await
        .unwrap();
    let told = tokio::time::timeout(common::DEADLINE, publisher.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let told: Value = serde_json::from_str(told.to_text().unwrap()).unwrap();
    assert_eq!(told["status"].as_u64(), Some(401), "{told}");
    assert!(
        told["msg"].as_str().unwrap().contains("publish:documents"),
        "{told}"
    );
}

/// Another site cannot sign a browser in (login form or `?api_key=` link), and a key that may not
/// read the status gets no page, with the reason on it.
#[tokio::test]
async fn other_sites_cannot_sign_in_and_pages_need_read_status() {
    let p = people().await;
    let s = &p.server;
    let form = "username=ada&password=password-1";
    let ct = ("content-type", "application/x-www-form-urlencoded");
    let r = call(
        s,
        "POST",
        "/api/auth/login",
        &[
            ct,
            ("host", "hutch.test"),
            ("origin", "https://evil.example"),
        ],
        form,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("another site"), "{}", r.body);
    assert!(set_cookies(&r.headers).is_empty());
    let r = call(
        s,
        "POST",
        "/api/auth/login",
        &[ct, ("host", "hutch.test"), ("origin", "http://hutch.test")],
        form,
    )
    .await;
    assert_eq!(r.status, 303, "hutch's own login page signs in: {}", r.body);

    let link = format!("/queue?api_key={}", p.observer);
    let r = call(s, "GET", &link, &[("sec-fetch-site", "cross-site")], "").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("followed from another site"), "{}", r.body);
    assert!(
        set_cookies(&r.headers).is_empty(),
        "no cookie from another site's link"
    );
    for site in ["none", "same-origin"] {
        let r = call(s, "GET", &link, &[("sec-fetch-site", site)], "").await;
        assert_eq!(
            r.status, 303,
            "a typed or bookmarked link ({site}) signs in"
        );
        assert!(!set_cookies(&r.headers).is_empty());
    }

    let (publisher, _) = s
        .state
        .auth
        .store
        .create_key(
            "ada",
            "publisher",
            &[hutch_server::auth::scopes::PUBLISH_DOCUMENTS],
            "beamline",
            None,
        )
        .await
        .unwrap();
    let r = with_key(s, "GET", "/queue", &publisher, "").await;
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("may not read the status (read:status)"),
        "{}",
        r.body
    );
    let r = with_key(s, "GET", "/queue", &p.kiosk, "").await;
    assert_eq!(r.status, 200, "a kiosk key reads pages");
}
