//! What the hiring team's console reads and changes beyond the agent's API: the application
//! list with each application's state, per-application settings (audio recording), when the
//! candidate got into a room, password rotation ("send again"), and interview recordings.
//! Each in its own table (created when missing), so older databases keep working.

use rusqlite::{params, OptionalExtension};

use super::{ms_from_sql, ms_to_sql, Store};
use crate::BackendError;

pub(crate) const CONSOLE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS application_settings (
    application_id TEXT PRIMARY KEY REFERENCES applications(id),
    record_audio INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS room_joins (
    room_name TEXT PRIMARY KEY REFERENCES rooms(room_name),
    first_token_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS recordings (
    idempotency_key TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    room TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    partial INTEGER NOT NULL,
    uploaded_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS recordings_application ON recordings(application_id);
";

/// Where an application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationState {
    /// No interview room yet.
    NotInvited,
    /// A room and a password; the candidate has not joined.
    Invited,
    /// The candidate got into the room; no result yet.
    InInterview,
    /// A final result is stored.
    Completed,
    /// Only a partial result (the agent stopped mid-interview).
    Failed,
}

/// A row of the console's application list.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplicationSummary {
    pub id: String,
    pub candidate_name: String,
    pub job_title: String,
    pub created_at_ms: u64,
    pub state: ApplicationState,
    pub room: Option<String>,
    pub average_score: Option<f64>,
    /// GraphQL enum name of the latest result's recommendation.
    pub recommendation: Option<String>,
    pub end_reason: Option<String>,
}

/// A stored recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingRecord {
    pub idempotency_key: String,
    pub application_id: String,
    pub room: String,
    /// File name in the backend's recordings directory.
    pub file: String,
    pub bytes: u64,
    pub duration_ms: u64,
    pub partial: bool,
    pub uploaded_at_ms: u64,
}

impl Store {
    pub(crate) fn set_record_audio(
        &self,
        application_id: &str,
        on: bool,
    ) -> Result<(), BackendError> {
        self.conn().execute(
            "INSERT INTO application_settings (application_id, record_audio) VALUES (?1, ?2)
             ON CONFLICT(application_id) DO UPDATE SET record_audio = excluded.record_audio",
            params![application_id, on],
        )?;
        Ok(())
    }

