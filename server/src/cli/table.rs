//! How answers reach the terminal: JSON or the human form ([`Out`]), plain-text tables and
//! short descriptions of items.

use hutch_app::model::queue::{ItemType, QueueItem};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Prints either the JSON (with `--json`) or the human form.
pub struct Out {
    pub json: bool,
}

impl Out {
    pub(super) fn show(&self, v: &Value, human: impl FnOnce(&Value) -> String) {
        let text = if self.json {
            serde_json::to_string_pretty(v).unwrap_or_default()
        } else {
            human(v)
        };
        if !text.is_empty() {
            print_line(&text);
        }
    }

    /// For commands whose answer is only "done": the message, or `msg`.
    pub(super) fn done(&self, v: &Value, what: &str) {
        self.show(v, |_| what.to_string());
    }
}

/// Prints a line; a reader that went away (`hutch history get | head`) ends the program quietly
/// instead of a panic about a broken pipe.
fn print_line(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Columns padded to their widest cell; cells longer than 70 characters are cut with `…`.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    const MAX: usize = 70;
    let cut = |s: &str| -> String {
        let one_line = s.replace('\n', " ");
        if one_line.chars().count() > MAX {
            one_line.chars().take(MAX - 1).chain(['…']).collect()
        } else {
            one_line
        }
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut out: String = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        out.truncate(out.trim_end().len());
        out
    };
    let head: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let mut out = line(&head);
    for r in &rows {
        out.push('\n');
        out.push_str(&line(r));
    }
    out
}

/// A JSON value as a person would write it in Python-ish call syntax.
pub fn short(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Array(a) => format!("[{}]", a.iter().map(short).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", short(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// `count(['det1'], num=3)` for a plan; `queue_stop` for an instruction.
pub fn call(item: &QueueItem) -> String {
    if item.item_type == ItemType::Instruction {
        return format!("{} (instruction)", item.name);
    }
    let mut parts: Vec<String> = item.args().iter().map(short).collect();
    if let Some(kw) = &item.kwargs {
        parts.extend(kw.iter().map(|(k, v)| format!("{k}={}", short(v))));
    }
    format!("{}({})", item.name, parts.join(", "))
}

/// The first 8 characters of a uid.
pub fn uid8(uid: &str) -> String {
    uid.chars().take(8).collect()
}

/// The human form of a reply, read as the model's type `T`; a reply of another shape says so
/// instead of printing half of it.
pub fn human<T: DeserializeOwned>(v: &Value, show: impl FnOnce(T) -> String) -> String {
    match T::deserialize(v) {
        Ok(t) => show(t),
        Err(e) => format!("(hutch answered in an unexpected shape: {e}; --json prints it)"),
    }
}

/// An item in a reply where bluesky sends `{}` for "none" (`running_item`, a refused item).
pub fn some_item<'de, D: Deserializer<'de>>(d: D) -> Result<Option<QueueItem>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() || v.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(None);
    }
    QueueItem::deserialize(v)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// A Unix time as local-independent UTC `YYYY-MM-DD HH:MM:SS`.
pub fn time(v: &Value) -> String {
    v.as_f64()
        .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0))
        .map_or_else(String::new, |d| d.format("%Y-%m-%d %H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_line_up_and_calls_read_like_python() {
        let t = table(
            &["a", "name"],
            &[
                vec!["1".into(), "x".into()],
                vec!["22".into(), "long name".into()],
            ],
        );
        assert_eq!(t, "A   NAME\n1   x\n22  long name");
        let item = |v| serde_json::from_value::<QueueItem>(v).unwrap();
        let scan = item(
            json!({"name": "scan", "args": [["det"], "motor", -1, 1], "kwargs": {"num": 5}, "item_type": "plan"}),
        );
        assert_eq!(call(&scan), "scan(['det'], 'motor', -1, 1, num=5)");
        assert_eq!(
            call(&item(
                json!({"name": "queue_stop", "item_type": "instruction"})
            )),
            "queue_stop (instruction)"
        );
        assert_eq!(uid8("0123456789"), "01234567");
        let odd = human(&json!({"items": 3}), |l: Vec<QueueItem>| {
            l.len().to_string()
        });
        assert!(odd.contains("unexpected shape"), "{odd}");
        assert_eq!(time(&json!(0.0)), "1970-01-01 00:00:00");
    }
}
