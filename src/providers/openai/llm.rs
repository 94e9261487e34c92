//! Streaming chat completions -> a stream of text deltas. The request's start (until response
//! headers) and every gap between two chunks are bounded by the endpoint timeout.

use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest,
};
use async_trait::async_trait;
use futures::StreamExt;

use super::OpenAiEndpoint;
use crate::providers::error::ProviderError;
use crate::providers::types::{ChatRole, Llm, LlmRequest, TextStream};

#[derive(Debug, Clone)]
pub struct OpenAiLlmOptions {
    pub endpoint: OpenAiEndpoint,
    pub model: String,
    /// Used when the request sets none.
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl Default for OpenAiLlmOptions {
    fn default() -> Self {
        OpenAiLlmOptions {
            endpoint: OpenAiEndpoint::default(),
            model: "gpt-4o-mini".into(),
            temperature: Some(0.7),
            max_tokens: Some(300),
        }
    }
}

pub struct OpenAiLlm {
    opts: OpenAiLlmOptions,
    client: async_openai::Client<async_openai::config::OpenAIConfig>,
}

const NAME: &str = "openai-llm";

impl OpenAiLlm {
    pub fn new(opts: OpenAiLlmOptions) -> Result<Self, ProviderError> {
        let client = opts.endpoint.openai_client(NAME)?;
        Ok(OpenAiLlm { opts, client })
    }

    fn build(&self, request: &LlmRequest) -> CreateChatCompletionRequest {
        let messages = request
            .messages
            .iter()
            .map(|m| match m.role {
                ChatRole::System => {
                    ChatCompletionRequestSystemMessage::from(m.content.as_str()).into()
                }
                ChatRole::User => ChatCompletionRequestUserMessage::from(m.content.as_str()).into(),
                ChatRole::Assistant => {
                    ChatCompletionRequestAssistantMessage::from(m.content.as_str()).into()
                }
            })
            .collect::<Vec<ChatCompletionRequestMessage>>();
        #[allow(deprecated)]
        CreateChatCompletionRequest {
            model: self.opts.model.clone(),
            messages,
            temperature: request.temperature.or(self.opts.temperature),
            // `max_tokens` is what OpenAI-compatible servers understand; OpenAI still accepts it.
            max_tokens: request.max_tokens.or(self.opts.max_tokens),
            response_format: request.json_schema.as_ref().map(|j| {
                async_openai::types::chat::ResponseFormat::JsonSchema {
                    json_schema: async_openai::types::chat::ResponseFormatJsonSchema {
                        description: None,
                        name: j.name.clone(),
                        schema: j.schema.clone(),
                        strict: Some(true),
                    },
                }
            }),
            stream: Some(true),
            ..Default::default()
        }
    }
}

#[async_trait]
impl Llm for OpenAiLlm {
    fn name(&self) -> &str {
        NAME
    }

    async fn stream(&self, request: &LlmRequest) -> Result<TextStream, ProviderError> {
        let ep = self.opts.endpoint.clone();
        let req = self.build(request);
        let inner =
            match tokio::time::timeout(ep.timeout, self.client.chat().create_stream(req)).await {
                Err(_) => return Err(ep.timeout_error(NAME)),
                Ok(r) => r.map_err(|e| ep.map_openai(NAME, e))?,
            };
        let stream =
            futures::stream::unfold((inner, ep, false), |(mut inner, ep, done)| async move {
                if done {
                    return None;
                }
                loop {
                    match tokio::time::timeout(ep.timeout, inner.next()).await {
                        Err(_) => {
                            let e = ep.timeout_error(NAME);
                            return Some((Err(e), (inner, ep, true)));
                        }
                        Ok(None) => return None,
                        Ok(Some(Err(e))) => {
                            let e = ep.map_openai(NAME, e);
                            return Some((Err(e), (inner, ep, true)));
                        }
                        Ok(Some(Ok(chunk))) => {
                            let text: String = chunk
                                .choices
                                .iter()
                                .filter_map(|c| c.delta.content.as_deref())
                                .collect();
                            if !text.is_empty() {
                                return Some((Ok(text), (inner, ep, false)));
                            }
                        }
                    }
                }
            });
        Ok(Box::pin(stream))
    }
}
