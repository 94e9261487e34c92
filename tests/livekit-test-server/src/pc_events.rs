//! TEST FIXTURE, not a product: the peer-connection event handler of a participant's two PCs;
//! it trickles local candidates, reports gathering/connection state, and hands remote tracks
//! and data channels to the participant.

use crate::participant::{Participant, PUBLISHER, SUBSCRIBER};
use livekit_protocol as proto;
use proto::signal_response::Message as Out;
use std::sync::{Arc, OnceLock, Weak};
use tokio::sync::watch;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState,
};

/// Peer-connection event handler; forwards events to the owning participant.
pub(crate) struct PcEvents {
    pub(crate) target: i32,
    pub(crate) owner: Arc<OnceLock<Weak<Participant>>>,
    pub(crate) gathered: watch::Sender<bool>,
}

impl PcEvents {
    fn owner(&self) -> Option<Arc<Participant>> {
        self.owner.get().and_then(Weak::upgrade)
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PcEvents {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Some(p) = self.owner() else { return };
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        let json = serde_json::json!({
            "candidate": init.candidate,
            "sdpMid": init.sdp_mid.unwrap_or_else(|| "0".into()),
            "sdpMLineIndex": init.sdp_mline_index.unwrap_or(0),
        });
        p.send(Out::Trickle(proto::TrickleRequest {
            candidate_init: json.to_string(),
            target: self.target,
            r#final: false,
        }));
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let Some(p) = self.owner() else { return };
        tracing::debug!(identity = %p.identity, target = self.target, %state, "pc state");
        if (self.target == SUBSCRIBER || p.single_pc) && state == RTCPeerConnectionState::Connected
        {
            tokio::spawn(async move { p.mark_active() });
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some(p) = self.owner() {
            tokio::spawn(async move { p.on_remote_track(track).await });
        }
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        if let Some(p) = self.owner() {
            if self.target == PUBLISHER {
                tokio::spawn(crate::data::run_publisher_channel(p, dc));
            }
        }
    }
}
