//! Every pipeline setting, with defaults that follow the field notes (LiveKit's reference
//! values, except where noted).

use std::time::Duration;

use super::sentences::SentenceOptions;
use super::turn::TurnOptions;
use crate::audio::{SampleRate, VadOptions};
use crate::providers::RetryPolicy;

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Rate of the candidate frames (the room delivers 48 kHz).
    pub input_rate: SampleRate,
    pub vad: VadOptions,
    pub turn: TurnOptions,
    pub sentences: SentenceOptions,
    pub retry: RetryPolicy,
    /// Barge-in: the user must speak this long (from the onset) while the agent is busy before
    /// the agent stops. Shorter sounds (coughs, "mm-hm") do not interrupt.
    pub min_interruption: Duration,
    /// Replies may be interrupted at all (`say` can override per utterance).
    pub allow_interruptions: bool,
    pub stt_language: Option<String>,
    /// Vocabulary hint for STT when the brain gives none.
    pub stt_prompt: Option<String>,
    /// Agent frames decoded ahead of playout (TTS waits when full). 25 = 0.5 s: the look-ahead
    /// that covers a provider's stalls is the undecoded bytes already received; this only has
    /// to cover our own scheduling.
    pub playout_queue_frames: usize,
    /// Capacity of the agent audio output channel. Kept tiny: frames already handed out cannot
    /// be taken back on barge-in.
    pub output_queue_frames: usize,
    pub event_queue: usize,
    /// Longest user turn kept for STT; audio beyond it is not recorded.
    pub max_turn_audio: Duration,
    /// Start the reply speculatively after this much silence in the user's speech, while the
    /// end of the turn is still being decided: STT at once (and the LLM and TTS too when the
    /// brain allows), nothing played until the turn ends; dropped (requests cancelled) if the
    /// user goes on. None: replies start at the end of the turn.
    pub speculate_after: Option<Duration>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            input_rate: SampleRate::HZ_48000,
            vad: VadOptions::default(),
            turn: TurnOptions::default(),
            sentences: SentenceOptions::default(),
            retry: RetryPolicy::default(),
            min_interruption: Duration::from_millis(300),
            allow_interruptions: true,
            stt_language: None,
            stt_prompt: None,
            playout_queue_frames: 25,
            output_queue_frames: 2,
            event_queue: 256,
            max_turn_audio: Duration::from_secs(60),
            speculate_after: Some(Duration::from_millis(200)),
        }
    }
}
