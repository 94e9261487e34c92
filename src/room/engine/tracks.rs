//! Remote participants and tracks: roster changes become events; subscribed Opus tracks
//! become audio streams (which survive a rejoin).

use super::*;

impl Engine {
    pub(super) async fn apply_participant(&mut self, info: &proto::ParticipantInfo) {
        if info.sid == self.local.sid {
            self.local = info.clone();
            return;
        }
        let changes = self.roster.apply(info, &self.local.identity);
        self.report(changes).await;
    }

    pub(super) async fn report(&mut self, changes: Vec<Change>) {
        for change in changes {
            match change {
                Change::Joined(p) => {
                    tracing::info!(identity = %p.identity, "participant joined");
                    self.emit(RoomEvent::ParticipantConnected(p)).await
                }
                Change::Left(p, tracks) => {
                    tracing::info!(identity = %p.identity, "participant left");
                    for t in tracks {
                        self.end_stream(&t.sid);
                        self.emit(RoomEvent::TrackUnpublished {
                            participant: p.clone(),
                            track: t,
                        })
                        .await;
                    }
                    self.emit(RoomEvent::ParticipantDisconnected(p)).await
                }
                Change::Attributes(participant, changed) => {
                    self.emit(RoomEvent::AttributesChanged {
                        participant,
                        changed,
                    })
                    .await
                }
                Change::Published(participant, track) => {
                    let decodable = track.kind == TrackKind::Audio
                        && (track.mime_type.is_empty()
                            || track.mime_type.eq_ignore_ascii_case("audio/opus")
                            || track.mime_type.eq_ignore_ascii_case("audio/red"));
                    if !decodable {
                        tracing::info!(
                            identity = %participant.identity, track_sid = %track.sid, kind = ?track.kind,
                            mime = %track.mime_type, "ignoring track: only Opus audio is used"
                        );
                        self.emit(RoomEvent::TrackIgnored {
                            participant_identity: participant.identity.clone(),
                            track_sid: track.sid.clone(),
                            reason: format!(
                                "{:?} {} is not Opus audio",
                                track.kind, track.mime_type
                            ),
                        })
                        .await;
                    }
                    self.emit(RoomEvent::TrackPublished { participant, track })
                        .await
                }
                Change::Unpublished(participant, track) => {
                    self.end_stream(&track.sid);
                    self.emit(RoomEvent::TrackUnpublished { participant, track })
                        .await
                }
            }
        }
    }

    pub(super) fn end_stream(&mut self, track_sid: &str) {
        if let Some(s) = self.streams.remove(track_sid) {
            s.close();
        }
    }

    pub(super) async fn on_remote_track(&mut self, track: Arc<dyn TrackRemote>) {
        let track_sid = track.track_id().await;
        let Some(owner) = self.roster.owner_of(&track_sid) else {
            // The server may announce the track after media starts; retry on the next update.
            self.unresolved.push(track);
            return;
        };
        if track.kind().await != RtpCodecKind::Audio {
            tokio::spawn(subscribe::drain(track));
            return;
        }
        if let Some(existing) = self.streams.get(&track_sid) {
            if !existing.is_closed() {
                // Same track re-subscribed after a rejoin: keep feeding the owner's stream.
                tokio::spawn(subscribe::pump_opus(track, existing.clone(), track_sid));
                return;
            }
        }
        let (tx, rx) = frame_queue(self.opts.audio_queue_frames);
        self.streams.insert(track_sid.clone(), tx.clone());
        tracing::info!(identity = %owner.identity, %track_sid, "subscribed to audio track");
        tokio::spawn(subscribe::pump_opus(track, tx, track_sid.clone()));
        self.emit(RoomEvent::AudioTrackSubscribed {
            participant: owner,
            track_sid,
            stream: rx,
        })
        .await;
    }

    pub(super) async fn resolve_unresolved(&mut self) {
        for track in std::mem::take(&mut self.unresolved) {
            self.on_remote_track(track).await;
        }
    }
}
