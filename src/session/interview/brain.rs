//! [`FlowBrain`]: the pipeline's brain during an interview. Each candidate turn goes into the
//! interview [`Flow`] first; the flow decides (answer, repeat, clarify, follow-up, next
//! question, closing) and the LLM only phrases questions and follow-ups. The follow-up judge
//! runs here, inline, bounded by `judge_timeout` (it sits between the answer and the next
//! question, so it counts against voice-to-voice latency). Scoring and the end of the
//! interview are handed to the session as [`FlowEffect`]s; closings are spoken by the session
//! so it can wait for them to finish.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::interview::brain::directive_for;
use crate::interview::{
    judge_or_unavailable, Action, Application, Flow, Input, InterviewBrain, Judgement, SayKind,
};
use crate::pipeline::{Brain, BrainReply, Conversation};
use crate::providers::{Llm, LlmRequest};

/// What the brain hands to the session (bounded channel; the session drains it continuously).
#[derive(Debug)]
pub enum FlowEffect {
    /// Actions for the session: `Score`, `End`, and closing `Say`s.
    Actions(Vec<Action>),
}

pub type SharedFlow = Arc<Mutex<Flow>>;

pub fn lock(flow: &SharedFlow) -> MutexGuard<'_, Flow> {
    flow.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct FlowBrain {
    flow: SharedFlow,
    prompts: InterviewBrain,
    llm: Arc<dyn Llm>,
    application: Application,
    judge_timeout: Duration,
    /// The LLM phrases questions and follow-ups; false: said verbatim.
    phrase: bool,
    /// The LLM judges whether an answer is thin; false: the word-count rule alone (no LLM
    /// call between the answer and the next question).
    llm_judge: bool,
    effects: mpsc::Sender<FlowEffect>,
}

impl FlowBrain {
    pub fn new(
        flow: SharedFlow,
        application: Application,
        llm: Arc<dyn Llm>,
        judge_timeout: Duration,
        phrase: bool,
        llm_judge: bool,
        effects: mpsc::Sender<FlowEffect>,
    ) -> Self {
        FlowBrain {
            flow,
            prompts: InterviewBrain::new(&application),
            llm,
            application,
            judge_timeout,
            phrase,
            llm_judge,
            effects,
        }
    }

    async fn judge(&self, question_index: usize, question: &str, answer: &str) -> Judgement {
        if !self.llm_judge {
            return Judgement::unavailable(question_index);
        }
        let job = &self.application.job;
        let language = job.language();
        let verdict = judge_or_unavailable(
            self.llm.as_ref(),
            &job.title,
            &language,
            question_index,
            question,
            answer,
        );
        match tokio::time::timeout(self.judge_timeout, verdict).await {
            Ok(j) => j,
            Err(_) => {
                tracing::info!(
                    question_index,
                    "follow-up judge timed out; deciding by length"
                );
                Judgement::unavailable(question_index)
            }
        }
    }
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

#[async_trait]
impl Brain for FlowBrain {
    async fn request(&self, conversation: &Conversation, user_text: &str) -> LlmRequest {
        self.prompts.request(conversation.messages(), user_text)
    }

    async fn reply(&self, conversation: &Conversation, user_text: &str) -> BrainReply {
        let t = now();
        let mut actions = lock(&self.flow).handle(
            Input::CandidateTurn {
                text: user_text.to_string(),
                at: t,
            },
            t,
        );
        let mut says: Vec<(String, SayKind)> = Vec::new();
        let mut for_session = Vec::new();
        while !actions.is_empty() {
            let mut next = Vec::new();
            for action in actions {
                match action {
                    Action::AskLlmToJudge {
                        question_index,
                        question,
                        answer,
                    } => {
                        let j = self.judge(question_index, &question, &answer).await;
                        next.extend(lock(&self.flow).handle(Input::Judgement(j), now()));
                    }
                    Action::Say {
                        kind: SayKind::Closing,
                        ..
                    } => for_session.push(action),
                    Action::Say { text, kind } => says.push((text, kind)),
                    Action::Score { .. } | Action::End { .. } => for_session.push(action),
                }
            }
            actions = next;
        }
        if !for_session.is_empty() {
            let _ = self.effects.send(FlowEffect::Actions(for_session)).await;
        }
        match says.as_slice() {
            [] => BrainReply::Nothing,
            // One question or follow-up: the LLM phrases it (acknowledging the answer).
            [(text, kind)]
                if self.phrase && matches!(kind, SayKind::Question | SayKind::FollowUp) =>
            {
                let action = Action::Say {
                    text: text.clone(),
                    kind: *kind,
                };
                self.prompts.set_directive(directive_for(&action));
                BrainReply::Llm(self.prompts.request(conversation.messages(), user_text))
            }
            // Repeats, clarifications, re-prompts (and everything when not phrasing): verbatim.
            _ => BrainReply::Say(
                says.iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }

    fn stt_prompt(&self) -> Option<String> {
        self.prompts.stt_prompt()
    }
}
