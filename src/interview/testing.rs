//! Test-only LLMs: [`FnLlm`] answers each request with a closure of the request (content-aware
//! scripted model, e.g. one that is fooled by injections outside the data block) and records
//! the requests. Queue-scripted and failing models are `providers::fake::FakeLlm`.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::providers::{Llm, LlmRequest, ProviderError, TextStream};

type Reply = dyn Fn(&LlmRequest) -> Result<String, ProviderError> + Send + Sync;

pub struct FnLlm {
    reply: Box<Reply>,
    calls: Mutex<Vec<LlmRequest>>,
}

impl FnLlm {
    pub fn new(
        f: impl Fn(&LlmRequest) -> Result<String, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        FnLlm {
            reply: Box::new(f),
            calls: Mutex::new(Vec::new()),
        }
    }

    pub fn calls(&self) -> Vec<LlmRequest> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Llm for FnLlm {
    fn name(&self) -> &str {
        "fn-llm"
    }

    async fn stream(&self, request: &LlmRequest) -> Result<TextStream, ProviderError> {
        self.calls.lock().unwrap().push(request.clone());
        let text = (self.reply)(request)?;
        // Two tokens, to exercise collection.
        let mid = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        let (a, b) = text.split_at(mid);
        let tokens = vec![Ok(a.to_string()), Ok(b.to_string())];
        Ok(Box::pin(futures::stream::iter(tokens)))
    }
}
