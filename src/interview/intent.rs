//! What a short candidate turn asks for instead of answering: hear the question again
//! ("could you repeat", "pardon?", "sorry?") or have it explained ("what do you mean?").
//! Deterministic phrase matching on normalized text, English and German; only short turns
//! (at most [`MAX_REQUEST_WORDS`] words) count, so an answer that happens to contain
//! "what do you mean" is still an answer.

/// Longer turns are answers, whatever phrases they contain.
pub const MAX_REQUEST_WORDS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Repeat,
    Clarify,
    Answer,
}

const REPEAT: &[&str] = &[
    "could you repeat",
    "can you repeat",
    "would you repeat",
    "please repeat",
    "repeat the question",
    "repeat that",
    "say that again",
    "say it again",
    "come again",
    "i didn t catch",
    "i did not catch",
    "didn t hear",
    "did not hear",
    "one more time",
    "wiederholen",
    "nochmal sagen",
    "noch einmal sagen",
    "wie bitte",
];

/// Whole-utterance matches only ("sorry" alone is a repeat request, "sorry I was late" not).
const REPEAT_EXACT: &[&str] = &[
    "pardon",
    "sorry",
    "excuse me",
    "what",
    "huh",
    "bitte",
    "pardon me",
];

const CLARIFY: &[&str] = &[
    "what do you mean",
    "what does that mean",
    "can you clarify",
    "could you clarify",
    "please clarify",
    "could you explain the question",
    "can you explain the question",
    "explain the question",
    "rephrase",
    "i don t understand the question",
    "i do not understand the question",
    "not sure what you mean",
    "was meinen sie",
    "was heißt das",
    "verstehe die frage nicht",
    "erklären sie die frage",
    "anders formulieren",
];

/// Short affirmative replies; after "Would you like me to repeat the question?" they mean
/// "repeat".
const YES: &[&str] = &[
    "yes",
    "yes please",
    "yeah",
    "yep",
    "sure",
    "please",
    "ok",
    "okay",
    "please do",
    "yes please repeat",
    "ja",
    "ja bitte",
    "gerne",
    "gern",
    "bitte",
];

/// `after_repeat_offer`: the interviewer just asked "would you like me to repeat the
/// question?", so a bare "yes" means repeat.
pub fn classify(text: &str, after_repeat_offer: bool) -> Intent {
    let norm = normalize(text);
    let words = norm.split(' ').filter(|w| !w.is_empty()).count();
    if words == 0 || words > MAX_REQUEST_WORDS {
        return Intent::Answer;
    }
    if after_repeat_offer && YES.contains(&norm.as_str()) {
        return Intent::Repeat;
    }
    if CLARIFY.iter().any(|p| contains_phrase(&norm, p)) {
        return Intent::Clarify;
    }
    if REPEAT_EXACT.contains(&norm.as_str()) || REPEAT.iter().any(|p| contains_phrase(&norm, p)) {
        return Intent::Repeat;
    }
    Intent::Answer
}

/// Lowercase, punctuation (incl. apostrophes) to spaces, whitespace collapsed.
pub fn normalize(text: &str) -> String {
    let lowered: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `phrase` (already normalized) occurs in `norm` on word boundaries.
pub fn contains_phrase(norm: &str, phrase: &str) -> bool {
    format!(" {norm} ").contains(&format!(" {phrase} "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_repeat_and_clarify_requests() {
        assert_eq!(
            classify("Could you repeat that, please?", false),
            Intent::Repeat
        );
        assert_eq!(classify("Sorry?", false), Intent::Repeat);
        assert_eq!(classify("Pardon?", false), Intent::Repeat);
        assert_eq!(classify("Can you say that again", false), Intent::Repeat);
        assert_eq!(classify("Wie bitte?", false), Intent::Repeat);
        assert_eq!(classify("What do you mean?", false), Intent::Clarify);
        assert_eq!(
            classify("Could you explain the question?", false),
            Intent::Clarify
        );
        assert_eq!(classify("Yes please", true), Intent::Repeat);
        assert_eq!(classify("Yes please", false), Intent::Answer);
        assert_eq!(
            classify("Sorry I was late, I use Rust daily", false),
            Intent::Answer
        );
        let long = "I led the migration and when people asked what do you mean by zero \
            downtime I showed them the rollout plan we used";
        assert_eq!(classify(long, false), Intent::Answer);
        assert_eq!(classify("", false), Intent::Answer);
    }
}
