//! Signal messages: subscriber offers, publisher negotiation and answers, our published
//! tracks, and trickle ICE in both directions.

use super::*;

impl Engine {
    pub(super) async fn on_signal(&mut self, msg: Resp) -> Flow {
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

    pub(super) async fn on_subscriber_offer(
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

    pub(super) async fn negotiate(&mut self) {
        if self.negotiating {
            self.renegotiate = true;
            return;
        }
        if let Err(e) = self.send_offer().await {
            tracing::warn!("publisher negotiation failed: {e}");
            self.negotiating = false;
        }
    }

    pub(super) async fn send_offer(&mut self) -> Result<(), RoomError> {
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

    pub(super) async fn on_publisher_answer(
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
    pub(super) async fn activate_publications(&mut self) {
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

    pub(super) async fn on_track_published(
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

    pub(super) async fn on_remote_candidate(&mut self, t: proto::TrickleRequest) {
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

    pub(super) async fn flush_candidates(&mut self, target: Target) {
        for c in std::mem::take(&mut self.pending_candidates[target as usize]) {
            self.add_candidate(target, c).await;
        }
    }

    pub(super) async fn add_candidate(&self, target: Target, c: RTCIceCandidateInit) {
        let pc = match target {
            Target::Publisher => &self.publisher,
            Target::Subscriber => &self.subscriber,
        };
        if let Err(e) = pc.add_ice_candidate(c).await {
            tracing::debug!(?target, "remote candidate rejected: {e}");
        }
    }
}
