//! Interview recordings: the agent uploads each interview's audio (Ogg/Opus) after its result
//! (`PUT /api/recordings/{idempotencyKey}`, the API token, metadata in headers, the body
//! streamed to disk then renamed into place); operators download them
//! (`GET /console/recordings/{idempotencyKey}`). Idempotent on the key like results: a
//! replay stores nothing new, a final recording replaces a partial one.

use std::path::PathBuf;
use std::sync::Arc;

use async_graphql::futures_util::StreamExt;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::Web;
use crate::store::RecordingRecord;

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn bad(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// Keys are the agent's idempotency keys: `iv-` + letters, digits and dashes.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `PUT /api/recordings/{key}` with `X-Application-Id`, `X-Room`, `X-Partial: true|false`,
/// `X-Duration-Ms`; body `audio/ogg`. 201 stored, 200 already stored (nothing new), 400, 401,
/// 404 unknown application.
pub(crate) async fn upload(
    State(web): State<Arc<Web>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !web.auth.access(&headers).operator {
        return bad(
            StatusCode::UNAUTHORIZED,
            "send Authorization: Bearer <api token>",
        );
    }
    let (Some(app), Some(room)) = (
        header_str(&headers, "x-application-id"),
        header_str(&headers, "x-room"),
    ) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "X-Application-Id and X-Room are required",
        );
    };
    if !valid_key(&key) {
        return bad(StatusCode::BAD_REQUEST, "invalid idempotency key");
    }
    match web.store.application(app) {
        Ok(Some(_)) => {}
        Ok(None) => return bad(StatusCode::NOT_FOUND, "unknown application"),
        Err(e) => return bad(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
    let partial = header_str(&headers, "x-partial") == Some("true");
    let duration_ms: u64 = header_str(&headers, "x-duration-ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let suffix = if partial { "partial" } else { "final" };
    let file = format!("{key}.{suffix}.ogg");
    let path = web.recordings_dir.join(&file);
    let tmp = web
        .recordings_dir
        .join(format!("{file}.{:08x}.tmp", rand::random::<u32>()));
    let bytes = match write_body(body, &tmp).await {
        Ok(n) => n,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            tracing::warn!(%key, "recording upload failed: {e}");
            return bad(StatusCode::BAD_REQUEST, &format!("upload failed: {e}"));
        }
    };
    if bytes < 27 || !starts_with_ogg(&tmp).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return bad(StatusCode::BAD_REQUEST, "not an Ogg file");
    }
    let record = RecordingRecord {
        idempotency_key: key.clone(),
        application_id: app.to_string(),
        room: room.to_string(),
        file: file.clone(),
        bytes,
        duration_ms,
        partial,
        uploaded_at_ms: web.store.now_ms(),
    };
    if let Err(e) = tokio::fs::rename(&tmp, &path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return bad(StatusCode::INTERNAL_SERVER_ERROR, &format!("storing: {e}"));
    }
    match web.store.save_recording(&record) {
        Ok(true) => {
            tracing::info!(%key, application = app, bytes, partial, "interview recording stored");
            (StatusCode::CREATED, Json(json!({ "stored": true }))).into_response()
        }
        Ok(false) => (
            StatusCode::OK,
            Json(json!({ "stored": false, "duplicate": true })),
        )
            .into_response(),
        Err(e) => bad(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn write_body(body: Body, path: &PathBuf) -> std::io::Result<u64> {
    let mut out = tokio::fs::File::create(path).await?;
    let mut stream = body.into_data_stream();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        n += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.sync_all().await?;
    Ok(n)
}

async fn starts_with_ogg(path: &PathBuf) -> bool {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 4];
    match tokio::fs::File::open(path).await {
        Ok(mut f) => f.read_exact(&mut head).await.is_ok() && &head == b"OggS",
        Err(_) => false,
    }
}

/// `GET /console/recordings/{key}` (operator): the Ogg/Opus file.
pub(crate) async fn download(
    State(web): State<Arc<Web>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !web.auth.access(&headers).operator {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let record = match web.store.recording(&key) {
        Ok(Some(r)) => r,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return bad(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    match tokio::fs::read(web.recordings_dir.join(&record.file)).await {
        Ok(bytes) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/ogg"));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            res
        }
        Err(e) => {
            tracing::error!(%key, "recording file missing: {e}");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}
