//! Voice activity detection, sans-IO: `webrtc-vad` (libfvad) gives a voiced/unvoiced decision
//! per 10/20/30 ms frame of 16 kHz audio; [`Hysteresis`] turns those decisions into speech
//! start/end with `min_speech` / `min_silence`; [`Vad`] glues both, keeps `prefix_padding` of
//! audio from before the onset, and emits [`VadEvent`]s from `handle(samples_16k, now)`.
//!
//! Timestamps: `now` is the time the last sample of the handed-in audio was received; earlier
//! frames in the same call are dated backwards from it by their sample position.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::frame::{AudioFrame, SampleRate};

/// libfvad aggressiveness: higher modes call less audio "voiced" (fewer false starts on noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VadMode {
    Quality,
    LowBitrate,
    Aggressive,
    /// Default: the only mode that rejects quiet broadband noise (measured: modes 0-2 call
    /// -46 dBFS white noise voiced in every frame) while still taking voiced speech.
    #[default]
    VeryAggressive,
}

/// Errors of the VAD layer (configuration only; never retryable).
#[derive(Debug, thiserror::Error)]
pub enum VadError {
    #[error("vad frame must be 10, 20 or 30 ms, got {0:?}")]
    FrameDuration(Duration),
}

impl VadError {
    pub fn is_retryable(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone)]
pub struct VadOptions {
    pub mode: VadMode,
    /// Analysis frame: 10, 20 or 30 ms.
    pub frame: Duration,
    /// Voiced audio needed before speech starts.
    pub min_speech: Duration,
    /// Unvoiced audio needed before speech ends.
    pub min_silence: Duration,
    /// Audio kept from before the onset and handed out with `SpeechStart`.
    pub prefix_padding: Duration,
    /// Frames quieter than this are unvoiced whatever libfvad says. libfvad keeps calling
    /// frames voiced for ~160 ms after any sound (its own hangover), which stretches an 80 ms
    /// click past `min_speech` and a 200 ms "mm-hm" past the barge-in threshold, and delays
    /// every end of speech; the gate cuts that tail once the level drops to the noise floor.
    pub min_level_dbfs: f32,
}

impl Default for VadOptions {
    fn default() -> Self {
        VadOptions {
            mode: VadMode::default(),
            frame: Duration::from_millis(20),
            min_speech: Duration::from_millis(100),
            min_silence: Duration::from_millis(550),
            prefix_padding: Duration::from_millis(300),
            min_level_dbfs: -55.0,
        }
    }
}

/// What the VAD reports.
#[derive(Debug, Clone, PartialEq)]
pub enum VadEvent {
    /// Speech began at `at` (start of the first voiced frame). `prefix` holds up to
    /// `prefix_padding` before the onset plus the voiced audio up to now (16 kHz).
    SpeechStart { at: Instant, prefix: AudioFrame },
    /// Audio while speaking (including the trailing silence before `SpeechEnd`); `voiced` is
    /// this frame's own decision (the hysteresis keeps the state through short gaps).
    Speech { frame: AudioFrame, voiced: bool },
    /// Speech ended at `at` (end of the last voiced frame).
    SpeechEnd {
        at: Instant,
        speech_duration: Duration,
    },
}

/// A state change found by [`Hysteresis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Start {
        at: Instant,
    },
    End {
        at: Instant,
        speech_duration: Duration,
    },
}

#[derive(Debug, Clone, Copy)]
enum HState {
    Silence {
        voiced_since: Option<Instant>,
        voiced: Duration,
    },
    Speech {
        onset: Instant,
        unvoiced_since: Option<Instant>,
        unvoiced: Duration,
    },
}

/// Pure hysteresis over per-frame voiced decisions.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    min_speech: Duration,
    min_silence: Duration,
    state: HState,
}

