//! The interview transcript: who said what, when (milliseconds since the interview started;
//! add `InterviewResult::started_at_unix_ms` for wall-clock time).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Interviewer,
    Candidate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub speaker: Speaker,
    pub text: String,
    /// Milliseconds since the interview started.
    pub offset_ms: u64,
}
