//! `/api/openapi.json` says exactly what the router serves: every documented operation is
//! routed (asked without credentials, it answers 401, never "no such route" or 405), every
//! method a path does not document is 405, and the route declarations and the document agree.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;
use tower::ServiceExt;

/// A request with no credentials: nothing behind a scope runs, so walking every route changes
/// nothing.
async fn anonymous(server: &TestServer, method: &str, path: &str) -> (u16, String) {
    let router = hutch_server::http::router(server.state.clone());
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let code = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .unwrap();
    (code, String::from_utf8_lossy(&bytes).into_owned())
}

fn filled(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_openapi_document_matches_the_router() {
    let server = TestServer::start().await;
    let (code, text) = anonymous(&server, "GET", "/api/openapi.json").await;
    assert_eq!(code, 200, "the description is public: {text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();

    let mut documented = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "operationId of {method} {path} is not unique"
            );
            let scope = op["x-hutch-scope"].as_str().unwrap();
            let (code, body) =
                anonymous(&server, &method.to_ascii_uppercase(), &filled(path)).await;
            assert_ne!(
                code, 405,
                "{method} {path} is documented but not routed: {body}"
            );
            assert!(
                !body.contains("there is no API route"),
                "{method} {path} is documented but not routed: {body}"
            );
            if scope != "none" {
                assert_eq!(
                    code, 401,
                    "{method} {path} needs {scope} but answered: {body}"
                );
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())),
                    "{method} {path}: parameter {p} is not in the path"
                );
            }
        }
        // A method the path does not document is not routed either.
        for method in ["GET", "POST", "PUT", "DELETE"] {
            if !ops
                .as_object()
                .unwrap()
                .contains_key(&method.to_ascii_lowercase())
            {
                let (code, body) = anonymous(&server, method, &filled(path)).await;
                assert!(
                    code == 405 || body.contains("there is no API route"),
                    "{method} {path} is routed ({code}) but not documented: {body}"
                );
            }
        }
    }

    // The declarations that /api/auth/scopes shows are the document's operations, one to one.
    let (code, scopes) = api(&server, "GET", "/api/auth/scopes", serde_json::json!({})).await;
    assert_eq!(code, 200);
    let declared: BTreeSet<(String, String)> = scopes["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(declared, documented);
    assert!(documented.contains(&("POST".into(), "/api/queue/item/add".into())));
    assert!(documented.len() > 100, "{} operations", documented.len());

    let (code, _) = anonymous(&server, "GET", "/api/not/a/route").await;
    assert_eq!(code, 404);
    let (code, page) = anonymous(&server, "GET", "/api/docs").await;
    assert_eq!(code, 200);
    assert!(
        page.contains("/api/queue/item/add") && page.contains("write:queue:edit"),
        "{page}"
    );
}
