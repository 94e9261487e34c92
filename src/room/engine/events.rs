//! Peer connection and data channel events: local candidates, connection states, remote
//! tracks and channels, incoming data and text streams.

use super::*;

impl Engine {
    pub(super) async fn on_pc(&mut self, t: Tagged) -> Flow {
        if t.generation != self.generation {
            return Flow::Continue;
        }
        match t.event {
            PcEvent::Candidate(mut init) => {
                let idx = t.target as usize;
                if self.local_mid[idx].is_none() {
                    let pc = if t.target == Target::Publisher {
                        &self.publisher
                    } else {
                        &self.subscriber
                    };
                    self.local_mid[idx] = pc
                        .local_description()
                        .await
                        .and_then(|d| peer::first_mid(&d.sdp));
                }
                init.sdp_mid = Some(self.local_mid[idx].clone().unwrap_or_else(|| "0".into()));
                init.sdp_mline_index = Some(0);
                match serde_json::to_string(&init) {
                    Ok(json) => {
                        self.signal
                            .send(Req::Trickle(proto::TrickleRequest {
                                candidate_init: json,
                                target: t.target as i32,
                                r#final: false,
                            }))
                            .await
                    }
                    Err(e) => tracing::debug!("cannot serialise candidate: {e}"),
                }
            }
            PcEvent::State(state) => {
                tracing::debug!(target = ?t.target, %state, "peer connection state");
                if t.target == Target::Publisher {
                    self.pub_connected = state == RTCPeerConnectionState::Connected;
                    if self.pub_connected {
                        self.activate_publications().await;
                    }
                }
                if state == RTCPeerConnectionState::Failed {
                    return Flow::Rejoin(format!("{:?} peer connection failed", t.target));
                }
            }
            PcEvent::Track(track) => self.on_remote_track(track).await,
            PcEvent::DataChannel(dc) => {
                let label = dc.label().await.unwrap_or_default();
                self.spawn_channel_reader(dc, label, false);
            }
        }
        Flow::Continue
    }

    pub(super) async fn on_dc(&mut self, d: DcEvent) {
        if d.generation != self.generation {
            return;
        }
        match d.kind {
            DcKind::Open => {
                if d.publisher
                    && self.pub_channels.contains_key(&d.label)
                    && !self.open_channels.contains(&d.label)
                {
                    self.open_channels.push(d.label);
                    self.flush_data().await;
                }
            }
            DcKind::Closed if d.publisher => self.open_channels.retain(|l| l != &d.label),
            DcKind::Closed => {}
            DcKind::Message(bytes) => match self.reassembler.push(&bytes) {
                Some(Incoming::User {
                    identity,
                    topic,
                    payload,
                }) => {
                    self.emit(RoomEvent::DataReceived {
                        participant_identity: identity,
                        topic,
                        payload,
                    })
                    .await
                }
                Some(Incoming::Text {
                    identity,
                    topic,
                    attributes,
                    text,
                }) => {
                    self.emit(RoomEvent::TextReceived {
                        participant_identity: identity,
                        topic,
                        attributes,
                        text,
                    })
                    .await
                }
                None => {}
            },
        }
    }
}
