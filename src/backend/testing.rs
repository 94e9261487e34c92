//! Test helpers: a sample [`InterviewResult`] with a scored and an unscored answer and a
//! two-line transcript (the HTTP fake is in `fake_http`).

use std::time::Duration;

use crate::interview::{
    AnswerScore, EndReason, InterviewMeta, InterviewResult, Language, QuestionOutcome,
    Recommendation, Speaker, Summary, SummarySource, TranscriptEntry,
};

/// Started 2026-11-21T09:30:00.123Z, 754.5 s long, German, 3 questions asked.
pub(crate) fn sample_result(end_reason: Option<EndReason>) -> InterviewResult {
    let score = AnswerScore {
        score: 8,
        key_points: vec!["Ownership".into()],
        improvement_areas: vec!["Metrics".into()],
        confidence: 0.8,
        evidence_quotes: vec!["I own it".into()],
        injection_attempt: false,
    };
    let questions = vec![
        QuestionOutcome {
            index: 0,
            question: "Why Rust?".into(),
            answer: "I own it end to end.".into(),
            score: Some(score),
            scoring_error: None,
        },
        QuestionOutcome {
            index: 1,
            question: "Async?".into(),
            answer: "Hmm".into(),
            score: None,
            scoring_error: Some("malformed score".into()),
        },
    ];
    let transcript = vec![
        TranscriptEntry {
            speaker: Speaker::Interviewer,
            text: "Hello".into(),
            offset_ms: 0,
        },
        TranscriptEntry {
            speaker: Speaker::Candidate,
            text: "Hi".into(),
            offset_ms: 2_250,
        },
    ];
    let summary = Summary {
        summary: "Solid.".into(),
        strengths: vec!["Ownership".into()],
        weaknesses: vec![],
        recommendation: Recommendation::Yes,
        source: SummarySource::Llm,
    };
    InterviewResult::new(
        InterviewMeta {
            application_id: "app-1".into(),
            room: "room-1".into(),
            started_at_unix_ms: 1_795_253_400_123,
            duration: Duration::from_millis(754_500),
            language: Language::parse("de"),
            end_reason,
        },
        3,
        questions,
        summary,
        transcript,
    )
}
