//! The candidate's side of a session once their microphone is live: their audio forwarded
//! into the session's single pipeline queue, and their presence. A candidate who leaves may
//! come back within a grace period; their new track is forwarded into the same queue, so the
//! conversation (and the interview) simply continues. Shared by the voice and interview
//! sessions.

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::recording::{tap_frame, TapSlot};
use crate::audio::{FrameReceiver, FrameSender};
use crate::room::RoomEvent;

pub struct CandidateLink {
    pub identity: String,
    /// The track being forwarded (transcripts name it as `lk.transcribed_track_id`).
    pub track_sid: String,
    input: FrameSender,
    /// The recording's candidate side, once one is started.
    tap: TapSlot,
    forwarder: JoinHandle<()>,
    /// When the candidate left; None while they are in the room.
    left_at: Option<Instant>,
}

impl CandidateLink {
    /// Start forwarding `stream` (the candidate's microphone) into `input`.
    pub fn new(
        identity: String,
        track_sid: String,
        stream: FrameReceiver,
        input: FrameSender,
    ) -> Self {
        let tap = TapSlot::default();
        let forwarder = tokio::spawn(forward(stream, input.clone(), tap.clone()));
        CandidateLink {
            identity,
            track_sid,
            input,
            tap,
            forwarder,
            left_at: None,
        }
    }

    /// Where the candidate's frames also go once a recording starts.
    pub fn tap(&self) -> &TapSlot {
        &self.tap
    }

    /// Follow the candidate through one room event. Err(reason): the room is gone.
    pub fn on_room_event(&mut self, ev: Option<RoomEvent>) -> Result<(), String> {
        let identity = &self.identity;
        match ev {
            Some(RoomEvent::ParticipantDisconnected(p)) if p.identity == *identity => {
                tracing::info!(%identity, "candidate left; waiting for a rejoin");
                self.left_at = Some(Instant::now());
            }
            Some(RoomEvent::ParticipantConnected(p)) if p.identity == *identity => {
                tracing::info!(%identity, "candidate rejoined");
                self.left_at = None;
            }
            Some(RoomEvent::AudioTrackSubscribed {
                participant,
                track_sid,
                stream,
            }) if participant.identity == *identity => {
                tracing::info!(%identity, track = %track_sid, "candidate audio resumed");
                self.forwarder.abort();
                self.forwarder =
                    tokio::spawn(forward(stream, self.input.clone(), self.tap.clone()));
                self.track_sid = track_sid;
                self.left_at = None;
            }
            Some(RoomEvent::Disconnected { reason }) => {
                return Err(format!("room closed: {reason}"))
            }
            None => return Err("room closed".into()),
            Some(_) => {}
        }
        Ok(())
    }

    /// When the candidate's time to come back runs out (None while they are here).
    pub fn gone_at(&self, grace: std::time::Duration) -> Option<Instant> {
        self.left_at.map(|t| t + grace)
    }

    /// Stop forwarding and close the pipeline's input.
    pub fn stop(&self) {
        self.forwarder.abort();
        self.input.close();
    }
}

impl Drop for CandidateLink {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

/// Candidate frames from one room track into the session's pipeline input (and the
/// recording, if any).
async fn forward(mut stream: FrameReceiver, into: FrameSender, tap: TapSlot) {
    while let Some(frame) = stream.recv().await {
        tap_frame(&tap, &frame);
        if !into.push(frame) {
            break;
        }
    }
}

/// Sleep until `at`; forever when None (a disabled `select!` branch).
pub async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
