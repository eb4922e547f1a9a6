//! The datasets (`/datasets`): every named value, live, with who set it and when; "Plot" makes an
//! applet of it (a line for a list, a value readout for a number).

use leptos::prelude::*;
use serde_json::{json, Value};

use crate::api;
use crate::board::provide_board;
use crate::pages::common::{act, Outcome, OutcomeLine};

/// A number as a person reads it: whole numbers as they are, others to six significant
/// digits (`0.30000000000000004` → `0.3`), very large or small ones in exponent form.
pub fn number_text(n: &serde_json::Number) -> String {
    let Some(f) = n.as_f64().filter(|_| n.is_f64()) else {
        return n.to_string();
    };
    let a = f.abs();
    if a != 0.0 && !(1e-3..1e9).contains(&a) {
        return format!("{f:.5e}");
    }
    let digits = (5 - a.log10().floor().max(-3.0) as i32).max(0) as usize;
    let text = format!("{f:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Number(n) => number_text(n),
        other => other.to_string(),
    }
}

/// Who set a dataset, for people: a plan's dispatch links to its history page.
fn who_view(who: String) -> AnyView {
    match who.strip_prefix("dispatch:") {
        Some(uid) => {
            let short: String = uid.chars().take(8).collect();
            let href = format!("/history/{uid}");
            view! { <a href=href title=who.clone()>{format!("a plan ({short})")}</a> }.into_any()
        }
        None => who.into_any(),
    }
}

/// A value in a table cell: numbers rounded for reading, text as it is, lists as their length
/// and ends.
pub fn summary(v: &Value) -> String {
    match v {
        Value::Number(n) => number_text(n),
        Value::Array(a) if a.len() > 6 => {
            let end = |x: Option<&Value>| x.map(value_text).unwrap_or_default();
            format!(
                "[{} values: {}, … {}]",
                a.len(),
                end(a.first()),
                end(a.last())
            )
        }
        Value::String(s) => s.clone(),
        other => {
            let text = other.to_string();
            match text.char_indices().nth(80) {
                Some((i, _)) => format!("{}…", &text[..i]),
                None => text,
            }
        }
    }
}

#[component]
pub fn DatasetsPage() -> impl IntoView {
    let board = provide_board("datasets".to_string());
    let outcome: Outcome = RwSignal::new(None);
    // Metadata (unit, who, when) is read again when datasets come or go; values are live.
    let keys = Memo::new(move |_| {
        board
            .datasets
            .with(|d| d.keys().cloned().collect::<Vec<_>>())
    });
    let listed = Resource::new(
        move || keys.get(),
        |_| async {
            let v = api::get("/api/datasets").await?;
            Ok::<Vec<Value>, String>(v["datasets"].as_array().cloned().unwrap_or_default())
        },
    );
    let plot = move |key: String, value: Value| {
        let (kind, spec) = match value {
            Value::Array(_) => ("line", json!({"datasets": [key.clone()]})),
            _ => ("value", json!({"dataset": key.clone()})),
        };
        let body = json!({"name": key, "group": "datasets", "kind": kind, "spec": spec, "auto_enable": true});
        act(
            outcome,
            format!("plot {key}"),
            "POST",
            "/api/applets".into(),
            body,
            |_| {},
        );
    };
    let rows = move || {
        listed.get().map(|r| match r {
            Err(e) => view! { <tr><td colspan="5" class="error">{e}</td></tr> }.into_any(),
            Ok(list) if list.is_empty() => view! {
                <tr><td colspan="5" class="muted">"No datasets yet. Plans set them (and `hutch datasets set`, or PUT /api/datasets/{key})."</td></tr>
            }
            .into_any(),
            Ok(list) => list
                .into_iter()
                .map(|d| {
                    let key = d["key"].as_str().unwrap_or("").to_string();
                    let k = key.clone();
                    let fallback = d["value"].clone();
                    let value = move || {
                        board
                            .datasets
                            .with(|m| m.get(&k).cloned())
                            .unwrap_or_else(|| fallback.clone())
                    };
                    let shown = value.clone();
                    let unit = d["unit"].as_str().unwrap_or("").to_string();
                    let who = d["set_by"].as_str().unwrap_or("").to_string();
                    let when = d["updated_at"].as_str().unwrap_or("").to_string();
                    let k2 = key.clone();
                    let row_key = key.clone();
                    view! {
                        <tr data-dataset=row_key>
                            <th scope="row">{key}</th>
                            <td class="value">
                                {move || format!("{} {unit}", summary(&shown())).trim_end().to_string()}
                            </td>
                            <td>{who_view(who)}</td>
                            <td>{when}</td>
                            <td><button type="button" on:click=move |_| plot(k2.clone(), value())>"Plot"</button></td>
                        </tr>
                    }
                    .into_any()
                })
                .collect_view()
                .into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="datasets-h">
            <h1 id="datasets-h">"Datasets"</h1>
            <table class="manage-table">
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Value"</th>
                        <th scope="col">"Set by"</th>
                        <th scope="col">"Updated"</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>
                    <Transition fallback=|| view! { <tr><td colspan="5" class="muted">"Loading datasets…"</td></tr> }>
                        {rows}
                    </Transition>
                </tbody>
            </table>
            <OutcomeLine outcome/>
            <p class="muted">"“Plot” adds an applet to the group “datasets”; see it on " <a href="/applets">"Applets"</a> "."</p>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_and_objects_are_summarised() {
        assert_eq!(summary(&json!([1, 2, 3])), "[1,2,3]");
        assert_eq!(
            summary(&json!((0..100).collect::<Vec<_>>())),
            "[100 values: 0, … 99]"
        );
        assert_eq!(summary(&json!("ok")), "ok");
        assert_eq!(summary(&json!(0.1 + 0.2)), "0.3");
        assert_eq!(summary(&json!(12345.678901)), "12345.7");
        assert_eq!(summary(&json!(42)), "42");
        assert_eq!(summary(&json!(1.5e-7)), "1.50000e-7");
        assert_eq!(
            summary(&json!((0..100).map(|i| i as f64 / 3.0).collect::<Vec<_>>())),
            "[100 values: 0, … 33]"
        );
        assert!(summary(&json!({"a": "x".repeat(200)})).ends_with('…'));
    }
}
