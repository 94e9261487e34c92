//! The pipeline layer's error: only construction can fail (bad audio settings); provider
//! failures at run time are events, not errors, because the conversation goes on.

use crate::audio::{ResampleError, VadError};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("pipeline resampler: {0}")]
    Resample(#[from] ResampleError),
    #[error("pipeline vad: {0}")]
    Vad(#[from] VadError),
}

impl PipelineError {
    pub fn is_retryable(&self) -> bool {
        false
    }
}
