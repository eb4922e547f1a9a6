//! `/api/applets`: the dashboards' panels, with versions, optimistic concurrency, groups,
//! experiment-created applets and the mirror's export and import.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hutch_app::model::applets::{AppletKind, GroupPolicy};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::datasets::object_body;
use super::params::{Params, QueryParams};
use super::ApiError;
use crate::applets::{AppletError, Content};
use crate::auth::scopes::{self, Need};
use crate::auth::Principal;
use crate::http::api::Api;
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .get("/api/applets", Need::Scope(scopes::READ_APPLETS), list)
        .post("/api/applets", Need::Scope(scopes::WRITE_APPLETS), create)
        .get(
            "/api/applets/export",
            Need::Scope(scopes::READ_APPLETS),
            export,
        )
        .post(
            "/api/applets/import",
            Need::Scope(scopes::WRITE_APPLETS),
            import,
        )
        .get(
            "/api/applets/conflicts",
            Need::Scope(scopes::READ_APPLETS),
            conflicts,
        )
        .put(
            "/api/applets/groups/{group}",
            Need::Scope(scopes::WRITE_APPLETS),
            set_group,
        )
        .put(
            "/api/applets/by_name/{group}/{name}",
            Need::Scope(scopes::WRITE_APPLETS),
            from_experiment,
        )
        .get("/api/applets/{uid}", Need::Scope(scopes::READ_APPLETS), one)
        .put(
            "/api/applets/{uid}",
            Need::Scope(scopes::WRITE_APPLETS),
            update,
        )
        .delete(
            "/api/applets/{uid}",
            Need::Scope(scopes::WRITE_APPLETS),
            remove,
        )
        .get(
            "/api/applets/{uid}/versions",
            Need::Scope(scopes::READ_APPLETS),
            versions,
        )
        .post(
            "/api/applets/{uid}/restore",
            Need::Scope(scopes::WRITE_APPLETS),
            restore,
        )
}

/// Errors as replies; a stale update also carries the current applet.
fn reply(e: AppletError) -> Response {
    match e {
        AppletError::Stale { ref current, .. } => {
            let msg = e.to_string();
            let body = json!({"success": false, "msg": msg, "detail": msg, "current": current});
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
        AppletError::Invalid(_) => ApiError::unprocessable(e.to_string()).into_response(),
        AppletError::NotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
        AppletError::Conflict(_) => {
            ApiError::new(StatusCode::CONFLICT, e.to_string()).into_response()
        }
        AppletError::Db(e) => ApiError::database(e).into_response(),
    }
}

type Answer = Result<Json<Value>, Response>;

fn bad(e: ApiError) -> Response {
    e.into_response()
}

fn string(body: &Map<String, Value>, key: &str, default: Option<&str>) -> Result<String, ApiError> {
    match (body.get(key), default) {
        (Some(Value::String(s)), _) => Ok(s.clone()),
        (None | Some(Value::Null), Some(d)) => Ok(d.to_string()),
        _ => Err(ApiError::unprocessable(format!("'{key}' must be a string"))),
    }
}

fn kind(body: &Map<String, Value>) -> Result<AppletKind, ApiError> {
    serde_json::from_value(body.get("kind").cloned().unwrap_or(Value::Null)).map_err(|_| {
        let kinds: Vec<&str> = AppletKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::unprocessable(format!("'kind' must be one of {}", kinds.join(", ")))
    })
}

fn content(body: &Map<String, Value>) -> Result<Content, ApiError> {
    Ok(Content {
        name: string(body, "name", None)?,
        group: string(body, "group", Some("default"))?,
        kind: kind(body)?,
        spec: body.get("spec").cloned().unwrap_or_else(|| json!({})),
        auto_enable: body
            .get("auto_enable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

const CONTENT_KEYS: [&str; 5] = ["name", "group", "kind", "spec", "auto_enable"];

async fn list(State(state): State<AppState>) -> Answer {
    let applets = state.applets.list().await.map_err(|e| reply(e.into()))?;
    let groups = state.applets.groups().await.map_err(|e| reply(e.into()))?;
    Ok(Json(
        json!({"success": true, "applets": applets, "groups": groups}),
    ))
}

async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body, &CONTENT_KEYS).map_err(bad)?;
    let a = state
        .applets
        .create(content(&body).map_err(bad)?, &who.user)
        .await
        .map_err(reply)?;
    Ok(Json(json!({"success": true, "applet": a})))
}

async fn one(State(state): State<AppState>, Path(uid): Path<String>) -> Answer {
    match state.applets.get(&uid).await {
        Ok(Some(a)) => Ok(Json(json!({"success": true, "applet": a}))),
        Ok(None) => Err(reply(AppletError::NotFound(uid))),
        Err(e) => Err(reply(e.into())),
    }
}

async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(uid): Path<String>,
    body: Bytes,
) -> Answer {
    let mut keys = CONTENT_KEYS.to_vec();
    keys.push("version");
    let body = object_body(&body, &keys).map_err(bad)?;
    let Some(version) = body.get("version").and_then(Value::as_i64) else {
        return Err(bad(ApiError::unprocessable(
            "'version' is required: the version you edited (from GET /api/applets/{uid}), so that a newer change is never overwritten",
        )));
    };
    let a = state
        .applets
        .update(&uid, version, content(&body).map_err(bad)?, &who.user)
        .await
        .map_err(reply)?;
    Ok(Json(json!({"success": true, "applet": a})))
}

/// `DELETE /api/applets/{uid}?version=`: the version the caller saw, so that a newer edit is
/// not deleted unseen.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RemoveParams {
    version: Option<i64>,
}

impl QueryParams for RemoveParams {
    const ROUTE: &'static str = "DELETE /api/applets/{uid}";
    fn expects(_: &str) -> &'static str {
        "an integer"
    }
}

