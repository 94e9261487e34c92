//! The application being interviewed for, as the GraphQL backend sends it (camelCase JSON):
//! candidate, job (title, description, optional fixed questions, language) and interview
//! settings (voice gender, maximum duration). Parsing is lenient where backends differ
//! (nulls, voice gender spelling, duration units) and [`Application::validate`] is strict
//! about what the interview cannot do without.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::InterviewError;
use super::language::Language;

/// Used when the backend sends no (or an unparsable) maximum duration.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(30 * 60);
/// Shorter interviews cannot hold a greeting, one question and a closing.
pub const MIN_MAX_DURATION: Duration = Duration::from_secs(2 * 60);
pub const MAX_MAX_DURATION: Duration = Duration::from_secs(3 * 60 * 60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub candidate: Candidate,
    pub job: Job,
    #[serde(default, deserialize_with = "null_as_default")]
    pub settings: InterviewSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub title: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Asked in this order; empty means "generate from the description".
    #[serde(default, deserialize_with = "null_as_default")]
    pub questions: Vec<String>,
    /// Interview language, e.g. "en", "de", "en-US", "German". Empty means English.
    #[serde(default, deserialize_with = "null_as_default")]
    pub language: String,
}

impl Job {
    pub fn language(&self) -> Language {
        Language::parse(&self.language)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterviewSettings {
    #[serde(default)]
    pub voice_gender: VoiceGender,
    /// JSON: seconds as a number, or a string such as "1800", "30m", "45 min", "1h", "PT30M".
    #[serde(
        default = "default_max_duration",
        serialize_with = "serialize_secs",
        deserialize_with = "deserialize_duration"
    )]
    pub max_duration: Duration,
    /// The hiring team asked for the interview's audio to be recorded.
    #[serde(default)]
    pub record_audio: bool,
}

impl Default for InterviewSettings {
    fn default() -> Self {
        InterviewSettings {
            voice_gender: VoiceGender::Neutral,
            max_duration: DEFAULT_MAX_DURATION,
            record_audio: false,
        }
    }
}

impl Application {
    /// What the interview cannot run without: a candidate name, a job title and a sane
    /// maximum duration.
    pub fn validate(&self) -> Result<(), InterviewError> {
        let bad = |m: &str| Err(InterviewError::InvalidApplication(m.to_string()));
        if self.id.trim().is_empty() {
            return bad("empty application id");
        }
        if self.candidate.name.trim().is_empty() {
            return bad("empty candidate name");
        }
        if self.job.title.trim().is_empty() {
            return bad("empty job title");
        }
        let d = self.settings.max_duration;
        if !(MIN_MAX_DURATION..=MAX_MAX_DURATION).contains(&d) {
            return Err(InterviewError::InvalidApplication(format!(
                "max duration {d:?} outside {MIN_MAX_DURATION:?}..={MAX_MAX_DURATION:?}"
            )));
        }
        Ok(())
    }
}

/// TTS voice. Parsed leniently: "male"/"M"/"man" -> Male, "female"/"F"/"woman" -> Female,
/// anything else (including null and "") -> Neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiceGender {
    Male,
    Female,
    #[default]
    Neutral,
}

impl VoiceGender {
    pub fn parse_lenient(s: &str) -> VoiceGender {
        match s.trim().to_ascii_lowercase().as_str() {
            "male" | "m" | "man" | "masculine" | "voice_male" | "male_voice" => VoiceGender::Male,
            "female" | "f" | "woman" | "feminine" | "voice_female" | "female_voice" => {
                VoiceGender::Female
            }
            _ => VoiceGender::Neutral,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VoiceGender::Male => "male",
            VoiceGender::Female => "female",
            VoiceGender::Neutral => "neutral",
        }
    }
}

impl fmt::Display for VoiceGender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VoiceGender {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VoiceGender {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Option::<serde_json::Value>::deserialize(d)?;
        Ok(match v {
            Some(serde_json::Value::String(s)) => VoiceGender::parse_lenient(&s),
            _ => VoiceGender::Neutral,
        })
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn default_max_duration() -> Duration {
    DEFAULT_MAX_DURATION
}

fn serialize_secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

fn deserialize_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    let parsed = match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64),
        Some(serde_json::Value::String(s)) => parse_duration(&s),
        Some(_) => None,
    };
    parsed.ok_or_else(|| serde::de::Error::custom("maxDuration: expected seconds or e.g. \"30m\""))
}

