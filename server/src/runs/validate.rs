//! The event-model rules a document must follow before it is stored, checked without IO.
//!
//! This covers what one document can be checked for on its own: the document type is known, the
//! keys event-model requires are present and have the right JSON types, and paged documents have
//! columns of one length. What needs the database — references resolving (descriptor → start,
//! event → descriptor, datum → resource) and uids being unique — is checked by the writer in the
//! same transaction that stores the batch (see [`super::store`]).

use hutch_app::model::docs::DocName;
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

/// Checks one document and returns its parsed name; the error says what to fix.
pub fn check(name: &str, doc: &Value) -> Result<DocName, String> {
    let name: DocName = name
        .parse()
        .map_err(|e: hutch_app::model::docs::UnknownDoc| e.to_string())?;
    let Some(obj) = doc.as_object() else {
        return Err("the document must be a JSON object".into());
    };
    let d = Doc(obj);
    match name {
        DocName::Start => {
            d.string("uid")?;
            d.number("time")?;
            d.optional("scan_id", Value::is_i64, "an integer")?;
            d.optional("plan_name", Value::is_string, "a string")?;
        }
        DocName::Descriptor => {
            d.string("uid")?;
            d.string("run_start")?;
            d.number("time")?;
            d.optional("name", Value::is_string, "a string")?;
            for (key, spec) in d.object("data_keys")? {
                data_key(key, spec)?;
            }
        }
        DocName::Event => {
            d.string("uid")?;
            d.string("descriptor")?;
            d.number("time")?;
            d.integer("seq_num")?;
            let data = d.object("data")?;
            let stamps = d.object("timestamps")?;
            if let Some(k) = data.keys().find(|k| !stamps.contains_key(*k)) {
                return Err(format!("'timestamps' has no entry for data key '{k}'"));
            }
            d.optional("filled", Value::is_object, "an object")?;
        }
        DocName::EventPage => {
            d.string("descriptor")?;
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
        }
        DocName::Resource => {
            d.string("uid")?;
            d.string("spec")?;
            d.string("resource_path")?;
            d.object("resource_kwargs")?;
            d.optional("root", Value::is_string, "a string")?;
            // Optional in event-model, but hutch files resources under their run.
            d.string("run_start")
                .map_err(|e| format!("{e} (hutch needs it to know the run)"))?;
        }
        DocName::Datum => {
            d.string("datum_id")?;
            d.string("resource")?;
            d.object("datum_kwargs")?;
        }
        DocName::DatumPage => {
            d.string("resource")?;
            let n = d.list("datum_id", Value::is_string, "strings")?;
            for (k, col) in d.object("datum_kwargs")? {
                if col.as_array().is_none_or(|c| c.len() != n) {
                    return Err(format!(
                        "'datum_kwargs.{k}' must be a list of {n} values, one per datum_id"
                    ));
                }
            }
        }
        DocName::StreamResource => {
            // ophyd-async's externally stored data (event-model 1.19+): where the frames are.
            d.string("uid")?;
            d.string("data_key")?;
            d.optional("uri", Value::is_string, "a string")?;
            d.optional("mimetype", Value::is_string, "a string")?;
            d.optional("parameters", Value::is_object, "an object")?;
            d.string("run_start")
                .map_err(|e| format!("{e} (hutch needs it to know the run)"))?;
        }
        DocName::StreamDatum => {
            d.string("uid")?;
            d.string("stream_resource")?;
            d.string("descriptor")?;
            d.object("indices")?;
            d.object("seq_nums")?;
        }
        DocName::Stop => {
            d.string("uid")?;
            d.string("run_start")?;
            d.number("time")?;
            let status = d.string("exit_status")?;
            if !["success", "abort", "fail"].contains(&status) {
                return Err(format!(
                    "'exit_status' must be success, abort or fail, not '{status}'"
                ));
            }
            d.optional("reason", Value::is_string, "a string")?;
            d.optional("num_events", Value::is_object, "an object")?;
        }
    }
    Ok(name)
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

    fn optional(&self, key: &str, ok: fn(&Value) -> bool, what: &str) -> Result<(), String> {
        match self.0.get(key) {
            Some(v) if !v.is_null() && !ok(v) => Err(format!("'{key}' must be {what}")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixtures() -> Vec<(String, Value)> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bluesky-docs/all.jsonl"
        );
        let text = std::fs::read_to_string(dir).expect("server/tests/fixtures/bluesky-docs");
        text.lines()
            .map(|l| pair(serde_json::from_str(l).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn every_fixture_document_passes() {
        let docs = fixtures();
        assert!(docs.len() > 50);
        for (name, doc) in &docs {
            check(name, doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn bad_documents_are_named_precisely() {
        let event = json!({"uid": "e", "descriptor": "d", "time": 1.0, "seq_num": 1,
                           "data": {"x": 1}, "timestamps": {"x": 1.0}});
        assert_eq!(check("event", &event), Ok(DocName::Event));
        let cases = [
            ("event", json!({"descriptor": "d"}), "'uid' is missing"),
            ("event", json!({"uid": 5}), "'uid' must be a string"),
            (
                "event",
                {
                    let mut e = event.clone();
                    e["seq_num"] = json!("1");
                    e
                },
                "'seq_num' must be an integer",
            ),
            (
                "event",
                {
                    let mut e = event.clone();
                    e["timestamps"] = json!({});
                    e
                },
                "no entry for data key 'x'",
            ),
            ("start", json!({"uid": "s"}), "'time' is missing"),
            (
                "stop",
                json!({"uid": "s", "run_start": "r", "time": 1, "exit_status": "ok"}),
                "success, abort or fail",
            ),
            (
                "descriptor",
                json!({"uid": "d", "run_start": "r", "time": 1, "data_keys": {"x": {"dtype": "float", "source": "s", "shape": []}}}),
                "'data_keys.x.dtype' must be one of",
            ),
            (
                "event_page",
                json!({"descriptor": "d", "uid": ["a", "b"], "time": [1], "seq_num": [1, 2], "data": {}, "timestamps": {}}),
                "'time' has 1 values",
            ),
            (
                "event_page",
                json!({"descriptor": "d", "uid": ["a"], "time": [1], "seq_num": [1], "data": {"x": [1, 2]}, "timestamps": {}}),
                "'data.x' has 2 values",
            ),
            ("weird", json!({}), "unknown document type 'weird'"),
            ("start", json!([1]), "must be a JSON object"),
        ];
        for (name, doc, want) in cases {
            let err = check(name, &doc).unwrap_err();
            assert!(
                err.contains(want),
                "{name} {doc}: got '{err}', want '{want}'"
            );
        }
    }

    #[test]
    fn batches_are_one_pair_or_a_list_of_pairs() {
        assert_eq!(parse_batch(json!(["start", {}])).unwrap().len(), 1);
        assert_eq!(
            parse_batch(json!([["start", {}], ["stop", {}]]))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_batch(json!([])).unwrap().len(), 0);
        assert!(parse_batch(json!({"name": "start"}))
            .unwrap_err()
            .contains("JSON array"));
        assert!(parse_batch(json!([["start", {}], ["stop"]]))
            .unwrap_err()
            .contains("item 1"));
        assert!(parse_batch(json!([[1, {}]]))
            .unwrap_err()
            .contains("document name"));
    }
}
