//! OpenAI and OpenAI-compatible servers (faster-whisper-server, llama.cpp, local stacks):
//! Whisper transcription ([`OpenAiStt`]), streaming chat completions ([`OpenAiLlm`]) and
//! streamed PCM speech ([`OpenAiTts`]). Each provider has its own endpoint (base URL, API key,
//! timeout), so STT, LLM and TTS can live on different servers.

mod llm;
mod stt;
mod tts;

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;

pub use llm::{OpenAiLlm, OpenAiLlmOptions};
pub use stt::{OpenAiStt, OpenAiSttOptions};
pub use tts::{OpenAiTts, OpenAiTtsFactory, OpenAiTtsOptions};

use super::error::{redact, ProviderError};
use crate::config::Secret;

/// Where and how to reach one server.
#[derive(Debug, Clone)]
pub struct OpenAiEndpoint {
    /// Base URL including the version prefix, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// Bearer token (may be empty for local servers). Redacted in Debug output.
    pub api_key: Secret,
    /// Time allowed until a response starts, and between two chunks of a streamed response.
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for OpenAiEndpoint {
    fn default() -> Self {
        OpenAiEndpoint {
            base_url: "https://api.openai.com/v1".into(),
            api_key: Secret::default(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

impl OpenAiEndpoint {
    pub fn new(base_url: impl Into<String>, api_key: Secret) -> Self {
        OpenAiEndpoint {
            base_url: base_url.into(),
            api_key,
            ..OpenAiEndpoint::default()
        }
    }

    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    fn http_client(&self, provider: &str) -> Result<reqwest::Client, ProviderError> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| ProviderError::Other {
                provider: provider.into(),
                message: e.to_string(),
            })
    }

    fn openai_client(
        &self,
        provider: &str,
    ) -> Result<async_openai::Client<OpenAIConfig>, ProviderError> {
        let config = OpenAIConfig::new()
            .with_api_base(self.base())
            .with_api_key(self.api_key.expose());
        Ok(async_openai::Client::build(
            self.http_client(provider)?,
            config,
        ))
    }

    fn timeout_error(&self, provider: &str) -> ProviderError {
        ProviderError::Timeout {
            provider: provider.into(),
            after: self.timeout,
        }
    }

    fn map_reqwest(&self, provider: &str, e: reqwest::Error) -> ProviderError {
        let message = redact(&e.to_string(), &self.api_key);
        let provider = provider.to_string();
        if e.is_timeout() {
            ProviderError::Timeout {
                provider,
                after: self.timeout,
            }
        } else if e.is_connect() {
            ProviderError::Connect { provider, message }
        } else if let Some(status) = e.status() {
            ProviderError::Status {
                provider,
                status: status.as_u16(),
                message,
            }
        } else if e.is_body() || e.is_decode() || e.is_request() {
            ProviderError::Stream { provider, message }
        } else {
            ProviderError::Other { provider, message }
        }
    }

    fn map_openai(&self, provider: &str, e: OpenAIError) -> ProviderError {
        match e {
            OpenAIError::Reqwest(e) => self.map_reqwest(provider, e),
            OpenAIError::ApiError(api) => ProviderError::Status {
                provider: provider.into(),
                status: api.status_code.as_u16(),
                message: redact(&api.api_error.message, &self.api_key),
            },
            OpenAIError::JSONDeserialize(err, _) => ProviderError::InvalidResponse {
                provider: provider.into(),
                message: redact(&err.to_string(), &self.api_key),
            },
            OpenAIError::StreamError(err) => ProviderError::Stream {
                provider: provider.into(),
                message: redact(&err.to_string(), &self.api_key),
            },
            other => ProviderError::Other {
                provider: provider.into(),
                message: redact(&other.to_string(), &self.api_key),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_debug_hides_the_key() {
        let e = OpenAiEndpoint::new("http://x/v1", Secret::new("sk-live-123456"));
        let dbg = format!("{e:?}");
        assert!(!dbg.contains("sk-live"), "{dbg}");
    }
}
