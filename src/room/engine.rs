//! The room's control loop: one task that owns the signalling client and both peer
//! connections, runs offer/answer and trickle ICE, tracks participants, routes remote tracks
//! to their audio streams, and rejoins transparently when the signal connection drops.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalEvent};
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, oneshot};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{RTCPeerConnectionState, RTCSessionDescription};
use webrtc::rtp_transceiver::RtpSender;

use super::data::{self, Incoming, Reassembler};
use super::error::RoomError;
use super::events::{RoomEvent, TrackKind};
use super::options::RoomOptions;
use super::participants::{Change, Roster};
use super::peer::{self, Pc, PcEvent, Tagged, Target};
use super::publish::{Writer, WriterSlot};
use super::signal::{self, Connected};
use super::subscribe;
use crate::audio::{frame_queue, FrameSender};

/// Requests from the [`Room`](super::Room) handle.
pub(crate) enum Command {
    PublishAudio {
        name: String,
        reply: oneshot::Sender<Result<Arc<WriterSlot>, RoomError>>,
    },
    SetAttributes {
        attributes: HashMap<String, String>,
        reply: oneshot::Sender<Result<(), RoomError>>,
    },
    SendData {
        packets: Vec<proto::DataPacket>,
        reliable: bool,
        reply: oneshot::Sender<Result<(), RoomError>>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

enum DcKind {
    Open,
    Message(Vec<u8>),
    Closed,
}

struct DcEvent {
    generation: u64,
    /// Our own (publisher) channel, as opposed to one the server opened on the subscriber
    /// connection with the same label.
    publisher: bool,
    label: String,
    kind: DcKind,
}

struct LocalPublication {
    name: String,
    cid: String,
    slot: Arc<WriterSlot>,
    track: Option<Arc<TrackLocalStaticSample>>,
    sender: Option<Arc<dyn RtpSender>>,
    ssrc: u32,
    reply: Option<oneshot::Sender<Result<Arc<WriterSlot>, RoomError>>>,
}

/// What to do after handling a signal message.
enum Flow {
    Continue,
    Rejoin(String),
    Stop(String),
}

/// An encoded packet waiting for its data channel, whether it is reliable, and who to tell.
type PendingData = (
    Vec<u8>,
    bool,
    Option<oneshot::Sender<Result<(), RoomError>>>,
);

/// Packets waiting for the publisher's data channel to open (bounded).
const MAX_PENDING_DATA: usize = 1024;

pub(crate) struct Engine {
    url: String,
    token: String,
    opts: RoomOptions,
    bind: String,
    signal: Arc<SignalClient>,
    signal_events: mpsc::UnboundedReceiver<SignalEvent>,
    local: proto::ParticipantInfo,
    generation: u64,
    pc_tx: mpsc::Sender<Tagged>,
    pc_rx: mpsc::Receiver<Tagged>,
    dc_tx: mpsc::Sender<DcEvent>,
    dc_rx: mpsc::Receiver<DcEvent>,
    publisher: Pc,
    subscriber: Pc,
    pub_channels: HashMap<String, Arc<dyn DataChannel>>,
    open_channels: Vec<String>,
    remote_set: [bool; 2],
    pending_candidates: [Vec<RTCIceCandidateInit>; 2],
    local_mid: [Option<String>; 2],
    pub_negotiated: bool,
    /// Publisher DTLS/SRTP is up: only then do writes reach the wire.
    pub_connected: bool,
    negotiating: bool,
    renegotiate: bool,
    offer_id: u32,
    publications: Vec<LocalPublication>,
    roster: Roster,
    streams: HashMap<String, FrameSender>,
    unresolved: Vec<Arc<dyn TrackRemote>>,
    reassembler: Reassembler,
    pending_data: Vec<PendingData>,
    events: mpsc::Sender<RoomEvent>,
    cmd_rx: mpsc::Receiver<Command>,
}

pub(crate) struct Joined {
    pub engine: Engine,
    pub local: proto::ParticipantInfo,
    pub room: proto::Room,
}

impl Engine {
    /// Join (with retries) and set up both peer connections.
    pub async fn join(
        url: &str,
        token: &str,
        opts: RoomOptions,
        events: mpsc::Sender<RoomEvent>,
        cmd_rx: mpsc::Receiver<Command>,
    ) -> Result<Joined, RoomError> {
        let Connected {
            client,
            join,
            events: signal_events,
        } = signal::connect(url, token, &opts).await?;
        let bind = opts.media_bind_addr(url);
        let (pc_tx, pc_rx) = mpsc::channel(256);
        let (dc_tx, dc_rx) = mpsc::channel(256);
        let publisher = peer::build(Target::Publisher, 0, &bind, pc_tx.clone()).await?;
        let subscriber = peer::build(Target::Subscriber, 0, &bind, pc_tx.clone()).await?;
        let local = join.participant.clone().unwrap_or_default();
        let room = join.room.clone().unwrap_or_default();
        let mut engine = Engine {
            url: url.to_string(),
            token: token.to_string(),
            opts,
            bind,
            signal: client,
            signal_events,
            local: local.clone(),
            generation: 0,
            pc_tx,
            pc_rx,
            dc_tx,
            dc_rx,
            publisher,
            subscriber,
            pub_channels: HashMap::new(),
            open_channels: Vec::new(),
            remote_set: [false; 2],
            pending_candidates: [Vec::new(), Vec::new()],
            local_mid: [None, None],
            pub_negotiated: false,
            pub_connected: false,
            negotiating: false,
            renegotiate: false,
            offer_id: 0,
            publications: Vec::new(),
            roster: Roster::default(),
            streams: HashMap::new(),
            unresolved: Vec::new(),
            reassembler: Reassembler::default(),
            pending_data: Vec::new(),
            events,
            cmd_rx,
        };
        engine.setup_publisher_channels().await?;
        for p in &join.other_participants {
            engine.apply_participant(p).await;
        }
        tracing::info!(room = %room.name, identity = %local.identity, sid = %local.sid, "joined room");
        Ok(Joined {
            engine,
            local,
            room,
        })
    }

    async fn setup_publisher_channels(&mut self) -> Result<(), RoomError> {
        let (reliable, lossy) = peer::create_data_channels(&self.publisher).await?;
        self.pub_channels.clear();
        self.open_channels.clear();
        for dc in [reliable, lossy] {
            let label = dc.label().await.unwrap_or_default();
            self.spawn_channel_reader(dc.clone(), label.clone(), true);
            self.pub_channels.insert(label, dc);
        }
        Ok(())
    }

    fn spawn_channel_reader(&self, dc: Arc<dyn DataChannel>, label: String, publisher: bool) {
        let tx = self.dc_tx.clone();
        let generation = self.generation;
        tokio::spawn(async move {
            while let Some(ev) = dc.poll().await {
                let kind = match ev {
                    DataChannelEvent::OnOpen => DcKind::Open,
                    DataChannelEvent::OnMessage(m) => DcKind::Message(m.data.to_vec()),
                    DataChannelEvent::OnClose => DcKind::Closed,
                    _ => continue,
                };
                let closed = matches!(kind, DcKind::Closed);
                if tx
                    .send(DcEvent {
                        generation,
                        publisher,
                        label: label.clone(),
                        kind,
                    })
                    .await
                    .is_err()
                    || closed
                {
                    break;
                }
            }
        });
    }

    /// Run until closed. Always ends by telling the owner why.
    pub async fn run(mut self) {
        let reason = loop {
            let flow = tokio::select! {
                biased;
                cmd = self.cmd_rx.recv() => match cmd {
                    None => { self.leave().await; break "room handle dropped".to_string(); }
                    Some(Command::Close { reply }) => {
                        self.leave().await;
                        let _ = reply.send(());
                        break "left the room".to_string();
                    }
                    Some(cmd) => { self.on_command(cmd).await; Flow::Continue }
                },
                ev = self.signal_events.recv() => match ev {
                    Some(SignalEvent::Message(m)) => self.on_signal(*m).await,
                    Some(SignalEvent::Close(why)) => Flow::Rejoin(format!("signal connection closed: {why}")),
                    None => Flow::Rejoin("signal connection ended".into()),
                },
                Some(t) = self.pc_rx.recv() => self.on_pc(t).await,
                Some(d) = self.dc_rx.recv() => { self.on_dc(d).await; Flow::Continue }
            };
            match flow {
                Flow::Continue => {}
                Flow::Stop(reason) => {
                    self.teardown().await;
                    break reason;
                }
                Flow::Rejoin(reason) => {
                    if let Err(e) = self.rejoin(reason).await {
                        self.teardown().await;
                        break format!("could not rejoin: {e}");
                    }
                }
            }
        };
        tracing::info!("left room: {reason}");
        for (_, s) in self.streams.drain() {
            s.close();
        }
        let _ = self.events.send(RoomEvent::Disconnected { reason }).await;
    }

    async fn emit(&self, ev: RoomEvent) {
        let _ = self.events.send(ev).await;
    }

    // ---- commands ---------------------------------------------------------------------

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::PublishAudio { name, reply } => {
                let cid = data::random_id("TR_local_");
                let slot = Arc::new(WriterSlot::default());
                self.publications.push(LocalPublication {
                    name: name.clone(),
                    cid: cid.clone(),
                    slot,
                    track: None,
                    sender: None,
                    ssrc: rand::random::<u32>() | 1,
                    reply: Some(reply),
                });
                self.request_publish(&cid, &name).await;
            }
            Command::SetAttributes { attributes, reply } => {
                self.signal
                    .send(Req::UpdateMetadata(proto::UpdateParticipantMetadata {
                        metadata: self.local.metadata.clone(),
                        name: self.local.name.clone(),
                        attributes,
                        request_id: self.signal.next_request_id(),
                    }))
                    .await;
                let _ = reply.send(Ok(()));
            }
            Command::SendData {
                packets,
                reliable,
                reply,
            } => {
                if self.pending_data.len() + packets.len() > MAX_PENDING_DATA {
                    let _ = reply.send(Err(RoomError::Invalid(
                        "data channel backlog is full".into(),
                    )));
                    return;
                }
                if packets.is_empty() {
                    let _ = reply.send(Ok(()));
                    return;
                }
                for p in &packets {
                    self.pending_data.push((data::encode(p), reliable, None));
                }
                // The caller hears back when the last packet of the batch is sent.
                if let Some(last) = self.pending_data.last_mut() {
                    last.2 = Some(reply);
                }
                if !self.pub_negotiated {
                    self.negotiate().await;
                }
                self.flush_data().await;
            }
            Command::Close { .. } => {}
        }
    }

