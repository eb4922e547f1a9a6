//! One extractor for every route's query string: `Params<T>` decodes it into a typed struct and
//! refuses what the struct does not take with an [`ApiError`] that names the parameter.
//!
//! The parameters a route takes are the fields of its struct (read from serde, so the list
//! cannot drift from the struct); the credentials a browser may put in the query (`api_key`,
//! `csrf`) are allowed everywhere and left to the auth layer.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::{self, DeserializeOwned, Visitor};

use super::ApiError;
use crate::auth::is_credential_param;

/// A query whose parameters all take one kind of value:
/// `query_params!(Name, "/api/route", "what each value must be" { field: Option<T>, … });`
/// declares the struct (every field optional) and its [`QueryParams`].
macro_rules! query_params {
    ($(#[$m:meta])* $name:ident, $route:literal, $expects:literal { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct $name {
            $($field: $ty),*
        }

        impl $crate::http::params::QueryParams for $name {
            const ROUTE: &'static str = $route;
            fn expects(_: &str) -> &'static str {
                $expects
            }
        }
    };
}

/// A route's query parameters.
pub trait QueryParams: DeserializeOwned {
    /// Who takes them, for the error text: `"/api/runs"`.
    const ROUTE: &'static str;
    /// A page (not an API route) ignores parameters it does not know, and repeats of one it
    /// does, instead of refusing them.
    const LENIENT: bool = false;
    /// What a typed parameter's value must be, for the error text: `"an integer"`.
    fn expects(key: &str) -> &'static str {
        let _ = key;
        "valid"
    }
}

/// The query string of a request, decoded into `T`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: QueryParams> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        decode(parts.uri.query().unwrap_or("")).map(Params)
    }
}

/// Decode `query` into `T`: unknown or repeated parameters and values of the wrong type are
/// refused with a message that names the parameter and what it must be.
pub fn decode<T: QueryParams>(query: &str) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::bad_param(format!("the query string could not be read: {e}")))?;
    let keys = fields::<T>();
    let mut kept: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        if is_credential_param(&k) {
            continue;
        }
        if !keys.contains(&k.as_str()) {
            if T::LENIENT {
                continue;
            }
            return Err(ApiError::bad_param(format!(
                "unknown parameter '{k}'; {} takes {}",
                T::ROUTE,
                keys.join(", ")
            )));
        }
        if kept.iter().any(|(seen, _)| *seen == k) {
            if T::LENIENT {
                continue;
            }
            return Err(ApiError::bad_param(format!(
                "'{k}' is given twice; give it once"
            )));
        }
        kept.push((k, v));
    }
    let encoded = serde_urlencoded::to_string(&kept).unwrap_or_default();
    serde_urlencoded::from_str::<T>(&encoded).map_err(|e| {
        // Name the parameter: the first that does not decode alone is the culprit.
        let culprit = kept.iter().find(|pair| {
            serde_urlencoded::to_string([pair])
                .ok()
                .is_some_and(|one| serde_urlencoded::from_str::<T>(&one).is_err())
        });
        match culprit {
            Some((k, v)) => {
                // The value is echoed for the user to see, not whole: it came from outside.
                let shown: String = v.chars().take(64).collect();
                let more = if shown.len() < v.len() { "…" } else { "" };
                ApiError::bad_param(format!(
                    "'{k}' must be {}, got '{shown}{more}'",
                    T::expects(k)
                ))
            }
            None => ApiError::bad_param(format!("the query parameters do not fit together: {e}")),
        }
    })
}

/// The field names of struct `T`, as serde knows them.
pub(super) fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// A deserializer that only records the field list serde hands to `deserialize_struct`.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Recorded
    }
}

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = Recorded;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Recorded> {
        *self.0 = fields;
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct Sample {
        limit: Option<i64>,
        name: Option<String>,
    }

    impl QueryParams for Sample {
        const ROUTE: &'static str = "/api/sample";
        fn expects(key: &str) -> &'static str {
            match key {
                "limit" => "an integer",
                _ => "text",
            }
        }
    }

    fn msg(query: &str) -> String {
        decode::<Sample>(query).unwrap_err().msg
    }

    #[test]
    fn decodes_typed_values_and_percent_escapes() {
        let s: Sample = decode("limit=7&name=a%20b+c&api_key=k").unwrap();
        assert_eq!(s.limit, Some(7));
        assert_eq!(s.name.as_deref(), Some("a b c"));
        assert!(decode::<Sample>("").unwrap().limit.is_none());
    }

    #[test]
    fn refuses_unknown_repeated_and_mistyped_parameters_by_name() {
        assert_eq!(
            msg("colour=red"),
            "unknown parameter 'colour'; /api/sample takes limit, name"
        );
        assert_eq!(msg("name=a&name=b"), "'name' is given twice; give it once");
        assert_eq!(
            msg("name=x&limit=ten"),
            "'limit' must be an integer, got 'ten'"
        );
        let long = msg(&format!("limit={}", "9".repeat(500)));
        assert!(
            long.ends_with(&format!("got '{}…'", "9".repeat(64))),
            "{long}"
        );
    }
}
