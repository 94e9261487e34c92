//! The provider layer's error: what went wrong, with which provider, and whether trying again
//! can help. Messages never contain API keys (see [`redact`]).

use std::time::Duration;

use crate::config::Secret;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider}: timed out after {after:?}")]
    Timeout { provider: String, after: Duration },
    #[error("{provider}: cannot connect: {message}")]
    Connect { provider: String, message: String },
    #[error("{provider}: HTTP {status}: {message}")]
    Status {
        provider: String,
        status: u16,
        message: String,
    },
    #[error("{provider}: invalid response: {message}")]
    InvalidResponse { provider: String, message: String },
    #[error("{provider}: stream interrupted: {message}")]
    Stream { provider: String, message: String },
    #[error("{provider}: {message}")]
    Other { provider: String, message: String },
}

impl ProviderError {
    /// Timeouts, connection failures, broken streams, 408, 429 and 5xx are worth retrying;
    /// other 4xx and malformed responses are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProviderError::Timeout { .. }
            | ProviderError::Connect { .. }
            | ProviderError::Stream { .. } => true,
            ProviderError::Status { status, .. } => {
                *status == 408 || *status == 429 || *status >= 500
            }
            ProviderError::InvalidResponse { .. } | ProviderError::Other { .. } => false,
        }
    }

    pub fn provider(&self) -> &str {
        match self {
            ProviderError::Timeout { provider, .. }
            | ProviderError::Connect { provider, .. }
            | ProviderError::Status { provider, .. }
            | ProviderError::InvalidResponse { provider, .. }
            | ProviderError::Stream { provider, .. }
            | ProviderError::Other { provider, .. } => provider,
        }
    }
}

/// Remove a secret from text that may end up in an error or a log (servers sometimes echo
/// credentials back). Also shortens very long bodies.
pub fn redact(text: &str, secret: &Secret) -> String {
    let mut s = if secret.expose().len() >= 4 {
        text.replace(secret.expose(), "<redacted>")
    } else {
        text.to_string()
    };
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classification() {
        let p = || "x".to_string();
        let status = |status| ProviderError::Status {
            provider: p(),
            status,
            message: String::new(),
        };
        assert!(status(500).is_retryable());
        assert!(status(503).is_retryable());
        assert!(status(429).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(401).is_retryable());
        assert!(!status(404).is_retryable());
        assert!(ProviderError::Timeout {
            provider: p(),
            after: Duration::from_secs(1)
        }
        .is_retryable());
        assert!(!ProviderError::InvalidResponse {
            provider: p(),
            message: String::new()
        }
        .is_retryable());
    }

    #[test]
    fn redaction() {
        let key = Secret::new("sk-very-secret");
        let r = redact("bad key sk-very-secret given", &key);
        assert_eq!(r, "bad key <redacted> given");
        assert!(redact(&"a".repeat(1000), &key).chars().count() <= 301);
    }
}
