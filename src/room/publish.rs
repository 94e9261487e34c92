//! Our published audio track: PCM in, 20 ms Opus frames out as RTP. The handle keeps working
//! across a rejoin because the engine swaps the RTP writer underneath it.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::RwLock;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;

use super::error::RoomError;
use crate::audio::{AudioFrame, OpusEncoder, SampleRate, FRAME_DURATION, SAMPLES_PER_FRAME_48K};

/// Where encoded frames go right now; `None` while (re)negotiating.
pub(crate) struct Writer {
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub payload_type: u8,
}

#[derive(Default)]
pub(crate) struct WriterSlot {
    pub writer: RwLock<Option<Writer>>,
    /// Server-assigned track sid (changes on rejoin).
    pub sid: std::sync::Mutex<String>,
}

/// Handle to a published audio track. Feed it 48 kHz mono PCM in any chunk size; it encodes
/// 20 ms Opus frames. Frames written while the connection is being (re)established are dropped,
/// which is what a live microphone would do.
pub struct LocalAudioTrack {
    slot: Arc<WriterSlot>,
    encoder: OpusEncoder,
    pending: Vec<i16>,
    frames_sent: u64,
    frames_dropped: u64,
}

impl LocalAudioTrack {
    pub(crate) fn new(slot: Arc<WriterSlot>) -> Result<Self, RoomError> {
        Ok(LocalAudioTrack {
            slot,
            encoder: OpusEncoder::new()?,
            pending: Vec::with_capacity(SAMPLES_PER_FRAME_48K * 2),
            frames_sent: 0,
            frames_dropped: 0,
        })
    }

    /// Current server track sid.
    pub fn sid(&self) -> String {
        self.slot.sid.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Whether the track is currently connected and sending.
    pub async fn is_live(&self) -> bool {
        self.slot.writer.read().await.is_some()
    }

    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped
    }

    /// Send a few frames of silence as soon as the connection carries media. An SFU announces
    /// a published track to the others only once its first RTP packet arrives (livekit-server
    /// and our test server alike); an agent that stays silent until it speaks would make the
    /// candidate's client learn about its voice, and renegotiate for it, only when the greeting
    /// has already started. Gives up after `limit`.
    pub async fn prime(&mut self, limit: std::time::Duration) {
        const FRAMES: u64 = 3;
        let deadline = tokio::time::Instant::now() + limit;
        let silence = AudioFrame::silence(SampleRate::HZ_48000, FRAME_DURATION);
        let start = self.frames_sent;
        while self.frames_sent < start + FRAMES && tokio::time::Instant::now() < deadline {
            let live = self.slot.writer.read().await.is_some();
            if live {
                let _ = self.capture_frame(&silence).await;
            }
            tokio::time::sleep(FRAME_DURATION).await;
        }
    }

    /// Queue PCM for sending. Pacing is the caller's job: call this in real time.
    pub async fn capture_frame(&mut self, frame: &AudioFrame) -> Result<(), RoomError> {
        if frame.sample_rate != SampleRate::HZ_48000 {
            return Err(RoomError::Invalid(format!(
                "published audio must be 48 kHz, got {} Hz",
                frame.sample_rate.0
            )));
        }
        // Whole 20 ms frames are encoded straight from the caller's samples (the usual case:
        // callers send 20 ms frames); only a remainder is copied.
        let mut input: &[i16] = &frame.samples;
        if !self.pending.is_empty() {
            let take = (SAMPLES_PER_FRAME_48K - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() == SAMPLES_PER_FRAME_48K {
                let packet = self.encoder.encode_pcm(&self.pending)?;
                self.pending.clear();
                self.write_packet(Bytes::from(packet)).await;
            }
        }
        while input.len() >= SAMPLES_PER_FRAME_48K {
            let packet = self.encoder.encode_pcm(&input[..SAMPLES_PER_FRAME_48K])?;
            input = &input[SAMPLES_PER_FRAME_48K..];
            self.write_packet(Bytes::from(packet)).await;
        }
        self.pending.extend_from_slice(input);
        Ok(())
    }

    /// Send one pre-encoded 20 ms Opus packet (48 kHz mono), paced by the caller like
    /// [`LocalAudioTrack::capture_frame`]: for senders that encode once and send many times
    /// (the load generator), so they measure the agent, not their own encoder.
    pub async fn send_encoded(&mut self, packet: Bytes) {
        self.write_packet(packet).await;
    }

    async fn write_packet(&mut self, packet: Bytes) {
        let guard = self.slot.writer.read().await;
        let Some(w) = guard.as_ref() else {
            self.frames_dropped += 1;
            return;
        };
        let sample = rtc::media::Sample {
            data: packet,
            duration: FRAME_DURATION,
            ..rtc::media::Sample::new(Instant::now())
        };
        match w
            .track
            .sample_writer(w.ssrc, w.payload_type)
            .write_sample(&sample)
            .await
        {
            Ok(()) => self.frames_sent += 1,
            Err(e) => {
                self.frames_dropped += 1;
                if self.frames_dropped % 250 == 1 {
                    tracing::debug!("audio frame not sent: {e}");
                }
            }
        }
    }
}