    async fn request_publish(&self, cid: &str, name: &str) {
        self.signal
            .send(Req::AddTrack(proto::AddTrackRequest {
                cid: cid.to_string(),
                name: name.to_string(),
                r#type: proto::TrackType::Audio as i32,
                source: proto::TrackSource::Microphone as i32,
                disable_red: true,
                ..Default::default()
            }))
            .await;
    }

    async fn flush_data(&mut self) {
        let mut keep = Vec::new();
        for (bytes, reliable, reply) in std::mem::take(&mut self.pending_data) {
            let label = if reliable { "_reliable" } else { "_lossy" };
            let ready = self.open_channels.iter().any(|l| l == label);
            match (ready, self.pub_channels.get(label)) {
                (true, Some(dc)) => {
                    let res = dc
                        .send(bytes::BytesMut::from(&bytes[..]))
                        .await
                        .map_err(|e| RoomError::WebRtc(e.to_string()));
                    if let Some(r) = reply {
                        let _ = r.send(res);
                    }
                }
                _ => keep.push((bytes, reliable, reply)),
            }
        }
        self.pending_data = keep;
    }

    async fn leave(&mut self) {
        self.signal
            .send(Req::Leave(proto::LeaveRequest {
                reason: proto::DisconnectReason::ClientInitiated as i32,
                action: proto::leave_request::Action::Disconnect as i32,
                ..Default::default()
            }))
            .await;
        self.teardown().await;
    }

