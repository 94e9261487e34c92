//! What to say: the pluggable [`Brain`] gets the conversation so far and the user's new
//! transcript and returns the LLM request. The interviewer plugs in here; [`DefaultBrain`] is a
//! plain system prompt + recent history. [`Conversation`] holds only what was actually said:
//! user transcripts and the agent text the user really heard (see `AgentSpeech::heard_text`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::providers::{ChatMessage, ChatRole, LlmRequest, ProviderError, TextStream};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    messages: Vec<ChatMessage>,
}

impl Conversation {
    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    pub fn push_user(&mut self, text: impl Into<String>) {
        self.push(ChatRole::User, text.into());
    }

    pub fn push_assistant(&mut self, text: impl Into<String>) {
        self.push(ChatRole::Assistant, text.into());
    }

    /// Remove the last message if it is a user message (a turn merged into the next one).
    pub fn pop_user(&mut self) -> Option<String> {
        match self.messages.last() {
            Some(m) if m.role == ChatRole::User => self.messages.pop().map(|m| m.content),
            _ => None,
        }
    }

    fn push(&mut self, role: ChatRole, text: String) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        // Two user turns in a row (the agent said nothing in between) are one message.
        if let Some(last) = self.messages.last_mut() {
            if last.role == role && role == ChatRole::User {
                last.content.push(' ');
                last.content.push_str(text);
                return;
            }
        }
        self.messages.push(ChatMessage {
            role,
            content: text.to_string(),
        });
    }
}

/// What the agent does about a user turn.
#[derive(Debug, Clone, PartialEq)]
pub enum BrainReply {
    /// Stream this LLM request and speak the answer.
    Llm(LlmRequest),
    /// Like `Llm`, with the request already sent by the brain while it was still deciding (the
    /// interviewer phrases the likely next line while its follow-up judge thinks). The reply
    /// reads that stream; if it was already taken, or failed to open, it sends `request`.
    LlmOpened {
        request: LlmRequest,
        stream: OpenedStream,
    },
    /// Speak this text verbatim (no LLM call).
    Say(String),
    /// Say nothing (the turn is recorded, the agent keeps listening).
    Nothing,
}

/// An LLM stream opened ahead, handed over once (clones share it). Dropping every clone
/// without taking it drops the stream, which cancels its request.
#[derive(Clone)]
pub struct OpenedStream(Arc<Mutex<Option<Result<TextStream, ProviderError>>>>);

impl OpenedStream {
    pub fn new(opened: Result<TextStream, ProviderError>) -> Self {
        OpenedStream(Arc::new(Mutex::new(Some(opened))))
    }

    /// The stream, the first time; None afterwards or if it failed to open.
    pub fn take(&self) -> Option<TextStream> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.take().and_then(Result::ok)
    }
}

impl std::fmt::Debug for OpenedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpenedStream")
    }
}

impl PartialEq for OpenedStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[async_trait]
pub trait Brain: Send + Sync {
    /// The LLM request answering `user_text`, given the conversation before it.
    async fn request(&self, conversation: &Conversation, user_text: &str) -> LlmRequest;

    /// What to do about `user_text`. The default asks the LLM with [`Brain::request`]; a brain
    /// that decides some replies itself (an interview plan) overrides this.
    async fn reply(&self, conversation: &Conversation, user_text: &str) -> BrainReply {
        BrainReply::Llm(self.request(conversation, user_text).await)
    }

    /// Vocabulary hint for STT (job title, technologies, names). Not previous transcripts.
    fn stt_prompt(&self) -> Option<String> {
        None
    }

    /// True when [`Brain::reply`] has no side effects, so a speculative reply may ask it
    /// before the turn is committed (and throw the answer away). A brain that changes state
    /// when it hears a turn returns false and decides ahead through [`Brain::reply_ahead`].
    fn preemptable(&self) -> bool {
        true
    }

    /// A speculative reply's decision (the turn is not committed yet): what [`Brain::reply`]
    /// would answer, WITHOUT changing the brain's state; [`Brain::commit_ahead`] applies it
    /// when the turn commits with the same text, and it is simply forgotten otherwise.
    /// `None`: this brain cannot decide ahead; it is asked with `reply` at the commit.
    /// Default: `reply` for a [`Brain::preemptable`] brain, `None` otherwise.
    async fn reply_ahead(
        &self,
        conversation: &Conversation,
        user_text: &str,
    ) -> Option<BrainReply> {
        if self.preemptable() {
            Some(self.reply(conversation, user_text).await)
        } else {
            None
        }
    }

    /// The turn that [`Brain::reply_ahead`] answered was committed with `user_text`: apply
    /// the decision now. False: it no longer fits (the brain's state moved on meanwhile);
    /// the pipeline throws the prepared reply away and asks [`Brain::reply`].
    async fn commit_ahead(&self, _user_text: &str) -> bool {
        true
    }

    /// Said (through TTS) when a provider is down after retries.
    fn apology(&self) -> String {
        "Sorry, I had a technical problem just now. Could you say that again?".into()
    }
}

/// System prompt + the last `max_history` messages + the new user message.
#[derive(Debug, Clone)]
pub struct DefaultBrain {
    pub system_prompt: String,
    pub max_history: usize,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl Default for DefaultBrain {
    fn default() -> Self {
        DefaultBrain {
            system_prompt: "You are a friendly job interviewer speaking with a candidate over voice. \
                Keep every reply to one to three short spoken sentences, ask one question at a time, \
                and never use lists, markdown or emoji."
                .into(),
            max_history: 20,
            temperature: None,
            max_tokens: None,
        }
    }
}

#[async_trait]
impl Brain for DefaultBrain {
    async fn request(&self, conversation: &Conversation, user_text: &str) -> LlmRequest {
        let history = conversation.messages();
        let start = history.len().saturating_sub(self.max_history);
        let mut messages = Vec::with_capacity(history.len() - start + 2);
        messages.push(ChatMessage::system(self.system_prompt.clone()));
        messages.extend_from_slice(&history[start..]);
        messages.push(ChatMessage::user(user_text));
        LlmRequest {
            messages,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            json_schema: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn default_brain_builds_system_history_user() {
        let mut c = Conversation::default();
        c.push_assistant("Hello, tell me about yourself.");
        c.push_user("I am Ana.");
        c.push_user("I write Rust.");
        c.push_assistant("  ");
        assert_eq!(c.messages().len(), 2);
        assert_eq!(c.messages()[1].content, "I am Ana. I write Rust.");
        let b = DefaultBrain {
            max_history: 1,
            ..DefaultBrain::default()
        };
        let r = b.request(&c, "Next?").await;
        assert_eq!(r.messages.len(), 3);
        assert_eq!(r.messages[0].role, ChatRole::System);
        assert_eq!(r.messages[1].content, "I am Ana. I write Rust.");
        assert_eq!(r.messages[2], ChatMessage::user("Next?"));
        assert_eq!(
            c.clone().pop_user().as_deref(),
            Some("I am Ana. I write Rust.")
        );
    }
}
