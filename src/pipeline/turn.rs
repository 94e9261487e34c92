//! End-of-turn detection, sans-IO. Inputs: VAD speech start/end (with the instants they
//! happened) and, optionally, transcripts; output: [`TurnEvent`]s from `poll(now)`, with
//! [`TurnDetector::next_deadline`] telling the caller when to poll next.
//!
//! Rules: the endpointing delay counts from the END OF SPEECH (the last voiced audio), not from
//! the moment the VAD decided speech ended, so VAD `min_silence` and `min_endpointing_delay`
//! overlap instead of adding up. Speech resuming before the deadline continues the same turn.
//! A turn whose voiced audio adds up to less than `min_speech` (a click, a cough) is discarded.
//! A final transcript that looks unfinished (trailing comma, "and", "um", ...) stretches the wait
//! to `unfinished_delay`; everything is capped at `max_endpointing_delay`.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct TurnOptions {
    /// Silence after speech before the turn ends.
    pub min_endpointing_delay: Duration,
    /// Upper bound on the wait after speech, whatever else happens.
    pub max_endpointing_delay: Duration,
    /// Wait after speech whose final transcript looks unfinished.
    pub unfinished_delay: Duration,
    /// Voiced audio a turn needs; less is a click and no turn.
    pub min_speech: Duration,
    /// With a streaming STT: wait for a final transcript (up to the max delay).
    pub wait_for_transcript: bool,
}

impl Default for TurnOptions {
    fn default() -> Self {
        TurnOptions {
            min_endpointing_delay: Duration::from_millis(500),
            max_endpointing_delay: Duration::from_secs(3),
            unfinished_delay: Duration::from_millis(1500),
            min_speech: Duration::from_millis(100),
            wait_for_transcript: false,
        }
    }
}

/// A decided turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnInfo {
    /// Onset of the first speech of the turn.
    pub started_at: Instant,
    /// End of the last speech of the turn.
    pub speech_ended_at: Instant,
    /// When the end of turn was decided.
    pub decided_at: Instant,
    /// Sum of the voiced spans.
    pub speech_duration: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEvent {
    /// The user finished a turn: reply now.
    EndOfTurn(TurnInfo),
    /// What looked like a turn was too short (noise); drop its audio.
    Discarded { speech_duration: Duration },
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    Speaking {
        turn_start: Instant,
        onset: Instant,
        voiced: Duration,
    },
    Waiting {
        turn_start: Instant,
        speech_end: Instant,
        voiced: Duration,
        have_final: bool,
        unfinished: bool,
    },
}

#[derive(Debug, Clone)]
pub struct TurnDetector {
    opts: TurnOptions,
    state: State,
}

impl TurnDetector {
    pub fn new(opts: TurnOptions) -> Self {
        TurnDetector {
            opts,
            state: State::Idle,
        }
    }

    /// True between the first speech of a turn and its end/discard.
    pub fn in_turn(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    pub fn is_user_speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    pub fn speech_started(&mut self, at: Instant) {
        self.state = match self.state {
            State::Idle => State::Speaking {
                turn_start: at,
                onset: at,
                voiced: Duration::ZERO,
            },
            State::Waiting {
                turn_start, voiced, ..
            } => State::Speaking {
                turn_start,
                onset: at,
                voiced,
            },
            s @ State::Speaking { .. } => s,
        };
    }

    pub fn speech_ended(&mut self, at: Instant) {
        if let State::Speaking {
            turn_start,
            onset,
            voiced,
        } = self.state
        {
            self.state = State::Waiting {
                turn_start,
                speech_end: at,
                voiced: voiced + at.saturating_duration_since(onset),
                have_final: false,
                unfinished: false,
            };
        }
    }

    /// A transcript of the current turn (streaming STT). Only final ones change the decision.
    pub fn transcript(&mut self, text: &str, is_final: bool) {
        if !is_final {
            return;
        }
        if let State::Waiting {
            have_final,
            unfinished,
            ..
        } = &mut self.state
        {
            *have_final = true;
            *unfinished = looks_unfinished(text);
        }
    }

    /// Forget the current turn (e.g. the pipeline took over its audio for a barge-in).
    pub fn reset(&mut self) {
        self.state = State::Idle;
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Waiting {
                speech_end,
                have_final,
                unfinished,
                ..
            } => {
                let max = speech_end + self.opts.max_endpointing_delay;
                let wait = if unfinished {
                    self.opts.unfinished_delay
                } else if self.opts.wait_for_transcript && !have_final {
                    self.opts.max_endpointing_delay
                } else {
                    self.opts.min_endpointing_delay
                };
                Some((speech_end + wait).min(max))
            }
            _ => None,
        }
    }

