//! The Console: the worker's and server's output live, with a level filter and a search that
//! also covers past lines (loaded from `/api/console_output_update`), each line with its time
//! (UTC).

use leptos::prelude::*;

use crate::api;
use crate::live::use_live;
use crate::model::stream::ConsoleLine;

/// `13:04:05` (UTC) of seconds since the epoch.
fn clock_text(secs: f64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

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
    // The past with each line's time (what the server's console ring holds).
    let past = Resource::new(
        || (),
        |_| async {
            let v = api::get("/api/console_output_update?last_msg_uid=ALL").await?;
            serde_json::from_value::<Vec<ConsoleLine>>(v["console_output_msgs"].clone())
                .map_err(|e| e.to_string())
        },
    );
    let search = RwSignal::new(String::new());
    let min_level = RwSignal::new("info".to_string());
    let lines = move || {
        let mut all: Vec<ConsoleLine> = past.get().and_then(|r| r.ok()).unwrap_or_default();
        // Live lines newer than the past that was loaded (the tab may have some of both).
        let newest = all.last().map_or(f64::MIN, |l| l.time);
        all.extend(live.console.get().into_iter().filter(|l| l.time > newest));
        let needle = search.get().to_lowercase();
        let level = min_level.get();
        all.into_iter()
            .flat_map(|l| {
                let at = clock_text(l.time);
                let parts: Vec<(String, String)> = l
                    .msg
                    .trim_end()
                    .lines()
                    .map(|p| (at.clone(), p.to_string()))
                    .collect();
                parts
            })
            .filter(|(_, l)| needle.is_empty() || l.to_lowercase().contains(&needle))
            .filter(|(_, l)| match (level.as_str(), level_of(l)) {
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
                            <p class="muted" data-testid="console-count">{format!("{n} line{}", if n == 1 { "" } else { "s" })}</p>
                            <pre class="console" data-testid="console" tabindex="0" aria-label="Console output">
                                {shown.into_iter().map(|(at, l)| {
                                    let class = match level_of(&l) { Level::Error => "error", Level::Warning => "warn", Level::Info => "" };
                                    view! { <span class=class><time class="muted">{at}</time>" "{l}"\n"</span> }
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
