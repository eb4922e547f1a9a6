//! What a request presents as credentials: the `Authorization` header, `?api_key=`, or a cookie
//! (parsed here, checked by [`super::Auth`]).

use axum::http::{header, HeaderMap};

use super::{COOKIE, SESSION_COOKIE};

/// What the request presented.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    None,
    Key {
        key: String,
        cookie: bool,
    },
    Session(String),
    /// An `Authorization` scheme hutch does not know.
    BadScheme(String),
}

/// A credential given in the query string (`api_key`, `csrf`), percent-decoded as every other
/// query parameter is (`http::params`); a query that cannot be decoded presents none.
pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs
        .into_iter()
        .find_map(|(k, v)| (k == name).then_some(v))
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(String::from)
        })
        .filter(|v| !v.is_empty())
}

pub fn credentials(headers: &HeaderMap, query: Option<&str>) -> Credentials {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, key) = auth.split_once(' ').unwrap_or((auth, ""));
        return match scheme.to_ascii_lowercase().as_str() {
            "apikey" | "bearer" => Credentials::Key {
                key: key.trim().to_string(),
                cookie: false,
            },
            _ => Credentials::BadScheme(scheme.to_string()),
        };
    }
    if let Some(key) = query_param(query, "api_key") {
        return Credentials::Key { key, cookie: false };
    }
    if let Some(id) = cookie(headers, SESSION_COOKIE) {
        return Credentials::Session(id);
    }
    match cookie(headers, COOKIE) {
        Some(key) => Credentials::Key { key, cookie: true },
        None => Credentials::None,
    }
}

/// Query keys that carry credentials, which routes with strict parameter lists must ignore.
pub fn is_credential_param(key: &str) -> bool {
    key == "api_key" || key == "csrf"
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
