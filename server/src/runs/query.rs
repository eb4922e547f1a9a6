//! Reading runs back: lists with filters and keyset paging, one run with its streams, every
//! document in emission order, and columnar stream data with min/max decimation.

use hutch_app::model::docs::DocName;
use hutch_app::model::runs::RunSummary;
use serde_json::{json, Value};
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

/// A row of `events` as stored (`data`, `timestamps`, `filled` as JSON text; large arrays
/// packed in `arrays`).
#[derive(sqlx::FromRow)]
pub struct EventRow {
    run_seq: i64,
    descriptor_uid: String,
    seq_num: i64,
    uid: String,
    time: f64,
    data: String,
    arrays: Option<Vec<u8>>,
    timestamps: String,
    filled: String,
}

/// The run's documents in emission order, one `[name, doc]` JSON line each (what
/// `GET /api/runs/{uid}/documents` streams); `None` when there is no such run. Whole in memory:
/// for the plot pictures; the HTTP export streams [`documents_text`] step by step instead.
pub async fn documents(pool: &SqlitePool, uid: &str) -> Result<Option<String>, sqlx::Error> {
    let Some(end) = document_end(pool, uid).await? else {
        return Ok(None);
    };
    documents_text(pool, uid, 0, end).await.map(Some)
}

/// One past the run's last stored document (its `doc_count`); `None` when there is no such run.
pub async fn document_end(pool: &SqlitePool, uid: &str) -> Result<Option<u64>, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT doc_count FROM runs WHERE uid = ?")
        .bind(uid)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(n,)| n.max(0) as u64))
}

/// Where a read of the run's documents that starts at `from` should stop (exclusive, at most
/// `to`): after `max_docs` documents or once about `max_bytes` of stored text is reached, but
/// always after at least one document. Only the stored sizes are read, so a replay or an
/// export holds one bounded step in memory however large the run's documents are.
pub async fn step_end(
    pool: &SqlitePool,
    uid: &str,
    from: u64,
    to: u64,
    max_docs: u64,
    max_bytes: u64,
) -> Result<u64, sqlx::Error> {
    let to = to.min(from.saturating_add(max_docs.max(1)));
    let sizes: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT seq, octet_length(doc) FROM run_documents WHERE run_uid = ?1 AND seq >= ?2 AND seq < ?3 \
         UNION ALL \
         SELECT e.run_seq, octet_length(e.data) + COALESCE(octet_length(e.arrays), 0) + octet_length(e.timestamps) \
         FROM events e JOIN descriptors d ON d.uid = e.descriptor_uid \
         WHERE d.run_uid = ?1 AND e.run_seq >= ?2 AND e.run_seq < ?3 ORDER BY 1",
    )
    .bind(uid)
    .bind(from as i64)
    .bind(to as i64)
    .fetch_all(pool)
    .await?;
    let mut bytes: u64 = 0;
    for (seq, len) in sizes {
        let len = len.max(0) as u64;
        if bytes > 0 && bytes + len > max_bytes {
            return Ok(seq.max(0) as u64);
        }
        bytes += len;
    }
    Ok(to)
}

/// The stored rows of the run's documents with seq in `[from, to)`: whole documents and events.
async fn rows_between(
    pool: &SqlitePool,
    uid: &str,
    from: u64,
    to: u64,
) -> Result<(Vec<(i64, String, String)>, Vec<EventRow>), sqlx::Error> {
    let (from, to) = (
        from.min(i64::MAX as u64) as i64,
        to.min(i64::MAX as u64) as i64,
    );
    let docs: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT seq, name, doc FROM run_documents WHERE run_uid = ? AND seq >= ? AND seq < ? ORDER BY seq",
    )
    .bind(uid)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT e.run_seq, e.descriptor_uid, e.seq_num, e.uid, e.time, e.data, e.arrays, e.timestamps, e.filled \
         FROM events e JOIN descriptors d ON d.uid = e.descriptor_uid \
         WHERE d.run_uid = ? AND e.run_seq >= ? AND e.run_seq < ? ORDER BY e.run_seq",
    )
    .bind(uid)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok((docs, events))
}

