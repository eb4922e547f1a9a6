//! A plot applet's body: the `<canvas>` it is drawn on, drag-to-zoom, and the toolbar (zoom,
//! freeze, earlier and bookmarked runs drawn beside).

use leptos::prelude::*;

use super::runs_of;
use crate::board::use_board;
use crate::model::applets::{Applet, AppletKind};
use crate::plot::view::ViewState;

/// Drawing on the canvas (browser only).
#[cfg(feature = "hydrate")]
mod draw;

#[component]
pub(super) fn PlotBody(applet: Signal<Applet>, big: bool, readonly: bool) -> impl IntoView {
    let board = use_board();
    let runs = runs_of(applet);
    let zoom = RwSignal::new(ViewState::default());
    let frozen = RwSignal::new(false);
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    // The x range of the last drawing and the pixel columns it spans, to turn a mouse drag
    // into a zoom.
    let drawn_x = StoredValue::new(0.0..1.0);
    let drawn_px = StoredValue::new((0, 1));
    let resized = RwSignal::new(0u32);
    let theme = crate::theme::use_theme();

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
            let dark = crate::theme::dark(theme.0.get_untracked());
            let look = crate::plot::chart::Theme {
                big,
                dark,
                svg: false,
            };
            let Some(el) = canvas.get_untracked() else {
                return;
            };
            draw::schedule(key, urgent, move || {
                if let Some((x, px)) = draw::draw(&el, &a, &r, &v, look, board) {
                    drawn_x.set_value(x);
                    drawn_px.set_value(px);
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
            theme.0.track();
            redraw(true);
        });
        on_cleanup(move || draw::cancel(key));
    }

    #[cfg(not(feature = "hydrate"))]
    let _ = (board, runs, resized, theme, big);

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
        let (left, right) = drawn_px.get_value();
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
