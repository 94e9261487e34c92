//! Cleaning the free text an LLM evaluator returns (summary, key points, improvement areas,
//! strengths, weaknesses): duplicates go, and so do items that merely copy the candidate's
//! answer back and degenerate text (no words, or a loop). Small models do all three (a 135M
//! model filled every list with the same copied sentence, and once "summarized" an interview
//! as "10.0, 10.0, 10.0, ..."); an assessment that repeats the answer says nothing about it.
//! Quotes of the answer belong in `evidence_quotes`, which are checked separately.

use std::collections::HashSet;

use super::scoring::normalize_quote;

/// Items shorter than this (words) are never called echoes: short phrases ("event
/// sourcing", "clear trade-offs") legitimately reuse the candidate's words.
const ECHO_MIN_WORDS: usize = 8;
/// Share of an item's word trigrams found in one answer from which it counts as a copy.
/// Tolerates the odd changed word ("charging the 2" for "charging the customer twice").
const ECHO_MIN_SHARED: f32 = 0.6;

/// From this many words on, a text whose distinct words are fewer than
/// [`LOOP_MAX_DISTINCT`] of them is a generation loop.
const LOOP_MIN_WORDS: usize = 8;
const LOOP_MAX_DISTINCT: f32 = 0.35;

/// Not prose: no word with letters in it, or a generation loop ("10.0, 10.0, 10.0, ...",
/// "good good good ...").
pub fn degenerate(text: &str) -> bool {
    let norm = normalize_quote(text);
    let words: Vec<&str> = norm.split_whitespace().collect();
    if !words.iter().any(|w| w.chars().any(char::is_alphabetic)) {
        return true;
    }
    if words.len() < LOOP_MIN_WORDS {
        return false;
    }
    let distinct: HashSet<&str> = words.iter().copied().collect();
    (distinct.len() as f32) < LOOP_MAX_DISTINCT * words.len() as f32
}

/// Word trigrams of a normalized text.
fn trigrams(norm: &str) -> HashSet<[&str; 3]> {
    let words: Vec<&str> = norm.split_whitespace().collect();
    words.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

/// Answers prepared once (normalized, as word trigrams) for many echo checks.
pub struct Sources {
    answers: Vec<HashSet<[String; 3]>>,
}

impl Sources {
    pub fn new<'a>(answers: impl IntoIterator<Item = &'a str>) -> Sources {
        let owned = |t: [&str; 3]| t.map(str::to_string);
        Sources {
            answers: answers
                .into_iter()
                .map(|a| {
                    trigrams(&normalize_quote(a))
                        .into_iter()
                        .map(owned)
                        .collect()
                })
                .collect(),
        }
    }

    /// `text` is (mostly) a verbatim copy of one of the answers.
    pub fn echoes(&self, text: &str) -> bool {
        let norm = normalize_quote(text);
        if norm.split_whitespace().count() < ECHO_MIN_WORDS {
            return false;
        }
        let mine: Vec<[String; 3]> = trigrams(&norm)
            .into_iter()
            .map(|t| t.map(str::to_string))
            .collect();
        self.answers.iter().any(|theirs| {
            let shared = mine.iter().filter(|t| theirs.contains(*t)).count();
            shared as f32 >= ECHO_MIN_SHARED * mine.len() as f32
        })
    }

    /// `items` without echoes of the answers, degenerate text and repeats (compared
    /// normalized), in order.
    pub fn clean(&self, items: Vec<String>) -> Vec<String> {
        let mut seen = HashSet::new();
        items
            .into_iter()
            .filter(|item| {
                !self.echoes(item) && !degenerate(item) && seen.insert(normalize_quote(item))
            })
            .collect()
    }
}

/// Items present in both lists (a strength that is also a weakness) are contradictions:
/// removed from both.
pub fn drop_shared(a: &mut Vec<String>, b: &mut Vec<String>) {
    let na: HashSet<String> = a.iter().map(|s| normalize_quote(s)).collect();
    let nb: HashSet<String> = b.iter().map(|s| normalize_quote(s)).collect();
    a.retain(|s| !nb.contains(&normalize_quote(s)));
    b.retain(|s| !na.contains(&normalize_quote(s)));
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "I would use an idempotency key. The client sends a unique key with each \
        request and the server stores the key together with the result. So a retry gets the \
        stored result instead of charging the customer twice.";

    #[test]
    fn copies_of_the_answer_go_assessments_stay() {
        let s = Sources::new([ANSWER]);
        // Verbatim, and with a garbled ending (as seen from SmolLM2-135M).
        assert!(s.echoes(
            "The client sends a unique key with each request and the server stores the key \
             together with the result."
        ));
        assert!(s.echoes(
            "The client sends a unique key with each request and the server stores the key \
             together with the result. So retr gets the stored result instead of charging \
             the 2"
        ));
        // Real assessments, even when they reuse some of the candidate's words.
        assert!(!s.echoes("Uses an idempotency key"));
        assert!(!s.echoes(
            "Explains why the server must store the key with the result, which prevents \
             double charges on retries"
        ));
        assert!(
            !s.echoes("Does not say how long keys are kept or what happens when two retries race")
        );
    }

    #[test]
    fn clean_drops_echoes_and_repeats_keeps_order() {
        let s = Sources::new([ANSWER, "Short answer."]);
        let copy = "The client sends a unique key with each request and the server stores \
                    the key together with the result."
            .to_string();
        let items = vec![
            "Names idempotency keys".to_string(),
            copy.clone(),
            "names idempotency keys.".to_string(),
            "Misses key expiry".to_string(),
            copy,
        ];
        assert_eq!(
            s.clean(items),
            vec!["Names idempotency keys", "Misses key expiry"]
        );
    }

    #[test]
    fn degenerate_text_is_not_prose() {
        let looped = ["10.0"; 27].join(", ");
        assert!(degenerate(&looped));
        assert!(degenerate("7, 8, 9"));
        assert!(degenerate("..."));
        assert!(degenerate(
            "good good good good good good good good good good"
        ));
        assert!(!degenerate("Clear"));
        assert!(!degenerate("Uses an idempotency key"));
        assert!(!degenerate(
            "A solid candidate: clear trade-offs, concrete examples, and a sound approach to \
             debugging slow queries. Probing the depth of the design work is the next step."
        ));
        let s = Sources::new([ANSWER]);
        assert_eq!(
            s.clean(vec![looped, "1, 2".into(), "Clear reasoning".into()]),
            vec!["Clear reasoning"]
        );
    }

    #[test]
    fn no_answers_no_echoes() {
        let s = Sources::new(std::iter::empty());
        assert!(!s.echoes("Any text at all that is long enough to be checked for copying"));
    }

    #[test]
    fn contradictions_leave_both_lists() {
        let mut strengths = vec!["Clear structure".to_string(), "Good examples".to_string()];
        let mut weaknesses = vec!["clear structure.".to_string(), "Too brief".to_string()];
        drop_shared(&mut strengths, &mut weaknesses);
        assert_eq!(strengths, vec!["Good examples"]);
        assert_eq!(weaknesses, vec!["Too brief"]);
    }
}
