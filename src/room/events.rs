//! What the room reports to its owner.

use std::collections::HashMap;

use crate::audio::FrameReceiver;

/// A remote participant as we know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub sid: String,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    pub attributes: HashMap<String, String>,
    /// True for agent participants (kind AGENT).
    pub is_agent: bool,
}

/// Kind of a published track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Video,
    Data,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackPublication {
    pub sid: String,
    pub name: String,
    pub kind: TrackKind,
    pub mime_type: String,
    pub muted: bool,
}

/// Events from a joined room. Consume them promptly: the channel is bounded and a full
/// channel holds up the room's control loop (never its audio).
pub enum RoomEvent {
    ParticipantConnected(Participant),
    ParticipantDisconnected(Participant),
    AttributesChanged {
        participant: Participant,
        changed: HashMap<String, String>,
    },
    TrackPublished {
        participant: Participant,
        track: TrackPublication,
    },
    TrackUnpublished {
        participant: Participant,
        track: TrackPublication,
    },
    /// A remote Opus audio track is flowing: 48 kHz mono 20 ms frames. The stream survives a
    /// rejoin and ends (recv -> None) when the track is unpublished or its participant leaves.
    AudioTrackSubscribed {
        participant: Participant,
        track_sid: String,
        stream: FrameReceiver,
    },
    /// A subscribed track we do not decode (video, non-Opus audio): ignored.
    TrackIgnored {
        participant_identity: String,
        track_sid: String,
        reason: String,
    },
    DataReceived {
        participant_identity: String,
        topic: Option<String>,
        payload: Vec<u8>,
    },
    TextReceived {
        participant_identity: String,
        topic: String,
        attributes: HashMap<String, String>,
        text: String,
    },
    /// The signalling connection dropped; media may pause while we rejoin.
    Reconnecting {
        reason: String,
    },
    /// Back in the room; published tracks are live again and remote streams continue.
    Reconnected,
    /// We are out of the room for good.
    Disconnected {
        reason: String,
    },
}

impl std::fmt::Debug for RoomEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoomEvent::ParticipantConnected(p) => write!(f, "ParticipantConnected({})", p.identity),
            RoomEvent::ParticipantDisconnected(p) => {
                write!(f, "ParticipantDisconnected({})", p.identity)
            }
            RoomEvent::AttributesChanged {
                participant,
                changed,
            } => {
                write!(
                    f,
                    "AttributesChanged({}, {changed:?})",
                    participant.identity
                )
            }
            RoomEvent::TrackPublished { participant, track } => {
                write!(
                    f,
                    "TrackPublished({}, {} {:?} {})",
                    participant.identity, track.sid, track.kind, track.mime_type
                )
            }
            RoomEvent::TrackUnpublished { participant, track } => {
                write!(
                    f,
                    "TrackUnpublished({}, {})",
                    participant.identity, track.sid
                )
            }
            RoomEvent::AudioTrackSubscribed {
                participant,
                track_sid,
                ..
            } => {
                write!(
                    f,
                    "AudioTrackSubscribed({}, {track_sid})",
                    participant.identity
                )
            }
            RoomEvent::TrackIgnored {
                participant_identity,
                track_sid,
                reason,
            } => {
                write!(
                    f,
                    "TrackIgnored({participant_identity}, {track_sid}: {reason})"
                )
            }
            RoomEvent::DataReceived {
                participant_identity,
                topic,
                payload,
            } => {
                write!(
                    f,
                    "DataReceived({participant_identity}, {topic:?}, {} bytes)",
                    payload.len()
                )
            }
            RoomEvent::TextReceived {
                participant_identity,
                topic,
                text,
                ..
            } => {
                write!(
                    f,
                    "TextReceived({participant_identity}, {topic}, {} chars)",
                    text.len()
                )
            }
            RoomEvent::Reconnecting { reason } => write!(f, "Reconnecting({reason})"),
            RoomEvent::Reconnected => write!(f, "Reconnected"),
            RoomEvent::Disconnected { reason } => write!(f, "Disconnected({reason})"),
        }
    }
}
