//! Errors of the worker layer.

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The server refused our API key/secret: retrying cannot help.
    #[error("the LiveKit server rejected the worker's credentials (check LIVEKIT_API_KEY / LIVEKIT_API_SECRET): {0}")]
    Unauthorized(String),
    #[error("cannot connect to the agent endpoint {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("agent protocol: {0}")]
    Protocol(String),
    #[error("health endpoint: {0}")]
    Health(std::io::Error),
    #[error("invalid worker options: {0}")]
    Invalid(String),
}

impl WorkerError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, WorkerError::Connect { .. } | WorkerError::Protocol(_))
    }
}
