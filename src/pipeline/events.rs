//! What the pipeline tells the outside world: agent state (for `lk.agent.state`), user and
//! agent transcripts (for `lk.transcription` text streams, with stable segment ids), barge-ins,
//! provider failures and per-turn latency metrics. Events go through a bounded queue; when the
//! consumer falls behind, new events are DROPPED and counted (the audio path never blocks on
//! event consumers).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::captions::WordTime;
pub use super::reply::InFlight;
use crate::providers::ProviderError;

/// The agent's state, as the LiveKit front ends expect it in `lk.agent.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Listening,
    Thinking,
    Speaking,
}

impl AgentState {
    /// The `lk.agent.state` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Listening => "listening",
            AgentState::Thinking => "thinking",
            AgentState::Speaking => "speaking",
        }
    }
}

/// What happened to a speculative reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeculationEvent {
    Started {
        turn_id: u64,
    },
    Committed {
        turn_id: u64,
    },
    /// `in_flight`: the provider requests it had running (cancelled: their HTTP dropped).
    Cancelled {
        turn_id: u64,
        in_flight: InFlight,
    },
    /// Committed, but the brain's decision made ahead no longer fitted (its state moved on
    /// meanwhile): the prepared reply was dropped and the brain asked again.
    Redecided {
        turn_id: u64,
    },
}

/// Which provider stage failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Stt,
    Llm,
    Tts,
}

/// Latency of one reply. `None` when the stage did not run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnMetrics {
    /// The user turn this reply answers (`None` for `say`).
    pub turn_id: Option<u64>,
    pub speech_id: u64,
    /// End of the user's speech -> end of turn decided.
    pub end_of_utterance_delay: Option<Duration>,
    pub stt_duration: Option<Duration>,
    /// LLM request sent -> first text delta.
    pub llm_ttft: Option<Duration>,
    /// First TTS request -> its first audio frame.
    pub tts_ttfb: Option<Duration>,
    /// End of turn decided -> first agent audio frame out (the agent's own latency).
    pub agent_latency: Option<Duration>,
    /// The user stops speaking -> first agent audio frame out.
    pub e2e: Option<Duration>,
    /// Audio actually played.
    pub played: Duration,
    pub interrupted: bool,
}

#[derive(Debug, Clone)]
pub enum PipelineEvent {
    StateChanged(AgentState),
    /// The VAD heard the user start (may still turn out to be a backchannel).
    UserSpeechStarted {
        at: Instant,
    },
    UserSpeechEnded {
        at: Instant,
    },
    /// Final transcript of a user turn. `segment_id` is `user-<turn_id>`.
    UserTranscript {
        turn_id: u64,
        segment_id: String,
        text: String,
    },
    /// Agent speech text, in sync with playout: interim versions grow word by word as the
    /// words' audio plays (`words`: each word's estimated start and end from the line's first
    /// audio); the final one holds what was actually heard (no word times). `segment_id` is
    /// `agent-<speech_id>`.
    AgentTranscript {
        speech_id: u64,
        segment_id: String,
        text: String,
        words: Vec<WordTime>,
        is_final: bool,
    },
    /// The user barged in (or `interrupt()` was called); `heard` is what made it into history.
    Interrupted {
        speech_id: u64,
        heard: String,
        played: Duration,
    },
    /// A reply started in a pause of the user's speech (before the end of the turn), was
    /// used when the turn ended, or was dropped because the user went on.
    Speculation(SpeculationEvent),
    /// A provider failed after retries. The pipeline goes on listening.
    ProviderFailed {
        stage: Stage,
        error: ProviderError,
    },
    Metrics(TurnMetrics),
}

/// Sending side of the event queue (drop-newest on overflow, counted).
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<PipelineEvent>,
    dropped: Arc<AtomicU64>,
}

impl EventSink {
    pub fn new(capacity: usize) -> (EventSink, mpsc::Receiver<PipelineEvent>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            EventSink {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }

    pub fn emit(&self, event: PipelineEvent) {
        match self.tx.try_send(event) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(ev)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(event = ?ev, "pipeline event queue full; event dropped");
            }
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
