//! The `/api/stream` WebSocket protocol: what clients send and what the server answers.
//!
//! One socket carries many topics. The server's first frame is [`ServerMessage::Hello`] with the
//! protocol version. A client subscribes to topics; for each it gets `subscribed`, then a
//! `snapshot` of the topic's current state, then `update`s. Every topic frame carries the topic
//! name and that topic's `seq`, which grows by one with every change, so a client can tell whether
//! it missed something. A client that fell too far behind gets a `gap` and then a fresh snapshot.
//!
//! Run topics (`run:<uid>`) differ in one way: their `seq` counts the run's *documents*, so an
//! `update` carrying an `event_page` of 40 events advances it by 40. A client subscribes with
//! `since: {"run:<uid>": n}` to receive the run from its document `n` on (0, the default, is the
//! whole run); the server replays what is stored and continues live without a hole or a repeat.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Bumped whenever a change to these messages would break an existing client.
pub const PROTOCOL_VERSION: u32 = 1;

/// A topic a client can subscribe to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// The server status (the same dictionary as `/api/status`), pushed on change, with heartbeats.
    Status,
    /// The plan queue: a snapshot `{items, running_item, plan_queue_uid}`, then [`QueueDelta`]s.
    Queue,
    /// History: a snapshot `{items, plan_history_uid}`, then [`HistoryDelta`]s.
    History,
    /// Console lines `{time, msg}` as they are written (no snapshot; `/api/console_output` has the past).
    Console,
    /// Runs opening and closing: a snapshot `{open: [run]}`, then `{op: "opened"|"closed", run}`.
    Runs,
    /// One run's documents as `{name, doc}` (events batched into `event_page`s), from its start.
    Run(String),
    /// Dataset changes.
    Datasets,
    /// Applet changes.
    Applets,
}

impl Topic {
    /// Every topic this server version offers, for the hello frame and error messages.
    /// (`run:<uid>` is offered for every run and so is not listed.)
    pub const ALL: &'static [Topic] = &[
        Topic::Status,
        Topic::Queue,
        Topic::History,
        Topic::Console,
        Topic::Runs,
        Topic::Datasets,
        Topic::Applets,
    ];

    /// The name of a fixed topic; `run` for run topics (see [`Topic::run_uid`]).
    pub fn as_str(&self) -> &str {
        match self {
            Topic::Status => "status",
            Topic::Queue => "queue",
            Topic::History => "history",
            Topic::Console => "console",
            Topic::Runs => "runs",
            Topic::Run(_) => "run",
            Topic::Datasets => "datasets",
            Topic::Applets => "applets",
        }
    }

    pub fn run_uid(&self) -> Option<&str> {
        match self {
            Topic::Run(uid) => Some(uid),
            _ => None,
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Run(uid) => write!(f, "run:{uid}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Why a topic name was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTopic(pub String);

impl fmt::Display for UnknownTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Topic::ALL.iter().map(Topic::as_str).collect();
        write!(
            f,
            "unknown topic '{}'; known topics: {}, run:<uid>",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownTopic {}

impl FromStr for Topic {
    type Err = UnknownTopic;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "status" => Ok(Topic::Status),
            "queue" => Ok(Topic::Queue),
            "history" => Ok(Topic::History),
            "console" => Ok(Topic::Console),
            "runs" => Ok(Topic::Runs),
            "datasets" => Ok(Topic::Datasets),
            "applets" => Ok(Topic::Applets),
            other => match other.strip_prefix("run:") {
                Some(uid) if !uid.is_empty() && uid.len() <= 128 => Ok(Topic::Run(uid.to_string())),
                _ => Err(UnknownTopic(other.to_string())),
            },
        }
    }
}

impl Serialize for Topic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One change of the queue, as the `queue` topic's `update` data. Applying the deltas in `seq`
/// order to the snapshot gives the current queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum QueueDelta {
    Insert {
        index: usize,
        item: Box<crate::model::queue::QueueItem>,
    },
    Remove {
        uid: String,
    },
    /// Take the item out and put it back at `index` of the resulting list.
    Move {
        uid: String,
        index: usize,
    },
    Replace {
        uid: String,
        item: Box<crate::model::queue::QueueItem>,
    },
    Clear,
    /// The running item changed (`None`: nothing runs).
    Running {
        item: Option<Box<crate::model::queue::QueueItem>>,
    },
}

/// One change of history, as the `history` topic's `update` data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HistoryDelta {
    Append {
        item: Box<crate::model::queue::QueueItem>,
    },
    /// The oldest `count` items were removed (history/clear).
    Trim { count: usize },
}

