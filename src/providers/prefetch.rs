//! [`PrefetchTts`]: a TTS that can synthesize a line ahead of time. The interviewer knows its
//! greeting as soon as it has the application, seconds before the candidate arrives; prepared
//! then, the greeting starts the moment the candidate is there instead of a TTS round trip
//! later. A `synthesize` of a prepared text streams the prepared audio (while it is still
//! arriving, too) and uses it up; any other text goes to the wrapped TTS. A preparation that
//! failed before its first frame falls back to a normal call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::{AudioStream, ProviderError, Tts};
use crate::audio::AudioFrame;

/// At most this many lines are prepared at once (each is a few hundred kB of audio); a new
/// one replaces the oldest.
const MAX_PREPARED: usize = 2;

#[derive(Debug, Clone)]
enum Progress {
    /// Frames so far.
    Running(usize),
    Done(usize),
    Failed(usize, ProviderError),
}

#[derive(Default)]
struct Prepared {
    frames: Mutex<Vec<AudioFrame>>,
}

struct Entry {
    prepared: Arc<Prepared>,
    progress: watch::Receiver<Progress>,
}

pub struct PrefetchTts {
    inner: Arc<dyn Tts>,
    entries: Mutex<HashMap<String, Entry>>,
    /// Texts in the order they were prepared (the oldest goes first when full).
    order: Mutex<Vec<String>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl PrefetchTts {
    pub fn new(inner: Arc<dyn Tts>) -> Arc<PrefetchTts> {
        Arc::new(PrefetchTts {
            inner,
            entries: Mutex::new(HashMap::new()),
            order: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Start synthesizing `text` in the background (no-op when empty or already prepared;
    /// with [`MAX_PREPARED`] lines waiting, the oldest is dropped).
    pub fn prefetch(&self, text: &str) {
        let text = text.trim().to_string();
        let mut entries = lock(&self.entries);
        if text.is_empty() || entries.contains_key(&text) {
            return;
        }
        let mut order = lock(&self.order);
        order.retain(|t| entries.contains_key(t));
        while entries.len() >= MAX_PREPARED && !order.is_empty() {
            let oldest = order.remove(0);
            entries.remove(&oldest);
        }
        order.push(text.clone());
        drop(order);
        let prepared = Arc::new(Prepared::default());
        let (tx, rx) = watch::channel(Progress::Running(0));
        entries.insert(
            text.clone(),
            Entry {
                prepared: prepared.clone(),
                progress: rx,
            },
        );
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            let mut stream = match inner.synthesize(&text).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!("prefetching a line failed: {e}");
                    let _ = tx.send(Progress::Failed(0, e));
                    return;
                }
            };
            let mut n = 0;
            while let Some(frame) = stream.next().await {
                match frame {
                    Ok(f) => {
                        lock(&prepared.frames).push(f);
                        n += 1;
                        let _ = tx.send(Progress::Running(n));
                    }
                    Err(e) => {
                        let _ = tx.send(Progress::Failed(n, e));
                        return;
                    }
                }
            }
            let _ = tx.send(Progress::Done(n));
        });
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task.abort_handle());
    }
}

impl Drop for PrefetchTts {
    fn drop(&mut self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Tts for PrefetchTts {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn synthesize(&self, text: &str) -> Result<AudioStream, ProviderError> {
        let entry = lock(&self.entries).remove(text.trim());
        let Some(Entry {
            prepared,
            mut progress,
        }) = entry
        else {
            return self.inner.synthesize(text).await;
        };
        // Like any TTS call: resolve once audio has started to arrive.
        let started = progress
            .wait_for(|p| !matches!(p, Progress::Running(0)))
            .await
            .map(|p| p.clone());
        if matches!(started, Ok(Progress::Failed(0, _)) | Err(_)) {
            return self.inner.synthesize(text).await;
        }
        let stream =
            futures::stream::unfold((prepared, progress, 0usize), |(p, mut rx, i)| async move {
                loop {
                    if i == usize::MAX {
                        return None; // the error was the last item
                    }
                    let next = lock(&p.frames).get(i).cloned();
                    if let Some(frame) = next {
                        return Some((Ok(frame), (p, rx, i + 1)));
                    }
                    let now = rx.borrow().clone();
                    match now {
                        Progress::Done(n) if i >= n => return None,
                        Progress::Failed(n, e) if i >= n => {
                            return Some((Err(e), (p, rx, usize::MAX)))
                        }
                        _ => {}
                    }
                    if rx.changed().await.is_err() {
                        return None;
                    }
                }
            });
        Ok(Box::pin(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::fake::{FakeFailure, FakeTts, Fault};
    use std::time::Duration;

    async fn collect(s: AudioStream) -> Vec<Result<AudioFrame, ProviderError>> {
        s.collect().await
    }

    #[tokio::test(start_paused = true)]
    async fn a_prepared_line_plays_without_a_second_call_and_at_once() {
        let fake = Arc::new(
            FakeTts::new()
                .with_ttfb(Duration::from_millis(300))
                .with_ms_per_char(20),
        );
        let tts = PrefetchTts::new(fake.clone());
        tts.prefetch("Hello Alex, and welcome!");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t0 = tokio::time::Instant::now();
        let frames = collect(tts.synthesize("Hello Alex, and welcome!").await.unwrap()).await;
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "no TTS wait for a prepared line"
        );
        assert_eq!(frames.len(), fake.frames_for("Hello Alex, and welcome!"));
        assert!(frames.iter().all(Result::is_ok));
        assert_eq!(fake.calls().len(), 1);
        // Used up: the same text again is a new call; other texts pass through.
        collect(tts.synthesize("Hello Alex, and welcome!").await.unwrap()).await;
        collect(tts.synthesize("Next question.").await.unwrap()).await;
        assert_eq!(fake.calls().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_still_being_prepared_streams_as_it_arrives() {
        let fake = Arc::new(
            FakeTts::new()
                .with_ttfb(Duration::from_millis(300))
                .with_frame_interval(Duration::from_millis(20)),
        );
        let tts = PrefetchTts::new(fake.clone());
        let text = "A sentence that takes a while to speak.";
        tts.prefetch(text);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t0 = tokio::time::Instant::now();
        let mut s = tts.synthesize(text).await.unwrap();
        assert_eq!(
            t0.elapsed(),
            Duration::from_millis(200),
            "waits for the first frame only"
        );
        let mut n = 1;
        while let Some(f) = s.next().await {
            f.unwrap();
            n += 1;
        }
        assert_eq!(n - 1, fake.frames_for(text));
        assert_eq!(fake.calls().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_preparation_falls_back_to_a_normal_call() {
        let fake = Arc::new(FakeTts::new().with_fault(Fault::FirstCalls {
            n: 1,
            failure: FakeFailure::Status(500),
        }));
        let tts = PrefetchTts::new(fake.clone());
        tts.prefetch("Hello there, welcome.");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let frames = collect(tts.synthesize("Hello there, welcome.").await.unwrap()).await;
        assert!(!frames.is_empty() && frames.iter().all(Result::is_ok));
        assert_eq!(fake.calls().len(), 2);
    }
}
