//! One applet's body: a plot on `<canvas>` (drawn with plotters, redrawn at most once per
//! animation frame), a value readout, a table or Markdown — the same in the grid, the editor's
//! preview and the kiosk.

use leptos::prelude::*;

use crate::board::{use_board, AppletRuns};
use crate::model::applets::{Applet, AppletKind, AppletSpec, SpecError};
use crate::model::markdown::{self, Block, Inline};
use crate::plot::view::{self, Inputs, Readout};

mod plot;

use plot::PlotBody;

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
                datasets: Some(datasets),
                ..Inputs::default()
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
