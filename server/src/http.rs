//! The HTTP surface: one router per feature, assembled here, plus the Leptos pages.
//!
//! `/api/*` answers JSON only, including for unknown routes; every other path is a dashboard page
//! or a static file of the browser bundle.

// First: their `body!` and `query_params!` macros declare the request bodies and queries of
// the route modules below.
#[macro_use]
mod body;
#[macro_use]
pub(crate) mod params;
pub mod api;
mod applets;
pub mod auth;
mod datasets;
mod dispatches;
mod documents;
mod error;
mod guard;
mod login;
mod openapi;
mod plot;
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

pub use error::{limit, ApiError, LIMIT};

use crate::stream::stream_handler;
use crate::AppState;

/// Every API route, each declared with the scope it needs.
pub fn api() -> api::Api {
    use crate::auth::scopes::{self, Need};
    api::Api::new()
        .merge(status::routes())
        .merge(queue::routes())
        .merge(runs::routes())
        .merge(plot::routes())
        .merge(dispatches::routes())
        .merge(documents::routes())
        .merge(datasets::routes())
        .merge(applets::routes())
        .merge(auth::routes())
        .merge(openapi::routes())
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

/// [`hutch_app::api::ApiSource`] for server rendering: calls go through the API router with the
/// page's caller (anonymous when nobody is signed in, so the scopes still apply).
fn internal_api(
    api: Router,
    auth: crate::auth::Auth,
    who: Option<crate::auth::Identity>,
) -> hutch_app::api::ApiSource {
    use tower::ServiceExt;
    hutch_app::api::ApiSource(Arc::new(move |method, path, body| {
        let (api, auth, who) = (api.clone(), auth.clone(), who.clone());
        Box::pin(async move {
            let mut req = axum::http::Request::builder()
                .method(method)
                .uri(&path)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    body.map(|b| b.to_string()).unwrap_or_default(),
                ))
                .map_err(|e| format!("bad internal request {path}: {e}"))?;
            req.extensions_mut().insert(auth);
            req.extensions_mut().insert(match who {
                Some(id) => crate::auth::Authn::Ok(id),
                None => crate::auth::Authn::Anonymous,
            });
            let resp = api
                .oneshot(req)
                .await
                .map_err(|e| format!("internal call {path} failed: {e}"))?;
            let ok = resp.status().is_success();
            let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
                .await
                .map_err(|e| format!("internal call {path}: {e}"))?;
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            if ok {
                Ok(v)
            } else {
                Err(v["msg"].as_str().unwrap_or("refused").to_string())
            }
        })
    }))
}

/// The pages' routes, walked from the app once per process. Walking renders the app; doing it for
/// every router (each test builds its own) let two renders on different runtimes meet in Leptos's
/// process-wide state, seen as a rare hang of the HTTP tests.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let pages = page_routes();
    let board = state.status.clone();
    // Pages call the API while they render, as the signed-in caller, without a network hop.
    let internal = api().into_parts().0.with_state(state.clone());
    let auth = state.auth.clone();
    let page_context = move || {
        let board = board.clone();
        provide_context(StatusSource(Arc::new(move || board.get())));
        let who = leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::auth::Identity>().cloned());
        provide_context(internal_api(internal.clone(), auth.clone(), who));
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
        .layer(guard::timeout(guard::REQUEST_DEADLINE))
        .layer(guard::catch_panic())
        .layer(axum::middleware::map_response(guard::explain))
        .with_state(state)
}
