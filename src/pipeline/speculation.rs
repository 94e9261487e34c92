//! Speculative replies: overlap the end-of-turn wait with the work. After
//! [`super::PipelineOptions::speculate_after`] of silence in the user's speech the reply starts
//! at once on the turn's audio so far: STT, then the brain's decision made ahead
//! ([`super::Brain::reply_ahead`]: a side-effect-free brain simply replies; the interviewer
//! decides on a copy of its flow), the LLM and TTS, filling the playout queue. Nothing is
//! played (and nothing recorded in the conversation) before the turn is committed (the turn
//! detector's end of turn): then the brain applies its decision
//! ([`super::Brain::commit_ahead`]), the gate opens and the reply becomes the active one. A
//! decision that no longer fits is made again (counted as `Redecided`).
//! If the user speaks again first, the speculation is cancelled: its task is aborted (so its
//! HTTP requests are dropped), and the next pause starts a new one with the whole turn.

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::audio::AudioFrame;

use super::reply::{lock_timings, InFlight, SharedTimings};
use super::speech::AgentSpeech;

pub(crate) struct Speculation {
    pub turn_id: u64,
    pub speech: AgentSpeech,
    pub task: JoinHandle<()>,
    pub timings: SharedTimings,
    /// The turn's audio it transcribes (shared with its task): becomes the committed turn's
    /// audio, so the commit does not copy the turn again. What it lacks, the silence heard
    /// while the endpointing delay ran, no merge or transcript needs.
    pub audio: AudioFrame,
    /// Opens the reply's playout (true) when the turn is committed.
    pub gate: watch::Sender<bool>,
    /// The transcript it reported, held until the commit.
    pub user_text: Option<String>,
    /// Its task ended before the commit (empty transcript, provider failure, nothing to say).
    pub finished: bool,
}

impl Speculation {
    /// Stop it now; the provider requests it had running.
    pub fn cancel(self) -> InFlight {
        // Read before aborting: the flags are cleared as the task unwinds.
        let in_flight = lock_timings(&self.timings).in_flight;
        self.speech.interrupt();
        self.task.abort();
        in_flight
    }
}
