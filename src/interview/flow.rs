//! The conversation state machine, sans-IO and deterministic: greeting (name, job title, AI
//! disclosure) -> question 1 -> optional follow-ups -> question 2 ... -> closing. The caller
//! feeds [`Input`]s through [`Flow::handle`] and calls [`Flow::poll`] at
//! [`Flow::next_deadline`]; both return [`Action`]s to carry out (speak, ask the judge, score,
//! end). Time is passed in (`now`), never read.
//!
//! Decisions (all configurable in [`FlowConfig`]):
//! - The greeting is followed directly by the first question (no small talk to parse).
//! - Follow-up: after an answer, while the question's follow-up budget (default 1) remains and
//!   time allows, the flow asks the LLM judge; a follow-up is asked when the answer to the
//!   latest prompt has fewer than `thin_answer_words` words OR the judge says thin. Text: the
//!   judge's follow-up, else the fixed default. A judge that does not answer within
//!   `judge_timeout` counts as "not thin".
//! - A question is scored once, when it is complete: `Score` carries the main answer and the
//!   follow-up answers joined.
//! - Repeat requests repeat the current prompt verbatim. Clarification requests get a
//!   deterministic `"In other words: <question> ..."` line (no LLM call on the critical path;
//!   a pipeline brain may phrase it more naturally).
//! - Silence: the timer runs from the question (or from `AgentDoneSpeaking`, if reported) and
//!   is paused while the candidate speaks. After `silence_timeout` (10 s): re-prompt; after
//!   `max_reprompts` (2) unanswered re-prompts: a polite goodbye and `End { Silence }`.
//! - Time budget: a new question (follow-up) starts only if elapsed + `expected_question_time`
//!   (`expected_follow_up_time`) <= `max_duration - wrap_up_margin`; otherwise the flow
//!   closes. Hard stop: at `max_duration - hard_stop_margin` the flow closes whatever it is
//!   doing (scoring what was answered so far).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::intent::{classify, Intent};
use super::lines::Lines;
use super::plan::QuestionPlan;
use super::transcript::{Speaker, TranscriptEntry};

#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    pub max_duration: Duration,
    /// Follow-ups per question.
    pub max_follow_ups: u32,
    /// Answers with fewer words are thin whatever the judge says.
    pub thin_answer_words: usize,
    pub silence_timeout: Duration,
    pub max_reprompts: u32,
    pub judge_timeout: Duration,
    /// Kept free at the end for the closing.
    pub wrap_up_margin: Duration,
    /// Expected time to ask and answer one question.
    pub expected_question_time: Duration,
    pub expected_follow_up_time: Duration,
    /// Before `max_duration`, the flow closes even mid-answer.
    pub hard_stop_margin: Duration,
}

