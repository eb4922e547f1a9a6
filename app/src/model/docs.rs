//! Bluesky documents: their names, as one type for the store, the feed, the browser and the CLI.
//!
//! A document arrives as `[name, doc]`; the name is parsed once, at ingest, into a [`DocName`]
//! and travels typed from there (the document itself stays JSON: its fields are event-model's,
//! checked by the server's `runs::validate`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
}
