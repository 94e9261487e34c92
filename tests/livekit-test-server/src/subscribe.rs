//! TEST FIXTURE, not a product: the subscribing side of a participant — server-initiated
//! offers on the subscriber PC (one at a time, queued while an answer is pending), the client's
//! answers, and adding/removing forwarded tracks.

use crate::media::{DownTrack, Forwarder};
use crate::participant::{Participant, Subscription, SUBSCRIBER};
use livekit_protocol as proto;
use proto::signal_response::Message as Out;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use webrtc::media_stream::track_local::TrackLocal;

impl Participant {
    /// Sends a (re)negotiation offer on the subscriber PC, or queues one if an answer is pending.
    pub(crate) async fn negotiate_subscriber(self: &Arc<Self>) {
        if self.single_pc {
            // The server never offers on a single PC: ask the client for a new offer (with
            // recvonly m-sections for down tracks that have none yet), as livekit-server does.
            return self.request_media_sections(true).await;
        }
        let mut neg = self.neg.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if neg.awaiting_answer {
            neg.pending = true;
            return;
        }
        neg.pending = false;
        let offer = match self.subscriber.create_offer(None).await {
            Ok(o) => o,
            Err(e) => return tracing::warn!(identity = %self.identity, "create_offer: {e}"),
        };
        if let Err(e) = self.subscriber.set_local_description(offer).await {
            return tracing::warn!(identity = %self.identity, "subscriber set_local_description: {e}");
        }
        self.wait_gathered(SUBSCRIBER).await;
        let Some(local) = self.subscriber.local_description().await else {
            return;
        };
        neg.awaiting_answer = true;
        tracing::trace!(identity = %self.identity, "subscriber offer:\n{}", local.sdp);
        let id = self.offer_id.fetch_add(1, Ordering::SeqCst) + 1;
        self.send(Out::Offer(proto::SessionDescription {
            r#type: "offer".into(),
            sdp: local.sdp,
            id,
            ..Default::default()
        }));
    }

    /// Applies the client's answer to our subscriber offer.
    pub(crate) async fn on_subscriber_answer(self: &Arc<Self>, sd: proto::SessionDescription) {
        if self.single_pc {
            return tracing::warn!(identity = %self.identity, "unexpected answer in single-PC mode");
        }
        let answer_sdp = sd.sdp.clone();
        let (pending, offer_sdp) = {
            let mut neg = self.neg.lock().await;
            tracing::trace!(identity = %self.identity, "subscriber answer:\n{}", sd.sdp);
            let offer_sdp = self
                .subscriber
                .local_description()
                .await
                .map(|d| d.sdp)
                .unwrap_or_default();
            let desc = match RTCSessionDescription::answer(sd.sdp) {
                Ok(d) => d,
                Err(e) => return tracing::warn!(identity = %self.identity, "bad answer: {e}"),
            };
            if let Err(e) = self.subscriber.set_remote_description(desc).await {
                tracing::warn!(identity = %self.identity, "subscriber set_remote_description: {e}");
            }
            neg.awaiting_answer = false;
            (neg.pending, offer_sdp)
        };
        self.flush_candidates(SUBSCRIBER).await;
        // Tracks whose m-section the subscriber rejected (no common codec, e.g. video for an
        // audio-only client): drop the sender so later offers carry a clean rejected section.
        for track_sid in rejected_tracks(&offer_sdp, &answer_sdp) {
            tracing::info!(identity = %self.identity, track = %track_sid, "subscriber rejected track");
            if let Ok(mut r) = self.rejected.lock() {
                r.insert(track_sid.clone());
            }
            self.unsubscribe(&track_sid).await;
        }
        self.refresh_subscriptions().await;
        if pending {
            self.negotiate_subscriber().await;
        }
    }

    /// After a negotiation: resolves each down track's payload type (starting forwarding) and
    /// asks for a keyframe for newly ready video.
    pub(crate) async fn refresh_subscriptions(&self) {
        let subs: Vec<Subscription> = self
            .subscriptions
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for (d, f) in subs {
            if let Some(t) = &d.transceiver {
                // Single PC: not negotiated until a client offer gave it an m-section.
                if !matches!(t.mid().await, Ok(Some(_))) {
                    continue;
                }
            }
            let had = d.mode.lock().map(|m| m.is_some()).unwrap_or(false);
            let mode = d.resolve_mode(&f.mime()).await;
            if !had {
                tracing::debug!(identity = %self.identity, track = %d.track_sid, ?mode, "subscription ready");
                f.request_keyframe().await;
            }
        }
    }

