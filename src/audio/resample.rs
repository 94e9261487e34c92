//! Streaming mono resampler (rubato 5, FFT, synchronous ratio) that keeps its filter state for
//! the whole stream. Restarting a resampler per chunk produces clicks at every boundary (the
//! classic "crackle" of 24 kHz TTS played at 48 kHz), so one [`StreamResampler`] lives as long
//! as its audio stream: it accepts chunks of any length, emits output as soon as a 10 ms block
//! is complete, trims the filter's start-up delay so output stays aligned with input, and
//! [`StreamResampler::flush`] drains the tail at the end of the stream.

use std::time::Duration;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::frame::SampleRate;

/// Errors of the resampling layer. None of them is retryable: they are configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample {from} Hz -> {to} Hz: {message}")]
    Unsupported { from: u32, to: u32, message: String },
    #[error("resampler failed: {0}")]
    Process(String),
}

impl ResampleError {
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Input block processed at once: 10 ms keeps the added latency small.
const BLOCK: Duration = Duration::from_millis(10);

/// A mono i16 resampler with per-stream state. Passes audio through untouched when both rates
/// are equal.
pub struct StreamResampler {
    from: SampleRate,
    to: SampleRate,
    inner: Option<Fft<f32>>,
    /// Input samples waiting for a complete block.
    pending: Vec<f32>,
    out_block: Vec<f32>,
    /// Output samples still to drop (the filter's start-up delay).
    to_trim: usize,
    /// Totals, so `flush` emits exactly `ceil(in * ratio)` samples.
    total_in: u64,
    total_out: u64,
}

impl StreamResampler {
    pub fn new(from: SampleRate, to: SampleRate) -> Result<Self, ResampleError> {
        if from.0 == 0 || to.0 == 0 {
            return Err(ResampleError::Unsupported {
                from: from.0,
                to: to.0,
                message: "sample rates must be positive".into(),
            });
        }
        let inner = if from == to {
            None
        } else {
            let block = from.samples_in(BLOCK).max(1);
            let fft = Fft::<f32>::new(from.0 as usize, to.0 as usize, block, 1, FixedSync::Both)
                .map_err(|e| ResampleError::Unsupported {
                    from: from.0,
                    to: to.0,
                    message: e.to_string(),
                })?;
            Some(fft)
        };
        let (out_len, to_trim) = inner
            .as_ref()
            .map(|r| (r.output_frames_max(), r.output_delay()))
            .unwrap_or((0, 0));
        Ok(StreamResampler {
            from,
            to,
            inner,
            pending: Vec::new(),
            out_block: vec![0.0; out_len],
            to_trim,
            total_in: 0,
            total_out: 0,
        })
    }

    pub fn input_rate(&self) -> SampleRate {
        self.from
    }

    pub fn output_rate(&self) -> SampleRate {
        self.to
    }

    /// Algorithmic latency: how long input waits before its output appears (block + filter).
    pub fn latency(&self) -> Duration {
        match &self.inner {
            None => Duration::ZERO,
            Some(r) => {
                BLOCK
                    + Duration::from_micros(r.output_delay() as u64 * 1_000_000 / self.to.0 as u64)
            }
        }
    }

    /// Feed any number of samples; returns the output that is ready now.
    pub fn process(&mut self, input: &[i16]) -> Vec<i16> {
        let mut out =
            Vec::with_capacity(input.len() * self.to.0 as usize / self.from.0 as usize + 8);
        self.process_into(input, &mut out);
        out
    }

    /// Like [`StreamResampler::process`], appending to `out`.
    pub fn process_into(&mut self, input: &[i16], out: &mut Vec<i16>) {
        self.total_in += input.len() as u64;
        if self.inner.is_none() {
            out.extend_from_slice(input);
            self.total_out += input.len() as u64;
            return;
        }
        self.pending
            .extend(input.iter().map(|&s| s as f32 / 32768.0));
        let mut consumed = 0;
        loop {
            let need = match &self.inner {
                Some(r) => r.input_frames_next(),
                None => return,
            };
            if self.pending.len() - consumed < need {
                break;
            }
            self.run_block(consumed, None, out);
            consumed += need;
        }
        self.pending.drain(..consumed);
    }

    /// End of stream: push the buffered input and the filter tail through, so that in total
    /// `ceil(input * ratio)` samples have been produced. The resampler is then reset and can
    /// start a new stream.
    pub fn flush(&mut self) -> Vec<i16> {
        let mut out = Vec::new();
        if self.inner.is_none() {
            return out;
        }
        let ratio = self.to.0 as f64 / self.from.0 as f64;
        let expected = (self.total_in as f64 * ratio).ceil() as u64;
        let mut partial = self.pending.len();
        let mut guard = 0;
        while self.total_out < expected && guard < 64 {
            self.run_block(0, Some(partial), &mut out);
            self.pending.clear();
            partial = 0;
            guard += 1;
        }
        let excess = (self.total_out.saturating_sub(expected)) as usize;
        out.truncate(out.len().saturating_sub(excess));
        self.reset();
        out
    }

    /// Forget all state (start of a new, unrelated stream).
    pub fn reset(&mut self) {
        if let Some(r) = self.inner.as_mut() {
            r.reset();
            self.to_trim = r.output_delay();
        }
        self.pending.clear();
        self.total_in = 0;
        self.total_out = 0;
    }

