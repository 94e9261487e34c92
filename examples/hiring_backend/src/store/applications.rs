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
    /// The hiring team wants the interview's audio recorded.
    pub record_audio: bool,
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
    pub record_audio: bool,
}

fn non_blank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Field-by-field problems of a new application: (field, message for a person).
fn validate(
    new: &NewApplication,
    candidate_name: &str,
    job_title: &str,
    voice_gender: &Option<String>,
    questions: &[String],
) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = Vec::new();
    let mut problem = |field: &str, msg: String| p.push((field.to_string(), msg));
    if candidate_name.is_empty() {
        problem("candidateName", "Enter the candidate's name.".into());
    } else if candidate_name.chars().count() > 200 {
        problem("candidateName", "At most 200 characters.".into());
    }
    if job_title.is_empty() {
        problem("jobTitle", "Enter the job title.".into());
    } else if job_title.chars().count() > 200 {
        problem("jobTitle", "At most 200 characters.".into());
    }
    if let Some(e) = non_blank(new.candidate_email.clone()) {
        let ok = e.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.')
        }) && !e.contains(char::is_whitespace);
        if !ok {
            problem(
                "candidateEmail",
                "Enter an email address like name@example.com.".into(),
            );
        }
    }
    if let Some(ph) = non_blank(new.candidate_phone.clone()) {
        let digits = ph.chars().filter(char::is_ascii_digit).count();
        let allowed = ph
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !allowed || !(7..=15).contains(&digits) {
            problem(
                "candidatePhone",
                "Enter a phone number with 7 to 15 digits, e.g. +1 555 010 0199.".into(),
            );
        }
    }
    if new.job_description.chars().count() > 10_000 {
        problem("jobDescription", "At most 10,000 characters.".into());
    }
    if questions.len() > 30 {
        problem("questions", "At most 30 questions.".into());
    } else if questions.iter().any(|q| q.chars().count() > 500) {
        problem("questions", "Each question at most 500 characters.".into());
    }
    let lang = new.language.trim();
    let lang_ok = lang.is_empty()
        || (lang.len() <= 10
            && lang
                .split('-')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
            && lang
                .split('-')
                .next()
                .is_some_and(|l| (2..=3).contains(&l.len())));
    if !lang_ok {
        problem(
            "language",
            "Use a language code such as en or de-DE.".into(),
        );
    }
    if let Some(g) = voice_gender {
        if !VOICE_GENDERS.contains(&g.as_str()) {
            problem(
                "voiceGender",
                format!("Choose male, female or neutral (got {g:?})."),
            );
        }
    }
    if let Some(d) = new.max_duration_seconds {
        if !(120..=10_800).contains(&d) {
            problem(
                "maxDurationSeconds",
                "Between 2 and 180 minutes (120 to 10800 seconds).".into(),
            );
        }
    }
    p
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
        let voice_gender = non_blank(new.voice_gender.clone()).map(|g| g.to_lowercase());
        let questions: Vec<String> = new
            .questions
            .iter()
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty())
            .collect();
        let problems = validate(&new, &candidate_name, &job_title, &voice_gender, &questions);
        if !problems.is_empty() {
            return Err(BackendError::InvalidFields(problems));
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
                drop(conn);
                if new.record_audio {
                    self.set_record_audio(&id, true)?;
                }
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
                "SELECT a.id, a.candidate_name, a.candidate_email, a.candidate_phone,
                        a.job_title, a.job_description, a.questions_json, a.language,
                        a.voice_gender, a.max_duration_seconds,
                        COALESCE(s.record_audio, 0)
                 FROM applications a
                 LEFT JOIN application_settings s ON s.application_id = a.id
                 WHERE a.id = ?1",
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
                            record_audio: r.get(10)?,
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
