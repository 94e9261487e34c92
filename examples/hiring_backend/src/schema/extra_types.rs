//! GraphQL types of the operations this backend adds to the agent's schema: creating
//! applications, the interview room flow, reading stored results and webhook events.

use async_graphql::{InputObject, SimpleObject, ID};

use super::agent_types::{Recommendation, VoiceGender};
use crate::clock::rfc3339_ms;
use crate::store::{NewApplication, ResultRow, WebhookEventRecord};
use crate::BackendError;

#[derive(InputObject, Clone, Debug)]
pub struct CreateApplicationInput {
    pub candidate_name: String,
    pub candidate_email: Option<String>,
    pub candidate_phone: Option<String>,
    pub job_title: String,
    pub job_description: Option<String>,
    /// Asked in this order; null or empty: the agent generates questions.
    pub questions: Option<Vec<String>>,
    /// Language code such as "en" or "de-DE"; null: none (English).
    pub language: Option<String>,
    pub voice_gender: Option<VoiceGender>,
    /// 120..=10800; null: the agent's default (1800).
    pub max_duration_seconds: Option<i32>,
    /// Record the interview's audio (the candidate's page says so). Null: false.
    pub record_audio: Option<bool>,
}

impl CreateApplicationInput {
    /// As a [`NewApplication`]; a negative duration becomes an out-of-range value the store
    /// rejects.
    pub fn into_new(self) -> NewApplication {
        NewApplication {
            candidate_name: self.candidate_name,
            candidate_email: self.candidate_email,
            candidate_phone: self.candidate_phone,
            job_title: self.job_title,
            job_description: self.job_description.unwrap_or_default(),
            questions: self.questions.unwrap_or_default(),
            language: self.language.unwrap_or_default(),
            voice_gender: self.voice_gender.map(|g| g.stored().to_string()),
            max_duration_seconds: self
                .max_duration_seconds
                .map(|d| u32::try_from(d).unwrap_or(0)),
            record_audio: self.record_audio.unwrap_or(false),
        }
    }
}

/// A created interview room. The password went to the candidate through the notifier.
#[derive(SimpleObject, Clone, Debug)]
pub struct InterviewRoom {
    /// `interview-{applicationId}-{n}`, n counting the application's rooms from 1.
    pub room_name: String,
    /// When the room password expires (RFC 3339).
    pub expires_at: String,
    /// What the notifier sent the candidate (for the hiring team to see or pass on).
    pub invitation: Invitation,
}

/// An invitation as sent: the candidate's page and the 6-digit password. The password is
/// only known when it is made (it is stored hashed); "send again" makes a new one.
#[derive(SimpleObject, Clone, Debug)]
pub struct Invitation {
    pub room_name: String,
    /// The candidate's interview page.
    pub link: String,
    pub password: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// An application as the console lists it.
#[derive(SimpleObject, Clone, Debug)]
pub struct ApplicationSummary {
    pub id: ID,
    pub candidate_name: String,
    pub job_title: String,
    /// RFC 3339.
    pub created_at: String,
    pub state: ApplicationState,
    /// The newest interview room.
    pub room: Option<String>,
    pub average_score: Option<f64>,
    pub recommendation: Option<Recommendation>,
    /// Of the latest result (final before partial).
    pub end_reason: Option<String>,
}

#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApplicationState {
    NotInvited,
    Invited,
    InInterview,
    Completed,
    Failed,
}

impl From<crate::store::ApplicationState> for ApplicationState {
    fn from(s: crate::store::ApplicationState) -> Self {
        use crate::store::ApplicationState as S;
        match s {
            S::NotInvited => ApplicationState::NotInvited,
            S::Invited => ApplicationState::Invited,
            S::InInterview => ApplicationState::InInterview,
            S::Completed => ApplicationState::Completed,
            S::Failed => ApplicationState::Failed,
        }
    }
}

impl From<crate::store::ApplicationSummary> for ApplicationSummary {
    fn from(a: crate::store::ApplicationSummary) -> Self {
        ApplicationSummary {
            id: ID(a.id),
            candidate_name: a.candidate_name,
            job_title: a.job_title,
            created_at: rfc3339_ms(a.created_at_ms),
            state: a.state.into(),
            room: a.room,
            average_score: a.average_score,
            recommendation: a
                .recommendation
                .as_deref()
                .and_then(Recommendation::from_name),
            end_reason: a.end_reason,
        }
    }
}

/// An interview's audio recording as stored.
#[derive(SimpleObject, Clone, Debug)]
pub struct Recording {
    pub idempotency_key: String,
    pub room: String,
    /// Where an operator downloads it (Ogg/Opus).
    pub url: String,
    pub bytes: i64,
    pub duration_seconds: f64,
    /// Cut short (the agent stopped mid-interview).
    pub partial: bool,
    /// RFC 3339.
    pub uploaded_at: String,
}

impl From<crate::store::RecordingRecord> for Recording {
    fn from(r: crate::store::RecordingRecord) -> Self {
        Recording {
            url: format!("/console/recordings/{}", r.idempotency_key),
            idempotency_key: r.idempotency_key,
            room: r.room,
            bytes: r.bytes as i64,
            duration_seconds: r.duration_ms as f64 / 1000.0,
            partial: r.partial,
            uploaded_at: rfc3339_ms(r.uploaded_at_ms),
        }
    }
}

/// What the candidate's client needs to join the interview room.
#[derive(SimpleObject, Clone)]
pub struct RoomToken {
    pub room_name: String,
    /// LiveKit access token (identity `candidate-{applicationId}`, valid 1 hour).
    pub token: String,
    /// LiveKit server URL.
    pub url: String,
}

/// An interview result as stored.
#[derive(SimpleObject, Clone, Debug)]
pub struct StoredInterviewResult {
    pub result_id: ID,
    pub idempotency_key: String,
    pub partial: bool,
    /// RFC 3339.
    pub saved_at: String,
    /// The `InterviewResultInput` as JSON (camelCase keys).
    pub result_json: String,
    pub average_score: Option<f64>,
    pub recommendation: Recommendation,
    pub summary: String,
}

impl TryFrom<ResultRow> for StoredInterviewResult {
    type Error = BackendError;

    fn try_from(r: ResultRow) -> Result<Self, BackendError> {
        let recommendation = Recommendation::from_name(&r.recommendation).ok_or_else(|| {
            BackendError::Internal(format!("stored recommendation {:?}", r.recommendation))
        })?;
        Ok(StoredInterviewResult {
            result_id: ID(r.result_id),
            idempotency_key: r.stored.idempotency_key,
            partial: r.stored.partial,
            saved_at: rfc3339_ms(r.stored.saved_at_ms),
            result_json: r.result_json,
            average_score: r.average_score,
            recommendation,
            summary: r.summary,
        })
    }
}

/// A LiveKit webhook event the backend recorded.
#[derive(SimpleObject, Clone, Debug)]
pub struct WebhookEvent {
    /// room_started, room_finished, participant_joined or track_published.
    pub event: String,
    pub room: Option<String>,
    pub participant_identity: Option<String>,
    pub track_sid: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<WebhookEventRecord> for WebhookEvent {
    fn from(e: WebhookEventRecord) -> Self {
        WebhookEvent {
            event: e.event,
            room: e.room,
            participant_identity: e.participant_identity,
            track_sid: e.track_sid,
            created_at: rfc3339_ms(e.created_at_ms),
        }
    }
}
