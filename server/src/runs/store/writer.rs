//! The writer task: the one owner of the document tables' write side. It coalesces waiting
//! batches into one transaction, resolves references (descriptor → run, datum → resource),
//! gives each document its `seq` in the run, and after the commit acknowledges each batch and
//! sends the stored documents to the feed.

use std::collections::HashMap;
use std::sync::Arc;

use hutch_app::model::docs::{DocName, Header};
use serde_json::{json, Value};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::mpsc;

use super::*;
use crate::runs::conform::Keys;

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
                            name: header.name(),
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

    /// The run a document belongs to, and its cursor (loaded from the database if needed).
    async fn cursor(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        run: &str,
    ) -> Result<&mut RunCursor, PutError> {
        if !self.runs.contains_key(run) {
            let row: Option<(i64, String, bool)> = sqlx::query_as(
                "SELECT doc_count, num_events, time_stop IS NOT NULL FROM runs WHERE uid = ?",
            )
            .bind(run)
            .fetch_optional(&mut **tx)
            .await?;
            let Some((next_seq, num_events, closed)) = row else {
                return Err(PutError::Invalid(format!(
                    "run '{run}' has no start document"
                )));
            };
            let num_events = serde_json::from_str(&num_events).unwrap_or_default();
            self.runs.insert(
                run.to_string(),
                RunCursor {
                    next_seq,
                    num_events,
                    closed,
                },
            );
        }
        Ok(self.runs.get_mut(run).expect("inserted above"))
    }

    async fn descriptor(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        uid: &str,
    ) -> Result<Descriptor, PutError> {
        if let Some(d) = self.descriptors.get(uid) {
            return Ok(d.clone());
        }
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT d.run_uid, d.name, r.doc FROM descriptors d \
             LEFT JOIN run_documents r ON r.uid = d.uid AND r.name = 'descriptor' WHERE d.uid = ?",
        )
        .bind(uid)
        .fetch_optional(&mut **tx)
        .await?;
        let (run, stream, doc) =
            row.ok_or_else(|| PutError::Invalid(format!("unknown descriptor '{uid}'")))?;
        let keys = doc.and_then(|d| serde_json::from_str::<Value>(&d).ok());
        if keys.is_none() {
            tracing::warn!("descriptor '{uid}' is not readable; its events are stored unchecked");
        }
        let d = Descriptor {
            run,
            stream,
            keys: keys.map(|doc| Arc::new(Keys::of(&doc))),
        };
        self.descriptors.insert(uid.to_string(), d.clone());
        Ok(d)
    }

    async fn resource_run(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        uid: &str,
    ) -> Result<String, PutError> {
        if let Some(r) = self.resources.get(uid) {
            return Ok(r.clone());
        }
        let row: Option<(String,)> =
            sqlx::query_as("SELECT run_uid FROM run_documents WHERE uid = ? AND name IN ('resource', 'stream_resource')")
                .bind(uid)
                .fetch_optional(&mut **tx)
                .await?;
        let (run,) = row.ok_or_else(|| PutError::Invalid(format!("unknown resource '{uid}'")))?;
        self.resources.insert(uid.to_string(), run.clone());
        Ok(run)
    }

    async fn next_seq(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        run: &str,
    ) -> Result<i64, PutError> {
        let c = self.cursor(tx, run).await?;
        if c.closed {
            return Err(PutError::Invalid(format!(
                "run '{run}' is already stopped; documents cannot be added after its stop document"
            )));
        }
        let seq = c.next_seq;
        c.next_seq += 1;
        Ok(seq)
    }

    async fn keep(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        run: &str,
        name: DocName,
        uid: Option<&str>,
        doc: &Value,
    ) -> Result<(), PutError> {
        let seq = self.next_seq(tx, run).await?;
        sqlx::query(
            "INSERT INTO run_documents (run_uid, seq, name, uid, doc) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(run)
        .bind(seq)
        .bind(name.as_str())
        .bind(uid)
        .bind(doc.to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Stores one document; returns its run and its (first) seq there.
    async fn put(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        header: &Header,
        doc: &Value,
        events: &[EventCols],
        dispatch: Option<&str>,
    ) -> Result<(String, i64), PutError> {
        let run = self.put_doc(tx, header, doc, events, dispatch).await?;
        let next = self.runs.get(&run).map_or(0, |c| c.next_seq);
        let count = match header {
            Header::EventPage { count, .. } => *count as i64,
            _ => 1,
        };
        Ok((run, next - count))
    }

    /// Files a document by its header: the run it belongs to, its uid, and for a start, a
    /// descriptor or a stop, the rows the run list reads.
    async fn put_doc(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        header: &Header,
        doc: &Value,
        events: &[EventCols],
        dispatch: Option<&str>,
    ) -> Result<String, PutError> {
        let name = header.name();
        match header {
            Header::Start {
                uid,
                time,
                plan_name,
                scan_id,
            } => {
                sqlx::query(
                    "INSERT INTO runs (uid, dispatch_uid, plan_name, scan_id, time_start, doc_count) VALUES (?, ?, ?, ?, ?, 0)",
                )
                .bind(uid)
                .bind(dispatch)
                .bind(plan_name.as_deref().unwrap_or_default())
                .bind(scan_id)
                .bind(time)
                .execute(&mut **tx)
                .await?;
                self.runs.insert(
                    uid.clone(),
                    RunCursor {
                        next_seq: 0,
                        num_events: HashMap::new(),
                        closed: false,
                    },
                );
                self.keep(tx, uid, name, Some(uid), doc).await?;
                Ok(uid.clone())
            }
            Header::Descriptor {
                uid,
                run_start: run,
                stream,
            } => {
                self.cursor(tx, run).await?;
                sqlx::query("INSERT INTO descriptors (uid, run_uid, name) VALUES (?, ?, ?)")
                    .bind(uid)
                    .bind(run)
                    .bind(stream)
                    .execute(&mut **tx)
                    .await?;
                let d = Descriptor {
                    run: run.clone(),
                    stream: stream.clone(),
                    keys: Some(Arc::new(Keys::of(doc))),
                };
                self.descriptors.insert(uid.clone(), d);
                self.keep(tx, run, name, Some(uid), doc).await?;
                Ok(run.clone())
            }
            Header::Event { descriptor } | Header::EventPage { descriptor, .. } => {
                let Descriptor { run, stream, keys } = self.descriptor(tx, descriptor).await?;
                // `validate::check` has made sure `data` is an object.
                if let (Some(keys), Some(data)) = (&keys, doc["data"].as_object()) {
                    match name {
                        DocName::Event => keys.check_event(data, &doc["filled"]),
                        _ => keys.check_page(data, &doc["filled"]),
                    }
                    .map_err(PutError::Invalid)?;
                }
                for cols in events {
                    self.event(tx, &run, &stream, descriptor, cols).await?;
                }
                Ok(run)
            }
            Header::Resource {
                uid,
                run_start: run,
            }
            | Header::StreamResource {
                uid,
                run_start: run,
            } => {
                self.keep(tx, run, name, Some(uid), doc).await?;
                self.resources.insert(uid.clone(), run.clone());
                Ok(run.clone())
            }
            Header::Datum { datum_id, resource } => {
                let run = self.resource_run(tx, resource).await?;
                self.keep(tx, &run, name, Some(datum_id), doc).await?;
                Ok(run)
            }
            Header::DatumPage { resource } => {
                let run = self.resource_run(tx, resource).await?;
                self.keep(tx, &run, name, None, doc).await?;
                Ok(run)
            }
            Header::StreamDatum {
                uid,
                stream_resource,
            } => {
                let run = self.resource_run(tx, stream_resource).await?;
                self.keep(tx, &run, name, Some(uid), doc).await?;
                Ok(run)
            }
            Header::Stop {
                uid,
                run_start: run,
                time,
                exit_status,
            } => {
                self.cursor(tx, run).await?;
                sqlx::query("UPDATE runs SET time_stop = ?, exit_status = ? WHERE uid = ?")
                    .bind(time)
                    .bind(exit_status.as_str())
                    .bind(run)
                    .execute(&mut **tx)
                    .await?;
                self.keep(tx, run, name, Some(uid), doc).await?;
                if let Some(c) = self.runs.get_mut(run) {
                    c.closed = true;
                }
                Ok(run.clone())
            }
        }
    }

    async fn event(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        run: &str,
        stream: &str,
        descriptor: &str,
        cols: &EventCols,
    ) -> Result<(), PutError> {
        let seq = self.next_seq(tx, run).await?;
        self.pending.push(EventRow {
            descriptor: descriptor.to_string(),
            seq_num: cols.seq_num,
            run_seq: seq,
            uid: cols.uid.clone(),
            time: cols.time,
            data: cols.data.clone(),
            arrays: cols.arrays.clone(),
            timestamps: cols.timestamps.clone(),
            filled: cols.filled.clone(),
        });
        if self.careful || self.pending.len() >= EVENTS_PER_INSERT {
            self.flush_events(tx).await?;
        }
        let c = self.cursor(tx, run).await?;
        *c.num_events.entry(stream.to_string()).or_default() += 1;
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
