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

/// Flow actions the brain hands to the session: `Score`, `End` and closing `Say`s (bounded
/// channel; the session drains it continuously).
pub type FlowEffect = Vec<Action>;

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
            let _ = self.effects.send(for_session).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::lines::Lines;
    use crate::interview::{EndReason, FlowConfig, QuestionPlan};
    use crate::providers::fake::FakeLlm;

    fn setup(
        phrase: bool,
        llm_judge: bool,
        llm: FakeLlm,
    ) -> (FlowBrain, mpsc::Receiver<FlowEffect>) {
        let app: Application = serde_json::from_str(
            r#"{"id": "a1", "candidate": {"name": "Ana"},
                "job": {"title": "Engineer", "questions": ["Why Rust?", "Why us?"]}}"#,
        )
        .unwrap();
        let plan = QuestionPlan::from_job(&app.job).unwrap();
        let lines = Lines::for_language(&app.job.language());
        let mut flow = Flow::new(
            plan,
            lines,
            "Ana",
            "Engineer",
            FlowConfig::new(app.settings.max_duration),
        );
        flow.start(now());
        let (tx, rx) = mpsc::channel(8);
        let brain = FlowBrain::new(
            Arc::new(Mutex::new(flow)),
            app,
            Arc::new(llm),
            Duration::from_secs(2),
            phrase,
            llm_judge,
            tx,
        );
        (brain, rx)
    }

    const LONG: &str = "Because the compiler catches whole classes of bugs before they ship, \
                        and the performance is predictable under load.";

    #[tokio::test]
    async fn the_flow_decides_and_the_llm_only_phrases() {
        // Judge: not thin. Then the brain asks the LLM to phrase the NEXT planned question.
        let (brain, mut effects) = setup(
            true,
            true,
            FakeLlm::new().with_script([r#"{"thin": false, "follow_up": null}"#]),
        );
        let c = Conversation::default();
        let BrainReply::Llm(req) = brain.reply(&c, LONG).await else {
            panic!("expected an LLM request");
        };
        let last = &req.messages.last().unwrap().content;
        assert!(last.contains("\"Why us?\""), "{last}");
        // Question 1 is complete: scored by the session, in the background.
        let a = effects.try_recv().unwrap();
        assert!(matches!(
            &a[..],
            [Action::Score {
                question_index: 0,
                ..
            }]
        ));

        // "Could you repeat that?" -> the current question, verbatim, no LLM call.
        let reply = brain
            .reply(&c, "Sorry, could you repeat the question?")
            .await;
        assert_eq!(reply, BrainReply::Say("Why us?".into()));
    }

    #[tokio::test]
    async fn thin_answers_get_a_follow_up_and_the_closing_goes_to_the_session() {
        // No LLM judge, verbatim lines: the word count alone decides.
        let (brain, mut effects) = setup(false, false, FakeLlm::new());
        let c = Conversation::default();
        let lines = Lines::for_language(&crate::interview::Language::english());
        assert_eq!(
            brain.reply(&c, "Speed.").await,
            BrainReply::Say(lines.default_follow_up.into())
        );
        assert_eq!(
            brain.reply(&c, LONG).await,
            BrainReply::Say("Why us?".into())
        );
        assert!(effects.try_recv().is_ok()); // score of question 1
                                             // The last answer: nothing for the pipeline to say; the session gets score, closing
                                             // and end (it speaks the closing itself and waits for it before leaving).
        let long_again = format!("{LONG} Also the team.");
        assert_eq!(brain.reply(&c, &long_again).await, BrainReply::Nothing);
        let a = effects.try_recv().unwrap();
        assert!(matches!(
            a[0],
            Action::Score {
                question_index: 1,
                ..
            }
        ));
        assert!(matches!(
            &a[1],
            Action::Say {
                kind: SayKind::Closing,
                ..
            }
        ));
        assert!(matches!(
            a[2],
            Action::End {
                reason: EndReason::Completed
            }
        ));
    }
}
