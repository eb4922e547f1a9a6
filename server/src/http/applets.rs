//! `/api/applets`: the dashboards' panels, with versions, optimistic concurrency, groups,
//! experiment-created applets and the mirror's export and import.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hutch_app::model::applets::{AppletKind, GroupPolicy};
use serde_json::{json, Value};

use super::body::Body;
use super::params::Params;
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

/// What an applet is made of, as `POST /api/applets` and `PUT /api/applets/{uid}` take it.
#[derive(serde::Deserialize)]
struct ContentBody {
    name: Option<String>,
    group: Option<String>,
    kind: Option<Value>,
    spec: Option<Value>,
    auto_enable: Option<bool>,
}

/// An applet kind, with the list of kinds when it is not one.
fn kind(v: Option<Value>) -> Result<AppletKind, ApiError> {
    serde_json::from_value(v.unwrap_or(Value::Null)).map_err(|_| {
        let kinds: Vec<&str> = AppletKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::unprocessable(format!("'kind' must be one of {}", kinds.join(", ")))
    })
}

fn content(b: ContentBody) -> Result<Content, ApiError> {
    Ok(Content {
        name: b
            .name
            .ok_or_else(|| ApiError::unprocessable("'name' must be a string"))?,
        group: b.group.unwrap_or_else(|| "default".into()),
        kind: kind(b.kind)?,
        spec: b.spec.unwrap_or_else(|| json!({})),
        auto_enable: b.auto_enable.unwrap_or(false),
    })
}

hutch_body!(CreateBody, "POST /api/applets" {
    name: Option<String>,
    group: Option<String>,
    kind: Option<Value>,
    spec: Option<Value>,
    auto_enable: Option<bool>,
});
hutch_body!(UpdateBody, "PUT /api/applets/{uid}" {
    name: Option<String>,
    group: Option<String>,
    kind: Option<Value>,
    spec: Option<Value>,
    auto_enable: Option<bool>,
    version: Option<i64>,
});
hutch_body!(RestoreBody, "POST /api/applets/{uid}/restore" { version: Option<i64> });
// `policy` is read as JSON so that a wrong one gets the list of policies.
hutch_body!(GroupBody, "PUT /api/applets/groups/{group}" { policy: Option<Value> });
hutch_body!(ExperimentBody, "PUT /api/applets/by_name/{group}/{name}" {
    kind: Option<Value>,
    spec: Option<Value>,
    plan: Option<String>,
});

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
    Body(b): Body<CreateBody>,
) -> Answer {
    let body = ContentBody {
        name: b.name,
        group: b.group,
        kind: b.kind,
        spec: b.spec,
        auto_enable: b.auto_enable,
    };
    let a = state
        .applets
        .create(content(body).map_err(bad)?, &who.user)
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
    Body(b): Body<UpdateBody>,
) -> Answer {
    let Some(version) = b.version else {
        return Err(bad(ApiError::unprocessable(
            "'version' is required: the version you edited (from GET /api/applets/{uid}), so that a newer change is never overwritten",
        )));
    };
    let body = ContentBody {
        name: b.name,
        group: b.group,
        kind: b.kind,
        spec: b.spec,
        auto_enable: b.auto_enable,
    };
    let a = state
        .applets
        .update(&uid, version, content(body).map_err(bad)?, &who.user)
        .await
        .map_err(reply)?;
    Ok(Json(json!({"success": true, "applet": a})))
}

query_params!(
    /// `DELETE /api/applets/{uid}?version=`: the version the caller saw, so that a newer edit
    /// is not deleted unseen.
    RemoveParams, "DELETE /api/applets/{uid}", "an integer" {
        version: Option<i64>,
    }
);

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
    Body(b): Body<RestoreBody>,
) -> Answer {
    let Some(version) = b.version else {
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
    Body(b): Body<GroupBody>,
) -> Answer {
    let policy: GroupPolicy =
        serde_json::from_value(b.policy.unwrap_or(Value::Null)).map_err(|_| {
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
    Body(b): Body<ExperimentBody>,
) -> Answer {
    let by = match &b.plan {
        Some(plan) => format!("plan:{plan}"),
        None => format!("publisher:{}", who.user),
    };
    let spec = b.spec.unwrap_or_else(|| json!({}));
    let outcome = state
        .applets
        .from_experiment(&group, &name, kind(b.kind).map_err(bad)?, spec, &by)
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
