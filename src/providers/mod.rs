//! Speech-to-text, LLM and text-to-speech providers behind object-safe async traits, one
//! module per vendor ([`openai`] for OpenAI and compatible servers, [`fake`] for deterministic
//! tests and benchmarks). The pipeline only sees these traits, [`ProviderError`] and the
//! [`retry`] policy; provider calls themselves make exactly one attempt.

pub mod error;
pub mod fake;
pub mod openai;
pub mod pcm;
pub mod prefetch;
pub mod retry;
pub mod stt_filter;
pub mod types;

pub use error::ProviderError;
pub use retry::{with_retry, RetryPolicy};
pub use types::{
    AudioStream, ChatMessage, ChatRole, JsonSchema, Llm, LlmRequest, Stt, SttRequest, TextStream,
    Transcript, Tts, TtsFactory,
};
