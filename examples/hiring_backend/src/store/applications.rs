//! The `applications` table: creating applications (id generation, validation) and reading
//! them back.

use rand::Rng;
use rusqlite::{params, OptionalExtension};

use super::{ms_to_sql, Store};
use crate::BackendError;

/// Characters of generated application ids.
const ID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Voice genders an application may ask for.
pub(crate) const VOICE_GENDERS: [&str; 3] = ["male", "female", "neutral"];

/// A new application (a candidate applying for a job).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewApplication {
    /// Required (non-blank).
    pub candidate_name: String,
    pub candidate_email: Option<String>,
    pub candidate_phone: Option<String>,
    /// Required (non-blank).
    pub job_title: String,
    /// Empty: none.
    pub job_description: String,
    /// Asked in this order; empty lets the agent generate questions from the description.
    pub questions: Vec<String>,
    /// Language code such as "en" or "de-DE"; empty: none (the agent uses English).
    pub language: String,
    /// "male", "female" or "neutral" (any case); None: the agent's default.
    pub voice_gender: Option<String>,
    /// 120..=10800; None: the agent's default (1800).
    pub max_duration_seconds: Option<u32>,
}

/// A stored application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub id: String,
    pub candidate_name: String,
    pub candidate_email: Option<String>,
    pub candidate_phone: Option<String>,
    pub job_title: String,
    pub job_description: Option<String>,
    pub questions: Vec<String>,
    pub language: Option<String>,
    /// Lowercase "male" / "female" / "neutral".
    pub voice_gender: Option<String>,
    pub max_duration_seconds: Option<u32>,
}

fn non_blank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn new_id() -> String {
    let mut rng = rand::thread_rng();
    let suffix: String = (0..8)
        .map(|_| char::from(ID_CHARS[rng.gen_range(0..ID_CHARS.len())]))
        .collect();
    format!("app-{suffix}")
}

impl Store {
    /// Stores a new application and returns its id: `app-` and 8 lowercase letters or digits
    /// (room-name and URL safe).
    pub fn create_application(&self, new: NewApplication) -> Result<String, BackendError> {
        let candidate_name = new.candidate_name.trim().to_string();
        let job_title = new.job_title.trim().to_string();
        let mut problems = Vec::new();
        if candidate_name.is_empty() {
            problems.push("candidateName must not be empty".to_string());
        }
        if job_title.is_empty() {
            problems.push("jobTitle must not be empty".to_string());
        }
        let voice_gender = non_blank(new.voice_gender).map(|g| g.to_lowercase());
        if let Some(g) = &voice_gender {
            if !VOICE_GENDERS.contains(&g.as_str()) {
                problems.push(format!(
                    "voiceGender must be male, female or neutral (got {g:?})"
                ));
            }
        }
        if let Some(d) = new.max_duration_seconds {
            if !(120..=10_800).contains(&d) {
                problems.push(format!("maxDurationSeconds must be 120..=10800 (got {d})"));
            }
        }
        let questions: Vec<String> = new
            .questions
            .iter()
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty())
            .collect();
        if !problems.is_empty() {
            return Err(BackendError::InvalidInput(problems.join("; ")));
        }
        let questions_json = serde_json::to_string(&questions)?;
        let now = ms_to_sql(self.now_ms());
        let conn = self.conn();
        // 36^8 ids: a collision is unlikely, but cheap to retry.
        for _ in 0..8 {
            let id = new_id();
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO applications (id, candidate_name, candidate_email,
                     candidate_phone, job_title, job_description, questions_json, language,
                     voice_gender, max_duration_seconds, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    candidate_name,
                    non_blank(new.candidate_email.clone()),
                    non_blank(new.candidate_phone.clone()),
                    job_title,
                    non_blank(Some(new.job_description.clone())),
                    questions_json,
                    non_blank(Some(new.language.clone())),
                    voice_gender,
                    new.max_duration_seconds,
                    now,
                ],
            )?;
            if inserted == 1 {
                return Ok(id);
            }
        }
        Err(BackendError::Internal(
            "could not find a free application id".into(),
        ))
    }

    /// The application with this id, None when there is none.
    pub fn application(&self, id: &str) -> Result<Option<ApplicationRecord>, BackendError> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, candidate_name, candidate_email, candidate_phone, job_title,
                        job_description, questions_json, language, voice_gender,
                        max_duration_seconds
                 FROM applications WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        ApplicationRecord {
                            id: r.get(0)?,
                            candidate_name: r.get(1)?,
                            candidate_email: r.get(2)?,
                            candidate_phone: r.get(3)?,
                            job_title: r.get(4)?,
                            job_description: r.get(5)?,
                            questions: Vec::new(),
                            language: r.get(7)?,
                            voice_gender: r.get(8)?,
                            max_duration_seconds: r.get(9)?,
                        },
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((mut app, questions_json)) => {
                app.questions = serde_json::from_str(&questions_json)?;
                Ok(Some(app))
            }
        }
    }

    /// The application, or [`BackendError::UnknownApplication`].
    pub(crate) fn require_application(&self, id: &str) -> Result<ApplicationRecord, BackendError> {
        self.application(id)?
            .ok_or_else(|| BackendError::UnknownApplication(id.to_string()))
    }
}
