//! Building the two peer connections LiveKit expects (publisher: we offer; subscriber: the
//! server offers) and turning their callbacks into engine events.

use std::sync::Arc;

use async_trait::async_trait;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::peer_connection::configuration::setting_engine::SctpMaxMessageSize;
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, Registry, SettingEngineBuilder,
};

use super::error::RoomError;

/// Which connection, numbered as LiveKit's `SignalTarget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Publisher = 0,
    Subscriber = 1,
}

/// Payload type we offer for Opus on the publisher (the answer must echo the offerer's).
pub const OPUS_PT: u8 = 111;

/// The largest data channel message we send or accept: LiveKit's limit for a whole data
/// packet (its SDKs keep user payloads to 15 KiB and chunk streams at 15 000 bytes). The
/// SCTP transport keeps a zeroed working buffer of this size per connection; webrtc's
/// default (64 KiB, RFC 8841) would be 96 KiB more per interview for messages LiveKit
/// never sends.
pub const MAX_DATA_MESSAGE: usize = 16 * 1024;

pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Events from a peer connection, tagged with the connection generation so events from a
/// connection torn down by a rejoin are ignored.
pub enum PcEvent {
    Candidate(rtc::peer_connection::transport::RTCIceCandidateInit),
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
    DataChannel(Arc<dyn DataChannel>),
}

pub struct Tagged {
    pub generation: u64,
    pub target: Target,
    pub event: PcEvent,
}

struct Handler {
    generation: u64,
    target: Target,
    tx: mpsc::Sender<Tagged>,
}

impl Handler {
    async fn emit(&self, event: PcEvent) {
        // A closed receiver means the engine is gone; nothing left to tell.
        let _ = self
            .tx
            .send(Tagged {
                generation: self.generation,
                target: self.target,
                event,
            })
            .await;
    }
}

#[async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => self.emit(PcEvent::Candidate(init)).await,
            Err(e) => tracing::debug!(target = ?self.target, "unserialisable local candidate: {e}"),
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.emit(PcEvent::State(state)).await;
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.emit(PcEvent::Track(track)).await;
    }
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        self.emit(PcEvent::DataChannel(dc)).await;
    }
}

pub type Pc = Arc<dyn PeerConnection>;

/// Build one peer connection bound to `bind` (UDP).
pub async fn build(
    target: Target,
    generation: u64,
    bind: &str,
    tx: mpsc::Sender<Tagged>,
) -> Result<Pc, RoomError> {
    let mut media = MediaEngine::default();
    // Opus only: answering an offer of opus+red+PCMU with opus makes LiveKit strip RED for us,
    // and video m-lines are rejected (we never decode video).
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    let mut settings = SettingEngineBuilder::new()
        .with_include_loopback_candidate(bind.starts_with("127."))
        .with_sctp_max_message_size(SctpMaxMessageSize::Bounded(MAX_DATA_MESSAGE as u32));
    if target == Target::Subscriber {
        // As DTLS server the handshake finishes right after ICE (no extra client round trip).
        settings = settings.with_answering_dtls_role(RTCDtlsRole::Server);
    }
    let handler = Arc::new(Handler {
        generation,
        target,
        tx,
    });
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings.build())
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![bind.to_string()])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// Create the publisher's `_reliable` and `_lossy` data channels, as LiveKit clients do.
pub async fn create_data_channels(
    pc: &Pc,
) -> Result<(Arc<dyn DataChannel>, Arc<dyn DataChannel>), RoomError> {
    let reliable = pc
        .create_data_channel(
            "_reliable",
            Some(RTCDataChannelInit {
                ordered: true,
                ..Default::default()
            }),
        )
        .await?;
    let lossy = pc
        .create_data_channel(
            "_lossy",
            Some(RTCDataChannelInit {
                ordered: false,
                max_retransmits: Some(0),
                ..Default::default()
            }),
        )
        .await?;
    Ok((reliable, lossy))
}

/// The first `a=mid:` of an SDP: with BUNDLE every candidate belongs to it.
pub fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=mid:"))
        .map(str::to_string)
}

/// Wait (briefly) until the local description carries a host candidate. Sending the SDP before
/// that makes the server file our first checks as peer-reflexive and stall ~1 s.
pub async fn wait_for_local_candidates(pc: &Pc) -> Option<String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(500);
    loop {
        let sdp = pc.local_description().await.map(|d| d.sdp);
        if let Some(s) = &sdp {
            if s.contains("a=candidate") || tokio::time::Instant::now() >= deadline {
                return sdp;
            }
        } else if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_mid_is_found() {
        assert_eq!(
            first_mid("v=0\r\nm=application 9\r\na=mid:0\r\na=mid:1\r\n"),
            Some("0".into())
        );
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
