//! Byte-level PCM helpers for HTTP audio: decoding streamed s16le bytes that may split a
//! sample across chunks, cutting a sample stream into fixed frames, and writing a WAV file in
//! memory for upload.

use std::time::Duration;

use crate::audio::{AudioFrame, SampleRate};

/// s16le bytes -> samples, carrying an odd trailing byte over to the next chunk.
#[derive(Debug, Default)]
pub struct PcmDecoder {
    carry: Option<u8>,
}

impl PcmDecoder {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<i16> {
        let mut out = Vec::with_capacity(bytes.len() / 2 + 1);
        let mut rest = bytes;
        if let Some(lo) = self.carry.take() {
            match rest.split_first() {
                Some((&hi, tail)) => {
                    out.push(i16::from_le_bytes([lo, hi]));
                    rest = tail;
                }
                None => {
                    self.carry = Some(lo);
                    return out;
                }
            }
        }
        let mut pairs = rest.chunks_exact(2);
        out.extend(pairs.by_ref().map(|p| i16::from_le_bytes([p[0], p[1]])));
        self.carry = pairs.remainder().first().copied();
        out
    }

    /// True if a half sample is pending (a truncated stream when it is over).
    pub fn has_partial(&self) -> bool {
        self.carry.is_some()
    }
}

/// Cuts samples into frames of `frame` duration at `rate`.
#[derive(Debug)]
pub struct Framer {
    rate: SampleRate,
    len: usize,
    buf: Vec<i16>,
}

impl Framer {
    pub fn new(rate: SampleRate, frame: Duration) -> Self {
        let len = rate.samples_in(frame).max(1);
        Framer {
            rate,
            len,
            buf: Vec::with_capacity(len),
        }
    }

    pub fn push(&mut self, samples: &[i16], out: &mut Vec<AudioFrame>) {
        let mut input = samples;
        while !input.is_empty() {
            let take = (self.len - self.buf.len()).min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.buf.len() == self.len {
                let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.len));
                out.push(AudioFrame::new(full, self.rate));
            }
        }
    }

    /// The last partial frame, zero-padded to full length.
    pub fn flush(&mut self) -> Option<AudioFrame> {
        if self.buf.is_empty() {
            return None;
        }
        let mut last = std::mem::take(&mut self.buf);
        last.resize(self.len, 0);
        Some(AudioFrame::new(last, self.rate))
    }
}

/// A complete RIFF/WAVE file (PCM s16le mono) in memory.
pub fn wav_bytes(frame: &AudioFrame) -> Vec<u8> {
    let data_len = (frame.samples.len() * 2) as u32;
    let rate = frame.sample_rate.0;
    let mut v = Vec::with_capacity(44 + data_len as usize);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&1u16.to_le_bytes()); // mono
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    v.extend_from_slice(&2u16.to_le_bytes()); // block align
    v.extend_from_slice(&16u16.to_le_bytes()); // bits
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    for s in frame.samples.iter() {
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}

/// The samples of a 16-bit PCM WAV file (first channel), at `rate` (resampled if the file has
/// another): the benchmarks' spoken inputs. Errors name the file.
pub fn read_wav(path: &std::path::Path, rate: SampleRate) -> Result<Vec<i16>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
    let (from, samples) = parse_wav(&bytes).map_err(|e| format!("{shown}: {e}"))?;
    let out = if from == rate.0 {
        samples
    } else {
        let mut r = crate::audio::StreamResampler::new(SampleRate(from), rate)
            .map_err(|e| format!("{shown}: {e}"))?;
        let mut out = r.process(&samples);
        out.extend(r.flush());
        out
    };
    if out.is_empty() {
        return Err(format!("{shown}: no samples"));
    }
    Ok(out)
}

/// (sample rate, samples of the first channel) of a 16-bit PCM WAV (RIFF) file: for the
/// benchmarks' spoken inputs.
pub fn parse_wav(b: &[u8]) -> Result<(u32, Vec<i16>), String> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err("not a WAV file".into());
    }
    let (mut rate, mut channels, mut bits) = (0u32, 0u16, 0u16);
    let mut i = 12;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        let body = &b[i + 8..(i + 8 + len).min(b.len())];
        match id {
            b"fmt " if body.len() >= 16 => {
                channels = u16::from_le_bytes([body[2], body[3]]);
                rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                bits = u16::from_le_bytes([body[14], body[15]]);
            }
            b"data" => {
                if bits != 16 || channels == 0 {
                    return Err(format!(
                        "only 16-bit PCM is read (got {bits} bits, {channels} channels)"
                    ));
                }
                let samples: Vec<i16> = body
                    .chunks_exact(2 * channels as usize)
                    .map(|f| i16::from_le_bytes([f[0], f[1]]))
                    .collect();
                return Ok((rate, samples));
            }
            _ => {}
        }
        i += 8 + len + (len & 1);
    }
    Err("no data chunk".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_written_here_reads_back_and_garbage_is_refused() {
        let frame = AudioFrame::new(
            (0..480).map(|i| (i * 61 - 9000) as i16).collect::<Vec<_>>(),
            SampleRate::HZ_24000,
        );
        let (rate, samples) = parse_wav(&wav_bytes(&frame)).unwrap();
        assert_eq!(rate, 24_000);
        assert_eq!(samples, frame.samples.to_vec());
        assert!(parse_wav(b"RIFF\0\0\0\0WAVEjunk").is_err());
        assert!(parse_wav(b"not a wav").is_err());
    }

    #[test]
    fn read_wav_resamples_to_the_asked_rate_and_names_a_bad_file() {
        let path = std::env::temp_dir().join(format!("pcm-read-wav-{}.wav", std::process::id()));
        let frame = AudioFrame::new(vec![1000i16; 4800], SampleRate::HZ_48000);
        std::fs::write(&path, wav_bytes(&frame)).unwrap();
        assert_eq!(read_wav(&path, SampleRate::HZ_48000).unwrap().len(), 4800);
        assert_eq!(read_wav(&path, SampleRate::HZ_24000).unwrap().len(), 2400);
        std::fs::write(&path, b"nonsense").unwrap();
        let err = read_wav(&path, SampleRate::HZ_24000).unwrap_err();
        assert!(
            err.contains("pcm-read-wav") && err.contains("not a WAV"),
            "{err}"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn odd_byte_splits_decode_exactly() {
        let samples: Vec<i16> = (0..1000).map(|i| (i * 37 - 20000) as i16).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        for split in [1usize, 3, 7, 999] {
            let mut d = PcmDecoder::default();
            let mut out = Vec::new();
            for chunk in bytes.chunks(split) {
                out.extend(d.push(chunk));
            }
            assert_eq!(out, samples, "split {split}");
            assert!(!d.has_partial());
        }
    }

    #[test]
    fn framer_pads_the_last_frame() {
        let mut f = Framer::new(SampleRate::HZ_48000, Duration::from_millis(20));
        let mut out = Vec::new();
        f.push(&vec![1i16; 2000], &mut out);
        assert_eq!(out.len(), 2);
        let last = f.flush().unwrap();
        assert_eq!(last.samples.len(), 960);
        assert_eq!(last.samples[79], 1);
        assert_eq!(last.samples[80], 0);
        assert!(f.flush().is_none());
    }

    #[test]
    fn wav_header() {
        let w = wav_bytes(&AudioFrame::new(vec![1i16, -1], SampleRate::HZ_16000));
        assert_eq!(w.len(), 48);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([w[24], w[25], w[26], w[27]]), 16_000);
        assert_eq!(&w[44..], &[1, 0, 255, 255]);
    }
}
