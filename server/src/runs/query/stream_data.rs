//! Columnar stream data for plots and CSV: the requested fields of one stream as JSON arrays,
//! optionally decimated to keep each bucket's minimum and maximum.

use serde_json::{json, Value};
use sqlx::SqlitePool;

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
            crate::runs::arrays::unpack(&mut v, arrays.as_deref());
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
