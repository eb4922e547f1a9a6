//! The storage path for documents. One writer task owns the write side: producers send batches
//! over a bounded channel (so a slow disk slows producers down instead of dropping data), the
//! task coalesces what is waiting into one transaction and acknowledges each batch once its
//! transaction committed. Committed documents then go, in order, to the live feed that fans
//! them out to `/api/stream` (see [`crate::stream::feed`]).

use hutch_app::model::docs::{DocName, Event, Header};
use serde_json::{Map, Value};

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// Documents waiting to be written, at most.
const QUEUE: usize = 64;
/// Documents written in one transaction, at most.
const MAX_DOCS_PER_TX: usize = 20_000;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("document {index} ({name}): {reason}")]
    Invalid {
        index: usize,
        name: String,
        reason: String,
    },
    #[error("the database refused the documents: {0}")]
    Database(String),
    #[error("the document store has stopped; restart hutch")]
    Gone,
    /// A multi-row insert failed; which document is found by writing the batch again row by row.
    #[error("a document of the batch: {0}")]
    Unplaced(String),
}

/// A document as committed: its run, its seq there (the first event's for a page), and itself.
#[derive(Debug)]
pub struct Stored {
    pub run: String,
    pub seq: u64,
    /// What places the document (its name, and for a start or stop what the run list shows).
    pub header: Header,
    pub doc: Value,
}

struct Batch {
    /// Each document with its header, the fields that place it (from [`super::validate::check`]).
    docs: Vec<(Header, Value)>,
    /// Per document, its events' columns, made by the sender (see [`prepare`]).
    events: Vec<Vec<EventCols>>,
    /// The dispatch the runs of this batch belong to (documents from the worker).
    dispatch_uid: Option<String>,
    ack: Option<oneshot::Sender<Result<usize, StoreError>>>,
}

/// Cheap to clone; sends documents to the writer task.
#[derive(Clone)]
pub struct DocWriter {
    tx: mpsc::Sender<Batch>,
}

impl DocWriter {
    /// Stores documents and waits until they are committed.
    pub async fn store(
        &self,
        docs: Vec<(String, Value)>,
        dispatch_uid: Option<String>,
    ) -> Result<usize, StoreError> {
        let (docs, events) = prepare(docs)?;
        let (ack, rx) = oneshot::channel();
        self.tx
            .send(Batch {
                docs,
                events,
                dispatch_uid,
                ack: Some(ack),
            })
            .await
            .map_err(|_| StoreError::Gone)?;
        rx.await.map_err(|_| StoreError::Gone)?
    }

    /// Queues documents in order and returns at once with the receiver of their outcome, so a
    /// publisher can have several batches in flight (the WebSocket ingest does).
    pub async fn submit(
        &self,
        docs: Vec<(String, Value)>,
    ) -> Result<oneshot::Receiver<Result<usize, StoreError>>, StoreError> {
        let (docs, events) = prepare(docs)?;
        let (ack, rx) = oneshot::channel();
        self.tx
            .send(Batch {
                docs,
                events,
                dispatch_uid: None,
                ack: Some(ack),
            })
            .await
            .map_err(|_| StoreError::Gone)?;
        Ok(rx)
    }

    /// Waits until everything sent before is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store(Vec::new(), None).await.map(|_| ())
    }

    /// Queues documents without waiting for the commit (the worker's stream; errors are logged).
    pub async fn send(
        &self,
        docs: Vec<(String, Value)>,
        dispatch_uid: Option<String>,
    ) -> Result<(), StoreError> {
        let (docs, events) = prepare(docs)?;
        self.tx
            .send(Batch {
                docs,
                events,
                dispatch_uid,
                ack: None,
            })
            .await
            .map_err(|_| StoreError::Gone)
    }
}

mod writer;

/// Starts the writer task; committed documents are sent to `feed` (if any), in commit order.
pub fn start(pool: SqlitePool, feed: Option<mpsc::Sender<Vec<Stored>>>) -> DocWriter {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(writer::Writer::new(pool, feed).run(rx));
    DocWriter { tx }
}

/// An event's columns, serialised before the batch reaches the writer: the writer is one task,
/// the senders are many (and run on the other core), so the writer only writes.
#[derive(Debug)]
struct EventCols {
    uid: String,
    time: f64,
    seq_num: i64,
    data: String,
    arrays: Option<Vec<u8>>,
    timestamps: String,
    filled: String,
}

fn event_cols(e: &Event) -> EventCols {
    let (data, arrays) = super::arrays::pack(&e.data);
    EventCols {
        uid: e.uid.clone(),
        time: e.time,
        seq_num: e.seq_num,
        data,
        arrays,
        timestamps: json_text(&e.timestamps),
        filled: json_text(&e.filled),
    }
}

fn json_text(m: &Map<String, Value>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// Validates a batch by the event-model rules and serialises its events' columns.
/// The documents come out with their [`Header`]s: from here on a document's type and links are
/// typed.
#[allow(clippy::type_complexity)]
fn prepare(
    docs: Vec<(String, Value)>,
) -> Result<(Vec<(Header, Value)>, Vec<Vec<EventCols>>), StoreError> {
    let mut typed = Vec::with_capacity(docs.len());
    let mut events = Vec::with_capacity(docs.len());
    for (index, (name, doc)) in docs.into_iter().enumerate() {
        let header = super::validate::check(&name, &doc).map_err(|reason| StoreError::Invalid {
            index,
            name: name.chars().take(64).collect(),
            reason,
        })?;
        events.push(match header.name() {
            DocName::Event => super::pages::event(&doc).iter().map(event_cols).collect(),
            DocName::EventPage => super::pages::unpage(&doc).iter().map(event_cols).collect(),
            _ => Vec::new(),
        });
        typed.push((header, doc));
    }
    Ok((typed, events))
}