/// "1800", "1800s", "30m", "30 min", "1.5h", "PT30M", "PT1H30M".
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim().to_ascii_lowercase();
    if let Some(iso) = s.strip_prefix("pt") {
        let mut total = 0f64;
        let mut num = String::new();
        for c in iso.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let n: f64 = num.parse().ok()?;
            num.clear();
            total += n * match c {
                'h' => 3600.0,
                'm' => 60.0,
                's' => 1.0,
                _ => return None,
            };
        }
        return (num.is_empty() && total > 0.0).then(|| Duration::from_secs_f64(total));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        _ => return None,
    };
    let secs = n * mult;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graphql_camel_case_json() {
        let json = r#"{
            "id": "app-42",
            "candidate": {"name": "Ana Silva", "email": "ana@example.com", "phone": null},
            "job": {"title": "Rust Engineer", "description": "Build realtime systems.",
                    "questions": ["Why Rust?"], "language": "de-DE"},
            "settings": {"voiceGender": "FEMALE", "maxDuration": "20m"}
        }"#;
        let app: Application = serde_json::from_str(json).unwrap();
        assert_eq!(app.candidate.name, "Ana Silva");
        assert_eq!(app.candidate.phone, None);
        assert_eq!(app.job.questions, vec!["Why Rust?"]);
        assert_eq!(app.job.language().code(), "de");
        assert_eq!(app.settings.voice_gender, VoiceGender::Female);
        assert_eq!(app.settings.max_duration, Duration::from_secs(1200));
        app.validate().unwrap();

        let out = serde_json::to_value(&app).unwrap();
        assert_eq!(out["settings"]["voiceGender"], "female");
        assert_eq!(out["settings"]["maxDuration"], 1200);
        let back: Application = serde_json::from_value(out).unwrap();
        assert_eq!(back, app);
    }

    #[test]
    fn nulls_and_missing_fields_get_defaults() {
        let json = r#"{"id": "a", "candidate": {"name": "Bo"},
            "job": {"title": "PM", "description": null, "questions": null, "language": null},
            "settings": null}"#;
        let app: Application = serde_json::from_str(json).unwrap();
        assert!(app.job.questions.is_empty());
        assert_eq!(app.job.language().code(), "en");
        assert_eq!(app.settings, InterviewSettings::default());
        let json = r#"{"id": "a", "candidate": {"name": "Bo"}, "job": {"title": "PM"},
            "settings": {"voiceGender": "robot", "maxDuration": 900}}"#;
        let app: Application = serde_json::from_str(json).unwrap();
        assert_eq!(app.settings.voice_gender, VoiceGender::Neutral);
        assert_eq!(app.settings.max_duration, Duration::from_secs(900));
    }

    #[test]
    fn voice_gender_and_duration_parsing_is_lenient() {
        assert_eq!(VoiceGender::parse_lenient(" M "), VoiceGender::Male);
        assert_eq!(VoiceGender::parse_lenient("Woman"), VoiceGender::Female);
        assert_eq!(VoiceGender::parse_lenient(""), VoiceGender::Neutral);
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45 min"), Some(Duration::from_secs(2700)));
        assert_eq!(parse_duration("1800"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-5"), None);
    }

    #[test]
    fn validation_rejects_unusable_applications() {
        let mut app = Application {
            id: "a".into(),
            candidate: Candidate {
                name: "Bo".into(),
                email: None,
                phone: None,
            },
            job: Job {
                title: "PM".into(),
                description: String::new(),
                questions: vec![],
                language: String::new(),
            },
            settings: InterviewSettings::default(),
        };
        app.validate().unwrap();
        app.settings.max_duration = Duration::from_secs(30);
        assert!(app.validate().is_err());
        app.settings.max_duration = DEFAULT_MAX_DURATION;
        app.candidate.name = "  ".into();
        assert!(app.validate().is_err());
    }
}