    /// Resample one block starting at `offset` in `pending` (or a partial/zero block).
    fn run_block(&mut self, offset: usize, partial: Option<usize>, out: &mut Vec<i16>) {
        let Some(r) = self.inner.as_mut() else {
            return;
        };
        let need = r.input_frames_next();
        // A partial block is read from a zero-padded copy so the adapter always sees `need`.
        let padded;
        let input: &[f32] = match partial {
            None => &self.pending[offset..offset + need],
            Some(n) => {
                let mut v = vec![0.0f32; need];
                v[..n].copy_from_slice(&self.pending[..n]);
                padded = v;
                &padded
            }
        };
        let out_len = self.out_block.len();
        let (Ok(adapter_in), Ok(mut adapter_out)) = (
            InterleavedSlice::new(input, 1, need),
            InterleavedSlice::new_mut(&mut self.out_block, 1, out_len),
        ) else {
            return;
        };
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let produced = match r.process_into_buffer(&adapter_in, &mut adapter_out, indexing.as_ref())
        {
            Ok((_, produced)) => produced,
            Err(e) => {
                tracing::warn!(error = %e, "resampler block failed; emitting silence");
                self.out_block.iter_mut().for_each(|s| *s = 0.0);
                r.output_frames_next()
            }
        };
        let trim = self.to_trim.min(produced);
        self.to_trim -= trim;
        let kept = &self.out_block[trim..produced];
        self.total_out += kept.len() as u64;
        out.extend(kept.iter().map(|&s| to_i16(s)));
    }
}

fn to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn tone(rate: SampleRate, hz: f64, secs: f64, amp: f64) -> Vec<i16> {
        let n = (rate.0 as f64 * secs) as usize;
        (0..n)
            .map(|i| (amp * 32767.0 * (2.0 * PI * hz * i as f64 / rate.0 as f64).sin()) as i16)
            .collect()
    }

    /// Frequency by zero crossings and RMS level, ignoring the first and last 50 ms.
    fn analyse(x: &[i16], rate: SampleRate) -> (f64, f64) {
        let skip = rate.samples_in(Duration::from_millis(50));
        let x = &x[skip..x.len() - skip];
        let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let secs = x.len() as f64 / rate.0 as f64;
        let rms = (x.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        (crossings as f64 / 2.0 / secs, rms / 32767.0)
    }

    fn run_chunked(r: &mut StreamResampler, x: &[i16], sizes: &[usize]) -> Vec<i16> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut k = 0;
        while i < x.len() {
            let n = sizes[k % sizes.len()].min(x.len() - i);
            out.extend(r.process(&x[i..i + n]));
            i += n;
            k += 1;
        }
        out.extend(r.flush());
        out
    }

    fn check_direction(from: SampleRate, to: SampleRate) {
        let x = tone(from, 440.0, 1.0, 0.5);
        let mut r = StreamResampler::new(from, to).unwrap();
        let whole = run_chunked(&mut r, &x, &[x.len()]);
        let expected = (x.len() as u64 * to.0 as u64).div_ceil(from.0 as u64) as usize;
        assert_eq!(whole.len(), expected);
        let (f, level) = analyse(&whole, to);
        assert!((f - 440.0).abs() < 2.0, "frequency {f}");
        let (_, level_in) = analyse(&x, from);
        assert!(
            (level - level_in).abs() < 0.01,
            "level {level} vs {level_in}"
        );
        // Odd chunk sizes (including 1 sample and sizes that are not a block multiple) must
        // produce exactly the same samples: state is carried across chunks.
        for sizes in [&[1usize, 7, 333][..], &[960], &[480, 17], &[4801]] {
            let chunked = run_chunked(&mut r, &x, sizes);
            assert_eq!(chunked.len(), whole.len(), "{sizes:?}");
            let max_diff = chunked
                .iter()
                .zip(&whole)
                .map(|(a, b)| (*a as i32 - *b as i32).abs())
                .max()
                .unwrap();
            assert!(
                max_diff <= 1,
                "chunking {sizes:?} changed the output by {max_diff}"
            );
        }
        // No clicks: sample-to-sample steps never exceed what a 440 Hz sine can do.
        let max_step = whole[10..whole.len() - 10]
            .windows(2)
            .map(|w| (w[1] as i32 - w[0] as i32).abs())
            .max()
            .unwrap();
        let bound = 0.5 * 32767.0 * 2.0 * PI * 440.0 / to.0 as f64 * 1.1;
        assert!((max_step as f64) < bound, "step {max_step} >= {bound}");
    }

    #[test]
    fn down_48k_to_16k_keeps_frequency_level_and_is_chunk_independent() {
        check_direction(SampleRate::HZ_48000, SampleRate::HZ_16000);
    }

    #[test]
    fn up_24k_to_48k_keeps_frequency_level_and_is_chunk_independent() {
        check_direction(SampleRate::HZ_24000, SampleRate::HZ_48000);
    }

    #[test]
    fn output_comes_out_as_soon_as_a_block_is_complete() {
        let mut r = StreamResampler::new(SampleRate::HZ_48000, SampleRate::HZ_16000).unwrap();
        assert!(r.latency() < Duration::from_millis(30), "{:?}", r.latency());
        let x = tone(SampleRate::HZ_48000, 440.0, 0.2, 0.5);
        let mut total = 0;
        for chunk in x.chunks(960) {
            total += r.process(chunk).len();
        }
        // 200 ms in: all but the filter delay is out already.
        assert!(
            total >= 3200 - SampleRate::HZ_16000.samples_in(r.latency()),
            "{total}"
        );
        let same = StreamResampler::new(SampleRate::HZ_16000, SampleRate::HZ_16000)
            .unwrap()
            .process(&x);
        assert_eq!(same, x);
    }
}
