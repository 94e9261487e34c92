//! The backend layer's error: what went wrong talking to the hiring backend's GraphQL API, in
//! which operation, and whether trying again can help ([`BackendError::is_retryable`]).
//! Messages never contain the bearer token: the client never formats it, and text the server
//! sends back (bodies, GraphQL messages) is redacted before it is stored here.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The options cannot work (bad URL, HTTP client setup). Not retryable.
    #[error("invalid backend options: {0}")]
    Config(String),
    /// No answer within the timeout (connect or whole request). Retryable.
    #[error("backend {operation}: timed out after {after:?}")]
    Timeout {
        operation: &'static str,
        after: Duration,
    },
    /// The backend cannot be reached (refused, DNS, TLS handshake). Retryable.
    #[error("backend {operation}: cannot connect: {message}")]
    Connect {
        operation: &'static str,
        message: String,
    },
    /// The connection broke while sending the request or reading the answer. Retryable (the
    /// save mutation is idempotent, so a repeat after a lost answer stores nothing twice).
    #[error("backend {operation}: connection failed: {message}")]
    Transport {
        operation: &'static str,
        message: String,
    },
    /// HTTP 401 or 403: the token is missing or wrong. Not retryable.
    #[error(
        "backend {operation}: unauthorized (HTTP {status}); check the backend token \
         (sent as `Authorization: Bearer <token>`)"
    )]
    Unauthorized {
        operation: &'static str,
        status: u16,
    },
    /// Any other non-success HTTP status without GraphQL errors in the body. Retryable for
    /// 408, 429 and 5xx, not for other 4xx.
    #[error("backend {operation}: HTTP {status}: {message}")]
    Status {
        operation: &'static str,
        status: u16,
        message: String,
    },
    /// The backend answered with GraphQL `errors`: each message (with its path when given)
    /// and the `extensions.code` of those that have one (e.g. "UNKNOWN_APPLICATION",
    /// "BAD_USER_INPUT", "INTERNAL"). Not retried by the client: the backend answered on
    /// purpose (see `sink_error` for the one exception the result sink makes).
    #[error("backend {operation}: GraphQL errors: {}", messages.join("; "))]
    GraphQl {
        operation: &'static str,
        messages: Vec<String>,
        codes: Vec<String>,
    },
    /// Not a GraphQL response (not JSON, neither `data` nor `errors`, `data` not matching
    /// the operation). Not retryable.
    #[error("backend {operation}: bad response: {message}")]
    BadResponse {
        operation: &'static str,
        message: String,
    },
    /// The backend has no application with this id. Not retryable.
    #[error("no application with id {0:?}")]
    NotFound(String),
    /// The application exists but the interview cannot run with it. Not retryable.
    #[error("invalid application: {0}")]
    InvalidApplication(String),
}

impl BackendError {
    /// Timeouts, connection failures and HTTP 408/429/5xx are worth retrying; everything the
    /// backend answered deliberately (4xx, GraphQL errors, unknown or invalid applications)
    /// and malformed answers are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            BackendError::Timeout { .. }
            | BackendError::Connect { .. }
            | BackendError::Transport { .. } => true,
            BackendError::Status { status, .. } => is_retryable_status(*status),
            BackendError::Config(_)
            | BackendError::Unauthorized { .. }
            | BackendError::GraphQl { .. }
            | BackendError::BadResponse { .. }
            | BackendError::NotFound(_)
            | BackendError::InvalidApplication(_) => false,
        }
    }
}

/// 408 Request Timeout, 429 Too Many Requests and every 5xx.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classification() {
        let op = "ApplicationQuery";
        let status = |status| BackendError::Status {
            operation: op,
            status,
            message: String::new(),
        };
        for retryable in [
            BackendError::Timeout {
                operation: op,
                after: Duration::from_secs(1),
            },
            BackendError::Connect {
                operation: op,
                message: "refused".into(),
            },
            BackendError::Transport {
                operation: op,
                message: "reset".into(),
            },
            status(408),
            status(429),
            status(500),
            status(503),
        ] {
            assert!(retryable.is_retryable(), "{retryable}");
        }
        for permanent in [
            BackendError::Config("x".into()),
            BackendError::Unauthorized {
                operation: op,
                status: 401,
            },
            status(400),
            status(404),
            status(422),
            BackendError::GraphQl {
                operation: op,
                messages: vec!["boom".into()],
                codes: vec!["INTERNAL".into()],
            },
            BackendError::BadResponse {
                operation: op,
                message: "not JSON".into(),
            },
            BackendError::NotFound("a".into()),
            BackendError::InvalidApplication("empty job title".into()),
        ] {
            assert!(!permanent.is_retryable(), "{permanent}");
        }
    }

    #[test]
    fn messages_list_every_graphql_error() {
        let e = BackendError::GraphQl {
            operation: "SaveInterviewResult",
            messages: vec!["a (at saveInterviewResult)".into(), "b".into()],
            codes: vec![],
        };
        assert_eq!(
            e.to_string(),
            "backend SaveInterviewResult: GraphQL errors: a (at saveInterviewResult); b"
        );
    }
}