    /// Whether the hiring team asked for the application's interview audio to be recorded.
    pub fn record_audio(&self, application_id: &str) -> Result<bool, BackendError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT record_audio FROM application_settings WHERE application_id = ?1",
                params![application_id],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// The candidate got a token for `room` (the first time counts).
    pub(crate) fn mark_joined(&self, room: &str) -> Result<(), BackendError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO room_joins (room_name, first_token_at_ms) VALUES (?1, ?2)",
            params![room, ms_to_sql(self.now_ms())],
        )?;
        Ok(())
    }

    /// A new password for a room (the old one stops working).
    pub(crate) fn rotate_password(
        &self,
        room: &str,
        password_hash: &str,
        expires_at_ms: u64,
    ) -> Result<(), BackendError> {
        let changed = self.conn().execute(
            "UPDATE rooms SET password_hash = ?2, expires_at_ms = ?3 WHERE room_name = ?1",
            params![room, password_hash, ms_to_sql(expires_at_ms)],
        )?;
        if changed == 0 {
            return Err(BackendError::Internal(format!("room {room} vanished")));
        }
        Ok(())
    }

    /// Every application, newest first, with its state and latest result.
    pub fn application_summaries(&self) -> Result<Vec<ApplicationSummary>, BackendError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT a.id, a.candidate_name, a.job_title, a.created_at_ms,
                    (SELECT room_name FROM rooms r WHERE r.application_id = a.id
                        ORDER BY seq DESC LIMIT 1) AS room,
                    (SELECT COUNT(*) FROM room_joins j JOIN rooms r ON j.room_name = r.room_name
                        WHERE r.application_id = a.id) AS joins,
                    (SELECT partial FROM interview_results x WHERE x.application_id = a.id
                        ORDER BY partial ASC, saved_at_ms DESC, id DESC LIMIT 1) AS partial,
                    (SELECT average_score FROM interview_results x WHERE x.application_id = a.id
                        ORDER BY partial ASC, saved_at_ms DESC, id DESC LIMIT 1),
                    (SELECT recommendation FROM interview_results x WHERE x.application_id = a.id
                        ORDER BY partial ASC, saved_at_ms DESC, id DESC LIMIT 1),
                    (SELECT json_extract(result_json, '$.endReason') FROM interview_results x
                        WHERE x.application_id = a.id
                        ORDER BY partial ASC, saved_at_ms DESC, id DESC LIMIT 1)
             FROM applications a ORDER BY a.created_at_ms DESC, a.id",
        )?;
        let rows = stmt.query_map([], |r| {
            let room: Option<String> = r.get(4)?;
            let joins: i64 = r.get(5)?;
            let partial: Option<bool> = r.get(6)?;
            let state = match (partial, joins > 0, room.is_some()) {
                (Some(false), _, _) => ApplicationState::Completed,
                (Some(true), _, _) => ApplicationState::Failed,
                (None, true, _) => ApplicationState::InInterview,
                (None, false, true) => ApplicationState::Invited,
                (None, false, false) => ApplicationState::NotInvited,
            };
            Ok(ApplicationSummary {
                id: r.get(0)?,
                candidate_name: r.get(1)?,
                job_title: r.get(2)?,
                created_at_ms: ms_from_sql(r.get(3)?),
                state,
                room,
                average_score: r.get(7)?,
                recommendation: r.get(8)?,
                end_reason: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Store (or replace: a final recording replaces a partial one, a longer partial one a
    /// shorter one) the recording under an idempotency key. Returns whether it was stored.
    pub(crate) fn save_recording(&self, r: &RecordingRecord) -> Result<bool, BackendError> {
        let conn = self.conn();
        let existing: Option<(bool, i64)> = conn
            .query_row(
                "SELECT partial, bytes FROM recordings WHERE idempotency_key = ?1",
                params![r.idempotency_key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let replace = match existing {
            None => true,
            Some((old_partial, old_bytes)) => {
                (old_partial && !r.partial)
                    || (old_partial == r.partial && r.bytes as i64 > old_bytes)
            }
        };
        if replace {
            conn.execute(
                "INSERT INTO recordings (idempotency_key, application_id, room, file, bytes,
                     duration_ms, partial, uploaded_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(idempotency_key) DO UPDATE SET file = excluded.file,
                     bytes = excluded.bytes, duration_ms = excluded.duration_ms,
                     partial = excluded.partial, uploaded_at_ms = excluded.uploaded_at_ms",
                params![
                    r.idempotency_key,
                    r.application_id,
                    r.room,
                    r.file,
                    r.bytes as i64,
                    r.duration_ms as i64,
                    r.partial,
                    ms_to_sql(r.uploaded_at_ms)
                ],
            )?;
        }
        Ok(replace)
    }

    /// The application's recordings, newest first.
    pub fn recordings(&self, application_id: &str) -> Result<Vec<RecordingRecord>, BackendError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE application_id = ?1
             ORDER BY uploaded_at_ms DESC"
        ))?;
        let rows = stmt.query_map(params![application_id], recording_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The recording stored under an idempotency key.
    pub fn recording(&self, key: &str) -> Result<Option<RecordingRecord>, BackendError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE idempotency_key = ?1"),
                params![key],
                recording_row,
            )
            .optional()?)
    }
}

const RECORDING_COLUMNS: &str =
    "idempotency_key, application_id, room, file, bytes, duration_ms, partial, uploaded_at_ms";

fn recording_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordingRecord> {
    Ok(RecordingRecord {
        idempotency_key: r.get(0)?,
        application_id: r.get(1)?,
        room: r.get(2)?,
        file: r.get(3)?,
        bytes: r.get::<_, i64>(4)? as u64,
        duration_ms: r.get::<_, i64>(5)? as u64,
        partial: r.get(6)?,
        uploaded_at_ms: ms_from_sql(r.get(7)?),
    })
}
