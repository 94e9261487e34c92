//! The interview's audio recording: the candidate (left) and the interviewer (right) as one
//! stereo Ogg/Opus file next to the spool (`<key>.ogg`), written as the interview goes: one
//! page a second, handed to the OS at once, so a crash (kill -9) keeps what was recorded up to
//! the last second (the spool's delivery uploads the complete pages; see `audio::ogg`).
//!
//! Each side's frames come through a [`Tap`] (a small bounded queue; when the recorder falls
//! behind, new frames are DROPPED and counted: the call never waits for the recording). A 20 ms
//! clock takes what each side sent since the last tick (silence for a side that sent
//! nothing), so the two channels stay in step with real time.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::audio::ogg::OggOpusWriter;
use crate::audio::{
    AudioFrame, SampleRate, StereoOpusEncoder, FRAME_DURATION, SAMPLES_PER_FRAME_48K,
};

/// Frames a side may queue before new ones are dropped (one second).
const TAP_FRAMES: usize = 50;
/// Samples a side may buffer ahead of the clock (jitter) before the oldest are dropped.
const MAX_AHEAD: usize = SAMPLES_PER_FRAME_48K * 10;
/// One Ogg page a second.
const PACKETS_PER_PAGE: usize = 50;

/// One side's way into the recording. Cheap to clone.
#[derive(Clone)]
pub struct Tap {
    tx: mpsc::Sender<AudioFrame>,
    dropped: Arc<AtomicU64>,
}

impl Tap {
    /// Hand a frame to the recorder without waiting (dropped and counted when it is behind).
    pub fn send(&self, frame: &AudioFrame) {
        if frame.sample_rate != SampleRate::HZ_48000 {
            return;
        }
        if self.tx.try_send(frame.clone()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Where a side's frames go once a recording starts: set once (after the media is already
/// flowing), read lock-free for every frame.
pub type TapSlot = Arc<std::sync::OnceLock<Tap>>;

/// Hand `frame` to the recording through `slot`, if one was started.
pub fn tap_frame(slot: &TapSlot, frame: &AudioFrame) {
    if let Some(tap) = slot.get() {
        tap.send(frame);
    }
}

/// A recording in progress.
pub struct Recording {
    pub candidate: Tap,
    pub interviewer: Tap,
    pub path: PathBuf,
    stop: mpsc::Sender<()>,
    task: JoinHandle<std::io::Result<Duration>>,
}

impl Recording {
    /// Start recording into `path` (created or truncated).
    pub fn start(path: &Path) -> std::io::Result<Recording> {
        let file = std::fs::File::create(path)?;
        let serial = rand::random::<u32>();
        let writer = OggOpusWriter::new(file, 2, serial, PACKETS_PER_PAGE)?;
        let encoder = StereoOpusEncoder::new().map_err(std::io::Error::other)?;
        let dropped = Arc::new(AtomicU64::new(0));
        let (ctx, crx) = mpsc::channel(TAP_FRAMES);
        let (itx, irx) = mpsc::channel(TAP_FRAMES);
        let (stop, stop_rx) = mpsc::channel(1);
        let task = tokio::spawn(run(writer, encoder, crx, irx, stop_rx, dropped.clone()));
        Ok(Recording {
            candidate: Tap {
                tx: ctx,
                dropped: dropped.clone(),
            },
            interviewer: Tap { tx: itx, dropped },
            path: path.to_path_buf(),
            stop,
            task,
        })
    }

    /// Stop and finish the file; the recorded duration.
    pub async fn finish(self) -> std::io::Result<Duration> {
        let _ = self.stop.send(()).await;
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// Samples of one side waiting for the clock.
#[derive(Default)]
struct Side {
    buf: VecDeque<i16>,
}

impl Side {
    fn push(&mut self, frame: &AudioFrame) {
        self.buf.extend(frame.samples.iter());
        let over = self.buf.len().saturating_sub(MAX_AHEAD);
        self.buf.drain(..over);
    }

    /// The next 20 ms (silence where nothing arrived).
    fn take(&mut self, out: &mut [i16]) {
        let n = out.len().min(self.buf.len());
        for (o, s) in out.iter_mut().zip(self.buf.drain(..n)) {
            *o = s;
        }
        out[n..].fill(0);
    }
}

async fn run(
    mut writer: OggOpusWriter<std::fs::File>,
    mut encoder: StereoOpusEncoder,
    mut candidate: mpsc::Receiver<AudioFrame>,
    mut interviewer: mpsc::Receiver<AudioFrame>,
    mut stop: mpsc::Receiver<()>,
    dropped: Arc<AtomicU64>,
) -> std::io::Result<Duration> {
    let (mut left, mut right) = (Side::default(), Side::default());
    let (mut l, mut r) = (
        vec![0i16; SAMPLES_PER_FRAME_48K],
        vec![0i16; SAMPLES_PER_FRAME_48K],
    );
    let mut clock = tokio::time::interval(FRAME_DURATION);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut failed: Option<std::io::Error> = None;
    loop {
        tokio::select! {
            biased;
            _ = stop.recv() => break,
            Some(f) = candidate.recv() => left.push(&f),
            Some(f) = interviewer.recv() => right.push(&f),
            _ = clock.tick() => {
                left.take(&mut l);
                right.take(&mut r);
                let packet = match encoder.encode(&l, &r) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!("recording: encoding failed: {e}");
                        continue;
                    }
                };
                if let Err(e) = writer.packet(packet) {
                    // A full disk must not end the interview: stop recording, keep going.
                    tracing::error!("recording stopped: {e}");
                    failed = Some(e);
                    break;
                }
            }
        }
    }
    let duration = writer.duration();
    let lost = dropped.load(Ordering::Relaxed);
    if lost > 0 {
        tracing::warn!(
            frames = lost,
            "recording: frames dropped (the recorder fell behind)"
        );
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let file = writer.finish()?;
    file.sync_all()?;
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::ogg::valid_prefix;

    fn tone(freq: f64, n: usize) -> AudioFrame {
        let s: Vec<i16> = (0..n)
            .map(|i| {
                ((i as f64 * freq * 2.0 * std::f64::consts::PI / 48_000.0).sin() * 8000.0) as i16
            })
            .collect();
        AudioFrame::new(s, SampleRate::HZ_48000)
    }

    #[tokio::test(start_paused = true)]
    async fn both_sides_are_recorded_in_real_time_and_the_file_is_complete() {
        let dir = std::env::temp_dir().join(format!("rec-test-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("iv-test.ogg");
        let rec = Recording::start(&path).unwrap();
        for _ in 0..150 {
            rec.candidate.send(&tone(440.0, SAMPLES_PER_FRAME_48K));
            rec.interviewer.send(&tone(660.0, SAMPLES_PER_FRAME_48K));
            tokio::time::sleep(FRAME_DURATION).await;
        }
        // Silence from both for a second: the clock keeps the timeline going.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let duration = rec.finish().await.unwrap();
        assert!(
            (Duration::from_millis(3900)..=Duration::from_millis(4100)).contains(&duration),
            "{duration:?}"
        );
        let bytes = std::fs::read(&path).unwrap();
        let (len, d) = valid_prefix(&bytes);
        assert_eq!(len, bytes.len());
        assert_eq!(d, duration);
        // Stereo (channel count 2 in the ID header).
        let head = bytes.windows(8).position(|w| w == b"OpusHead").unwrap();
        assert_eq!(bytes[head + 9], 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
