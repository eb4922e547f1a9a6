//! Tests of the auth module root: where credentials are read from, key comparison, the socket
//! origin check and URL encoding.

use super::*;
use axum::http::{HeaderMap, HeaderValue};

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn key(k: &str, cookie: bool) -> Credentials {
    Credentials::Key {
        key: k.into(),
        cookie,
    }
}

#[test]
fn credentials_come_from_header_query_session_or_cookie() {
    assert_eq!(
        credentials(&headers(&[("authorization", "ApiKey abc")]), None),
        key("abc", false)
    );
    assert_eq!(
        credentials(&headers(&[("authorization", "apikey abc")]), None),
        key("abc", false)
    );
    assert_eq!(
        credentials(&headers(&[("authorization", "Bearer abc")]), None),
        key("abc", false)
    );
    assert_eq!(
        credentials(&headers(&[("authorization", "Token abc")]), None),
        Credentials::BadScheme("Token".into())
    );
    assert_eq!(
        credentials(&headers(&[]), Some("x=1&api_key=q1")),
        key("q1", false)
    );
    assert_eq!(
        credentials(&headers(&[]), Some("my_api_key=q1")),
        Credentials::None
    );
    assert_eq!(
        credentials(&headers(&[("cookie", "a=b; hutch_api_key=c1")]), None),
        key("c1", true)
    );
    assert_eq!(
        credentials(
            &headers(&[("cookie", "hutch_api_key=c1; hutch_session=s1")]),
            None
        ),
        Credentials::Session("s1".into()),
        "a session wins over a key cookie"
    );
    assert_eq!(credentials(&headers(&[]), None), Credentials::None);
}

#[test]
fn key_comparison() {
    assert!(key_matches("abc", "abc"));
    assert!(!key_matches("abd", "abc"));
    assert!(!key_matches("ab", "abc"));
}

#[test]
fn websocket_origin_must_be_this_host() {
    assert!(same_origin(&headers(&[
        ("host", "h:1"),
        ("origin", "http://h:1")
    ])));
    assert!(same_origin(&headers(&[
        ("host", "h:1"),
        ("origin", "https://h:1")
    ])));
    assert!(!same_origin(&headers(&[
        ("host", "h:1"),
        ("origin", "https://evil.example")
    ])));
    assert!(
        same_origin(&headers(&[("host", "h:1")])),
        "no Origin: not a browser"
    );
}

#[test]
fn urlencode_keeps_paths_readable() {
    assert_eq!(
        urlencode("/history?status=failed&x=a b"),
        "/history%3Fstatus%3Dfailed%26x%3Da%20b"
    );
}

#[test]
fn query_credentials_are_percent_decoded_and_matched_by_whole_name() {
    assert_eq!(
        query_param(Some("a=1&api_key=k%2Bx%3D"), "api_key").as_deref(),
        Some("k+x=")
    );
    assert_eq!(query_param(Some("api_keys=1"), "api_key"), None);
    assert_eq!(
        query_param(Some("csrf=a+b"), "csrf").as_deref(),
        Some("a b")
    );
    assert_eq!(query_param(None, "csrf"), None);
}
