//! Uploading an interview's audio recording (Ogg/Opus) after its result:
//! `PUT <backend base>/api/recordings/{idempotencyKey}` (the GraphQL URL with its last path
//! segment replaced), `Authorization: Bearer <token>`, the metadata in headers
//! (`X-Application-Id`, `X-Room`, `X-Partial`, `X-Duration-Ms`). Idempotent on the key like
//! results: 201 stored, 200 already stored. One attempt per call; the spool's delivery retries.

use std::time::Duration;

use super::client::BackendClient;
use super::error::{is_retryable_status, BackendError};

/// What to upload.
pub struct RecordingUpload<'a> {
    pub key: &'a str,
    pub application_id: &'a str,
    pub room: &'a str,
    pub partial: bool,
    pub duration: Duration,
    pub bytes: Vec<u8>,
}

const OPERATION: &str = "uploadRecording";

impl BackendClient {
    /// Ok(true): stored; Ok(false): the backend had it already.
    pub async fn upload_recording(&self, up: RecordingUpload<'_>) -> Result<bool, BackendError> {
        let url = self
            .url
            .join(&format!("api/recordings/{}", up.key))
            .map_err(|e| BackendError::Config(format!("recording upload url: {e}")))?;
        // Big files need longer than a GraphQL call: at least 100 kB/s.
        let timeout = self
            .timeout
            .max(Duration::from_secs(up.bytes.len() as u64 / 100_000 + 10));
        let mut request = self
            .http
            .put(url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "audio/ogg")
            .header("x-application-id", up.application_id)
            .header("x-room", up.room)
            .header("x-partial", if up.partial { "true" } else { "false" })
            .header("x-duration-ms", up.duration.as_millis().to_string())
            .body(up.bytes);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.map_reqwest(OPERATION, e))?;
        let status = response.status().as_u16();
        match status {
            201 => Ok(true),
            200 => Ok(false),
            401 | 403 => Err(BackendError::Unauthorized {
                operation: OPERATION,
                status,
            }),
            _ => {
                let text = response.text().await.unwrap_or_default();
                let message: String = text.chars().take(300).collect();
                let e = BackendError::Status {
                    operation: OPERATION,
                    status,
                    message,
                };
                debug_assert_eq!(e.is_retryable(), is_retryable_status(status));
                Err(e)
            }
        }
    }
}
