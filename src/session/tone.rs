//! A sine-tone generator in 20 ms frames (media checks and tests).

use crate::audio::{AudioFrame, SampleRate, SAMPLES_PER_FRAME_48K};

pub struct Tone {
    freq_hz: f64,
    amplitude: f64,
    n: u64,
}

impl Tone {
    /// `level_dbfs` is the peak level, e.g. -12.0.
    pub fn new(freq_hz: f64, level_dbfs: f64) -> Self {
        Tone {
            freq_hz,
            amplitude: 32767.0 * 10f64.powf(level_dbfs / 20.0),
            n: 0,
        }
    }

    pub fn next_frame(&mut self) -> AudioFrame {
        let rate = SampleRate::HZ_48000.0 as f64;
        let samples: Vec<i16> = (0..SAMPLES_PER_FRAME_48K)
            .map(|i| {
                let t = (self.n + i as u64) as f64 / rate;
                (self.amplitude * (2.0 * std::f64::consts::PI * self.freq_hz * t).sin()) as i16
            })
            .collect();
        self.n += SAMPLES_PER_FRAME_48K as u64;
        AudioFrame::new(samples, SampleRate::HZ_48000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_is_continuous_across_frames() {
        let mut t = Tone::new(1000.0, -6.0);
        let a = t.next_frame();
        let b = t.next_frame();
        // 1 kHz at 48 kHz: 48 samples per period, 960 = 20 whole periods, so b repeats a.
        assert_eq!(a.samples, b.samples);
        assert!((a.rms_dbfs() - (-9.0)).abs() < 0.2, "{}", a.rms_dbfs());
    }
}
