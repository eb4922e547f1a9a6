//! The plan form, generated from `/api/plans/allowed` and `/api/devices/allowed`: a typed input
//! per parameter (device pickers, numbers, checkboxes, JSON), defaults as placeholders, and every
//! error — ours or the server's — beside its field.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde_json::json;

use crate::api;
use crate::model::plan_form::args::{self, Cell};
use crate::model::plan_form::{self, DeviceClass, Param, PlanSpec, Widget};
use crate::model::queue::QueueItem;
use crate::pages::common::{Outcome, OutcomeLine};

#[derive(Clone, Debug, PartialEq)]
struct Device {
    name: String,
    readable: bool,
    movable: bool,
}

async fn load() -> Result<(Vec<PlanSpec>, Vec<Device>), String> {
    let plans = api::get("/api/plans/allowed").await?;
    let devices = api::get("/api/devices/allowed").await?;
    let devices = devices["devices_allowed"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, d)| Device {
            name: name.clone(),
            readable: d["is_readable"] == true,
            movable: d["is_movable"] == true,
        })
        .collect();
    Ok((plan_form::plans(&plans["plans_allowed"]), devices))
}

fn of_class(devices: &[Device], class: DeviceClass) -> Vec<String> {
    devices
        .iter()
        .filter(|d| match class {
            // A detector picker offers detectors: motors are readable too, but not what
            // "detectors" asks for.
            DeviceClass::Readable => d.readable && !d.movable,
            DeviceClass::Movable => d.movable,
            DeviceClass::Any => true,
        })
        .map(|d| d.name.clone())
        .collect()
}

