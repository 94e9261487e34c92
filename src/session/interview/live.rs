//! One running interview ([`Live`]): the select loop over room events, pipeline events, flow
//! timers, the brain's effects and background scores; carrying out the flow's actions; the
//! candidate leaving and rejoining within the grace.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::brain::{lock, FlowEffect, SharedFlow};
use super::observers::{ObserverEvent, Observers};
use super::record::Recorder;
use super::InterviewRunner;
use crate::interview::spool::now_ms;
use crate::interview::{score_outcome, Action, Application, EndReason, Input, SayKind, Speaker};
use crate::pipeline::{AgentSpeech, AgentState, PipelineEvent, PipelineHandle};
use crate::room::{Room, RoomEvent};
use crate::session::candidate::{sleep_opt, CandidateLink};
use crate::session::voice::mirror;
use crate::telemetry::{interview_metrics, InterviewMetrics};

/// How the interview loop ended.
pub(super) enum Outcome {
    Ended(EndReason),
    RoomLost(String),
}

/// A running interview's state.
pub(super) struct Live<'a> {
    pub(super) runner: &'a InterviewRunner,
    pub(super) room: &'a Room,
    pub(super) handle: PipelineHandle,
    pub(super) flow: SharedFlow,
    pub(super) app: Application,
    pub(super) recorder: Recorder,
    pub(super) scoring: JoinSet<crate::interview::QuestionOutcome>,
    /// The closing line being spoken.
    pub(super) closing: Option<AgentSpeech>,
    pub(super) ending: Option<EndReason>,
    /// The agent is thinking or speaking: the candidate's silence is not counted.
    pub(super) agent_busy: bool,
    pub(super) agent_track: String,
    pub(super) observers: Observers,
    /// When the line being said began (unix ms), so the transcript times lines from their
    /// start: the agent's first audio of its line, the candidate's speech onset.
    pub(super) line_starts: LineStarts,
}

#[derive(Default)]
pub(super) struct LineStarts {
    agent: Option<u64>,
    candidate: Option<u64>,
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl Live<'_> {
    pub(super) async fn interview(
        &mut self,
        cancel: &CancellationToken,
        events: &mut mpsc::Receiver<RoomEvent>,
        pipe_events: &mut mpsc::Receiver<PipelineEvent>,
        effects: &mut mpsc::Receiver<FlowEffect>,
        link: &mut CandidateLink,
    ) -> Outcome {
        let start = lock(&self.flow).start(now());
        self.execute(start).await;
        loop {
            if self.ending.is_some() && self.closing.is_none() {
                // Ended without a closing line to wait for.
                return Outcome::Ended(self.ending.unwrap_or(EndReason::Completed));
            }
            // Silence is counted from the end of the agent's line, so no timer runs while the
            // agent talks (the flow hears `AgentDoneSpeaking` when it stops).
            let deadline = if self.agent_busy {
                None
            } else {
                lock(&self.flow)
                    .next_deadline()
                    .map(tokio::time::Instant::from_std)
            };
            let gone_at = link.gone_at(self.runner.options.rejoin_grace);
            let closing = self.closing.clone();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    let a = lock(&self.flow).abort(EndReason::Terminated);
                    self.execute(a).await;
                    return Outcome::Ended(EndReason::Terminated);
                }
                _ = async { match &closing { Some(s) => { s.done().await; } None => std::future::pending().await } } => {
                    return Outcome::Ended(self.ending.unwrap_or(EndReason::Completed));
                }
                _ = sleep_opt(gone_at) => {
                    tracing::info!(candidate = %link.identity, "candidate did not come back; ending the interview");
                    let a = lock(&self.flow).abort(EndReason::CandidateLeft);
                    self.execute(a).await;
                    return Outcome::Ended(EndReason::CandidateLeft);
                }
                Some(a) = effects.recv() => self.execute(a).await,
                Some(done) = self.scoring.join_next(), if !self.scoring.is_empty() => {
                    if let Ok(outcome) = done {
                        log_score(&outcome);
                        self.observers.evaluated(self.room, &outcome).await;
                        self.recorder.outcome(outcome).await;
                    }
                }
                _ = sleep_opt(deadline) => {
                    let a = lock(&self.flow).poll(now());
                    self.execute(a).await;
                }
                ev = pipe_events.recv() => {
                    let Some(ev) = ev else { return Outcome::RoomLost("voice pipeline stopped".into()) };
                    self.on_pipeline(&ev).await;
                    mirror(self.room, ev, &link.track_sid, &self.agent_track).await;
                }
                ev = events.recv() => {
                    match self.observers.on_event(ev.as_ref()) {
                        ObserverEvent::Joined(id) => self.observers.catch_up(self.room, &id).await,
                        ObserverEvent::EndRequested(by) => {
                            tracing::info!(observer = %by, "the hiring team ended the interview");
                            let a = lock(&self.flow).end_early(now());
                            self.execute(a).await;
                        }
                        ObserverEvent::Nothing => {}
                    }
                    if let Err(why) = link.on_room_event(ev) {
                        return Outcome::RoomLost(why);
                    }
                }
            }
        }
    }

    /// Record and mirror the pipeline events still queued (the closing's final transcript
    /// arrives as its playout ends).
    pub(super) async fn drain(
        &mut self,
        pipe_events: &mut mpsc::Receiver<PipelineEvent>,
        candidate_track: &str,
    ) {
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(300), pipe_events.recv()).await
        {
            self.on_pipeline(&ev).await;
            mirror(self.room, ev, candidate_track, &self.agent_track).await;
        }
    }

    async fn on_pipeline(&mut self, ev: &PipelineEvent) {
        match ev {
            PipelineEvent::UserSpeechStarted { at } => {
                let ago = tokio::time::Instant::now().saturating_duration_since(*at);
                let at_ms = now_ms().saturating_sub(ago.as_millis() as u64);
                self.line_starts.candidate.get_or_insert(at_ms);
                let a = lock(&self.flow).handle(Input::CandidateSpeechStarted { at: now() }, now());
                self.execute(a).await;
            }
            PipelineEvent::StateChanged(state) if *state != AgentState::Listening => {
                if *state == AgentState::Speaking {
                    self.line_starts.agent.get_or_insert(now_ms());
                    // Sounds while the agent talks are not the start of the next answer.
                    self.line_starts.candidate = None;
                }
                self.agent_busy = true;
            }
            PipelineEvent::StateChanged(AgentState::Listening) => {
                self.agent_busy = false;
                let a = lock(&self.flow).handle(Input::AgentDoneSpeaking { at: now() }, now());
                self.execute(a).await;
            }
            PipelineEvent::UserTranscript { text, .. } => {
                let start = self.line_starts.candidate.take();
                self.recorder.said(Speaker::Candidate, text, start).await;
            }
            PipelineEvent::AgentTranscript {
                text,
                is_final: true,
                ..
            } => {
                let start = self.line_starts.agent.take();
                self.recorder.said(Speaker::Interviewer, text, start).await;
            }
            _ => {}
        }
    }

    /// Carry out flow actions on the session side.
    pub(super) async fn execute(&mut self, actions: Vec<Action>) {
        // Counted before lines are merged (greeting + first question are one utterance).
        for action in &actions {
            if let Action::Say {
                text,
                kind: SayKind::Question,
            } = action
            {
                self.recorder.asked(text).await;
            }
        }
        for action in merge_says(actions) {
            match action {
                Action::Say { text, kind } => {
                    let speech = self.handle.say(text, kind != SayKind::Closing).await;
                    if kind == SayKind::Closing {
                        self.closing = speech;
                    }
                }
                Action::AskLlmToJudge { question_index, .. } => {
                    // Only the brain asks the judge (inline); a judge request here means the
                    // turn came another way: decide by the length rule.
                    let a = lock(&self.flow).handle(
                        Input::Judgement(crate::interview::Judgement::unavailable(question_index)),
                        now(),
                    );
                    Box::pin(self.execute(a)).await;
                }
                Action::Score {
                    question_index,
                    question,
                    answer,
                } => {
                    let llm = self.runner.llm.clone();
                    let title = self.app.job.title.clone();
                    self.scoring.spawn(async move {
                        score_outcome(llm.as_ref(), &title, question_index, &question, &answer)
                            .await
                    });
                }
                Action::End { reason } => {
                    tracing::info!(?reason, "interview ending");
                    self.ending = Some(reason);
                }
            }
        }
    }
}

