//! Bluesky documents: their names, as one type for the store, the feed, the browser and the CLI.
//!
//! A document arrives as `[name, doc]`; the name is parsed once, at ingest, into a [`DocName`]
//! and travels typed from there. The server's `runs::validate` checks the document against
//! event-model's rules and returns its [`Header`]: the fields that place it in its run, typed, so
//! the store files it without reading the JSON again. The document itself is stored and streamed
//! as the JSON it came as, so that nothing a publisher added is lost; code that reads documents
//! reads them as a [`Document`] (typed fields, the rest kept), and pages of events are packed and
//! unpacked by [`EventPage`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

// The path is spelled out because server/fuzz compiles this file by `#[path]`, where a plain
// `mod` would be looked up beside the file instead of in its folder.
#[path = "docs/document.rs"]
mod document;
#[path = "docs/page.rs"]
mod page;

pub use document::{
    DataKey, Datum, DatumPage, Descriptor, Document, Hint, Range, Resource, Rest, Start, Stop,
    StreamDatum, StreamResource,
};
pub use page::{Event, EventPage};

/// The event-model document types hutch stores and streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocName {
    Start,
    Descriptor,
    Event,
    EventPage,
    Resource,
    Datum,
    DatumPage,
    StreamResource,
    StreamDatum,
    Stop,
}

impl DocName {
    pub const ALL: [DocName; 10] = [
        DocName::Start,
        DocName::Descriptor,
        DocName::Event,
        DocName::EventPage,
        DocName::Resource,
        DocName::Datum,
        DocName::DatumPage,
        DocName::StreamResource,
        DocName::StreamDatum,
        DocName::Stop,
    ];

    /// The name on the wire (`"event_page"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DocName::Start => "start",
            DocName::Descriptor => "descriptor",
            DocName::Event => "event",
            DocName::EventPage => "event_page",
            DocName::Resource => "resource",
            DocName::Datum => "datum",
            DocName::DatumPage => "datum_page",
            DocName::StreamResource => "stream_resource",
            DocName::StreamDatum => "stream_datum",
            DocName::Stop => "stop",
        }
    }

    /// An event or a page of them: the documents that carry readings.
    pub fn is_event(self) -> bool {
        matches!(self, DocName::Event | DocName::EventPage)
    }
}

impl fmt::Display for DocName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown document name; the message lists the known ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDoc(pub String);

impl fmt::Display for UnknownDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = DocName::ALL.iter().map(|d| d.as_str()).collect();
        write!(
            f,
            "unknown document type '{}'; expected one of {}",
            self.0,
            known.join(", ")
        )
    }
}

impl FromStr for DocName {
    type Err = UnknownDoc;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocName::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDoc(s.chars().take(64).collect()))
    }
}

/// How a run ended (a stop document's `exit_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Success,
    Abort,
    Fail,
}

impl ExitStatus {
    pub const ALL: [ExitStatus; 3] = [ExitStatus::Success, ExitStatus::Abort, ExitStatus::Fail];

    pub fn as_str(self) -> &'static str {
        match self {
            ExitStatus::Success => "success",
            ExitStatus::Abort => "abort",
            ExitStatus::Fail => "fail",
        }
    }
}

impl FromStr for ExitStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ExitStatus::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or(())
    }
}

/// What places a checked document: its own uid and the document it refers to (and for a start
/// or stop, what the run list shows), one variant per [`DocName`].
#[derive(Clone, Debug, PartialEq)]
pub enum Header {
    Start {
        uid: String,
        time: f64,
        plan_name: Option<String>,
        scan_id: Option<i64>,
    },
    Descriptor {
        uid: String,
        run_start: String,
        /// The stream's name (`name`; event-model's default is `primary`).
        stream: String,
    },
    Event {
        descriptor: String,
    },
    /// `count` events.
    EventPage {
        descriptor: String,
        count: usize,
    },
    Resource {
        uid: String,
        run_start: String,
    },
    Datum {
        datum_id: String,
        resource: String,
    },
    DatumPage {
        resource: String,
    },
    StreamResource {
        uid: String,
        run_start: String,
    },
    StreamDatum {
        uid: String,
        stream_resource: String,
    },
    Stop {
        uid: String,
        run_start: String,
        time: f64,
        exit_status: ExitStatus,
    },
}

impl Header {
    pub fn name(&self) -> DocName {
        match self {
            Header::Start { .. } => DocName::Start,
            Header::Descriptor { .. } => DocName::Descriptor,
            Header::Event { .. } => DocName::Event,
            Header::EventPage { .. } => DocName::EventPage,
            Header::Resource { .. } => DocName::Resource,
            Header::Datum { .. } => DocName::Datum,
            Header::DatumPage { .. } => DocName::DatumPage,
            Header::StreamResource { .. } => DocName::StreamResource,
            Header::StreamDatum { .. } => DocName::StreamDatum,
            Header::Stop { .. } => DocName::Stop,
        }
    }

    /// The events the document carries: a page's count, one for an event, none otherwise.
    pub fn events(&self) -> usize {
        match self {
            Header::Event { .. } => 1,
            Header::EventPage { count, .. } => *count,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for d in DocName::ALL {
            assert_eq!(d.as_str().parse::<DocName>(), Ok(d));
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
        let e = "events".parse::<DocName>().unwrap_err().to_string();
        assert!(
            e.contains("'events'") && e.contains("event_page, resource"),
            "{e}"
        );
        assert!(DocName::EventPage.is_event() && !DocName::Datum.is_event());
    }

    #[test]
    fn exit_statuses_round_trip() {
        for e in ExitStatus::ALL {
            assert_eq!(e.as_str().parse::<ExitStatus>(), Ok(e));
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
        assert!("aborted".parse::<ExitStatus>().is_err());
    }
}
