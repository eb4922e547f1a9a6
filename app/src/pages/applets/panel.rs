//! One applet's body: a plot on `<canvas>` (drawn with plotters, redrawn at most once per
//! animation frame), a value readout, a table or Markdown — the same in the grid, the editor's
//! preview and the kiosk.

use leptos::prelude::*;

use crate::board::{use_board, AppletRuns};
use crate::model::applets::{Applet, AppletKind, AppletSpec, SpecError};
use crate::model::markdown::{self, Block, Inline};
use crate::plot::view::{self, Inputs, Readout, ViewState};

/// The applet's content. `readonly` hides the plot toolbar (kiosks); `big` is the kiosk's type.
#[component]
pub fn AppletBody(
    applet: Signal<Applet>,
    #[prop(optional)] big: bool,
    #[prop(optional)] readonly: bool,
) -> impl IntoView {
    move || match applet.with(|a| a.kind) {
        AppletKind::Line | AppletKind::Scatter | AppletKind::Image | AppletKind::Histogram => {
            view! { <PlotBody applet big readonly/> }.into_any()
        }
        AppletKind::Value => view! { <ValueBody applet/> }.into_any(),
        AppletKind::Table => view! { <TableBody applet/> }.into_any(),
        AppletKind::Markdown => view! { <MarkdownBody applet/> }.into_any(),
    }
}

/// The runs this applet draws right now.
fn runs_of(applet: Signal<Applet>) -> Memo<AppletRuns> {
    let board = use_board();
    Memo::new(move |_| {
        let a = applet.get();
        board
            .runs_of(std::slice::from_ref(&a))
            .remove(&a.uid)
            .unwrap_or_default()
    })
}

#[component]
fn PlotBody(applet: Signal<Applet>, big: bool, readonly: bool) -> impl IntoView {
    let board = use_board();
    let runs = runs_of(applet);
    let zoom = RwSignal::new(ViewState::default());
    let frozen = RwSignal::new(false);
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    // The x range of the last drawing, to turn a mouse drag into a zoom.
    let drawn_x = StoredValue::new(0.0..1.0);
    let resized = RwSignal::new(0u32);

    #[cfg(feature = "hydrate")]
    {
        let key = draw::next_key();
        let on_resize =
            window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
        on_cleanup(move || on_resize.remove());
        // New data redraws at most every `draw::DATA_INTERVAL_MS`; what the user changes
        // (zoom, size, the applet itself) redraws on the next frame.
        let redraw = move |urgent: bool| {
            let (a, r, v) = (
                applet.get_untracked(),
                runs.get_untracked(),
                zoom.get_untracked(),
            );
            let Some(el) = canvas.get_untracked() else {
                return;
            };
            draw::schedule(key, urgent, move || {
                if let Some(x) = draw::draw(&el, &a, &r, &v, big, board) {
                    drawn_x.set_value(x);
                }
            });
        };
        Effect::new(move |_| {
            if !frozen.get() {
                board.tick.track();
                board.datasets.track();
            }
            redraw(false);
        });
        Effect::new(move |_| {
            resized.track();
            applet.track();
            runs.track();
            zoom.track();
            canvas.track();
            redraw(true);
        });
        on_cleanup(move || draw::cancel(key));
    }

    #[cfg(not(feature = "hydrate"))]
    let _ = (board, runs, resized);

    let press = StoredValue::new(None::<i32>);
    let on_down = move |e: leptos::ev::MouseEvent| press.set_value(Some(e.offset_x()));
    let on_up = move |e: leptos::ev::MouseEvent| {
        let Some(start) = press.get_value() else {
            return;
        };
        press.set_value(None);
        let end = e.offset_x();
        if (end - start).abs() < 6 || readonly {
            return;
        }
        let width = canvas.get().map(|c| c.client_width()).unwrap_or(0);
        let (left, right) = plot_edges(width, big);
        let range = drawn_x.get_value();
        let to_x = |px: i32| {
            let f = ((px - left) as f64 / (right - left).max(1) as f64).clamp(0.0, 1.0);
            range.start + f * (range.end - range.start)
        };
        let (a, b) = (to_x(start.min(end)), to_x(start.max(end)));
        if b > a {
            zoom.update(|z| z.x = Some(a..b));
        }
    };

    let toolbar = (!readonly).then(|| view! { <PlotTools applet zoom frozen drawn_x/> });
    view! {
        <div class="plot">
            <canvas
                node_ref=canvas
                class="plot-canvas"
                data-testid="plot"
                on:mousedown=on_down
                on:mouseup=on_up
                aria-label=move || format!("Plot of {}", applet.with(|a| a.name.clone()))
                role="img"
            ></canvas>
            {toolbar}
        </div>
    }
    .into_any()
}

