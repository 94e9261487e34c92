//! Exponential backoff for retryable provider errors only (see
//! [`ProviderError::is_retryable`]). No jitter by default so tests stay deterministic; one
//! voice session makes few calls, so synchronized retries are not a concern here.

use std::future::Future;
use std::time::Duration;

use super::error::ProviderError;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts, including the first (1 = no retries).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Delay before attempt `attempt + 1` (attempt counts from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Run `op` until it succeeds, fails with a non-retryable error, or attempts run out. `op` gets
/// the attempt number (1-based).
pub async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut op: F,
) -> Result<T, ProviderError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut attempt = 1;
    loop {
        match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && attempt < policy.max_attempts.max(1) => {
                let delay = policy.backoff(attempt);
                tracing::warn!(%what, attempt, error = %e, ?delay, "provider call failed, retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn err(status: u16) -> ProviderError {
        ProviderError::Status {
            provider: "t".into(),
            status,
            message: String::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_with_backoff_and_gives_up() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(10), Duration::from_secs(1));
        let calls = AtomicU32::new(0);
        let t0 = tokio::time::Instant::now();
        let r = with_retry(&p, "t", |_| async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(err(500))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(t0.elapsed(), Duration::from_millis(100));

        let calls = AtomicU32::new(0);
        let r: Result<(), _> = with_retry(&p, "t", |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(err(503))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let r: Result<(), _> = with_retry(&p, "t", |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(err(400))
        })
        .await;
        assert!(matches!(r, Err(ProviderError::Status { status: 400, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "4xx is not retried");
    }
}
