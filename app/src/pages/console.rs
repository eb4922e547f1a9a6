//! The Console: the worker's and server's output live, with a level filter and a search that
//! also covers past lines (loaded from `/api/console_output`).

use leptos::prelude::*;

use crate::api;
use crate::live::use_live;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// The level of a line, from the words in it (the worker's output carries no level field).
pub fn level_of(line: &str) -> Level {
    let l = line.to_ascii_lowercase();
    if l.contains("error")
        || l.contains("traceback")
        || l.contains("exception")
        || l.contains("failed")
    {
        Level::Error
    } else if l.contains("warn") {
        Level::Warning
    } else {
        Level::Info
    }
}

#[component]
pub fn ConsolePage() -> impl IntoView {
    let live = use_live();
    let past = Resource::new(
        || (),
        |_| async {
            let v = api::get("/api/console_output?nlines=2000").await?;
            Ok::<Vec<String>, String>(
                v["text"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .map(String::from)
                    .collect(),
            )
        },
    );
    let search = RwSignal::new(String::new());
    let min_level = RwSignal::new("info".to_string());
    let lines = move || {
        let mut all: Vec<String> = past.get().and_then(|r| r.ok()).unwrap_or_default();
        // Live lines that arrived after the page loaded (the past text may already hold some).
        let known: std::collections::HashSet<String> = all.iter().cloned().collect();
        for l in live.console.get() {
            let text = l.msg.trim_end().to_string();
            for part in text.lines() {
                if !known.contains(part) {
                    all.push(part.to_string());
                }
            }
        }
        let needle = search.get().to_lowercase();
        let level = min_level.get();
        all.into_iter()
            .filter(|l| needle.is_empty() || l.to_lowercase().contains(&needle))
            .filter(|l| match (level.as_str(), level_of(l)) {
                ("error", lv) => lv == Level::Error,
                ("warning", lv) => lv != Level::Info,
                _ => true,
            })
            .collect::<Vec<_>>()
    };
    view! {
        <section class="panel" aria-labelledby="console-h">
            <h1 id="console-h">"Console"</h1>
            <div class="filters" role="search">
                <label>"Show "
                    <select on:change=move |ev| min_level.set(event_target_value(&ev))>
                        <option value="info">"everything"</option>
                        <option value="warning">"warnings and errors"</option>
                        <option value="error">"errors"</option>
                    </select>
                </label>
                <label>"Search " <input type="search" placeholder="text in past and new lines" on:input=move |ev| search.set(event_target_value(&ev))/></label>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading past lines…"</p> }>
                {move || match past.get() {
                    Some(Err(e)) => view! { <p class="error" role="alert">"Could not load past lines: " {e}</p> }.into_any(),
                    _ => {
                        let shown = lines();
                        let n = shown.len();
                        view! {
                            <p class="muted" data-testid="console-count">{format!("{n} lines")}</p>
                            <pre class="console" data-testid="console" tabindex="0" aria-label="Console output">
                                {shown.into_iter().map(|l| {
                                    let class = match level_of(&l) { Level::Error => "error", Level::Warning => "warn", Level::Info => "" };
                                    view! { <span class=class>{l}"\n"</span> }
                                }).collect_view()}
                            </pre>
                        }.into_any()
                    }
                }}
            </Suspense>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_come_from_the_words() {
        assert_eq!(level_of("Traceback (most recent call last):"), Level::Error);
        assert_eq!(level_of("WARNING: motor near limit"), Level::Warning);
        assert_eq!(level_of("plan started"), Level::Info);
    }
}