#[component]
pub fn PlanEditor(editing: RwSignal<Option<QueueItem>>) -> impl IntoView {
    // Loaded in the browser only: the form is useless without the script anyway.
    let catalog = LocalResource::new(load);
    let plan_name = RwSignal::new(String::new());
    let fields = RwSignal::new(BTreeMap::<String, String>::new());
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let outcome: Outcome = RwSignal::new(None);
    let spec = move || -> Option<PlanSpec> {
        let name = plan_name.get();
        catalog
            .get()
            .and_then(|c| c.ok())
            .and_then(|(plans, _)| plans.into_iter().find(|p| p.name == name))
    };
    // Editing an item fills the form with it.
    Effect::new(move |_| {
        if let Some(item) = editing.get() {
            plan_name.set(item.name.clone());
            let found = catalog
                .get_untracked()
                .and_then(|c| c.ok())
                .and_then(|(plans, _)| plans.into_iter().find(|p| p.name == item.name));
            if let Some(plan) = found {
                fields.set(plan_form::fields_of(
                    &plan,
                    &serde_json::to_value(&item).unwrap_or_default(),
                ));
            }
            errors.set(BTreeMap::new());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(plan) = spec() else {
            outcome.set(Some(Err("Choose a plan first".into())));
            return;
        };
        let item = match plan_form::build_item(&plan, &fields.get_untracked()) {
            Ok(item) => item,
            Err(e) => {
                errors.set(e);
                outcome.set(Some(Err(
                    "Some fields need attention (see beside them)".into()
                )));
                return;
            }
        };
        errors.set(BTreeMap::new());
        let (path, body, label) = match editing.get_untracked() {
            Some(old) => {
                let mut item = item;
                item["item_uid"] = json!(old.item_uid);
                if let Some(meta) = old.meta {
                    item["meta"] = meta;
                }
                ("/api/queue/item/update", json!({"item": item}), "Saved")
            }
            None => ("/api/queue/item/add", json!({"item": item}), "Added"),
        };
        outcome.set(None);
        leptos::task::spawn_local(async move {
            match api::act("POST", path, body).await {
                Ok(_) => {
                    outcome.set(Some(Ok(format!("{label} {}", plan.name))));
                    editing.set(None);
                }
                Err(msg) => {
                    if let Some(field) = plan_form::field_of_message(&plan, &msg) {
                        errors.update(|e| {
                            e.insert(field.to_string(), msg.clone());
                        });
                    }
                    outcome.set(Some(Err(msg)));
                }
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="editor-h">
            <h2 id="editor-h">{move || if editing.get().is_some() { "Edit plan" } else { "Add a plan" }}</h2>
            <form class="plan-form" on:submit=submit>
                <label for="plan-name">"Plan"</label>
                <select id="plan-name" prop:value=move || plan_name.get() on:change=move |ev| {
                    plan_name.set(event_target_value(&ev));
                    fields.set(BTreeMap::new());
                    errors.set(BTreeMap::new());
                }>
                    <option value="">"— choose a plan —"</option>
                    {move || catalog.get().and_then(|c| c.ok()).map(|(plans, _)| plans.into_iter().map(|p| {
                        let n = p.name.clone();
                        view! { <option value=n.clone() selected=move || plan_name.get() == n>{p.name.clone()}</option> }
                    }).collect_view())}
                </select>
                {move || match catalog.get() {
                    Some(Err(e)) => view! { <p class="error" role="alert">"Could not load the allowed plans: " {e}</p> }.into_any(),
                    None => view! { <p class="muted">"Loading the allowed plans…"</p> }.into_any(),
                    Some(Ok(_)) => ().into_any(),
                }}
                {move || spec().map(|plan| {
                    let devices = catalog.get().and_then(|c| c.ok()).map(|(_, d)| d).unwrap_or_default();
                    view! {
                        <p class="muted plan-doc">{plan_form::plain_text(&plan.description)}</p>
                        {plan.params.into_iter().map(|p| view! { <Field param=p devices=devices.clone() fields errors/> }).collect_view()}
                    }
                })}
                <div class="form-actions">
                    <button type="submit" class="primary">{move || if editing.get().is_some() { "Save changes" } else { "Add to queue" }}</button>
                    <Show when=move || editing.get().is_some()>
                        <button type="button" on:click=move |_| { editing.set(None); fields.set(BTreeMap::new()); }>"Cancel edit"</button>
                    </Show>
                </div>
                <OutcomeLine outcome testid="editor-outcome"/>
            </form>
        </section>
    }
}

#[component]
fn Field(
    param: Param,
    devices: Vec<Device>,
    fields: RwSignal<BTreeMap<String, String>>,
    errors: RwSignal<BTreeMap<String, String>>,
) -> impl IntoView {
    let name = param.name.clone();
    let id = format!("param-{name}");
    let err_id = format!("err-{name}");
    let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
    let value = move || fields.get().get(&n1).cloned().unwrap_or_default();
    // Typing replaces an error said on submit or by the server: the field is checked as typed.
    let set = move |v: String| {
        fields.update(|f| {
            f.insert(n2.clone(), v);
        });
        errors.update(|e| {
            e.remove(&n2);
        });
    };
    let checked = param.clone();
    let error = {
        let value = value.clone();
        move || {
            plan_form::field_error(&checked, &value()).or_else(|| errors.get().get(&n3).cloned())
        }
    };
    let placeholder = param
        .default
        .clone()
        .map(|d| format!("default: {d}"))
        .unwrap_or_default();
    let required = param.required();
    let hint = format!(
        "{}{}",
        plan_form::type_words(&param.type_text),
        if param.description.is_empty() {
            String::new()
        } else {
            let doc = plan_form::plain_text(&param.description);
            format!(" — {}", doc.lines().next().unwrap_or(""))
        }
    );
    let input = match param.widget.clone() {
        Widget::Devices(class) => {
            let names = of_class(&devices, class);
            view! {
                <fieldset class="devices" id=id.clone() aria-describedby=err_id.clone()>
                    <legend>{name.clone()}{required.then_some(" *")}</legend>
                    {names.into_iter().map(|d| {
                        let (d1, d2) = (d.clone(), d.clone());
                        let (value, value2) = (value.clone(), value.clone());
                        let set = set.clone();
                        view! {
                            <label class="device">
                                <input type="checkbox" prop:checked=move || value().split(',').any(|x| x.trim() == d1)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let mut list: Vec<String> = value2().split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && *s != d2).collect();
                                        if on { list.push(d2.clone()); }
                                        set(list.join(","));
                                    }/>
                                " " {d.clone()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            }.into_any()
        }
        Widget::Device(class) => {
            let names = of_class(&devices, class);
            view! {
                <label for=id.clone()>{name.clone()}{required.then_some(" *")}</label>
                <select id=id.clone() aria-describedby=err_id.clone() prop:value=value.clone() on:change=move |ev| set(event_target_value(&ev))>
                    <option value="">{if required { "— choose —".to_string() } else { placeholder.clone() }}</option>
                    {names.into_iter().map(|d| view! { <option value=d.clone()>{d.clone()}</option> }).collect_view()}
                </select>
            }.into_any()
        }
        Widget::Bool => view! {
            <label class="check">
                <input type="checkbox" id=id.clone() prop:checked=move || value() == "true"
                    on:change=move |ev| set(event_target_checked(&ev).to_string())/>
                " " {name.clone()}
            </label>
        }
        .into_any(),
        Widget::VarArgs if plan_form::args::pattern(&param).is_some() => {
            let pattern = plan_form::args::pattern(&param).unwrap_or_default();
            // This field's text alone: typing in another field must not reset the rows.
            let args_text = Memo::new({
                let value = value.clone();
                move |_| value()
            });
            let motors = of_class(&devices, DeviceClass::Movable);
            view! {
                <fieldset class="args-rows" id=id.clone() aria-describedby=err_id.clone()>
                    <legend>{name.clone()}</legend>
                    <ArgsRows pattern motors value=args_text set=Callback::new(set.clone())/>
                </fieldset>
            }
            .into_any()
        }
        w => {
            let kind = if matches!(w, Widget::Int | Widget::Float) {
                "number"
            } else {
                "text"
            };
            let step = if matches!(w, Widget::Int) { "1" } else { "any" };
            let placeholder = if matches!(w, Widget::VarArgs) {
                "a JSON list, e.g. [\"motor\", -1, 1]".to_string()
            } else {
                placeholder.clone()
            };
            view! {
                <label for=id.clone()>{name.clone()}{required.then_some(" *")}</label>
                <input id=id.clone() type=kind step=step placeholder=placeholder aria-describedby=err_id.clone()
                    aria-invalid={
                        let error = error.clone();
                        move || error().is_some().to_string()
                    }
                    prop:value=value.clone() on:input=move |ev| set(event_target_value(&ev))/>
            }.into_any()
        }
    };
    view! {
        <div class="field" data-param=name.clone()>
            {input}
            <small class="muted">{hint}</small>
            <span class="field-error error" id=err_id role="alert">{error}</span>
        </div>
    }
}

/// A scan's `*args` as rows: a motor picker and its start, stop (and num, or positions) per
/// row, written back to the field as the JSON list bluesky takes.
#[component]
fn ArgsRows(
    pattern: Vec<Cell>,
    motors: Vec<String>,
    value: Memo<String>,
    set: Callback<String>,
) -> impl IntoView {
    let width = pattern.len();
    let rows = RwSignal::new(Vec::<Vec<String>>::new());
    let pattern = StoredValue::new(pattern);
    // The field's text (an item being edited) fills the rows; the rows' own writes do not.
    Effect::new(move |_| {
        let text = value.get();
        let ours = pattern.with_value(|p| args::text(p, &rows.get_untracked()));
        // An empty field and rows with nothing in them are the same list.
        let same = text == ours || (text.trim().is_empty() && ours == "[]");
        if !same || rows.with_untracked(Vec::is_empty) {
            let mut r = pattern.with_value(|p| args::rows(p, &text));
            if r.is_empty() {
                r.push(vec![String::new(); width]);
            }
            rows.set(r);
        }
    });
    let write = move |row: usize, col: usize, v: String| {
        rows.update(|r| {
            if let Some(cell) = r.get_mut(row).and_then(|r| r.get_mut(col)) {
                *cell = v;
            }
        });
        set.run(pattern.with_value(|p| args::text(p, &rows.get_untracked())));
    };
    let add = move |_| rows.update(|r| r.push(vec![String::new(); width]));
    let remove = move |row: usize| {
        rows.update(|r| {
            if r.len() > 1 {
                r.remove(row);
            }
        });
        set.run(pattern.with_value(|p| args::text(p, &rows.get_untracked())));
    };
    let motors = StoredValue::new(motors);
    view! {
        <table class="args-table">
            <thead><tr>
                {pattern.get_value().into_iter().map(|c| view! { <th scope="col">{c.label()}</th> }).collect_view()}
                <th></th>
            </tr></thead>
            <tbody>
                {move || (0..rows.with(Vec::len)).map(|row| {
                    let cells = pattern.get_value().into_iter().enumerate().map(|(col, cell)| {
                        let current = move || rows.with(|r| r.get(row).and_then(|r| r.get(col)).cloned().unwrap_or_default());
                        let label = format!("{} of row {}", cell.label(), row + 1);
                        match cell {
                            Cell::Motor => view! {
                                <td><select aria-label=label prop:value=current on:change=move |ev| write(row, col, event_target_value(&ev))>
                                    <option value="">"— motor —"</option>
                                    {motors.get_value().into_iter().map(|m| {
                                        let selected = m == current();
                                        view! { <option value=m.clone() selected=selected>{m.clone()}</option> }
                                    }).collect_view()}
                                </select></td>
                            }.into_any(),
                            other => {
                                let hint = if other == Cell::Points { "[1, 2, 3]" } else { "" };
                                view! {
                                    <td><input type="text" inputmode=if other == Cell::Points { "text" } else { "decimal" }
                                        size=if other == Cell::Points { "14" } else { "7" } placeholder=hint aria-label=label
                                        prop:value=current on:input=move |ev| write(row, col, event_target_value(&ev))/></td>
                                }.into_any()
                            }
                        }
                    }).collect_view();
                    view! {
                        <tr>
                            {cells}
                            <td><button type="button" class="small" title="Remove this motor" aria-label=format!("Remove row {}", row + 1)
                                on:click=move |_| remove(row)>"×"</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <button type="button" class="small" on:click=add>"Add motor"</button>
    }
}
