//! `/api/datasets`: named values that plans set and applets show.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use hutch_app::model::datasets::DatasetMeta;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::{present, Body};
use super::params::{Params, QueryParams};
use super::ApiError;
use crate::auth::scopes::{self, Need};
use crate::auth::Principal;
use crate::datasets::{DatasetError, SetRequest};
use crate::http::api::Api;
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .get("/api/datasets", Need::Scope(scopes::READ_DATASETS), list)
        .get(
            "/api/datasets/{key}",
            Need::Scope(scopes::READ_DATASETS),
            one,
        )
        .put(
            "/api/datasets/{key}",
            Need::Scope(scopes::WRITE_DATASETS),
            set,
        )
        .delete(
            "/api/datasets/{key}",
            Need::Scope(scopes::WRITE_DATASETS),
            remove,
        )
        .post(
            "/api/datasets/{key}/append",
            Need::Scope(scopes::WRITE_DATASETS),
            append,
        )
        .post(
            "/api/datasets/{key}/set_element",
            Need::Scope(scopes::WRITE_DATASETS),
            set_element,
        )
}

impl From<DatasetError> for ApiError {
    fn from(e: DatasetError) -> Self {
        match e {
            DatasetError::Invalid(_) => ApiError::unprocessable(e.to_string()),
            DatasetError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            DatasetError::Db(e) => ApiError::database(e),
        }
    }
}

/// `GET /api/datasets?prefix=`: the datasets whose key starts with `prefix`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ListParams {
    prefix: String,
}

impl QueryParams for ListParams {
    const ROUTE: &'static str = "/api/datasets";
}

async fn list(
    State(state): State<AppState>,
    Params(ListParams { prefix }): Params<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let prefix = prefix.as_str();
    Ok(Json(
        json!({"success": true, "datasets": state.datasets.list(prefix).await}),
    ))
}

async fn one(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = state
        .datasets
        .get(&key)
        .await
        .ok_or(DatasetError::NotFound(key))?;
    Ok(Json(json!({"success": true, "dataset": d})))
}

hutch_body!(SetBody, "PUT /api/datasets/{key}" {
    value: Value,
    #[serde(deserialize_with = "present")]
    unit: Option<Option<String>>,
    #[serde(deserialize_with = "present")]
    precision: Option<Option<u8>>,
    #[serde(deserialize_with = "present")]
    description: Option<Option<String>>,
    persist: Option<bool>,
});

async fn set(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(key): Path<String>,
    Body(b): Body<SetBody>,
) -> Result<Json<Value>, ApiError> {
    if b.precision.flatten().is_some_and(|p| p > 15) {
        return Err(ApiError::unprocessable(
            "'precision' must be an integer from 0 to 15 (digits after the point)",
        ));
    }
    // Any of the metadata keys (even null) replaces the metadata.
    let has_meta = b.unit.is_some() || b.precision.is_some() || b.description.is_some();
    let meta = has_meta.then(|| DatasetMeta {
        unit: b.unit.flatten(),
        precision: b.precision.flatten(),
        description: b.description.flatten(),
    });
    let req = SetRequest {
        value: b.value,
        meta,
        persist: b.persist,
    };
    let d = state.datasets.set(&key, req, &who.user).await?;
    Ok(Json(json!({"success": true, "dataset": d})))
}

async fn remove(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = state.datasets.delete(&key).await?;
    Ok(Json(json!({"success": true, "dataset": d})))
}

hutch_body!(AppendBody, "POST /api/datasets/{key}/append" {
    value: Option<Value>,
    values: Option<Vec<Value>>,
});

async fn append(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(key): Path<String>,
    Body(b): Body<AppendBody>,
) -> Result<Json<Value>, ApiError> {
    let values = match (b.value, b.values) {
        (Some(v), None) => vec![v],
        (None, Some(vs)) => vs,
        _ => {
            return Err(ApiError::unprocessable(
                "give 'value' (one) or 'values' (a list) to append",
            ))
        }
    };
    let d = state.datasets.append(&key, values, &who.user).await?;
    Ok(Json(json!({"success": true, "dataset": d})))
}

// `index` is `i` or a list of indices: read as JSON and checked below, with its own message.
hutch_body!(SetElementBody, "POST /api/datasets/{key}/set_element" {
    index: Option<Value>,
    value: Value,
});

async fn set_element(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(key): Path<String>,
    Body(b): Body<SetElementBody>,
) -> Result<Json<Value>, ApiError> {
    let index: Vec<usize> = match &b.index {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|i| vec![i as usize])
            .into_iter()
            .flatten()
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|i| i.as_u64().map(|i| i as usize))
            .collect(),
        _ => Vec::new(),
    };
    if index.is_empty() {
        return Err(ApiError::unprocessable(
            "'index' must be i or [i] for a list, [row, column] for a 2-D array",
        ));
    }
    let d = state
        .datasets
        .set_element(&key, index, b.value, &who.user)
        .await?;
    Ok(Json(json!({"success": true, "dataset": d})))
}
