//! The interviewer's TTS voice: the voice gender per session (job metadata `voiceGender`, else
//! the application's settings, else neutral) and the interview language pick a voice name
//! from a configurable [`VoiceConfig`].
//!
//! Choice within a list: a stable FNV-1a hash of the application id, so different interviews
//! vary but one application always gets the same voice (a reconnect keeps it). Fallbacks when
//! a list is empty: the language's list -> the config's list for that gender -> the built-in
//! OpenAI list, so a voice is always found. The built-in lists follow the product brief:
//! male alloy/echo, female nova/shimmer, neutral onyx/fable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::language::Language;
use super::model::{Application, VoiceGender};

const OPENAI_MALE: &[&str] = &["alloy", "echo"];
const OPENAI_FEMALE: &[&str] = &["nova", "shimmer"];
const OPENAI_NEUTRAL: &[&str] = &["onyx", "fable"];
const METADATA_KEYS: [&str; 2] = ["voiceGender", "voice_gender"];

/// Voice names per gender. An empty list means "not configured here" (see the fallbacks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceSet {
    #[serde(default)]
    pub male: Vec<String>,
    #[serde(default)]
    pub female: Vec<String>,
    #[serde(default)]
    pub neutral: Vec<String>,
}

impl VoiceSet {
    /// The built-in OpenAI voices.
    pub fn openai() -> Self {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_string()).collect();
        VoiceSet {
            male: own(OPENAI_MALE),
            female: own(OPENAI_FEMALE),
            neutral: own(OPENAI_NEUTRAL),
        }
    }

    fn list(&self, gender: VoiceGender) -> &[String] {
        match gender {
            VoiceGender::Male => &self.male,
            VoiceGender::Female => &self.female,
            VoiceGender::Neutral => &self.neutral,
        }
    }
}

/// E.g. in TOML: `male = ["echo"]` plus `[languages.de] female = ["nova"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceConfig {
    #[serde(flatten)]
    pub default: VoiceSet,
    /// Per interview language (a code such as "de", or anything `Language::parse` accepts).
    #[serde(default)]
    pub languages: BTreeMap<String, VoiceSet>,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            default: VoiceSet::openai(),
            languages: BTreeMap::new(),
        }
    }
}

impl VoiceConfig {
    /// The voice for `gender` in `language`, chosen by a stable hash of `application_id`.
    pub fn choose(&self, gender: VoiceGender, language: &Language, application_id: &str) -> String {
        let by_language = self
            .languages
            .iter()
            .filter(|(k, _)| Language::parse(k).code() == language.code())
            .map(|(_, set)| usable(set.list(gender)))
            .find(|l| !l.is_empty());
        let list = by_language
            .or_else(|| Some(usable(self.default.list(gender))).filter(|l| !l.is_empty()))
            .unwrap_or_else(|| builtin(gender).iter().map(|s| (*s).to_string()).collect());
        let i = usize::try_from(fnv1a(application_id) % list.len().max(1) as u64).unwrap_or(0);
        list.get(i)
            .or_else(|| list.first())
            .cloned()
            .unwrap_or_else(|| "alloy".to_string())
    }

    /// The session's voice: gender from metadata / application settings, the job's language,
    /// the application id for the choice.
    pub fn for_session(&self, metadata: &serde_json::Value, application: &Application) -> String {
        let gender = resolve_voice_gender(metadata, Some(application));
        self.choose(gender, &application.job.language(), &application.id)
    }
}

/// Job metadata `voiceGender` (or `voice_gender`) when it names a gender ("male", "F",
/// "neutral", ...), else the application's setting, else neutral. An unrecognised metadata
/// value ("robot", "", a number) is ignored rather than forcing neutral.
pub fn resolve_voice_gender(
    metadata: &serde_json::Value,
    application: Option<&Application>,
) -> VoiceGender {
    let from_metadata = METADATA_KEYS.iter().find_map(|k| {
        let s = metadata.get(*k)?.as_str()?;
        match VoiceGender::parse_lenient(s) {
            VoiceGender::Neutral if !is_neutral_word(s) => None,
            g => Some(g),
        }
    });
    from_metadata
        .or_else(|| application.map(|a| a.settings.voice_gender))
        .unwrap_or_default()
}

fn is_neutral_word(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "neutral" | "n" | "non-binary" | "nonbinary" | "voice_neutral" | "neutral_voice"
    )
}

fn usable(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn builtin(gender: VoiceGender) -> &'static [&'static str] {
    match gender {
        VoiceGender::Male => OPENAI_MALE,
        VoiceGender::Female => OPENAI_FEMALE,
        VoiceGender::Neutral => OPENAI_NEUTRAL,
    }
}

