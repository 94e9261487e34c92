//! A whole interview through the module with a scripted LLM, the way a session drives it:
//! plan -> flow -> (judge, score) actions executed against the LLM -> summary -> result.

use std::time::{Duration, Instant};

use super::flow::{Action, EndReason, Flow, FlowConfig, Input, SayKind};
use super::judge::judge_or_unavailable;
use super::lines::Lines;
use super::model::Application;
use super::plan::{PlanSource, QuestionPlan};
use super::scoring::score_outcome;
use super::summary::{summarize, InterviewMeta, InterviewResult, SummarySource};
use crate::providers::fake::FakeLlm;

const SCORE_7: &str = r#"{"score": 7, "key_points": ["Concrete example"], "improvement_areas": ["Numbers"], "confidence": 0.9, "evidence_quotes": ["cut the build time"]}"#;

/// Executes judge / score actions; returns the inputs to feed back and collects outcomes.
async fn drive(
    flow: &mut Flow,
    llm: &FakeLlm,
    app: &Application,
    actions: Vec<Action>,
    now: Instant,
    said: &mut Vec<(SayKind, String)>,
    outcomes: &mut Vec<super::summary::QuestionOutcome>,
) {
    let mut queue = actions;
    while !queue.is_empty() {
        let mut next = Vec::new();
        for action in queue {
            match action {
                Action::Say { text, kind } => said.push((kind, text)),
                Action::AskLlmToJudge {
                    question_index,
                    question,
                    answer,
                } => {
                    let j = judge_or_unavailable(
                        llm,
                        &app.job.title,
                        &app.job.language(),
                        question_index,
                        &question,
                        &answer,
                    )
                    .await;
                    next.extend(flow.handle(Input::Judgement(j), now));
                }
                Action::Score {
                    question_index,
                    question,
                    answer,
                } => outcomes.push(
                    score_outcome(llm, &app.job.title, question_index, &question, &answer).await,
                ),
                Action::End { .. } => {}
            }
        }
        queue = next;
    }
}

#[tokio::test]
async fn a_whole_interview_with_a_scripted_llm() {
    let app: Application = serde_json::from_str(
        r#"{"id": "app-7", "candidate": {"name": "Ana"},
            "job": {"title": "Build Engineer", "questions": ["How did you speed up a build?", "Why us?"]},
            "settings": {"maxDuration": 1200}}"#,
    )
    .unwrap();
    // LLM calls in order: judge Q1, score Q1, judge Q2 (fails: garbage), score Q2 (malformed
    // twice -> unscored), summary (garbage twice -> fallback).
    let llm = FakeLlm::new().with_script([
        r#"{"thin": false, "follow_up": null}"#,
        SCORE_7,
        "I think it is fine",
        "not json",
        "still not json",
        "nope",
        "nope again",
    ]);
    let plan = QuestionPlan::build(&app.job, &llm).await;
    assert_eq!(plan.source, PlanSource::Job);
    let lines = Lines::for_language(&app.job.language());
    let mut flow = Flow::new(
        plan,
        lines,
        &app.candidate.name,
        &app.job.title,
        FlowConfig::new(app.settings.max_duration),
    );
    let t0 = Instant::now();
    let (mut said, mut outcomes) = (Vec::new(), Vec::new());
    let a = flow.start(t0);
    drive(&mut flow, &llm, &app, a, t0, &mut said, &mut outcomes).await;
    let t1 = t0 + Duration::from_secs(40);
    let a = flow.handle(
        Input::CandidateTurn {
            text: "We cut the build time from forty minutes to eight by caching \
                   dependencies and splitting the test suite across runners."
                .into(),
            at: t1,
        },
        t1,
    );
    drive(&mut flow, &llm, &app, a, t1, &mut said, &mut outcomes).await;
    let t2 = t0 + Duration::from_secs(90);
    let a = flow.handle(
        Input::CandidateTurn {
            text: "Good culture.".into(),
            at: t2,
        },
        t2,
    );
    drive(&mut flow, &llm, &app, a, t2, &mut said, &mut outcomes).await;
    // Thin answer + judge unavailable -> the default follow-up.
    assert_eq!(said.last().map(|s| s.0), Some(SayKind::FollowUp));
    let t3 = t0 + Duration::from_secs(120);
    let a = flow.handle(
        Input::CandidateTurn {
            text: "And the remote work policy.".into(),
            at: t3,
        },
        t3,
    );
    drive(&mut flow, &llm, &app, a, t3, &mut said, &mut outcomes).await;
    assert_eq!(flow.end_reason(), Some(EndReason::Completed));

    let kinds: Vec<SayKind> = said.iter().map(|s| s.0).collect();
    assert_eq!(
        kinds,
        vec![
            SayKind::Greeting,
            SayKind::Question,
            SayKind::Question,
            SayKind::FollowUp,
            SayKind::Closing
        ]
    );
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].score.as_ref().map(|s| s.score), Some(7));
    assert!(outcomes[1].score.is_none() && outcomes[1].scoring_error.is_some());
    assert_eq!(
        outcomes[1].answer,
        "Good culture. And the remote work policy."
    );

    let summary = summarize(&llm, &app.job.title, &outcomes).await;
    assert_eq!(summary.source, SummarySource::Fallback);
    let meta = InterviewMeta {
        application_id: app.id.clone(),
        room: "interview-app-7".into(),
        started_at_unix_ms: 1_763_700_000_000,
        duration: t3 - t0,
        language: app.job.language(),
        end_reason: flow.end_reason(),
    };
    let result = InterviewResult::new(
        meta,
        flow.questions_asked(),
        outcomes,
        summary,
        flow.transcript().to_vec(),
    );
    assert_eq!((result.questions_asked, result.questions_answered), (2, 2));
    assert_eq!(flow.questions_answered(), 2);
    assert_eq!(result.questions_scored, 1);
    assert_eq!(result.average_score, Some(7.0));
    assert_eq!(result.transcript.len(), 8);
    assert_eq!(llm.calls().len(), 7);
}
