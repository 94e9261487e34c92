//! TEST FIXTURE, not a product: data-channel relay. DataPackets a participant sends on its
//! publisher PC's `_reliable`/`_lossy` channels go to the other participants' subscriber-PC
//! channels of the same label (single-PC participants: their own client-created channels of
//! that label), stamped with the sender's identity/sid like livekit-server does, honouring
//! `destination_identities`.

use crate::participant::Participant;
use bytes::BytesMut;
use livekit_protocol as proto;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

pub(crate) async fn run_publisher_channel(p: Arc<Participant>, dc: Arc<dyn DataChannel>) {
    let label = dc.label().await.unwrap_or_default();
    // Only LiveKit's two DataPacket channels are relayed; others (e.g. `_data_track`) are drained.
    let relayed = label == "_reliable" || label == "_lossy";
    tracing::debug!(identity = %p.identity, %label, relayed, "publisher data channel");
    // Single-PC mode: the client's own channels also carry downstream packets.
    let downstream = relayed && p.single_pc;
    if downstream {
        let open = matches!(
            dc.ready_state().await,
            Ok(rtc::data_channel::RTCDataChannelState::Open)
        );
        p.sub_dcs.add_existing(&label, dc.clone(), open).await;
    }
    while let Some(ev) = dc.poll().await {
        match ev {
            DataChannelEvent::OnOpen if downstream => p.sub_dcs.opened(&label).await,
            DataChannelEvent::OnMessage(msg) if relayed => relay(&p, &label, &msg.data).await,
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
}

/// Max packets queued per subscriber channel while it is not open yet.
const MAX_QUEUED: usize = 1000;

struct SubChannel {
    /// None until a single-PC client's channel arrives (packets are queued meanwhile).
    dc: Option<Arc<dyn DataChannel>>,
    open: bool,
    queue: Vec<Vec<u8>>,
}

/// A participant's server-created subscriber-PC channels (`_reliable`, `_lossy`). Packets for
/// a channel that is not open yet are queued (so a participant that just joined does not miss
/// data sent while its PC was still connecting) and flushed in order when it opens.
#[derive(Default)]
pub(crate) struct SubscriberChannels {
    inner: tokio::sync::Mutex<HashMap<String, SubChannel>>,
}

impl SubscriberChannels {
    pub(crate) async fn add(self: &Arc<Self>, label: &str, dc: Arc<dyn DataChannel>) {
        self.inner.lock().await.insert(
            label.to_owned(),
            SubChannel {
                dc: Some(dc.clone()),
                open: false,
                queue: Vec::new(),
            },
        );
        let me = Arc::downgrade(self);
        let label = label.to_owned();
        tokio::spawn(async move {
            // Subscriber-side channels only send; their events are drained here.
            while let Some(ev) = dc.poll().await {
                match ev {
                    DataChannelEvent::OnOpen => {
                        if let Some(me) = me.upgrade() {
                            me.opened(&label).await;
                        }
                    }
                    DataChannelEvent::OnClose => break,
                    _ => {}
                }
            }
        });
    }

    /// Registers a channel polled elsewhere (single-PC mode: the client-created channel, whose
    /// events the publisher-side relay loop reads and reports with [`Self::opened`]).
    pub(crate) async fn add_existing(&self, label: &str, dc: Arc<dyn DataChannel>, open: bool) {
        let mut m = self.inner.lock().await;
        let queue = m.remove(label).map(|c| c.queue).unwrap_or_default();
        m.insert(
            label.to_owned(),
            SubChannel {
                dc: Some(dc),
                open: false,
                queue,
            },
        );
        drop(m);
        if open {
            self.opened(label).await;
        }
    }

    pub(crate) async fn opened(&self, label: &str) {
        let mut m = self.inner.lock().await;
        let Some(ch) = m.get_mut(label) else { return };
        let Some(dc) = ch.dc.clone() else { return };
        ch.open = true;
        for bytes in std::mem::take(&mut ch.queue) {
            if let Err(e) = dc.send(BytesMut::from(bytes.as_slice())).await {
                tracing::debug!(%label, "queued data send: {e}");
            }
        }
    }

    pub(crate) async fn send(&self, identity: &str, label: &str, bytes: &[u8]) {
        let mut m = self.inner.lock().await;
        let ch = match m.get_mut(label) {
            Some(ch) => ch,
            None if label == "_reliable" || label == "_lossy" => {
                // Single-PC mode before the client's channel arrived: queue until it does.
                m.entry(label.to_owned()).or_insert_with(|| SubChannel {
                    dc: None,
                    open: false,
                    queue: Vec::new(),
                })
            }
            None => return,
        };
        let dc = match (&ch.dc, ch.open) {
            (Some(dc), true) => dc.clone(),
            _ => {
                if ch.queue.len() < MAX_QUEUED {
                    ch.queue.push(bytes.to_vec());
                }
                return;
            }
        };
        if let Err(e) = dc.send(BytesMut::from(bytes)).await {
            tracing::debug!(%identity, %label, "data send: {e}");
        }
    }
}

async fn relay(p: &Arc<Participant>, label: &str, bytes: &[u8]) {
    let mut pkt = match proto::DataPacket::decode(bytes) {
        Ok(pkt) => pkt,
        Err(e) => {
            tracing::debug!(identity = %p.identity, "undecodable data packet: {e}");
            return;
        }
    };
    pkt.participant_identity = p.identity.clone();
    pkt.participant_sid = p.sid.clone();
    let mut dests = pkt.destination_identities.clone();
    if let Some(proto::data_packet::Value::User(u)) = &mut pkt.value {
        u.participant_identity = p.identity.clone();
        u.participant_sid = p.sid.clone();
        dests.extend(u.destination_identities.iter().cloned());
    }
    let out = pkt.encode_to_vec();
    for other in p.room.participants() {
        if other.sid == p.sid {
            continue;
        }
        if !dests.is_empty() && !dests.iter().any(|d| *d == other.identity) {
            continue;
        }
        other.send_data(label, &out).await;
    }
}
