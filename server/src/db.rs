//! The SQLite dispatch database: opening it safely, migrations, and the refusal to touch a file
//! that is not ours.
//!
//! Two pools on one file. WAL so readers never block the writer, `synchronous=NORMAL`
//! (durable across a process crash; the last transactions may be lost only on power loss),
//! foreign keys on, and a busy timeout so that short write contention waits instead of failing.
//!
//! [`open`]'s pool serves reads and the occasional write (datasets, applets, accounts). The
//! frequent writers — the queue store, the document writer and the audit log — share
//! [`open_writer`]'s single connection, so their transactions wait their turn in an async queue
//! instead of colliding in SQLite's write lock, where the loser sleeps in SQLite's busy handler
//! (1 ms at least, then longer): that sleep was most of a single queue add's time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};

/// Written into the SQLite header (`PRAGMA application_id`) so hutch can recognise its own files:
/// the ASCII bytes "htch".
pub const APPLICATION_ID: i64 = 0x6874_6368;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{path} is not a hutch database ({reason}); move it away or choose another file with --database")]
    Foreign { path: PathBuf, reason: String },
    #[error("cannot open the database {path}: {error}")]
    Open { path: PathBuf, error: sqlx::Error },
    #[error("cannot migrate the database {path}: {error}; restore a backup or move the file away")]
    Migrate {
        path: PathBuf,
        error: sqlx::migrate::MigrateError,
    },
}

/// What `open` found, so the caller can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Existing,
    /// The file did not exist and an empty database was created.
    Created,
}

/// Opens (or creates) the database at `path` and applies pending migrations.
///
/// An existing file is first inspected read-only: a file that is not SQLite, or an SQLite file
/// of another program, is refused before anything is written to it.
pub async fn open(path: &Path) -> Result<(SqlitePool, Opened), DbError> {
    let opened = if path.exists() {
        inspect(path).await?;
        Opened::Existing
    } else {
        Opened::Created
    };
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options(path))
        .await
        .map_err(|error| DbError::Open {
            path: path.to_owned(),
            error,
        })?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|error| DbError::Migrate {
            path: path.to_owned(),
            error,
        })?;
    // Marks the file as hutch's (see `inspect`); a no-op after the first start.
    sqlx::query(&format!("PRAGMA application_id = {APPLICATION_ID}"))
        .execute(&pool)
        .await
        .map_err(|error| DbError::Open {
            path: path.to_owned(),
            error,
        })?;
    Ok((pool, opened))
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
}

/// The frequent writers' one connection to the database [`open`] opened and migrated (see the
/// module's opening comment). Nothing may hold it while it waits for it again.
pub async fn open_writer(path: &Path) -> Result<SqlitePool, DbError> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options(path))
        .await
        .map_err(|error| DbError::Open {
            path: path.to_owned(),
            error,
        })
}

/// Read-only look at an existing file: is it SQLite, and is it ours (or empty)?
async fn inspect(path: &Path) -> Result<(), DbError> {
    let foreign = |reason: String| DbError::Foreign {
        path: path.to_owned(),
        reason,
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| foreign(e.to_string()))?;
    let app_id: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| foreign(db_message(&e)))?;
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| foreign(db_message(&e)))?;
    let _ = conn.close().await;
    if app_id != APPLICATION_ID && tables > 0 {
        return Err(foreign(format!(
            "it is an SQLite database of another program: application_id {app_id:#x}, {tables} tables"
        )));
    }
    Ok(())
}

fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// A consistent copy of the live database (`VACUUM INTO`), safe while others write.
pub async fn backup(pool: &SqlitePool, to: &Path) -> Result<(), sqlx::Error> {
    let target = to.to_string_lossy().to_string();
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(pool)
        .await?;
    Ok(())
}

/// Problems found by SQLite's integrity and foreign-key checks (empty: none).
pub async fn check(pool: &SqlitePool) -> Result<Vec<String>, sqlx::Error> {
    let mut problems: Vec<String> = sqlx::query_scalar::<_, String>("PRAGMA integrity_check")
        .fetch_all(pool)
        .await?
        .into_iter()
        .filter(|l| l != "ok")
        .collect();
    let fk: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(pool)
        .await?;
    problems.extend(
        fk.into_iter().map(|(table, row, parent, _)| {
            format!("{table} row {row} points to a missing {parent}")
        }),
    );
    Ok(problems)
}

/// Deletes finished dispatches (and their runs, documents and status log) beyond the newest
/// `keep` or finished before `before` (Unix seconds); returns how many dispatches went.
pub async fn trim(
    pool: &SqlitePool,
    keep: Option<u64>,
    before: Option<f64>,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("CREATE TEMP TABLE IF NOT EXISTS doomed (uid TEXT PRIMARY KEY)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM doomed").execute(&mut *tx).await?;
    let finished = "status NOT IN ('queued', 'running', 'paused')";
    if let Some(keep) = keep {
        sqlx::query(&format!(
            "INSERT OR IGNORE INTO doomed SELECT uid FROM dispatches WHERE {finished} \
             ORDER BY finished_at DESC, id DESC LIMIT -1 OFFSET ?"
        ))
        .bind(keep as i64)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(before) = before {
        sqlx::query(&format!("INSERT OR IGNORE INTO doomed SELECT uid FROM dispatches WHERE {finished} AND finished_at < ?"))
            .bind(before)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM runs WHERE dispatch_uid IN (SELECT uid FROM doomed)")
        .execute(&mut *tx)
        .await?;
    let gone = sqlx::query("DELETE FROM dispatches WHERE uid IN (SELECT uid FROM doomed)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DROP TABLE doomed").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(gone.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn creates_migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hutch.db");
        let (pool, opened) = open(&path).await.unwrap();
        assert_eq!(opened, Opened::Created);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let id: i64 = sqlx::query_scalar("PRAGMA application_id")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        pool.close().await;
        let (_pool, opened) = open(&path).await.unwrap();
        assert_eq!(opened, Opened::Existing);
    }

    #[tokio::test]
    async fn a_file_that_is_not_sqlite_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        let content = b"these are my beamtime notes, not a database\n".repeat(100);
        std::fs::write(&path, &content).unwrap();
        let err = open(&path).await.unwrap_err().to_string();
        assert!(err.contains("is not a hutch database"), "{err}");
        assert!(err.contains("--database"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), content);
    }

    #[tokio::test]
    async fn another_programs_sqlite_file_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        {
            let mut conn = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .connect()
                .await
                .unwrap();
            sqlx::query("CREATE TABLE samples (id INTEGER PRIMARY KEY, name TEXT)")
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = open(&path).await.unwrap_err().to_string();
        assert!(err.contains("another program"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
