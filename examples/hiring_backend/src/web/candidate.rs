//! The candidate's side: the interview page and the endpoint that trades the 6-digit password
//! for a LiveKit token. The endpoint needs no operator credential; it shares the password
//! rules of `getRoomToken` (expiry, at most 5 failures per application in the window, then
//! locked). Every failure that could tell one application from another (unknown id, no room
//! yet, wrong password) gets the same answer. The password is only ever in the request body.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::Web;
use crate::BackendError;

/// `GET /interview/{applicationId}`: the same page for any id (nothing is looked up until a
/// password is given).
pub(crate) async fn page(State(web): State<Arc<Web>>) -> Response {
    web.files.page("candidate.html").await
}

#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    password: String,
}

const WRONG: &str = "That code is not right. Check the 6 digits in your invitation and try again.";
const EXPIRED: &str = "This code has expired. Ask the hiring team to send you a new invitation.";
const LOCKED: &str = "Too many wrong codes: for your security this interview is locked for a \
                      while. Try again later, or contact the hiring team.";
const UNAVAILABLE: &str =
    "The interview service is not available right now. Please try again in a few minutes.";

/// `POST /api/interview/{applicationId}/token` `{"password": "123456"}` ->
/// `{"url", "token", "roomName", "candidateName", "jobTitle", "recording"}`, or an error
/// `{"error": code, "message": text for the candidate}`: 400 `invalid_code`, 401
/// `wrong_password`, 410 `expired`, 429 `locked` (with Retry-After), 503 `unavailable`.
pub(crate) async fn token(
    State(web): State<Arc<Web>>,
    Path(application_id): Path<String>,
    body: Option<Json<TokenRequest>>,
) -> Response {
    let Some(Json(req)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_code",
            "Enter the 6 digits from your invitation.",
        );
    };
    let password = req.password.trim();
    if password.len() != 6 || !password.bytes().all(|b| b.is_ascii_digit()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_code",
            "Enter the 6 digits from your invitation.",
        );
    }
    match web.rooms.room_token(&application_id, password).await {
        Ok(t) => {
            tracing::info!(application = %application_id, room = %t.room_name, "candidate page: room token issued");
            let recording = web.store.record_audio(&application_id).unwrap_or(false);
            let mut res = Json(json!({
                "url": t.url,
                "token": t.token,
                "roomName": t.room_name,
                "candidateName": t.candidate_name,
                "jobTitle": t.job_title,
                "recording": recording,
            }))
            .into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(
            BackendError::WrongPassword
            | BackendError::UnknownApplication(_)
            | BackendError::NoRoom(_),
        ) => error(StatusCode::UNAUTHORIZED, "wrong_password", WRONG),
        Err(BackendError::PasswordExpired) => error(StatusCode::GONE, "expired", EXPIRED),
        Err(BackendError::TooManyAttempts) => {
            let mut res = error(StatusCode::TOO_MANY_REQUESTS, "locked", LOCKED);
            if let Ok(v) = HeaderValue::from_str(&web.lock_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(e) => {
            tracing::error!(application = %application_id, "candidate page: room token failed: {e}");
            error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", UNAVAILABLE)
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut res = (status, Json(json!({ "error": code, "message": message }))).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
