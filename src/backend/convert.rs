//! Conversions between the generated GraphQL types (`operations`) and the interview types:
//! the `ApplicationQuery` answer -> [`Application`] (defaults for nulls, then
//! [`Application::validate`]) and [`InterviewResult`] -> `InterviewResultInput`, including the
//! RFC 3339 timestamp formatter ([`rfc3339_utc_millis`]; no date crate needed for UTC).

use std::time::Duration;

use serde::Serialize;

use super::error::BackendError;
use super::operations::{application_query as aq, save_interview_result as sr};
use crate::interview::model::DEFAULT_MAX_DURATION;
use crate::interview::{
    Application, Candidate, InterviewError, InterviewResult, InterviewSettings, Job,
    QuestionOutcome, Recommendation, Speaker, TranscriptEntry, VoiceGender,
};

/// The application as the interview uses it: nulls become defaults (no settings: neutral
/// voice and [`DEFAULT_MAX_DURATION`]; no description, questions or language: empty), then
/// [`Application::validate`] decides whether an interview can run with it.
pub fn application_from_response(
    app: aq::ApplicationQueryApplication,
) -> Result<Application, BackendError> {
    let settings = match app.settings {
        None => InterviewSettings::default(),
        Some(s) => InterviewSettings {
            voice_gender: s.voice_gender.map_or(VoiceGender::Neutral, voice_gender),
            max_duration: match s.max_duration_seconds {
                None => DEFAULT_MAX_DURATION,
                Some(secs) => u64::try_from(secs).map(Duration::from_secs).map_err(|_| {
                    BackendError::InvalidApplication(format!(
                        "maxDurationSeconds {secs} is negative"
                    ))
                })?,
            },
            record_audio: s.record_audio.unwrap_or(false),
        },
    };
    let application = Application {
        id: app.id,
        candidate: Candidate {
            name: app.candidate.name,
            email: app.candidate.email,
            phone: app.candidate.phone,
        },
        job: Job {
            title: app.job.title,
            description: app.job.description.unwrap_or_default(),
            questions: app.job.questions.unwrap_or_default(),
            language: app.job.language.unwrap_or_default(),
        },
        settings,
    };
    application.validate().map_err(|e| match e {
        InterviewError::InvalidApplication(m) => BackendError::InvalidApplication(m),
        other => BackendError::InvalidApplication(other.to_string()),
    })?;
    Ok(application)
}

fn voice_gender(v: aq::VoiceGender) -> VoiceGender {
    match v {
        aq::VoiceGender::MALE => VoiceGender::Male,
        aq::VoiceGender::FEMALE => VoiceGender::Female,
        aq::VoiceGender::NEUTRAL => VoiceGender::Neutral,
        // A value added to the schema after this build: the lenient parser's best guess.
        aq::VoiceGender::Other(s) => VoiceGender::parse_lenient(&s),
    }
}

/// The mutation input for `result`. `partial` is true when the interview has no end reason
/// (it was cut short); counts saturate at `i32::MAX` (GraphQL `Int` is 32-bit); `f32` values
/// travel as their shortest decimal form (0.8, not 0.800000011920929).
pub fn result_input(result: &InterviewResult) -> sr::InterviewResultInput {
    sr::InterviewResultInput {
        application_id: result.application_id.clone(),
        idempotency_key: result.idempotency_key.clone(),
        room: result.room.clone(),
        partial: result.end_reason.is_none(),
        started_at: rfc3339_utc_millis(result.started_at_unix_ms),
        duration_seconds: millis_to_secs(result.duration_ms),
        end_reason: result.end_reason.as_ref().and_then(serde_name),
        language: result.language.code().to_string(),
        questions_asked: int(result.questions_asked),
        questions_answered: int(result.questions_answered),
        questions_scored: int(result.questions_scored),
        average_score: result.average_score.map(float),
        injection_attempts: int(result.injection_attempts),
        recommendation: recommendation(result.summary.recommendation),
        summary: result.summary.summary.clone(),
        strengths: result.summary.strengths.clone(),
        weaknesses: result.summary.weaknesses.clone(),
        questions: result.questions.iter().map(question_input).collect(),
        transcript: result.transcript.iter().map(transcript_input).collect(),
        models: result.models.as_ref().map(|m| sr::ModelsInput {
            stt: m.stt.clone(),
            judge: m.judge.clone(),
            tts: m.tts.clone(),
            scores_not_meaningful: m.scores_not_meaningful(),
        }),
    }
}

