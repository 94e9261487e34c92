//! `POST /livekit/webhook`: LiveKit webhook receiver. The `Authorization` header must be a
//! JWT signed with the LiveKit API secret whose `sha256` claim is the base64 SHA-256 of the
//! body (how livekit-server signs webhooks; checked by livekit-api's `WebhookReceiver`).
//! room_started, room_finished, participant_joined and track_published are recorded (once
//! per event id); other events are accepted and ignored.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use livekit_api::webhooks::{WebhookError, WebhookReceiver};

use crate::store::{Store, WebhookEventRecord};

/// Events that are recorded.
pub const RECORDED_EVENTS: [&str; 4] = [
    "room_started",
    "room_finished",
    "participant_joined",
    "track_published",
];

/// State of the webhook route.
#[derive(Clone)]
pub(crate) struct WebhookState {
    pub store: Store,
    /// None without LiveKit settings (nothing to verify signatures with).
    pub receiver: Option<Arc<WebhookReceiver>>,
}

pub(crate) async fn receive(
    State(st): State<WebhookState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let Some(receiver) = &st.receiver else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "webhooks need the LiveKit API key and secret\n",
        );
    };
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return (StatusCode::UNAUTHORIZED, "missing Authorization header\n");
    };
    // livekit-server sends the bare JWT; accept a `Bearer ` prefix too.
    let token = auth.strip_prefix("Bearer ").unwrap_or(auth).trim();
    let Ok(body) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not UTF-8\n");
    };
    let event = match receiver.receive(body, token) {
        Ok(e) => e,
        Err(WebhookError::InvalidData(e)) => {
            tracing::warn!("webhook with a valid signature but an unreadable body: {e}");
            return (StatusCode::BAD_REQUEST, "body is not a webhook event\n");
        }
        Err(e) => {
            tracing::warn!("webhook rejected: {e}");
            return (StatusCode::UNAUTHORIZED, "invalid webhook signature\n");
        }
    };
    if !RECORDED_EVENTS.contains(&event.event.as_str()) {
        tracing::debug!(event = %event.event, "webhook event ignored");
        return (StatusCode::OK, "ignored\n");
    }
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let created_at_ms = u64::try_from(event.created_at)
        .ok()
        .filter(|&s| s > 0)
        .map(|s| s.saturating_mul(1000))
        .unwrap_or_else(|| st.store.now_ms());
    let record = WebhookEventRecord {
        event_id: non_empty(&event.id),
        event: event.event.clone(),
        room: event.room.as_ref().and_then(|r| non_empty(&r.name)),
        participant_identity: event
            .participant
            .as_ref()
            .and_then(|p| non_empty(&p.identity)),
        track_sid: event.track.as_ref().and_then(|t| non_empty(&t.sid)),
        created_at_ms,
        body_json: body.to_string(),
    };
    match st.store.record_webhook_event(&record) {
        Ok(true) => {
            tracing::info!(event = %record.event, room = ?record.room, "webhook event recorded");
            (StatusCode::OK, "ok\n")
        }
        Ok(false) => (StatusCode::OK, "duplicate\n"),
        Err(e) => {
            tracing::error!("recording a webhook event: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not record the event\n",
            )
        }
    }
}
