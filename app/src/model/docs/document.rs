//! The documents themselves, typed: the fields hutch reads are typed fields, and every other key
//! a publisher sent is kept in `rest` (a flattened map), so serialising a document gives back
//! what came (the order of keys aside).
//!
//! Parsing is lenient where event-model is: optional fields default. What a document must hold to
//! be stored is checked once, at ingest, by the server's `runs::validate` (which also yields the
//! [`super::Header`]); these types are for the code that reads documents: the browser's run data
//! and plots, the replay pager, the simulated RunEngine that writes them.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::page::{Event, EventPage};
use super::{DocName, ExitStatus};

/// Keys a document type does not name.
pub type Rest = Map<String, Value>;

/// A field whose value is only read when it has the expected type: any other value reads as the
/// default (a descriptor with odd hints still describes its stream).
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// A run's first document. What bluesky's plans add by convention (`motors`, `num_points`,
/// `shape`) is read from `rest` by the methods below, so that a publisher's own use of those
/// keys never makes the start unreadable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Start {
    pub uid: String,
    pub time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<i64>,
    #[serde(flatten)]
    pub rest: Rest,
}

impl Start {
    fn strings(&self, key: &str) -> Vec<String> {
        self.rest
            .get(key)
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|m| m.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The motors a scan moves, for a plot's default x axis.
    pub fn motors(&self) -> Vec<String> {
        self.strings("motors")
    }

    pub fn detectors(&self) -> Vec<String> {
        self.strings("detectors")
    }

    /// Points the plan will take, when it says.
    pub fn num_points(&self) -> Option<u64> {
        self.rest.get("num_points").and_then(Value::as_u64)
    }

    /// `[rows, cols]` of a grid scan.
    pub fn grid_shape(&self) -> Option<(usize, usize)> {
        match self.rest.get("shape").and_then(Value::as_array)?.as_slice() {
            [r, c] => Some((
                usize::try_from(r.as_u64()?).ok()?,
                usize::try_from(c.as_u64()?).ok()?,
            )),
            _ => None,
        }
    }
}

/// One field of a stream, as its descriptor describes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataKey {
    /// `number`, `integer`, `boolean`, `string` or `array`.
    #[serde(default)]
    pub dtype: String,
    /// Empty for a scalar; `null` entries are lengths not known in advance.
    #[serde(default, deserialize_with = "lenient")]
    pub shape: Vec<Option<u64>>,
    #[serde(default)]
    pub source: String,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub units: Option<String>,
    /// Set when the values are stored outside the events (`"FILESTORE:"`, `"STREAM:"`).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub external: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

impl DataKey {
    /// A number per event (not an array, not external).
    pub fn is_scalar_number(&self) -> bool {
        self.shape.is_empty() && matches!(self.dtype.as_str(), "number" | "integer" | "boolean")
    }
}

/// The fields a device hints at (`hints.<device>.fields`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hint {
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    pub uid: String,
    pub run_start: String,
    #[serde(default)]
    pub time: f64,
    /// The stream (`primary`, `baseline`, …).
    #[serde(default = "primary")]
    pub name: String,
    #[serde(default)]
    pub data_keys: BTreeMap<String, DataKey>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub hints: BTreeMap<String, Hint>,
    #[serde(flatten)]
    pub rest: Rest,
}

fn primary() -> String {
    "primary".into()
}

impl Descriptor {
    /// Detector fields the hints name, in order.
    pub fn hinted(&self) -> Vec<String> {
        self.hints
            .values()
            .flat_map(|h| h.fields.iter().cloned())
            .collect()
    }
}

/// Data written outside the documents (a file per detector, ophyd's `AreaDetector`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_start: Option<String>,
    #[serde(default)]
    pub spec: String,
    #[serde(default)]
    pub root: String,
    #[serde(default)]
    pub resource_path: String,
    #[serde(default)]
    pub resource_kwargs: Map<String, Value>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// Where in a resource one reading is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Datum {
    pub datum_id: String,
    pub resource: String,
    #[serde(default)]
    pub datum_kwargs: Map<String, Value>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DatumPage {
    pub resource: String,
    pub datum_id: Vec<String>,
    #[serde(default)]
    pub datum_kwargs: BTreeMap<String, Vec<Value>>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// An ophyd-async detector's file (event-model ≥ 1.20: `data_key`, `uri`, `parameters`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamResource {
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// A half-open range `[start, stop)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub start: u64,
    pub stop: u64,
}

