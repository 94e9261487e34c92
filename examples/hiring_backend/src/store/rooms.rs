//! The `rooms` and `password_failures` tables: interview rooms with their hashed passwords
//! (numbered per application), and the failed password attempts the rate limit counts.

use rusqlite::{params, OptionalExtension};

use super::{ms_from_sql, ms_to_sql, Store};
use crate::BackendError;

/// An interview room of an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomRecord {
    pub room_name: String,
    pub application_id: String,
    /// 1 for the application's first room, 2 for the second...
    pub seq: u32,
    /// bcrypt hash of the room password.
    pub password_hash: String,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
}

impl Store {
    /// How many rooms were created for the application so far.
    pub fn room_count(&self, application_id: &str) -> Result<u32, BackendError> {
        let n: Option<u32> = self.conn().query_row(
            "SELECT MAX(seq) FROM rooms WHERE application_id = ?1",
            params![application_id],
            |r| r.get(0),
        )?;
        Ok(n.unwrap_or(0))
    }

    pub(crate) fn insert_room(&self, room: &RoomRecord) -> Result<(), BackendError> {
        self.conn().execute(
            "INSERT INTO rooms (room_name, application_id, seq, password_hash, created_at_ms,
                 expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                room.room_name,
                room.application_id,
                room.seq,
                room.password_hash,
                ms_to_sql(room.created_at_ms),
                ms_to_sql(room.expires_at_ms)
            ],
        )?;
        Ok(())
    }

    /// The application's newest room (the only one whose password is valid).
    pub fn latest_room(&self, application_id: &str) -> Result<Option<RoomRecord>, BackendError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT room_name, application_id, seq, password_hash, created_at_ms,
                        expires_at_ms
                 FROM rooms WHERE application_id = ?1 ORDER BY seq DESC LIMIT 1",
                params![application_id],
                |r| {
                    Ok(RoomRecord {
                        room_name: r.get(0)?,
                        application_id: r.get(1)?,
                        seq: r.get(2)?,
                        password_hash: r.get(3)?,
                        created_at_ms: ms_from_sql(r.get(4)?),
                        expires_at_ms: ms_from_sql(r.get(5)?),
                    })
                },
            )
            .optional()?)
    }

    /// Atomically: when fewer than `max` failures of the application fall in the window
    /// ending at `now_ms`, records one more (pessimistically, before the password is
    /// checked, so concurrent guesses cannot overrun the limit) and returns its id for
    /// [`Store::forget_attempt`]; otherwise None (rate limited).
    pub(crate) fn begin_attempt(
        &self,
        application_id: &str,
        now_ms: u64,
        window_ms: u64,
        max: u32,
    ) -> Result<Option<i64>, BackendError> {
        let since = ms_to_sql(now_ms.saturating_sub(window_ms));
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM password_failures WHERE application_id = ?1 AND at_ms <= ?2",
            params![application_id, since],
        )?;
        let failures: u32 = tx.query_row(
            "SELECT COUNT(*) FROM password_failures WHERE application_id = ?1 AND at_ms > ?2",
            params![application_id, since],
            |r| r.get(0),
        )?;
        if failures >= max {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO password_failures (application_id, at_ms) VALUES (?1, ?2)",
            params![application_id, ms_to_sql(now_ms)],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Some(id))
    }

    /// Drops an attempt recorded by [`Store::begin_attempt`] (it was not a failure).
    pub(crate) fn forget_attempt(&self, id: i64) -> Result<(), BackendError> {
        self.conn()
            .execute("DELETE FROM password_failures WHERE id = ?1", params![id])?;
        Ok(())
    }
}
