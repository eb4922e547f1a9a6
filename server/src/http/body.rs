//! One extractor for the bluesky routes' JSON bodies: `Body<T>` reads the body (empty is `{}`:
//! bluesky clients send GETs with and without one), refuses keys the route does not take with
//! bluesky-httpserver's text, and decodes the rest into the route's typed struct, naming a
//! field whose value has the wrong type.
//!
//! A route's keys are its struct's fields (read from serde, as for query strings in
//! [`super::params`], so the list cannot drift from the struct). Every field must be optional
//! (`Option` or `#[serde(default)]`): bluesky treats a missing key as its default, and the
//! culprit of a type error is found by decoding each key alone.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::status::json_object_body;
use super::ApiError;

/// A route's body.
pub trait BodyParams: DeserializeOwned {
    /// Who takes it, for the error text: the bluesky API function the route stands for
    /// (`item_add`), or for hutch's own routes the route (`PUT /api/datasets/{key}`).
    const FUNCTION: &'static str;
    /// A bluesky route answers an unknown key as bluesky-httpserver does; hutch's own say it
    /// their way.
    const BLUESKY: bool = true;

    /// The refusal of a key the route does not take: for a bluesky route, Python's `TypeError`
    /// as bluesky-httpserver passes it on.
    fn unknown(key: &str, accepted: &[&str]) -> ApiError {
        let msg = if Self::BLUESKY {
            format!(
                "API_Async_Mixin.{}() got an unexpected keyword argument '{key}'; accepted: {}",
                Self::FUNCTION,
                accepted.join(", ")
            )
        } else {
            format!(
                "unknown key '{key}'; {} takes {}",
                Self::FUNCTION,
                accepted.join(", ")
            )
        };
        ApiError::new(StatusCode::BAD_REQUEST, msg)
    }
}

/// Declares a bluesky route's body: its bluesky function name and its keys, all optional (a
/// missing key is its default, as in bluesky). Keys bluesky clients send that hutch ignores
/// (`reload`, `user`, `user_group`: the server stamps who asked) are fields nobody reads.
macro_rules! body {
    ($name:ident, $function:literal { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        #[allow(dead_code)]
        struct $name { $($field: $ty),* }
        impl crate::http::body::BodyParams for $name {
            const FUNCTION: &'static str = $function;
        }
    };
}

/// Declares the body of one of hutch's own routes (`"PUT /api/datasets/{key}"`), optionally
/// with a visibility (for handlers used by a parent module); fields may carry serde attributes.
macro_rules! hutch_body {
    ($vis:vis $name:ident, $route:literal { $($(#[$attr:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        $vis struct $name { $($(#[$attr])* $field: $ty),* }
        impl crate::http::body::BodyParams for $name {
            const FUNCTION: &'static str = $route;
            const BLUESKY: bool = false;
        }
    };
}

/// For a key whose presence matters even when it is `null` (`{"unit": null}` clears the unit):
/// `None` absent, `Some(None)` null, `Some(Some(v))` a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// The request body, decoded into `T`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: BodyParams> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        decode(&bytes).map(Body)
    }
}

/// Decodes `body` into `T` (see the module's notes).
pub fn decode<T: BodyParams>(body: &[u8]) -> Result<T, ApiError> {
    let map = json_object_body(body)?;
    let keys = super::params::fields::<T>();
    if let Some(bad) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(T::unknown(bad, keys));
    }
    let whole = Value::Object(map);
    T::deserialize(&whole).map_err(|e| {
        let Value::Object(map) = &whole else {
            return ApiError::unprocessable(e.to_string());
        };
        // The first key that does not decode alone is the culprit.
        let culprit = map.iter().find_map(|(k, v)| {
            let one = Value::Object(Map::from_iter([(k.clone(), v.clone())]));
            T::deserialize(&one).err().map(|e| (k, v, e))
        });
        match culprit {
            Some((k, v, e)) => {
                // The value is echoed for the user to see, not whole: it came from outside.
                let text = v.to_string();
                let shown: String = text.chars().take(64).collect();
                let more = if shown.len() < text.len() { "…" } else { "" };
                ApiError::unprocessable(format!(
                    "{}: '{k}' cannot be {shown}{more}: {}",
                    T::FUNCTION,
                    expected(&e.to_string())
                ))
            }
            None => ApiError::unprocessable(format!("{}: {e}", T::FUNCTION)),
        }
    })
}

/// serde's "invalid type: string \"x\", expected a boolean" → "it must be a boolean".
fn expected(serde_msg: &str) -> String {
    match serde_msg.rsplit_once("expected ") {
        Some((_, what)) => format!("it must be {what}"),
        None => serde_msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct Sample {
        uid: Option<String>,
        replace: bool,
    }

    impl BodyParams for Sample {
        const FUNCTION: &'static str = "item_update";
    }

    fn msg(body: &str) -> (u16, String) {
        let e = decode::<Sample>(body.as_bytes()).unwrap_err();
        (e.status.as_u16(), e.msg)
    }

    #[test]
    fn decodes_typed_fields_and_an_empty_body() {
        let s: Sample = decode(br#"{"uid": "a", "replace": true}"#).unwrap();
        assert_eq!((s.uid.as_deref(), s.replace), (Some("a"), true));
        let s: Sample = decode(b"  ").unwrap();
        assert_eq!((s.uid, s.replace), (None, false));
        let s: Sample = decode(br#"{"uid": null}"#).unwrap();
        assert_eq!(s.uid, None);
    }

    #[test]
    fn refuses_unknown_keys_as_bluesky_and_names_a_mistyped_one() {
        assert_eq!(
            msg(r#"{"uid": "a", "colour": 1}"#),
            (
                400,
                "API_Async_Mixin.item_update() got an unexpected keyword argument 'colour'; accepted: uid, replace".into()
            )
        );
        assert_eq!(
            msg(r#"{"uid": "a", "replace": "yes"}"#),
            (
                422,
                "item_update: 'replace' cannot be \"yes\": it must be a boolean".into()
            )
        );
        let (status, long) = msg(&format!(r#"{{"uid": [{}]}}"#, "1,".repeat(100) + "1"));
        assert_eq!(status, 422);
        assert!(long.contains("…: it must be a string"), "{long}");
        assert_eq!(msg("[1]").0, 422);
    }
}
