//! Remote audio: RTP (Opus) from a subscribed track -> decoded 48 kHz frames into the track's
//! bounded queue (drop-oldest). Small sequence gaps are concealed by Opus PLC.

use std::sync::Arc;

use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::audio::{FrameSender, OpusDecoder};

/// Longest gap (in packets) we fill with concealment; beyond it we just resume.
const MAX_CONCEALED: u16 = 5;

/// Read `track` until it ends or nobody listens; returns the packets decoded.
pub(crate) async fn pump_opus(track: Arc<dyn TrackRemote>, out: FrameSender, track_sid: String) -> u64 {
    let mut decoder = match OpusDecoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(%track_sid, "cannot create opus decoder: {e}");
            return 0;
        }
    };
    let mut last_seq: Option<u16> = None;
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
        let seq = packet.header.sequence_number;
        if let Some(prev) = last_seq {
            let gap = seq.wrapping_sub(prev);
            if gap == 0 || gap > u16::MAX / 2 {
                continue; // duplicate or reordered-late packet
            }
            for _ in 1..gap.min(MAX_CONCEALED + 1) {
                if let Ok(f) = decoder.conceal() {
                    out.push(f);
                }
            }
        }
        last_seq = Some(seq);
        if packet.payload.is_empty() {
            continue;
        }
        match decoder.decode(&packet.payload) {
            Ok(frame) => {
                decoded += 1;
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
