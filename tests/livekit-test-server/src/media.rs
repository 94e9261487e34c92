//! TEST FIXTURE, not a product: peer-connection construction for the LiveKit test server and
//! RTP forwarding from a publisher's remote track to subscribers' local tracks (with SSRC/PT
//! rewrite and RED -> Opus stripping for subscribers that did not negotiate RED).

use crate::red;
use bytes::Bytes;
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use std::sync::{Arc, Mutex};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler};
use webrtc::rtp_transceiver::{RtpSender, RtpTransceiver};

/// MIME type of RFC 2198 redundant audio as LiveKit uses it.
pub(crate) const MIME_TYPE_RED: &str = "audio/red";

fn media_engine(with_red: bool) -> webrtc::error::Result<MediaEngine> {
    let mut m = MediaEngine::default();
    m.register_default_codecs()?;
    if !with_red {
        return Ok(m);
    }
    m.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_RED.to_owned(),
                clock_rate: 48000,
                channels: 2,
                sdp_fmtp_line: "111/111".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 63,
        },
        RtpCodecKind::Audio,
    )?;
    Ok(m)
}

/// Builds a peer connection bound to 127.0.0.1 UDP only.
/// `with_red`: register `audio/red` next to Opus (always for publishers; for subscribers unless
/// the server is configured to force the RED -> Opus stripping path).
pub(crate) async fn build_pc(
    handler: Arc<dyn PeerConnectionEventHandler>,
    with_red: bool,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    let mut me = media_engine(with_red)?;
    let registry = register_default_interceptors(Registry::new(), &mut me)?;
    // The server is the DTLS client (as livekit-server's pion is). This stack queues its
    // first ClientHello at ICE selection but only sends it on its next timer (the ICE check
    // tick, 200 ms by default): a stall of up to 200 ms per peer connection that pion does not
    // have. A 20 ms tick (same 1.4 s of attempts) keeps the fixture's joins close to the real
    // server's instead of adding that to every measured join.
    let settings = SettingEngineBuilder::new()
        .with_include_loopback_candidate(true)
        .with_ice_connection_attempts(Some(std::time::Duration::from_millis(20)), Some(70))
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(me)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// How packets are rewritten for one subscriber, known once its answer is applied.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutMode {
    pub payload_type: u8,
    pub strip_red: bool,
}

/// One subscriber's copy of a published track.
pub(crate) struct DownTrack {
    pub subscriber_sid: String,
    pub track_sid: String,
    pub local: Arc<TrackLocalStaticRTP>,
    pub sender: Arc<dyn RtpSender>,
    /// Single-PC mode: the transceiver (its mid stays unset until a client offer brings a
    /// recvonly m-section for it).
    pub transceiver: Option<Arc<dyn RtpTransceiver>>,
    pub ssrc: u32,
    pub mode: Mutex<Option<OutMode>>,
}

