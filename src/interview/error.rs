//! The interview module's error: an LLM call failed, or its output stayed malformed after the
//! allowed retry, or the application data is unusable. Callers degrade (fallback plan,
//! "unscored" answer, fallback summary); nothing here ends an interview by itself.
//!
//! Also the result spool's errors (`Spool*`, see `spool`) and [`SinkError`], what a result
//! backend reports to the spool's deliverer. [`InterviewError::is_retryable`] and
//! [`SinkError::is_retryable`] say whether trying again can help.

use std::path::PathBuf;

use crate::providers::ProviderError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum InterviewError {
    #[error("interview llm call failed: {0}")]
    Llm(#[from] ProviderError),
    #[error("malformed {what} from the LLM: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("invalid application: {0}")]
    InvalidApplication(String),
    /// Spool file I/O failed. Retryable unless the kind says the path itself is unusable
    /// (permissions, invalid input): a failed append leaves at most a torn line, which the
    /// reader skips, so trying again never corrupts earlier records.
    #[error("spool {op} {path:?} failed ({kind:?}): {message}")]
    SpoolIo {
        op: &'static str,
        path: PathBuf,
        kind: std::io::ErrorKind,
        message: String,
    },
    /// Not a usable spool key, or a record that does not belong to it (not retryable).
    #[error("invalid spool key or record for {key:?}: {reason}")]
    SpoolInvalid { key: String, reason: String },
    /// Nothing is spooled under this key (not retryable).
    #[error("no spooled interview {0:?}")]
    SpoolUnknownKey(String),
}

impl InterviewError {
    pub(crate) fn spool_io(op: &'static str, path: &std::path::Path, e: std::io::Error) -> Self {
        InterviewError::SpoolIo {
            op,
            path: path.to_path_buf(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    /// Whether trying the same operation again can help.
    pub fn is_retryable(&self) -> bool {
        use std::io::ErrorKind as K;
        match self {
            InterviewError::Llm(e) => e.is_retryable(),
            InterviewError::SpoolIo { kind, .. } => !matches!(
                kind,
                K::PermissionDenied | K::InvalidInput | K::NotADirectory | K::ReadOnlyFilesystem
            ),
            InterviewError::Malformed { .. }
            | InterviewError::InvalidApplication(_)
            | InterviewError::SpoolInvalid { .. }
            | InterviewError::SpoolUnknownKey(_) => false,
        }
    }
}

/// Why a result backend did not store a result. The backend must treat a repeated
/// `idempotency_key` as success, so a retry or a replay never stores a result twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Timeouts, connection failures, 408/429/5xx: try again later.
    #[error("result backend failed (retryable): {0}")]
    Retryable(String),
    /// Rejected for good (validation, 4xx): retrying the same result cannot help; the result
    /// stays in the spool for a human or a fixed backend.
    #[error("result backend rejected the result: {0}")]
    Permanent(String),
}

impl SinkError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SinkError::Retryable(_))
    }
}
