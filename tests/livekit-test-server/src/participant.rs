//! TEST FIXTURE, not a product: one participant of the LiveKit test server — its info, its
//! signalling sink, its peer connections (`/rtc`: publisher — client offers — and subscriber —
//! server offers, `subscriber_primary`; `/rtc/v1`: one connection that the client always
//! offers, carrying both directions), published tracks and subscriptions.

use crate::media::{build_pc, DownTrack, Forwarder};
use crate::pc_events::PcEvents;
use crate::room::Room;
use livekit_protocol as proto;
use proto::signal_response::Message as Out;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::PeerConnection;

pub(crate) const PUBLISHER: i32 = proto::SignalTarget::Publisher as i32;
pub(crate) const SUBSCRIBER: i32 = proto::SignalTarget::Subscriber as i32;

/// What the signalling connection task should do.
pub(crate) enum Outbound {
    Msg(Box<Out>),
    /// Close the WebSocket (after flushing what was queued before).
    Close,
}

/// Mutable participant info.
pub(crate) struct Info {
    pub name: String,
    pub metadata: String,
    pub attributes: HashMap<String, String>,
    pub permission: proto::ParticipantPermission,
    pub kind: i32,
    pub client_protocol: i32,
    pub version: u32,
    pub state: i32,
    pub joined_at_ms: i64,
    pub disconnect_reason: i32,
}

pub(crate) struct Published {
    pub(crate) info: proto::TrackInfo,
    pub(crate) fwd: Arc<Forwarder>,
}

#[derive(Default)]
pub(crate) struct Negotiation {
    pub(crate) awaiting_answer: bool,
    pub(crate) pending: bool,
}

#[derive(Default)]
pub(crate) struct Candidates {
    pub(crate) remote_set: [bool; 2],
    pub(crate) buffered: [Vec<RTCIceCandidateInit>; 2],
}

/// A forwarded track this participant receives: its down track and the publisher's forwarder.
pub(crate) type Subscription = (Arc<DownTrack>, Arc<Forwarder>);

pub(crate) struct Participant {
    pub sid: String,
    pub identity: String,
    pub room: Arc<Room>,
    pub auto_subscribe: bool,
    pub(crate) info: Mutex<Info>,
    pub(crate) signal: Mutex<Option<(u64, mpsc::UnboundedSender<Outbound>)>>,
    pub(crate) conn_seq: AtomicU64,
    pub publisher: Arc<dyn PeerConnection>,
    /// The same connection as `publisher` in single-PC mode.
    pub subscriber: Arc<dyn PeerConnection>,
    /// Joined on `/rtc/v1`: one peer connection, offered by the client only.
    pub single_pc: bool,
    /// Single-PC mode: serialises adding down tracks with applying client offers.
    pub(crate) pc_lock: tokio::sync::Mutex<()>,
    /// Single-PC mode: recvonly m-sections (audio, video) asked for with
    /// MediaSectionsRequirement since the last answer.
    pub(crate) sections_requested: Mutex<[u32; 2]>,
    pub(crate) sub_dcs: Arc<crate::data::SubscriberChannels>,
    pub(crate) pending_tracks: Mutex<Vec<(String, proto::TrackInfo)>>,
    pub(crate) published: Mutex<Vec<Published>>,
    pub(crate) cid_to_mid: Mutex<HashMap<String, String>>,
    pub(crate) subscriptions: Mutex<HashMap<String, Subscription>>,
    /// Track sids this participant's client rejected in an answer; never offered again.
    pub(crate) rejected: Mutex<std::collections::HashSet<String>>,
    pub(crate) neg: tokio::sync::Mutex<Negotiation>,
    pub(crate) cands: tokio::sync::Mutex<Candidates>,
    pub(crate) gathered: [watch::Receiver<bool>; 2],
    pub(crate) offer_id: AtomicU32,
    pub closed: AtomicBool,
}

