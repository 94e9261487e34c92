//! FAKE providers for tests and benchmarks: deterministic, with scriptable latency (on the
//! tokio clock, so paused-time tests run instantly), scripted failures ("500 once then
//! succeed", "always down") and call recording, including whether a returned stream was
//! dropped before it finished (= cancelled by the caller). Never use them in production.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use tokio::time::Instant;

use super::error::ProviderError;
use super::types::{AudioStream, Llm, LlmRequest, Stt, SttRequest, TextStream, Transcript, Tts};
use crate::audio::{AudioFrame, SampleRate, FRAME_DURATION, SAMPLES_PER_FRAME_48K};

/// How a fake fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeFailure {
    Status(u16),
    Timeout,
    Connect,
}

/// When a fake fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    Never,
    /// The first `n` calls fail, later ones succeed.
    FirstCalls { n: usize, failure: FakeFailure },
    /// Every call fails.
    Always(FakeFailure),
}

impl FakeFailure {
    fn error(self, provider: &str) -> ProviderError {
        let provider = provider.to_string();
        match self {
            FakeFailure::Status(status) => ProviderError::Status {
                provider,
                status,
                message: "fake failure".into(),
            },
            FakeFailure::Timeout => ProviderError::Timeout {
                provider,
                after: Duration::from_secs(1),
            },
            FakeFailure::Connect => ProviderError::Connect {
                provider,
                message: "fake: connection refused".into(),
            },
        }
    }
}

/// Counters shared by a fake and the streams it returned.
#[derive(Debug, Default)]
pub struct StreamCounters {
    pub started: AtomicUsize,
    pub completed: AtomicUsize,
    /// Streams dropped before their end: the caller cancelled.
    pub cancelled: AtomicUsize,
}

impl StreamCounters {
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
    pub fn completed(&self) -> usize {
        self.completed.load(Ordering::SeqCst)
    }
    pub fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// Wraps a stream and records completion vs. drop-before-end.
struct Tracked<S> {
    inner: Pin<Box<S>>,
    counters: Arc<StreamCounters>,
    done: bool,
}

impl<S> Tracked<S> {
    fn new(inner: S, counters: Arc<StreamCounters>) -> Self {
        counters.started.fetch_add(1, Ordering::SeqCst);
        Tracked {
            inner: Box::pin(inner),
            counters,
            done: false,
        }
    }
}

impl<S: Stream> Stream for Tracked<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let r = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = r {
            if !self.done {
                self.done = true;
                self.counters.completed.fetch_add(1, Ordering::SeqCst);
            }
        }
        r
    }
}

impl<S> Drop for Tracked<S> {
    fn drop(&mut self) {
        if !self.done {
            self.counters.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Default)]
struct FaultState {
    fault: Fault,
    calls: usize,
}

impl FaultState {
    fn check(&mut self, provider: &str) -> Result<(), ProviderError> {
        self.calls += 1;
        match self.fault {
            Fault::Never => Ok(()),
            Fault::FirstCalls { n, failure } if self.calls <= n => Err(failure.error(provider)),
            Fault::FirstCalls { .. } => Ok(()),
            Fault::Always(failure) => Err(failure.error(provider)),
        }
    }
}

/// One recorded STT call.
#[derive(Debug, Clone)]
pub struct SttCall {
    pub at: Instant,
    pub audio: AudioFrame,
    pub language: Option<String>,
    pub prompt: Option<String>,
}

/// FAKE speech-to-text: answers from a script (then a default), after `latency`.
pub struct FakeStt {
    latency: Duration,
    script: Mutex<VecDeque<String>>,
    default_reply: String,
    fault: Mutex<FaultState>,
    calls: Mutex<Vec<SttCall>>,
    /// Calls that ran to their answer (the others were dropped by the caller: cancelled).
    completed: AtomicUsize,
}

impl Default for FakeStt {
    fn default() -> Self {
        FakeStt::new()
    }
}

impl FakeStt {
    pub fn new() -> Self {
        FakeStt {
            latency: Duration::ZERO,
            script: Mutex::new(VecDeque::new()),
            default_reply: "I have five years of experience with Rust.".into(),
            fault: Mutex::new(FaultState::default()),
            calls: Mutex::new(Vec::new()),
            completed: AtomicUsize::new(0),
        }
    }
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
    /// Calls that ran to their answer; `calls().len() - completed()` were cancelled.
    pub fn completed(&self) -> usize {
        self.completed.load(Ordering::SeqCst)
    }
    pub fn with_default_reply(mut self, text: impl Into<String>) -> Self {
        self.default_reply = text.into();
        self
    }
    /// Replies for the next calls, in order.
    pub fn with_script<I: IntoIterator<Item = S>, S: Into<String>>(self, replies: I) -> Self {
        lock(&self.script).extend(replies.into_iter().map(Into::into));
        self
    }
    pub fn with_fault(self, fault: Fault) -> Self {
        self.set_fault(fault);
        self
    }
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.fault) = FaultState { fault, calls: 0 };
    }
    pub fn calls(&self) -> Vec<SttCall> {
        lock(&self.calls).clone()
    }
}

