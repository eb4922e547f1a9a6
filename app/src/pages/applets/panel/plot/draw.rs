//! Drawing plot applets on their canvas, in the browser: a scheduler that spreads redraws over
//! animation frames, and the drawing itself, whose timings are published for benchmarks.

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

/// Draws the applet now; returns the x range drawn and the pixel columns it spans (for
/// drag-to-zoom).
pub fn draw(
    canvas: &HtmlCanvasElement,
    applet: &Applet,
    runs: &AppletRuns,
    zoom: &ViewState,
    theme: Theme,
    board: Board,
) -> Option<(Range<f64>, (i32, i32))> {
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
    // (picture, events of the live run, the run drawn and the field the live run lacks)
    let (picture, events, shown) = board.datasets.with_untracked(|datasets| {
        board.runs.with_value(|all| {
            let inputs = Inputs {
                live: runs.live.as_ref().and_then(|u| all.get(u)),
                beside: runs.beside.iter().filter_map(|u| all.get(u)).collect(),
                datasets: Some(datasets),
                kept: runs.kept.as_ref().and_then(|u| all.get(u)),
            };
            let events = inputs.live.map(|r| r.events).unwrap_or(0);
            match applet.parsed() {
                Ok(spec) => {
                    let p = view::picture(&spec, &inputs, zoom, (w as u32, h as u32));
                    let shown = view::drawn_run(&spec, &inputs)
                        .filter(|_| !matches!(p, Picture::Message(_)))
                        .map(|(r, lacks)| (r.uid.clone(), lacks));
                    (p, events, shown)
                }
                Err(e) => (
                    Picture::Message(format!("this applet's {e}; edit it to fix")),
                    events,
                    None,
                ),
            }
        })
    });
    let backend = crate::plot::canvas::Canvas::new(canvas)?;
    let root = backend.into_drawing_area();
    let pixels = match chart::draw(&root, &picture, theme) {
        Ok(p) => p,
        Err(e) => {
            leptos::logging::warn!("hutch: drawing applet '{}' failed: {e}", applet.name);
            None
        }
    };
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
    // Which run is drawn, and when it is not the live one, the field that one lacks.
    let (run, lacks) = shown.unwrap_or_default();
    // Remember the run drawn, for when the next one lacks the field (a change only when it is
    // another run: the board then lets go of the run kept before).
    if !run.is_empty()
        && board
            .drawn
            .with_untracked(|d| d.get(&applet.uid) != Some(&run))
    {
        board.drawn.update(|d| {
            d.insert(applet.uid.clone(), run.clone());
        });
    }
    for (key, value) in [("data-run", Some(run)), ("data-lacks", lacks)] {
        match value.filter(|v| !v.is_empty()) {
            Some(v) => {
                let _ = canvas.set_attribute(key, &v);
            }
            None => {
                let _ = canvas.remove_attribute(key);
            }
        }
    }
    if let Picture::Message(m) = &picture {
        let _ = canvas.set_attribute("data-message", m);
    } else {
        let _ = canvas.remove_attribute("data-message");
    }
    record(ms, events);
    x.zip(pixels)
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