/// Parameters for a new participant, from the token and the join URL.
pub(crate) struct JoinParams {
    pub identity: String,
    pub name: String,
    pub metadata: String,
    pub attributes: HashMap<String, String>,
    pub permission: proto::ParticipantPermission,
    pub kind: i32,
    pub auto_subscribe: bool,
    /// Offer `audio/red` on the subscriber PC (see `TestServerOptions::offer_red_to_subscribers`).
    pub red_to_subscriber: bool,
    /// `/rtc/v1` join: one peer connection.
    pub single_pc: bool,
    /// The client's `client_protocol` (what data features it understands), echoed to others.
    pub client_protocol: i32,
}

impl Participant {
    pub(crate) async fn create(
        room: Arc<Room>,
        params: JoinParams,
    ) -> webrtc::error::Result<Arc<Participant>> {
        let owner: Arc<OnceLock<Weak<Participant>>> = Arc::new(OnceLock::new());
        let (pub_tx, pub_rx) = watch::channel(false);
        let (sub_tx, sub_rx) = watch::channel(false);
        let publisher = build_pc(
            Arc::new(PcEvents {
                target: PUBLISHER,
                owner: owner.clone(),
                gathered: pub_tx,
            }),
            true,
        )
        .await?;
        let subscriber = if params.single_pc {
            // The client's offers decide the codecs; RED is registered on this PC anyway.
            drop(sub_tx);
            publisher.clone()
        } else {
            build_pc(
                Arc::new(PcEvents {
                    target: SUBSCRIBER,
                    owner: owner.clone(),
                    gathered: sub_tx,
                }),
                params.red_to_subscriber,
            )
            .await?
        };
        let p = Arc::new(Participant {
            sid: crate::ids::new_id("PA_"),
            identity: params.identity,
            room,
            auto_subscribe: params.auto_subscribe,
            info: Mutex::new(Info {
                name: params.name,
                metadata: params.metadata,
                attributes: params.attributes,
                permission: params.permission,
                kind: params.kind,
                client_protocol: params.client_protocol,
                version: 1,
                state: proto::participant_info::State::Joined as i32,
                joined_at_ms: crate::ids::now_millis(),
                disconnect_reason: 0,
            }),
            signal: Mutex::new(None),
            conn_seq: AtomicU64::new(0),
            publisher,
            subscriber,
            single_pc: params.single_pc,
            pc_lock: tokio::sync::Mutex::new(()),
            sections_requested: Mutex::new([0, 0]),
            sub_dcs: Arc::default(),
            pending_tracks: Mutex::new(Vec::new()),
            published: Mutex::new(Vec::new()),
            cid_to_mid: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
            rejected: Mutex::default(),
            neg: tokio::sync::Mutex::new(Negotiation::default()),
            cands: tokio::sync::Mutex::new(Candidates::default()),
            gathered: [pub_rx, sub_rx],
            offer_id: AtomicU32::new(0),
            closed: AtomicBool::new(false),
        });
        let _ = owner.set(Arc::downgrade(&p));

        if p.single_pc {
            // Downstream data goes out on the client-created `_reliable`/`_lossy` channels of
            // the one PC (see data.rs), as livekit-server does in single-PC mode.
            return Ok(p);
        }
        // Server-created data channels on the subscriber PC, as livekit-server does.
        for (label, ordered, max_retransmits) in
            [("_reliable", true, None), ("_lossy", false, Some(0))]
        {
            let init = rtc::data_channel::RTCDataChannelInit {
                ordered,
                max_retransmits,
                ..Default::default()
            };
            let dc = p.subscriber.create_data_channel(label, Some(init)).await?;
            p.sub_dcs.add(label, dc).await;
        }
        Ok(p)
    }

    // ---------------------------------------------------------------- signalling sink

    /// Attaches a new signalling connection; returns its id.
    pub(crate) fn attach_signal(&self, tx: mpsc::UnboundedSender<Outbound>) -> u64 {
        let id = self.conn_seq.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(mut s) = self.signal.lock() {
            if let Some((_, old)) = s.take() {
                let _ = old.send(Outbound::Close);
            }
            *s = Some((id, tx));
        }
        id
    }

    /// Detaches the connection `id` if it is still the current one; returns whether it was.
    pub(crate) fn detach_signal(&self, id: u64) -> bool {
        let Ok(mut s) = self.signal.lock() else {
            return false;
        };
        if s.as_ref().is_some_and(|(cur, _)| *cur == id) {
            *s = None;
            true
        } else {
            false
        }
    }