/// Consecutive non-closing lines become one utterance (greeting + first question), so the
/// agent does not pause between them as if waiting for an answer.
pub(super) fn merge_says(actions: Vec<Action>) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::with_capacity(actions.len());
    for action in actions {
        if let (
            Action::Say { text, kind },
            Some(Action::Say {
                text: prev,
                kind: prev_kind,
            }),
        ) = (&action, out.last_mut())
        {
            if *kind != SayKind::Closing && *prev_kind != SayKind::Closing {
                prev.push(' ');
                prev.push_str(text);
                *prev_kind = *kind;
                continue;
            }
        }
        out.push(action);
    }
    out
}

pub(super) fn log_score(o: &crate::interview::QuestionOutcome) {
    let m = interview_metrics();
    match &o.score {
        Some(s) => {
            InterviewMetrics::inc(&m.answers_scored);
            tracing::info!(
                question = o.index,
                score = s.score,
                confidence = s.confidence,
                "answer scored"
            )
        }
        None => {
            InterviewMetrics::inc(&m.answers_unscored);
            tracing::warn!(question = o.index, error = ?o.scoring_error, "answer not scored")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(text: &str, kind: SayKind) -> Action {
        Action::Say {
            text: text.into(),
            kind,
        }
    }

    #[test]
    fn greeting_and_first_question_are_one_utterance_and_closings_stay_apart() {
        let merged = merge_says(vec![
            say("Hello Ana.", SayKind::Greeting),
            say("Why Rust?", SayKind::Question),
            Action::Score {
                question_index: 0,
                question: "q".into(),
                answer: "a".into(),
            },
            say("Tell me more.", SayKind::FollowUp),
            say("Goodbye.", SayKind::Closing),
            Action::End {
                reason: EndReason::Completed,
            },
        ]);
        assert_eq!(merged.len(), 5);
        assert_eq!(merged[0], say("Hello Ana. Why Rust?", SayKind::Question));
        assert!(matches!(merged[1], Action::Score { .. }));
        assert_eq!(merged[2], say("Tell me more.", SayKind::FollowUp));
        assert_eq!(merged[3], say("Goodbye.", SayKind::Closing));
        assert_eq!(
            merge_says(vec![
                say("Goodbye.", SayKind::Closing),
                say("Again.", SayKind::Repeat)
            ])
            .len(),
            2
        );
    }
}
