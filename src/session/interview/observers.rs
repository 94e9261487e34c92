//! The hiring team in the room. An observer is a visible, listen-only participant with the
//! attribute `role=observer` (the backend's observer token sets it; a candidate's token cannot
//! change its own attributes). Observers get each answer's evaluation as soon as it is scored,
//! on their own topic and ONLY them (data packets with destination identities: never the
//! candidate), and the evaluations so far when they join late. An observer may end the
//! interview early with a message on the control topic.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::interview::QuestionOutcome;
use crate::room::{Participant, Room, RoomEvent};

/// Evaluations to observers: one JSON object per scored question.
pub const EVALUATION_TOPIC: &str = "interview.evaluation";
/// Observers to the agent: `{"action": "end"}` ends the interview early.
pub const CONTROL_TOPIC: &str = "interview.control";

/// What a room event means for the hiring team's side.
#[derive(Debug, PartialEq, Eq)]
pub enum ObserverEvent {
    Joined(String),
    EndRequested(String),
    Nothing,
}

#[derive(Default)]
pub struct Observers {
    present: BTreeSet<String>,
    /// Every evaluation sent so far (for observers who join later).
    evaluations: Vec<Value>,
}

pub fn is_observer(p: &Participant) -> bool {
    !p.is_agent && p.attributes.get("role").map(String::as_str) == Some("observer")
}

impl Observers {
    /// The observers among the room's humans when the interview starts.
    pub fn from_humans(humans: &[Participant]) -> Observers {
        Observers {
            present: humans
                .iter()
                .filter(|p| is_observer(p))
                .map(|p| p.identity.clone())
                .collect(),
            evaluations: Vec::new(),
        }
    }

    pub fn is_present(&self, identity: &str) -> bool {
        self.present.contains(identity)
    }

    /// Follow one room event.
    pub fn on_event(&mut self, ev: Option<&RoomEvent>) -> ObserverEvent {
        match ev {
            Some(RoomEvent::ParticipantConnected(p))
            | Some(RoomEvent::AttributesChanged { participant: p, .. })
                if is_observer(p) =>
            {
                if self.present.insert(p.identity.clone()) {
                    tracing::info!(observer = %p.identity, "a member of the hiring team joined");
                    return ObserverEvent::Joined(p.identity.clone());
                }
                ObserverEvent::Nothing
            }
            Some(RoomEvent::ParticipantDisconnected(p)) => {
                self.present.remove(&p.identity);
                ObserverEvent::Nothing
            }
            Some(RoomEvent::DataReceived {
                participant_identity,
                topic: Some(topic),
                payload,
            }) if topic == CONTROL_TOPIC => {
                let action = serde_json::from_slice::<Value>(payload)
                    .ok()
                    .and_then(|v| v["action"].as_str().map(str::to_string));
                if !self.present.contains(participant_identity) {
                    tracing::warn!(from = %participant_identity, "control message from a non-observer ignored");
                    return ObserverEvent::Nothing;
                }
                match action.as_deref() {
                    Some("end") => ObserverEvent::EndRequested(participant_identity.clone()),
                    other => {
                        tracing::warn!(?other, "unknown control action ignored");
                        ObserverEvent::Nothing
                    }
                }
            }
            _ => ObserverEvent::Nothing,
        }
    }

    /// Send a new evaluation to the observers present (kept for latecomers).
    pub async fn evaluated(&mut self, room: &Room, outcome: &QuestionOutcome) {
        let v = evaluation(outcome);
        self.evaluations.push(v.clone());
        let to: Vec<String> = self.present.iter().cloned().collect();
        send(room, &to, &v).await;
    }

    /// Catch an observer who just joined up on the evaluations so far.
    pub async fn catch_up(&self, room: &Room, identity: &str) {
        let to = [identity.to_string()];
        for v in &self.evaluations {
            send(room, &to, v).await;
        }
    }
}

async fn send(room: &Room, to: &[String], v: &Value) {
    // No observer, no packet: an empty destination list would mean everyone.
    if to.is_empty() {
        return;
    }
    let payload = v.to_string().into_bytes();
    if let Err(e) = room
        .send_data(payload, Some(EVALUATION_TOPIC), true, to)
        .await
    {
        tracing::warn!("evaluation not sent to the observers: {e}");
    }
}

/// One question's evaluation as the observers get it (camelCase, like the stored result).
pub fn evaluation(o: &QuestionOutcome) -> Value {
    let s = o.score.as_ref();
    json!({
        "index": o.index,
        "question": o.question,
        "answer": o.answer,
        "score": s.map(|s| s.score),
        "keyPoints": s.map(|s| s.key_points.clone()).unwrap_or_default(),
        "improvementAreas": s.map(|s| s.improvement_areas.clone()).unwrap_or_default(),
        "confidence": s.map(|s| s.confidence),
        "evidenceQuotes": s.map(|s| s.evidence_quotes.clone()).unwrap_or_default(),
        "injectionAttempt": s.is_some_and(|s| s.injection_attempt),
        "scoringError": o.scoring_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn person(identity: &str, role: Option<&str>) -> Participant {
        let mut attributes = HashMap::new();
        if let Some(r) = role {
            attributes.insert("role".to_string(), r.to_string());
        }
        Participant {
            sid: format!("PA_{identity}"),
            identity: identity.into(),
            name: String::new(),
            metadata: String::new(),
            attributes,
            is_agent: false,
        }
    }

    fn control(from: &str, body: &str) -> RoomEvent {
        RoomEvent::DataReceived {
            participant_identity: from.into(),
            topic: Some(CONTROL_TOPIC.into()),
            payload: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn only_observers_are_tracked_and_only_they_may_end_the_interview() {
        let mut o =
            Observers::from_humans(&[person("cand", None), person("obs-1", Some("observer"))]);
        assert!(o.is_present("obs-1") && !o.is_present("cand"));
        // The candidate cannot end it, not even with the right message.
        assert_eq!(
            o.on_event(Some(&control("cand", r#"{"action":"end"}"#))),
            ObserverEvent::Nothing
        );
        assert_eq!(
            o.on_event(Some(&control("obs-1", r#"{"action":"end"}"#))),
            ObserverEvent::EndRequested("obs-1".into())
        );
        assert_eq!(
            o.on_event(Some(&control("obs-1", "nonsense"))),
            ObserverEvent::Nothing
        );
        let joined = RoomEvent::ParticipantConnected(person("obs-2", Some("observer")));
        assert_eq!(
            o.on_event(Some(&joined)),
            ObserverEvent::Joined("obs-2".into())
        );
        assert_eq!(o.on_event(Some(&joined)), ObserverEvent::Nothing, "once");
        let someone = RoomEvent::ParticipantConnected(person("visitor", Some("candidate")));
        assert_eq!(o.on_event(Some(&someone)), ObserverEvent::Nothing);
        o.on_event(Some(&RoomEvent::ParticipantDisconnected(person(
            "obs-1",
            Some("observer"),
        ))));
        assert!(!o.is_present("obs-1"));
        assert_eq!(
            o.on_event(Some(&control("obs-1", r#"{"action":"end"}"#))),
            ObserverEvent::Nothing
        );
    }
}
