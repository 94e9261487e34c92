//! Before the interview starts: the room's humans as they arrive, the candidate's microphone
//! once it is subscribed, and which application the room is for (job metadata, then the room
//! name, then the candidate's participant attributes: see `interview::resolve`). Room events
//! seen here are kept, not dropped, so the interview loop starts with the candidate's track.

use crate::audio::FrameReceiver;
use crate::interview::{resolve_application, ApplicationRef, ParticipantView};
use crate::room::{Participant, RoomEvent};

/// The candidate's microphone track.
pub struct CandidateAudio {
    pub identity: String,
    pub track_sid: String,
    pub stream: FrameReceiver,
}

/// What the session knows about the room before the interview starts.
#[derive(Default)]
pub struct Lobby {
    /// Humans in join order (agents are not interviewed).
    pub humans: Vec<Participant>,
    pub audio: Option<CandidateAudio>,
}

/// What an event meant for the lobby.
pub enum LobbyEvent {
    Changed,
    Ignored,
    /// The room is gone.
    Closed(String),
}

impl Lobby {
    pub fn apply(&mut self, ev: Option<RoomEvent>) -> LobbyEvent {
        match ev {
            None => LobbyEvent::Closed("room closed".into()),
            Some(RoomEvent::Disconnected { reason }) => LobbyEvent::Closed(reason.to_string()),
            Some(RoomEvent::ParticipantConnected(p)) if !p.is_agent => {
                self.upsert(p);
                LobbyEvent::Changed
            }
            Some(RoomEvent::AttributesChanged { participant, .. }) if !participant.is_agent => {
                self.upsert(participant);
                LobbyEvent::Changed
            }
            Some(RoomEvent::ParticipantDisconnected(p)) if !p.is_agent => {
                self.humans.retain(|h| h.identity != p.identity);
                if self.audio.as_ref().is_some_and(|a| a.identity == p.identity) {
                    self.audio = None;
                }
                LobbyEvent::Changed
            }
            Some(RoomEvent::AudioTrackSubscribed {
                participant,
                track_sid,
                stream,
            }) if !participant.is_agent => {
                // The first human with a microphone is the candidate.
                if self.audio.is_none() {
                    self.audio = Some(CandidateAudio {
                        identity: participant.identity.clone(),
                        track_sid,
                        stream,
                    });
                }
                self.upsert(participant);
                LobbyEvent::Changed
            }
            Some(_) => LobbyEvent::Ignored,
        }
    }

    fn upsert(&mut self, p: Participant) {
        match self.humans.iter_mut().find(|h| h.identity == p.identity) {
            Some(h) => *h = p,
            None => self.humans.push(p),
        }
    }

    /// The application this room is for, from what is known now.
    pub fn application_ref(
        &self,
        metadata: &serde_json::Value,
        room_name: &str,
    ) -> Option<ApplicationRef> {
        resolve_application(
            metadata,
            room_name,
            self.humans.iter().map(|h| ParticipantView {
                is_agent: false,
                attributes: &h.attributes,
            }),
        )
    }
}
