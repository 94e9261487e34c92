//! Opus at 48 kHz mono, 20 ms frames (what LiveKit clients send and expect).

use super::frame::{AudioFrame, SampleRate, SAMPLES_PER_FRAME_48K};

#[derive(Debug, thiserror::Error)]
pub enum OpusError {
    #[error("opus: {0}")]
    Codec(#[from] opus::Error),
    #[error("opus encoder needs 48 kHz frames of {SAMPLES_PER_FRAME_48K} samples, got {got} at {rate} Hz")]
    FrameShape { got: usize, rate: u32 },
}

/// Encoder complexity (libopus default: 10, the slowest). The agent's voice is TTS speech, and
/// encoding it was the largest single CPU cost of a session. Measured on a 16 s Piper voice at
/// 32 kbit/s (`pipeline_bench`): complexity 10 costs ~195 us per 20 ms frame with PESQ-WB 4.51,
/// 5 costs ~105 us with 4.47 (inaudible); the CELT-only low-delay mode is ~4x cheaper again
/// but drops to 4.07. 5 is also what libwebrtc uses on mobile.
pub const ENCODER_COMPLEXITY: i32 = 5;

/// Encodes 20 ms 48 kHz mono frames to Opus packets.
pub struct OpusEncoder {
    inner: opus::Encoder,
    out: Vec<u8>,
}

impl OpusEncoder {
    pub fn new() -> Result<Self, OpusError> {
        Self::with_complexity(ENCODER_COMPLEXITY)
    }

    /// An encoder at another complexity (0-10), for comparisons.
    pub fn with_complexity(complexity: i32) -> Result<Self, OpusError> {
        let mut inner = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)?;
        inner.set_bitrate(opus::Bitrate::Bits(32_000))?;
        inner.set_complexity(complexity)?;
        Ok(OpusEncoder {
            inner,
            out: vec![0u8; 1500],
        })
    }

    /// Encode one frame; returns the packet bytes.
    pub fn encode(&mut self, frame: &AudioFrame) -> Result<Vec<u8>, OpusError> {
        if frame.sample_rate != SampleRate::HZ_48000 || frame.samples.len() != SAMPLES_PER_FRAME_48K
        {
            return Err(OpusError::FrameShape {
                got: frame.samples.len(),
                rate: frame.sample_rate.0,
            });
        }
        self.encode_pcm(&frame.samples)
    }

    /// Encode one 20 ms frame of 48 kHz samples (960) from any slice (no frame to build).
    pub fn encode_pcm(&mut self, samples: &[i16]) -> Result<Vec<u8>, OpusError> {
        if samples.len() != SAMPLES_PER_FRAME_48K {
            return Err(OpusError::FrameShape {
                got: samples.len(),
                rate: 48_000,
            });
        }
        let n = self.inner.encode(samples, &mut self.out)?;
        Ok(self.out[..n].to_vec())
    }
}

/// Encodes 20 ms 48 kHz stereo frames (two mono channels) to Opus packets: the interview
/// recording, candidate left and interviewer right.
pub struct StereoOpusEncoder {
    inner: opus::Encoder,
    interleaved: Vec<i16>,
    out: Vec<u8>,
}

impl StereoOpusEncoder {
    pub fn new() -> Result<Self, OpusError> {
        let mut inner =
            opus::Encoder::new(48_000, opus::Channels::Stereo, opus::Application::Voip)?;
        inner.set_bitrate(opus::Bitrate::Bits(40_000))?;
        inner.set_complexity(ENCODER_COMPLEXITY)?;
        Ok(StereoOpusEncoder {
            inner,
            interleaved: vec![0; SAMPLES_PER_FRAME_48K * 2],
            out: vec![0u8; 1500],
        })
    }

    /// Encode 960 samples of each channel; returns the packet bytes.
    pub fn encode(&mut self, left: &[i16], right: &[i16]) -> Result<Vec<u8>, OpusError> {
        if left.len() != SAMPLES_PER_FRAME_48K || right.len() != SAMPLES_PER_FRAME_48K {
            return Err(OpusError::FrameShape {
                got: left.len().min(right.len()),
                rate: 48_000,
            });
        }
        for (i, (l, r)) in left.iter().zip(right).enumerate() {
            self.interleaved[2 * i] = *l;
            self.interleaved[2 * i + 1] = *r;
        }
        let n = self.inner.encode(&self.interleaved, &mut self.out)?;
        Ok(self.out[..n].to_vec())
    }
}

/// Decodes Opus packets (mono or stereo, any frame size) to 48 kHz mono frames.
pub struct OpusDecoder {
    inner: opus::Decoder,
    pcm: Vec<i16>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, OpusError> {
        Ok(OpusDecoder {
            // Decoding to mono downmixes stereo streams inside libopus.
            inner: opus::Decoder::new(48_000, opus::Channels::Mono)?,
            pcm: vec![0i16; 5760], // 120 ms, the largest Opus frame
        })
    }

    pub fn decode(&mut self, packet: &[u8]) -> Result<AudioFrame, OpusError> {
        let n = self.inner.decode(packet, &mut self.pcm, false)?;
        Ok(AudioFrame::new(&self.pcm[..n], SampleRate::HZ_48000))
    }

    /// Packet-loss concealment for one missing 20 ms frame.
    pub fn conceal(&mut self) -> Result<AudioFrame, OpusError> {
        let n = self
            .inner
            .decode(&[], &mut self.pcm[..SAMPLES_PER_FRAME_48K], false)?;
        Ok(AudioFrame::new(&self.pcm[..n], SampleRate::HZ_48000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_a_tone() {
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let mut energy_in = 0f64;
        let mut energy_out = 0f64;
        for k in 0..25 {
            let samples: Vec<i16> = (0..960)
                .map(|i| {
                    let t = (k * 960 + i) as f64 / 48_000.0;
                    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect();
            let frame = AudioFrame::new(samples, SampleRate::HZ_48000);
            let packet = enc.encode(&frame).unwrap();
            assert!(!packet.is_empty() && packet.len() < 400);
            let out = dec.decode(&packet).unwrap();
            assert_eq!(out.samples.len(), 960);
            if k > 5 {
                energy_in += frame
                    .samples
                    .iter()
                    .map(|&s| (s as f64).powi(2))
                    .sum::<f64>();
                energy_out += out.samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
            }
        }
        let ratio = energy_out / energy_in;
        assert!(ratio > 0.5 && ratio < 1.5, "energy ratio {ratio}");
    }

    #[test]
    fn wrong_frame_shape_is_an_error() {
        let mut enc = OpusEncoder::new().unwrap();
        let bad = AudioFrame::new(vec![0i16; 320], SampleRate::HZ_16000);
        assert!(matches!(
            enc.encode(&bad),
            Err(OpusError::FrameShape { .. })
        ));
    }
}