impl Hysteresis {
    pub fn new(min_speech: Duration, min_silence: Duration) -> Self {
        Hysteresis {
            min_speech,
            min_silence,
            state: HState::Silence {
                voiced_since: None,
                voiced: Duration::ZERO,
            },
        }
    }

    pub fn is_speaking(&self) -> bool {
        matches!(self.state, HState::Speech { .. })
    }

    /// One frame starting at `start`, lasting `dur`.
    pub fn push(&mut self, voiced: bool, start: Instant, dur: Duration) -> Option<Transition> {
        match self.state {
            HState::Silence {
                voiced_since,
                voiced: run,
            } => {
                if !voiced {
                    self.state = HState::Silence {
                        voiced_since: None,
                        voiced: Duration::ZERO,
                    };
                    return None;
                }
                let since = voiced_since.unwrap_or(start);
                let run = run + dur;
                if run >= self.min_speech {
                    self.state = HState::Speech {
                        onset: since,
                        unvoiced_since: None,
                        unvoiced: Duration::ZERO,
                    };
                    Some(Transition::Start { at: since })
                } else {
                    self.state = HState::Silence {
                        voiced_since: Some(since),
                        voiced: run,
                    };
                    None
                }
            }
            HState::Speech {
                onset,
                unvoiced_since,
                unvoiced,
            } => {
                if voiced {
                    self.state = HState::Speech {
                        onset,
                        unvoiced_since: None,
                        unvoiced: Duration::ZERO,
                    };
                    return None;
                }
                let since = unvoiced_since.unwrap_or(start);
                let run = unvoiced + dur;
                if run >= self.min_silence {
                    self.state = HState::Silence {
                        voiced_since: None,
                        voiced: Duration::ZERO,
                    };
                    Some(Transition::End {
                        at: since,
                        speech_duration: since.saturating_duration_since(onset),
                    })
                } else {
                    self.state = HState::Speech {
                        onset,
                        unvoiced_since: Some(since),
                        unvoiced: run,
                    };
                    None
                }
            }
        }
    }
}

/// Per-frame voiced classifier; [`WebRtcClassifier`] in production, scripted in tests.
pub trait VoiceClassifier: Send {
    fn is_voiced(&mut self, frame_16k: &[i16]) -> bool;
}

/// libfvad through `webrtc-vad`.
pub struct WebRtcClassifier {
    inner: webrtc_vad::Vad,
}

// SAFETY: `webrtc_vad::Vad` owns a heap-allocated libfvad instance behind a raw pointer, which
// makes it `!Send` by default. libfvad keeps no thread-local or global state; the instance is
// only touched through `&mut self`, so moving it to another thread is sound.
unsafe impl Send for WebRtcClassifier {}

impl WebRtcClassifier {
    pub fn new(mode: VadMode) -> Self {
        let mode = match mode {
            VadMode::Quality => webrtc_vad::VadMode::Quality,
            VadMode::LowBitrate => webrtc_vad::VadMode::LowBitrate,
            VadMode::Aggressive => webrtc_vad::VadMode::Aggressive,
            VadMode::VeryAggressive => webrtc_vad::VadMode::VeryAggressive,
        };
        WebRtcClassifier {
            inner: webrtc_vad::Vad::new_with_rate_and_mode(webrtc_vad::SampleRate::Rate16kHz, mode),
        }
    }
}

impl VoiceClassifier for WebRtcClassifier {
    fn is_voiced(&mut self, frame_16k: &[i16]) -> bool {
        if frame_16k.is_empty() {
            return false;
        }
        self.inner.is_voice_segment(frame_16k).unwrap_or(false)
    }
}

/// The VAD: classifier + hysteresis + prefix buffer. 16 kHz mono in.
pub struct Vad {
    classifier: Box<dyn VoiceClassifier>,
    hysteresis: Hysteresis,
    frame_len: usize,
    frame_dur: Duration,
    /// Samples not yet forming a whole frame.
    partial: Vec<i16>,
    /// Frames seen while not speaking (prefix padding + a voiced run in progress).
    history: VecDeque<Vec<i16>>,
    history_frames: usize,
    min_level_dbfs: f32,
}

