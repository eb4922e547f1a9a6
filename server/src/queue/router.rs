//! Where the worker's outputs go that are not the queue's business: documents to the storage
//! path, datasets and applets to their owners, lines to the console. The manager hands them
//! over with the executing dispatch (for provenance) and goes on; failures end up on the
//! console, since the plan that caused them cannot be answered.

use hutch_app::model::applets::AppletKind;
use hutch_app::model::datasets::DatasetMeta;
use serde_json::Value;

use crate::applets::{Applets, ExperimentOutcome};
use crate::console::Console;
use crate::datasets::{Datasets, SetRequest};
use crate::runs::store::{DocWriter, StoreError};
use crate::worker::protocol::FromWorker;

/// A worker message for the router rather than the queue.
#[derive(Debug)]
pub enum Output {
    Document {
        name: String,
        doc: Value,
    },
    Dataset {
        key: String,
        value: Value,
        persist: bool,
        unit: Option<String>,
    },
    Applet {
        group: String,
        name: String,
        kind: AppletKind,
        spec: Value,
        plan: String,
    },
    Log {
        msg: String,
    },
}

impl Output {
    /// The router's part of a worker message, or the message back for the queue.
    pub fn take(msg: FromWorker) -> Result<Output, FromWorker> {
        Ok(match msg {
            FromWorker::Document { name, doc } => Output::Document { name, doc },
            FromWorker::Dataset {
                key,
                value,
                persist,
                unit,
            } => Output::Dataset {
                key,
                value,
                persist,
                unit,
            },
            FromWorker::Applet {
                group,
                name,
                kind,
                spec,
                plan,
            } => Output::Applet {
                group,
                name,
                kind,
                spec,
                plan,
            },
            FromWorker::Log { msg } => Output::Log { msg },
            other => return Err(other),
        })
    }
}

/// The owners of the worker's outputs.
pub struct Router {
    pub docs: DocWriter,
    pub datasets: Datasets,
    pub applets: Applets,
    pub console: Console,
}

impl Router {
    /// Delivers `out`; `dispatch` is the executing item's dispatch, if any.
    pub async fn route(&self, out: Output, dispatch: Option<&str>, now: f64) {
        match out {
            Output::Log { msg } => {
                self.console.push(now, &msg);
            }
            Output::Document { name, doc } => {
                // Queued for the storage path, in order; a full queue makes the worker wait.
                if let Err(e) = self
                    .docs
                    .send(vec![(name, doc)], dispatch.map(String::from))
                    .await
                {
                    self.complain(
                        now,
                        &format!("a document from the worker was not stored: {e}"),
                    );
                }
            }
            Output::Dataset {
                key,
                value,
                persist,
                unit,
            } => {
                let by = dispatch.map_or_else(|| "worker".to_string(), |d| format!("dispatch:{d}"));
                let req = SetRequest {
                    value,
                    meta: unit.map(|unit| DatasetMeta {
                        unit: Some(unit),
                        ..Default::default()
                    }),
                    persist: Some(persist),
                };
                if let Err(e) = self.datasets.set(&key, req, &by).await {
                    self.console
                        .push(now, &format!("the plan could not set dataset '{key}': {e}"));
                }
            }
            Output::Applet {
                group,
                name,
                kind,
                spec,
                plan,
            } => {
                let by = format!("plan:{plan}");
                match self
                    .applets
                    .from_experiment(&group, &name, kind, spec, &by)
                    .await
                {
                    Ok(
                        ExperimentOutcome::Kept { msg, .. } | ExperimentOutcome::Ignored { msg },
                    ) => {
                        self.console
                            .push(now, &format!("applet not changed: {msg}"));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.console.push(
                            now,
                            &format!("the plan could not save applet '{name}': {e}"),
                        );
                    }
                }
            }
        }
    }

    /// Waits until every document handed over so far is stored.
    pub async fn flush_documents(&self) -> Result<(), StoreError> {
        self.docs.flush().await
    }

    fn complain(&self, now: f64, text: &str) {
        tracing::error!("{text}");
        self.console.push(now, text);
    }
}