    /// Single-PC mode: down tracks whose transceiver has no mid yet need a recvonly m-section
    /// in the client's next offer. Sends MediaSectionsRequirement for those not asked for since
    /// the last answer; with `force`, even for none (the client then just re-offers).
    pub(crate) async fn request_media_sections(&self, force: bool) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let downs: Vec<(Arc<DownTrack>, RtpCodecKind)> = self
            .subscriptions
            .lock()
            .map(|m| m.values().map(|(d, f)| (d.clone(), f.kind)).collect())
            .unwrap_or_default();
        let mut unmatched = [0u32; 2];
        for (d, kind) in downs {
            let Some(t) = &d.transceiver else { continue };
            if matches!(t.mid().await, Ok(None)) {
                unmatched[usize::from(kind == RtpCodecKind::Video)] += 1;
            }
        }
        let (num_audios, num_videos) = {
            let Ok(mut req) = self.sections_requested.lock() else {
                return;
            };
            let new = [
                unmatched[0].saturating_sub(req[0]),
                unmatched[1].saturating_sub(req[1]),
            ];
            req[0] += new[0];
            req[1] += new[1];
            (new[0], new[1])
        };
        if force || num_audios + num_videos > 0 {
            tracing::debug!(identity = %self.identity, num_audios, num_videos, "media sections requirement");
            self.send(Out::MediaSectionsRequirement(
                proto::MediaSectionsRequirement {
                    num_audios,
                    num_videos,
                },
            ));
        }
    }

    /// Adds a publisher's track to this participant's subscriber PC. Returns true if added
    /// (caller renegotiates).
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        publisher_sid: &str,
        fwd: &Arc<Forwarder>,
    ) -> bool {
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        if self
            .subscriptions
            .lock()
            .map(|m| m.contains_key(&fwd.track_sid))
            .unwrap_or(true)
            || self
                .rejected
                .lock()
                .map(|r| r.contains(&fwd.track_sid))
                .unwrap_or(false)
        {
            return false;
        }
        let (local, ssrc) =
            DownTrack::local_track(publisher_sid, &fwd.track_sid, fwd.kind, &fwd.mime());
        let (sender, transceiver) = if self.single_pc {
            // Always a new sendonly transceiver: it has no mid until the client offers a
            // recvonly m-section for it (MediaSectionsRequirement), which webrtc-rs then
            // matches to it. (add_track could instead grab the transceiver of one of the
            // client's own published tracks.)
            let _g = self.pc_lock.lock().await;
            let init = rtc::rtp_transceiver::RTCRtpTransceiverInit {
                direction: rtc::rtp_transceiver::RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: vec![],
            };
            let t = match self
                .subscriber
                .add_transceiver_from_track(local.clone() as Arc<dyn TrackLocal>, Some(init))
                .await
            {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(identity = %self.identity, "add_transceiver_from_track: {e}");
                    return false;
                }
            };
            match t.sender().await {
                Ok(Some(s)) => (s, Some(t)),
                _ => {
                    tracing::warn!(identity = %self.identity, "new transceiver has no sender");
                    return false;
                }
            }
        } else {
            match self
                .subscriber
                .add_track(local.clone() as Arc<dyn TrackLocal>)
                .await
            {
                Ok(s) => (s, None),
                Err(e) => {
                    tracing::warn!(identity = %self.identity, "add_track: {e}");
                    return false;
                }
            }
        };
        let d = Arc::new(DownTrack {
            subscriber_sid: self.sid.clone(),
            track_sid: fwd.track_sid.clone(),
            local: local.clone(),
            sender,
            transceiver,
            ssrc,
            mode: Mutex::new(None),
        });
        if let Ok(mut m) = self.subscriptions.lock() {
            m.insert(fwd.track_sid.clone(), (d.clone(), fwd.clone()));
        }
        fwd.add_down(d);
        // Drain RTCP feedback for the local track; a PLI from the subscriber asks the publisher.
        let weak_fwd = Arc::downgrade(fwd);
        tokio::spawn(async move {
            while let Some(ev) = local.poll().await {
                let webrtc::media_stream::track_local::TrackLocalEvent::OnRtcpPacket(pkts) = ev
                else {
                    continue;
                };
                let wants_kf = pkts.iter().any(|p| {
                    p.as_any()
                        .downcast_ref::<rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication>()
                        .is_some()
                });
                if wants_kf {
                    if let Some(f) = weak_fwd.upgrade() {
                        f.request_keyframe().await;
                    }
                }
            }
        });
        true
    }

    /// Removes a subscription; returns true if it existed (caller renegotiates).
    pub(crate) async fn unsubscribe(&self, track_sid: &str) -> bool {
        let entry = self
            .subscriptions
            .lock()
            .ok()
            .and_then(|mut m| m.remove(track_sid));
        let Some((d, f)) = entry else { return false };
        f.remove_down(&self.sid);
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        let _g = if self.single_pc {
            Some(self.pc_lock.lock().await)
        } else {
            None
        };
        if let Err(e) = self.subscriber.remove_track(&d.sender).await {
            tracing::debug!(identity = %self.identity, "remove_track: {e}");
        }
        true
    }

    /// Subscribes to every track already published in the room (before the first offer).
    pub(crate) async fn subscribe_existing(self: &Arc<Self>) {
        if !self.auto_subscribe || !self.can(|p| p.can_subscribe) {
            return;
        }
        for other in self.room.participants() {
            if other.sid == self.sid {
                continue;
            }
            for f in other.forwarders() {
                self.subscribe(&other.sid, &f).await;
            }
        }
    }

    /// Handles UpdateSubscription (manual subscribe/unsubscribe by track sid).
    pub(crate) async fn on_update_subscription(self: &Arc<Self>, req: proto::UpdateSubscription) {
        let mut changed = false;
        for track_sid in req.track_sids {
            if req.subscribe {
                let found = self.room.participants().into_iter().find_map(|o| {
                    o.forwarders()
                        .into_iter()
                        .find(|f| f.track_sid == track_sid)
                        .map(|f| (o.sid.clone(), f))
                });
                if let Some((psid, f)) = found {
                    if psid != self.sid {
                        changed |= self.subscribe(&psid, &f).await;
                    }
                }
            } else {
                changed |= self.unsubscribe(&track_sid).await;
            }
        }
        if changed {
            self.negotiate_subscriber().await;
        }
    }
}

