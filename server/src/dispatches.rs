//! Reading the dispatch log: every execution (queue item, immediate execution) with its status
//! history and runs, for `/api/dispatches`.

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::SqlitePool;

/// Every status a dispatch can have (as the schema's CHECK constraint lists them).
pub use hutch_app::model::queue::DISPATCH_STATUSES as STATUSES;

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status: Option<String>,
    pub plan: Option<String>,
    pub user: Option<String>,
    /// Free text, matched word by word against the plan name and the item (parameters,
    /// metadata); `word*` matches words starting with `word`.
    pub text: Option<String>,
    pub since: Option<f64>,
    pub until: Option<f64>,
    pub oldest_first: bool,
    /// Keyset cursor: the `id` of the last row of the previous page.
    pub after_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Serialize)]
pub struct Dispatch {
    /// Position in the log; the paging cursor.
    pub id: i64,
    pub uid: String,
    pub item_uid: String,
    pub kind: String,
    pub plan_name: String,
    pub user: String,
    pub user_group: String,
    pub status: String,
    pub created_at: f64,
    pub started_at: Option<f64>,
    pub updated_at: f64,
    pub finished_at: Option<f64>,
    pub exit_msg: String,
    pub run_uids: Value,
    pub item: Value,
}

/// A row of `dispatches` (the columns of [`COLUMNS`]; JSON columns as text).
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    uid: String,
    item_uid: String,
    kind: String,
    plan_name: String,
    user: String,
    user_group: String,
    status: String,
    created_at: f64,
    started_at: Option<f64>,
    updated_at: f64,
    finished_at: Option<f64>,
    exit_msg: String,
    run_uids: String,
    item: String,
}

const COLUMNS: &str =
    "id, uid, item_uid, kind, plan_name, user, user_group, status, created_at, started_at, \
                       updated_at, finished_at, exit_msg, run_uids, item";

fn dispatch(r: Row) -> Dispatch {
    Dispatch {
        id: r.id,
        uid: r.uid,
        item_uid: r.item_uid,
        kind: r.kind,
        plan_name: r.plan_name,
        user: r.user,
        user_group: r.user_group,
        status: r.status,
        created_at: r.created_at,
        started_at: r.started_at,
        updated_at: r.updated_at,
        finished_at: r.finished_at,
        exit_msg: r.exit_msg,
        run_uids: serde_json::from_str(&r.run_uids).unwrap_or_else(|_| json!([])),
        item: serde_json::from_str(&r.item).unwrap_or(Value::Null),
    }
}

pub async fn list(pool: &SqlitePool, f: &Filter) -> Result<Vec<Dispatch>, sqlx::Error> {
    let columns: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("d.{}", c.trim()))
        .collect();
    let columns = columns.join(", ");
    // With free text the full-text index drives the query, in id order, so a word that occurs
    // everywhere still stops after one page.
    // Whole words by default (the index then answers at once even for a word in every row);
    // a trailing `*` asks for a prefix, which costs a scan of the index for common prefixes.
    let words: Option<String> = f.text.as_ref().map(|v| {
        v.split_whitespace()
            .filter_map(|w| {
                let prefix = w.ends_with('*');
                let core: String = w
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                (!core.is_empty()).then(|| {
                    if prefix {
                        format!("\"{core}\"*")
                    } else {
                        format!("\"{core}\"")
                    }
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    let (mut q, id) = match &words {
        Some(w) if w.is_empty() => return Ok(Vec::new()),
        Some(w) => {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {columns} FROM dispatch_text t JOIN dispatches d ON d.id = t.rowid WHERE t.dispatch_text MATCH "
            ));
            q.push_bind(w.clone());
            (q, "t.rowid")
        }
        None => (
            sqlx::QueryBuilder::new(format!("SELECT {columns} FROM dispatches d WHERE 1 = 1")),
            "d.id",
        ),
    };
    if let Some(v) = &f.status {
        q.push(" AND d.status = ").push_bind(v.clone());
    }
    if let Some(v) = &f.plan {
        q.push(" AND d.plan_name = ").push_bind(v.clone());
    }
    if let Some(v) = &f.user {
        q.push(" AND d.user = ").push_bind(v.clone());
    }
    if let Some(t) = f.since {
        q.push(" AND d.created_at >= ").push_bind(t);
    }
    if let Some(t) = f.until {
        q.push(" AND d.created_at <= ").push_bind(t);
    }
    if let Some(after) = f.after_id {
        q.push(format!(
            " AND {id} {} ",
            if f.oldest_first { ">" } else { "<" }
        ))
        .push_bind(after);
    }
    q.push(format!(
        " ORDER BY {id} {}",
        if f.oldest_first { "ASC" } else { "DESC" }
    ));
    q.push(" LIMIT ").push_bind(f.limit);
    let rows: Vec<Row> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(dispatch).collect())
}

/// Number of dispatches per status.
pub async fn overview(pool: &SqlitePool) -> Result<Value, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM dispatches GROUP BY status")
            .fetch_all(pool)
            .await?;
    let mut counts = serde_json::Map::new();
    for s in STATUSES {
        counts.insert(s.into(), json!(0));
    }
    let mut total = 0;
    for (status, n) in rows {
        total += n;
        counts.insert(status, json!(n));
    }
    Ok(json!({"counts": counts, "total": total}))
}

/// One dispatch with its status log, result and runs.
pub async fn get(pool: &SqlitePool, uid: &str) -> Result<Option<Value>, sqlx::Error> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM dispatches WHERE uid = ?"))
            .bind(uid)
            .fetch_optional(pool)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let log: Vec<(String, f64, String)> = sqlx::query_as(
        "SELECT status, at, msg FROM dispatch_status_log WHERE dispatch_uid = ? ORDER BY id",
    )
    .bind(uid)
    .fetch_all(pool)
    .await?;
    let (traceback, scan_ids): (String, String) =
        sqlx::query_as("SELECT traceback, scan_ids FROM dispatches WHERE uid = ?")
            .bind(uid)
            .fetch_one(pool)
            .await?;
    let runs = crate::runs::query::list_for_dispatch(pool, uid).await?;
    let mut out = serde_json::to_value(dispatch(row)).unwrap_or_default();
    out["traceback"] = json!(traceback);
    out["scan_ids"] = serde_json::from_str(&scan_ids).unwrap_or_else(|_| json!([]));
    out["status_log"] = log
        .into_iter()
        .map(|(status, at, msg)| json!({"status": status, "at": at, "msg": msg}))
        .collect();
    out["runs"] = serde_json::to_value(runs).unwrap_or_default();
    Ok(Some(out))
}
