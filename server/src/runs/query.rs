//! Reading runs back: lists with filters and keyset paging, one run with its streams, every
//! document in emission order, and columnar stream data with min/max decimation.

use serde::Serialize;
use serde_json::{json, Map, Value};
use sqlx::SqlitePool;

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

#[derive(Debug, Serialize)]
pub struct RunSummary {
    pub uid: String,
    pub dispatch_uid: Option<String>,
    pub plan_name: String,
    pub scan_id: Option<i64>,
    pub time_start: f64,
    pub time_stop: Option<f64>,
    pub exit_status: Option<String>,
    pub num_events: Value,
}

type Row = (
    String,
    Option<String>,
    String,
    Option<i64>,
    f64,
    Option<f64>,
    Option<String>,
    String,
);

const COLUMNS: &str =
    "uid, dispatch_uid, plan_name, scan_id, time_start, time_stop, exit_status, num_events";

fn summary(r: Row) -> RunSummary {
    RunSummary {
        uid: r.0,
        dispatch_uid: r.1,
        plan_name: r.2,
        scan_id: r.3,
        time_start: r.4,
        time_stop: r.5,
        exit_status: r.6,
        num_events: serde_json::from_str(&r.7).unwrap_or_else(|_| json!({})),
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
    out["start"] = docs
        .iter()
        .find(|(n, _)| n == "start")
        .map_or(Value::Null, |(_, d)| parse(d));
    out["stop"] = docs
        .iter()
        .find(|(n, _)| n == "stop")
        .map_or(Value::Null, |(_, d)| parse(d));
    let streams: Vec<Value> = docs
        .iter()
        .filter(|(n, _)| n == "descriptor")
        .map(|(_, d)| {
            let d = parse(d);
            json!({"name": d["name"], "descriptor_uid": d["uid"], "data_keys": d["data_keys"], "hints": d["hints"]})
        })
        .collect();
    out["streams"] = Value::Array(streams);
    Ok(Some(out))
}

/// run_seq, descriptor, seq_num, uid, time, data, timestamps, filled.
type EventRow = (i64, String, i64, String, f64, String, String, String);

/// Every document of a run in emission order, as `[name, doc]` JSON lines (events rebuilt from
/// their rows). `None` if there is no such run.
pub async fn documents(pool: &SqlitePool, uid: &str) -> Result<Option<String>, sqlx::Error> {
    let exists: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM runs WHERE uid = ?")
        .bind(uid)
        .fetch_optional(pool)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let docs: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT seq, name, doc FROM run_documents WHERE run_uid = ? ORDER BY seq")
            .bind(uid)
            .fetch_all(pool)
            .await?;
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT e.run_seq, e.descriptor_uid, e.seq_num, e.uid, e.time, e.data, e.timestamps, e.filled \
         FROM events e JOIN descriptors d ON d.uid = e.descriptor_uid WHERE d.run_uid = ? ORDER BY e.run_seq",
    )
    .bind(uid)
    .fetch_all(pool)
    .await?;
    let mut out = String::new();
    let (mut d, mut e) = (docs.iter().peekable(), events.iter().peekable());
    loop {
        let take_doc = match (d.peek(), e.peek()) {
            (Some(a), Some(b)) => a.0 < b.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_doc {
            let (_, name, doc) = d.next().expect("peeked");
            out.push_str(&format!("[{},{}]\n", json!(name), doc));
        } else {
            let (_, descriptor, seq_num, uid, time, data, timestamps, filled) =
                e.next().expect("peeked");
            // Keys in the order bluesky emits them.
            out.push_str(&format!(
                "[\"event\",{{\"uid\":{},\"time\":{},\"data\":{data},\"timestamps\":{timestamps},\"seq_num\":{seq_num},\"filled\":{filled},\"descriptor\":{}}}]\n",
                json!(uid),
                json!(time),
                json!(descriptor)
            ));
        }
    }
    Ok(Some(out))
}

/// Columnar data of one stream: `time`, `seq_num` and each requested field (all scalar fields
/// when none are named). With `max_points`, numeric columns are decimated to at most that many
/// points by keeping, per bucket of consecutive events, the rows of the minimum and maximum of
/// the first field.
pub async fn stream_data(
    pool: &SqlitePool,
    run: &str,
    stream: &str,
    fields: &[String],
    max_points: Option<usize>,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    let descriptor: Option<(String,)> =
        sqlx::query_as("SELECT uid FROM descriptors WHERE run_uid = ? AND name = ?")
            .bind(run)
            .bind(stream)
            .fetch_optional(pool)
            .await?;
    let Some((descriptor,)) = descriptor else {
        return Ok(None);
    };
    let rows: Vec<(i64, f64, String)> = sqlx::query_as(
        "SELECT seq_num, time, data FROM events WHERE descriptor_uid = ? ORDER BY seq_num",
    )
    .bind(&descriptor)
    .fetch_all(pool)
    .await?;
    let data: Vec<Map<String, Value>> = rows
        .iter()
        .map(|(_, _, d)| serde_json::from_str(d).unwrap_or_default())
        .collect();
    let names: Vec<String> = if fields.is_empty() {
        let mut all: Vec<String> = data
            .first()
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        all.retain(|k| {
            data.first()
                .is_some_and(|d| !d[k].is_array() && !d[k].is_object())
        });
        all
    } else {
        fields.to_vec()
    };
    let keep = match max_points {
        Some(n) if n >= 2 && rows.len() > n => {
            let key = names.first().cloned().unwrap_or_default();
            let values: Vec<f64> = data
                .iter()
                .map(|d| d.get(&key).and_then(Value::as_f64).unwrap_or(f64::NAN))
                .collect();
            decimate(&values, n)
        }
        _ => (0..rows.len()).collect(),
    };
    let mut out = Map::new();
    out.insert(
        "seq_num".into(),
        keep.iter().map(|&i| json!(rows[i].0)).collect(),
    );
    out.insert(
        "time".into(),
        keep.iter().map(|&i| json!(rows[i].1)).collect(),
    );
    for name in &names {
        out.insert(
            name.clone(),
            keep.iter()
                .map(|&i| data[i].get(name).cloned().unwrap_or(Value::Null))
                .collect(),
        );
    }
    Ok(Some(out))
}

/// Indices to keep so that at most `max_points` remain: per bucket, the minimum and the maximum
/// (in their original order). NaN rows are skipped unless a bucket has nothing else.
pub fn decimate(values: &[f64], max_points: usize) -> Vec<usize> {
    let buckets = (max_points / 2).max(1);
    let n = values.len();
    let mut keep = Vec::with_capacity(buckets * 2);
    for b in 0..buckets {
        let (lo, hi) = (b * n / buckets, (b + 1) * n / buckets);
        if lo >= hi {
            continue;
        }
        let (mut min_i, mut max_i) = (lo, lo);
        for i in lo..hi {
            let v = values[i];
            if values[min_i].is_nan() || v < values[min_i] {
                min_i = i;
            }
            if values[max_i].is_nan() || v > values[max_i] {
                max_i = i;
            }
        }
        keep.push(min_i.min(max_i));
        if min_i != max_i {
            keep.push(min_i.max(max_i));
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::decimate;

    #[test]
    fn decimation_keeps_extremes_in_order_and_bounds_the_size() {
        let values: Vec<f64> = (0..1000).map(|i| ((i as f64) / 50.0).sin()).collect();
        let keep = decimate(&values, 100);
        assert!(keep.len() <= 100);
        assert!(keep.windows(2).all(|w| w[0] < w[1]), "original order");
        let max = values.iter().cloned().fold(f64::MIN, f64::max);
        let min = values.iter().cloned().fold(f64::MAX, f64::min);
        assert!(keep.iter().any(|&i| values[i] == max));
        assert!(keep.iter().any(|&i| values[i] == min));
        assert_eq!(decimate(&[1.0, 2.0, 3.0], 2), vec![0, 2]);
    }
}
