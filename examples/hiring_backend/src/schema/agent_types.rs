//! The GraphQL types of `graphql/schema.graphql` (the API interview-agent uses), with the same
//! names and nullability, and the validation of `InterviewResultInput`.

use async_graphql::{Enum, InputObject, SimpleObject, ID};
use serde::{Deserialize, Serialize};

use crate::store::ApplicationRecord;
use crate::BackendError;

#[derive(SimpleObject, Clone, Debug)]
pub struct Application {
    pub id: ID,
    pub candidate: Candidate,
    pub job: Job,
    pub settings: Option<InterviewSettings>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Candidate {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Job {
    pub title: String,
    pub description: Option<String>,
    /// Asked in this order. Empty or null: the agent generates questions from the description.
    pub questions: Option<Vec<String>>,
    /// Interview language: a code such as "en" or "de-DE". Null: English.
    pub language: Option<String>,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VoiceGender {
    Male,
    Female,
    Neutral,
}

impl VoiceGender {
    /// From the stored lowercase name.
    pub fn from_stored(s: &str) -> Option<VoiceGender> {
        match s {
            "male" => Some(VoiceGender::Male),
            "female" => Some(VoiceGender::Female),
            "neutral" => Some(VoiceGender::Neutral),
            _ => None,
        }
    }

    /// The stored lowercase name.
    pub fn stored(self) -> &'static str {
        match self {
            VoiceGender::Male => "male",
            VoiceGender::Female => "female",
            VoiceGender::Neutral => "neutral",
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct InterviewSettings {
    /// Null: NEUTRAL (job metadata `voiceGender` overrides it).
    pub voice_gender: Option<VoiceGender>,
    /// Null: 1800 (30 minutes). Accepted range 120..=10800.
    pub max_duration_seconds: Option<i32>,
    /// True: the hiring team asked for the interview's audio to be recorded (and the
    /// candidate was told). Null: false.
    pub record_audio: Option<bool>,
}

impl From<ApplicationRecord> for Application {
    fn from(a: ApplicationRecord) -> Application {
        let voice_gender = a.voice_gender.as_deref().and_then(VoiceGender::from_stored);
        let max_duration_seconds = a.max_duration_seconds.and_then(|d| i32::try_from(d).ok());
        let record_audio = a.record_audio.then_some(true);
        Application {
            id: ID(a.id),
            candidate: Candidate {
                name: a.candidate_name,
                email: a.candidate_email,
                phone: a.candidate_phone,
            },
            job: Job {
                title: a.job_title,
                description: a.job_description,
                questions: Some(a.questions),
                language: a.language,
            },
            settings: (voice_gender.is_some()
                || max_duration_seconds.is_some()
                || record_audio.is_some())
            .then_some(InterviewSettings {
                voice_gender,
                max_duration_seconds,
                record_audio,
            }),
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Recommendation {
    StrongYes,
    Yes,
    No,
    StrongNo,
}

impl Recommendation {
    /// The GraphQL (and stored) name, e.g. "STRONG_YES".
    pub fn name(self) -> &'static str {
        match self {
            Recommendation::StrongYes => "STRONG_YES",
            Recommendation::Yes => "YES",
            Recommendation::No => "NO",
            Recommendation::StrongNo => "STRONG_NO",
        }
    }

    pub fn from_name(s: &str) -> Option<Recommendation> {
        [
            Recommendation::StrongYes,
            Recommendation::Yes,
            Recommendation::No,
            Recommendation::StrongNo,
        ]
        .into_iter()
        .find(|r| r.name() == s)
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Speaker {
    Interviewer,
    Candidate,
}

#[derive(InputObject, Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterviewResultInput {
    pub application_id: ID,
    pub idempotency_key: String,
    pub room: String,
    /// True when the interview was cut short (the agent stopped mid-interview): the result
    /// holds what was said until then.
    pub partial: bool,
    pub started_at: String,
    pub duration_seconds: f64,
    /// completed | time_budget | silence | candidate_left | terminated; null when partial.
    pub end_reason: Option<String>,
    /// Language code, e.g. "en".
    pub language: String,
    pub questions_asked: i32,
    pub questions_answered: i32,
    pub questions_scored: i32,
    /// Mean of the scored answers (1..10); null when no answer was scored.
    pub average_score: Option<f64>,
    pub injection_attempts: i32,
    pub recommendation: Recommendation,
    pub summary: String,
    pub strengths: Vec<String>,
    pub weaknesses: Vec<String>,
    pub questions: Vec<QuestionResultInput>,
    pub transcript: Vec<TranscriptEntryInput>,
    /// The models that transcribed, judged and spoke the interview. Null: not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<ModelsInput>,
}

#[derive(InputObject, Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsInput {
    /// Speech to text, e.g. "whisper-1".
    pub stt: String,
    /// The LLM that judged the answers and wrote the summary.
    pub judge: String,
    /// Text to speech.
    pub tts: String,
    /// True when the judge is too small for its scores to mean anything (the offline demo
    /// stack's SmolLM2-135M): a human must not read them as an evaluation.
    pub scores_not_meaningful: bool,
}

#[derive(InputObject, Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionResultInput {
    /// 0-based position in the interview plan.
    pub index: i32,
    pub question: String,
    pub answer: String,
    /// 1..10; null when the answer could not be scored (see scoringError).
    pub score: Option<i32>,
    pub key_points: Vec<String>,
    pub improvement_areas: Vec<String>,
    /// 0..1; null when unscored.
    pub confidence: Option<f64>,
    /// Verbatim passages of the answer that support the score.
    pub evidence_quotes: Vec<String>,
    pub scoring_error: Option<String>,
}

#[derive(InputObject, Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptEntryInput {
    pub speaker: Speaker,
    pub text: String,
    /// Seconds since the interview started.
    pub offset_seconds: f64,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct SaveInterviewResultPayload {
    pub result_id: ID,
    /// True when this idempotency key was already stored (nothing new was stored).
    pub duplicate: bool,
}

impl InterviewResultInput {
    /// Rules the GraphQL types cannot express: a non-blank idempotency key, scores 1..=10
    /// and confidences 0..=1 (or null). All problems are reported at once.
    pub fn validate(&self) -> Result<(), BackendError> {
        let mut problems = Vec::new();
        if self.idempotency_key.trim().is_empty() {
            problems.push("idempotencyKey must not be empty".to_string());
        }
        if self.application_id.trim().is_empty() {
            problems.push("applicationId must not be empty".to_string());
        }
        for (i, q) in self.questions.iter().enumerate() {
            if let Some(s) = q.score {
                if !(1..=10).contains(&s) {
                    problems.push(format!(
                        "questions[{i}].score must be 1..=10 or null (got {s})"
                    ));
                }
            }
            if let Some(c) = q.confidence {
                if !(0.0..=1.0).contains(&c) {
                    problems.push(format!(
                        "questions[{i}].confidence must be 0..=1 or null (got {c})"
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(BackendError::InvalidInput(problems.join("; ")))
        }
    }
}