#[async_trait]
impl Stt for FakeStt {
    fn name(&self) -> &str {
        "fake-stt"
    }

    async fn transcribe(&self, request: &SttRequest) -> Result<Transcript, ProviderError> {
        lock(&self.calls).push(SttCall {
            at: Instant::now(),
            audio: request.audio.clone(),
            language: request.language.clone(),
            prompt: request.prompt.clone(),
        });
        tokio::time::sleep(self.latency).await;
        self.completed.fetch_add(1, Ordering::SeqCst);
        lock(&self.fault).check("fake-stt")?;
        let text = lock(&self.script)
            .pop_front()
            .unwrap_or_else(|| self.default_reply.clone());
        Ok(Transcript {
            text,
            language: request.language.clone(),
            no_speech_prob: Some(0.01),
        })
    }
}

/// FAKE LLM: streams a scripted reply word by word; first token `ttft` after the request, then
/// one token per `token_interval` (timed from the request, read or not).
pub struct FakeLlm {
    ttft: Duration,
    token_interval: Duration,
    script: Mutex<VecDeque<String>>,
    default_reply: String,
    fault: Mutex<FaultState>,
    calls: Mutex<Vec<LlmRequest>>,
    counters: Arc<StreamCounters>,
}

impl Default for FakeLlm {
    fn default() -> Self {
        FakeLlm::new()
    }
}

impl FakeLlm {
    pub fn new() -> Self {
        FakeLlm {
            ttft: Duration::ZERO,
            token_interval: Duration::ZERO,
            script: Mutex::new(VecDeque::new()),
            default_reply:
                "Thanks for sharing that. Can you tell me about a hard bug you fixed recently?"
                    .into(),
            fault: Mutex::new(FaultState::default()),
            calls: Mutex::new(Vec::new()),
            counters: Arc::new(StreamCounters::default()),
        }
    }
    pub fn with_ttft(mut self, d: Duration) -> Self {
        self.ttft = d;
        self
    }
    pub fn with_token_interval(mut self, d: Duration) -> Self {
        self.token_interval = d;
        self
    }
    pub fn with_default_reply(mut self, text: impl Into<String>) -> Self {
        self.default_reply = text.into();
        self
    }
    pub fn with_script<I: IntoIterator<Item = S>, S: Into<String>>(self, replies: I) -> Self {
        lock(&self.script).extend(replies.into_iter().map(Into::into));
        self
    }
    pub fn with_fault(self, fault: Fault) -> Self {
        self.set_fault(fault);
        self
    }
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.fault) = FaultState { fault, calls: 0 };
    }
    pub fn calls(&self) -> Vec<LlmRequest> {
        lock(&self.calls).clone()
    }
    pub fn streams(&self) -> &StreamCounters {
        &self.counters
    }
}

#[async_trait]
impl Llm for FakeLlm {
    fn name(&self) -> &str {
        "fake-llm"
    }

    async fn stream(&self, request: &LlmRequest) -> Result<TextStream, ProviderError> {
        lock(&self.calls).push(request.clone());
        lock(&self.fault).check("fake-llm")?;
        let reply = lock(&self.script)
            .pop_front()
            .unwrap_or_else(|| self.default_reply.clone());
        // Tokens keep their leading space, like real LLM tokens.
        let mut tokens: Vec<String> = Vec::new();
        for (i, w) in reply.split(' ').enumerate() {
            tokens.push(if i == 0 {
                w.to_string()
            } else {
                format!(" {w}")
            });
        }
        // Timed from the request, like a server that writes whether or not anyone reads yet:
        // token i is due at ttft + i * gap after `stream` was called.
        let (ttft, gap) = (self.ttft, self.token_interval);
        let opened = tokio::time::Instant::now();
        let stream =
            futures::stream::unfold((tokens.into_iter(), 0u32), move |(mut it, i)| async move {
                let token = it.next()?;
                tokio::time::sleep_until(opened + ttft + gap * i).await;
                Some((Ok(token), (it, i + 1)))
            });
        Ok(Box::pin(Tracked::new(stream, self.counters.clone())))
    }
}

