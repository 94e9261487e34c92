//! Requests from the `Room` handle: publish, attributes, data; leaving.

use super::*;

impl Engine {
    pub(super) async fn on_command(&mut self, cmd: Command) {
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

    pub(super) async fn request_publish(&self, cid: &str, name: &str) {
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

    pub(super) async fn flush_data(&mut self) {
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
                    self.last_data_sent = Some(tokio::time::Instant::now());
                    if let Some(r) = reply {
                        let _ = r.send(res);
                    }
                }
                _ => keep.push((bytes, reliable, reply)),
            }
        }
        self.pending_data = keep;
    }

    pub(super) async fn leave(&mut self) {
        // `send` only queues to the SCTP association; closing at once would drop what was just
        // sent (a goodbye's final transcript). Linger briefly after the last data packet.
        const LINGER: std::time::Duration = std::time::Duration::from_millis(400);
        if let Some(t) = self.last_data_sent {
            tokio::time::sleep_until(t + LINGER).await;
        }
        self.signal
            .send(Req::Leave(proto::LeaveRequest {
                reason: proto::DisconnectReason::ClientInitiated as i32,
                action: proto::leave_request::Action::Disconnect as i32,
                ..Default::default()
            }))
            .await;
        self.teardown().await;
    }

    pub(super) async fn teardown(&mut self) {
        for p in &self.publications {
            *p.slot.writer.write().await = None;
        }
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
        self.signal.close().await;
    }
}
