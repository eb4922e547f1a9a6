//! Runs as `/api/runs` lists them and `/api/runs/{uid}` describes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One run: what its start and stop documents said, and its events per stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub uid: String,
    /// The execution (queue item) that made it; `null` for documents from a publisher.
    #[serde(default)]
    pub dispatch_uid: Option<String>,
    #[serde(default)]
    pub plan_name: String,
    #[serde(default)]
    pub scan_id: Option<i64>,
    pub time_start: f64,
    /// `null` while the run is open.
    #[serde(default)]
    pub time_stop: Option<f64>,
    /// `success`, `abort`, `fail`; `null` while the run is open.
    #[serde(default)]
    pub exit_status: Option<String>,
    /// Events per stream (`{"primary": 10}`).
    #[serde(default)]
    pub num_events: BTreeMap<String, u64>,
}

impl RunSummary {
    pub fn events(&self) -> u64 {
        self.num_events.values().sum()
    }
}

/// A stream of a run, as `/api/runs/{uid}` describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub name: String,
    pub descriptor_uid: String,
    #[serde(default)]
    pub data_keys: Map<String, Value>,
    #[serde(default)]
    pub hints: Value,
}
