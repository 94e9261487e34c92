//! Streamed speech: POST `{base}/audio/speech` with `response_format=pcm` (s16le mono at
//! `pcm_rate`, 24 kHz for OpenAI), read the body chunk by chunk as it arrives (async-openai
//! would buffer the whole file), decode across odd chunk splits, resample to 48 kHz with one
//! resampler per utterance, and yield 20 ms frames.
//!
//! A chunk is decoded 20 ms at a time as frames are asked for, not all at once: a provider
//! that sends faster than real time (all of them) hands over chunks of up to ~400 KB (hyper's
//! read buffer grows to what the socket holds), seconds of speech that would otherwise sit
//! decoded and resampled to 48 kHz (four times the bytes) until played. Undecoded, the
//! look-ahead is the received bytes themselves.

use std::collections::VecDeque;

use async_trait::async_trait;

use super::OpenAiEndpoint;
use crate::audio::{AudioFrame, SampleRate, StreamResampler, FRAME_DURATION};
use crate::providers::error::{redact, ProviderError};
use crate::providers::pcm::{Framer, PcmDecoder};
use crate::providers::types::{AudioStream, Tts};

#[derive(Debug, Clone)]
pub struct OpenAiTtsOptions {
    pub endpoint: OpenAiEndpoint,
    pub model: String,
    pub voice: String,
    pub speed: Option<f32>,
    /// Sample rate of the server's `pcm` output (OpenAI: 24 kHz; piper voices: often 22.05 kHz).
    pub pcm_rate: SampleRate,
}

impl Default for OpenAiTtsOptions {
    fn default() -> Self {
        OpenAiTtsOptions {
            endpoint: OpenAiEndpoint::default(),
            model: "gpt-4o-mini-tts".into(),
            voice: "alloy".into(),
            speed: None,
            pcm_rate: SampleRate::HZ_24000,
        }
    }
}

pub struct OpenAiTts {
    opts: OpenAiTtsOptions,
    http: reqwest::Client,
}

const NAME: &str = "openai-tts";
pub const TTS_OUTPUT_RATE: SampleRate = SampleRate::HZ_48000;

impl OpenAiTts {
    pub fn new(opts: OpenAiTtsOptions) -> Result<Self, ProviderError> {
        let http = opts.endpoint.http_client(NAME)?;
        Ok(OpenAiTts { opts, http })
    }
}

/// [`OpenAiTts`] per voice, sharing one HTTP client (connection pool) across interviews.
pub struct OpenAiTtsFactory {
    base: OpenAiTts,
}

impl OpenAiTtsFactory {
    pub fn new(opts: OpenAiTtsOptions) -> Result<Self, ProviderError> {
        Ok(OpenAiTtsFactory {
            base: OpenAiTts::new(opts)?,
        })
    }
}

impl crate::providers::TtsFactory for OpenAiTtsFactory {
    fn with_voice(&self, voice: &str) -> Result<std::sync::Arc<dyn Tts>, ProviderError> {
        let mut opts = self.base.opts.clone();
        opts.voice = voice.to_string();
        Ok(std::sync::Arc::new(OpenAiTts {
            opts,
            http: self.base.http.clone(),
        }))
    }
}

struct Body {
    resp: reqwest::Response,
    /// Received, not yet decoded.
    pending: bytes::Bytes,
    /// Bytes decoded per step: one frame's worth at the provider's rate.
    step: usize,
    decoder: PcmDecoder,
    resampler: StreamResampler,
    /// Scratch for one step's resampled samples (reused: this runs every 20 ms).
    resampled: Vec<i16>,
    framer: Framer,
    ready: VecDeque<AudioFrame>,
    ep: OpenAiEndpoint,
    finished: bool,
}

