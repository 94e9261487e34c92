//! [`AgentSpeech`]: a handle on one agent utterance (a reply or a `say`). Interruptible
//! (`interrupt()`), awaitable (`done()`), and it records what was actually PLAYED, sentence by
//! sentence, so history holds what the user heard.
//!
//! Heard-text policy: every fully played sentence, plus the interrupted sentence cut
//! proportionally (frames played / frames of that sentence) at a word boundary, ending in "…".
//! When the interrupted sentence's synthesis was not finished, the proportion uses the frames
//! received so far, which can only over-estimate how much was heard by the unsynthesized rest.
//!
//! Captions: the words of each sentence are released one by one as their audio plays (see
//! [`super::captions`]); [`AgentSpeech::caption`] is the text released so far with each word's
//! estimated start and end.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::captions::{self, WordTime};
use crate::audio::FRAME_DURATION;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeechStatus {
    /// Being prepared or played.
    Active,
    /// Played to the end (or nothing to play).
    Finished,
    Interrupted,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentenceProgress {
    pub text: String,
    /// Frames received from TTS so far.
    pub frames_received: usize,
    /// Set when TTS finished this sentence.
    pub frames_total: Option<usize>,
    pub frames_played: usize,
    /// Frames of the line played before this sentence's first frame.
    pub start_frame: usize,
    /// Words of this sentence released to captions so far.
    pub words_released: usize,
}

impl SentenceProgress {
    fn expected_frames(&self) -> usize {
        captions::expected_frames(&self.text, self.frames_received, self.frames_total)
    }
}

/// What playing one frame changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FramePlayed {
    /// The first frame of its sentence.
    pub sentence_started: bool,
    /// More words are due in the captions.
    pub words_released: bool,
}

/// The words released to captions so far, with their times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Caption {
    pub text: String,
    /// One per word of `text` (split at whitespace).
    pub words: Vec<WordTime>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeechProgress {
    pub sentences: Vec<SentenceProgress>,
    pub frames_played: usize,
}

struct Inner {
    id: u64,
    status: watch::Sender<SpeechStatus>,
    progress: Mutex<SpeechProgress>,
}

/// Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct AgentSpeech {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AgentSpeech {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSpeech")
            .field("id", &self.inner.id)
            .field("status", &self.status())
            .finish()
    }
}

