//! The plain HTML pages the auth layer answers a browser with: a refusal for a signed-in user,
//! and the self-retrying notice a kiosk screen shows instead of a login form.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// `text` safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A plain page saying why a signed-in browser is refused (403).
pub(super) fn forbidden_page(why: &str) -> Response {
    let why = escape(why);
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hutch: refused</title></head>\
         <body><h1>hutch: refused</h1><p data-testid=\"refused\">{why}.</p><p><a href=\"/login\">Sign in</a></p></body></html>"
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// A wall screen is never sent to a login form: it says what it needs and tries again by itself
/// (so it recovers once the key is valid again, e.g. after a server restart with the same key).
pub(super) fn kiosk_refused(why: &str) -> Response {
    let why = if why.is_empty() {
        "this screen has no key".to_string()
    } else {
        escape(why)
    };
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"30\"><title>hutch kiosk</title>\
         <style>body{{font:2rem system-ui,sans-serif;margin:3rem;color:#1b1f24}}</style></head><body>\
         <h1>hutch kiosk: no valid key</h1><p data-testid=\"kiosk-refused\">{why}.</p>\
         <p>Open <code>/kiosk?dashboard=NAME&amp;api_key=TOKEN</code> once on this screen with a \
         read-only kiosk token (<code>hutch apikey create --kiosk</code>) or, in single-user mode, \
         the server's API key. This page tries again every 30 seconds.</p></body></html>"
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}
