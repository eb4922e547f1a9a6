//! Document ingest: `POST /api/documents` and the WebSocket `/api/documents/ws` for publishers
//! that send many batches a second. Both store through the one writer (validation by the
//! event-model rules, references and uniqueness checked in the storing transaction) and
//! acknowledge only what is committed; a rejected batch stores nothing.

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use futures_util::stream::{FuturesOrdered, StreamExt};
use serde_json::{json, Value};

use super::ApiError;
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::runs::store::StoreError;
use crate::runs::validate;
use crate::AppState;

/// The largest batch accepted, in bytes (a request body or a WebSocket message).
pub const MAX_BATCH_BYTES: usize = 32 * 1024 * 1024;
/// Batches a WebSocket publisher may have waiting for their acknowledgement.
const IN_FLIGHT: usize = 32;
/// Request bodies being read, parsed or stored at once, in KiB (256 MiB): the memory ingest may
/// take. A request beyond it waits for others to be stored (backpressure, never a refusal); one
/// budget for the process, since the memory is the process's.
const INGEST_BUDGET_KIB: usize = 256 * 1024;
static INGEST_BUDGET: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(INGEST_BUDGET_KIB);

pub fn routes() -> Api {
    Api::new()
        .post(
            "/api/documents",
            Need::Scope(scopes::PUBLISH_DOCUMENTS),
            ingest,
        )
        .ws(
            "/api/documents/ws",
            Need::Scope(scopes::PUBLISH_DOCUMENTS),
            ingest_ws,
        )
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the body is larger than the {} MiB a batch may be; send the documents in smaller batches",
            MAX_BATCH_BYTES / (1024 * 1024)
        ),
    )
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid { .. } | StoreError::Unplaced(_) => {
            ApiError::unprocessable(format!("{e}; nothing of this batch was stored"))
        }
        StoreError::Database(msg) => {
            tracing::error!("storing documents failed: {msg}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the database could not store the documents; see the server log",
            )
        }
        StoreError::Gone => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Parses a batch; errors say what to fix.
fn parse(bytes: &[u8]) -> Result<Vec<(String, Value)>, ApiError> {
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_param(format!("the body is not valid JSON: {e}")))?;
    validate::parse_batch(body).map_err(ApiError::unprocessable)
}

async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BATCH_BYTES) {
        return Err(too_large());
    }
    // A body of unknown length may be as large as a batch can be.
    let kib = declared.unwrap_or(MAX_BATCH_BYTES).div_ceil(1024).max(1);
    let _budget = INGEST_BUDGET
        .acquire_many(kib as u32)
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "hutch is shutting down"))?;
    let bytes = axum::body::to_bytes(body, MAX_BATCH_BYTES)
        .await
        .map_err(|_| too_large())?;
    let docs = parse(&bytes)?;
    let stored = state.docs.store(docs, None).await.map_err(store_error)?;
    Ok(Json(json!({"success": true, "stored": stored})))
}

async fn ingest_ws(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let recheck = crate::auth::Recheck::new(&state.auth, &headers, uri.query());
    ws.max_message_size(MAX_BATCH_BYTES)
        .on_upgrade(move |socket| serve(socket, state, recheck))
}

fn reply(frame: u64, outcome: Result<usize, ApiError>) -> Message {
    let v = match outcome {
        Ok(stored) => json!({"type": "ack", "frame": frame, "stored": stored}),
        Err(e) => {
            json!({"type": "error", "frame": frame, "status": e.status.as_u16(), "msg": e.msg})
        }
    };
    Message::Text(v.to_string().into())
}

/// Frames are numbered from 1 in arrival order; each gets an `ack` or an `error` with its
/// number, in order, once its documents are committed (or refused).
async fn serve(mut socket: WebSocket, state: AppState, recheck: crate::auth::Recheck) {
    let mut frame: u64 = 0;
    // The publisher's key is asked again this often: a revoked key stops publishing.
    let mut recheck_tick = tokio::time::interval(state.config.heartbeat);
    recheck_tick.tick().await;
    let mut waiting = FuturesOrdered::new();
    // A frame read off the socket, waiting for its share of the ingest budget.
    let mut held: Option<(u64, Vec<u8>)> = None;
    let stopping = crate::stopping(state.shutdown.clone());
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            () = &mut stopping, if waiting.is_empty() && held.is_none() => break,
            _ = recheck_tick.tick() => {
                if let Some(why) = recheck.lost(crate::auth::scopes::PUBLISH_DOCUMENTS).await {
                    let msg = json!({"type": "error", "frame": null, "status": 401, "msg": why});
                    let _ = socket.send(Message::Text(msg.to_string().into())).await;
                    break;
                }
            }
            Some((n, outcome)) = waiting.next(), if !waiting.is_empty() => {
                if socket.send(reply(n, outcome)).await.is_err() {
                    break;
                }
            }
            msg = socket.recv(), if held.is_none() && waiting.len() < IN_FLIGHT => {
                let bytes = match msg {
                    Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(Message::Binary(b))) => b.to_vec(),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break,
                };
                frame += 1;
                held = Some((frame, bytes));
            }
        }
        // A frame read but not yet admitted takes its share of the ingest budget first. With
        // none of this socket's frames pending it may wait for the budget (others free it);
        // otherwise it waits, unread frames behind it, until one of ours is acknowledged.
        if let Some((n, bytes)) = held.take() {
            let kib = bytes.len().div_ceil(1024).max(1) as u32;
            let permit = match INGEST_BUDGET.try_acquire_many(kib) {
                Ok(p) => p,
                Err(_) if !waiting.is_empty() => {
                    held = Some((n, bytes));
                    continue;
                }
                Err(_) => match INGEST_BUDGET.acquire_many(kib).await {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            waiting.push_back(submit_frame(&state, n, &bytes, permit).await);
        }
    }
    // Whatever is still waiting was accepted by the writer; say so before closing.
    while let Some((n, outcome)) = waiting.next().await {
        if socket.send(reply(n, outcome)).await.is_err() {
            return;
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

/// Parses frame `n` and hands it to the writer (in arrival order: this is awaited before the
/// next frame is read); the future answers once it is committed or refused, and frees its
/// share of the ingest budget then.
async fn submit_frame(
    state: &AppState,
    n: u64,
    bytes: &[u8],
    budget: tokio::sync::SemaphorePermit<'static>,
) -> Pending {
    let docs = match parse(bytes) {
        Ok(d) => d,
        Err(e) => return Box::pin(async move { (n, Err(e)) }),
    };
    match state.docs.submit(docs).await {
        Ok(rx) => Box::pin(async move {
            let outcome = rx.await.unwrap_or(Err(StoreError::Gone));
            drop(budget);
            (n, outcome.map_err(store_error))
        }),
        Err(e) => Box::pin(async move { (n, Err(store_error(e))) }),
    }
}

type Pending =
    std::pin::Pin<Box<dyn std::future::Future<Output = (u64, Result<usize, ApiError>)> + Send>>;
