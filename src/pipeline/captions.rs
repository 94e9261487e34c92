//! Captions in time with the voice (pure logic): when each word of an agent sentence is spoken,
//! estimated from the sentence's audio. TTS gives no word timings, so, like LiveKit's own
//! agents, we spread the sentence's audio over its words by length: a word's share is its
//! characters plus one (the gap after it). Before TTS has finished a sentence its length is
//! not known yet; until then it is at least the audio received so far and at least what a
//! typical speaking rate gives for the text.
//!
//! [`crate::pipeline::AgentSpeech`] uses this to release the words of an interim transcript
//! one by one as their audio plays, and to put each released word's start and end (offsets
//! from the first audio of the line) on the transcript for avatars that lip-sync.

use std::time::Duration;

use crate::audio::FRAME_DURATION;

/// Characters per second of typical TTS speech (about 2.5 words a second).
const CHARS_PER_SECOND: f64 = 14.0;

/// When a word is spoken, from the start of the agent's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordTime {
    pub start: Duration,
    pub end: Duration,
}

/// Each word of `text` as (start, end) fractions of the sentence's audio.
pub fn word_fractions(text: &str) -> Vec<(f64, f64)> {
    let weights: Vec<usize> = text
        .split_whitespace()
        .map(|w| w.chars().count() + 1)
        .collect();
    let total = weights.iter().sum::<usize>().max(1) as f64;
    let mut at = 0usize;
    weights
        .iter()
        .map(|w| {
            let start = at as f64 / total;
            at += w;
            (start, at as f64 / total)
        })
        .collect()
}

/// How many frames the sentence lasts, as far as we know now: the TTS total once known, else
/// the larger of what arrived and what the speaking rate predicts.
pub fn expected_frames(text: &str, received: usize, total: Option<usize>) -> usize {
    if let Some(total) = total {
        return total.max(1);
    }
    let by_rate = text.chars().count() as f64 / CHARS_PER_SECOND / FRAME_DURATION.as_secs_f64();
    received.max(by_rate.ceil() as usize).max(1)
}

/// Words of the sentence due once `played` frames of its `frames` have played: every word
/// whose start has been reached (the first one with the first frame).
pub fn words_due(fractions: &[(f64, f64)], played: usize, frames: usize) -> usize {
    if played == 0 {
        return 0;
    }
    // The frame being played covers [played-1, played) of `frames`.
    let now = (played - 1) as f64 / frames as f64;
    fractions.iter().take_while(|(s, _)| *s <= now).count()
}

/// Word times of one sentence that started `offset` frames into the line and lasts `frames`.
pub fn word_times(fractions: &[(f64, f64)], offset: usize, frames: usize) -> Vec<WordTime> {
    let at = |frac: f64| FRAME_DURATION.mul_f64(offset as f64 + frac * frames as f64);
    fractions
        .iter()
        .map(|(s, e)| WordTime {
            start: at(*s),
            end: at(*e),
        })
        .collect()
}

/// The `interview.word_times` attribute: `[[startMs, endMs], ...]`, one pair per word of the
/// transcript's text (split at whitespace), offsets from the line's first audio.
pub fn word_times_json(times: &[WordTime]) -> String {
    let pairs: Vec<String> = times
        .iter()
        .map(|t| format!("[{},{}]", t.start.as_millis(), t.end.as_millis()))
        .collect();
    format!("[{}]", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_weighted_by_length_and_cover_the_sentence() {
        let f = word_fractions("I am fine.");
        // weights 2, 3, 6 of 11
        assert_eq!(f.len(), 3);
        assert_eq!(f[0], (0.0, 2.0 / 11.0));
        assert_eq!(f[1], (2.0 / 11.0, 5.0 / 11.0));
        assert_eq!(f[2], (5.0 / 11.0, 1.0));
        assert!(word_fractions("   ").is_empty());
    }

    #[test]
    fn words_come_due_as_their_audio_plays() {
        let f = word_fractions("one two three four"); // starts at 0, 4/19, 8/19, 14/19
        let frames = 100;
        assert_eq!(words_due(&f, 0, frames), 0);
        assert_eq!(words_due(&f, 1, frames), 1);
        assert_eq!(words_due(&f, 21, frames), 1);
        assert_eq!(words_due(&f, 23, frames), 2);
        assert_eq!(words_due(&f, 50, frames), 3);
        assert_eq!(words_due(&f, 100, frames), 4);
    }

    #[test]
    fn unknown_length_is_estimated_from_the_text_and_what_arrived() {
        let text = "a".repeat(28); // two seconds at 14 chars/s = 100 frames
        assert_eq!(expected_frames(&text, 10, None), 100);
        assert_eq!(expected_frames(&text, 150, None), 150);
        assert_eq!(expected_frames(&text, 150, Some(120)), 120);
        assert_eq!(expected_frames("", 0, Some(0)), 1);
    }

    #[test]
    fn word_times_are_offsets_from_the_line_start() {
        let f = word_fractions("ab cd"); // 3 + 3
        let t = word_times(&f, 50, 100); // starts 1 s into the line, lasts 2 s
        assert_eq!(
            t,
            vec![
                WordTime {
                    start: Duration::from_millis(1000),
                    end: Duration::from_millis(2000)
                },
                WordTime {
                    start: Duration::from_millis(2000),
                    end: Duration::from_millis(3000)
                },
            ]
        );
        assert_eq!(word_times_json(&t), "[[1000,2000],[2000,3000]]");
    }
}
