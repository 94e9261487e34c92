//! The `interview_results` table: idempotent saving of interview results (keyed by the
//! agent's idempotency key; a final result replaces a partial one) and reading them back.

use rusqlite::{params, OptionalExtension};

use super::{ms_from_sql, ms_to_sql, Store};
use crate::BackendError;

/// A stored interview result.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResult {
    pub idempotency_key: String,
    pub partial: bool,
    /// The `InterviewResultInput` as received, as JSON (camelCase keys, enum values as in
    /// GraphQL, e.g. `"recommendation": "STRONG_YES"`).
    pub result: serde_json::Value,
    pub saved_at_ms: u64,
}

/// A stored result with its id and key columns (what the `interviewResults` query shows).
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    pub result_id: String,
    pub stored: StoredResult,
    pub result_json: String,
    pub average_score: Option<f64>,
    pub recommendation: String,
    pub summary: String,
}

/// What `saveInterviewResult` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SaveOutcome {
    pub result_id: String,
    /// The key was already stored; nothing new was stored.
    pub duplicate: bool,
}

/// A validated result to store.
pub(crate) struct ResultToSave<'a> {
    pub application_id: &'a str,
    pub idempotency_key: &'a str,
    pub room: &'a str,
    pub partial: bool,
    pub average_score: Option<f64>,
    /// GraphQL enum name, e.g. "STRONG_YES".
    pub recommendation: &'a str,
    pub summary: &'a str,
    pub result: &'a serde_json::Value,
}

fn result_id(rowid: i64) -> String {
    format!("res-{rowid}")
}

impl Store {
    /// Stores `r` unless its idempotency key is stored already. A key already stored is a
    /// duplicate (nothing changes), except that a final result replaces a stored partial one
    /// (same result id). Unknown application: [`BackendError::UnknownApplication`].
    pub(crate) fn save_result(&self, r: &ResultToSave<'_>) -> Result<SaveOutcome, BackendError> {
        let json = serde_json::to_string(r.result)?;
        let now = ms_to_sql(self.now_ms());
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let known: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM applications WHERE id = ?1",
                params![r.application_id],
                |row| row.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Err(BackendError::UnknownApplication(
                r.application_id.to_string(),
            ));
        }
        let existing: Option<(i64, bool)> = tx
            .query_row(
                "SELECT id, partial FROM interview_results WHERE idempotency_key = ?1",
                params![r.idempotency_key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let outcome = match existing {
            None => {
                tx.execute(
                    "INSERT INTO interview_results (idempotency_key, application_id, room,
                         partial, average_score, recommendation, summary, result_json,
                         saved_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        r.idempotency_key,
                        r.application_id,
                        r.room,
                        r.partial,
                        r.average_score,
                        r.recommendation,
                        r.summary,
                        json,
                        now
                    ],
                )?;
                SaveOutcome {
                    result_id: result_id(tx.last_insert_rowid()),
                    duplicate: false,
                }
            }
            Some((id, true)) if !r.partial => {
                tx.execute(
                    "UPDATE interview_results SET application_id = ?2, room = ?3, partial = 0,
                         average_score = ?4, recommendation = ?5, summary = ?6,
                         result_json = ?7, saved_at_ms = ?8
                     WHERE id = ?1",
                    params![
                        id,
                        r.application_id,
                        r.room,
                        r.average_score,
                        r.recommendation,
                        r.summary,
                        json,
                        now
                    ],
                )?;
                SaveOutcome {
                    result_id: result_id(id),
                    duplicate: false,
                }
            }
            Some((id, _)) => SaveOutcome {
                result_id: result_id(id),
                duplicate: true,
            },
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Results stored for an application, oldest first.
    pub fn results_for(&self, application_id: &str) -> Result<Vec<StoredResult>, BackendError> {
        Ok(self
            .result_rows(application_id)?
            .into_iter()
            .map(|r| r.stored)
            .collect())
    }

    /// Results stored for an application with their key columns, oldest first.
    pub fn result_rows(&self, application_id: &str) -> Result<Vec<ResultRow>, BackendError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, idempotency_key, partial, saved_at_ms, result_json, average_score,
                    recommendation, summary
             FROM interview_results WHERE application_id = ?1 ORDER BY saved_at_ms, id",
        )?;
        let rows = stmt.query_map(params![application_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<f64>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, key, partial, saved_at, json, average_score, recommendation, summary) = row?;
            out.push(ResultRow {
                result_id: result_id(id),
                stored: StoredResult {
                    idempotency_key: key,
                    partial,
                    result: serde_json::from_str(&json)?,
                    saved_at_ms: ms_from_sql(saved_at),
                },
                result_json: json,
                average_score,
                recommendation,
                summary,
            });
        }
        Ok(out)
    }
}
