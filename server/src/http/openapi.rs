//! `GET /api/openapi.json`: an OpenAPI 3.1 description made from the route declarations (every
//! route with its method, path parameters and the scope it needs), and `GET /api/docs`: the same
//! as a page that needs nothing from the network.
//!
//! Bodies: the queue, run-engine, lock, history, dataset and applet routes have their request
//! keys and reply fields described ([`bodies`]); the others take and give a JSON object
//! (bluesky's routes accept `{}` where they take nothing; fields in docs/api.md). Every refusal
//! is `{"success": false, "msg", "detail"}` with a 4xx status.

mod bodies;

use std::collections::BTreeMap;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::auth::scopes::Need;
use crate::http::api::{Api, RouteInfo};

pub fn routes() -> Api {
    Api::new()
        .get("/api/openapi.json", Need::Public, openapi_json)
        .get("/api/docs", Need::Public, docs_page)
}

async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document().to_string(),
    )
        .into_response()
}

/// The path's `{name}` segments (a `{*rest}` catch-all is not a route of its own).
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .filter(|name| !name.starts_with('*'))
        .collect()
}

fn operation_id(r: &RouteInfo) -> String {
    let mut id = r.method.to_ascii_lowercase();
    for part in r
        .path
        .trim_start_matches("/api")
        .split(|c: char| !c.is_ascii_alphanumeric())
    {
        if !part.is_empty() {
            id.push('_');
            id.push_str(part);
        }
    }
    if r.path.ends_with("/ws") || r.websocket {
        id.push_str("_socket");
    }
    id
}

fn operation(r: &RouteInfo) -> Value {
    let need = r.need.describe();
    let mut op = json!({
        "operationId": operation_id(r),
        "tags": [tag(r.path)],
        "description": if r.websocket {
            format!("A WebSocket (GET with an upgrade). Needs: {need}. See docs/api.md.")
        } else {
            format!("Needs: {need}. See docs/api.md.")
        },
        "x-hutch-scope": need,
        "responses": {
            "200": {"description": "done", "content": {"application/json": {"schema":
                bodies::reply(r.path)}}},
            "4XX": {"description": "refused, with what to fix", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    });
    if r.websocket {
        op["x-websocket"] = json!(true);
    }
    if !matches!(r.need, Need::Public) {
        op["security"] = json!([{"apiKey": []}, {"session": []}]);
    }
    let params: Vec<Value> = path_params(r.path)
        .into_iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if matches!(r.method, "POST" | "PUT") {
        let schema = bodies::request(r.method, r.path);
        op["requestBody"] = json!({
            "required": schema.is_some(),
            "content": {"application/json": {"schema": schema.unwrap_or_else(|| json!({"type": "object"}))}},
        });
    }
    op
}

/// Group routes by their first segment after `/api/` (queue, re, runs, …).
fn tag(path: &str) -> String {
    let rest = path.trim_start_matches("/api/");
    let first = rest.split('/').next().unwrap_or_default();
    if first.is_empty() {
        "status".into()
    } else {
        first.trim_end_matches(".json").to_string()
    }
}

/// The OpenAPI 3.1 document of every declared route.
pub fn document() -> Value {
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for r in super::auth::route_table() {
        paths
            .entry(r.path)
            .or_default()
            .insert(r.method.to_ascii_lowercase(), operation(r));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hutch",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The experiment master's HTTP API: bluesky-httpserver's routes and JSON shapes, and hutch's own. Bodies are described in docs/api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`ApiKey <key>`, as bluesky-httpserver"},
                "session": {"type": "apiKey", "in": "cookie", "name": "hutch_session", "description": "a signed-in browser; changes also need the X-CSRF-Token header"},
            },
        },
    })
}

fn schemas() -> Value {
    let mut all = bodies::components();
    all["Error"] = json!({
                    "type": "object",
                    "required": ["success", "msg"],
                    "properties": {
                        "success": {"const": false},
                        "msg": {"type": "string", "description": "what went wrong and what to fix"},
                        "detail": {"type": "string", "description": "the same text, for FastAPI clients"},
                    },
    });
    all
}

async fn docs_page() -> Response {
    let doc = document();
    let mut rows = String::new();
    let mut by_tag: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                by_tag
                    .entry(op["tags"][0].as_str().unwrap_or_default().to_string())
                    .or_default()
                    .push((
                        method.to_ascii_uppercase(),
                        path.clone(),
                        op["x-hutch-scope"].as_str().unwrap_or_default().to_string(),
                    ));
            }
        }
    }
    for (tag, ops) in &by_tag {
        rows.push_str(&format!(
            "<h2 id=\"{0}\">{0}</h2>\n<table><tr><th>method</th><th>path</th><th>needs</th></tr>\n",
            escape(tag)
        ));
        for (method, path, need) in ops {
            rows.push_str(&format!(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>\n",
                escape(method),
                escape(path),
                escape(need)
            ));
        }
        rows.push_str("</table>\n");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hutch API</title>\
         <style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;padding:.25rem .5rem;text-align:left}}\
         code{{font-size:.95em}}</style></head><body><h1>hutch API {}</h1>\
         <p>Every route hutch serves, with the scope it needs. The machine-readable description is \
         <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3.1); request and reply fields \
         are in docs/api.md. Send the key as <code>Authorization: ApiKey &lt;key&gt;</code>.</p>\n{rows}</body></html>",
        env!("CARGO_PKG_VERSION")
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_and_operation_ids() {
        assert_eq!(path_params("/api/runs/{uid}/plot.svg"), ["uid"]);
        assert!(path_params("/api/{*rest}").is_empty());
        let r = RouteInfo {
            method: "GET",
            path: "/api/runs/{uid}/plot.svg",
            need: Need::Public,
            websocket: false,
        };
        assert_eq!(operation_id(&r), "get_runs_uid_plot_svg");
        assert_eq!(tag("/api/queue/item/add"), "queue");
        assert_eq!(tag("/api/"), "status");
    }
}
