//! Errors of the room layer. Each says whether retrying can help.

use crate::audio::OpusError;

#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// The server refused our credentials (bad key/secret, expired or malformed token).
    #[error("the LiveKit server rejected the access token: {0}")]
    Unauthorized(String),
    /// Could not reach the server (refused, DNS, timeout) after all attempts.
    #[error("cannot reach the LiveKit server at {url} after {attempts} attempt(s): {last}")]
    Unreachable {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("signalling: {0}")]
    Signal(String),
    #[error("webrtc: {0}")]
    WebRtc(String),
    #[error("audio: {0}")]
    Audio(#[from] OpusError),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The room is closed (we left, were removed, or the room was deleted).
    #[error("room closed: {0}")]
    Closed(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl RoomError {
    /// Whether the same operation may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RoomError::Unreachable { .. }
                | RoomError::Signal(_)
                | RoomError::WebRtc(_)
                | RoomError::Timeout(_)
        )
    }
}

impl From<webrtc::error::Error> for RoomError {
    fn from(e: webrtc::error::Error) -> Self {
        RoomError::WebRtc(e.to_string())
    }
}
