//! [`Store`]: the SQLite database (one connection behind a mutex; statements are short, so
//! they run inline on the async runtime) and its schema. The tables live in one submodule
//! each: applications, interview results, rooms + password attempts, webhook events, and the
//! console's (settings, joins, recordings).

mod applications;
mod console;
mod events;
mod results;
mod rooms;

pub use applications::{ApplicationRecord, NewApplication};
pub use console::{ApplicationState, ApplicationSummary, RecordingRecord};
pub use events::WebhookEventRecord;
pub(crate) use results::ResultToSave;
pub use results::{ResultRow, StoredResult};
pub use rooms::RoomRecord;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::clock::Clock;
use crate::BackendError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS applications (
    id TEXT PRIMARY KEY,
    candidate_name TEXT NOT NULL,
    candidate_email TEXT,
    candidate_phone TEXT,
    job_title TEXT NOT NULL,
    job_description TEXT,
    questions_json TEXT NOT NULL,
    language TEXT,
    voice_gender TEXT,
    max_duration_seconds INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS interview_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL REFERENCES applications(id),
    room TEXT NOT NULL,
    partial INTEGER NOT NULL,
    average_score REAL,
    recommendation TEXT NOT NULL,
    summary TEXT NOT NULL,
    result_json TEXT NOT NULL,
    saved_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS interview_results_application
    ON interview_results(application_id);
CREATE TABLE IF NOT EXISTS rooms (
    room_name TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    seq INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    UNIQUE (application_id, seq)
);
CREATE TABLE IF NOT EXISTS password_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS password_failures_application
    ON password_failures(application_id, at_ms);
CREATE TABLE IF NOT EXISTS webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT,
    event TEXT NOT NULL,
    room TEXT,
    participant_identity TEXT,
    track_sid TEXT,
    created_at_ms INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    body_json TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS webhook_events_event_id
    ON webhook_events(event_id) WHERE event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS webhook_events_room ON webhook_events(room);
";

/// The backend's database. Cheap to clone (clones share the connection).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    clock: Clock,
    /// `saveInterviewResult` calls this instance received.
    save_attempts: AtomicU64,
}

impl Store {
    /// Opens (creating when missing) the database at `path`, or an in-memory one for None,
    /// and creates the tables that are missing.
    pub fn open(path: Option<&Path>, clock: Clock) -> Result<Store, BackendError> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if path.is_some() {
            // WAL: a second instance on the same file (a restart while the old handle is
            // still alive) reads and writes without "database is locked".
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(console::CONSOLE_SCHEMA)?;
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                clock,
                save_attempts: AtomicU64::new(0),
            }),
        })
    }

    /// Number of `saveInterviewResult` calls this running backend received (duplicates and
    /// rejected ones included; counted per process, not stored in the database).
    pub fn save_attempts(&self) -> u64 {
        self.inner.save_attempts.load(Ordering::SeqCst)
    }

    pub(crate) fn count_save_attempt(&self) {
        self.inner.save_attempts.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection itself usable (every
        // multi-statement change runs in a transaction that rolls back on drop).
        self.inner.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.inner.clock.now_ms()
    }
}

/// u64 milliseconds as an SQLite integer.
pub(crate) fn ms_to_sql(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// An SQLite integer as u64 milliseconds.
pub(crate) fn ms_from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
