//! Voice pipeline (turns, speech scheduling, barge-in). Never touches LiveKit types: it
//! consumes candidate [`crate::audio::AudioFrame`]s and produces agent frames and
//! [`PipelineEvent`]s, so it is tested offline with scripted audio and fake providers.
//!
//! Files: `turn` (end-of-turn, sans-IO), `sentences` (LLM token splitter), `speech`
//! ([`AgentSpeech`] handle), `captions` (word timing of agent lines), `playout` (paced
//! output), `reply` (one STT->LLM->TTS reply task), `speculation` (replies started in a pause,
//! before the end of the turn), `voice` ([`VoicePipeline`], the listening loop), `brain` (what
//! to say), `events`, `options`, `error`.

pub mod brain;
pub mod captions;
pub mod error;
pub mod events;
pub mod options;
pub mod playout;
mod reply;
pub mod sentences;
mod speculation;
pub mod speech;
pub mod turn;
pub mod voice;

pub use brain::{Brain, BrainReply, Conversation, DefaultBrain, OpenedStream};
pub use captions::WordTime;
pub use error::PipelineError;
pub use events::{
    AgentState, EventSink, InFlight, PipelineEvent, SpeculationEvent, Stage, TurnMetrics,
};
pub use options::PipelineOptions;
pub use sentences::{SentenceOptions, SentenceSplitter};
pub use speech::{AgentSpeech, Caption, SpeechProgress, SpeechStatus};
pub use turn::{TurnDetector, TurnEvent, TurnInfo, TurnOptions};
pub use voice::{PipelineHandle, Providers, VoicePipeline};
