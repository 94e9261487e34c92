//! Provider traits and the plain data they exchange. Object-safe (`Arc<dyn Stt>` etc.) via
//! `async-trait`; streams are boxed and `'static` so a caller can drop them to cancel.

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;

use super::error::ProviderError;
use crate::audio::AudioFrame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::Assistant,
            content: content.into(),
        }
    }
}

/// One chat completion request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmRequest {
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Structured output: the reply must be JSON matching this schema (OpenAI
    /// `response_format: json_schema`, strict; the local stack constrains decoding with it).
    /// The caller still validates the reply.
    pub json_schema: Option<JsonSchema>,
}

/// A named JSON Schema for structured output.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSchema {
    /// a-z, A-Z, 0-9, `_` and `-`, at most 64 characters.
    pub name: String,
    pub schema: serde_json::Value,
}

/// A turn's audio for transcription.
#[derive(Debug, Clone)]
pub struct SttRequest {
    /// Mono PCM, 16 kHz in the pipeline (providers accept any rate).
    pub audio: AudioFrame,
    /// ISO-639-1 language hint ("en").
    pub language: Option<String>,
    /// Vocabulary hint (job title, technologies, names). Never the previous transcript: Whisper
    /// conditioned on earlier text repeats it on silence.
    pub prompt: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    /// Empty when nothing was said (or everything was filtered as a hallucination).
    pub text: String,
    pub language: Option<String>,
    /// Highest `no_speech_prob` among the kept segments, when the server reports it.
    pub no_speech_prob: Option<f32>,
}

pub type TextStream = Pin<Box<dyn Stream<Item = Result<String, ProviderError>> + Send>>;
/// 48 kHz, 20 ms frames (the last one zero-padded).
pub type AudioStream = Pin<Box<dyn Stream<Item = Result<AudioFrame, ProviderError>> + Send>>;

#[async_trait]
pub trait Stt: Send + Sync {
    fn name(&self) -> &str;
    async fn transcribe(&self, request: &SttRequest) -> Result<Transcript, ProviderError>;
}

#[async_trait]
pub trait Llm: Send + Sync {
    fn name(&self) -> &str;
    /// Start a streaming completion; resolves once the response has started. Dropping the
    /// stream cancels the request.
    async fn stream(&self, request: &LlmRequest) -> Result<TextStream, ProviderError>;
}

#[async_trait]
pub trait Tts: Send + Sync {
    fn name(&self) -> &str;
    /// Start synthesizing `text`; resolves once audio has started to arrive. Dropping the
    /// stream cancels the request.
    async fn synthesize(&self, text: &str) -> Result<AudioStream, ProviderError>;
}

/// Builds a [`Tts`] that speaks with a given voice (the interviewer's voice is chosen per
/// interview from the voice gender and the language).
pub trait TtsFactory: Send + Sync {
    fn with_voice(&self, voice: &str) -> Result<std::sync::Arc<dyn Tts>, ProviderError>;
}