impl AgentSpeech {
    pub fn new(id: u64) -> Self {
        let (status, _) = watch::channel(SpeechStatus::Active);
        AgentSpeech {
            inner: Arc::new(Inner {
                id,
                status,
                progress: Mutex::new(SpeechProgress::default()),
            }),
        }
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn status(&self) -> SpeechStatus {
        *self.inner.status.borrow()
    }

    /// Stop playout now. No effect once finished.
    pub fn interrupt(&self) {
        self.inner.status.send_if_modified(|s| {
            if *s == SpeechStatus::Active {
                *s = SpeechStatus::Interrupted;
                true
            } else {
                false
            }
        });
    }

    /// Forget sentences prepared but never played (a speculative reply decided again).
    pub(crate) fn discard_unplayed(&self) {
        let mut p = self.lock();
        if p.frames_played == 0 {
            p.sentences.clear();
        }
    }

    pub fn is_interrupted(&self) -> bool {
        self.status() == SpeechStatus::Interrupted
    }

    /// Resolves when the speech finished or was interrupted.
    pub async fn done(&self) -> SpeechStatus {
        let mut rx = self.inner.status.subscribe();
        let result = match rx.wait_for(|s| *s != SpeechStatus::Active).await {
            Ok(s) => *s,
            Err(_) => self.status(),
        };
        result
    }

    pub fn progress(&self) -> SpeechProgress {
        self.lock().clone()
    }

    pub fn has_started_playing(&self) -> bool {
        self.lock().frames_played > 0
    }

    pub fn played(&self) -> Duration {
        FRAME_DURATION * self.lock().frames_played as u32
    }

    /// Full text of every sentence handed to TTS so far.
    pub fn full_text(&self) -> String {
        join(self.lock().sentences.iter().map(|s| s.text.as_str()))
    }

    /// The words released so far (for interim transcripts), with their estimated times.
    pub fn caption(&self) -> Caption {
        let p = self.lock();
        let mut words: Vec<&str> = Vec::new();
        let mut times = Vec::new();
        for s in p.sentences.iter().filter(|s| s.words_released > 0) {
            let fractions = captions::word_fractions(&s.text);
            let n = s.words_released.min(fractions.len());
            words.extend(s.text.split_whitespace().take(n));
            let t = captions::word_times(&fractions[..n], s.start_frame, s.expected_frames());
            times.extend(t);
        }
        Caption {
            text: words.join(" "),
            words: times,
        }
    }

    /// What the user heard (see the module doc for the policy).
    pub fn heard_text(&self) -> String {
        let p = self.lock();
        let mut parts: Vec<String> = Vec::new();
        for s in &p.sentences {
            if s.frames_played == 0 {
                break;
            }
            let total = s.frames_total.unwrap_or(s.frames_received).max(1);
            if s.frames_total.is_some() && s.frames_played >= total {
                parts.push(s.text.clone());
                continue;
            }
            parts.push(cut_at_fraction(
                &s.text,
                s.frames_played as f64 / total as f64,
            ));
            break;
        }
        join(parts.iter().map(|s| s.as_str()))
    }

    // --- used by the pipeline -------------------------------------------------------------

    pub(crate) fn add_sentence(&self, text: &str) -> usize {
        let mut p = self.lock();
        p.sentences.push(SentenceProgress {
            text: text.to_string(),
            ..SentenceProgress::default()
        });
        p.sentences.len() - 1
    }

    pub(crate) fn frame_received(&self, sentence: usize) {
        if let Some(s) = self.lock().sentences.get_mut(sentence) {
            s.frames_received += 1;
        }
    }

    pub(crate) fn sentence_complete(&self, sentence: usize) {
        if let Some(s) = self.lock().sentences.get_mut(sentence) {
            s.frames_total = Some(s.frames_received);
        }
    }

    /// Count one played frame of `sentence` and release the words now due.
    pub(crate) fn frame_played(&self, sentence: usize) -> FramePlayed {
        let mut p = self.lock();
        let line_frames = p.frames_played;
        p.frames_played += 1;
        let mut played = FramePlayed::default();
        if let Some(s) = p.sentences.get_mut(sentence) {
            s.frames_played += 1;
            if s.frames_played == 1 {
                s.start_frame = line_frames;
                played.sentence_started = true;
            }
            let fractions = captions::word_fractions(&s.text);
            let due = captions::words_due(&fractions, s.frames_played, s.expected_frames());
            if due > s.words_released {
                s.words_released = due;
                played.words_released = true;
            }
        }
        // A sentence that started playing ends the earlier ones: their words are all spoken.
        if played.sentence_started {
            for s in p.sentences.iter_mut().take(sentence) {
                let n = s.text.split_whitespace().count();
                if s.words_released < n {
                    s.words_released = n;
                    played.words_released = true;
                }
            }
        }
        played
    }

    pub(crate) fn finish(&self) {
        self.inner.status.send_if_modified(|s| {
            if *s == SpeechStatus::Active {
                *s = SpeechStatus::Finished;
                true
            } else {
                false
            }
        });
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<SpeechStatus> {
        self.inner.status.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, SpeechProgress> {
        self.inner
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

fn join<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first `fraction` of `text`, cut back to a word boundary, with "…" appended.
fn cut_at_fraction(text: &str, fraction: f64) -> String {
    let n = text.chars().count();
    let keep = ((n as f64) * fraction.clamp(0.0, 1.0)).floor() as usize;
    let prefix: String = text.chars().take(keep).collect();
    let at_boundary = text.chars().nth(keep).is_none_or(|c| c.is_whitespace());
    let cut = if at_boundary {
        prefix.trim_end().to_string()
    } else {
        match prefix.rfind(char::is_whitespace) {
            Some(i) => prefix[..i].trim_end().to_string(),
            None => String::new(),
        }
    };
    if cut.is_empty() {
        cut
    } else {
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn heard_text_counts_played_sentences_and_part_of_the_current_one() {
        let s = AgentSpeech::new(1);
        let a = s.add_sentence("First sentence here.");
        let b = s.add_sentence("Second one is a bit longer than that.");
        for _ in 0..4 {
            s.frame_received(a);
        }
        s.sentence_complete(a);
        for _ in 0..10 {
            s.frame_received(b);
        }
        s.sentence_complete(b);
        assert_eq!(s.heard_text(), "");
        for _ in 0..4 {
            s.frame_played(a);
        }
        assert_eq!(s.heard_text(), "First sentence here.");
        for _ in 0..5 {
            s.frame_played(b);
        }
        // Half of "Second one is a bit longer than that." (37 chars -> 18) cut at a word.
        assert_eq!(s.heard_text(), "First sentence here. Second one is a…");
        assert_eq!(s.played(), FRAME_DURATION * 9);
        s.interrupt();
        assert_eq!(s.done().await, SpeechStatus::Interrupted);
        s.finish();
        assert_eq!(s.status(), SpeechStatus::Interrupted);
        assert_eq!(
            s.full_text(),
            "First sentence here. Second one is a bit longer than that."
        );
    }
}