    async fn teardown(&mut self) {
        for p in &self.publications {
            *p.slot.writer.write().await = None;
        }
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
        self.signal.close().await;
    }

    // ---- signalling -------------------------------------------------------------------

    async fn on_signal(&mut self, msg: Resp) -> Flow {
        let res = match msg {
            Resp::Offer(sd) => self.on_subscriber_offer(sd).await,
            Resp::Answer(sd) => self.on_publisher_answer(sd).await,
            Resp::Trickle(t) => {
                self.on_remote_candidate(t).await;
                Ok(())
            }
            Resp::Update(u) => {
                for p in &u.participants {
                    self.apply_participant(p).await;
                }
                self.resolve_unresolved().await;
                Ok(())
            }
            Resp::TrackPublished(t) => self.on_track_published(t).await,
            Resp::TrackUnpublished(t) => {
                tracing::warn!(track_sid = %t.track_sid, "server unpublished our track");
                Ok(())
            }
            Resp::Leave(l) => {
                let action = proto::leave_request::Action::try_from(l.action)
                    .unwrap_or(proto::leave_request::Action::Disconnect);
                let reason = proto::DisconnectReason::try_from(l.reason)
                    .map(|r| r.as_str_name().to_string())
                    .unwrap_or_else(|_| l.reason.to_string());
                return match action {
                    proto::leave_request::Action::Disconnect if !l.can_reconnect => {
                        Flow::Stop(format!("server asked us to leave ({reason})"))
                    }
                    _ => Flow::Rejoin(format!("server asked us to reconnect ({reason})")),
                };
            }
            Resp::RefreshToken(t) => {
                self.token = t;
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = res {
            tracing::warn!("signal handling failed: {e}");
            if e.is_retryable() {
                return Flow::Rejoin(e.to_string());
            }
        }
        Flow::Continue
    }

    async fn on_subscriber_offer(
        &mut self,
        sd: proto::SessionDescription,
    ) -> Result<(), RoomError> {
        let pc = self.subscriber.clone();
        pc.set_remote_description(RTCSessionDescription::offer(sd.sdp)?)
            .await?;
        self.remote_set[1] = true;
        self.flush_candidates(Target::Subscriber).await;
        let answer = pc.create_answer(None).await?;
        pc.set_local_description(answer).await?;
        let sdp = peer::wait_for_local_candidates(&pc)
            .await
            .ok_or(RoomError::Timeout("subscriber local description"))?;
        self.local_mid[1] = peer::first_mid(&sdp);
        self.signal
            .send(Req::Answer(proto::SessionDescription {
                r#type: "answer".into(),
                sdp,
                id: sd.id,
                ..Default::default()
            }))
            .await;
        Ok(())
    }

    async fn negotiate(&mut self) {
        if self.negotiating {
            self.renegotiate = true;
            return;
        }
        if let Err(e) = self.send_offer().await {
            tracing::warn!("publisher negotiation failed: {e}");
            self.negotiating = false;
        }
    }

    async fn send_offer(&mut self) -> Result<(), RoomError> {
        self.negotiating = true;
        self.pub_negotiated = true;
        let offer = self.publisher.create_offer(None).await?;
        self.publisher.set_local_description(offer).await?;
        let sdp = peer::wait_for_local_candidates(&self.publisher)
            .await
            .ok_or(RoomError::Timeout("publisher local description"))?;
        self.local_mid[0] = peer::first_mid(&sdp);
        self.offer_id += 1;
        self.signal
            .send(Req::Offer(proto::SessionDescription {
                r#type: "offer".into(),
                sdp,
                id: self.offer_id,
                ..Default::default()
            }))
            .await;
        Ok(())
    }

    async fn on_publisher_answer(
        &mut self,
        sd: proto::SessionDescription,
    ) -> Result<(), RoomError> {
        self.publisher
            .set_remote_description(RTCSessionDescription::answer(sd.sdp)?)
            .await?;
        self.remote_set[0] = true;
        self.negotiating = false;
        self.flush_candidates(Target::Publisher).await;
        self.activate_publications().await;
        if std::mem::take(&mut self.renegotiate) {
            self.negotiate().await;
        }
        Ok(())
    }

    /// After an answer: point each negotiated publication's writer at its track.
    async fn activate_publications(&mut self) {
        if !self.pub_connected || self.negotiating {
            return;
        }
        for p in &mut self.publications {
            let (Some(track), Some(sender)) = (&p.track, &p.sender) else {
                continue;
            };
            let pt = match sender.get_parameters().await {
                Ok(params) => params.rtp_parameters.codecs.first().map(|c| c.payload_type),
                Err(_) => None,
            }
            .unwrap_or(peer::OPUS_PT);
            *p.slot.writer.write().await = Some(Writer {
                track: track.clone(),
                ssrc: p.ssrc,
                payload_type: pt,
            });
            if let Some(reply) = p.reply.take() {
                let _ = reply.send(Ok(p.slot.clone()));
            }
        }
    }

    async fn on_track_published(
        &mut self,
        t: proto::TrackPublishedResponse,
    ) -> Result<(), RoomError> {
        let Some(info) = t.track else { return Ok(()) };
        let Some(idx) = self.publications.iter().position(|p| p.cid == t.cid) else {
            return Ok(());
        };
        let track = {
            let p = &self.publications[idx];
            if let Ok(mut sid) = p.slot.sid.lock() {
                *sid = info.sid.clone();
            }
            let media = MediaStreamTrack::new(
                data::random_id("ST_"),
                p.cid.clone(),
                p.name.clone(),
                RtpCodecKind::Audio,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(p.ssrc),
                        ..Default::default()
                    },
                    codec: peer::opus_codec(),
                    ..Default::default()
                }],
            );
            Arc::new(TrackLocalStaticSample::new(
                std::time::Instant::now(),
                media,
            )?)
        };
        let sender = self
            .publisher
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await?;
        // Drain RTCP the interceptors hand back to the track so its queue never fills.
        let t2 = track.clone();
        tokio::spawn(async move { while t2.poll().await.is_some() {} });
        let p = &mut self.publications[idx];
        p.track = Some(track);
        p.sender = Some(sender);
        tracing::info!(track_sid = %info.sid, name = %p.name, "published audio track");
        self.negotiate().await;
        Ok(())
    }

    async fn on_remote_candidate(&mut self, t: proto::TrickleRequest) {
        let target = if t.target == Target::Subscriber as i32 {
            Target::Subscriber
        } else {
            Target::Publisher
        };
        let init: RTCIceCandidateInit = match serde_json::from_str(&t.candidate_init) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("unparsable remote candidate: {e}");
                return;
            }
        };
        if self.remote_set[target as usize] {
            self.add_candidate(target, init).await;
        } else {
            self.pending_candidates[target as usize].push(init);
        }
    }

    async fn flush_candidates(&mut self, target: Target) {
        for c in std::mem::take(&mut self.pending_candidates[target as usize]) {
            self.add_candidate(target, c).await;
        }
    }

    async fn add_candidate(&self, target: Target, c: RTCIceCandidateInit) {
        let pc = match target {
            Target::Publisher => &self.publisher,
            Target::Subscriber => &self.subscriber,
        };
        if let Err(e) = pc.add_ice_candidate(c).await {
            tracing::debug!(?target, "remote candidate rejected: {e}");
        }
    }

    // ---- participants and tracks -------------------------------------------------------

    async fn apply_participant(&mut self, info: &proto::ParticipantInfo) {
        if info.sid == self.local.sid {
            self.local = info.clone();
            return;
        }
        let changes = self.roster.apply(info, &self.local.identity);
        self.report(changes).await;
    }

    async fn report(&mut self, changes: Vec<Change>) {
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

    fn end_stream(&mut self, track_sid: &str) {
        if let Some(s) = self.streams.remove(track_sid) {
            s.close();
        }
    }

    async fn on_remote_track(&mut self, track: Arc<dyn TrackRemote>) {
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

    async fn resolve_unresolved(&mut self) {
        for track in std::mem::take(&mut self.unresolved) {
            self.on_remote_track(track).await;
        }
    }

    // ---- peer connection and data channel events ---------------------------------------

    async fn on_pc(&mut self, t: Tagged) -> Flow {
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

    async fn on_dc(&mut self, d: DcEvent) {
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

    // ---- rejoin ------------------------------------------------------------------------

    /// Lost the signal connection (or the server asked us to reconnect): join again with the
    /// same identity, rebuild media, re-publish our tracks. Remote audio streams continue.
    async fn rejoin(&mut self, reason: String) -> Result<(), RoomError> {
        tracing::warn!("{reason}; rejoining");
        self.emit(RoomEvent::Reconnecting { reason }).await;
        for p in &mut self.publications {
            *p.slot.writer.write().await = None;
            p.track = None;
            p.sender = None;
        }
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
        self.signal.close().await;
        self.generation += 1;

        let Connected {
            client,
            join,
            events,
        } = signal::connect(&self.url, &self.token, &self.opts).await?;
        self.signal = client;
        self.signal_events = events;
        self.local = join.participant.clone().unwrap_or_default();
        self.publisher = peer::build(
            Target::Publisher,
            self.generation,
            &self.bind,
            self.pc_tx.clone(),
        )
        .await?;
        self.subscriber = peer::build(
            Target::Subscriber,
            self.generation,
            &self.bind,
            self.pc_tx.clone(),
        )
        .await?;
        self.remote_set = [false; 2];
        self.pending_candidates = [Vec::new(), Vec::new()];
        self.local_mid = [None, None];
        self.pub_negotiated = false;
        self.pub_connected = false;
        self.negotiating = false;
        self.renegotiate = false;
        self.unresolved.clear();
        self.setup_publisher_channels().await?;

        let left = self.roster.retain_only(&join.other_participants);
        self.report(left).await;
        for p in &join.other_participants {
            self.apply_participant(p).await;
        }
        // Streams whose track is gone for good end now; the rest resume when re-subscribed.
        let live: Vec<String> = self
            .streams
            .keys()
            .filter(|sid| self.roster.track(sid).is_some())
            .cloned()
            .collect();
        self.streams.retain(|sid, s| {
            let keep = live.contains(sid);
            if !keep {
                s.close();
            }
            keep
        });
        let republish: Vec<(String, String)> = self
            .publications
            .iter_mut()
            .map(|p| {
                p.cid = data::random_id("TR_local_");
                (p.cid.clone(), p.name.clone())
            })
            .collect();
        for (cid, name) in republish {
            self.request_publish(&cid, &name).await;
        }
        tracing::info!(sid = %self.local.sid, "rejoined room");
        self.emit(RoomEvent::Reconnected).await;
        Ok(())
    }
}

/// How long `publish_audio` waits for the server and negotiation.
pub(crate) const PUBLISH_TIMEOUT: Duration = Duration::from_secs(15);
