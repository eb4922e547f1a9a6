//! The HTTP surface: one router per feature, assembled here, plus the Leptos pages.
//!
//! `/api/*` answers JSON only, including for unknown routes; every other path is a dashboard page
//! or a static file of the browser bundle.

mod applets;
mod datasets;
mod dispatches;
mod documents;
mod error;
mod queue;
mod runs;
mod status;

use std::sync::Arc;

use axum::routing::{any, get};
use axum::Router;
use hutch_app::live::StatusSource;
use hutch_app::{shell, App};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

pub use error::{limit_param, ApiError};

use crate::stream::stream_handler;
use crate::AppState;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let pages = generate_route_list(App);
    let board = state.status.clone();
    let page_context = move || {
        let board = board.clone();
        provide_context(StatusSource(Arc::new(move || board.get())));
    };
    let leptos_options = state.leptos.clone();
    Router::new()
        .merge(status::routes())
        .merge(queue::routes())
        .merge(runs::routes())
        .merge(dispatches::routes())
        .merge(documents::routes())
        .merge(datasets::routes())
        .merge(applets::routes())
        .route("/api/stream", get(stream_handler))
        .route("/api/status/ws", get(crate::stream::status_ws))
        .route("/api/info/ws", get(crate::stream::status_ws))
        .route("/api/console_output/ws", get(crate::stream::console_ws))
        .route("/api/{*rest}", any(error::api_not_found))
        .leptos_routes_with_context(&state, pages, page_context, move || {
            shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::layer,
        ))
        .with_state(state)
}