impl FlowConfig {
    pub fn new(max_duration: Duration) -> Self {
        FlowConfig {
            max_duration,
            max_follow_ups: 1,
            thin_answer_words: 12,
            silence_timeout: Duration::from_secs(10),
            max_reprompts: 2,
            judge_timeout: Duration::from_secs(8),
            wrap_up_margin: Duration::from_secs(60),
            expected_question_time: Duration::from_secs(120),
            expected_follow_up_time: Duration::from_secs(60),
            hard_stop_margin: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The candidate started speaking (VAD): the silence timer pauses.
    CandidateSpeechStarted { at: Instant },
    /// A finished candidate turn (final transcript; empty = nothing intelligible).
    CandidateTurn { text: String, at: Instant },
    /// The interviewer finished speaking the last `Say`: the silence timer starts here.
    AgentDoneSpeaking { at: Instant },
    /// The judge's verdict on the answer to `question_index`.
    Judgement(Judgement),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub question_index: usize,
    pub thin: bool,
    pub follow_up: Option<String>,
}

impl Judgement {
    /// What to feed when the judge failed: the word-count rule decides alone.
    pub fn unavailable(question_index: usize) -> Self {
        Judgement {
            question_index,
            thin: false,
            follow_up: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SayKind {
    Greeting,
    Question,
    FollowUp,
    Repeat,
    Clarify,
    Reprompt,
    Closing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// All questions asked.
    Completed,
    /// The time budget ran out.
    TimeBudget,
    /// The candidate stopped responding.
    Silence,
    /// The candidate left and did not come back within the rejoin grace (set by the session
    /// through [`Flow::abort`]).
    CandidateLeft,
    /// The job was stopped (worker shutdown, room deleted; set through [`Flow::abort`]).
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Say {
        text: String,
        kind: SayKind,
    },
    AskLlmToJudge {
        question_index: usize,
        question: String,
        answer: String,
    },
    Score {
        question_index: usize,
        question: String,
        answer: String,
    },
    End {
        reason: EndReason,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    NotStarted,
    /// Waiting for the candidate's answer to the current prompt.
    Awaiting,
    /// Waiting for the judge since the instant given.
    Judging {
        since: Instant,
    },
    Ended(EndReason),
}

#[derive(Debug, Clone)]
struct Current {
    index: usize,
    /// What was last asked: the question or its follow-up.
    prompt: String,
    /// Answer to the main question, then to each follow-up.
    parts: Vec<String>,
    follow_ups: u32,
}

/// The interview conversation. See the module docs for the rules. Cloned to decide a turn
/// ahead (a speculative reply) without touching the real state.
#[derive(Debug, Clone)]
pub struct Flow {
    config: FlowConfig,
    plan: QuestionPlan,
    lines: &'static Lines,
    candidate_name: String,
    job_title: String,
    phase: Phase,
    started_at: Option<Instant>,
    current: Option<Current>,
    /// Silence timer start; None while the candidate speaks.
    silence_since: Option<Instant>,
    reprompts: u32,
    repeat_offered: bool,
    asked: usize,
    answered: usize,
    transcript: Vec<TranscriptEntry>,
    /// Counts decisions (turns, verdicts, timers that acted, start, end), not timer
    /// bookkeeping: a decision made on a clone still fits while this is unchanged.
    revision: u64,
}

impl Flow {
    pub fn new(
        plan: QuestionPlan,
        lines: &'static Lines,
        candidate_name: impl Into<String>,
        job_title: impl Into<String>,
        config: FlowConfig,
    ) -> Self {
        Flow {
            config,
            plan,
            lines,
            candidate_name: candidate_name.into(),
            job_title: job_title.into(),
            phase: Phase::NotStarted,
            started_at: None,
            current: None,
            silence_since: None,
            reprompts: 0,
            repeat_offered: false,
            asked: 0,
            answered: 0,
            transcript: Vec::new(),
            revision: 0,
        }
    }

    /// See the `revision` field: changes with every decision the flow makes.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The greeting [`Flow::start`] will say (known before the candidate arrives, so it can be
    /// synthesized ahead).
    pub fn greeting(&self) -> String {
        self.lines.greeting(&self.candidate_name, &self.job_title)
    }

    /// Greeting and the first question (or a closing if not even one question fits).
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        if self.phase != Phase::NotStarted {
            return Vec::new();
        }
        self.started_at = Some(now);
        self.revision += 1;
        let mut out = Vec::new();
        let greeting = self.greeting();
        self.say(&mut out, now, greeting, SayKind::Greeting);
        self.ask_next(&mut out, now, 0);
        out
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(input, Input::CandidateTurn { .. } | Input::Judgement(_)) {
            self.revision += 1;
        }
        if matches!(self.phase, Phase::NotStarted | Phase::Ended(_)) {
            if let Input::CandidateTurn { text, at } = input {
                self.record(Speaker::Candidate, &text, at);
            }
            return out;
        }
        match input {
            Input::CandidateSpeechStarted { .. } => {
                if self.phase == Phase::Awaiting {
                    self.silence_since = None;
                }
            }
            Input::AgentDoneSpeaking { at } => {
                if self.phase == Phase::Awaiting && self.silence_since.is_some() {
                    self.silence_since = Some(at);
                }
            }
            Input::CandidateTurn { text, at } => self.on_turn(&mut out, text, at, now),
            Input::Judgement(j) => {
                let expected = self.current.as_ref().map(|c| c.index);
                if matches!(self.phase, Phase::Judging { .. }) && expected == Some(j.question_index)
                {
                    self.on_judgement(&mut out, j, now);
                }
            }
        }
        out
    }

    /// Timers: hard stop, judge timeout, silence.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let out = self.poll_timers(now);
        if !out.is_empty() {
            self.revision += 1;
        }
        out
    }

    fn poll_timers(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(self.phase, Phase::NotStarted | Phase::Ended(_)) {
            return out;
        }
        if self.elapsed(now) >= self.hard_stop() {
            self.score_partial(&mut out);
            self.close(&mut out, now, EndReason::TimeBudget);
            return out;
        }
        match self.phase {
            Phase::Judging { since } if now.duration_since(since) >= self.config.judge_timeout => {
                let index = self.current.as_ref().map_or(0, |c| c.index);
                self.on_judgement(&mut out, Judgement::unavailable(index), now);
            }
            Phase::Awaiting => {
                let Some(since) = self.silence_since else {
                    return out;
                };
                if now.duration_since(since) < self.config.silence_timeout {
                    return out;
                }
                if self.reprompts < self.config.max_reprompts {
                    self.reprompts += 1;
                    self.repeat_offered = true;
                    let line = self.lines.reprompt.to_string();
                    self.say(&mut out, now, line, SayKind::Reprompt);
                    self.silence_since = Some(now);
                } else {
                    self.score_partial(&mut out);
                    self.close(&mut out, now, EndReason::Silence);
                }
            }
            _ => {}
        }
        out
    }

    /// End the interview without a closing line (nobody is listening): scores the answer in
    /// progress, if any. Returns the `Score` action (if any) and `End`; nothing once ended.
    /// The hiring team ends the interview early: the question in progress is scored with what
    /// was said, and the candidate hears a polite closing (end reason `terminated`).
    pub fn end_early(&mut self, now: Instant) -> Vec<Action> {
        self.revision += 1;
        let mut out = Vec::new();
        if self.is_ended() || self.phase == Phase::NotStarted {
            return self.abort(EndReason::Terminated);
        }
        self.score_partial(&mut out);
        self.close(&mut out, now, EndReason::Terminated);
        out
    }

    pub fn abort(&mut self, reason: EndReason) -> Vec<Action> {
        self.revision += 1;
        let mut out = Vec::new();
        if self.is_ended() {
            return out;
        }
        self.score_partial(&mut out);
        self.phase = Phase::Ended(reason);
        self.silence_since = None;
        out.push(Action::End { reason });
        out
    }

    /// When [`Flow::poll`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let start = self.started_at?;
        let hard = start + self.hard_stop();
        let timer = match self.phase {
            Phase::NotStarted | Phase::Ended(_) => return None,
            Phase::Judging { since } => Some(since + self.config.judge_timeout),
            Phase::Awaiting => self.silence_since.map(|s| s + self.config.silence_timeout),
        };
        Some(timer.map_or(hard, |t| t.min(hard)))
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended(_))
    }

    pub fn end_reason(&self) -> Option<EndReason> {
        match self.phase {
            Phase::Ended(r) => Some(r),
            _ => None,
        }
    }

    /// What the interviewer will most likely say after the current answer (the next planned
    /// question, or the closing after the last), so its audio can be prepared while the
    /// candidate answers. A guess: a thin answer gets a follow-up instead. Before the start
    /// it is the line after the first answer (the greeting asks the first question).
    pub fn likely_next_line(&self) -> Option<String> {
        let next = match (&self.current, &self.phase) {
            (Some(c), _) => c.index + 1,
            (None, Phase::NotStarted) => 1,
            (None, _) => return None,
        };
        if matches!(self.phase, Phase::Ended(_)) {
            return None;
        }
        Some(match self.plan.questions.get(next) {
            Some(q) => q.clone(),
            None => self.lines.closing(&self.candidate_name),
        })
    }

    /// Main questions asked so far.
    pub fn questions_asked(&self) -> usize {
        self.asked
    }

    /// Questions with a non-empty answer (each emitted as `Score`).
    pub fn questions_answered(&self) -> usize {
        self.answered
    }

    /// Index and text of the question being asked.
    pub fn current_question(&self) -> Option<(usize, &str)> {
        if self.is_ended() {
            return None;
        }
        let c = self.current.as_ref()?;
        Some((c.index, self.plan.questions[c.index].as_str()))
    }

    /// What the interviewer last asked (question or follow-up).
    pub fn current_prompt(&self) -> Option<&str> {
        self.current.as_ref().map(|c| c.prompt.as_str())
    }

    pub fn plan(&self) -> &QuestionPlan {
        &self.plan
    }

    pub fn transcript(&self) -> &[TranscriptEntry] {
        &self.transcript
    }

    pub fn started_at(&self) -> Option<Instant> {
        self.started_at
    }

    fn on_turn(&mut self, out: &mut Vec<Action>, text: String, at: Instant, now: Instant) {
        self.record(Speaker::Candidate, &text, at);
        let text = text.trim().to_string();
        if text.is_empty() {
            if self.phase == Phase::Awaiting {
                self.silence_since = Some(at);
            }
            return;
        }
        self.reprompts = 0;
        let repeat_offered = std::mem::take(&mut self.repeat_offered);
        match self.phase {
            Phase::Awaiting => {}
            Phase::Judging { .. } => {
                // The candidate kept talking while the judge thinks: part of the same answer.
                if let Some(c) = self.current.as_mut() {
                    append(&mut c.parts, &text);
                }
                return;
            }
            _ => return,
        }
        let Some(current) = self.current.as_ref() else {
            return;
        };
        let (index, prompt) = (current.index, current.prompt.clone());
        match classify(&text, repeat_offered) {
            Intent::Repeat => {
                self.say(out, now, prompt, SayKind::Repeat);
                self.silence_since = Some(now);
            }
            Intent::Clarify => {
                let line = self.lines.clarify(&prompt);
                self.say(out, now, line, SayKind::Clarify);
                self.silence_since = Some(now);
            }
            Intent::Answer => {
                let follow_ups = current.follow_ups;
                if let Some(c) = self.current.as_mut() {
                    c.parts.push(text);
                }
                if follow_ups < self.config.max_follow_ups
                    && self.fits(now, self.config.expected_follow_up_time)
                {
                    self.phase = Phase::Judging { since: now };
                    self.silence_since = None;
                    out.push(Action::AskLlmToJudge {
                        question_index: index,
                        question: self.plan.questions[index].clone(),
                        answer: self.answer_so_far(),
                    });
                } else {
                    self.finish_question(out, now);
                }
            }
        }
    }

    fn on_judgement(&mut self, out: &mut Vec<Action>, j: Judgement, now: Instant) {
        let Some(c) = self.current.as_ref() else {
            return;
        };
        let latest_words = c.parts.last().map_or(0, |p| p.split_whitespace().count());
        let thin = j.thin || latest_words < self.config.thin_answer_words;
        if thin
            && c.follow_ups < self.config.max_follow_ups
            && self.fits(now, self.config.expected_follow_up_time)
        {
            let text = j
                .follow_up
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| self.lines.default_follow_up.to_string());
            if let Some(c) = self.current.as_mut() {
                c.follow_ups += 1;
                c.prompt = text.clone();
            }
            self.say(out, now, text, SayKind::FollowUp);
            self.await_answer(now);
        } else {
            self.finish_question(out, now);
        }
    }

    /// Score the current question and move on.
    fn finish_question(&mut self, out: &mut Vec<Action>, now: Instant) {
        let index = self.current.as_ref().map_or(0, |c| c.index);
        self.score_partial(out);
        self.ask_next(out, now, index + 1);
    }

    /// Emit `Score` for the current question if it has an answer (once).
    fn score_partial(&mut self, out: &mut Vec<Action>) {
        let Some(c) = self.current.as_mut() else {
            return;
        };
        if c.parts.is_empty() {
            return;
        }
        let answer = c.parts.join(" ");
        c.parts.clear();
        let index = c.index;
        self.answered += 1;
        out.push(Action::Score {
            question_index: index,
            question: self.plan.questions[index].clone(),
            answer,
        });
    }

    fn ask_next(&mut self, out: &mut Vec<Action>, now: Instant, index: usize) {
        if index >= self.plan.questions.len() {
            return self.close(out, now, EndReason::Completed);
        }
        if !self.fits(now, self.config.expected_question_time) {
            return self.close(out, now, EndReason::TimeBudget);
        }
        let question = self.plan.questions[index].clone();
        self.current = Some(Current {
            index,
            prompt: question.clone(),
            parts: Vec::new(),
            follow_ups: 0,
        });
        self.asked += 1;
        self.say(out, now, question, SayKind::Question);
        self.await_answer(now);
    }

    fn await_answer(&mut self, now: Instant) {
        self.phase = Phase::Awaiting;
        self.silence_since = Some(now);
        self.reprompts = 0;
        self.repeat_offered = false;
    }

    fn close(&mut self, out: &mut Vec<Action>, now: Instant, reason: EndReason) {
        let name = self.candidate_name.clone();
        let line = match reason {
            EndReason::Completed => self.lines.closing(&name),
            EndReason::TimeBudget => self.lines.closing_time_up(&name),
            EndReason::Silence => self.lines.silence_goodbye(&name),
            EndReason::Terminated => self.lines.closing_early(&name),
            EndReason::CandidateLeft => self.lines.closing(&name),
        };
        self.say(out, now, line, SayKind::Closing);
        self.phase = Phase::Ended(reason);
        self.silence_since = None;
        out.push(Action::End { reason });
    }

    fn say(&mut self, out: &mut Vec<Action>, now: Instant, text: String, kind: SayKind) {
        self.record(Speaker::Interviewer, &text, now);
        out.push(Action::Say { text, kind });
    }

    fn record(&mut self, speaker: Speaker, text: &str, at: Instant) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let offset = self
            .started_at
            .map_or(Duration::ZERO, |s| at.saturating_duration_since(s));
        self.transcript.push(TranscriptEntry {
            speaker,
            text: text.to_string(),
            offset_ms: u64::try_from(offset.as_millis()).unwrap_or(u64::MAX),
        });
    }

    fn answer_so_far(&self) -> String {
        self.current
            .as_ref()
            .map(|c| c.parts.join(" "))
            .unwrap_or_default()
    }

    fn elapsed(&self, now: Instant) -> Duration {
        self.started_at
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }

    /// Does something expected to take `expected` fit before the wrap-up margin?
    fn fits(&self, now: Instant, expected: Duration) -> bool {
        let budget = self
            .config
            .max_duration
            .saturating_sub(self.config.wrap_up_margin);
        self.elapsed(now) + expected <= budget
    }

    fn hard_stop(&self) -> Duration {
        self.config
            .max_duration
            .saturating_sub(self.config.hard_stop_margin)
    }
}

/// Append to the last part (same answer, continued).
fn append(parts: &mut Vec<String>, text: &str) {
    match parts.last_mut() {
        Some(last) => {
            last.push(' ');
            last.push_str(text);
        }
        None => parts.push(text.to_string()),
    }
}