/// The run's documents with seq in `[from, to)` as `[name, doc]` JSON lines, events with their
/// keys in the order bluesky emits them.
pub async fn documents_text(
    pool: &SqlitePool,
    uid: &str,
    from: u64,
    to: u64,
) -> Result<String, sqlx::Error> {
    let (docs, events) = rows_between(pool, uid, from, to).await?;
    let mut out = String::new();
    let (mut d, mut e) = (docs.iter().peekable(), events.iter().peekable());
    loop {
        let take_doc = match (d.peek(), e.peek()) {
            (Some(a), Some(b)) => a.0 < b.run_seq,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_doc {
            let (_, name, doc) = d.next().expect("peeked");
            out.push_str(&format!("[{},{}]\n", json!(name), doc));
        } else {
            let EventRow {
                descriptor_uid: descriptor,
                seq_num,
                uid,
                time,
                data,
                arrays,
                timestamps,
                filled,
                ..
            } = e.next().expect("peeked");
            let data = match arrays {
                Some(blob) => {
                    let mut v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                    super::arrays::unpack(&mut v, Some(blob));
                    v.to_string()
                }
                None => data.clone(),
            };
            // Keys in the order bluesky emits them.
            out.push_str(&format!(
                "[\"event\",{{\"uid\":{},\"time\":{},\"data\":{data},\"timestamps\":{timestamps},\"seq_num\":{seq_num},\"filled\":{filled},\"descriptor\":{}}}]\n",
                json!(uid),
                json!(time),
                json!(descriptor)
            ));
        }
    }
    Ok(out)
}

/// The run's documents with seq in `[from, to)`, in emission order, as `(seq, name, doc)` —
/// what a subscriber that opens mid-run (or comes back after a gap) is replayed.
pub async fn documents_between(
    pool: &SqlitePool,
    uid: &str,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, DocName, Value)>, sqlx::Error> {
    let (docs, events) = rows_between(pool, uid, from, to).await?;
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let mut out: Vec<(u64, DocName, Value)> = Vec::with_capacity(docs.len() + events.len());
    // The writer stored only names it parsed; a row it did not write is skipped.
    out.extend(
        docs.iter()
            .filter_map(|(seq, name, doc)| Some((*seq as u64, name.parse().ok()?, parse(doc)))),
    );
    out.extend(events.into_iter().map(|EventRow { run_seq: seq, descriptor_uid: descriptor, seq_num, uid, time, data, arrays, timestamps, filled }| {
        let mut data = parse(&data);
        super::arrays::unpack(&mut data, arrays.as_deref());
        let doc = json!({"uid": uid, "time": time, "data": data, "timestamps": parse(&timestamps),
                         "seq_num": seq_num, "filled": parse(&filled), "descriptor": descriptor});
        (seq as u64, DocName::Event, doc)
    }));
    out.sort_by_key(|(seq, _, _)| *seq);
    Ok(out)
}

/// Why stream data could not be given.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("no such stream")]
    NoStream,
    #[error("{0}")]
    BadField(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Columns of stream data, each a JSON array as text, in response order.
pub type Columns = Vec<(String, String)>;

/// Columnar data of one stream: `seq_num`, `time` and each requested field (all scalar fields
/// of the descriptor when none are named). With `max_points`, decimated to at most that many
/// points by keeping, per bucket of consecutive events, the rows of the minimum and maximum of
/// the first field.
///
/// Scalar fields are gathered by SQLite itself (`json_group_array(data -> '$."field"')`), one
/// array per column in a single row, so a long stream is read without a row-by-row round trip
/// or parsing whole events; array fields take the slower path through the packed arrays.
pub async fn stream_data(
    pool: &SqlitePool,
    run: &str,
    stream: &str,
    fields: &[String],
    max_points: Option<usize>,
) -> Result<Columns, DataError> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT d.uid, r.doc FROM descriptors d JOIN run_documents r ON r.uid = d.uid WHERE d.run_uid = ? AND d.name = ?",
    )
    .bind(run)
    .bind(stream)
    .fetch_optional(pool)
    .await?;
    let Some((descriptor, doc)) = found else {
        return Err(DataError::NoStream);
    };
    let doc: Value = serde_json::from_str(&doc).unwrap_or_default();
    let keys = doc["data_keys"].as_object().cloned().unwrap_or_default();
    let scalar = |k: &str| {
        keys.get(k)
            .is_some_and(|d| d["shape"].as_array().is_none_or(Vec::is_empty))
    };
    let names: Vec<String> = if fields.is_empty() {
        keys.keys().filter(|k| scalar(k)).cloned().collect()
    } else {
        fields.to_vec()
    };
    for n in &names {
        if !keys.contains_key(n) {
            let known: Vec<&String> = keys.keys().collect();
            return Err(DataError::BadField(format!(
                "stream '{stream}' has no field '{n}'; its fields: {known:?}"
            )));
        }
    }
    let mut columns: Columns = vec![
        ("seq_num".into(), String::new()),
        ("time".into(), String::new()),
    ];
    columns.extend(names.iter().map(|n| (n.clone(), String::new())));
    if names.iter().all(|n| scalar(n)) {
        let mut sql = String::from("SELECT json_group_array(seq_num), json_group_array(time)");
        for n in &names {
            let path = n.replace('\'', "''").replace('"', "\\\"");
            sql.push_str(&format!(", json_group_array(data -> '$.\"{path}\"')"));
        }
        sql.push_str(" FROM (SELECT seq_num, time, data FROM events WHERE descriptor_uid = ? ORDER BY seq_num)");
        let row = sqlx::query(&sql).bind(&descriptor).fetch_one(pool).await?;
        for (i, col) in columns.iter_mut().enumerate() {
            col.1 = sqlx::Row::try_get::<String, _>(&row, i)?;
        }
    } else {
        let rows: Vec<(i64, f64, String, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT seq_num, time, data, arrays FROM events WHERE descriptor_uid = ? ORDER BY seq_num")
                .bind(&descriptor)
                .fetch_all(pool)
                .await?;
        let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(rows.len()); columns.len()];
        for (seq, time, data, arrays) in rows {
            let mut v: Value = serde_json::from_str(&data).unwrap_or_default();
            super::arrays::unpack(&mut v, arrays.as_deref());
            values[0].push(json!(seq));
            values[1].push(json!(time));
            for (i, n) in names.iter().enumerate() {
                values[i + 2].push(v.get(n).cloned().unwrap_or(Value::Null));
            }
        }
        for (col, vals) in columns.iter_mut().zip(values) {
            col.1 = Value::Array(vals).to_string();
        }
    }
    if let Some(n) = max_points {
        let len = serde_json::from_str::<Vec<Value>>(&columns[0].1).map_or(0, |v| v.len());
        if n >= 2 && len > n {
            let key = if columns.len() > 2 { 2 } else { 1 };
            let first: Vec<f64> = serde_json::from_str::<Vec<Value>>(&columns[key].1)
                .unwrap_or_default()
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect();
            let keep = decimate(&first, n);
            for col in &mut columns {
                let all: Vec<Value> = serde_json::from_str(&col.1).unwrap_or_default();
                col.1 = Value::Array(keep.iter().filter_map(|&i| all.get(i).cloned()).collect())
                    .to_string();
            }
        }
    }
    Ok(columns)
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
