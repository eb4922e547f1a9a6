//! The event-model rules a document must follow before it is stored, checked without IO.
//!
//! This covers what one document can be checked for on its own: the document type is known, the
//! keys event-model requires are present and have the right JSON types, and paged documents have
//! columns of one length. What needs the database — references resolving (descriptor → start,
//! event → descriptor, datum → resource) and uids being unique — is checked by the writer in the
//! same transaction that stores the batch (see [`super::store`]).

use hutch_app::model::docs::{DocName, Header};
use serde_json::Value;

/// A batch parsed from a request: `[name, doc]` or `[[name, doc], ...]`.
pub fn parse_batch(body: Value) -> Result<Vec<(String, Value)>, String> {
    const SHAPE: &str = "send one [name, doc] pair or a list of them, e.g. [[\"start\", {\"uid\": \"…\", \"time\": 1.0}]]";
    let Value::Array(items) = body else {
        return Err(format!("the body must be a JSON array; {SHAPE}"));
    };
    if items.first().is_some_and(Value::is_string) {
        return pair(Value::Array(items))
            .map(|p| vec![p])
            .map_err(|e| format!("{e}; {SHAPE}"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| pair(item).map_err(|e| format!("item {i}: {e}; {SHAPE}")))
        .collect()
}

fn pair(item: Value) -> Result<(String, Value), String> {
    match item {
        Value::Array(mut v) if v.len() == 2 => {
            let doc = v.pop().expect("two elements");
            match v.pop() {
                Some(Value::String(name)) => Ok((name, doc)),
                _ => Err("the first element of a pair must be the document name".into()),
            }
        }
        _ => Err("each document must be a two-element array [name, doc]".into()),
    }
}

/// Checks one document and returns its [`Header`] (its name and the fields that place it,
/// typed); the error says what to fix.
pub fn check(name: &str, doc: &Value) -> Result<Header, String> {
    let name: DocName = name
        .parse()
        .map_err(|e: hutch_app::model::docs::UnknownDoc| e.to_string())?;
    let Some(obj) = doc.as_object() else {
        return Err("the document must be a JSON object".into());
    };
    let d = Doc(obj);
    let owned = |s: &str| s.to_string();
    Ok(match name {
        DocName::Start => Header::Start {
            uid: d.string("uid").map(owned)?,
            time: d.number("time")?,
            scan_id: d.optional("scan_id", Value::as_i64, "an integer")?,
            plan_name: d
                .optional("plan_name", Value::as_str, "a string")?
                .map(owned),
        },
        DocName::Descriptor => {
            let (uid, run_start) = (d.string("uid")?, d.string("run_start")?);
            d.number("time")?;
            let stream = d.optional("name", Value::as_str, "a string")?;
            let header = Header::Descriptor {
                uid: owned(uid),
                run_start: owned(run_start),
                stream: owned(stream.unwrap_or("primary")),
            };
            for (key, spec) in d.object("data_keys")? {
                data_key(key, spec)?;
            }
            header
        }
        DocName::Event => {
            d.string("uid")?;
            let descriptor = d.string("descriptor").map(owned)?;
            d.number("time")?;
            d.integer("seq_num")?;
            let data = d.object("data")?;
            let stamps = d.object("timestamps")?;
            if let Some(k) = data.keys().find(|k| !stamps.contains_key(*k)) {
                return Err(format!("'timestamps' has no entry for data key '{k}'"));
            }
            d.optional("filled", Value::as_object, "an object")?;
            Header::Event { descriptor }
        }
        DocName::EventPage => {
            let descriptor = d.string("descriptor").map(owned)?;
            let n = d.list("uid", Value::is_string, "strings")?;
            d.same_len("time", n, Value::is_number, "numbers")?;
            d.same_len("seq_num", n, Value::is_i64, "integers")?;
            for what in ["data", "timestamps"] {
                for (k, col) in d.object(what)? {
                    let col = col.as_array().ok_or_else(|| {
                        format!("'{what}.{k}' must be a list (one value per event)")
                    })?;
                    if col.len() != n {
                        return Err(format!(
                            "'{what}.{k}' has {} values but there are {n} events",
                            col.len()
                        ));
                    }
                }
            }
            Header::EventPage {
                descriptor,
                count: n,
            }
        }
        DocName::Resource => {
            let uid = d.string("uid").map(owned)?;
            d.string("spec")?;
            d.string("resource_path")?;
            d.object("resource_kwargs")?;
            d.optional("root", Value::as_str, "a string")?;
            Header::Resource {
                uid,
                run_start: run_of(&d)?,
            }
        }
        DocName::Datum => {
            let header = Header::Datum {
                datum_id: d.string("datum_id").map(owned)?,
                resource: d.string("resource").map(owned)?,
            };
            d.object("datum_kwargs")?;
            header
        }
        DocName::DatumPage => {
            let resource = d.string("resource").map(owned)?;
            let n = d.list("datum_id", Value::is_string, "strings")?;
            for (k, col) in d.object("datum_kwargs")? {
                if col.as_array().is_none_or(|c| c.len() != n) {
                    return Err(format!(
                        "'datum_kwargs.{k}' must be a list of {n} values, one per datum_id"
                    ));
                }
            }
            Header::DatumPage { resource }
        }
        DocName::StreamResource => {
            // ophyd-async's externally stored data (event-model 1.19+): where the frames are.
            let uid = d.string("uid").map(owned)?;
            d.string("data_key")?;
            d.optional("uri", Value::as_str, "a string")?;
            d.optional("mimetype", Value::as_str, "a string")?;
            d.optional("parameters", Value::as_object, "an object")?;
            Header::StreamResource {
                uid,
                run_start: run_of(&d)?,
            }
        }
        DocName::StreamDatum => {
            let uid = d.string("uid").map(owned)?;
            let stream_resource = d.string("stream_resource").map(owned)?;
            d.string("descriptor")?;
            d.object("indices")?;
            d.object("seq_nums")?;
            Header::StreamDatum {
                uid,
                stream_resource,
            }
        }
        DocName::Stop => {
            let uid = d.string("uid").map(owned)?;
            let run_start = d.string("run_start").map(owned)?;
            let time = d.number("time")?;
            let status = d.string("exit_status")?;
            let exit_status = status.parse().map_err(|()| {
                format!("'exit_status' must be success, abort or fail, not '{status}'")
            })?;
            d.optional("reason", Value::as_str, "a string")?;
            d.optional("num_events", Value::as_object, "an object")?;
            Header::Stop {
                uid,
                run_start,
                time,
                exit_status,
            }
        }
    })
}

/// A resource's run: optional in event-model, but hutch files resources under their run.
fn run_of(d: &Doc<'_>) -> Result<String, String> {
    d.string("run_start")
        .map(str::to_string)
        .map_err(|e| format!("{e} (hutch needs it to know the run)"))
}

fn data_key(key: &str, spec: &Value) -> Result<(), String> {
    let Some(spec) = spec.as_object() else {
        return Err(format!("'data_keys.{key}' must be an object"));
    };
    let dtype = spec
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("'data_keys.{key}.dtype' is missing or not a string"))?;
    const DTYPES: [&str; 5] = ["string", "number", "array", "boolean", "integer"];
    if !DTYPES.contains(&dtype) {
        return Err(format!(
            "'data_keys.{key}.dtype' must be one of {}, not '{dtype}'",
            DTYPES.join(", ")
        ));
    }
    if !spec.get("source").is_some_and(Value::is_string) {
        return Err(format!(
            "'data_keys.{key}.source' is missing or not a string"
        ));
    }
    let shape_ok = spec
        .get("shape")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().all(|d| d.is_u64() || d.is_null()));
    if !shape_ok {
        return Err(format!(
            "'data_keys.{key}.shape' must be a list of dimension sizes ([] for a scalar)"
        ));
    }
    Ok(())
}

