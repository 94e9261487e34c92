//! Guards against Whisper hallucinations: never send near-silence to STT (too little audio
//! above a speech level, or very low overall energy), and drop what Whisper invents on silence
//! (segments with a high `no_speech_prob`; whole transcripts that are known artefacts such as
//! "Thank you." or "Thanks for watching").

use std::time::Duration;

use crate::audio::{AudioFrame, FRAME_DURATION};

#[derive(Debug, Clone)]
pub struct SttFilterOptions {
    /// Audio frames (20 ms) louder than this count as speech-like.
    pub speech_level_dbfs: f32,
    /// Less speech-like audio than this: do not transcribe.
    pub min_speech_audio: Duration,
    /// Whole-clip RMS below this: do not transcribe.
    pub min_rms_dbfs: f32,
    /// Segments more likely silence than this are dropped.
    pub max_no_speech_prob: f32,
    /// Normalized (lower case, letters/digits/spaces only) whole transcripts to drop.
    pub artefacts: Vec<String>,
}

impl Default for SttFilterOptions {
    fn default() -> Self {
        SttFilterOptions {
            speech_level_dbfs: -45.0,
            min_speech_audio: Duration::from_millis(200),
            min_rms_dbfs: -55.0,
            max_no_speech_prob: 0.6,
            artefacts: [
                "thank you",
                "thank you very much",
                "thanks for watching",
                "thank you for watching",
                "thanks for watching and see you next time",
                "please subscribe",
                "like and subscribe",
                "you",
                "bye",
                "subtitles by the amaraorg community",
                "transcribed by",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

/// Why audio was not worth transcribing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rejection {
    TooLittleSpeech { speech_like: Duration },
    TooQuiet { rms_dbfs: f32 },
}

/// Check the audio before calling STT.
pub fn check_audio(audio: &AudioFrame, opts: &SttFilterOptions) -> Result<(), Rejection> {
    let rms = audio.rms_dbfs();
    if rms < opts.min_rms_dbfs {
        return Err(Rejection::TooQuiet { rms_dbfs: rms });
    }
    let per = audio.sample_rate.samples_in(FRAME_DURATION).max(1);
    let loud = audio
        .samples
        .chunks(per)
        .filter(|c| {
            AudioFrame::new(c.to_vec(), audio.sample_rate).rms_dbfs() >= opts.speech_level_dbfs
        })
        .count() as u32;
    let speech_like = FRAME_DURATION * loud;
    if speech_like < opts.min_speech_audio {
        return Err(Rejection::TooLittleSpeech { speech_like });
    }
    Ok(())
}

/// One Whisper segment as reported by `verbose_json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub text: String,
    pub no_speech_prob: Option<f32>,
}

/// Join the segments that are likely speech; then drop the whole text if it is an artefact.
pub fn clean_transcript(
    full_text: &str,
    segments: &[Segment],
    opts: &SttFilterOptions,
) -> (String, Option<f32>) {
    let (text, worst) = if segments.is_empty() {
        (full_text.trim().to_string(), None)
    } else {
        let kept: Vec<&Segment> = segments
            .iter()
            .filter(|s| {
                s.no_speech_prob
                    .is_none_or(|p| p <= opts.max_no_speech_prob)
            })
            .collect();
        let worst = kept
            .iter()
            .filter_map(|s| s.no_speech_prob)
            .fold(None, |m: Option<f32>, p| Some(m.map_or(p, |m| m.max(p))));
        let text = kept
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (text, worst)
    };
    if is_artefact(&text, opts) {
        return (String::new(), worst);
    }
    (text, worst)
}

pub fn is_artefact(text: &str, opts: &SttFilterOptions) -> bool {
    let norm: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    norm.is_empty() || opts.artefacts.contains(&norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::vad::synthetic_voice;
    use crate::audio::SampleRate;

    #[test]
    fn near_silence_is_not_transcribed() {
        let o = SttFilterOptions::default();
        let silence = AudioFrame::silence(SampleRate::HZ_16000, Duration::from_secs(1));
        assert!(matches!(
            check_audio(&silence, &o),
            Err(Rejection::TooQuiet { .. })
        ));
        // 100 ms of voice in 2 s of silence: loud enough overall? No: too little speech.
        let mut x = synthetic_voice(SampleRate::HZ_16000, Duration::from_millis(100), 1);
        x.extend(vec![0i16; 32_000]);
        assert!(check_audio(&AudioFrame::new(x, SampleRate::HZ_16000), &o).is_err());
        let voice = synthetic_voice(SampleRate::HZ_16000, Duration::from_millis(800), 1);
        assert_eq!(
            check_audio(&AudioFrame::new(voice, SampleRate::HZ_16000), &o),
            Ok(())
        );
    }

    #[test]
    fn drops_no_speech_segments_and_artefacts() {
        let o = SttFilterOptions::default();
        let seg = |t: &str, p| Segment {
            text: t.into(),
            no_speech_prob: Some(p),
        };
        let (t, worst) = clean_transcript(
            "x",
            &[seg(" I used Rust.", 0.1), seg(" Thank you.", 0.9)],
            &o,
        );
        assert_eq!(t, "I used Rust.");
        assert_eq!(worst, Some(0.1));
        assert_eq!(clean_transcript("Thank you.", &[], &o).0, "");
        assert_eq!(clean_transcript(" Thanks for watching!", &[], &o).0, "");
        assert_eq!(clean_transcript("you", &[], &o).0, "");
        assert_eq!(
            clean_transcript("Thank you for the question.", &[], &o).0,
            "Thank you for the question."
        );
    }
}
