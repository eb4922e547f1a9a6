//! Reading runs back: lists with filters and keyset paging, one run with its streams, every
//! document in emission order, and columnar stream data with min/max decimation.

use hutch_app::model::docs::DocName;
use hutch_app::model::runs::RunSummary;
use serde_json::{json, Value};
use sqlx::SqlitePool;

mod documents;
mod stream_data;

pub use documents::{
    document_end, documents, documents_between, documents_text, step_end, EventRow, Replayed,
};
pub use stream_data::{decimate, stream_data, Columns, DataError};

#[derive(Debug, Default, Clone)]
pub struct RunFilter {
    pub plan: Option<String>,
    pub exit_status: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<f64>,
    pub until: Option<f64>,
    /// Keyset cursor: runs that started before this (time_start, uid).
    pub before: Option<(f64, String)>,
    pub limit: i64,
}

/// A row of `runs` (the columns of [`COLUMNS`]).
#[derive(sqlx::FromRow)]
struct Row {
    uid: String,
    dispatch_uid: Option<String>,
    plan_name: String,
    scan_id: Option<i64>,
    time_start: f64,
    time_stop: Option<f64>,
    exit_status: Option<String>,
    num_events: String,
}

const COLUMNS: &str =
    "uid, dispatch_uid, plan_name, scan_id, time_start, time_stop, exit_status, num_events";

fn summary(r: Row) -> RunSummary {
    RunSummary {
        uid: r.uid,
        dispatch_uid: r.dispatch_uid,
        plan_name: r.plan_name,
        scan_id: r.scan_id,
        time_start: r.time_start,
        time_stop: r.time_stop,
        exit_status: r.exit_status,
        num_events: serde_json::from_str(&r.num_events).unwrap_or_default(),
    }
}

/// Newest first.
pub async fn list(pool: &SqlitePool, f: &RunFilter) -> Result<Vec<RunSummary>, sqlx::Error> {
    let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM runs WHERE 1 = 1"));
    if let Some(p) = &f.plan {
        q.push(" AND plan_name = ").push_bind(p.clone());
    }
    if let Some(s) = &f.exit_status {
        if s == "open" {
            q.push(" AND exit_status IS NULL");
        } else {
            q.push(" AND exit_status = ").push_bind(s.clone());
        }
    }
    if let Some(t) = f.since {
        q.push(" AND time_start >= ").push_bind(t);
    }
    if let Some(t) = f.until {
        q.push(" AND time_start <= ").push_bind(t);
    }
    if let Some((t, uid)) = &f.before {
        q.push(" AND (time_start, uid) < (")
            .push_bind(*t)
            .push(", ")
            .push_bind(uid.clone())
            .push(")");
    }
    q.push(" ORDER BY time_start DESC, uid DESC LIMIT ")
        .push_bind(f.limit);
    let rows: Vec<Row> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(summary).collect())
}

/// The runs a dispatch produced, oldest first.
pub async fn list_for_dispatch(
    pool: &SqlitePool,
    dispatch: &str,
) -> Result<Vec<RunSummary>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM runs WHERE dispatch_uid = ? ORDER BY time_start"
    ))
    .bind(dispatch)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(summary).collect())
}

/// One run: its summary, start and stop documents, and streams.
pub async fn get(pool: &SqlitePool, uid: &str) -> Result<Option<Value>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM runs WHERE uid = ?"))
        .bind(uid)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let docs: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, doc FROM run_documents WHERE run_uid = ? AND name IN ('start', 'stop', 'descriptor') ORDER BY seq",
    )
    .bind(uid)
    .fetch_all(pool)
    .await?;
    let mut out = serde_json::to_value(summary(row)).unwrap_or_default();
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let named = |name: DocName| docs.iter().filter(move |(n, _)| n == name.as_str());
    let first = |name| named(name).next().map_or(Value::Null, |(_, d)| parse(d));
    out["start"] = first(DocName::Start);
    out["stop"] = first(DocName::Stop);
    let streams: Vec<Value> = named(DocName::Descriptor)
        .map(|(_, d)| {
            let d = parse(d);
            json!({"name": d["name"], "descriptor_uid": d["uid"], "data_keys": d["data_keys"], "hints": d["hints"]})
        })
        .collect();
    out["streams"] = Value::Array(streams);
    Ok(Some(out))
}
