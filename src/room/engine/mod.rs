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
    /// When the last data packet went to a data channel (see `leave`).
    last_data_sent: Option<tokio::time::Instant>,
    events: mpsc::Sender<RoomEvent>,
    cmd_rx: mpsc::Receiver<Command>,
}

pub(crate) struct Joined {
    pub engine: Engine,
    pub local: proto::ParticipantInfo,
    pub room: proto::Room,
}

mod commands;
mod events;
mod rejoin;
mod signalling;
mod tracks;

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
            last_data_sent: None,
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
}

/// How long `publish_audio` waits for the server and negotiation.
pub(crate) const PUBLISH_TIMEOUT: Duration = Duration::from_secs(15);
