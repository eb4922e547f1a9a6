//! `/api/dispatches`: the dispatch log — list with filters and paging, counts, one dispatch.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::ApiError;
use crate::auth::scopes::{self, Need};
use crate::dispatches::{self, Filter, STATUSES};
use crate::http::api::Api;
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .get("/api/dispatches", Need::Scope(scopes::READ_HISTORY), list)
        .get(
            "/api/dispatches/overview",
            Need::Scope(scopes::READ_HISTORY),
            overview,
        )
        .get(
            "/api/dispatches/{uid}",
            Need::Scope(scopes::READ_HISTORY),
            one,
        )
}

fn bad(msg: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, msg)
}

async fn list(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    const KEYS: [&str; 9] = [
        "status", "plan", "user", "q", "since", "until", "sort", "after", "limit",
    ];
    if let Some(k) = q
        .keys()
        .find(|k| !KEYS.contains(&k.as_str()) && !crate::auth::is_credential_param(k))
    {
        return Err(bad(format!(
            "unknown parameter '{k}'; /api/dispatches takes {}",
            KEYS.join(", ")
        )));
    }
    if let Some(s) = q.get("status").filter(|s| !STATUSES.contains(&s.as_str())) {
        return Err(bad(format!(
            "unknown status '{s}'; one of {}",
            STATUSES.join(", ")
        )));
    }
    let num = |k: &str| -> Result<Option<f64>, ApiError> {
        q.get(k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| bad(format!("'{k}' must be a number (Unix seconds), got '{v}'")))
            })
            .transpose()
    };
    let oldest_first = match q.get("sort").map(String::as_str) {
        None | Some("newest") => false,
        Some("oldest") => true,
        Some(other) => {
            return Err(bad(format!(
                "'sort' must be 'newest' or 'oldest', got '{other}'"
            )))
        }
    };
    let limit = super::limit_param(&q)?;
    let after_id = q
        .get("after")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| bad("'after' must be the 'next' cursor of a previous page".into()))
        })
        .transpose()?;
    let filter = Filter {
        status: q.get("status").cloned(),
        plan: q.get("plan").cloned(),
        user: q.get("user").cloned(),
        text: q.get("q").cloned().filter(|t| !t.is_empty()),
        since: num("since")?,
        until: num("until")?,
        oldest_first,
        after_id,
        limit,
    };
    let rows = dispatches::list(&state.db, &filter)
        .await
        .map_err(ApiError::database)?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|d| d.id))
        .flatten();
    Ok(Json(
        json!({"success": true, "msg": "", "dispatches": rows, "next": next}),
    ))
}

async fn overview(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let o = dispatches::overview(&state.db)
        .await
        .map_err(ApiError::database)?;
    Ok(Json(
        json!({"success": true, "msg": "", "counts": o["counts"], "total": o["total"]}),
    ))
}

async fn one(
    State(state): State<AppState>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = dispatches::get(&state.db, &uid)
        .await
        .map_err(ApiError::database)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("there is no dispatch '{uid}'; GET /api/dispatches lists them"),
            )
        })?;
    Ok(Json(json!({"success": true, "msg": "", "dispatch": d})))
}
