//! Spreadsheet upload: a CSV file becomes a preview — every row with the plan it makes and the
//! server's verdict on it (`queue/item/validate`: the checks `item/add` makes, nothing added) —
//! and then one all-or-nothing batch add, offered once every row passed.

use leptos::prelude::*;
use serde_json::{json, Value};

use crate::api;
use crate::model::queue::QueueItem;
use crate::model::queue_view::summary;
use crate::model::spreadsheet;
use crate::pages::common::{Outcome, OutcomeLine};

#[derive(Clone, Debug, PartialEq)]
enum Preview {
    /// The file's problems, each naming its row; nothing can be added.
    Bad(Vec<String>),
    /// Items, and the server's verdict per row (`None` until it answered).
    Good(Vec<Value>, Vec<Option<Verdict>>),
}

#[derive(Clone, Debug, PartialEq)]
enum Verdict {
    Ok,
    Refused(String),
}

/// The server's verdicts on `items` from a batch reply's `results` (of `validate` or
/// `add/batch`); every row refused with the reply's message when it has none.
fn verdicts(reply: &Value, n: usize) -> Vec<Option<Verdict>> {
    match reply["results"].as_array().filter(|r| r.len() == n) {
        Some(results) => results
            .iter()
            .map(|x| {
                Some(if x["success"] == true {
                    Verdict::Ok
                } else {
                    Verdict::Refused(x["msg"].as_str().unwrap_or("refused").to_string())
                })
            })
            .collect(),
        None => {
            let why = reply["msg"].as_str().unwrap_or("refused").to_string();
            vec![Some(Verdict::Refused(why)); n]
        }
    }
}

/// Asks the server to check the rows and shows its verdicts — unless another file was chosen
/// meanwhile (`file` is no longer `chosen`): a late answer never lands on another file's rows.
fn check(
    items: Vec<Value>,
    preview: RwSignal<Option<Preview>>,
    outcome: Outcome,
    (chosen, file): (StoredValue<u64>, u64),
) {
    let n = items.len();
    leptos::task::spawn_local(async move {
        let reply = api::call(
            "POST",
            "/api/queue/item/validate".into(),
            Some(json!({"items": items.clone()})),
        )
        .await;
        if chosen.get_value() != file {
            return;
        }
        match reply {
            Ok(v) => {
                if v["success"] != true {
                    outcome.set(Some(Err(format!(
                        "The server refuses some rows: {}",
                        v["msg"].as_str().unwrap_or("refused")
                    ))));
                }
                preview.set(Some(Preview::Good(items, verdicts(&v, n))));
            }
            Err(e) => {
                let why = format!("not checked: {e}");
                preview.set(Some(Preview::Good(
                    items,
                    vec![Some(Verdict::Refused(why)); n],
                )));
                outcome.set(Some(Err(format!("The rows could not be checked: {e}"))));
            }
        }
    });
}

#[cfg(feature = "hydrate")]
async fn file_text(ev: leptos::ev::Event) -> Option<String> {
    use wasm_bindgen::JsCast;
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
    let file = input.files()?.get(0)?;
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .ok()?;
    text.as_string()
}

#[cfg(not(feature = "hydrate"))]
async fn file_text(_: leptos::ev::Event) -> Option<String> {
    None
}

#[component]
pub fn Upload() -> impl IntoView {
    let preview = RwSignal::new(None::<Preview>);
    let outcome: Outcome = RwSignal::new(None);
    // Which file is shown: a check answered for an earlier one is dropped.
    let chosen = StoredValue::new(0u64);
    let on_file = move |ev: leptos::ev::Event| {
        outcome.set(None);
        chosen.update_value(|n| *n += 1);
        let file = chosen.get_value();
        leptos::task::spawn_local(async move {
            match file_text(ev).await {
                None => outcome.set(Some(Err("Could not read the file".into()))),
                Some(text) => match spreadsheet::items(&text) {
                    Ok(items) => {
                        let n = items.len();
                        preview.set(Some(Preview::Good(items.clone(), vec![None; n])));
                        check(items, preview, outcome, (chosen, file));
                    }
                    Err(errors) => preview.set(Some(Preview::Bad(errors))),
                },
            }
        });
    };
    let add = move |_| {
        let Some(Preview::Good(items, _)) = preview.get_untracked() else {
            return;
        };
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let reply = api::call(
                "POST",
                "/api/queue/item/add/batch".into(),
                Some(json!({"items": items})),
            )
            .await;
            match reply {
                Ok(v) if v["success"] == true => {
                    outcome.set(Some(Ok(format!("Added {} plans", items.len()))));
                    preview.set(None);
                }
                Ok(v) => {
                    let n = items.len();
                    preview.set(Some(Preview::Good(items, verdicts(&v, n))));
                    outcome.set(Some(Err(format!(
                        "Nothing was added: {}",
                        v["msg"].as_str().unwrap_or("refused")
                    ))));
                }
                Err(e) => outcome.set(Some(Err(format!("Nothing was added: {e}")))),
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="upload-h">
            <h2 id="upload-h">"Add from a spreadsheet"</h2>
            <p class="muted">"A CSV file with a header row: " <code>"name"</code> " (the plan), optional " <code>"args"</code>
                " (a JSON list), every other column a keyword argument. All rows are added, or none."</p>
            <label for="csv-file">"CSV file"</label>
            <input id="csv-file" type="file" accept=".csv,text/csv" on:change=on_file/>
            {move || preview.get().map(|p| match p {
                Preview::Bad(errors) => view! {
                    <div role="alert" data-testid="upload-errors">
                        <p class="error">"The file cannot be added; fix these rows:"</p>
                        <ul>{errors.into_iter().map(|e| view! { <li class="error">{e}</li> }).collect_view()}</ul>
                    </div>
                }.into_any(),
                Preview::Good(items, verdicts) => {
                    let n = items.len();
                    let passed = verdicts.iter().all(|v| v == &Some(Verdict::Ok));
                    let waiting = verdicts.iter().any(Option::is_none);
                    view! {
                        <table class="preview" data-testid="upload-preview">
                            <thead><tr><th scope="col">"Row"</th><th scope="col">"Plan"</th><th scope="col">"Check"</th></tr></thead>
                            <tbody>
                            {items.into_iter().zip(verdicts).enumerate().map(|(i, (item, verdict))| {
                                let text = serde_json::from_value::<QueueItem>(item).map(|q| summary(&q)).unwrap_or_default();
                                let (class, said) = match verdict {
                                    None => ("muted", "checking…".to_string()),
                                    Some(Verdict::Ok) => ("ok", "ok".to_string()),
                                    Some(Verdict::Refused(why)) => ("error", why),
                                };
                                view! {
                                    <tr class:bad=class == "error" data-testid="upload-row">
                                        <td>{i + 2}</td><td>{text}</td>
                                        <td class=class>{said}</td>
                                    </tr>
                                }
                            }).collect_view()}
                            </tbody>
                        </table>
                        <button type="button" class="primary" on:click=add disabled=!passed
                            title=if passed { String::new() } else if waiting { "Waiting for the server to check the rows".into() } else { "Fix the refused rows and choose the file again".to_string() }>
                            {format!("Add all {n} plans")}
                        </button>
                    }.into_any()
                }
            })}
            <OutcomeLine outcome testid="upload-outcome"/>
        </section>
    }
}
