//! Remote audio: RTP (Opus) from a subscribed track -> decoded 48 kHz frames into the track's
//! bounded queue (drop-oldest). Lost packets are concealed with Opus PLC; time a sender skipped
//! (Opus DTX, used by browsers for microphones) is filled with silence, so everything downstream
//! that counts audio (VAD, end of turn) sees real time.

use std::sync::Arc;

use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::audio::{
    AudioFrame, FrameSender, OpusDecoder, SampleRate, FRAME_DURATION, SAMPLES_PER_FRAME_48K,
};

/// Longest loss (in packets) we fill with concealment; beyond it we just resume.
const MAX_CONCEALED: u16 = 5;
/// Longest timestamp jump (DTX silence) we fill with silent frames: 2 s at 48 kHz. Larger
/// jumps (a muted or restarted sender) just resume.
const MAX_FILL_SAMPLES: u32 = 96_000;

/// What to do before decoding a packet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Duplicate or late packet: drop it.
    Skip,
    /// Conceal `lost` packets, then insert `silent` 20 ms frames of silence, then decode.
    Decode { lost: u16, silent: u32 },
}

/// Sequence/timestamp bookkeeping of one RTP stream (sans-IO).
#[derive(Default)]
pub(crate) struct RtpClock {
    last_seq: Option<u16>,
    next_ts: Option<u32>,
}

impl RtpClock {
    pub fn before(&mut self, seq: u16, ts: u32) -> Step {
        let mut lost = 0u16;
        if let Some(prev) = self.last_seq {
            let gap = seq.wrapping_sub(prev);
            if gap == 0 || gap > u16::MAX / 2 {
                return Step::Skip;
            }
            lost = (gap - 1).min(MAX_CONCEALED);
        }
        self.last_seq = Some(seq);
        let mut silent = 0;
        if let Some(expected) = self.next_ts {
            let concealed = lost as u32 * SAMPLES_PER_FRAME_48K as u32;
            let skipped = ts.wrapping_sub(expected).saturating_sub(concealed);
            if skipped < MAX_FILL_SAMPLES {
                silent = skipped / SAMPLES_PER_FRAME_48K as u32;
            }
        }
        Step::Decode { lost, silent }
    }

    /// After decoding `samples` from the packet stamped `ts`.
    pub fn after(&mut self, ts: u32, samples: usize) {
        self.next_ts = Some(ts.wrapping_add(samples as u32));
    }
}

/// Read `track` until it ends or nobody listens; returns the packets decoded.
pub(crate) async fn pump_opus(
    track: Arc<dyn TrackRemote>,
    out: FrameSender,
    track_sid: String,
) -> u64 {
    let mut decoder = match OpusDecoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(%track_sid, "cannot create opus decoder: {e}");
            return 0;
        }
    };
    let mut clock = RtpClock::default();
    let mut decoded = 0u64;
    while let Some(event) = track.poll().await {
        let packet = match event {
            TrackRemoteEvent::OnRtpPacket(p) => p,
            TrackRemoteEvent::OnEnded => break,
            _ => continue,
        };
        if out.is_closed() {
            break;
        }
        let ts = packet.header.timestamp;
        let Step::Decode { lost, silent } = clock.before(packet.header.sequence_number, ts) else {
            continue;
        };
        for _ in 0..lost {
            if let Ok(f) = decoder.conceal() {
                out.push(f);
            }
        }
        for _ in 0..silent {
            out.push(AudioFrame::silence(SampleRate::HZ_48000, FRAME_DURATION));
        }
        if packet.payload.is_empty() {
            continue;
        }
        match decoder.decode(&packet.payload) {
            Ok(frame) => {
                decoded += 1;
                clock.after(ts, frame.samples.len());
                out.push(frame);
            }
            Err(e) => tracing::debug!(%track_sid, "undecodable opus packet: {e}"),
        }
    }
    decoded
}

/// Consume a track we do not decode so its buffers never fill.
pub(crate) async fn drain(track: Arc<dyn TrackRemote>) {
    while let Some(ev) = track.poll().await {
        if matches!(ev, TrackRemoteEvent::OnEnded) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u32 = 960;

    #[test]
    fn steady_stream_needs_nothing() {
        let mut c = RtpClock::default();
        for i in 0..5u16 {
            assert_eq!(
                c.before(100 + i, 5000 + i as u32 * F),
                Step::Decode { lost: 0, silent: 0 }
            );
            c.after(5000 + i as u32 * F, F as usize);
        }
    }

    #[test]
    fn lost_packets_are_concealed_not_doubled_with_silence() {
        let mut c = RtpClock::default();
        c.before(1, 0);
        c.after(0, 960);
        // packets 2 and 3 lost
        assert_eq!(c.before(4, 3 * F), Step::Decode { lost: 2, silent: 0 });
    }

    #[test]
    fn dtx_gap_is_filled_with_silence() {
        let mut c = RtpClock::default();
        c.before(10, 0);
        c.after(0, 960);
        // next packet 400 ms later with the next sequence number (DTX)
        assert_eq!(
            c.before(11, 20 * F),
            Step::Decode {
                lost: 0,
                silent: 19
            }
        );
    }

    #[test]
    fn duplicates_and_huge_jumps() {
        let mut c = RtpClock::default();
        c.before(10, 0);
        c.after(0, 960);
        assert_eq!(c.before(10, 0), Step::Skip);
        assert_eq!(c.before(9, 0), Step::Skip);
        // a 10 s jump (sender restarted) is not filled
        assert_eq!(c.before(11, 480_000), Step::Decode { lost: 0, silent: 0 });
        // sequence wrap-around
        let mut c = RtpClock::default();
        c.before(u16::MAX, 0);
        c.after(0, 960);
        assert_eq!(c.before(0, F), Step::Decode { lost: 0, silent: 0 });
    }
}