/// Which frames of a stream resource belong to which events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamDatum {
    pub uid: String,
    pub stream_resource: String,
    #[serde(default)]
    pub descriptor: String,
    #[serde(default)]
    pub indices: Range,
    #[serde(default)]
    pub seq_nums: Range,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    pub uid: String,
    pub run_start: String,
    pub time: f64,
    pub exit_status: ExitStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Events per stream.
    #[serde(default)]
    pub num_events: BTreeMap<String, u64>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// Any document, by its name.
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    Start(Start),
    Descriptor(Descriptor),
    Event(Event),
    EventPage(EventPage),
    Resource(Resource),
    Datum(Datum),
    DatumPage(DatumPage),
    StreamResource(StreamResource),
    StreamDatum(StreamDatum),
    Stop(Stop),
}

impl Document {
    /// Reads `doc` as a document of type `name`.
    pub fn from_value(name: DocName, doc: Value) -> Result<Document, serde_json::Error> {
        use serde_json::from_value as read;
        Ok(match name {
            DocName::Start => Document::Start(read(doc)?),
            DocName::Descriptor => Document::Descriptor(read(doc)?),
            DocName::Event => Document::Event(read(doc)?),
            DocName::EventPage => Document::EventPage(read(doc)?),
            DocName::Resource => Document::Resource(read(doc)?),
            DocName::Datum => Document::Datum(read(doc)?),
            DocName::DatumPage => Document::DatumPage(read(doc)?),
            DocName::StreamResource => Document::StreamResource(read(doc)?),
            DocName::StreamDatum => Document::StreamDatum(read(doc)?),
            DocName::Stop => Document::Stop(read(doc)?),
        })
    }

    pub fn name(&self) -> DocName {
        match self {
            Document::Start(_) => DocName::Start,
            Document::Descriptor(_) => DocName::Descriptor,
            Document::Event(_) => DocName::Event,
            Document::EventPage(_) => DocName::EventPage,
            Document::Resource(_) => DocName::Resource,
            Document::Datum(_) => DocName::Datum,
            Document::DatumPage(_) => DocName::DatumPage,
            Document::StreamResource(_) => DocName::StreamResource,
            Document::StreamDatum(_) => DocName::StreamDatum,
            Document::Stop(_) => DocName::Stop,
        }
    }

    /// The document as JSON (what goes on the wire after its name).
    pub fn to_value(&self) -> Value {
        let v = match self {
            Document::Start(d) => serde_json::to_value(d),
            Document::Descriptor(d) => serde_json::to_value(d),
            Document::Event(d) => serde_json::to_value(d),
            Document::EventPage(d) => serde_json::to_value(d),
            Document::Resource(d) => serde_json::to_value(d),
            Document::Datum(d) => serde_json::to_value(d),
            Document::DatumPage(d) => serde_json::to_value(d),
            Document::StreamResource(d) => serde_json::to_value(d),
            Document::StreamDatum(d) => serde_json::to_value(d),
            Document::Stop(d) => serde_json::to_value(d),
        };
        // These types hold only strings, numbers and maps with string keys: infallible.
        v.unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every document a real RunEngine wrote (the server's fixtures) reads as its type and
    /// writes back as it came: nothing is lost in `rest`.
    #[test]
    fn recorded_documents_round_trip_through_their_types() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../server/tests/fixtures/bluesky-docs/all.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("fixture");
        let mut seen = std::collections::BTreeSet::new();
        for line in text.lines() {
            let (name, doc): (DocName, Value) = serde_json::from_str(line).expect("[name, doc]");
            let typed = Document::from_value(name, doc.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}: {doc}"));
            assert_eq!(typed.name(), name);
            assert_eq!(typed.to_value(), doc, "{name} changed on the way");
            seen.insert(name);
        }
        assert!(seen.len() >= 6, "the fixture has most kinds: {seen:?}");
    }

    #[test]
    fn a_descriptor_reads_its_keys_hints_and_default_stream() {
        let d: Descriptor = serde_json::from_value(serde_json::json!({"uid": "d", "run_start": "s",
            "data_keys": {"det": {"dtype": "number", "shape": [], "source": "SIM:det", "units": "cts"},
                          "img": {"dtype": "array", "shape": [10, null], "source": "x", "external": "FILESTORE:"}},
            "hints": {"det": {"fields": ["det"]}}}))
        .unwrap();
        assert_eq!(d.name, "primary");
        assert!(d.data_keys["det"].is_scalar_number() && !d.data_keys["img"].is_scalar_number());
        assert_eq!(d.data_keys["img"].shape, [Some(10), None]);
        assert_eq!(d.hinted(), ["det"]);
    }
}