/// FAKE TTS: a 220 Hz tone, `ms_per_char` of audio per character of text, first frame after
/// `ttfb`, then one frame per `frame_interval` (zero: all at once, faster than real time).
pub struct FakeTts {
    ttfb: Duration,
    frame_interval: Duration,
    ms_per_char: u32,
    fault: Mutex<FaultState>,
    calls: Mutex<Vec<String>>,
    counters: Arc<StreamCounters>,
}

impl Default for FakeTts {
    fn default() -> Self {
        FakeTts::new()
    }
}

impl FakeTts {
    pub fn new() -> Self {
        FakeTts {
            ttfb: Duration::ZERO,
            frame_interval: Duration::ZERO,
            ms_per_char: 60,
            fault: Mutex::new(FaultState::default()),
            calls: Mutex::new(Vec::new()),
            counters: Arc::new(StreamCounters::default()),
        }
    }
    pub fn with_ttfb(mut self, d: Duration) -> Self {
        self.ttfb = d;
        self
    }
    pub fn with_frame_interval(mut self, d: Duration) -> Self {
        self.frame_interval = d;
        self
    }
    pub fn with_ms_per_char(mut self, ms: u32) -> Self {
        self.ms_per_char = ms;
        self
    }
    pub fn with_fault(self, fault: Fault) -> Self {
        self.set_fault(fault);
        self
    }
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.fault) = FaultState { fault, calls: 0 };
    }
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }
    pub fn streams(&self) -> &StreamCounters {
        &self.counters
    }
    /// Frames this fake produces for `text`.
    pub fn frames_for(&self, text: &str) -> usize {
        let ms = text.chars().count() as u64 * self.ms_per_char as u64;
        (ms.div_ceil(FRAME_DURATION.as_millis() as u64)).max(1) as usize
    }
}

#[async_trait]
impl Tts for FakeTts {
    fn name(&self) -> &str {
        "fake-tts"
    }

    async fn synthesize(&self, text: &str) -> Result<AudioStream, ProviderError> {
        lock(&self.calls).push(text.to_string());
        tokio::time::sleep(self.ttfb).await;
        lock(&self.fault).check("fake-tts")?;
        let n = self.frames_for(text);
        let gap = self.frame_interval;
        let stream = futures::stream::unfold(0usize, move |i| async move {
            if i >= n {
                return None;
            }
            if i > 0 && !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
            Some((Ok(tone_frame(i)), i + 1))
        });
        Ok(Box::pin(Tracked::new(stream, self.counters.clone())))
    }
}

/// 20 ms of a continuous 220 Hz tone at 48 kHz, -12 dBFS.
fn tone_frame(index: usize) -> AudioFrame {
    let start = index * SAMPLES_PER_FRAME_48K;
    let samples: Vec<i16> = (start..start + SAMPLES_PER_FRAME_48K)
        .map(|n| (8000.0 * (2.0 * std::f64::consts::PI * 220.0 * n as f64 / 48_000.0).sin()) as i16)
        .collect();
    AudioFrame::new(samples, SampleRate::HZ_48000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn fakes_fail_as_scripted_and_record_cancellation() {
        let llm = FakeLlm::new()
            .with_default_reply("one two three")
            .with_ttft(Duration::from_millis(200))
            .with_fault(Fault::FirstCalls {
                n: 1,
                failure: FakeFailure::Status(500),
            });
        let req = LlmRequest::default();
        assert!(matches!(
            llm.stream(&req).await,
            Err(ProviderError::Status { status: 500, .. })
        ));
        let t0 = Instant::now();
        let s = llm.stream(&req).await.unwrap();
        let all: Vec<String> = s.map(|r| r.unwrap()).collect().await;
        assert_eq!(all.concat(), "one two three");
        assert_eq!(t0.elapsed(), Duration::from_millis(200));
        assert_eq!(llm.streams().completed(), 1);
        let mut s = llm.stream(&req).await.unwrap();
        let _ = s.next().await;
        drop(s);
        assert_eq!(llm.streams().cancelled(), 1);
        assert_eq!(llm.calls().len(), 3);

        let tts = FakeTts::new().with_fault(Fault::Always(FakeFailure::Connect));
        assert!(tts.synthesize("hi").await.is_err());
        let tts = FakeTts::new().with_ms_per_char(20);
        let frames: Vec<_> = tts.synthesize("hello").await.unwrap().collect().await;
        assert_eq!(frames.len(), 5);
    }
}
