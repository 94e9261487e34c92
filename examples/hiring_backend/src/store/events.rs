//! The `webhook_events` table: LiveKit webhook events the backend recorded.

use rusqlite::params;

use super::{ms_from_sql, ms_to_sql, Store};
use crate::BackendError;

/// One recorded LiveKit webhook event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEventRecord {
    /// LiveKit's event id (`EV_...`); retried deliveries carry the same id and are stored once.
    pub event_id: Option<String>,
    /// e.g. "room_started", "participant_joined".
    pub event: String,
    pub room: Option<String>,
    pub participant_identity: Option<String>,
    pub track_sid: Option<String>,
    /// When LiveKit created the event (its `createdAt`, else when it was received).
    pub created_at_ms: u64,
    /// The event as received (protobuf JSON).
    pub body_json: String,
}

impl Store {
    /// Records an event; false when an event with the same id was recorded before.
    pub(crate) fn record_webhook_event(
        &self,
        e: &WebhookEventRecord,
    ) -> Result<bool, BackendError> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO webhook_events (event_id, event, room, participant_identity,
                 track_sid, created_at_ms, received_at_ms, body_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                e.event_id,
                e.event,
                e.room,
                e.participant_identity,
                e.track_sid,
                ms_to_sql(e.created_at_ms),
                ms_to_sql(self.now_ms()),
                e.body_json
            ],
        )?;
        Ok(n == 1)
    }

    /// Recorded events in arrival order, only those of `room` when given.
    pub fn webhook_events(
        &self,
        room: Option<&str>,
    ) -> Result<Vec<WebhookEventRecord>, BackendError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT event_id, event, room, participant_identity, track_sid, created_at_ms,
                    body_json
             FROM webhook_events WHERE ?1 IS NULL OR room = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![room], |r| {
            Ok(WebhookEventRecord {
                event_id: r.get(0)?,
                event: r.get(1)?,
                room: r.get(2)?,
                participant_identity: r.get(3)?,
                track_sid: r.get(4)?,
                created_at_ms: ms_from_sql(r.get(5)?),
                body_json: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