/// Left and right pixel edges of the plotting area inside a canvas `width` wide (the chart's
/// margin and y-label area, as in `plot::chart`).
fn plot_edges(width: i32, big: bool) -> (i32, i32) {
    let k = if big { 2 } else { 1 };
    (64 * k, width - 8 * k)
}

#[component]
fn PlotTools(
    applet: Signal<Applet>,
    zoom: RwSignal<ViewState>,
    frozen: RwSignal<bool>,
    drawn_x: StoredValue<std::ops::Range<f64>>,
) -> impl IntoView {
    let board = use_board();
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let apply_zoom = move |_| {
        let range = drawn_x.get_value();
        let a = from.get().trim().parse::<f64>().unwrap_or(range.start);
        let b = to.get().trim().parse::<f64>().unwrap_or(range.end);
        if b > a {
            zoom.update(|z| z.x = Some(a..b));
        }
    };
    let uid = move || applet.with(|a| a.uid.clone());
    let is_xy = move || applet.with(|a| matches!(a.kind, AppletKind::Line | AppletKind::Scatter));
    let overlay = move || {
        let a = applet.get();
        board
            .dash
            .with(|d| d.overlay.get(&a.uid).map(|n| *n as usize))
            .unwrap_or_else(|| a.parsed().map_or(0, |s| s.overlay()))
    };
    let set_overlay = move |e: leptos::ev::Event| {
        let n = event_target_value(&e).parse::<u8>().unwrap_or(0).min(20);
        let u = uid();
        board.change(|d| {
            d.overlay.insert(u, n);
        });
    };
    let compare = move || {
        board
            .dash
            .with(|d| d.compare.get(&uid()).cloned().unwrap_or_default())
    };
    let set_compare = move |e: leptos::ev::Event| {
        let run = event_target_value(&e);
        let u = uid();
        board.change(|d| {
            if run.is_empty() {
                d.compare.remove(&u);
            } else {
                d.compare.insert(u, run);
            }
        });
    };
    view! {
        <div class="plot-tools" role="toolbar" aria-label="Plot controls">
            <button
                type="button"
                on:click=move |_| {
                    zoom.set(ViewState::default());
                    from.set(String::new());
                    to.set(String::new());
                }
                title="Fit the axes to the data again"
            >
                "Auto-scale"
            </button>
            <button
                type="button"
                aria-pressed=move || frozen.get().to_string()
                on:click=move |_| frozen.update(|f| *f = !*f)
                title="Stop redrawing with new data (the data is still collected)"
            >
                {move || if frozen.get() { "Resume" } else { "Freeze" }}
            </button>
            <label class="zoom">
                "x from "
                <input type="text" inputmode="decimal" size="6" aria-label="Zoom from x" bind:value=from/>
            </label>
            <label class="zoom">
                " to "
                <input type="text" inputmode="decimal" size="6" aria-label="Zoom to x" bind:value=to/>
            </label>
            <button type="button" on:click=apply_zoom>"Zoom"</button>
            <Show when=is_xy>
                <label>
                    " earlier runs "
                    <input
                        type="number"
                        min="0"
                        max="20"
                        aria-label="Earlier runs drawn beside"
                        prop:value=move || overlay().to_string()
                        on:change=set_overlay
                    />
                </label>
                <label>
                    " beside "
                    <select aria-label="Bookmarked run drawn beside" on:change=set_compare prop:value=compare>
                        <option value="">"—"</option>
                        {move || {
                            let current = compare();
                            board
                                .recent
                                .get()
                                .into_iter()
                                .take(30)
                                .map(|r| {
                                    let selected = r.uid == current;
                                    view! { <option value=r.uid.clone() selected=selected>{r.label()}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </label>
            </Show>
        </div>
    }
    .into_any()
}

/// Why an applet's spec is not what its kind draws: a spec written by another version of hutch.
fn not_of_kind(a: &Applet, parsed: Result<AppletSpec, SpecError>) -> String {
    match parsed {
        Err(e) => format!("this applet's {e}; edit it to fix"),
        Ok(s) => format!(
            "a {} applet with a {} spec",
            a.kind.as_str(),
            s.kind().as_str()
        ),
    }
}

/// The inputs of a non-plot applet, read inside a reactive closure.
fn with_inputs<T>(
    applet: Signal<Applet>,
    runs: Memo<AppletRuns>,
    f: impl FnOnce(&Applet, &Inputs) -> T,
) -> T {
    let board = use_board();
    board.tick.track();
    let a = applet.get();
    let r = runs.get();
    board.datasets.with(|datasets| {
        board.runs.with_value(|all| {
            let inputs = Inputs {
                live: r.live.as_ref().and_then(|u| all.get(u)),
                beside: Vec::new(),
                datasets: Some(datasets),
            };
            f(&a, &inputs)
        })
    })
}

#[component]
fn ValueBody(applet: Signal<Applet>) -> impl IntoView {
    let runs = runs_of(applet);
    let readout = Memo::new(move |_| {
        with_inputs(applet, runs, |a, i| match a.parsed() {
            Ok(AppletSpec::Value(spec)) => view::readout(&spec, i),
            other => Readout {
                label: a.name.clone(),
                value: "–".into(),
                detail: not_of_kind(a, other),
            },
        })
    });
    view! {
        <div class="readout">
            <span class="readout-label">{move || readout.with(|r| r.label.clone())}</span>
            <span class="readout-value" data-testid="readout">{move || readout.with(|r| r.value.clone())}</span>
            <span class="muted">{move || readout.with(|r| r.detail.clone())}</span>
        </div>
    }
}

#[component]
fn TableBody(applet: Signal<Applet>) -> impl IntoView {
    let runs = runs_of(applet);
    let table = Memo::new(move |_| {
        with_inputs(applet, runs, |a, i| match a.parsed() {
            Ok(AppletSpec::Table(spec)) => view::table(&spec, i),
            other => Err(not_of_kind(a, other)),
        })
    });
    move || {
        match table.get() {
        Err(why) => view! { <p class="muted">{why}</p> }.into_any(),
        Ok(t) => view! {
            <div class="table-wrap">
                <table class="applet-table">
                    <caption>{t.caption}</caption>
                    <thead>
                        <tr>{t.headers.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr>
                    </thead>
                    <tbody>
                        {t.rows
                            .into_iter()
                            .map(|row| view! { <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any(),
    }
    }
}

#[component]
fn MarkdownBody(applet: Signal<Applet>) -> impl IntoView {
    let blocks = move || {
        let text = applet.with(|a| match a.parsed() {
            Ok(AppletSpec::Markdown { text }) => text,
            other => not_of_kind(a, other),
        });
        markdown::parse(&text).into_iter().map(block).collect_view()
    };
    view! { <div class="markdown">{blocks}</div> }
}

fn block(b: Block) -> AnyView {
    match b {
        Block::Heading(1, i) => view! { <h3>{inlines(i)}</h3> }.into_any(),
        Block::Heading(2, i) => view! { <h4>{inlines(i)}</h4> }.into_any(),
        Block::Heading(_, i) => view! { <h5>{inlines(i)}</h5> }.into_any(),
        Block::Paragraph(i) => view! { <p>{inlines(i)}</p> }.into_any(),
        Block::List(items) => view! {
            <ul>{items.into_iter().map(|i| view! { <li>{inlines(i)}</li> }).collect_view()}</ul>
        }
        .into_any(),
        Block::Code(c) => view! { <pre><code>{c}</code></pre> }.into_any(),
    }
}

fn inlines(items: Vec<Inline>) -> impl IntoView {
    items
        .into_iter()
        .map(|i| match i {
            Inline::Text(t) => t.into_any(),
            Inline::Bold(t) => view! { <strong>{t}</strong> }.into_any(),
            Inline::Italic(t) => view! { <em>{t}</em> }.into_any(),
            Inline::Code(t) => view! { <code>{t}</code> }.into_any(),
            Inline::Link { text, href } => {
                view! { <a href=href rel="noopener">{text}</a> }.into_any()
            }
        })
        .collect_view()
}

/// Drawing on the canvas (browser only).
#[cfg(feature = "hydrate")]
mod draw {
    use std::ops::Range;

    use plotters::prelude::IntoDrawingArea;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::HtmlCanvasElement;

    use crate::board::{AppletRuns, Board};
    use crate::model::applets::Applet;
    use crate::plot::chart::{self, Picture, Theme};
    use crate::plot::view::{self, Inputs, ViewState};
    use leptos::prelude::*;

    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// Drawing is spread over animation frames: each frame draws pending applets until
    /// [`FRAME_BUDGET_MS`] is spent and leaves the rest for the next frame, so however fast data
    /// arrives and however many applets there are, the page keeps its frame rate (each applet is
    /// then redrawn less often, never with stale data: only its newest request is kept).
    const FRAME_BUDGET_MS: f64 = 8.0;

    /// Redraws for new data come at most this often per applet (20 a second: live to the eye,
    /// and the frame rate stays with the page).
    pub const DATA_INTERVAL_MS: f64 = 50.0;

    struct Job {
        key: u64,
        urgent: bool,
        draw: Box<dyn FnOnce()>,
    }

    #[derive(Default)]
    struct Scheduler {
        next_key: u64,
        pending: VecDeque<Job>,
        /// When each applet last drew.
        drawn_at: std::collections::HashMap<u64, f64>,
        requested: bool,
    }

    fn now() -> f64 {
        web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
            .unwrap_or(0.0)
    }

    thread_local! {
        static SCHEDULER: RefCell<Scheduler> = RefCell::default();
    }

    pub fn next_key() -> u64 {
        SCHEDULER.with_borrow_mut(|s| {
            s.next_key += 1;
            s.next_key
        })
    }

    /// Asks for a drawing of applet `key` (replacing one it asked for earlier and that has not
    /// run yet, keeping its place in the line).
    pub fn schedule(key: u64, urgent: bool, draw: impl FnOnce() + 'static) {
        let request = SCHEDULER.with_borrow_mut(|s| {
            match s.pending.iter_mut().find(|j| j.key == key) {
                Some(job) => {
                    job.urgent |= urgent;
                    job.draw = Box::new(draw);
                }
                None => s.pending.push_back(Job {
                    key,
                    urgent,
                    draw: Box::new(draw),
                }),
            }
            !std::mem::replace(&mut s.requested, true)
        });
        if request {
            request_animation_frame(run_frame);
        }
    }

    pub fn cancel(key: u64) {
        SCHEDULER.with_borrow_mut(|s| {
            s.pending.retain(|j| j.key != key);
            s.drawn_at.remove(&key);
        });
    }

    fn run_frame() {
        let start = now();
        let mut waiting = VecDeque::new();
        loop {
            let Some(job) = SCHEDULER.with_borrow_mut(|s| s.pending.pop_front()) else {
                break;
            };
            let last = SCHEDULER.with_borrow(|s| s.drawn_at.get(&job.key).copied());
            if !job.urgent && last.is_some_and(|t| start - t < DATA_INTERVAL_MS) {
                waiting.push_back(job);
                continue;
            }
            (job.draw)();
            SCHEDULER.with_borrow_mut(|s| s.drawn_at.insert(job.key, start));
            if now() - start > FRAME_BUDGET_MS {
                break;
            }
        }
        let again = SCHEDULER.with_borrow_mut(|s| {
            // Jobs that wait for their interval go back in front, in their order.
            while let Some(job) = waiting.pop_back() {
                s.pending.push_front(job);
            }
            s.requested = !s.pending.is_empty();
            s.requested
        });
        if again {
            request_animation_frame(run_frame);
        }
    }

    /// Draws the applet now; returns the x range drawn (for drag-to-zoom).
    pub fn draw(
        canvas: &HtmlCanvasElement,
        applet: &Applet,
        runs: &AppletRuns,
        zoom: &ViewState,
        big: bool,
        board: Board,
    ) -> Option<Range<f64>> {
        let (w, h) = (canvas.client_width(), canvas.client_height());
        if w < 20 || h < 20 {
            return None; // not laid out (a kiosk page not shown)
        }
        if canvas.width() != w as u32 {
            canvas.set_width(w as u32);
        }
        if canvas.height() != h as u32 {
            canvas.set_height(h as u32);
        }
        let perf = web_sys::window().and_then(|w| w.performance());
        let t0 = perf.as_ref().map(|p| p.now()).unwrap_or(0.0);
        let (picture, events) = board.datasets.with_untracked(|datasets| {
            board.runs.with_value(|all| {
                let inputs = Inputs {
                    live: runs.live.as_ref().and_then(|u| all.get(u)),
                    beside: runs.beside.iter().filter_map(|u| all.get(u)).collect(),
                    datasets: Some(datasets),
                };
                let events = inputs.live.map(|r| r.events).unwrap_or(0);
                let p = match applet.parsed() {
                    Ok(spec) => view::picture(&spec, &inputs, zoom, (w as u32, h as u32)),
                    Err(e) => Picture::Message(format!("this applet's {e}; edit it to fix")),
                };
                (p, events)
            })
        });
        let backend = crate::plot::canvas::Canvas::new(canvas)?;
        let root = backend.into_drawing_area();
        if let Err(e) = chart::draw(&root, &picture, Theme { big }) {
            leptos::logging::warn!("hutch: drawing applet '{}' failed: {e}", applet.name);
        }
        let _ = root.present();
        let ms = perf.map(|p| p.now() - t0).unwrap_or(0.0);
        let (points, x) = match &picture {
            Picture::Xy(c) => (
                c.series.iter().map(|s| s.points.len()).sum(),
                Some(c.x_range.clone()),
            ),
            Picture::Heatmap(h) => (h.grid.cells.len(), Some(h.grid.x_range.clone())),
            Picture::Histogram(h) => (h.counts.len(), None),
            Picture::Message(_) => (0, None),
        };
        let _ = canvas.set_attribute("data-points", &points.to_string());
        let _ = canvas.set_attribute("data-events", &events.to_string());
        if let Picture::Message(m) = &picture {
            let _ = canvas.set_attribute("data-message", m);
        } else {
            let _ = canvas.remove_attribute("data-message");
        }
        record(ms, events);
        x
    }

    /// Publishes draw times for benchmarks and curious users: `window.hutchPlots` =
    /// `{draws, ms: [the last 512 durations], events, wasmBytes}`.
    fn record(ms: f64, events: u64) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let key = JsValue::from_str("hutchPlots");
        let stats = js_sys::Reflect::get(&window, &key)
            .ok()
            .filter(|v| v.is_object())
            .unwrap_or_else(|| {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"ms".into(), &js_sys::Array::new());
                let _ = js_sys::Reflect::set(&window, &key, &o);
                o.into()
            });
        let list = js_sys::Reflect::get(&stats, &"ms".into())
            .map(|v| v.unchecked_into::<js_sys::Array>())
            .unwrap_or_default();
        list.push(&ms.into());
        if list.length() > 512 {
            list.shift();
        }
        let draws = js_sys::Reflect::get(&stats, &"draws".into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let _ = js_sys::Reflect::set(&stats, &"draws".into(), &(draws + 1.0).into());
        let _ = js_sys::Reflect::set(&stats, &"events".into(), &(events as f64).into());
        // The wasm heap (where the run columns live), for the memory benchmark.
        if let Ok(memory) = wasm_bindgen::memory().dyn_into::<js_sys::WebAssembly::Memory>() {
            let bytes = memory
                .buffer()
                .unchecked_into::<js_sys::ArrayBuffer>()
                .byte_length();
            let _ = js_sys::Reflect::set(&stats, &"wasmBytes".into(), &(bytes as f64).into());
        }
    }
}
