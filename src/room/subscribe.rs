//! Remote audio: RTP (Opus) from a subscribed track -> decoded 48 kHz frames into the track's
//! bounded queue (drop-oldest). Lost packets are concealed with Opus PLC; time a sender skipped
//! (Opus DTX, used by browsers and livekit-server's default answer for microphones) is filled
//! with silence, so everything downstream that counts audio (VAD, end of turn) sees real time.
//!
//! The silence is filled AS IT HAPPENS, not when the next packet shows the gap: with DTX the
//! sender goes quiet right after the last word, and waiting for its next packet (up to 400 ms
//! later) made the end of a turn late by that much. When no packet came for [`GAP_GRACE`]
//! (jitter), silent frames follow the wall clock, and the gap the next packet reveals is
//! reduced by what was already filled.

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
/// No packet for this long after the last one: silence starts being filled in real time.
pub(crate) const GAP_GRACE: std::time::Duration = std::time::Duration::from_millis(60);
/// Frames filled in real time during one gap, at most (2 s).
const MAX_LIVE_FILL: u32 = MAX_FILL_SAMPLES / SAMPLES_PER_FRAME_48K as u32;

/// Real-time silence during a sender's pause (sans-IO).
#[derive(Default)]
pub(crate) struct LiveFill {
    last_packet: Option<tokio::time::Instant>,
    /// Silent frames pushed since the last packet.
    filled: u32,
}

impl LiveFill {
    /// A packet arrived: how many of the `silent` frames its gap needs are still missing.
    pub fn on_packet(&mut self, now: tokio::time::Instant, silent: u32) -> u32 {
        let missing = silent.saturating_sub(self.filled);
        self.last_packet = Some(now);
        self.filled = 0;
        missing
    }

    /// When to look again (None: nothing to fill until the next packet).
    pub fn next_deadline(&self) -> Option<tokio::time::Instant> {
        let last = self.last_packet?;
        if self.filled >= MAX_LIVE_FILL {
            return None;
        }
        let next_due = last + FRAME_DURATION * (self.filled + 1);
        Some(next_due.max(last + GAP_GRACE))
    }

    /// Silent frames to push now (the frames due since the last packet, minus those pushed).
    pub fn due(&mut self, now: tokio::time::Instant) -> u32 {
        let Some(last) = self.last_packet else {
            return 0;
        };
        let elapsed = now.saturating_duration_since(last);
        if elapsed < GAP_GRACE {
            return 0;
        }
        let expected = (elapsed.as_micros() / FRAME_DURATION.as_micros()) as u32;
        let n = expected.min(MAX_LIVE_FILL).saturating_sub(self.filled);
        self.filled += n;
        n
    }
}

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
    let mut live = LiveFill::default();
    let mut decoded = 0u64;
    let silence = AudioFrame::silence(SampleRate::HZ_48000, FRAME_DURATION);
    let gap = tokio::time::sleep(GAP_GRACE);
    tokio::pin!(gap);
    loop {
        let deadline = live.next_deadline();
        if let Some(d) = deadline {
            gap.as_mut().reset(d);
        }
        let event = tokio::select! {
            ev = track.poll() => ev,
            _ = &mut gap, if deadline.is_some() => {
                for _ in 0..live.due(tokio::time::Instant::now()) {
                    out.push(silence.clone());
                }
                continue;
            }
        };
        let Some(event) = event else { break };
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
        let silent = live.on_packet(tokio::time::Instant::now(), silent);
        for _ in 0..lost {
            if let Ok(f) = decoder.conceal() {
                out.push(f);
            }
        }
        for _ in 0..silent {
            out.push(silence.clone());
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

    #[tokio::test(start_paused = true)]
    async fn silence_is_filled_as_it_happens_and_not_twice() {
        let ms = |n: u64| std::time::Duration::from_millis(n);
        let t0 = tokio::time::Instant::now();
        let mut f = LiveFill::default();
        assert_eq!(f.next_deadline(), None, "nothing before the first packet");
        assert_eq!(f.on_packet(t0, 0), 0);
        // Jitter: nothing filled within the grace.
        assert_eq!(f.due(t0 + ms(59)), 0);
        assert_eq!(f.next_deadline(), Some(t0 + GAP_GRACE));
        // Then the frames due so far, then one per 20 ms.
        assert_eq!(f.due(t0 + ms(60)), 3);
        assert_eq!(f.next_deadline(), Some(t0 + ms(80)));
        assert_eq!(f.due(t0 + ms(80)), 1);
        assert_eq!(f.due(t0 + ms(400)), 16);
        // The DTX packet 400 ms later says 19 frames were skipped: 20 are filled already.
        assert_eq!(f.on_packet(t0 + ms(400), 19), 0);
        // A shorter pause than the grace is filled from the packet, as before.
        assert_eq!(f.on_packet(t0 + ms(440), 1), 1);
        // A muted sender: filling stops after 2 s.
        let t1 = t0 + ms(440);
        assert_eq!(f.due(t1 + ms(5_000)), MAX_LIVE_FILL);
        assert_eq!(f.next_deadline(), None);
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
