//! The HTTP surface: one router per feature, assembled here, plus the Leptos pages.
//!
//! `/api/*` answers JSON only, including for unknown routes; every other path is a dashboard page
//! or a static file of the browser bundle.

pub mod api;
mod applets;
pub mod auth;
mod datasets;
mod dispatches;
mod documents;
mod error;
mod guard;
mod login;
mod queue;
mod runs;
mod status;

use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use hutch_app::live::StatusSource;
use hutch_app::{shell, App};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

pub use error::{limit_param, ApiError};

use crate::stream::stream_handler;
use crate::AppState;

/// Every API route, each declared with the scope it needs.
pub fn api() -> api::Api {
    use crate::auth::scopes::{self, Need};
    api::Api::new()
        .merge(status::routes())
        .merge(queue::routes())
        .merge(runs::routes())
        .merge(dispatches::routes())
        .merge(documents::routes())
        .merge(datasets::routes())
        .merge(applets::routes())
        .merge(auth::routes())
        .ws("/api/stream", Need::Stream, stream_handler)
        .ws(
            "/api/status/ws",
            Need::Scope(scopes::READ_MONITOR),
            crate::stream::status_ws,
        )
        .ws(
            "/api/info/ws",
            Need::Scope(scopes::READ_MONITOR),
            crate::stream::status_ws,
        )
        .ws(
            "/api/console_output/ws",
            Need::Scope(scopes::READ_CONSOLE),
            crate::stream::console_ws,
        )
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let pages = generate_route_list(App);
    let board = state.status.clone();
    let page_context = move || {
        let board = board.clone();
        provide_context(StatusSource(Arc::new(move || board.get())));
    };
    let leptos_options = state.leptos.clone();
    let (api, _) = api().into_parts();
    api.route("/api/{*rest}", any(error::api_not_found))
        .route("/login", axum::routing::get(login::page))
        .leptos_routes_with_context(&state, pages, page_context, move || {
            shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            crate::auth::layer,
        ))
        .layer(axum::middleware::from_fn(guard::layer))
        .with_state(state)
}
