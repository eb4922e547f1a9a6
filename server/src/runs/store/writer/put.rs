//! Filing one document inside the writer's transaction: the references it names resolved
//! through the writer's caches (reloaded from the database), its `seq` in the run, its rows.

use std::collections::HashMap;
use std::sync::Arc;

use hutch_app::model::docs::{DocName, Header};
use serde_json::Value;
use sqlx::{Sqlite, Transaction};

use super::{Descriptor, EventRow, PutError, RunCursor, Writer, EVENTS_PER_INSERT};
use crate::runs::conform::Keys;
use crate::runs::store::EventCols;

impl Writer {
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
    pub(super) async fn put(
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
