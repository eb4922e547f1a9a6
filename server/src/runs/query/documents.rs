//! A run's documents read back in emission order: whole for the plot pictures, in bounded steps
//! for the HTTP export, and as parsed documents for a live subscriber's replay.

use hutch_app::model::docs::{DocName, Event};
use serde_json::{json, Map, Value};
use sqlx::SqlitePool;

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
                    crate::runs::arrays::unpack(&mut v, Some(blob));
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

/// A stored document read back for a replay: events typed (they are paged again), the other
/// documents as stored.
#[derive(Debug)]
pub enum Replayed {
    Event(Event),
    Doc(DocName, Value),
}

/// The documents of run seqs `from..to`, in emission order (a replay's step).
pub async fn documents_between(
    pool: &SqlitePool,
    uid: &str,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, Replayed)>, sqlx::Error> {
    let (docs, events) = rows_between(pool, uid, from, to).await?;
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let object = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut out: Vec<(u64, Replayed)> = Vec::with_capacity(docs.len() + events.len());
    // The writer stored only names it parsed; a row it did not write is skipped.
    out.extend(docs.iter().filter_map(|(seq, name, doc)| {
        Some((*seq as u64, Replayed::Doc(name.parse().ok()?, parse(doc))))
    }));
    out.extend(events.into_iter().map(|row| {
        let mut data = parse(&row.data);
        crate::runs::arrays::unpack(&mut data, row.arrays.as_deref());
        let event = Event {
            uid: row.uid,
            descriptor: row.descriptor_uid,
            time: row.time,
            seq_num: row.seq_num,
            data: object(data),
            timestamps: object(parse(&row.timestamps)),
            filled: object(parse(&row.filled)),
            rest: Map::new(),
        };
        (row.run_seq as u64, Replayed::Event(event))
    }));
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out)
}