impl DownTrack {
    /// Creates the local track a subscriber PC sends. Stream id is `<participant_sid>|<track_sid>`
    /// and track id is the track sid, as livekit-server does.
    pub(crate) fn local_track(
        publisher_sid: &str,
        track_sid: &str,
        kind: RtpCodecKind,
        mime: &str,
    ) -> (Arc<TrackLocalStaticRTP>, u32) {
        let ssrc: u32 = rand::random::<u32>() | 1;
        let codec = if kind == RtpCodecKind::Audio {
            RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            }
        } else {
            RTCRtpCodec {
                mime_type: mime.to_owned(),
                clock_rate: 90000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![],
            }
        };
        let track = MediaStreamTrack::new(
            format!("{publisher_sid}|{track_sid}"),
            track_sid.to_owned(),
            track_sid.to_owned(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        (Arc::new(TrackLocalStaticRTP::new(track)), ssrc)
    }

    /// Resolves the payload type to send, from the codecs negotiated on this sender.
    pub(crate) async fn resolve_mode(&self, source_mime: &str) -> Option<OutMode> {
        let mode = self.compute_mode(source_mime).await;
        if let Ok(mut m) = self.mode.lock() {
            *m = mode;
        }
        mode
    }

    async fn compute_mode(&self, source_mime: &str) -> Option<OutMode> {
        let params = self.sender.get_parameters().await.ok()?;
        let codecs = params.rtp_parameters.codecs;
        let pt_of = |mime: &str| {
            codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
                .map(|c| c.payload_type)
        };
        let mode = if source_mime.eq_ignore_ascii_case(MIME_TYPE_RED) {
            match pt_of(MIME_TYPE_RED) {
                Some(pt) => OutMode {
                    payload_type: pt,
                    strip_red: false,
                },
                None => OutMode {
                    payload_type: pt_of(MIME_TYPE_OPUS)?,
                    strip_red: true,
                },
            }
        } else {
            OutMode {
                payload_type: pt_of(source_mime)?,
                strip_red: false,
            }
        };
        if let Ok(mut m) = self.mode.lock() {
            *m = Some(mode);
        }
        Some(mode)
    }

    fn current_mode(&self) -> Option<OutMode> {
        self.mode.lock().ok().and_then(|m| *m)
    }
}

/// A track published by a participant, with the subscribers it is forwarded to.
pub(crate) struct Forwarder {
    pub track_sid: String,
    /// MIME type the publisher sends (e.g. `audio/red`, `audio/opus`, `video/VP8`).
    pub mime: Mutex<String>,
    pub kind: RtpCodecKind,
    pub down: Mutex<Vec<Arc<DownTrack>>>,
    pub remote: Mutex<Option<Arc<dyn TrackRemote>>>,
}

impl Forwarder {
    pub(crate) fn new(track_sid: String, kind: RtpCodecKind) -> Self {
        Self {
            track_sid,
            mime: Mutex::new(String::new()),
            kind,
            down: Mutex::new(Vec::new()),
            remote: Mutex::new(None),
        }
    }

    pub(crate) fn mime(&self) -> String {
        self.mime.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub(crate) fn add_down(&self, d: Arc<DownTrack>) {
        if let Ok(mut v) = self.down.lock() {
            v.push(d);
        }
    }

    pub(crate) fn remove_down(&self, subscriber_sid: &str) -> Option<Arc<DownTrack>> {
        let mut v = self.down.lock().ok()?;
        let idx = v.iter().position(|d| d.subscriber_sid == subscriber_sid)?;
        Some(v.remove(idx))
    }

    fn downs(&self) -> Vec<Arc<DownTrack>> {
        self.down.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Asks the publisher for a keyframe (video only).
    pub(crate) async fn request_keyframe(&self) {
        if self.kind != RtpCodecKind::Video {
            return;
        }
        let remote = self.remote.lock().ok().and_then(|r| r.clone());
        if let Some(remote) = remote {
            let ssrcs = remote.ssrcs().await;
            if let Some(ssrc) = ssrcs.first() {
                let _ = remote
                    .write_rtcp(vec![Box::new(PictureLossIndication {
                        sender_ssrc: 0,
                        media_ssrc: *ssrc,
                    })])
                    .await;
            }
        }
    }

    /// Reads the publisher's RTP until the track ends, writing a rewritten copy to every
    /// subscriber whose negotiation has completed. Returns when the remote track ends.
    pub(crate) async fn run(self: Arc<Self>, remote: Arc<dyn TrackRemote>) {
        let source_is_red = self.mime().eq_ignore_ascii_case(MIME_TYPE_RED);
        let mut red_pt: Option<u8> = None;
        while let Some(ev) = remote.poll().await {
            let TrackRemoteEvent::OnRtpPacket(pkt) = ev else {
                if matches!(ev, TrackRemoteEvent::OnEnded) {
                    break;
                }
                continue;
            };
            let is_red = source_is_red && {
                let pt = *red_pt.get_or_insert(pkt.header.payload_type);
                pt == pkt.header.payload_type
            };
            for d in self.downs() {
                let Some(mode) = d.current_mode() else {
                    continue;
                };
                let mut p = pkt.clone();
                if is_red && mode.strip_red {
                    match red::primary_block(&p.payload) {
                        Some(primary) if !primary.is_empty() => {
                            p.payload = Bytes::copy_from_slice(primary)
                        }
                        _ => continue,
                    }
                }
                p.header.ssrc = d.ssrc;
                p.header.payload_type = mode.payload_type;
                // Extension ids are per-PC; the publisher's would be misread downstream.
                p.header.extension = false;
                p.header.extension_profile = 0;
                p.header.extensions.clear();
                let _ = d.local.write_rtp(p).await;
            }
        }
        tracing::debug!(track = %self.track_sid, "publisher track ended");
    }
}