/// One change of the open runs, as the `runs` topic's `update` data (its snapshot is
/// `{open: [RunOpened]}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RunsDelta {
    /// The server (re)started: no run is open.
    Reset,
    /// A run's start document arrived.
    Opened { run: RunOpened },
    /// A run's stop document arrived.
    Closed { run: RunClosed },
}

/// A run as its start document announces it. Fields the document lacks (or gives in another
/// type) are `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOpened {
    pub uid: String,
    #[serde(default)]
    pub plan_name: Option<String>,
    #[serde(default)]
    pub scan_id: Option<i64>,
    #[serde(default)]
    pub time_start: Option<f64>,
}

/// A run as its stop document ends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunClosed {
    pub uid: String,
    #[serde(default)]
    pub exit_status: Option<String>,
    #[serde(default)]
    pub time_stop: Option<f64>,
    /// Events per stream.
    #[serde(default)]
    pub num_events: Option<BTreeMap<String, u64>>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Frames a client sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Start receiving these topics. `since` (topic → last seq seen) resumes run topics where
    /// the client left off; state topics (`status`, `queue`, …) resync with a snapshot instead.
    /// `options` tunes a topic, e.g. `{"run:<uid>": {"max_points": 2000}}` (see [`TopicOptions`]).
    Subscribe {
        topics: Vec<Topic>,
        #[serde(default)]
        since: BTreeMap<String, u64>,
        #[serde(default)]
        options: BTreeMap<String, TopicOptions>,
    },
    /// Stop receiving these topics.
    Unsubscribe { topics: Vec<Topic> },
}

/// How a run topic is delivered to a plot.
///
/// With `max_points`, events are not sent one by one: the server folds them into at most
/// `max_points / 2` buckets per stream, each with the minimum and maximum of every numeric scalar
/// field, and sends `{name: "decimated", doc: {...}}` updates at most `max_rate` times a second
/// (default 10). Other documents (start, descriptor, stop, …) are sent as usual.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_points: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate: Option<f64>,
}

/// One update of a run topic: a document by its name on the wire, or, named [`DECIMATED`], a
/// plot subscription's buckets ([`Decimated`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFrame {
    pub name: String,
    pub doc: serde_json::Value,
}

/// The name of a run topic's frames that carry [`Decimated`] buckets (not a bluesky document).
pub const DECIMATED: &str = "decimated";

/// The buckets of one stream that changed since a plot subscription's last update: the client
/// replaces its buckets from index `start` on. Every column has one value per bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Decimated {
    pub descriptor: String,
    /// Events per bucket (the newest bucket may hold fewer).
    pub width: u64,
    pub start: usize,
    /// The first event's of each bucket.
    pub seq_num: Vec<i64>,
    pub time: Vec<Option<f64>>,
    /// Events in each bucket.
    pub count: Vec<u64>,
    /// Per numeric field, each bucket's minimum and maximum (`null` where it had no number).
    pub data: BTreeMap<String, MinMax>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MinMax {
    pub min: Vec<Option<f64>>,
    pub max: Vec<Option<f64>>,
}

/// Frames the server sends. `data` is JSON whose shape depends on the topic
/// (`status`: [`crate::model::status::ServerStatus`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame on every connection.
    Hello {
        protocol: u32,
        server: String,
        topics: Vec<Topic>,
    },
    /// The subscription is active; frames with a larger `seq` follow.
    Subscribed {
        topic: Topic,
        seq: u64,
    },
    Unsubscribed {
        topic: Topic,
        seq: u64,
    },
    /// The topic's whole current state as of `seq`.
    Snapshot {
        topic: Topic,
        seq: u64,
        data: serde_json::Value,
    },
    /// A change; `seq` is exactly one more than the previous frame's of this topic.
    Update {
        topic: Topic,
        seq: u64,
        data: serde_json::Value,
    },
    /// Sent periodically so a client can tell a quiet server from a dead connection.
    Heartbeat {
        topic: Topic,
        seq: u64,
        time: String,
    },
    /// Frames of this topic were dropped because this client read too slowly; a snapshot follows.
    Gap {
        topic: Topic,
        seq: u64,
        msg: String,
    },
    /// The client sent something the server could not use; the connection stays open.
    Error {
        msg: String,
    },
}

/// One console line, as the `console` topic sends it (a snapshot is a list of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsoleLine {
    pub time: f64,
    pub msg: String,
}

#[cfg(test)]
mod tests;
