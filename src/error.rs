//! Top-level error: wraps each layer's error so `main` can print one clear message and pick an
//! exit code. Layers keep their own enums (`ConfigError`, `RoomError`, ...).

use crate::config::ConfigError;
use crate::room::RoomError;
use crate::token::TokenError;
use crate::worker::WorkerError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("room: {0}")]
    Room(#[from] RoomError),
    #[error("token: {0}")]
    Token(#[from] TokenError),
    #[error("worker: {0}")]
    Worker(#[from] WorkerError),
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Process exit code for this error: 2 for bad configuration/usage, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => 2,
            _ => 1,
        }
    }
}
