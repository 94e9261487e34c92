//! The interviewer's pure logic: who is interviewed for what ([`model`]), which questions are
//! asked ([`plan`]), the deterministic conversation state machine ([`flow`]), the LLM prompts
//! ([`prompts`]), answer scoring ([`scoring`]) and the end-of-interview report ([`summary`]).
//!
//! Rule of the module: the LLM phrases and judges, but THE PLAN (which question, how many are
//! left, the follow-up budget, the time budget) is ours and deterministic. Everything here is
//! sans-IO or takes a `&dyn Llm`, so it is tested with scripted LLMs and no network.
//!
//! Files: `model` (application data), `language` (interview language), `lines` (fixed spoken
//! lines, localized), `intent` (repeat / clarify requests), `injection` (prompt-injection
//! detection), `data_block` (candidate text as escaped data), `llm` (collecting completions,
//! JSON extraction, one-retry helper), `prompts`, `plan`, `judge` (follow-up judge), `flow`,
//! `transcript`, `scoring`, `summary`, `echo` (judge lists that copy the answer or repeat),
//! `brain` (prompts of the spoken turns),
//! `error`; results that are never lost: `spool` (fsynced JSON-lines spool), `spool_recover`
//! (pending interviews, partial results), `delivery` (retrying delivery to a `ResultSink`);
//! session inputs: `resolve` (which application a room is for), `voice` (TTS voice choice);
//! tests: `flow_tests`, `e2e_tests` (flow + judge + scoring + summary with a
//! scripted LLM, showing how a session drives the module), `testing` (test LLM).

pub mod brain;
pub mod data_block;
pub mod delivery;
pub mod echo;
pub mod error;
pub mod flow;
pub mod injection;
pub mod intent;
pub mod judge;
pub mod language;
pub mod lines;
pub mod llm;
pub mod model;
pub mod plan;
pub mod prompts;
pub mod resolve;
pub mod scoring;
pub mod spool;
pub mod spool_recover;
pub mod summary;
pub mod transcript;
pub mod voice;

#[cfg(test)]
mod e2e_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod spool_tests;
#[cfg(test)]
pub(crate) mod testing;

pub use brain::InterviewBrain;
pub use delivery::{
    default_delivery_policy, deliver_key, deliver_pending, save_with_retry, DeliveryFailure,
    DeliveryReport, ResultSink,
};
pub use error::{InterviewError, SinkError};
pub use flow::{Action, EndReason, Flow, FlowConfig, Input, Judgement, SayKind};
pub use judge::{judge_answer, judge_or_unavailable};
pub use language::Language;
pub use model::{Application, Candidate, InterviewSettings, Job, VoiceGender};
pub use plan::{PlanSource, QuestionPlan};
pub use resolve::{resolve_application, ApplicationRef, ApplicationSource, ParticipantView};
pub use scoring::{score_answer, score_outcome, AnswerScore};
pub use spool::{Spool, SpoolFile, SpoolRecord};
pub use spool_recover::{PendingInterview, Recovered};
pub use summary::{
    idempotency_key, summarize, InterviewMeta, InterviewResult, Models, QuestionOutcome,
    Recommendation, Summary, SummarySource,
};
pub use transcript::{Speaker, TranscriptEntry};
pub use voice::{resolve_voice_gender, VoiceConfig, VoiceSet};
