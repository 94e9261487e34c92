//! Delivering spooled results to the backend: [`deliver_pending`] saves every pending
//! interview (final or partial) through a [`ResultSink`], retrying retryable failures with
//! exponential backoff (`tokio::time::sleep`, so tests run with a paused clock), and marks an
//! interview delivered only after the sink said it stored it. Undelivered data is never
//! deleted: a permanent failure or exhausted retries leave the interview pending and listed in
//! the [`DeliveryReport`].
//!
//! Idempotency: every save carries the result's `idempotency_key` (the spool key). The backend
//! MUST treat a repeated key as success (store once, answer OK again): a crash between a
//! successful save and `mark_delivered`, or a retry after a timeout that did reach the
//! backend, replays the same result, and the replay must never create a duplicate.

use async_trait::async_trait;

use super::error::{InterviewError, SinkError};
use super::spool::Spool;
use super::spool_recover::{PendingInterview, Recovered};
use super::summary::InterviewResult;
use crate::providers::RetryPolicy;

/// Where results go (the GraphQL backend in production).
#[async_trait]
pub trait ResultSink: Send + Sync {
    /// Store `result` under `result.idempotency_key`; a key already stored is success.
    async fn save(&self, result: &InterviewResult) -> Result<(), SinkError>;

    /// Store the interview's audio recording (Ogg/Opus, `duration` long) under the same key;
    /// a key already stored is success. Sinks without recordings accept and drop it.
    async fn save_recording(
        &self,
        _result: &InterviewResult,
        _bytes: Vec<u8>,
        _duration: std::time::Duration,
    ) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Suggested policy for result delivery: 6 attempts, 1 s doubling up to 30 s (about a minute
/// in all); what is still pending is retried on the next [`deliver_pending`] run.
pub fn default_delivery_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        initial_backoff: std::time::Duration::from_secs(1),
        max_backoff: std::time::Duration::from_secs(30),
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeliveryReport {
    /// Keys saved and marked delivered in this run.
    pub delivered: Vec<String>,
    /// Of those, the ones delivered as a partial result.
    pub partial: Vec<String>,
    /// Still pending: the sink failed permanently or retries ran out.
    pub failed: Vec<DeliveryFailure>,
    /// Still pending: the sink stored it but `mark_delivered` failed (the next run replays it;
    /// the idempotency key makes that harmless).
    pub unmarked: Vec<(String, String)>,
    /// Skipped: still running in this process (see [`Spool`]).
    pub live: Vec<String>,
    /// Still pending: nothing deliverable in the file (kept for a human), with the reason.
    pub unrecoverable: Vec<(String, String)>,
}

impl DeliveryReport {
    pub fn all_delivered(&self) -> bool {
        self.failed.is_empty() && self.unmarked.is_empty() && self.unrecoverable.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFailure {
    pub key: String,
    pub attempts: u32,
    pub error: SinkError,
}

/// Deliver every pending interview, one after the other. Err only when the spool itself cannot
/// be listed or read; per-interview failures are in the report.
pub async fn deliver_pending(
    spool: &Spool,
    sink: &dyn ResultSink,
    policy: &RetryPolicy,
) -> Result<DeliveryReport, InterviewError> {
    let lister = spool.clone();
    let pending = blocking(spool, move || lister.pending()).await?;
    let mut report = DeliveryReport::default();
    for p in pending {
        deliver_one(spool, sink, policy, p, &mut report).await;
    }
    if !report.all_delivered() {
        tracing::warn!(?report, "some spooled interview results are still pending");
    }
    Ok(report)
}

/// Deliver one interview (the session that just finished it), retrying like
/// [`deliver_pending`]. A key that is already delivered is a no-op.
pub async fn deliver_key(
    spool: &Spool,
    sink: &dyn ResultSink,
    policy: &RetryPolicy,
    key: &str,
) -> Result<DeliveryReport, InterviewError> {
    let (reader, k) = (spool.clone(), key.to_string());
    let file = blocking(spool, move || reader.read(&k)).await?;
    let mut report = DeliveryReport::default();
    if file.is_delivered() {
        return Ok(report);
    }
    let mut pending = super::spool_recover::recover(file);
    pending.live = spool.is_live(key);
    deliver_one(spool, sink, policy, pending, &mut report).await;
    Ok(report)
}

/// Save one result, retrying retryable failures with the policy's backoff
/// (`tokio::time::sleep`). Err: the last failure and how many attempts were made.
pub async fn save_with_retry(
    sink: &dyn ResultSink,
    result: &InterviewResult,
    policy: &RetryPolicy,
) -> Result<(), DeliveryFailure> {
    retry_sink(&result.idempotency_key, "result delivery", policy, || {
        sink.save(result)
    })
    .await
}

/// Call `op` until it succeeds, fails permanently or `policy` runs out of attempts.
async fn retry_sink<F, Fut>(
    key: &str,
    what: &str,
    policy: &RetryPolicy,
    mut op: F,
) -> Result<(), DeliveryFailure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), SinkError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_retryable() && attempt < policy.max_attempts.max(1) => {
                let delay = policy.backoff(attempt);
                tracing::warn!(%key, attempt, error = %e, ?delay, "{what} failed, retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(error) => {
                return Err(DeliveryFailure {
                    key: key.to_string(),
                    attempts: attempt,
                    error,
                })
            }
        }
    }
}

/// Upload the interview's recording, if the spool holds one: its complete pages (a file cut
/// off by a crash keeps what came before), retried like results.
async fn save_recording_with_retry(
    spool: &Spool,
    sink: &dyn ResultSink,
    result: &InterviewResult,
    policy: &RetryPolicy,
) -> Result<(), DeliveryFailure> {
    let key = &result.idempotency_key;
    let Ok(path) = spool.recording_path(key) else {
        return Ok(());
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(DeliveryFailure {
                key: key.clone(),
                attempts: 0,
                error: SinkError::Retryable(format!("reading {}: {e}", path.display())),
            })
        }
    };
    let (len, duration) = crate::audio::ogg::valid_prefix(&bytes);
    if len == 0 {
        tracing::warn!(%key, file = %path.display(), "recording has no complete page; not uploaded");
        return Ok(());
    }
    let valid = &bytes[..len];
    retry_sink(key, "recording upload", policy, || {
        sink.save_recording(result, valid.to_vec(), duration)
    })
    .await
}

