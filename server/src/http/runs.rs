//! hutch's own run routes: list, one run, its documents, its stream data (JSON or CSV).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::params::{Params, QueryParams};
use super::ApiError;
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::runs::query::{self, RunFilter};
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .get("/api/runs", Need::Scope(scopes::READ_RUNS), list)
        .get("/api/runs/{uid}", Need::Scope(scopes::READ_RUNS), one)
        .get(
            "/api/runs/{uid}/documents",
            Need::Scope(scopes::READ_RUNS),
            documents,
        )
        .get(
            "/api/runs/{uid}/streams/{stream}/data",
            Need::Scope(scopes::READ_RUNS),
            data,
        )
        .get(
            "/api/runs/{uid}/streams/{stream}/data.csv",
            Need::Scope(scopes::READ_RUNS),
            data_csv,
        )
}

/// `GET /api/runs`'s filters and paging.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ListParams {
    plan: Option<String>,
    status: Option<String>,
    since: Option<f64>,
    until: Option<f64>,
    before: Option<String>,
    limit: Option<i64>,
}

impl QueryParams for ListParams {
    const ROUTE: &'static str = "/api/runs";
    fn expects(key: &str) -> &'static str {
        match key {
            "limit" => super::LIMIT,
            _ => "a number (Unix seconds)",
        }
    }
}

async fn list(
    State(state): State<AppState>,
    Params(q): Params<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = super::limit(q.limit)?;
    let before = match q.before {
        None => None,
        Some(c) => Some(
            c.split_once(',')
                .and_then(|(t, u)| Some((t.parse::<f64>().ok()?, u.to_string())))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "'before' must be the 'next' cursor of a previous page",
                    )
                })?,
        ),
    };
    let filter = RunFilter {
        plan: q.plan,
        exit_status: q.status,
        since: q.since,
        until: q.until,
        before,
        limit,
    };
    let runs = query::list(&state.db, &filter)
        .await
        .map_err(ApiError::database)?;
    let next = (runs.len() as i64 == limit)
        .then(|| runs.last().map(|r| format!("{},{}", r.time_start, r.uid)))
        .flatten();
    Ok(Json(
        json!({"success": true, "msg": "", "runs": runs, "next": next}),
    ))
}

fn no_run(uid: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("there is no run '{uid}'; GET /api/runs lists the runs"),
    )
}

async fn one(
    State(state): State<AppState>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = query::get(&state.db, &uid)
        .await
        .map_err(ApiError::database)?
        .ok_or_else(|| no_run(&uid))?;
    Ok(Json(json!({"success": true, "msg": "", "run": run})))
}

/// Each step of the export holds at most this much stored text (and 5 000 documents).
const EXPORT_STEP_BYTES: u64 = 8 << 20;

/// Streamed step by step ([`query::step_end`]), so a run of any size is exported in bounded
/// memory; a database failure midway ends the reply early (and is logged).
async fn documents(
    State(state): State<AppState>,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    let end = query::document_end(&state.db, &uid)
        .await
        .map_err(ApiError::database)?
        .ok_or_else(|| no_run(&uid))?;
    let db = state.db.clone();
    let steps = futures_util::stream::try_unfold(0u64, move |at| {
        let (db, uid) = (db.clone(), uid.clone());
        async move {
            if at >= end {
                return Ok(None);
            }
            let step = async {
                let to = query::step_end(&db, &uid, at, end, 5000, EXPORT_STEP_BYTES).await?;
                let text = query::documents_text(&db, &uid, at, to).await?;
                Ok::<_, sqlx::Error>((axum::body::Bytes::from(text), to))
            };
            step.await.map(Some).map_err(|e| {
                tracing::error!("exporting run '{uid}' stopped at document {at}: {e}");
                std::io::Error::other(e)
            })
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(steps),
    )
        .into_response())
}

/// A stream's columns: `fields` (comma-separated; all when absent), `max_points` to decimate.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DataParams {
    fields: Option<String>,
    max_points: Option<usize>,
}

impl QueryParams for DataParams {
    const ROUTE: &'static str = "a stream's data";
    fn expects(_: &str) -> &'static str {
        "an integer of at least 2"
    }
}

async fn columns(
    state: &AppState,
    uid: &str,
    stream: &str,
    q: &DataParams,
) -> Result<query::Columns, ApiError> {
    let fields: Vec<String> = q
        .fields
        .iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let max_points = match q.max_points {
        Some(n) if n < 2 => {
            return Err(ApiError::bad_param(format!(
                "'max_points' must be an integer of at least 2, got '{n}'"
            )))
        }
        other => other,
    };
    query::stream_data(&state.db, uid, stream, &fields, max_points)
        .await
        .map_err(|e| match e {
            query::DataError::NoStream => ApiError::new(
                StatusCode::NOT_FOUND,
                format!("run '{uid}' has no stream '{stream}'"),
            ),
            query::DataError::BadField(msg) => ApiError::new(StatusCode::BAD_REQUEST, msg),
            query::DataError::Db(e) => ApiError::database(e),
        })
}

async fn data(
    State(state): State<AppState>,
    Path((uid, stream)): Path<(String, String)>,
    Params(q): Params<DataParams>,
) -> Result<Response, ApiError> {
    let cols = columns(&state, &uid, &stream, &q).await?;
    // The columns are JSON arrays already; splice them in rather than parse them again.
    let mut body = format!(
        "{{\"success\":true,\"msg\":\"\",\"run_uid\":{},\"stream\":{},\"data\":{{",
        json!(uid),
        json!(stream)
    );
    for (i, (name, array)) in cols.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("{}:{array}", json!(name)));
    }
    body.push_str("}}");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A text cell: quoted, and one that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)
/// starts with `'` so that it is shown as text.
fn csv_text(s: &str) -> String {
    let neutral = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", neutral.replace('"', "\"\""))
}

async fn data_csv(
    State(state): State<AppState>,
    Path((uid, stream)): Path<(String, String)>,
    Params(q): Params<DataParams>,
) -> Result<Response, ApiError> {
    let cols = columns(&state, &uid, &stream, &q).await?;
    let parsed: Vec<Vec<Value>> = cols
        .iter()
        .map(|(_, a)| serde_json::from_str(a).unwrap_or_default())
        .collect();
    let rows = parsed.first().map_or(0, Vec::len);
    let cell = |v: &Value| match v {
        Value::String(s) => csv_text(s),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    // Field names come from the publisher's descriptor: quoted like any text.
    let mut out = cols
        .iter()
        .map(|(n, _)| csv_text(n))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for i in 0..rows {
        let line: Vec<String> = parsed
            .iter()
            .map(|c| c.get(i).map(cell).unwrap_or_default())
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_text_is_quoted_and_never_a_formula() {
        assert_eq!(super::csv_text("det1"), "\"det1\"");
        assert_eq!(super::csv_text("a\"b"), "\"a\"\"b\"");
        assert_eq!(super::csv_text("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(super::csv_text("@SUM(A1)"), "\"'@SUM(A1)\"");
    }
}