/// Track ids (our msid track id = track sid) whose m-section the answer rejected
/// (port 0 or `a=inactive`).
fn rejected_tracks(offer: &str, answer: &str) -> Vec<String> {
    let (track_to_mid, _) = crate::publish::scan_offer(offer);
    let mut rejected_mids = Vec::new();
    for section in answer.split("\r\nm=").skip(1) {
        let port_zero = section.split_whitespace().nth(1) == Some("0");
        let mut mid = None;
        let mut inactive = false;
        for line in section.split("\r\n") {
            if let Some(m) = line.strip_prefix("a=mid:") {
                mid = Some(m.trim().to_owned());
            } else if line == "a=inactive" {
                inactive = true;
            }
        }
        if let Some(mid) = mid.filter(|_| port_zero || inactive) {
            rejected_mids.push(mid);
        }
    }
    track_to_mid
        .into_iter()
        .filter(|(_, mid)| rejected_mids.contains(mid))
        .map(|(track, _)| track)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_rejected_tracks() {
        let offer = "v=0\r\nm=audio 9 X 111\r\na=mid:1\r\na=sendonly\r\na=msid:PA_a|TR_a TR_a\r\nm=video 9 X 96\r\na=mid:2\r\na=sendonly\r\na=msid:PA_a|TR_v TR_v\r\n";
        let answer = "v=0\r\nm=audio 9 X 111\r\na=mid:1\r\na=recvonly\r\nm=video 0 X 0\r\na=mid:2\r\na=inactive\r\n";
        assert_eq!(
            super::rejected_tracks(offer, answer),
            vec!["TR_v".to_string()]
        );
    }
}
