//! The interview's record as it happens: what each side actually said (final transcripts from
//! the pipeline, so an interrupted line is recorded as heard) and each question's outcome,
//! kept in memory for the final report AND appended to the spool (fsynced) at once, so a crash
//! at any moment still leaves the transcript so far on disk.

use std::collections::BTreeMap;

use crate::interview::spool::now_ms;
use crate::interview::{
    Language, Models, QuestionOutcome, Speaker, Spool, SpoolRecord, TranscriptEntry,
};

pub struct Recorder {
    spool: Spool,
    key: String,
    started_at_ms: u64,
    transcript: Vec<TranscriptEntry>,
    outcomes: BTreeMap<usize, QuestionOutcome>,
    /// Planned questions asked so far.
    asked: usize,
    /// Spool appends that failed (the record is still kept in memory).
    pub spool_errors: usize,
}

impl Recorder {
    /// Starts the interview's spool file (`started` record).
    pub async fn start(
        spool: Spool,
        key: String,
        application_id: &str,
        room: &str,
        started_at_ms: u64,
        language: Language,
        models: Models,
    ) -> Recorder {
        let mut r = Recorder {
            spool,
            key,
            started_at_ms,
            transcript: Vec::new(),
            outcomes: BTreeMap::new(),
            asked: 0,
            spool_errors: 0,
        };
        r.append(SpoolRecord::Started {
            application_id: application_id.to_string(),
            room: room.to_string(),
            started_at_ms,
            language,
            models: Some(models),
        })
        .await;
        r
    }

    /// The next planned question was asked.
    pub async fn asked(&mut self, question: &str) {
        let index = self.asked;
        self.asked += 1;
        self.append(SpoolRecord::Asked {
            index,
            question: question.to_string(),
            at_ms: now_ms().max(self.started_at_ms),
        })
        .await;
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn started_at_ms(&self) -> u64 {
        self.started_at_ms
    }

    /// A line said; `started_at_ms` when it began (None: now).
    pub async fn said(&mut self, speaker: Speaker, text: &str, started_at_ms: Option<u64>) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let at_ms = started_at_ms.unwrap_or_else(now_ms).max(self.started_at_ms);
        self.transcript.push(TranscriptEntry {
            speaker,
            text: text.to_string(),
            offset_ms: at_ms - self.started_at_ms,
        });
        self.append(SpoolRecord::Transcript {
            speaker,
            text: text.to_string(),
            at_ms,
        })
        .await;
    }

    pub async fn outcome(&mut self, outcome: QuestionOutcome) {
        self.outcomes.insert(outcome.index, outcome.clone());
        self.append(SpoolRecord::Score { outcome }).await;
    }

    pub fn transcript(&self) -> &[TranscriptEntry] {
        &self.transcript
    }

    pub fn outcomes(&self) -> Vec<QuestionOutcome> {
        self.outcomes.values().cloned().collect()
    }

    pub async fn append(&mut self, record: SpoolRecord) {
        if let Err(e) = self.spool.append_async(&self.key, record).await {
            self.spool_errors += 1;
            tracing::error!(key = %self.key, "could not spool interview progress: {e}");
        }
    }
}

impl Drop for Recorder {
    /// A session that ends without a `result` record (an error, a panic) makes its partial
    /// result deliverable by the next delivery run instead of staying live until restart.
    fn drop(&mut self) {
        self.spool.release(&self.key);
    }
}