impl Body {
    /// Next frame, reading more of the body as needed.
    async fn next_frame(&mut self) -> Option<Result<AudioFrame, ProviderError>> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                return Some(Ok(f));
            }
            let mut frames = Vec::new();
            if !self.pending.is_empty() {
                let piece = self.pending.split_to(self.step.min(self.pending.len()));
                let samples = self.decoder.push(&piece);
                self.resampled.clear();
                self.resampler.process_into(&samples, &mut self.resampled);
                self.framer.push(&self.resampled, &mut frames);
                self.ready.extend(frames);
                continue;
            }
            if self.finished {
                return None;
            }
            // An emptied `Bytes` still holds hyper's read buffer; let go of it so hyper reads
            // the next chunk into the same memory instead of a new allocation.
            self.pending = bytes::Bytes::new();
            let chunk = match tokio::time::timeout(self.ep.timeout, self.resp.chunk()).await {
                Err(_) => {
                    self.finished = true;
                    return Some(Err(self.ep.timeout_error(NAME)));
                }
                Ok(Err(e)) => {
                    self.finished = true;
                    return Some(Err(self.ep.map_reqwest(NAME, e)));
                }
                Ok(Ok(c)) => c,
            };
            match chunk {
                Some(bytes) => self.pending = bytes,
                None => {
                    self.finished = true;
                    if self.decoder.has_partial() {
                        tracing::debug!(
                            "tts stream ended on half a sample; ignoring the last byte"
                        );
                    }
                    let tail = self.resampler.flush();
                    self.framer.push(&tail, &mut frames);
                    frames.extend(self.framer.flush());
                }
            }
            self.ready.extend(frames);
        }
    }
}

#[async_trait]
impl Tts for OpenAiTts {
    fn name(&self) -> &str {
        NAME
    }

    async fn synthesize(&self, text: &str) -> Result<AudioStream, ProviderError> {
        let ep = self.opts.endpoint.clone();
        let mut body = serde_json::json!({
            "model": self.opts.model,
            "input": text,
            "voice": self.opts.voice,
            "response_format": "pcm",
        });
        if let Some(speed) = self.opts.speed {
            body["speed"] = serde_json::json!(speed);
        }
        let bytes = serde_json::to_vec(&body).map_err(|e| ProviderError::Other {
            provider: NAME.into(),
            message: e.to_string(),
        })?;
        let mut req = self
            .http
            .post(format!("{}/audio/speech", ep.base()))
            .header("content-type", "application/json")
            .body(bytes);
        if !ep.api_key.is_empty() {
            req = req.bearer_auth(ep.api_key.expose());
        }
        let resp = match tokio::time::timeout(ep.timeout, req.send()).await {
            Err(_) => return Err(ep.timeout_error(NAME)),
            Ok(Err(e)) => return Err(ep.map_reqwest(NAME, e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if !status.is_success() {
            let text = tokio::time::timeout(ep.timeout, resp.text())
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or_default();
            return Err(ProviderError::Status {
                provider: NAME.into(),
                status: status.as_u16(),
                message: redact(&error_message(&text), &ep.api_key),
            });
        }
        let resampler = StreamResampler::new(self.opts.pcm_rate, TTS_OUTPUT_RATE).map_err(|e| {
            ProviderError::Other {
                provider: NAME.into(),
                message: e.to_string(),
            }
        })?;
        let state = Body {
            resp,
            pending: bytes::Bytes::new(),
            step: self.opts.pcm_rate.samples_in(FRAME_DURATION).max(1) * 2,
            decoder: PcmDecoder::default(),
            resampler,
            resampled: Vec::new(),
            framer: Framer::new(TTS_OUTPUT_RATE, FRAME_DURATION),
            ready: VecDeque::new(),
            ep,
            finished: false,
        };
        let stream = futures::stream::unfold(state, |mut s| async move {
            s.next_frame().await.map(|r| (r, s))
        });
        Ok(Box::pin(stream))
    }
}

/// The `error.message` of an OpenAI-style error body, or the body itself.
fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string())
}