/// FNV-1a 64: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::model::{Candidate, InterviewSettings, Job};
    use serde_json::json;

    fn application(id: &str, gender: VoiceGender, language: &str) -> Application {
        Application {
            id: id.into(),
            candidate: Candidate {
                name: "Bo".into(),
                email: None,
                phone: None,
            },
            job: Job {
                title: "PM".into(),
                description: String::new(),
                questions: vec![],
                language: language.into(),
            },
            settings: InterviewSettings {
                voice_gender: gender,
                ..InterviewSettings::default()
            },
        }
    }

    #[test]
    fn gender_from_metadata_then_settings_then_neutral() {
        let female_app = application("a", VoiceGender::Female, "en");
        let g =
            |meta: serde_json::Value, app: Option<&Application>| resolve_voice_gender(&meta, app);
        assert_eq!(
            g(json!({"voiceGender": "MALE"}), Some(&female_app)),
            VoiceGender::Male
        );
        assert_eq!(
            g(json!({"voice_gender": "m"}), Some(&female_app)),
            VoiceGender::Male
        );
        assert_eq!(
            g(json!({"voiceGender": "neutral"}), Some(&female_app)),
            VoiceGender::Neutral
        );
        for ignored in [
            json!({"voiceGender": "robot"}),
            json!({"voiceGender": ""}),
            json!({"voiceGender": 1}),
            json!({}),
            json!("male"),
            json!(null),
        ] {
            assert_eq!(
                g(ignored.clone(), Some(&female_app)),
                VoiceGender::Female,
                "{ignored}"
            );
        }
        assert_eq!(
            g(json!({"voiceGender": "robot"}), None),
            VoiceGender::Neutral
        );
        assert_eq!(g(json!({"voiceGender": "f"}), None), VoiceGender::Female);
    }

    #[test]
    fn default_map_is_openai_and_choice_is_stable_per_application() {
        let c = VoiceConfig::default();
        let en = Language::english();
        for (gender, list) in [
            (VoiceGender::Male, OPENAI_MALE),
            (VoiceGender::Female, OPENAI_FEMALE),
            (VoiceGender::Neutral, OPENAI_NEUTRAL),
        ] {
            let mut seen = std::collections::BTreeSet::new();
            for i in 0..40 {
                let id = format!("app-{i}");
                let v = c.choose(gender, &en, &id);
                assert!(list.contains(&v.as_str()), "{v}");
                assert_eq!(v, c.choose(gender, &en, &id), "stable");
                seen.insert(v);
            }
            assert_eq!(seen.len(), 2, "different interviews vary");
        }
        // Pinned: the hash must not change between releases.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn language_overrides_and_fallbacks() {
        let toml_text = r#"
            male = ["echo"]
            female = []
            [languages.de]
            female = ["nova"]
            [languages.French]
            male = ["onyx", " "]
        "#;
        let c: VoiceConfig = toml::from_str(toml_text).unwrap();
        let de = Language::parse("de-DE");
        let fr = Language::parse("fr");
        assert_eq!(c.choose(VoiceGender::Female, &de, "x"), "nova");
        // de has no male list: the config's male list.
        assert_eq!(c.choose(VoiceGender::Male, &de, "x"), "echo");
        // Blank names are dropped; keys are parsed as languages ("French" -> fr).
        assert_eq!(c.choose(VoiceGender::Male, &fr, "x"), "onyx");
        // Female empty everywhere for English, neutral not configured: the built-in lists.
        assert!(OPENAI_FEMALE.contains(
            &c.choose(VoiceGender::Female, &Language::english(), "x")
                .as_str()
        ));
        assert!(OPENAI_NEUTRAL.contains(&c.choose(VoiceGender::Neutral, &fr, "x").as_str()));
        let parsed: VoiceConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(parsed, c);
    }

    #[test]
    fn for_session_combines_metadata_settings_and_language() {
        let mut c = VoiceConfig::default();
        c.languages.insert(
            "de".into(),
            VoiceSet {
                male: vec!["de-male".into()],
                female: vec![],
                neutral: vec![],
            },
        );
        let app = application("app-1", VoiceGender::Female, "Deutsch");
        assert_eq!(
            c.for_session(&json!({"voiceGender": "male"}), &app),
            "de-male"
        );
        let v = c.for_session(&json!({}), &app);
        assert!(OPENAI_FEMALE.contains(&v.as_str()), "{v}");
    }
}
