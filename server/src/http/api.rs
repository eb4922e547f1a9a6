//! Where API routes are declared: each with its method, path and the scope it needs, in one
//! call. The check ([`crate::auth::require`]) is attached by the same call, and the list of
//! declarations is what `/api/auth/scopes` shows and what the route-matrix test walks, so a route
//! cannot exist without a declared need.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter};
use axum::Router;
use serde::Serialize;

use crate::auth::scopes::Need;
use crate::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    #[serde(serialize_with = "need_str")]
    pub need: Need,
    /// A WebSocket route (GET with an upgrade).
    pub websocket: bool,
}

fn need_str<S: serde::Serializer>(n: &Need, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&n.describe())
}

/// A router whose routes all carry a declared need.
pub struct Api {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    pub fn new() -> Self {
        Api {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, need: Need, ws: bool, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        let route = on(filter, h).layer(axum::middleware::from_fn_with_state(
            need,
            crate::auth::require,
        ));
        self.router = self.router.route(path, route);
        self.table.push(RouteInfo {
            method: method_name(&method),
            path,
            need,
            websocket: ws,
        });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        need: Need,
        h: H,
    ) -> Self {
        self.add(Method::GET, path, need, false, h)
    }
    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        need: Need,
        h: H,
    ) -> Self {
        self.add(Method::POST, path, need, false, h)
    }
    pub fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        need: Need,
        h: H,
    ) -> Self {
        self.add(Method::PUT, path, need, false, h)
    }
    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        need: Need,
        h: H,
    ) -> Self {
        self.add(Method::DELETE, path, need, false, h)
    }
    /// A WebSocket endpoint (a GET that upgrades).
    pub fn ws<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        need: Need,
        h: H,
    ) -> Self {
        self.add(Method::GET, path, need, true, h)
    }

    pub fn merge(mut self, other: Api) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    pub fn table(&self) -> &[RouteInfo] {
        &self.table
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>) {
        (self.router, self.table)
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}
