//! The interview language: a normalized ISO-639-1 code parsed leniently from what the backend
//! sends ("en", "de-DE", "German", "Deutsch"), its English name for prompts ("speak German"),
//! and whether the fixed spoken lines exist in it (see `lines`).

use serde::{Deserialize, Serialize};

/// Known languages: (code, English name, spellings accepted besides the code).
const KNOWN: &[(&str, &str, &[&str])] = &[
    ("en", "English", &["english", "englisch", "anglais"]),
    ("de", "German", &["german", "deutsch", "allemand"]),
    (
        "fr",
        "French",
        &["french", "francais", "français", "französisch"],
    ),
    ("es", "Spanish", &["spanish", "espanol", "español"]),
    ("it", "Italian", &["italian", "italiano"]),
    ("nl", "Dutch", &["dutch", "nederlands"]),
    (
        "pt",
        "Portuguese",
        &["portuguese", "portugues", "português"],
    ),
    ("pl", "Polish", &["polish", "polski"]),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Language {
    code: String,
}

impl Default for Language {
    fn default() -> Self {
        Language::english()
    }
}

impl Language {
    pub fn english() -> Self {
        Language { code: "en".into() }
    }

    /// Never fails: empty or unrecognisable input is English; an unknown but code-shaped
    /// input ("sv", "ja-JP") keeps its code so the LLM can still be told to speak it.
    pub fn parse(s: &str) -> Language {
        let s = s.trim().to_lowercase();
        let primary = s.split(['-', '_']).next().unwrap_or("").trim();
        for (code, _, names) in KNOWN {
            if primary == *code || names.contains(&s.as_str()) {
                return Language {
                    code: (*code).into(),
                };
            }
        }
        if primary.len() == 2 && primary.chars().all(|c| c.is_ascii_lowercase()) {
            return Language {
                code: primary.into(),
            };
        }
        Language::english()
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    /// English name for prompts; the code itself for languages we do not know by name.
    pub fn name(&self) -> String {
        KNOWN
            .iter()
            .find(|(c, _, _)| *c == self.code)
            .map(|(_, n, _)| (*n).to_string())
            .unwrap_or_else(|| format!("the language with ISO code \"{}\"", self.code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_leniently() {
        assert_eq!(Language::parse("de-DE").code(), "de");
        assert_eq!(Language::parse("Deutsch").code(), "de");
        assert_eq!(Language::parse("FR").name(), "French");
        assert_eq!(Language::parse("").code(), "en");
        assert_eq!(Language::parse("klingon!").code(), "en");
        assert_eq!(Language::parse("sv-SE").code(), "sv");
    }
}
