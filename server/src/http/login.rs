//! `GET /login`: the sign-in page, plain server-rendered HTML (no script needed), posting to
//! `/api/auth/login`. Multi-user mode asks for a user name and password; single-user mode for the
//! key hutch printed at start.

use axum::extract::State;
use axum::response::Html;

use serde::Deserialize;

use super::params::{Params, QueryParams};
use crate::auth::Mode;
use crate::AppState;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `?next=` the page to go to after signing in; `?error=` why the last try failed.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PageParams {
    next: Option<String>,
    error: Option<String>,
}

impl QueryParams for PageParams {
    const ROUTE: &'static str = "/login";
    const LENIENT: bool = true;
}

pub async fn page(State(state): State<AppState>, Params(q): Params<PageParams>) -> Html<String> {
    let next = q.next.as_deref().unwrap_or("/");
    let error = q
        .error
        .as_deref()
        .map(|e| {
            format!(
                r#"<p class="error" role="alert" id="login-error">{}</p>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    let fields = match state.auth.mode {
        Mode::Multi => {
            r#"<p><label for="username">User name</label><br>
<input id="username" name="username" autocomplete="username" required autofocus></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>"#
        }
        Mode::Single => {
            r#"<p><label for="api_key">API key</label><br>
<input id="api_key" name="api_key" type="password" autocomplete="off" required autofocus></p>
<p class="muted">hutch prints its key when it starts, with a link that signs you in; it is also
in the file <code>api_key</code> of hutch's data directory.</p>"#
        }
    };
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · hutch</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/pkg/hutch.css"></head>
<body><header class="topbar"><a class="brand" href="/">hutch</a></header>
<main id="main"><section class="panel login">
<h1>Sign in</h1>{error}
<form method="post" action="/api/auth/login">
<input type="hidden" name="next" value="{next}">
{fields}
<p><button type="submit">Sign in</button></p>
</form></section></main></body></html>"#,
        next = escape(next),
    ))
}