fn question_input(q: &QuestionOutcome) -> sr::QuestionResultInput {
    let score = q.score.as_ref();
    sr::QuestionResultInput {
        index: int(q.index),
        question: q.question.clone(),
        answer: q.answer.clone(),
        score: score.map(|s| i64::from(s.score)),
        key_points: score.map(|s| s.key_points.clone()).unwrap_or_default(),
        improvement_areas: score
            .map(|s| s.improvement_areas.clone())
            .unwrap_or_default(),
        confidence: score.map(|s| float(s.confidence)),
        evidence_quotes: score.map(|s| s.evidence_quotes.clone()).unwrap_or_default(),
        scoring_error: q.scoring_error.clone(),
    }
}

fn transcript_input(t: &TranscriptEntry) -> sr::TranscriptEntryInput {
    sr::TranscriptEntryInput {
        speaker: match t.speaker {
            Speaker::Interviewer => sr::Speaker::INTERVIEWER,
            Speaker::Candidate => sr::Speaker::CANDIDATE,
        },
        text: t.text.clone(),
        offset_seconds: millis_to_secs(t.offset_ms),
    }
}

fn recommendation(r: Recommendation) -> sr::Recommendation {
    match r {
        Recommendation::StrongYes => sr::Recommendation::STRONG_YES,
        Recommendation::Yes => sr::Recommendation::YES,
        Recommendation::No => sr::Recommendation::NO,
        Recommendation::StrongNo => sr::Recommendation::STRONG_NO,
    }
}

/// The name serde gives a unit variant (`EndReason::TimeBudget` -> "time_budget").
fn serde_name<T: Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

/// GraphQL `Int` is a signed 32-bit integer (the generated type is i64).
fn int(n: usize) -> i64 {
    i64::from(i32::try_from(n).unwrap_or(i32::MAX))
}

fn float(x: f32) -> f64 {
    // `f64::from(0.8f32)` is 0.800000011920929; the shortest decimal that round-trips the f32
    // is what was meant.
    x.to_string().parse().unwrap_or_else(|_| f64::from(x))
}

