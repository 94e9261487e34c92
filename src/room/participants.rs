//! Remote participants and their tracks, diffed from the server's `ParticipantUpdate`s into
//! events. Pure logic: no I/O, unit tested.

use std::collections::HashMap;

use livekit_protocol as proto;

use super::events::{Participant, TrackKind, TrackPublication};

/// A change found by [`Roster::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Joined(Participant),
    Left(Participant, Vec<TrackPublication>),
    Attributes(Participant, HashMap<String, String>),
    Published(Participant, TrackPublication),
    Unpublished(Participant, TrackPublication),
}

struct Known {
    participant: Participant,
    tracks: Vec<TrackPublication>,
    version: u32,
}

/// Everyone in the room except us.
#[derive(Default)]
pub struct Roster {
    by_sid: HashMap<String, Known>,
}

pub fn participant(info: &proto::ParticipantInfo) -> Participant {
    Participant {
        sid: info.sid.clone(),
        identity: info.identity.clone(),
        name: info.name.clone(),
        metadata: info.metadata.clone(),
        attributes: info.attributes.clone(),
        is_agent: info.kind == proto::participant_info::Kind::Agent as i32,
    }
}

fn publication(t: &proto::TrackInfo) -> TrackPublication {
    let kind = match proto::TrackType::try_from(t.r#type) {
        Ok(proto::TrackType::Video) => TrackKind::Video,
        Ok(proto::TrackType::Data) => TrackKind::Data,
        _ => TrackKind::Audio,
    };
    TrackPublication {
        sid: t.sid.clone(),
        name: t.name.clone(),
        kind,
        mime_type: t.mime_type.clone(),
        muted: t.muted,
    }
}

impl Roster {
    /// Fold one participant's info in. `local_identity` is skipped: our own echo (and our
    /// previous incarnation after a rejoin) is not a remote participant.
    pub fn apply(&mut self, info: &proto::ParticipantInfo, local_identity: &str) -> Vec<Change> {
        let mut changes = Vec::new();
        if info.identity == local_identity {
            return changes;
        }
        let now = participant(info);
        let tracks: Vec<TrackPublication> = info.tracks.iter().map(publication).collect();
        if info.state == proto::participant_info::State::Disconnected as i32 {
            if let Some(old) = self.by_sid.remove(&info.sid) {
                changes.push(Change::Left(old.participant, old.tracks));
            }
            return changes;
        }
        match self.by_sid.get_mut(&info.sid) {
            None => {
                changes.push(Change::Joined(now.clone()));
                for t in &tracks {
                    changes.push(Change::Published(now.clone(), t.clone()));
                }
                self.by_sid.insert(
                    info.sid.clone(),
                    Known {
                        participant: now,
                        tracks,
                        version: info.version,
                    },
                );
            }
            Some(known) => {
                if info.version != 0 && info.version < known.version {
                    return changes; // stale, out-of-order update
                }
                let mut changed = HashMap::new();
                for (k, v) in &now.attributes {
                    if known.participant.attributes.get(k) != Some(v) {
                        changed.insert(k.clone(), v.clone());
                    }
                }
                for k in known.participant.attributes.keys() {
                    if !now.attributes.contains_key(k) {
                        changed.insert(k.clone(), String::new());
                    }
                }
                for t in &tracks {
                    if !known.tracks.iter().any(|o| o.sid == t.sid) {
                        changes.push(Change::Published(now.clone(), t.clone()));
                    }
                }
                for o in &known.tracks {
                    if !tracks.iter().any(|t| t.sid == o.sid) {
                        changes.push(Change::Unpublished(now.clone(), o.clone()));
                    }
                }
                if !changed.is_empty() {
                    changes.push(Change::Attributes(now.clone(), changed));
                }
                known.participant = now;
                known.tracks = tracks;
                known.version = info.version;
            }
        }
        changes
    }

    /// Forget participants not in `present` (after a rejoin): they left while we were away.
    pub fn retain_only(&mut self, present: &[proto::ParticipantInfo]) -> Vec<Change> {
        let gone: Vec<String> = self
            .by_sid
            .keys()
            .filter(|sid| !present.iter().any(|p| &p.sid == *sid))
            .cloned()
            .collect();
        gone.into_iter()
            .filter_map(|sid| self.by_sid.remove(&sid))
            .map(|k| Change::Left(k.participant, k.tracks))
            .collect()
    }

    /// Who published track `track_sid`.
    pub fn owner_of(&self, track_sid: &str) -> Option<Participant> {
        self.by_sid
            .values()
            .find(|k| k.tracks.iter().any(|t| t.sid == track_sid))
            .map(|k| k.participant.clone())
    }

    pub fn track(&self, track_sid: &str) -> Option<TrackPublication> {
        self.by_sid
            .values()
            .flat_map(|k| k.tracks.iter())
            .find(|t| t.sid == track_sid)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(
        sid: &str,
        identity: &str,
        version: u32,
        tracks: &[(&str, proto::TrackType)],
        attrs: &[(&str, &str)],
    ) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            sid: sid.into(),
            identity: identity.into(),
            version,
            state: proto::participant_info::State::Active as i32,
            tracks: tracks
                .iter()
                .map(|(s, t)| proto::TrackInfo {
                    sid: s.to_string(),
                    r#type: *t as i32,
                    mime_type: "audio/opus".into(),
                    ..Default::default()
                })
                .collect(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn join_publish_attribute_unpublish_leave() {
        let mut r = Roster::default();
        let c = r.apply(&info("PA_1", "cand", 1, &[], &[]), "agent");
        assert!(matches!(&c[..], [Change::Joined(p)] if p.identity == "cand"));
        let c = r.apply(
            &info(
                "PA_1",
                "cand",
                2,
                &[("TR_1", proto::TrackType::Audio)],
                &[("a", "1")],
            ),
            "agent",
        );
        assert_eq!(c.len(), 2);
        assert!(
            matches!(&c[0], Change::Published(_, t) if t.sid == "TR_1" && t.kind == TrackKind::Audio)
        );
        assert!(
            matches!(&c[1], Change::Attributes(_, m) if m.get("a").map(String::as_str) == Some("1"))
        );
        assert_eq!(r.owner_of("TR_1").map(|p| p.identity), Some("cand".into()));
        // stale update is ignored
        assert!(r
            .apply(&info("PA_1", "cand", 1, &[], &[]), "agent")
            .is_empty());
        let c = r.apply(&info("PA_1", "cand", 3, &[], &[("a", "1")]), "agent");
        assert!(matches!(&c[..], [Change::Unpublished(_, t)] if t.sid == "TR_1"));
        let mut gone = info("PA_1", "cand", 4, &[], &[]);
        gone.state = proto::participant_info::State::Disconnected as i32;
        assert!(matches!(&r.apply(&gone, "agent")[..], [Change::Left(p, _)] if p.sid == "PA_1"));
        assert!(r.owner_of("TR_1").is_none());
    }

    #[test]
    fn our_own_identity_is_not_a_remote_participant() {
        let mut r = Roster::default();
        assert!(r
            .apply(&info("PA_9", "agent", 1, &[], &[]), "agent")
            .is_empty());
    }

    #[test]
    fn retain_only_reports_who_left_while_away() {
        let mut r = Roster::default();
        r.apply(&info("PA_1", "a", 1, &[], &[]), "me");
        r.apply(&info("PA_2", "b", 1, &[], &[]), "me");
        let c = r.retain_only(&[info("PA_2", "b", 1, &[], &[])]);
        assert!(matches!(&c[..], [Change::Left(p, _)] if p.identity == "a"));
    }
}
