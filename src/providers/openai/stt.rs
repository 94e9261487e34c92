//! Whisper transcription of one turn: the turn's audio as an in-memory WAV, multipart upload
//! with model, language hint and vocabulary prompt, `verbose_json` when the server supports it
//! (falls back to `json` once if it rejects the format), parsed from the raw body because the
//! typed response requires fields OpenAI-compatible servers omit (`usage`). Hallucination
//! guards from [`crate::providers::stt_filter`] run before and after the call.

use std::sync::atomic::{AtomicBool, Ordering};

use async_openai::types::audio::{AudioInput, AudioResponseFormat, CreateTranscriptionRequest};
use async_trait::async_trait;

use super::OpenAiEndpoint;
use crate::providers::error::ProviderError;
use crate::providers::pcm::wav_bytes;
use crate::providers::stt_filter::{check_audio, clean_transcript, Segment, SttFilterOptions};
use crate::providers::types::{Stt, SttRequest, Transcript};

#[derive(Debug, Clone)]
pub struct OpenAiSttOptions {
    pub endpoint: OpenAiEndpoint,
    pub model: String,
    /// Default language hint when the request has none.
    pub language: Option<String>,
    /// Default vocabulary prompt when the request has none.
    pub prompt: Option<String>,
    /// Ask for `verbose_json` (segment `no_speech_prob`).
    pub verbose_json: bool,
    pub filter: SttFilterOptions,
}

impl Default for OpenAiSttOptions {
    fn default() -> Self {
        OpenAiSttOptions {
            endpoint: OpenAiEndpoint::default(),
            model: "whisper-1".into(),
            language: None,
            prompt: None,
            verbose_json: true,
            filter: SttFilterOptions::default(),
        }
    }
}

pub struct OpenAiStt {
    opts: OpenAiSttOptions,
    client: async_openai::Client<async_openai::config::OpenAIConfig>,
    verbose_supported: AtomicBool,
}

const NAME: &str = "openai-stt";

impl OpenAiStt {
    pub fn new(opts: OpenAiSttOptions) -> Result<Self, ProviderError> {
        let client = opts.endpoint.openai_client(NAME)?;
        let verbose = opts.verbose_json;
        Ok(OpenAiStt {
            opts,
            client,
            verbose_supported: AtomicBool::new(verbose),
        })
    }

    async fn call(
        &self,
        request: &SttRequest,
        verbose: bool,
    ) -> Result<bytes::Bytes, ProviderError> {
        let req = CreateTranscriptionRequest {
            file: AudioInput::from_vec_u8("turn.wav".into(), wav_bytes(&request.audio)),
            model: self.opts.model.clone(),
            language: request
                .language
                .clone()
                .or_else(|| self.opts.language.clone()),
            prompt: request.prompt.clone().or_else(|| self.opts.prompt.clone()),
            response_format: Some(if verbose {
                AudioResponseFormat::VerboseJson
            } else {
                AudioResponseFormat::Json
            }),
            temperature: Some(0.0),
            ..Default::default()
        };
        let ep = &self.opts.endpoint;
        match tokio::time::timeout(
            ep.timeout,
            self.client.audio().transcription().create_raw(req),
        )
        .await
        {
            Err(_) => Err(ep.timeout_error(NAME)),
            Ok(r) => r.map_err(|e| ep.map_openai(NAME, e)),
        }
    }
}

#[async_trait]
impl Stt for OpenAiStt {
    fn name(&self) -> &str {
        NAME
    }

    async fn transcribe(&self, request: &SttRequest) -> Result<Transcript, ProviderError> {
        if let Err(why) = check_audio(&request.audio, &self.opts.filter) {
            tracing::debug!(?why, "not transcribing near-silence");
            return Ok(Transcript::default());
        }
        let verbose = self.verbose_supported.load(Ordering::Relaxed);
        let body = match self.call(request, verbose).await {
            Err(ProviderError::Status {
                status, message, ..
            }) if verbose
                && (400..500).contains(&status)
                && status != 401
                && status != 429
                && (message.contains("response_format") || message.contains("verbose")) =>
            {
                tracing::info!("server rejects verbose_json; using json from now on");
                self.verbose_supported.store(false, Ordering::Relaxed);
                self.call(request, false).await?
            }
            other => other?,
        };
        parse_transcription(&body, &self.opts.filter)
    }
}

/// Parse a `json` or `verbose_json` transcription body (no `usage` needed).
pub(crate) fn parse_transcription(
    body: &[u8],
    filter: &SttFilterOptions,
) -> Result<Transcript, ProviderError> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ProviderError::InvalidResponse {
            provider: NAME.into(),
            message: format!("not JSON: {e}"),
        })?;
    let Some(text) = v.get("text").and_then(|t| t.as_str()) else {
        return Err(ProviderError::InvalidResponse {
            provider: NAME.into(),
            message: "no `text` field".into(),
        });
    };
    let segments: Vec<Segment> = v
        .get("segments")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .map(|s| Segment {
                    text: s
                        .get("text")
                        .and_then(|t| t.as_str())
                        .unwrap_or("")
                        .to_string(),
                    no_speech_prob: s
                        .get("no_speech_prob")
                        .and_then(|p| p.as_f64())
                        .map(|p| p as f32),
                })
                .collect()
        })
        .unwrap_or_default();
    let (text, no_speech_prob) = clean_transcript(text, &segments, filter);
    Ok(Transcript {
        text,
        language: v
            .get("language")
            .and_then(|l| l.as_str())
            .map(str::to_string),
        no_speech_prob,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_verbose_json_without_usage() {
        let f = SttFilterOptions::default();
        let t = parse_transcription(br#"{"text":" Hello there."}"#, &f).unwrap();
        assert_eq!(t.text, "Hello there.");
        let body = br#"{"task":"transcribe","language":"english","duration":2.5,"text":"I know Rust. Thank you.",
            "segments":[{"id":0,"text":" I know Rust.","no_speech_prob":0.05},{"id":1,"text":" Thank you.","no_speech_prob":0.93}]}"#;
        let t = parse_transcription(body, &f).unwrap();
        assert_eq!(t.text, "I know Rust.");
        assert_eq!(t.language.as_deref(), Some("english"));
        assert!(parse_transcription(b"oops", &f).is_err());
    }
}