struct Doc<'a>(&'a serde_json::Map<String, Value>);

impl<'a> Doc<'a> {
    fn get(&self, key: &str, what: &str) -> Result<&'a Value, String> {
        self.0
            .get(key)
            .ok_or_else(|| format!("'{key}' is missing (it must be {what})"))
    }

    fn string(&self, key: &str) -> Result<&'a str, String> {
        self.get(key, "a string")?
            .as_str()
            .ok_or_else(|| format!("'{key}' must be a string"))
    }

    fn number(&self, key: &str) -> Result<f64, String> {
        self.get(key, "a number")?
            .as_f64()
            .ok_or_else(|| format!("'{key}' must be a number"))
    }

    fn integer(&self, key: &str) -> Result<i64, String> {
        self.get(key, "an integer")?
            .as_i64()
            .ok_or_else(|| format!("'{key}' must be an integer"))
    }

    fn object(&self, key: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
        self.get(key, "an object")?
            .as_object()
            .ok_or_else(|| format!("'{key}' must be an object"))
    }

    fn list(&self, key: &str, ok: fn(&Value) -> bool, what: &str) -> Result<usize, String> {
        let list = self
            .get(key, "a list")?
            .as_array()
            .filter(|l| l.iter().all(ok))
            .ok_or_else(|| format!("'{key}' must be a list of {what}"))?;
        Ok(list.len())
    }

    fn same_len(
        &self,
        key: &str,
        n: usize,
        ok: fn(&Value) -> bool,
        what: &str,
    ) -> Result<(), String> {
        let len = self.list(key, ok, what)?;
        if len != n {
            return Err(format!("'{key}' has {len} values but 'uid' has {n}"));
        }
        Ok(())
    }

    /// An optional key: absent or null is `None`; otherwise `read` must accept it.
    fn optional<T>(
        &self,
        key: &str,
        read: fn(&'a Value) -> Option<T>,
        what: &str,
    ) -> Result<Option<T>, String> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => read(v)
                .map(Some)
                .ok_or_else(|| format!("'{key}' must be {what}")),
        }
    }
}

// The fuzz crate compiles this file through `#[path]`, where a plain `mod tests;` would be looked
// for beside it (server/src/runs/tests.rs); this path resolves from both crates.
#[cfg(test)]
#[path = "validate/tests.rs"]
mod tests;
