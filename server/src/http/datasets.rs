//! `/api/datasets`: named values that plans set and applets show.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use hutch_app::model::datasets::DatasetMeta;
use serde::Deserialize;
use serde_json::{json, Map, Value};

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

/// A JSON object body with only the `allowed` keys.
pub(super) fn object_body(body: &Bytes, allowed: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::unprocessable(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(map) = v else {
        return Err(ApiError::unprocessable("the body must be a JSON object"));
    };
    if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::bad_param(format!(
            "unknown key '{k}'; this route takes {}",
            allowed.join(", ")
        )));
    }
    Ok(map)
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

async fn set(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = object_body(
        &body,
        &["value", "unit", "precision", "description", "persist"],
    )?;
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::unprocessable(format!("'{k}' must be a string"))),
        }
    };
    let precision = match body.get("precision") {
        None | Some(Value::Null) => None,
        Some(p) => Some(p.as_u64().filter(|p| *p <= 15).ok_or_else(|| {
            ApiError::unprocessable(
                "'precision' must be an integer from 0 to 15 (digits after the point)",
            )
        })? as u8),
    };
    let persist = match body.get("persist") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::unprocessable("'persist' must be true or false")),
    };
    let has_meta = ["unit", "precision", "description"]
        .iter()
        .any(|k| body.contains_key(*k));
    let meta = has_meta
        .then(|| -> Result<DatasetMeta, ApiError> {
            Ok(DatasetMeta {
                unit: text("unit")?,
                precision,
                description: text("description")?,
            })
        })
        .transpose()?;
    let req = SetRequest {
        value: body.get("value").cloned().unwrap_or(Value::Null),
        meta,
        persist,
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

async fn append(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = object_body(&body, &["value", "values"])?;
    let values = match (body.get("value"), body.get("values")) {
        (Some(v), None) => vec![v.clone()],
        (None, Some(Value::Array(vs))) => vs.clone(),
        _ => {
            return Err(ApiError::unprocessable(
                "give 'value' (one) or 'values' (a list) to append",
            ))
        }
    };
    let d = state.datasets.append(&key, values, &who.user).await?;
    Ok(Json(json!({"success": true, "dataset": d})))
}

async fn set_element(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = object_body(&body, &["index", "value"])?;
    let index: Vec<usize> = match body.get("index") {
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
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    let d = state
        .datasets
        .set_element(&key, index, value, &who.user)
        .await?;
    Ok(Json(json!({"success": true, "dataset": d})))
}
