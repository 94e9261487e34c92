//! TEST FIXTURE, not a product: data-channel relay. DataPackets a participant sends on its
//! publisher PC's `_reliable`/`_lossy` channels go to the other participants' subscriber-PC
//! channels of the same label, stamped with the sender's identity/sid like livekit-server does,
//! honouring `destination_identities`.

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
    while let Some(ev) = dc.poll().await {
        match ev {
            DataChannelEvent::OnMessage(msg) if relayed => relay(&p, &label, &msg.data).await,
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
}

/// Max packets queued per subscriber channel while it is not open yet.
const MAX_QUEUED: usize = 1000;

struct SubChannel {
    dc: Arc<dyn DataChannel>,
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
                dc: dc.clone(),
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

    async fn opened(&self, label: &str) {
        let mut m = self.inner.lock().await;
        let Some(ch) = m.get_mut(label) else { return };
        ch.open = true;
        for bytes in std::mem::take(&mut ch.queue) {
            if let Err(e) = ch.dc.send(BytesMut::from(bytes.as_slice())).await {
                tracing::debug!(%label, "queued data send: {e}");
            }
        }
    }

    pub(crate) async fn send(&self, identity: &str, label: &str, bytes: &[u8]) {
        let mut m = self.inner.lock().await;
        let Some(ch) = m.get_mut(label) else { return };
        if !ch.open {
            if ch.queue.len() < MAX_QUEUED {
                ch.queue.push(bytes.to_vec());
            }
            return;
        }
        if let Err(e) = ch.dc.send(BytesMut::from(bytes)).await {
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
