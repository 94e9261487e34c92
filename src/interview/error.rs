//! The interview module's error: an LLM call failed, or its output stayed malformed after the
//! allowed retry, or the application data is unusable. Callers degrade (fallback plan,
//! "unscored" answer, fallback summary); nothing here ends an interview by itself.

use crate::providers::ProviderError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum InterviewError {
    #[error("interview llm call failed: {0}")]
    Llm(#[from] ProviderError),
    #[error("malformed {what} from the LLM: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("invalid application: {0}")]
    InvalidApplication(String),
}
