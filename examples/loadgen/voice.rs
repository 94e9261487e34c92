//! The candidate's voice, encoded once and shared by every simulated candidate: a spoken WAV
//! (16-bit PCM, any rate, mono or stereo) or, without one, a synthetic voice that the agent's
//! VAD takes for speech. Plus one packet of encoded silence for the pauses.

use std::time::Duration;

use bytes::Bytes;
use interview_agent::audio::vad::synthetic_voice;
use interview_agent::audio::{OpusEncoder, SampleRate, SAMPLES_PER_FRAME_48K};
use interview_agent::providers::pcm::read_wav;

pub struct Voice {
    /// 20 ms Opus packets of one answer.
    pub answer: Vec<Bytes>,
    pub silence: Bytes,
}

impl Voice {
    pub fn load(wav: Option<&str>, seconds: f64) -> Result<Voice, String> {
        let pcm = match wav {
            Some(path) => {
                let mut pcm = read_wav(std::path::Path::new(path), SampleRate::HZ_48000)?;
                // A whole answer of `seconds`: the recording, looped.
                let want = (seconds * 48_000.0) as usize;
                let one = pcm.clone();
                while pcm.len() < want {
                    pcm.extend_from_slice(&one);
                }
                pcm.truncate(want);
                pcm
            }
            None => synthetic_voice(SampleRate::HZ_48000, Duration::from_secs_f64(seconds), 7),
        };
        let mut enc = OpusEncoder::new().map_err(|e| e.to_string())?;
        let answer = pcm
            .chunks_exact(SAMPLES_PER_FRAME_48K)
            .map(|c| enc.encode_pcm(c).map(Bytes::from))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let mut enc = OpusEncoder::new().map_err(|e| e.to_string())?;
        let silence = Bytes::from(
            enc.encode_pcm(&[0; SAMPLES_PER_FRAME_48K])
                .map_err(|e| e.to_string())?,
        );
        Ok(Voice { answer, silence })
    }
}