async fn deliver_one(
    spool: &Spool,
    sink: &dyn ResultSink,
    policy: &RetryPolicy,
    pending: PendingInterview,
    report: &mut DeliveryReport,
) {
    let key = pending.key.clone();
    if pending.live {
        report.live.push(key);
        return;
    }
    let partial = pending.is_partial();
    let result = match pending.recovered {
        Recovered::Final(r) | Recovered::Partial(r) => r,
        Recovered::Unrecoverable(why) => {
            report.unrecoverable.push((key, why));
            return;
        }
    };
    if let Err(mut failure) = save_with_retry(sink, &result, policy).await {
        failure.key = key.clone(); // the spool's name for it (the same key by construction)
        tracing::warn!(%key, attempts = failure.attempts, error = %failure.error, "result delivery failed; kept in the spool");
        report.failed.push(failure);
        return;
    }
    // The recording after its result: not marked delivered until both are stored (a replay
    // of the result is harmless: same key).
    if let Err(mut failure) = save_recording_with_retry(spool, sink, &result, policy).await {
        failure.key = key.clone();
        tracing::warn!(%key, attempts = failure.attempts, error = %failure.error, "recording delivery failed; kept in the spool");
        report.failed.push(failure);
        return;
    }
    let (marker, k) = (spool.clone(), key.clone());
    match blocking(spool, move || marker.mark_delivered(&k)).await {
        Ok(()) => {
            if partial {
                report.partial.push(key.clone());
            }
            report.delivered.push(key);
        }
        Err(e) => report.unmarked.push((key, e.to_string())),
    }
}

async fn blocking<T: Send + 'static>(
    spool: &Spool,
    f: impl FnOnce() -> Result<T, InterviewError> + Send + 'static,
) -> Result<T, InterviewError> {
    let dir = spool.dir().to_path_buf();
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| InterviewError::spool_io("blocking task", &dir, std::io::Error::other(e)))?
}
