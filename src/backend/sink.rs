//! The backend as the spool's [`ResultSink`]: `deliver_pending` saves results through
//! [`BackendClient::save_result`] and marks them delivered on success, including a duplicate
//! (the backend already held the idempotency key, e.g. a replay after a crash between saving
//! and marking).
//!
//! Error mapping ([`sink_error`]): retryable backend errors (timeouts, connection failures,
//! HTTP 408/429/5xx) are [`SinkError::Retryable`], and so are GraphQL errors that all carry
//! an internal-error code (`extensions.code` "INTERNAL", "INTERNAL_SERVER_ERROR",
//! "SERVICE_UNAVAILABLE": the backend's database failed, the next attempt may work).
//! Everything else the backend answered on purpose (GraphQL errors such as an unknown
//! application or a validation failure, 401/403, other 4xx) and malformed answers are
//! [`SinkError::Permanent`]: the result stays in the spool for a human or a fixed backend.
//!
//! Each save retries with the client's own [`RetryPolicy`] before `deliver_pending` applies
//! its policy on top; give a client used only as a sink `RetryPolicy::none()` to leave
//! retrying to `deliver_pending` alone.
//!
//! [`RetryPolicy`]: crate::providers::RetryPolicy

use async_trait::async_trait;

use super::client::BackendClient;
use super::error::BackendError;
use super::recordings::RecordingUpload;
use crate::interview::{InterviewResult, ResultSink, SinkError};

#[async_trait]
impl ResultSink for BackendClient {
    async fn save(&self, result: &InterviewResult) -> Result<(), SinkError> {
        let key = &result.idempotency_key;
        match self.save_result(result).await {
            Ok(outcome) if outcome.duplicate => {
                tracing::info!(%key, result_id = %outcome.result_id, duplicate = true,
                    "backend already stored this interview result; nothing new stored");
                Ok(())
            }
            Ok(outcome) => {
                let partial = result.end_reason.is_none();
                tracing::info!(%key, result_id = %outcome.result_id, duplicate = false, partial,
                    "interview result stored by the backend");
                Ok(())
            }
            Err(e) => Err(sink_error(&e)),
        }
    }

    async fn save_recording(
        &self,
        result: &InterviewResult,
        bytes: Vec<u8>,
        duration: std::time::Duration,
    ) -> Result<(), SinkError> {
        let key = &result.idempotency_key;
        let size = bytes.len();
        let upload = RecordingUpload {
            key,
            application_id: &result.application_id,
            room: &result.room,
            partial: result.end_reason.is_none(),
            duration,
            bytes,
        };
        match self.upload_recording(upload).await {
            Ok(stored) => {
                tracing::info!(%key, bytes = size, ?duration, duplicate = !stored, "interview recording uploaded");
                Ok(())
            }
            Err(e) => Err(sink_error(&e)),
        }
    }
}

/// GraphQL `extensions.code` values that mean "the backend failed", not "your input is wrong".
const INTERNAL_CODES: [&str; 4] = [
    "INTERNAL",
    "INTERNAL_SERVER_ERROR",
    "INTERNAL_ERROR",
    "SERVICE_UNAVAILABLE",
];

/// Retryable backend errors, and GraphQL errors that are all internal failures of the
/// backend, are retryable for the sink; all others are permanent.
pub fn sink_error(e: &BackendError) -> SinkError {
    let internal = match e {
        BackendError::GraphQl {
            messages, codes, ..
        } => {
            codes.len() == messages.len()
                && codes.iter().all(|c| INTERNAL_CODES.contains(&c.as_str()))
        }
        _ => false,
    };
    if e.is_retryable() || internal {
        SinkError::Retryable(e.to_string())
    } else {
        SinkError::Permanent(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::backend::fake_http::{FakeHttp, Reply};
    use crate::backend::testing::sample_result;
    use crate::backend::BackendOptions;
    use crate::interview::EndReason;
    use crate::providers::RetryPolicy;

    fn client(url: String) -> BackendClient {
        BackendClient::new(BackendOptions {
            url,
            retry: RetryPolicy {
                max_attempts: 2,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(1),
            },
            ..BackendOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn maps_retryable_and_permanent_errors() {
        let retryable = sink_error(&BackendError::Status {
            operation: "SaveInterviewResult",
            status: 503,
            message: "down".into(),
        });
        assert!(retryable.is_retryable());
        assert!(retryable.to_string().contains("HTTP 503"));
        let graphql = |codes: &[&str]| BackendError::GraphQl {
            operation: "SaveInterviewResult",
            messages: codes.iter().map(|c| format!("failed: {c}")).collect(),
            codes: codes.iter().map(|c| c.to_string()).collect(),
        };
        let internal = sink_error(&graphql(&["INTERNAL", "INTERNAL_SERVER_ERROR"]));
        assert!(internal.is_retryable(), "{internal}");
        for permanent in [
            graphql(&["UNKNOWN_APPLICATION"]),
            graphql(&["BAD_USER_INPUT"]),
            graphql(&["INTERNAL", "BAD_USER_INPUT"]),
            BackendError::GraphQl {
                operation: "SaveInterviewResult",
                messages: vec!["no code".into()],
                codes: vec![],
            },
            BackendError::Unauthorized {
                operation: "SaveInterviewResult",
                status: 401,
            },
            BackendError::Status {
                operation: "SaveInterviewResult",
                status: 422,
                message: String::new(),
            },
            BackendError::BadResponse {
                operation: "SaveInterviewResult",
                message: "not JSON".into(),
            },
        ] {
            let e = sink_error(&permanent);
            assert!(matches!(e, SinkError::Permanent(_)), "{e}");
        }
    }

    // Against the HTTP fake: stored, duplicate, 503 and GraphQL errors as the sink reports them.
    #[tokio::test]
    async fn sink_reports_what_the_backend_answered() {
        let r = sample_result(Some(EndReason::Completed));
        let payload = |duplicate| {
            let saved = json!({"resultId": "r1", "duplicate": duplicate});
            Reply::json(200, json!({"data": {"saveInterviewResult": saved}}))
        };
        let fake = FakeHttp::start(vec![payload(false), payload(true)]).await;
        let sink = client(fake.url());
        assert_eq!(sink.save(&r).await, Ok(()));
        assert_eq!(sink.save(&r).await, Ok(()), "a duplicate is success");
        assert_eq!(fake.requests().len(), 2);

        let fake = FakeHttp::start(vec![Reply::text(503, "maintenance")]).await;
        let e = client(fake.url()).save(&r).await.unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert_eq!(fake.requests().len(), 2, "the client retried once");

        let fake = FakeHttp::start(vec![Reply::json(
            200,
            json!({"data": null, "errors": [
                {"message": "unknown application", "path": ["saveInterviewResult"]}
            ]}),
        )])
        .await;
        let e = client(fake.url()).save(&r).await.unwrap_err();
        assert_eq!(
            e,
            SinkError::Permanent(
                "backend SaveInterviewResult: GraphQL errors: unknown application \
                 (at saveInterviewResult)"
                    .into()
            )
        );
        assert_eq!(fake.requests().len(), 1, "GraphQL errors are not retried");
    }
}
