//! The caller's API keys: `GET`, `POST` and `DELETE /api/auth/apikey` list, make (kiosk tokens
//! too) and revoke them; an admin may list or revoke anyone's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{scopes, Identity};
use crate::http::body::Body;
use crate::http::params::{Params, QueryParams};
use crate::http::ApiError;
use crate::AppState;

/// `GET /api/auth/apikey?owner=`: an admin's view of another user's keys (`*`: everyone's).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct KeysParams {
    owner: Option<String>,
}

impl QueryParams for KeysParams {
    const ROUTE: &'static str = "GET /api/auth/apikey";
}

pub(super) async fn keys(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Params(q): Params<KeysParams>,
) -> Result<Json<Value>, ApiError> {
    let owner = match &q.owner {
        Some(o) if id.has(scopes::ADMIN) => (o != "*").then_some(o.as_str()),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "only admins may list other users' keys",
            ))
        }
        None => Some(id.user.as_str()),
    };
    let keys = state.auth.store.keys(owner).await?;
    Ok(Json(json!({"success": true, "msg": "", "api_keys": keys})))
}

hutch_body!(pub(super) CreateKey, "POST /api/auth/apikey" {
    scopes: Vec<String>,
    expires_in: Option<f64>,
    note: String,
    kiosk: bool,
});

/// `POST /api/auth/apikey`: a new key for the caller: `scopes` (a subset of theirs; `["inherit"]`
/// or none for all), `expires_in` seconds, `note`; `kiosk: true` makes a read-only kiosk token.
pub(super) async fn create_key(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Body(b): Body<CreateKey>,
) -> Result<Json<Value>, ApiError> {
    let requested = b.scopes;
    let kiosk = b.kiosk;
    let limit: Vec<&'static str> = if kiosk {
        scopes::KIOSK
            .iter()
            .copied()
            .filter(|s| id.has(s))
            .collect()
    } else {
        id.scopes.clone()
    };
    let scopes = scopes::key_scopes(&requested, &limit).map_err(ApiError::unprocessable)?;
    let expires = match b.expires_in {
        None => None,
        Some(secs) => {
            let secs = Some(secs)
                .filter(|s| *s > 0.0 && *s <= 10.0 * 366.0 * 86_400.0)
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "'expires_in' must be a number of seconds, up to ten years",
                    )
                })?;
            Some(chrono::Duration::seconds(secs as i64))
        }
    };
    let note = b.note.as_str();
    let kind = if kiosk { "kiosk" } else { "user" };
    let (key, info) = state
        .auth
        .store
        .create_key(&id.user, kind, &scopes, note, expires)
        .await?;
    Ok(Json(
        json!({"success": true, "msg": "", "key": key, "first_eight": info.first_eight,
                   "kind": kind, "scopes": info.scopes, "note": info.note,
                   "expires_at": info.expires_at}),
    ))
}

/// `DELETE /api/auth/apikey?first_eight=`: which key.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RevokeParams {
    first_eight: String,
}

impl QueryParams for RevokeParams {
    const ROUTE: &'static str = "DELETE /api/auth/apikey";
}

pub(super) async fn revoke_key(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Params(q): Params<RevokeParams>,
) -> Result<Json<Value>, ApiError> {
    let first = Some(&q.first_eight)
        .filter(|f| f.len() == 8)
        .ok_or_else(|| {
            ApiError::bad_param("give the key's first eight characters: ?first_eight=abcd1234")
        })?;
    let owner = (!id.has(scopes::ADMIN)).then_some(id.user.as_str());
    let n = state.auth.store.revoke(first, owner).await?;
    Ok(Json(json!({"success": true, "msg": "", "revoked": n})))
}