pub const VAD_RATE: SampleRate = SampleRate::HZ_16000;

impl Vad {
    pub fn new(opts: &VadOptions) -> Result<Self, VadError> {
        Self::with_classifier(opts, Box::new(WebRtcClassifier::new(opts.mode)))
    }

    pub fn with_classifier(
        opts: &VadOptions,
        classifier: Box<dyn VoiceClassifier>,
    ) -> Result<Self, VadError> {
        let valid = [10u64, 20, 30].map(Duration::from_millis);
        if !valid.contains(&opts.frame) {
            return Err(VadError::FrameDuration(opts.frame));
        }
        let frame_len = VAD_RATE.samples_in(opts.frame);
        let per = |d: Duration| d.as_micros().div_ceil(opts.frame.as_micros()) as usize;
        Ok(Vad {
            classifier,
            hysteresis: Hysteresis::new(opts.min_speech, opts.min_silence),
            frame_len,
            frame_dur: opts.frame,
            partial: Vec::with_capacity(frame_len),
            history: VecDeque::new(),
            history_frames: per(opts.prefix_padding) + per(opts.min_speech),
            min_level_dbfs: opts.min_level_dbfs,
        })
    }

    pub fn is_speaking(&self) -> bool {
        self.hysteresis.is_speaking()
    }

    /// Feed 16 kHz samples received at `now`; any length.
    pub fn handle(&mut self, samples_16k: &[i16], now: Instant) -> Vec<VadEvent> {
        let mut events = Vec::new();
        let total = self.partial.len() + samples_16k.len();
        let mut consumed_total = self.partial.len();
        let mut input = samples_16k;
        while self.partial.len() + input.len() >= self.frame_len {
            let take = self.frame_len - self.partial.len();
            self.partial.extend_from_slice(&input[..take]);
            input = &input[take..];
            consumed_total += take;
            let frame = std::mem::replace(&mut self.partial, Vec::with_capacity(self.frame_len));
            // This frame ends `total - consumed_total` samples before `now`.
            let end = now
                .checked_sub(sample_time(total - consumed_total))
                .unwrap_or(now);
            let start = end.checked_sub(self.frame_dur).unwrap_or(end);
            self.on_frame(frame, start, &mut events);
        }
        self.partial.extend_from_slice(input);
        events
    }

    fn on_frame(&mut self, frame: Vec<i16>, start: Instant, events: &mut Vec<VadEvent>) {
        let voiced = level_dbfs(&frame) >= self.min_level_dbfs && self.classifier.is_voiced(&frame);
        let was_speaking = self.hysteresis.is_speaking();
        let transition = self.hysteresis.push(voiced, start, self.frame_dur);
        if was_speaking {
            events.push(VadEvent::Speech {
                frame: AudioFrame::new(frame, VAD_RATE),
                voiced,
            });
            if let Some(Transition::End {
                at,
                speech_duration,
            }) = transition
            {
                events.push(VadEvent::SpeechEnd {
                    at,
                    speech_duration,
                });
            }
            return;
        }
        self.history.push_back(frame);
        while self.history.len() > self.history_frames {
            self.history.pop_front();
        }
        if let Some(Transition::Start { at }) = transition {
            let prefix: Vec<i16> = self.history.drain(..).flatten().collect();
            events.push(VadEvent::SpeechStart {
                at,
                prefix: AudioFrame::new(prefix, VAD_RATE),
            });
        }
    }
}

fn level_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return -120.0;
    }
    let sum: f64 = frame.iter().map(|&s| (s as f64) * (s as f64)).sum();
    let rms = (sum / frame.len() as f64).sqrt() / 32768.0;
    if rms <= 1e-6 {
        -120.0
    } else {
        (20.0 * rms.log10()) as f32
    }
}

