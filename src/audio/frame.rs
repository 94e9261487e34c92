//! Mono 16-bit PCM frames with their sample rate as a type, not a bare integer.

use std::sync::Arc;
use std::time::Duration;

/// A sample rate in Hz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SampleRate(pub u32);

impl SampleRate {
    pub const HZ_48000: SampleRate = SampleRate(48_000);
    pub const HZ_24000: SampleRate = SampleRate(24_000);
    pub const HZ_16000: SampleRate = SampleRate(16_000);

    /// Samples in `d` at this rate.
    pub fn samples_in(self, d: Duration) -> usize {
        (self.0 as u128 * d.as_micros() / 1_000_000) as usize
    }
}

/// The frame duration used on the wire and in the pipeline.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Samples in one 20 ms frame at 48 kHz.
pub const SAMPLES_PER_FRAME_48K: usize = 960;

/// One chunk of mono PCM. Samples are shared (`Arc`) so fan-out costs no copy.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFrame {
    pub samples: Arc<[i16]>,
    pub sample_rate: SampleRate,
}

impl AudioFrame {
    pub fn new(samples: impl Into<Arc<[i16]>>, sample_rate: SampleRate) -> Self {
        AudioFrame {
            samples: samples.into(),
            sample_rate,
        }
    }

    pub fn silence(sample_rate: SampleRate, duration: Duration) -> Self {
        AudioFrame::new(vec![0i16; sample_rate.samples_in(duration)], sample_rate)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / self.sample_rate.0 as u64)
    }

    /// Root-mean-square level in dBFS (-inf for digital silence is clamped to -120).
    pub fn rms_dbfs(&self) -> f32 {
        if self.samples.is_empty() {
            return -120.0;
        }
        let sum: f64 = self.samples.iter().map(|&s| (s as f64) * (s as f64)).sum();
        let rms = (sum / self.samples.len() as f64).sqrt() / 32768.0;
        if rms <= 1e-6 {
            -120.0
        } else {
            (20.0 * rms.log10()) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_levels() {
        assert_eq!(
            SampleRate::HZ_48000.samples_in(FRAME_DURATION),
            SAMPLES_PER_FRAME_48K
        );
        assert_eq!(SampleRate::HZ_16000.samples_in(FRAME_DURATION), 320);
        let f = AudioFrame::silence(SampleRate::HZ_48000, FRAME_DURATION);
        assert_eq!(f.duration(), FRAME_DURATION);
        assert_eq!(f.rms_dbfs(), -120.0);
        let full: Vec<i16> = (0..960)
            .map(|i| if i % 2 == 0 { 32767 } else { -32767 })
            .collect();
        let level = AudioFrame::new(full, SampleRate::HZ_48000).rms_dbfs();
        assert!(level > -0.1 && level <= 0.0, "{level}");
    }
}
