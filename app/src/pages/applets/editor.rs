//! Creating and editing an applet (`/applets/new`, `/applets/<uid>`): a form, the spec checked
//! as you type by the same rules the server applies, a live preview drawn from the real data,
//! and the applet's version history with restore.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde_json::{json, Value};

use super::dashboard_name;
use super::panel::AppletBody;
use crate::api::{self, enc};
use crate::board::provide_board;
use crate::model::applets::{self, Applet, AppletKind};
use crate::pages::common::{act, Outcome, OutcomeLine};

/// A starting spec per kind (the keys are explained beside the form).
pub fn template(kind: AppletKind) -> Value {
    match kind {
        AppletKind::Line | AppletKind::Scatter => {
            json!({"latest": true, "x": "motor", "y": ["det"], "overlay": 0})
        }
        AppletKind::Image => json!({"latest": true, "x": "motor1", "y": "motor2", "z": "det"}),
        AppletKind::Histogram => json!({"latest": true, "field": "det", "bins": 50}),
        AppletKind::Value => json!({"latest": true, "field": "det", "precision": 3}),
        AppletKind::Table => json!({"latest": true, "rows": 20}),
        AppletKind::Markdown => json!({"text": "# Notes\n\nWhat this beamtime is about."}),
    }
}

fn help(kind: AppletKind) -> &'static str {
    match kind {
        AppletKind::Line | AppletKind::Scatter => "Source: \"latest\": true, \"latest_of_plan\": \"scan\", \"run\": \"<uid>\" or \"datasets\": [keys]; \"stream\" (default primary); \"x\" (default seq_num); \"y\": a field or a list; \"overlay\": earlier runs drawn beside (0–20).",
        AppletKind::Image => "A source, then \"field\" (a 2-D field in the events) or \"x\", \"y\", \"z\" of a grid scan; \"colormap\": viridis, gray or inferno.",
        AppletKind::Histogram => "A source, \"field\", \"bins\" (1–10 000, default 50).",
        AppletKind::Value => "\"dataset\": a key — or a source and \"field\" (the newest value); \"precision\": digits after the point.",
        AppletKind::Table => "A source, \"fields\" (default all numeric fields), \"rows\" (newest first, default 20).",
        AppletKind::Markdown => "\"text\": headings (#), lists (-), **bold**, *italic*, `code`, [links](https://…).",
    }
}

