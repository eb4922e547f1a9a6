//! `/api/dispatches`: the dispatch log — list with filters and paging, counts, one dispatch.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::params::{Params, QueryParams};
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

/// `GET /api/dispatches`'s filters (`q` searches plan names and errors) and paging.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ListParams {
    status: Option<String>,
    plan: Option<String>,
    user: Option<String>,
    q: Option<String>,
    since: Option<f64>,
    until: Option<f64>,
    sort: Option<Sort>,
    after: Option<i64>,
    limit: Option<i64>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Sort {
    Newest,
    Oldest,
}

impl QueryParams for ListParams {
    const ROUTE: &'static str = "/api/dispatches";
    fn expects(key: &str) -> &'static str {
        match key {
            "sort" => "'newest' or 'oldest'",
            "after" => "the 'next' cursor of a previous page",
            "limit" => super::LIMIT,
            _ => "a number (Unix seconds)",
        }
    }
}

async fn list(
    State(state): State<AppState>,
    Params(q): Params<ListParams>,
) -> Result<Json<Value>, ApiError> {
    if let Some(s) = q
        .status
        .as_ref()
        .filter(|s| !STATUSES.contains(&s.as_str()))
    {
        return Err(bad(format!(
            "unknown status '{s}'; one of {}",
            STATUSES.join(", ")
        )));
    }
    let limit = super::limit(q.limit)?;
    let filter = Filter {
        status: q.status,
        plan: q.plan,
        user: q.user,
        text: q.q.filter(|t| !t.is_empty()),
        since: q.since,
        until: q.until,
        oldest_first: q.sort == Some(Sort::Oldest),
        after_id: q.after,
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