    pub fn poll(&mut self, now: Instant) -> Option<TurnEvent> {
        let deadline = self.next_deadline()?;
        if now < deadline {
            return None;
        }
        let State::Waiting {
            turn_start,
            speech_end,
            voiced,
            ..
        } = self.state
        else {
            return None;
        };
        self.state = State::Idle;
        if voiced < self.opts.min_speech {
            return Some(TurnEvent::Discarded {
                speech_duration: voiced,
            });
        }
        Some(TurnEvent::EndOfTurn(TurnInfo {
            started_at: turn_start,
            speech_ended_at: speech_end,
            decided_at: now,
            speech_duration: voiced,
        }))
    }
}

/// A heuristic for "the speaker is not done": trailing comma/dash/colon or a dangling
/// conjunction or filler.
pub fn looks_unfinished(text: &str) -> bool {
    let t = text.trim_end();
    if t.ends_with([',', '-', ':', ';']) || t.ends_with("...") {
        return true;
    }
    let last = t
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    matches!(
        last.as_str(),
        "and"
            | "or"
            | "but"
            | "so"
            | "because"
            | "um"
            | "uh"
            | "er"
            | "the"
            | "a"
            | "to"
            | "of"
            | "with"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn ends_min_delay_after_speech_end() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(TurnOptions::default());
        assert_eq!(d.next_deadline(), None);
        d.speech_started(t0);
        assert!(d.poll(t0 + ms(5000)).is_none(), "no end while speaking");
        // The VAD reports the end 550 ms late; the deadline still counts from the speech end.
        d.speech_ended(t0 + ms(1000));
        assert_eq!(d.next_deadline(), Some(t0 + ms(1500)));
        assert_eq!(d.poll(t0 + ms(1499)), None);
        let ev = d.poll(t0 + ms(1550));
        assert_eq!(
            ev,
            Some(TurnEvent::EndOfTurn(TurnInfo {
                started_at: t0,
                speech_ended_at: t0 + ms(1000),
                decided_at: t0 + ms(1550),
                speech_duration: ms(1000),
            }))
        );
        assert!(!d.in_turn());
        assert_eq!(d.poll(t0 + ms(9000)), None);
    }

    #[test]
    fn two_utterances_300ms_apart_are_one_turn() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(TurnOptions::default());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(600));
        assert_eq!(d.poll(t0 + ms(850)), None);
        d.speech_started(t0 + ms(900));
        assert_eq!(d.next_deadline(), None);
        d.speech_ended(t0 + ms(1500));
        assert_eq!(d.poll(t0 + ms(1900)), None);
        let Some(TurnEvent::EndOfTurn(info)) = d.poll(t0 + ms(2000)) else {
            panic!()
        };
        assert_eq!(info.started_at, t0);
        assert_eq!(info.speech_duration, ms(1200));
    }

    #[test]
    fn a_click_is_no_turn() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(TurnOptions::default());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(80));
        assert_eq!(
            d.poll(t0 + ms(600)),
            Some(TurnEvent::Discarded {
                speech_duration: ms(80)
            })
        );
        assert!(!d.in_turn());
    }

    #[test]
    fn unfinished_transcript_waits_longer_but_never_past_max() {
        let t0 = Instant::now();
        let mut d = TurnDetector::new(TurnOptions::default());
        d.speech_started(t0);
        d.speech_ended(t0 + ms(1000));
        d.transcript("my email is john dot", false);
        d.transcript("I worked on the billing system and", true);
        assert_eq!(d.next_deadline(), Some(t0 + ms(2500)));
        assert_eq!(d.poll(t0 + ms(1600)), None);
        assert!(matches!(
            d.poll(t0 + ms(2500)),
            Some(TurnEvent::EndOfTurn(_))
        ));

        let opts = TurnOptions {
            unfinished_delay: ms(10_000),
            ..TurnOptions::default()
        };
        let mut d = TurnDetector::new(opts);
        d.speech_started(t0);
        d.speech_ended(t0 + ms(1000));
        d.transcript("and,", true);
        assert_eq!(
            d.next_deadline(),
            Some(t0 + ms(4000)),
            "capped at max_endpointing_delay"
        );
    }

    #[test]
    fn waiting_for_a_streaming_transcript_is_capped() {
        let t0 = Instant::now();
        let opts = TurnOptions {
            wait_for_transcript: true,
            ..TurnOptions::default()
        };
        let mut d = TurnDetector::new(opts);
        d.speech_started(t0);
        d.speech_ended(t0 + ms(1000));
        assert_eq!(d.next_deadline(), Some(t0 + ms(4000)));
        d.transcript("That is all.", true);
        assert_eq!(d.next_deadline(), Some(t0 + ms(1500)));
    }

    #[test]
    fn unfinished_heuristic() {
        assert!(looks_unfinished("I think, um"));
        assert!(looks_unfinished("the number is 4 5 6,"));
        assert!(!looks_unfinished("That is all."));
        assert!(!looks_unfinished("I led a team of five"));
    }
}