fn sample_time(samples: usize) -> Duration {
    Duration::from_nanos(samples as u64 * 1_000_000_000 / VAD_RATE.0 as u64)
}

/// Synthetic audio for tests and benchmarks: a harmonic-rich, pitch-wobbling "voiced" signal
/// that libfvad classifies as speech, at `rate`.
pub fn synthetic_voice(rate: SampleRate, duration: Duration, seed: u32) -> Vec<i16> {
    let n = rate.samples_in(duration);
    let sr = rate.0 as f64;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            // 120-160 Hz fundamental with a slow vibrato, like a voice.
            let f0 =
                140.0 + 20.0 * (2.0 * std::f64::consts::PI * (3.0 + seed as f64 * 0.1) * t).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / sr;
            let mut s = 0.0;
            for h in 1..=20 {
                // Formant-ish emphasis around 500 Hz and 1500 Hz.
                let fh = f0 * h as f64;
                let formant = 1.0 / (1.0 + ((fh - 500.0) / 300.0).powi(2))
                    + 0.5 / (1.0 + ((fh - 1500.0) / 400.0).powi(2));
                s += formant * (phase * h as f64).sin() / h as f64;
            }
            // Syllable-rate amplitude envelope (4 Hz).
            let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 4.0 * t).sin().abs();
            (s * env * 6000.0).clamp(-32767.0, 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Duration = Duration::from_millis(20);

    fn run(h: &mut Hysteresis, t0: Instant, pattern: &[(bool, u32)]) -> Vec<Transition> {
        let mut t = t0;
        let mut out = Vec::new();
        for &(voiced, frames) in pattern {
            for _ in 0..frames {
                out.extend(h.push(voiced, t, F));
                t += F;
            }
        }
        out
    }

    #[test]
    fn hysteresis_needs_min_speech_and_min_silence() {
        let t0 = Instant::now();
        let mut h = Hysteresis::new(Duration::from_millis(100), Duration::from_millis(550));
        // 80 ms click: nothing.
        assert!(run(&mut h, t0, &[(false, 5), (true, 4), (false, 40)]).is_empty());
        // 400 ms speech, 300 ms pause, 200 ms speech, silence: one start, one end.
        let mut h = Hysteresis::new(Duration::from_millis(100), Duration::from_millis(550));
        let tr = run(
            &mut h,
            t0,
            &[(false, 5), (true, 20), (false, 15), (true, 10), (false, 40)],
        );
        assert_eq!(tr.len(), 2, "{tr:?}");
        assert_eq!(tr[0], Transition::Start { at: t0 + F * 5 });
        let end = t0 + F * 50;
        assert_eq!(
            tr[1],
            Transition::End {
                at: end,
                speech_duration: F * 45
            }
        );
        // A voiced frame inside the silence run restarts the count.
        let mut h = Hysteresis::new(Duration::from_millis(100), Duration::from_millis(550));
        let tr = run(
            &mut h,
            t0,
            &[(true, 10), (false, 20), (true, 1), (false, 20)],
        );
        assert_eq!(tr.len(), 1);
        assert!(h.is_speaking());
    }

    struct Scripted(VecDeque<bool>);
    impl VoiceClassifier for Scripted {
        fn is_voiced(&mut self, _: &[i16]) -> bool {
            self.0.pop_front().unwrap_or(false)
        }
    }

    #[test]
    fn vad_keeps_prefix_padding_and_dates_events() {
        let mut script = VecDeque::new();
        script.extend(std::iter::repeat_n(false, 30));
        script.extend(std::iter::repeat_n(true, 10));
        script.extend(std::iter::repeat_n(false, 30));
        let opts = VadOptions::default();
        let mut vad = Vad::with_classifier(&opts, Box::new(Scripted(script))).unwrap();
        let t0 = Instant::now();
        let mut events = Vec::new();
        // Feed 20 ms frames whose samples carry their index, in odd-sized pieces.
        let all: Vec<i16> = (0..70)
            .flat_map(|i| std::iter::repeat_n(1000 + i as i16, 320))
            .collect();
        let mut pos = 0;
        for piece in all.chunks(500) {
            pos += piece.len();
            let now = t0 + sample_time(pos);
            events.extend(vad.handle(piece, now));
        }
        let starts: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, VadEvent::SpeechStart { .. }))
            .collect();
        assert_eq!(starts.len(), 1);
        let VadEvent::SpeechStart { at, prefix } = starts[0] else {
            unreachable!()
        };
        assert_eq!(*at, t0 + F * 30);
        // 300 ms (15 frames) of padding + 5 voiced frames up to the confirmation.
        assert_eq!(prefix.samples.len(), 20 * 320);
        assert_eq!(prefix.samples[0], 1015);
        let end = events.iter().find_map(|e| match e {
            VadEvent::SpeechEnd {
                at,
                speech_duration,
            } => Some((*at, *speech_duration)),
            _ => None,
        });
        assert_eq!(end, Some((t0 + F * 40, F * 10)));
        let speech_frames = events
            .iter()
            .filter(|e| matches!(e, VadEvent::Speech { .. }))
            .count();
        // 5 voiced frames after the start + 28 silent frames until the end is decided.
        assert_eq!(speech_frames, 5 + 28);
    }

    #[test]
    fn webrtc_vad_calls_synthetic_voice_voiced_and_silence_unvoiced() {
        for mode in [
            VadMode::Quality,
            VadMode::Aggressive,
            VadMode::VeryAggressive,
        ] {
            let mut c = WebRtcClassifier::new(mode);
            let voice = synthetic_voice(VAD_RATE, Duration::from_secs(1), 1);
            let voiced = voice.chunks(320).filter(|f| c.is_voiced(f)).count();
            assert!(voiced >= 45, "{mode:?}: {voiced}/50 voiced");
            // libfvad has its own hangover of a few frames after voice; then silence is silence.
            let silence = vec![0i16; 16_000];
            let decisions: Vec<bool> = silence.chunks(320).map(|f| c.is_voiced(f)).collect();
            assert!(
                decisions[10..].iter().all(|v| !v),
                "{mode:?}: {decisions:?}"
            );
            // Quiet white-ish noise is not speech either.
            let mut x = 12345u32;
            let noise: Vec<i16> = (0..16_000)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((x >> 16) as i16) / 200
                })
                .collect();
            let noisy = noise.chunks(320).filter(|f| c.is_voiced(f)).count();
            if mode == VadMode::VeryAggressive {
                assert_eq!(noisy, 0, "{mode:?}: quiet white noise voiced {noisy}/50");
            }
        }
    }

    #[test]
    fn vad_on_real_audio_finds_one_utterance() {
        let mut vad = Vad::new(&VadOptions::default()).unwrap();
        let mut audio = vec![0i16; 8000];
        audio.extend(synthetic_voice(VAD_RATE, Duration::from_millis(800), 2));
        audio.extend(vec![0i16; 16_000]);
        let t0 = Instant::now();
        let mut events = Vec::new();
        for (i, f) in audio.chunks(320).enumerate() {
            events.extend(vad.handle(f, t0 + F * (i as u32 + 1)));
        }
        let kinds: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                VadEvent::SpeechStart { .. } => Some("start"),
                VadEvent::SpeechEnd { .. } => Some("end"),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["start", "end"]);
        if let Some(VadEvent::SpeechEnd {
            speech_duration, ..
        }) = events
            .iter()
            .find(|e| matches!(e, VadEvent::SpeechEnd { .. }))
        {
            let ms = speech_duration.as_millis();
            // The level gate removes libfvad's hangover on digital silence.
            assert!((760..=840).contains(&ms), "{ms}");
        }
    }
}
