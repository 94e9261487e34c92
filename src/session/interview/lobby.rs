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

impl Lobby {
    /// Take one room event into account. Err(reason): the room is gone.
    pub fn apply(&mut self, ev: Option<RoomEvent>) -> Result<(), String> {
        match ev {
            None => Err("room closed".into()),
            Some(RoomEvent::Disconnected { reason }) => Err(reason.to_string()),
            Some(RoomEvent::ParticipantConnected(p)) if !p.is_agent => {
                self.upsert(p);
                Ok(())
            }
            Some(RoomEvent::AttributesChanged { participant, .. }) if !participant.is_agent => {
                self.upsert(participant);
                Ok(())
            }
            Some(RoomEvent::ParticipantDisconnected(p)) if !p.is_agent => {
                self.humans.retain(|h| h.identity != p.identity);
                if self
                    .audio
                    .as_ref()
                    .is_some_and(|a| a.identity == p.identity)
                {
                    self.audio = None;
                }
                Ok(())
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
                Ok(())
            }
            Some(_) => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::ApplicationSource;
    use crate::room::Participant;
    use std::collections::HashMap;

    fn person(identity: &str, app: Option<&str>, is_agent: bool) -> Participant {
        let mut attributes = HashMap::new();
        if let Some(a) = app {
            attributes.insert("applicationId".to_string(), a.to_string());
        }
        Participant {
            sid: format!("PA_{identity}"),
            identity: identity.into(),
            name: String::new(),
            metadata: String::new(),
            attributes,
            is_agent,
        }
    }

    #[test]
    fn the_application_comes_from_metadata_then_room_then_the_first_humans_attributes() {
        let mut lobby = Lobby::default();
        let none = serde_json::json!({});
        assert_eq!(lobby.application_ref(&none, "lobby"), None);
        lobby
            .apply(Some(RoomEvent::ParticipantConnected(person(
                "other-agent",
                Some("x"),
                true,
            ))))
            .unwrap();
        assert_eq!(lobby.application_ref(&none, "lobby"), None);
        lobby
            .apply(Some(RoomEvent::ParticipantConnected(person(
                "ana", None, false,
            ))))
            .unwrap();
        assert_eq!(lobby.application_ref(&none, "lobby"), None);
        let changed = person("ana", Some("app-7"), false);
        lobby
            .apply(Some(RoomEvent::AttributesChanged {
                participant: changed,
                changed: HashMap::new(),
            }))
            .unwrap();
        let r = lobby
            .application_ref(&none, "lobby")
            .expect("from attributes");
        assert_eq!(
            (r.id.as_str(), r.source),
            ("app-7", ApplicationSource::Attributes)
        );
        let r = lobby
            .application_ref(&none, "interview-app-9-2")
            .expect("from the room name");
        assert_eq!(
            (r.id.as_str(), r.source),
            ("app-9", ApplicationSource::RoomName)
        );
        let meta = serde_json::json!({"applicationId": 42});
        let r = lobby
            .application_ref(&meta, "interview-app-9-2")
            .expect("meta");
        assert_eq!(
            (r.id.as_str(), r.source),
            ("42", ApplicationSource::Metadata)
        );
        lobby
            .apply(Some(RoomEvent::ParticipantDisconnected(person(
                "ana", None, false,
            ))))
            .unwrap();
        assert!(lobby.humans.is_empty());
        assert!(lobby.apply(None).is_err());
    }
}