fn millis_to_secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// `unix_ms` (milliseconds since 1970-01-01T00:00:00Z) as RFC 3339 UTC with milliseconds,
/// e.g. "2026-11-21T09:30:00.123Z".
pub fn rfc3339_utc_millis(unix_ms: u64) -> String {
    let (secs, ms) = (unix_ms / 1000, unix_ms % 1000);
    let (days, secs_of_day) = (secs / 86_400, secs % 86_400);
    // u64::MAX ms is about 2.1e11 days: fits an i64.
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Days since 1970-01-01 -> proleptic Gregorian (year, month 1..=12, day 1..=31), after
/// Howard Hinnant's `civil_from_days` (eras of 400 years starting on March 1st, so the leap
/// day is the last day of a year).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146_096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::testing::sample_result;
    use crate::interview::EndReason;

    fn response_app(
        settings: Option<aq::ApplicationQueryApplicationSettings>,
    ) -> aq::ApplicationQueryApplication {
        aq::ApplicationQueryApplication {
            id: "app-1".into(),
            candidate: aq::ApplicationQueryApplicationCandidate {
                name: "Ana Silva".into(),
                email: Some("ana@example.com".into()),
                phone: None,
            },
            job: aq::ApplicationQueryApplicationJob {
                title: "Rust Engineer".into(),
                description: Some("Build realtime systems.".into()),
                questions: Some(vec!["Why Rust?".into(), "Tell me about async.".into()]),
                language: Some("de-DE".into()),
            },
            settings,
        }
    }

    #[test]
    fn application_fields_are_mapped() {
        let app = application_from_response(response_app(Some(
            aq::ApplicationQueryApplicationSettings {
                voice_gender: Some(aq::VoiceGender::FEMALE),
                max_duration_seconds: Some(1200),
                record_audio: Some(true),
            },
        )))
        .unwrap();
        assert_eq!(
            app,
            Application {
                id: "app-1".into(),
                candidate: Candidate {
                    name: "Ana Silva".into(),
                    email: Some("ana@example.com".into()),
                    phone: None,
                },
                job: Job {
                    title: "Rust Engineer".into(),
                    description: "Build realtime systems.".into(),
                    questions: vec!["Why Rust?".into(), "Tell me about async.".into()],
                    language: "de-DE".into(),
                },
                settings: InterviewSettings {
                    voice_gender: VoiceGender::Female,
                    max_duration: Duration::from_secs(1200),
                    record_audio: true,
                },
            }
        );
        assert_eq!(app.job.language().code(), "de");
    }

    #[test]
    fn application_nulls_get_defaults() {
        let mut raw = response_app(None);
        raw.job.description = None;
        raw.job.questions = None;
        raw.job.language = None;
        let app = application_from_response(raw.clone()).unwrap();
        assert_eq!(app.settings, InterviewSettings::default());
        assert_eq!(app.job.description, "");
        assert!(app.job.questions.is_empty());
        assert_eq!(app.job.language().code(), "en");

        raw.settings = Some(aq::ApplicationQueryApplicationSettings {
            voice_gender: None,
            max_duration_seconds: None,
            record_audio: None,
        });
        let app = application_from_response(raw.clone()).unwrap();
        assert_eq!(app.settings, InterviewSettings::default());

        for (gender, expected) in [
            (aq::VoiceGender::MALE, VoiceGender::Male),
            (aq::VoiceGender::NEUTRAL, VoiceGender::Neutral),
            (
                aq::VoiceGender::Other("FEMININE".into()),
                VoiceGender::Female,
            ),
            (aq::VoiceGender::Other("ROBOT".into()), VoiceGender::Neutral),
        ] {
            raw.settings = Some(aq::ApplicationQueryApplicationSettings {
                voice_gender: Some(gender),
                max_duration_seconds: None,
                record_audio: None,
            });
            let app = application_from_response(raw.clone()).unwrap();
            assert_eq!(app.settings.voice_gender, expected);
        }
    }

    #[test]
    fn unusable_applications_are_invalid() {
        let with_duration = |secs| {
            application_from_response(response_app(Some(
                aq::ApplicationQueryApplicationSettings {
                    voice_gender: None,
                    max_duration_seconds: Some(secs),
                    record_audio: None,
                },
            )))
        };
        for secs in [-5, 0, 60, 10_801] {
            assert!(
                matches!(
                    with_duration(secs),
                    Err(BackendError::InvalidApplication(_))
                ),
                "{secs}"
            );
        }
        assert!(with_duration(120).is_ok() && with_duration(10_800).is_ok());
        let mut raw = response_app(None);
        raw.job.title = " ".into();
        assert_eq!(
            application_from_response(raw),
            Err(BackendError::InvalidApplication("empty job title".into()))
        );
    }

    #[test]
    fn result_input_maps_every_field() {
        let r = sample_result(Some(EndReason::TimeBudget));
        let input = result_input(&r);
        assert_eq!(input.application_id, "app-1");
        assert_eq!(input.idempotency_key, r.idempotency_key);
        assert_eq!(input.room, "room-1");
        assert!(!input.partial);
        assert_eq!(input.started_at, "2026-11-21T09:30:00.123Z");
        assert_eq!(input.duration_seconds, 754.5);
        assert_eq!(input.end_reason.as_deref(), Some("time_budget"));
        assert_eq!(input.language, "de");
        assert_eq!(
            (
                input.questions_asked,
                input.questions_answered,
                input.questions_scored
            ),
            (3, 2, 1)
        );
        assert_eq!(input.average_score, Some(8.0));
        assert_eq!(input.injection_attempts, 0);
        assert_eq!(input.recommendation, sr::Recommendation::YES);
        assert_eq!(input.summary, "Solid.");
        assert_eq!(input.strengths, vec!["Ownership"]);
        assert!(input.weaknesses.is_empty());
        assert_eq!(
            input.questions,
            vec![
                sr::QuestionResultInput {
                    index: 0,
                    question: "Why Rust?".into(),
                    answer: "I own it end to end.".into(),
                    score: Some(8),
                    key_points: vec!["Ownership".into()],
                    improvement_areas: vec!["Metrics".into()],
                    confidence: Some(0.8),
                    evidence_quotes: vec!["I own it".into()],
                    scoring_error: None,
                },
                sr::QuestionResultInput {
                    index: 1,
                    question: "Async?".into(),
                    answer: "Hmm".into(),
                    score: None,
                    key_points: vec![],
                    improvement_areas: vec![],
                    confidence: None,
                    evidence_quotes: vec![],
                    scoring_error: Some("malformed score".into()),
                },
            ]
        );
        assert_eq!(input.transcript.len(), 2);
        assert_eq!(input.transcript[1].speaker, sr::Speaker::CANDIDATE);
        assert_eq!(input.transcript[1].text, "Hi");
        assert_eq!(input.transcript[1].offset_seconds, 2.25);

        // On the wire: camelCase names and the schema's enum values.
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json["applicationId"], "app-1");
        assert_eq!(json["recommendation"], "YES");
        assert_eq!(json["transcript"][0]["speaker"], "INTERVIEWER");
        assert_eq!(json["transcript"][1]["offsetSeconds"], 2.25);
        assert_eq!(json["questions"][0]["confidence"], 0.8);
        assert_eq!(json["questions"][1]["score"], serde_json::Value::Null);
        assert_eq!(json["endReason"], "time_budget");
    }

    #[test]
    fn partial_results_have_no_end_reason() {
        let input = result_input(&sample_result(None));
        assert!(input.partial);
        assert_eq!(input.end_reason, None);
        let json = serde_json::to_value(&input).unwrap();
        assert_eq!(json["partial"], true);
        assert_eq!(json["endReason"], serde_json::Value::Null);
    }

    #[test]
    fn end_reasons_and_recommendations_use_the_contract_names() {
        for (reason, name) in [
            (EndReason::Completed, "completed"),
            (EndReason::TimeBudget, "time_budget"),
            (EndReason::Silence, "silence"),
            (EndReason::CandidateLeft, "candidate_left"),
            (EndReason::Terminated, "terminated"),
        ] {
            assert_eq!(serde_name(&reason).as_deref(), Some(name));
        }
        for (r, name) in [
            (Recommendation::StrongYes, "STRONG_YES"),
            (Recommendation::Yes, "YES"),
            (Recommendation::No, "NO"),
            (Recommendation::StrongNo, "STRONG_NO"),
        ] {
            assert_eq!(serde_json::to_value(recommendation(r)).unwrap(), name);
        }
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339_utc_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc_millis(999), "1970-01-01T00:00:00.999Z");
        assert_eq!(
            rfc3339_utc_millis(1_795_253_400_123),
            "2026-11-21T09:30:00.123Z"
        );
        // Leap days: 2000 (divisible by 400) and 2024 have February 29th, 2100 does not.
        assert_eq!(
            rfc3339_utc_millis(951_868_799_000),
            "2000-02-29T23:59:59.000Z"
        );
        assert_eq!(
            rfc3339_utc_millis(951_868_800_000),
            "2000-03-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339_utc_millis(1_709_208_000_007),
            "2024-02-29T12:00:00.007Z"
        );
        assert_eq!(
            rfc3339_utc_millis(4_107_542_400_000 - 1),
            "2100-02-28T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339_utc_millis(4_107_542_400_000),
            "2100-03-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339_utc_millis(94_694_399_000),
            "1972-12-31T23:59:59.000Z"
        );
        assert!(rfc3339_utc_millis(u64::MAX).ends_with(".615Z"));
    }

    #[test]
    fn civil_days_advance_one_calendar_day_at_a_time() {
        fn leap(y: i64) -> bool {
            (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        }
        fn days_in(y: i64, m: u32) -> u32 {
            match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            }
        }
        let mut expected = (1970, 1, 1);
        // 1970 to beyond 2500, crossing the 2100/2200/2300 non-leap and 2400 leap centuries.
        for days in 0..200_000 {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            let (y, m, d) = expected;
            expected = if d < days_in(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }
}