    pub(crate) fn current_signal_id(&self) -> Option<u64> {
        self.signal
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|(id, _)| *id))
    }

    pub(crate) fn send(&self, msg: Out) {
        if let Ok(s) = self.signal.lock() {
            if let Some((_, tx)) = s.as_ref() {
                let _ = tx.send(Outbound::Msg(Box::new(msg)));
            }
        }
    }

    pub(crate) fn close_signal(&self) {
        if let Ok(s) = self.signal.lock() {
            if let Some((_, tx)) = s.as_ref() {
                let _ = tx.send(Outbound::Close);
            }
        }
    }

    pub(crate) fn send_update(&self, participants: Vec<proto::ParticipantInfo>) {
        self.send(Out::Update(proto::ParticipantUpdate { participants }));
    }

    // ---------------------------------------------------------------- info

    pub(crate) fn info(&self) -> proto::ParticipantInfo {
        let tracks: Vec<proto::TrackInfo> = self
            .published
            .lock()
            .map(|v| v.iter().map(|p| p.info.clone()).collect())
            .unwrap_or_default();
        let Ok(i) = self.info.lock() else {
            return proto::ParticipantInfo::default();
        };
        proto::ParticipantInfo {
            sid: self.sid.clone(),
            identity: self.identity.clone(),
            state: i.state,
            is_publisher: !tracks.is_empty(),
            tracks,
            metadata: i.metadata.clone(),
            joined_at: i.joined_at_ms / 1000,
            joined_at_ms: i.joined_at_ms,
            name: i.name.clone(),
            version: i.version,
            permission: Some(i.permission.clone()),
            kind: i.kind,
            attributes: i.attributes.clone(),
            disconnect_reason: i.disconnect_reason,
            client_protocol: i.client_protocol,
            ..Default::default()
        }
    }

    pub(crate) fn has_tracks(&self) -> bool {
        self.published
            .lock()
            .map(|v| !v.is_empty())
            .unwrap_or(false)
    }

    pub(crate) fn can(&self, f: impl Fn(&proto::ParticipantPermission) -> bool) -> bool {
        self.info.lock().map(|i| f(&i.permission)).unwrap_or(false)
    }

    pub(crate) fn bump_version(&self) {
        if let Ok(mut i) = self.info.lock() {
            i.version += 1;
        }
    }

    pub(crate) fn mark_active(&self) {
        let changed = match self.info.lock() {
            Ok(mut i) if i.state == proto::participant_info::State::Joined as i32 => {
                i.state = proto::participant_info::State::Active as i32;
                i.version += 1;
                true
            }
            _ => false,
        };
        if changed {
            self.room.broadcast_update(&self.info(), None);
        }
    }

    /// Applies UpdateParticipantMetadata. Attributes merge; an empty value deletes the key.
    pub(crate) fn update_metadata(&self, req: proto::UpdateParticipantMetadata) {
        if !self.can(|p| p.can_update_metadata) {
            if req.request_id != 0 {
                self.send(Out::RequestResponse(proto::RequestResponse {
                    request_id: req.request_id,
                    reason: proto::request_response::Reason::NotAllowed as i32,
                    message: "does not have permission to update own metadata".into(),
                    ..Default::default()
                }));
            }
            return;
        }
        self.apply_metadata(Some(req.name), Some(req.metadata), req.attributes);
        if req.request_id != 0 {
            self.send(Out::RequestResponse(proto::RequestResponse {
                request_id: req.request_id,
                reason: proto::request_response::Reason::Ok as i32,
                ..Default::default()
            }));
        }
    }

    /// Sets name/metadata (when non-empty) and merges attributes, then broadcasts to everyone.
    pub(crate) fn apply_metadata(
        &self,
        name: Option<String>,
        metadata: Option<String>,
        attributes: HashMap<String, String>,
    ) {
        if let Ok(mut i) = self.info.lock() {
            if let Some(n) = name.filter(|n| !n.is_empty()) {
                i.name = n;
            }
            if let Some(m) = metadata.filter(|m| !m.is_empty()) {
                i.metadata = m;
            }
            for (k, v) in attributes {
                if v.is_empty() {
                    i.attributes.remove(&k);
                } else {
                    i.attributes.insert(k, v);
                }
            }
            i.version += 1;
        }
        self.room.broadcast_update(&self.info(), None);
    }

    // ---------------------------------------------------------------- ICE / SDP

    pub(crate) fn pc(&self, target: i32) -> &Arc<dyn PeerConnection> {
        if target == SUBSCRIBER {
            &self.subscriber
        } else {
            &self.publisher
        }
    }

    pub(crate) async fn on_trickle(&self, t: proto::TrickleRequest) {
        let init: RTCIceCandidateInit = match serde_json::from_str(&t.candidate_init) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(identity = %self.identity, "bad candidate_init: {e}");
                return;
            }
        };
        if init.candidate.is_empty() {
            return;
        }
        let target = if t.target == SUBSCRIBER && !self.single_pc {
            SUBSCRIBER
        } else {
            PUBLISHER
        };
        let idx = target as usize;
        let mut c = self.cands.lock().await;
        if !c.remote_set[idx] {
            c.buffered[idx].push(init);
            return;
        }
        drop(c);
        if let Err(e) = self.pc(target).add_ice_candidate(init).await {
            tracing::debug!(identity = %self.identity, "add_ice_candidate: {e}");
        }
    }

    pub(crate) async fn flush_candidates(&self, target: i32) {
        let idx = target as usize;
        let pending = {
            let mut c = self.cands.lock().await;
            c.remote_set[idx] = true;
            std::mem::take(&mut c.buffered[idx])
        };
        for init in pending {
            if let Err(e) = self.pc(target).add_ice_candidate(init).await {
                tracing::debug!(identity = %self.identity, "add_ice_candidate: {e}");
            }
        }
    }

    pub(crate) async fn wait_gathered(&self, target: i32) {
        let mut rx = self.gathered[target as usize].clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|g| *g)).await;
    }

    // ---------------------------------------------------------------- data

    /// Sends a DataPacket on this participant's subscriber data channel `label`.
    /// Packets sent before the channel is open are queued and flushed on open.
    pub(crate) async fn send_data(&self, label: &str, bytes: &[u8]) {
        self.sub_dcs.send(&self.identity, label, bytes).await;
    }

    // ---------------------------------------------------------------- leaving

    /// Removes the participant from its room: sends LeaveRequest (if `send_leave`), closes the
    /// signalling connection, tears down tracks and PCs, and tells the others (DISCONNECTED).
    pub(crate) async fn remove(
        self: &Arc<Self>,
        reason: proto::DisconnectReason,
        send_leave: bool,
    ) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.room.remove(&self.sid);
        if send_leave {
            self.send(Out::Leave(proto::LeaveRequest {
                can_reconnect: false,
                reason: reason as i32,
                action: proto::leave_request::Action::Disconnect as i32,
                regions: None,
            }));
        }
        self.close_signal();
        let sids: Vec<String> = self
            .published
            .lock()
            .map(|v| v.iter().map(|p| p.info.sid.clone()).collect())
            .unwrap_or_default();
        for sid in sids {
            self.unpublish(&sid, false).await;
        }
        let subs: Vec<(Arc<DownTrack>, Arc<Forwarder>)> = self
            .subscriptions
            .lock()
            .map(|mut m| m.drain().map(|(_, v)| v).collect())
            .unwrap_or_default();
        for (_, f) in subs {
            f.remove_down(&self.sid);
        }
        if let Ok(mut i) = self.info.lock() {
            i.state = proto::participant_info::State::Disconnected as i32;
            i.disconnect_reason = reason as i32;
            i.version += 1;
        }
        self.room.broadcast_update(&self.info(), Some(&self.sid));
        tracing::info!(identity = %self.identity, room = %self.room.name, ?reason, "participant removed");
        let (pubpc, subpc) = (self.publisher.clone(), self.subscriber.clone());
        let single_pc = self.single_pc;
        tokio::spawn(async move {
            let _ = pubpc.close().await;
            if !single_pc {
                let _ = subpc.close().await;
            }
        });
    }
}