async fn remove(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(uid): Path<String>,
    Params(RemoveParams { version }): Params<RemoveParams>,
) -> Answer {
    let a = state
        .applets
        .delete(&uid, version, &who.user)
        .await
        .map_err(reply)?;
    Ok(Json(json!({"success": true, "applet": a})))
}

async fn versions(State(state): State<AppState>, Path(uid): Path<String>) -> Answer {
    let versions = state.applets.versions(&uid).await.map_err(reply)?;
    Ok(Json(json!({"success": true, "versions": versions})))
}

async fn restore(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(uid): Path<String>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body, &["version"]).map_err(bad)?;
    let Some(version) = body.get("version").and_then(Value::as_i64) else {
        return Err(bad(ApiError::unprocessable(
            "'version' (the version to restore) is required",
        )));
    };
    let a = state
        .applets
        .restore(&uid, version, &who.user)
        .await
        .map_err(reply)?;
    Ok(Json(json!({"success": true, "applet": a})))
}

async fn set_group(
    State(state): State<AppState>,
    Path(group): Path<String>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body, &["policy"]).map_err(bad)?;
    let policy: GroupPolicy = serde_json::from_value(
        body.get("policy").cloned().unwrap_or(Value::Null),
    )
    .map_err(|_| {
        bad(ApiError::unprocessable(
            "'policy' must be ignore, create or create_enable",
        ))
    })?;
    state
        .applets
        .set_group_policy(&group, policy)
        .await
        .map_err(reply)?;
    Ok(Json(
        json!({"success": true, "group": group, "policy": policy}),
    ))
}

/// An experiment creates or updates an applet by name: `{kind, spec, plan?}`; the change is
/// authored by `plan:<plan>` (or `publisher:<user>` without `plan`).
async fn from_experiment(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((group, name)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body, &["kind", "spec", "plan"]).map_err(bad)?;
    let by = match body.get("plan").and_then(Value::as_str) {
        Some(plan) => format!("plan:{plan}"),
        None => format!("publisher:{}", who.user),
    };
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let outcome = state
        .applets
        .from_experiment(&group, &name, kind(&body).map_err(bad)?, spec, &by)
        .await
        .map_err(reply)?;
    Ok(Json(json!({"success": true, "result": outcome})))
}

async fn export(State(state): State<AppState>) -> Result<Response, Response> {
    let applets = state.applets.list().await.map_err(|e| reply(e.into()))?;
    let groups = state.applets.groups().await.map_err(|e| reply(e.into()))?;
    let text = crate::applets::import::mirror_text(&applets, &groups);
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}

async fn import(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Answer {
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| bad(ApiError::unprocessable("the file is not UTF-8 text")))?;
    let by = format!("import:{}", who.user);
    let report = state.applets.import(&text, &by).await.map_err(reply)?;
    Ok(Json(json!({"success": true, "report": report})))
}

async fn conflicts(State(state): State<AppState>) -> Answer {
    let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, at, file, msg, content FROM mirror_conflicts ORDER BY id DESC LIMIT 100",
    )
    .fetch_all(&state.db)
    .await
    .map_err(|e| reply(e.into()))?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(id, at, file, msg, content)| {
            json!({"id": id, "at": at, "source": file, "msg": msg,
                   "content": serde_json::from_str::<Value>(&content).unwrap_or(Value::Null)})
        })
        .collect();
    Ok(Json(json!({"success": true, "conflicts": list})))
}
