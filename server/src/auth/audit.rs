//! The audit log: every change — who, what, when, from where — in the `audit` table.
//!
//! Requests hand entries to one writer task (bounded channel; a full channel makes the request
//! wait rather than lose the entry), which inserts them in small transactions.

use serde::Serialize;
use serde_json::Value;
use sqlx::{Row, SqlitePool};
use tokio::sync::mpsc;

#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub at: String,
    pub user: String,
    pub role: String,
    pub action: String,
    pub status: u16,
    pub source: String,
    pub detail: String,
}

/// Keys whose values never reach the log.
const SECRET_KEYS: &[&str] = &["password", "lock_key", "api_key", "key", "new_password"];
/// Longest detail kept.
pub const MAX_DETAIL: usize = 2000;

/// A request body for the log: JSON with secrets replaced by "***", a form with its secret
/// fields masked, anything else only by its length; cut to [`MAX_DETAIL`].
pub fn redact(body: &[u8]) -> String {
    let form = body.iter().all(|b| b.is_ascii_graphic())
        && body.split(|b| *b == b'&').all(|kv| {
            kv.iter().position(|b| *b == b'=').is_some_and(|eq| {
                eq > 0
                    && kv[..eq]
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
            })
        });
    if serde_json::from_slice::<Value>(body).is_err() && !body.is_empty() && !form {
        return format!("({} bytes, not JSON)", body.len());
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            scrub(&mut v);
            v.to_string()
        }
        Err(_) if body.is_empty() => String::new(),
        // A form (login) or something else: keep only the field names of a form.
        Err(_) => String::from_utf8_lossy(body)
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if SECRET_KEYS.contains(&k) => format!("{k}=***"),
                Some((k, v)) => format!("{k}={v}"),
                None => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&"),
    };
    cut(text)
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_DETAIL {
        let mut end = MAX_DETAIL;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

fn scrub(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SECRET_KEYS.contains(&k.as_str()) {
                    *val = Value::String("***".into());
                } else {
                    scrub(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

enum Msg {
    Entry(Entry),
    /// Answered once everything sent before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
}

/// How much of the audit log is kept: entries younger than `keep_days`, and at most `max_rows`
/// (the newest). The writer trims at start and then hourly.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub keep_days: f64,
    pub max_rows: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_days: 365.0,
            max_rows: 1_000_000,
        }
    }
}

/// Deletes entries older than `keep_days` and all but the newest `max_rows`; returns how many.
pub async fn trim(
    db: &SqlitePool,
    keep_days: Option<f64>,
    max_rows: Option<i64>,
) -> Result<u64, sqlx::Error> {
    let mut gone = 0;
    if let Some(days) = keep_days {
        let secs = (days.clamp(0.0, 1e6) * 86_400.0) as i64;
        let cutoff = crate::clock::Timestamp::seconds_ago(secs).record();
        gone += sqlx::query("DELETE FROM audit WHERE at < ?")
            .bind(cutoff)
            .execute(db)
            .await?
            .rows_affected();
    }
    if let Some(rows) = max_rows {
        gone += sqlx::query("DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?")
            .bind(rows.max(0))
            .execute(db)
            .await?
            .rows_affected();
    }
    Ok(gone)
}

impl AuditLog {
    pub fn start(db: SqlitePool, retention: Retention) -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(1024);
        tokio::spawn(async move {
            let mut batch = Vec::new();
            let mut trimmed: Option<std::time::Instant> = None;
            loop {
                if trimmed.is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(3600)) {
                    match trim(&db, Some(retention.keep_days), Some(retention.max_rows)).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!("audit log: {n} old entries deleted (retention)"),
                        Err(e) => tracing::error!("cannot trim the audit log: {e}"),
                    }
                    trimmed = Some(std::time::Instant::now());
                }
                if rx.recv_many(&mut batch, 256).await == 0 {
                    break;
                }
                let mut entries = Vec::new();
                let mut flushed = Vec::new();
                for m in batch.drain(..) {
                    match m {
                        Msg::Entry(e) => entries.push(e),
                        Msg::Flush(done) => flushed.push(done),
                    }
                }
                if let Err(e) = write(&db, &entries).await {
                    tracing::error!("cannot write {} audit entries: {e}", entries.len());
                }
                for done in flushed {
                    let _ = done.send(());
                }
            }
        });
        AuditLog { tx }
    }

    pub async fn record(&self, entry: Entry) {
        if self.tx.send(Msg::Entry(entry)).await.is_err() {
            tracing::error!("the audit writer has stopped; an entry was not recorded");
        }
    }

    /// Waits until every entry recorded so far is in the database (before the log is read).
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

pub async fn write(db: &SqlitePool, entries: &[Entry]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    for e in entries {
        sqlx::query(
            "INSERT INTO audit (at, user, role, action, status, source, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.at)
        .bind(&e.user)
        .bind(&e.role)
        .bind(&e.action)
        .bind(i64::from(e.status))
        .bind(&e.source)
        .bind(&e.detail)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Newest first; `before` is an id for paging, `user` filters.
pub async fn list(
    db: &SqlitePool,
    user: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT * FROM audit WHERE (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR id < ?2)
         ORDER BY id DESC LIMIT ?3",
    )
    .bind(user)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.get::<i64, _>("id"), "at": r.get::<String, _>("at"),
                "user": r.get::<String, _>("user"), "role": r.get::<String, _>("role"),
                "action": r.get::<String, _>("action"), "status": r.get::<i64, _>("status"),
                "source": r.get::<String, _>("source"), "detail": r.get::<String, _>("detail"),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let d = redact(br#"{"lock_key": "s3cret", "item": {"name": "count", "password": "x"}}"#);
        assert!(!d.contains("s3cret") && !d.contains("\"x\""), "{d}");
        assert!(d.contains("count"));
        assert_eq!(
            redact(b"username=ann&password=hunter22"),
            "username=ann&password=***"
        );
        assert!(redact(&vec![b'a'; 5000]).chars().count() <= MAX_DETAIL + 1);
        assert_eq!(
            redact(br#"{"password":"S3cret!!",}"#),
            "(24 bytes, not JSON)",
            "broken JSON is never copied"
        );
        assert!(!redact(br#"{"password":"a=b",}"#).contains("a=b"));
    }
}
