//! hutch's browser app (Leptos, server-rendered then hydrated) and the wire types it shares with
//! the server and the CLI.
//!
//! # Layout
//! - [`model`]: wire types (serde only, no IO): the status dictionary, the stream protocol.
//! - `shell`: the HTML document and the [`App`] router with the navigation bar.
//! - `live`: the one WebSocket to `/api/stream` per tab, its reconnect loop, and the signals the
//!   pages read (`use_live()`).
//! - `pages`: one module per page (Monitor, ...).
//!
//! Features: `ssr` (used by the server crate) and `hydrate` (the wasm bundle). Never both.

// Deeply nested views have deeply nested types; the pages also erase them with `into_any`.
#![recursion_limit = "256"]

pub mod api;
mod board;
pub mod live;
pub mod model;
mod pages;
pub mod plot;
mod shell;
mod theme;

pub use shell::{shell, App};

/// Entry point of the wasm bundle: attaches the reactive app to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
