//! Recovery of spooled interviews that were not delivered: the final [`InterviewResult`] when
//! the file has one, else a PARTIAL result rebuilt from the `started` / `transcript` / `score`
//! records (an interview killed mid-way still yields its transcript so far, in order).
//!
//! A partial result: `end_reason` None (the interview did not end normally), duration up to
//! the last spooled record, the question outcomes scored so far plus every question that was
//! asked but not scored (`questions_asked` counts what was asked, from the `asked` records),
//! the deterministic fallback summary prefixed with "Interview interrupted", the models, and
//! the same idempotency key a final result would have had (the spool key).

use super::spool::{Result, Spool, SpoolFile, SpoolRecord};
use super::summary::{fallback_summary, InterviewMeta, InterviewResult, QuestionOutcome};
use super::transcript::{Speaker, TranscriptEntry};
use std::time::Duration;

/// Why a question asked before the interview stopped has no score.
pub const NOT_SCORED_INTERRUPTED: &str =
    "not scored: the interview stopped before this answer was scored";

/// Prefix of a partial result's summary text.
pub const PARTIAL_SUMMARY_PREFIX: &str =
    "Interview interrupted; partial result recovered from the local spool. ";

#[derive(Debug, Clone, PartialEq)]
pub enum Recovered {
    /// The `result` record the session wrote at the end.
    Final(Box<InterviewResult>),
    /// Rebuilt from the progress records (no `result` record).
    Partial(Box<InterviewResult>),
    /// Neither a `result` nor a `started` record survived, or the file cannot be read; the file
    /// is kept (for a human, or for the next run when reading failed transiently).
    Unrecoverable(String),
}

/// A spooled interview without a `delivered` record.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingInterview {
    pub key: String,
    pub recovered: Recovered,
    /// The interview is still running in this process (see [`Spool`]); not to be delivered.
    pub live: bool,
    /// Damage the reader skipped (see [`SpoolFile`]).
    pub torn_tail: bool,
    pub corrupt_lines: Vec<usize>,
}

impl PendingInterview {
    /// The result to deliver, final or partial.
    pub fn result(&self) -> Option<&InterviewResult> {
        match &self.recovered {
            Recovered::Final(r) | Recovered::Partial(r) => Some(r),
            Recovered::Unrecoverable(_) => None,
        }
    }

    pub fn is_partial(&self) -> bool {
        matches!(self.recovered, Recovered::Partial(_))
    }
}

impl Spool {
    /// Every spooled interview without a `delivered` record, sorted by key. Err only when the
    /// directory cannot be listed; a file that cannot be read is listed as unrecoverable (with
    /// the reason) so one bad file never blocks the others.
    pub fn pending(&self) -> Result<Vec<PendingInterview>> {
        let mut out = Vec::new();
        for key in self.keys()? {
            let mut pending = match self.read(&key) {
                Ok(file) if file.is_delivered() => continue,
                Ok(file) => recover(file),
                Err(e) => PendingInterview {
                    key: key.clone(),
                    recovered: Recovered::Unrecoverable(format!("cannot read: {e}")),
                    live: false,
                    torn_tail: false,
                    corrupt_lines: Vec::new(),
                },
            };
            pending.live = self.is_live(&key);
            out.push(pending);
        }
        Ok(out)
    }
}

/// Final result if present (the last one), else a partial rebuild (`live` false: only the
/// [`Spool`] knows).
pub fn recover(file: SpoolFile) -> PendingInterview {
    let final_result = file.records.iter().rev().find_map(|r| match r {
        SpoolRecord::Result { result } => Some(result.clone()),
        _ => None,
    });
    let recovered = match final_result {
        Some(r) => Recovered::Final(r),
        None => match rebuild_partial(&file.records) {
            Some(r) => Recovered::Partial(Box::new(r)),
            None => Recovered::Unrecoverable("no started and no result record".into()),
        },
    };
    PendingInterview {
        key: file.key,
        recovered,
        live: false,
        torn_tail: file.torn_tail,
        corrupt_lines: file.corrupt_lines,
    }
}

/// The partial result from `started` + `transcript` + `score` records; None without `started`.
pub fn rebuild_partial(records: &[SpoolRecord]) -> Option<InterviewResult> {
    let (application_id, room, started_at_ms, language, models) =
        records.iter().find_map(|r| match r {
            SpoolRecord::Started {
                application_id,
                room,
                started_at_ms,
                language,
                models,
            } => Some((application_id, room, *started_at_ms, language, models)),
            _ => None,
        })?;
    let mut last_ms = started_at_ms;
    let mut transcript = Vec::new();
    let mut outcomes: Vec<QuestionOutcome> = Vec::new();
    let mut asked: Vec<(usize, String, u64)> = Vec::new();
    for r in records {
        match r {
            SpoolRecord::Asked {
                index,
                question,
                at_ms,
            } => {
                last_ms = last_ms.max(*at_ms);
                asked.retain(|(i, _, _)| i != index);
                asked.push((*index, question.clone(), *at_ms));
            }
            SpoolRecord::Transcript {
                speaker,
                text,
                at_ms,
            } => {
                last_ms = last_ms.max(*at_ms);
                transcript.push(TranscriptEntry {
                    speaker: *speaker,
                    text: text.clone(),
                    offset_ms: at_ms.saturating_sub(started_at_ms),
                });
            }
            SpoolRecord::Score { outcome } => {
                outcomes.retain(|o| o.index != outcome.index);
                outcomes.push(outcome.clone());
            }
            _ => {}
        }
    }
    // Append order is the order things were said; a stable sort keeps it for equal offsets.
    transcript.sort_by_key(|t| t.offset_ms);
    let questions_asked = asked.len().max(outcomes.len());
    // Asked but never scored (the interview stopped first): listed with what the candidate
    // said after it (until the next question), and the reason it has no score.
    asked.sort_by_key(|(i, _, _)| *i);
    for (n, (index, question, at_ms)) in asked.iter().enumerate() {
        if outcomes.iter().any(|o| o.index == *index) {
            continue;
        }
        let from = at_ms.saturating_sub(started_at_ms);
        let until = asked
            .get(n + 1)
            .map_or(u64::MAX, |(_, _, next)| next.saturating_sub(started_at_ms));
        let answer: Vec<&str> = transcript
            .iter()
            .filter(|t| {
                t.speaker == Speaker::Candidate && t.offset_ms >= from && t.offset_ms < until
            })
            .map(|t| t.text.as_str())
            .collect();
        outcomes.push(QuestionOutcome {
            index: *index,
            question: question.clone(),
            answer: answer.join(" "),
            score: None,
            scoring_error: Some(NOT_SCORED_INTERRUPTED.into()),
        });
    }
    outcomes.sort_by_key(|o| o.index);
    let mut summary = fallback_summary(&outcomes);
    summary.summary = format!("{PARTIAL_SUMMARY_PREFIX}{}", summary.summary);
    let meta = InterviewMeta {
        application_id: application_id.clone(),
        room: room.clone(),
        started_at_unix_ms: started_at_ms,
        duration: Duration::from_millis(last_ms - started_at_ms),
        language: language.clone(),
        end_reason: None,
    };
    let mut result = InterviewResult::new(meta, questions_asked, outcomes, summary, transcript);
    result.models = models.clone();
    Some(result)
}