#[component]
pub fn AppletEditorPage() -> impl IntoView {
    let dashboard = dashboard_name();
    let board = provide_board(dashboard.clone());
    let params = use_params_map();
    let uid = move || params.with(|p| p.get("uid").unwrap_or_default());
    let is_new = move || uid() == "new";

    let name = RwSignal::new(String::new());
    let group = RwSignal::new("default".to_string());
    let kind = RwSignal::new(AppletKind::Line);
    let spec_text = RwSignal::new(
        serde_json::to_string_pretty(&template(AppletKind::Line)).unwrap_or_default(),
    );
    let auto_enable = RwSignal::new(true);
    let version = RwSignal::new(0i64);
    let loaded = RwSignal::new(false);
    let outcome: Outcome = RwSignal::new(None);
    let refresh = RwSignal::new(0u32);

    // Fill the form from the applet once it is known (and again after a restore).
    let fill = move |a: &Applet| {
        name.set(a.name.clone());
        group.set(a.group.clone());
        kind.set(a.kind);
        spec_text.set(serde_json::to_string_pretty(&a.spec).unwrap_or_default());
        auto_enable.set(a.auto_enable);
        version.set(a.version);
        loaded.set(true);
    };
    Effect::new(move |_| {
        if is_new() || loaded.get() {
            return;
        }
        let u = uid();
        if let Some(a) = board
            .applets
            .with(|l| l.iter().flatten().find(|a| a.uid == u).cloned())
        {
            fill(&a);
        }
    });

    // The spec as typed, checked like the server does.
    let checked = Memo::new(move |_| {
        let spec: Value = serde_json::from_str(&spec_text.get())
            .map_err(|e| format!("the spec is not JSON: {e}"))?;
        applets::validate(kind.get(), &spec).map_err(|e| e.to_string())?;
        applets::validate_name("name", &name.get()).map_err(|e| {
            if is_new() && name.get().is_empty() {
                "give the applet a name".to_string()
            } else {
                e
            }
        })?;
        Ok::<Value, String>(spec)
    });
    let draft = Memo::new(move |_| {
        let spec = checked.get().ok()?;
        Some(Applet {
            uid: if is_new() { "preview".into() } else { uid() },
            name: name.get(),
            group: group.get(),
            kind: kind.get(),
            spec,
            version: version.get(),
            updated_by: String::new(),
            updated_at: String::new(),
            auto_enable: auto_enable.get(),
        })
    });
    Effect::new(move |_| board.preview.set(draft.get()));

    let on_kind = move |e: leptos::ev::Event| {
        let k = AppletKind::ALL
            .into_iter()
            .find(|k| k.as_str() == event_target_value(&e))
            .unwrap_or(AppletKind::Line);
        // A new kind takes different keys: start from its template unless the spec fits.
        let fits = serde_json::from_str::<Value>(&spec_text.get_untracked())
            .ok()
            .is_some_and(|s| applets::validate(k, &s).is_ok());
        kind.set(k);
        if !fits {
            spec_text.set(serde_json::to_string_pretty(&template(k)).unwrap_or_default());
        }
    };

    let dash_q = enc(&dashboard);
    let back = format!("/applets?dashboard={dash_q}");
    let save = {
        let back = back.clone();
        move |e: leptos::ev::SubmitEvent| {
            e.prevent_default();
            let Ok(spec) = checked.get_untracked() else {
                outcome.set(Some(Err("fix the spec first".into())));
                return;
            };
            let body = json!({
                "name": name.get_untracked(),
                "group": group.get_untracked(),
                "kind": kind.get_untracked().as_str(),
                "spec": spec,
                "auto_enable": auto_enable.get_untracked(),
            });
            let back = back.clone();
            if is_new() {
                act(
                    outcome,
                    "create".into(),
                    "POST",
                    "/api/applets".into(),
                    body,
                    move |v| {
                        // Show it on this dashboard straight away, then go there.
                        if let Some(u) = v["applet"]["uid"].as_str() {
                            board.change(|d| d.set_shown(u, true));
                        }
                        navigate(&back);
                    },
                );
            } else {
                let mut body = body;
                body["version"] = json!(version.get_untracked());
                act(
                    outcome,
                    "save".into(),
                    "PUT",
                    format!("/api/applets/{}", enc(&uid())),
                    body,
                    move |v| {
                        if let Ok(a) = serde_json::from_value::<Applet>(v["applet"].clone()) {
                            fill(&a);
                        }
                        refresh.update(|n| *n += 1);
                    },
                );
            }
        }
    };

    let versions = Resource::new(
        move || (uid(), refresh.get()),
        |(u, _)| async move {
            if u == "new" {
                return Ok(Vec::new());
            }
            let v = api::get(format!("/api/applets/{}/versions", enc(&u))).await?;
            Ok::<Vec<Value>, String>(v["versions"].as_array().cloned().unwrap_or_default())
        },
    );
    let restore = move |n: i64| {
        act(
            outcome,
            format!("restore version {n}"),
            "POST",
            format!("/api/applets/{}/restore", enc(&uid())),
            json!({"version": n}),
            move |v| {
                if let Ok(a) = serde_json::from_value::<Applet>(v["applet"].clone()) {
                    fill(&a);
                }
                refresh.update(|k| *k += 1);
            },
        );
    };

    let preview = move || {
        match draft.get() {
        Some(a) => view! { <AppletBody applet=Signal::stored(a)/> }.into_any(),
        None => view! { <p class="error" role="alert" data-testid="spec-error">{checked.get().err()}</p> }.into_any(),
    }
    };
    view! {
        <section class="panel editor" aria-labelledby="editor-h">
            <p><a href=back.clone()>"← back to the dashboard"</a></p>
            <h1 id="editor-h">{move || if is_new() { "New applet".to_string() } else { format!("Edit applet {}", name.get()) }}</h1>
            <div class="editor-columns">
                <form on:submit=save class="editor-form">
                    <label>"Name " <input type="text" required bind:value=name/></label>
                    <label>"Group " <input type="text" bind:value=group/></label>
                    <label>
                        "Kind "
                        <select on:change=on_kind prop:value=move || kind.get().as_str()>
                            {AppletKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="check">
                        <input type="checkbox" bind:checked=auto_enable/>
                        " shown on dashboards that have not decided"
                    </label>
                    <label>
                        "Spec (JSON) "
                        <textarea rows="10" spellcheck="false" aria-label="Spec" bind:value=spec_text></textarea>
                    </label>
                    <p class="muted">{move || help(kind.get())}</p>
                    <button type="submit" disabled=move || checked.with(|c| c.is_err())>
                        {move || if is_new() { "Create" } else { "Save" }}
                    </button>
                    <OutcomeLine outcome/>
                </form>
                <div class="preview">
                    <h2>"Preview"</h2>
                    <article class="applet">{preview}</article>
                </div>
            </div>
            <Show when=move || !is_new()>
                <h2>"Versions"</h2>
                <Transition fallback=|| view! { <p class="muted">"Loading versions…"</p> }>
                    {move || versions.get().map(|r| match r {
                        Err(e) => view! { <p class="error">{e}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="versions" data-testid="versions">
                                <thead><tr><th scope="col">"Version"</th><th scope="col">"By"</th><th scope="col">"At"</th><th scope="col">"Kind"</th><th scope="col"></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|v| {
                                        let n = v["version"].as_i64().unwrap_or(0);
                                        let deleted = v["deleted"].as_bool().unwrap_or(false);
                                        let current = n == version.get_untracked();
                                        view! {
                                            <tr>
                                                <td>{n}{deleted.then_some(" (deleted)")}{current.then_some(" (current)")}</td>
                                                <td>{v["updated_by"].as_str().unwrap_or("").to_string()}</td>
                                                <td>{v["updated_at"].as_str().unwrap_or("").to_string()}</td>
                                                <td>{v["kind"].as_str().unwrap_or("").to_string()}</td>
                                                <td>{(!deleted && !current).then(|| view! {
                                                    <button type="button" on:click=move |_| restore(n)>{format!("Restore version {n}")}</button>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    })}
                </Transition>
            </Show>
        </section>
    }
    .into_any()
}

fn navigate(to: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(to);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = to;
}
