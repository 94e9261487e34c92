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
use crate::pipeline::sentences::{first_sentence, SentenceOptions};
use crate::pipeline::{Brain, BrainReply, Conversation, OpenedStream};
use crate::providers::prefetch::PrefetchTts;
use crate::providers::{Llm, LlmRequest};

/// Flow actions the brain hands to the session: `Score`, `End` and closing `Say`s (bounded
/// channel; the session drains it continuously).
pub type FlowEffect = Vec<Action>;

pub type SharedFlow = Arc<Mutex<Flow>>;

pub fn lock(flow: &SharedFlow) -> MutexGuard<'_, Flow> {
    flow.lock().unwrap_or_else(|e| e.into_inner())
}

fn lock_ahead(a: &Mutex<Option<Ahead>>) -> MutexGuard<'_, Option<Ahead>> {
    a.lock().unwrap_or_else(|e| e.into_inner())
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
    /// The turn decided ahead by a speculative reply, until its commit.
    ahead: Mutex<Option<Ahead>>,
    /// Where the likely next line is prepared while the candidate answers (verbatim lines
    /// only: a phrased line is not known until the LLM writes it).
    prefetch: Option<(Arc<PrefetchTts>, SentenceOptions)>,
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
            prefetch: None,
            ahead: Mutex::new(None),
        }
    }

    /// Prepare the first sentence of the likely next question (or the closing) through
    /// `tts` whenever a question is out, so a complete answer is followed by audio at once.
    pub fn with_prefetch(mut self, tts: Arc<PrefetchTts>, sentences: SentenceOptions) -> Self {
        self.prefetch = Some((tts, sentences));
        self
    }

    /// Called when a line has been decided: start preparing what probably comes next.
    pub fn prepare_next(&self) {
        let Some((tts, sentences)) = &self.prefetch else {
            return;
        };
        if self.phrase {
            return;
        }
        let next = lock(&self.flow).likely_next_line();
        if let Some(first) = next.and_then(|l| first_sentence(&l, sentences)) {
            tts.prefetch(&first);
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

/// What the flow decided about one turn.
struct Decision {
    reply: BrainReply,
    /// Score, End and closing Say actions, for the session.
    for_session: Vec<Action>,
    /// A question or follow-up is out (the next line can be prepared).
    asks: bool,
}

/// A turn decided ahead on a copy of the flow, waiting for its commit.
struct Ahead {
    text: String,
    /// The real flow's revision the copy was taken at.
    base: u64,
    flow: Flow,
    decision: Decision,
}

impl FlowBrain {
    /// A copy of the flow and the revision it was taken at.
    fn snapshot(&self) -> (u64, Flow) {
        let f = lock(&self.flow);
        (f.revision(), f.clone())
    }

    /// Run `user_text` through `flow` (a copy: the judge is awaited without holding the real
    /// flow's lock) and turn the resulting actions into a reply.
    async fn decide(
        &self,
        flow: &mut Flow,
        conversation: &Conversation,
        user_text: &str,
        judge: bool,
    ) -> Decision {
        let t = now();
        let mut actions = flow.handle(
            Input::CandidateTurn {
                text: user_text.to_string(),
                at: t,
            },
            t,
        );
        let mut says: Vec<(String, SayKind)> = Vec::new();
        let mut for_session = Vec::new();
        let mut early: Option<(LlmRequest, OpenedStream)> = None;
        while !actions.is_empty() {
            let mut next = Vec::new();
            for action in actions {
                match action {
                    Action::AskLlmToJudge {
                        question_index,
                        question,
                        answer,
                    } => {
                        let j = if judge {
                            // While the judge thinks, the phrasing of the likely outcome (the
                            // answer will do: the next line) is already being written.
                            let presumed = self.presumed_phrasing(
                                flow,
                                conversation,
                                user_text,
                                question_index,
                            );
                            let (j, opened) = self
                                .judge_while_opening(question_index, &question, &answer, presumed)
                                .await;
                            early = opened;
                            j
                        } else {
                            Judgement::unavailable(question_index)
                        };
                        next.extend(flow.handle(Input::Judgement(j), now()));
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
        let asks = says
            .iter()
            .any(|(_, k)| matches!(k, SayKind::Question | SayKind::FollowUp));
        let reply = match (self.reply_for(&says, conversation, user_text), early) {
            // The judge agreed with the presumption: the stream opened meanwhile is the reply.
            (BrainReply::Llm(request), Some((presumed, stream))) if request == presumed => {
                BrainReply::LlmOpened { request, stream }
            }
            // Otherwise the early stream (if any) is dropped here, which cancels it.
            (reply, _) => reply,
        };
        Decision {
            reply,
            for_session,
            asks,
        }
    }

    fn reply_for(
        &self,
        says: &[(String, SayKind)],
        conversation: &Conversation,
        user_text: &str,
    ) -> BrainReply {
        match says {
            [] => BrainReply::Nothing,
            // One question or follow-up: the LLM phrases it (acknowledging the answer).
            [(text, kind)]
                if self.phrase && matches!(kind, SayKind::Question | SayKind::FollowUp) =>
            {
                let action = Action::Say {
                    text: text.clone(),
                    kind: *kind,
                };
                BrainReply::Llm(self.prompts.request_with(
                    conversation.messages(),
                    user_text,
                    directive_for(&action),
                ))
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

    /// The LLM request the turn gets if the judge finds the answer sufficient (on a copy of
    /// `flow`), when that reply is phrased by the LLM.
    fn presumed_phrasing(
        &self,
        flow: &Flow,
        conversation: &Conversation,
        user_text: &str,
        question_index: usize,
    ) -> Option<LlmRequest> {
        if !self.phrase || !self.llm_judge {
            return None;
        }
        let mut copy = flow.clone();
        let sufficient = Judgement {
            question_index,
            thin: false,
            follow_up: None,
        };
        let says: Vec<(String, SayKind)> = copy
            .handle(Input::Judgement(sufficient), now())
            .into_iter()
            .filter_map(|a| match a {
                Action::Say { text, kind } if kind != SayKind::Closing => Some((text, kind)),
                _ => None,
            })
            .collect();
        match self.reply_for(&says, conversation, user_text) {
            BrainReply::Llm(request) => Some(request),
            _ => None,
        }
    }

    /// The judge's verdict, with `presumed` sent meanwhile. A thin answer does not wait for
    /// that request to open (it is dropped, which cancels it).
    async fn judge_while_opening(
        &self,
        question_index: usize,
        question: &str,
        answer: &str,
        presumed: Option<LlmRequest>,
    ) -> (Judgement, Option<(LlmRequest, OpenedStream)>) {
        let judging = self.judge(question_index, question, answer);
        let opening = self.open_early(presumed);
        tokio::pin!(judging, opening);
        let mut opened = None;
        let judgement = loop {
            tokio::select! {
                // The judge's request goes out first.
                biased;
                j = &mut judging => break j,
                o = &mut opening, if opened.is_none() => opened = Some(o),
            }
        };
        let early = match opened {
            Some(o) => o,
            None if !judgement.thin => opening.await,
            None => None,
        };
        (judgement, early)
    }

    /// Send `request` now; the stream is read (or dropped) once the judge has spoken.
    async fn open_early(&self, request: Option<LlmRequest>) -> Option<(LlmRequest, OpenedStream)> {
        let request = request?;
        let opened = self.llm.stream(&request).await;
        Some((request, OpenedStream::new(opened)))
    }

    /// Make `flow` (decided from revision `base`) the real flow, unless the real one has
    /// moved on since; then hand the session its actions.
    async fn apply(&self, base: u64, flow: Flow, decision: &mut Decision) -> bool {
        {
            let mut real = lock(&self.flow);
            if real.revision() != base {
                return false;
            }
            *real = flow;
        }
        let effects = std::mem::take(&mut decision.for_session);
        if !effects.is_empty() {
            let _ = self.effects.send(effects).await;
        }
        if decision.asks {
            self.prepare_next();
        }
        true
    }
}

#[async_trait]
impl Brain for FlowBrain {
    async fn request(&self, conversation: &Conversation, user_text: &str) -> LlmRequest {
        self.prompts.request(conversation.messages(), user_text)
    }

    /// `reply` moves the flow on: a speculative reply decides through `reply_ahead` instead.
    fn preemptable(&self) -> bool {
        false
    }

    async fn reply(&self, conversation: &Conversation, user_text: &str) -> BrainReply {
        *lock_ahead(&self.ahead) = None;
        // Decided on a copy (the judge takes a while); applied if nothing else moved the flow
        // meanwhile (the hiring team ending it, a timer), else decided again.
        for _ in 0..2 {
            let (base, mut flow) = self.snapshot();
            let mut d = self.decide(&mut flow, conversation, user_text, true).await;
            if self.apply(base, flow, &mut d).await {
                return d.reply;
            }
        }
        // Still moving: decide on the real flow at once, without the judge.
        let (base, mut flow) = self.snapshot();
        let mut d = self.decide(&mut flow, conversation, user_text, false).await;
        if self.apply(base, flow, &mut d).await {
            return d.reply;
        }
        tracing::warn!("the interview flow kept changing; this turn gets no reply");
        BrainReply::Nothing
    }

    /// Decide on a copy of the flow; [`Brain::commit_ahead`] makes it the real one.
    async fn reply_ahead(
        &self,
        conversation: &Conversation,
        user_text: &str,
    ) -> Option<BrainReply> {
        let (base, mut flow) = self.snapshot();
        let mut decision = self.decide(&mut flow, conversation, user_text, true).await;
        // The pipeline holds the reply (and any stream opened for it): a cancelled speculation
        // drops it, and with it the request.
        let reply = std::mem::replace(&mut decision.reply, BrainReply::Nothing);
        *lock_ahead(&self.ahead) = Some(Ahead {
            text: user_text.to_string(),
            base,
            flow,
            decision,
        });
        Some(reply)
    }

    async fn commit_ahead(&self, user_text: &str) -> bool {
        let Some(ahead) = lock_ahead(&self.ahead).take() else {
            return false;
        };
        if ahead.text != user_text {
            return false;
        }
        let Ahead {
            base,
            flow,
            mut decision,
            ..
        } = ahead;
        self.apply(base, flow, &mut decision).await
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
        setup_with(phrase, llm_judge, Arc::new(llm))
    }

    fn setup_with(
        phrase: bool,
        llm_judge: bool,
        llm: Arc<FakeLlm>,
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
            llm,
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
        // Sent while the judge was thinking, and the judge agreed: handed over open.
        let BrainReply::LlmOpened { request: req, .. } = brain.reply(&c, LONG).await else {
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

    #[tokio::test(start_paused = true)]
    async fn the_next_line_is_phrased_while_the_judge_thinks() {
        // Every LLM call: first token after 300 ms, then 25 ms per token.
        let llm = FakeLlm::new()
            .with_ttft(Duration::from_millis(300))
            .with_token_interval(Duration::from_millis(25))
            .with_script([r#"{"thin": false, "follow_up": null}"#])
            .with_default_reply("Thanks. Why us?");
        let (brain, _effects) = setup(true, true, llm);
        let start = tokio::time::Instant::now();
        let BrainReply::LlmOpened { request, stream } =
            brain.reply(&Conversation::default(), LONG).await
        else {
            panic!("expected the phrasing opened ahead");
        };
        assert!(request.messages.last().unwrap().content.contains("Why us?"));
        let opened = stream;
        let mut stream = opened.take().expect("the opened stream");
        assert!(opened.take().is_none(), "handed over once");
        let first = futures::StreamExt::next(&mut stream).await;
        assert!(matches!(first, Some(Ok(_))));
        // In series the first word would come after the judge's whole reply (300 ms + 25 ms a
        // token) and another 300 ms; in parallel it is already there when the judge is done.
        let judge_done = Duration::from_millis(300 + 25 * 8);
        assert!(
            start.elapsed() <= judge_done + Duration::from_millis(25),
            "first phrased word after {:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_thin_answer_cancels_the_phrasing_sent_ahead() {
        let llm = Arc::new(
            FakeLlm::new()
                .with_ttft(Duration::from_millis(300))
                .with_script([r#"{"thin": true, "follow_up": "What did you measure?"}"#]),
        );
        let (brain, _effects) = setup_with(true, true, llm.clone());
        let reply = brain.reply(&Conversation::default(), LONG).await;
        // The follow-up is phrased by a new request; the one sent ahead was dropped unread.
        let BrainReply::Llm(request) = reply else {
            panic!("expected a new LLM request for the follow-up, got {reply:?}");
        };
        assert!(request
            .messages
            .last()
            .unwrap()
            .content
            .contains("What did you measure?"));
        assert_eq!(llm.calls().len(), 2, "judge + the phrasing sent ahead");
        assert_eq!(llm.streams().cancelled(), 1);
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

    #[tokio::test(start_paused = true)]
    async fn the_likely_next_line_is_prepared_while_the_candidate_answers() {
        use crate::providers::fake::FakeTts;
        use crate::providers::Tts;
        let (brain, _effects) = setup(false, false, FakeLlm::new());
        let fake = Arc::new(FakeTts::new());
        let tts = PrefetchTts::new(fake.clone());
        let brain = brain.with_prefetch(tts.clone(), SentenceOptions::default());
        let c = Conversation::default();
        // The first question is out: its answer will most likely lead to "Why us?".
        brain.prepare_next();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(fake.calls(), vec!["Why us?".to_string()]);
        // A thin answer gets a follow-up; the guess stays (no second call for it).
        brain.reply(&c, "Speed.").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(fake.calls().len(), 1);
        // Then the next question is asked from the prepared audio, and the closing prepared.
        assert_eq!(
            brain.reply(&c, LONG).await,
            BrainReply::Say("Why us?".into())
        );
        let _ = tts.synthesize("Why us?").await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let calls = fake.calls();
        assert_eq!(calls.len(), 2, "{calls:?}");
        let lines = Lines::for_language(&crate::interview::Language::english());
        let closing = lines.closing("Ana");
        assert!(
            closing.starts_with(&calls[1]),
            "prepared {:?}, closing {closing:?}",
            calls[1]
        );
    }

    #[tokio::test]
    async fn a_turn_decided_ahead_changes_nothing_until_its_commit() {
        let (brain, mut effects) = setup(false, false, FakeLlm::new());
        let c = Conversation::default();
        let before = lock(&brain.flow).revision();
        assert_eq!(
            brain.reply_ahead(&c, LONG).await,
            Some(BrainReply::Say("Why us?".into()))
        );
        assert_eq!(
            lock(&brain.flow).revision(),
            before,
            "the real flow is untouched"
        );
        assert_eq!(lock(&brain.flow).current_prompt(), Some("Why Rust?"));
        assert!(effects.try_recv().is_err(), "no score before the commit");
        // Another transcript (the candidate went on) is not this decision.
        assert!(!brain.commit_ahead("Because it is fast.").await);
        assert_eq!(lock(&brain.flow).current_prompt(), Some("Why Rust?"));

        brain.reply_ahead(&c, LONG).await;
        assert!(brain.commit_ahead(LONG).await);
        assert_eq!(lock(&brain.flow).current_prompt(), Some("Why us?"));
        assert!(matches!(
            &effects.try_recv().unwrap()[..],
            [Action::Score {
                question_index: 0,
                ..
            }]
        ));
        assert!(!brain.commit_ahead(LONG).await, "applied once");
    }

    #[tokio::test]
    async fn a_decision_ahead_is_refused_when_the_flow_moved_on() {
        let (brain, mut effects) = setup(false, false, FakeLlm::new());
        let c = Conversation::default();
        brain.reply_ahead(&c, LONG).await;
        // The hiring team ends the interview before the turn commits.
        let end = lock(&brain.flow).end_early(now());
        assert!(!end.is_empty());
        assert!(!brain.commit_ahead(LONG).await);
        assert!(lock(&brain.flow).is_ended());
        assert!(effects.try_recv().is_err());
        // Asked again (the pipeline does so after a refusal): the ended flow says nothing.
        assert_eq!(brain.reply(&c, LONG).await, BrainReply::Nothing);
    }
}
