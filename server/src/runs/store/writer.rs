//! The writer task: the one owner of the document tables' write side. It coalesces waiting
//! batches into one transaction, resolves references (descriptor → run, datum → resource),
//! gives each document its `seq` in the run, and after the commit acknowledges each batch and
//! sends the stored documents to the feed.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;

use super::*;
use crate::runs::conform::Keys;

mod put;

/// Where a run stands while documents arrive.
#[derive(Clone, Debug)]
struct RunCursor {
    next_seq: i64,
    num_events: HashMap<String, i64>,
    /// The stop document is stored; nothing more may join the run.
    closed: bool,
}

pub(super) struct Writer {
    pool: SqlitePool,
    /// Runs written to recently: run uid → cursor.
    runs: HashMap<String, RunCursor>,
    /// descriptor uid → its run, stream and data keys (what its events are checked against).
    descriptors: HashMap<String, Descriptor>,
    /// resource uid → run uid.
    resources: HashMap<String, String>,
    /// Events waiting for their multi-row INSERT.
    pending: Vec<EventRow>,
    /// Write each event on its own, to find which document a failing batch trips on.
    careful: bool,
    feed: Option<mpsc::Sender<Vec<Stored>>>,
}

/// What the writer keeps of a descriptor.
#[derive(Clone)]
struct Descriptor {
    run: String,
    stream: String,
    /// `None` if the stored descriptor could not be read back: its events are then not checked.
    keys: Option<Arc<Keys>>,
}

impl Writer {
    pub(super) fn new(pool: SqlitePool, feed: Option<mpsc::Sender<Vec<Stored>>>) -> Self {
        Writer {
            pool,
            runs: HashMap::new(),
            descriptors: HashMap::new(),
            resources: HashMap::new(),
            pending: Vec::new(),
            careful: false,
            feed,
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Batch>) {
        while let Some(first) = rx.recv().await {
            let mut batches = vec![first];
            let mut count = batches[0].docs.len();
            while count < MAX_DOCS_PER_TX {
                match rx.try_recv() {
                    Ok(b) => {
                        count += b.docs.len();
                        batches.push(b);
                    }
                    Err(_) => break,
                }
            }
            self.write_all(batches).await;
        }
    }

    /// Writes the batches in one transaction; a batch that fails is rolled back alone and
    /// reported, the others are retried without it.
    async fn write_all(&mut self, batches: Vec<Batch>) {
        let saved = (
            self.runs.clone(),
            self.descriptors.clone(),
            self.resources.clone(),
        );
        match self.write(&batches).await {
            Ok(placed) => {
                // The caches reload lazily from the database; keep them small.
                if self.runs.len() + self.descriptors.len() + self.resources.len() > 10_000 {
                    self.runs.clear();
                    self.descriptors.clear();
                    self.resources.clear();
                }
                let mut stored = Vec::with_capacity(placed.len());
                let mut placed = placed.into_iter();
                for b in batches {
                    if let Some(ack) = b.ack {
                        let _ = ack.send(Ok(b.docs.len()));
                    }
                    for ((header, doc), (run, seq)) in b.docs.into_iter().zip(placed.by_ref()) {
                        stored.push(Stored {
                            run,
                            seq: seq as u64,
                            header,
                            doc,
                        });
                    }
                }
                if let (Some(feed), false) = (&self.feed, stored.is_empty()) {
                    // The feed only touches memory, so this waits briefly at most; if it has
                    // stopped, the documents are still stored and replayable.
                    let _ = feed.send(stored).await;
                }
            }
            Err(_) if batches.len() > 1 => {
                (self.runs, self.descriptors, self.resources) = saved;
                for b in batches {
                    Box::pin(self.write_all(vec![b])).await;
                }
            }
            Err(StoreError::Unplaced(_)) if !self.careful => {
                (self.runs, self.descriptors, self.resources) = saved;
                self.careful = true;
                Box::pin(self.write_all(batches)).await;
                self.careful = false;
            }
            Err(e) => {
                (self.runs, self.descriptors, self.resources) = saved;
                tracing::warn!("documents not stored: {e}");
                for b in batches {
                    if let Some(ack) = b.ack {
                        let _ = ack.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// Writes the batches in one transaction; returns each document's run and its first seq there.
    async fn write(&mut self, batches: &[Batch]) -> Result<Vec<(String, i64)>, StoreError> {
        let db = |e: sqlx::Error| StoreError::Database(e.to_string());
        self.pending.clear();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let mut touched: Vec<String> = Vec::new();
        let mut placed = Vec::new();
        for batch in batches {
            for (index, ((header, doc), events)) in batch.docs.iter().zip(&batch.events).enumerate()
            {
                let invalid = |reason: String| StoreError::Invalid {
                    index,
                    name: header.name().to_string(),
                    reason,
                };
                let (run, seq) = self
                    .put(&mut tx, header, doc, events, batch.dispatch_uid.as_deref())
                    .await
                    .map_err(|e| match e {
                        PutError::Invalid(r) => invalid(r),
                        PutError::Db(e) => match &e {
                            sqlx::Error::Database(d) if d.is_unique_violation() => {
                                invalid("a document with this uid is already stored".into())
                            }
                            _ => db(e),
                        },
                    })?;
                if !touched.contains(&run) {
                    touched.push(run.clone());
                }
                placed.push((run, seq));
            }
        }
        self.flush_events(&mut tx).await.map_err(|e| match e {
            PutError::Invalid(r) => StoreError::Unplaced(r),
            PutError::Db(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                StoreError::Unplaced("a document with this uid is already stored".into())
            }
            PutError::Db(e) => db(e),
        })?;
        for run in &touched {
            let c = &self.runs[run];
            sqlx::query("UPDATE runs SET doc_count = ?, num_events = ? WHERE uid = ?")
                .bind(c.next_seq)
                .bind(json!(c.num_events).to_string())
                .bind(run)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(placed)
    }

    async fn flush_events(&mut self, tx: &mut Transaction<'_, Sqlite>) -> Result<(), PutError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (descriptor_uid, seq_num, run_seq, uid, time, data, arrays, timestamps, filled) ",
        );
        q.push_values(rows, |mut b, r| {
            b.push_bind(r.descriptor)
                .push_bind(r.seq_num)
                .push_bind(r.run_seq)
                .push_bind(r.uid)
                .push_bind(r.time)
                .push_bind(r.data)
                .push_bind(r.arrays)
                .push_bind(r.timestamps)
                .push_bind(r.filled);
        });
        q.build().execute(&mut **tx).await?;
        Ok(())
    }
}

/// Events are written many rows per INSERT; this many at most (9 parameters each).
const EVENTS_PER_INSERT: usize = 1000;

struct EventRow {
    descriptor: String,
    seq_num: i64,
    run_seq: i64,
    uid: String,
    time: f64,
    data: String,
    arrays: Option<Vec<u8>>,
    timestamps: String,
    filled: String,
}

enum PutError {
    Invalid(String),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for PutError {
    fn from(e: sqlx::Error) -> Self {
        PutError::Db(e)
    }
}
