//! TEST FIXTURE, not a product: the publishing side of a participant — AddTrackRequest,
//! the client's publisher offer (RED preferred like livekit-server), incoming media tracks,
//! mute and unpublish.

use crate::media::Forwarder;
use crate::participant::{Participant, Published, PUBLISHER};
use livekit_protocol as proto;
use proto::signal_response::Message as Out;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use webrtc::media_stream::track_remote::TrackRemote;

impl Participant {
    /// Handles the client's publisher offer: apply, answer (with candidates), notice removed tracks.
    pub(crate) async fn on_publisher_offer(self: &Arc<Self>, sd: proto::SessionDescription) {
        tracing::trace!(identity = %self.identity, "publisher offer:\n{}", sd.sdp);
        let (mids, inactive) = scan_offer(&sd.sdp);
        let audio = proto::TrackType::Audio as i32;
        let mut red_cids: Vec<String> = self
            .pending_tracks
            .lock()
            .map(|v| {
                v.iter()
                    .filter(|(_, i)| i.r#type == audio && !i.disable_red)
                    .map(|(cid, _)| cid.clone())
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(v) = self.published.lock() {
            red_cids.extend(
                v.iter()
                    .filter(|p| p.info.r#type == audio && !p.info.disable_red)
                    .filter_map(|p| p.info.codecs.first().map(|c| c.cid.clone())),
            );
        }
        let sdp = crate::red::prefer_red(&sd.sdp, &red_cids);
        if let Ok(mut m) = self.cid_to_mid.lock() {
            m.extend(mids);
        }
        let desc = match RTCSessionDescription::offer(sdp) {
            Ok(d) => d,
            Err(e) => return tracing::warn!(identity = %self.identity, "bad offer: {e}"),
        };
        // Single PC: no down track may be added between applying the offer and the answer.
        let guard = if self.single_pc {
            Some(self.pc_lock.lock().await)
        } else {
            None
        };
        if let Err(e) = self.publisher.set_remote_description(desc).await {
            return tracing::warn!(identity = %self.identity, "publisher set_remote_description: {e}");
        }
        self.flush_candidates(PUBLISHER).await;
        let answer = match self.publisher.create_answer(None).await {
            Ok(a) => a,
            Err(e) => return tracing::warn!(identity = %self.identity, "create_answer: {e}"),
        };
        if let Err(e) = self.publisher.set_local_description(answer).await {
            return tracing::warn!(identity = %self.identity, "publisher set_local_description: {e}");
        }
        self.wait_gathered(PUBLISHER).await;
        let Some(local) = self.publisher.local_description().await else {
            return;
        };
        let mid_to_track_id = if self.single_pc {
            if let Ok(mut r) = self.sections_requested.lock() {
                *r = [0, 0];
            }
            self.mid_to_track_id().await
        } else {
            HashMap::new()
        };
        drop(guard);
        tracing::trace!(identity = %self.identity, ?mid_to_track_id, "publisher answer:\n{}", local.sdp);
        self.send(Out::Answer(proto::SessionDescription {
            r#type: "answer".into(),
            sdp: local.sdp,
            id: sd.id,
            mid_to_track_id,
        }));
        if self.single_pc {
            // Down tracks that got an m-section in this answer start flowing; those still
            // without one need another client offer.
            self.refresh_subscriptions().await;
            self.request_media_sections(false).await;
        }
        // Tracks whose m-section became inactive/recvonly were unpublished by the client.
        let gone: Vec<String> = self
            .published
            .lock()
            .map(|v| {
                v.iter()
                    .filter(|p| inactive.contains(&p.info.mid))
                    .map(|p| p.info.sid.clone())
                    .collect()
            })
            .unwrap_or_default();
        for sid in gone {
            self.unpublish(&sid, true).await;
        }
    }

    /// Single-PC mode: mid -> track sid of the down tracks in the current answer, sent as
    /// `SessionDescription.mid_to_track_id` (the client resolves subscribed tracks with it).
    async fn mid_to_track_id(&self) -> HashMap<String, String> {
        let downs: Vec<Arc<crate::media::DownTrack>> = self
            .subscriptions
            .lock()
            .map(|m| m.values().map(|(d, _)| d.clone()).collect())
            .unwrap_or_default();
        let mut map = HashMap::new();
        for d in downs {
            if let Some(t) = &d.transceiver {
                if let Ok(Some(mid)) = t.mid().await {
                    map.insert(mid, d.track_sid.clone());
                }
            }
        }
        map
    }

    pub(crate) fn on_add_track(&self, req: proto::AddTrackRequest) {
        if !self.can(|p| p.can_publish) {
            tracing::warn!(identity = %self.identity, "AddTrack without canPublish");
            return;
        }
        let info = proto::TrackInfo {
            sid: crate::ids::new_id("TR_"),
            r#type: req.r#type,
            name: req.name.clone(),
            muted: req.muted,
            width: req.width,
            height: req.height,
            simulcast: req.simulcast_codecs.len() > 1 || req.layers.len() > 1,
            disable_dtx: req.disable_dtx,
            source: req.source,
            layers: req.layers.clone(),
            stereo: req.stereo,
            disable_red: req.disable_red,
            encryption: req.encryption,
            stream: req.stream.clone(),
            audio_features: req.audio_features.clone(),
            backup_codec_policy: req.backup_codec_policy,
            ..Default::default()
        };
        if let Ok(mut p) = self.pending_tracks.lock() {
            p.push((req.cid.clone(), info.clone()));
        }
        self.send(Out::TrackPublished(proto::TrackPublishedResponse {
            cid: req.cid,
            track: Some(info),
        }));
    }

    pub(crate) fn on_mute(&self, req: proto::MuteTrackRequest) {
        let changed = self
            .published
            .lock()
            .map(|mut v| {
                v.iter_mut()
                    .find(|p| p.info.sid == req.sid)
                    .map(|p| p.info.muted = req.muted)
                    .is_some()
            })
            .unwrap_or(false);
        if changed {
            self.bump_version();
            self.room.broadcast_update(&self.info(), None);
        }
    }

    pub(crate) async fn on_remote_track(self: Arc<Self>, track: Arc<dyn TrackRemote>) {
        let track_id = track.track_id().await;
        let kind = track.kind().await;
        let want_type = if kind == RtpCodecKind::Video {
            proto::TrackType::Video as i32
        } else {
            proto::TrackType::Audio as i32
        };
        let pending = self.pending_tracks.lock().ok().and_then(|mut v| {
            let idx = v
                .iter()
                .position(|(cid, _)| *cid == track_id)
                .or_else(|| v.iter().position(|(_, i)| i.r#type == want_type))?;
            Some(v.remove(idx))
        });
        let Some((cid, mut info)) = pending else {
            tracing::warn!(identity = %self.identity, %track_id, "media track without AddTrackRequest; ignored");
            return;
        };
        let ssrcs = track.ssrcs().await;
        let mime = match ssrcs.first() {
            Some(ssrc) => track
                .codec(*ssrc)
                .await
                .map(|c| c.mime_type)
                .unwrap_or_default(),
            None => String::new(),
        };
        let mid = self
            .cid_to_mid
            .lock()
            .ok()
            .and_then(|m| m.get(&cid).or_else(|| m.get(&track_id)).cloned())
            .unwrap_or_default();
        info.mime_type = mime.clone();
        info.mid = mid.clone();
        info.codecs = vec![proto::SimulcastCodecInfo {
            mime_type: mime.clone(),
            mid,
            cid: cid.clone(),
            ..Default::default()
        }];
        tracing::info!(identity = %self.identity, sid = %info.sid, %mime, "track published");
        let fwd = Arc::new(Forwarder::new(info.sid.clone(), kind));
        if let Ok(mut m) = fwd.mime.lock() {
            *m = mime;
        }
        if let Ok(mut r) = fwd.remote.lock() {
            *r = Some(track.clone());
        }
        if let Ok(mut v) = self.published.lock() {
            v.push(Published {
                info: info.clone(),
                fwd: fwd.clone(),
            });
        }
        self.bump_version();
        {
            let p = self.clone();
            let f = fwd.clone();
            let sid = info.sid.clone();
            tokio::spawn(async move {
                f.run(track).await;
                p.unpublish(&sid, true).await;
            });
        }
        if kind == RtpCodecKind::Video {
            let f = Arc::downgrade(&fwd);
            tokio::spawn(async move {
                while let Some(f) = f.upgrade() {
                    f.request_keyframe().await;
                    drop(f);
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            });
        }
        // Tell everyone (incl. the publisher) first, then offer the track to subscribers.
        self.room.broadcast_update(&self.info(), None);
        for other in self.room.participants() {
            if other.sid == self.sid || !other.auto_subscribe || !other.can(|p| p.can_subscribe) {
                continue;
            }
            if other.subscribe(&self.sid, &fwd).await {
                let o = other.clone();
                tokio::spawn(async move { o.negotiate_subscriber().await });
            }
        }
    }

    /// Published tracks, for subscribing a newcomer.
    pub(crate) fn forwarders(&self) -> Vec<Arc<Forwarder>> {
        self.published
            .lock()
            .map(|v| v.iter().map(|p| p.fwd.clone()).collect())
            .unwrap_or_default()
    }

    /// Removes a published track; notifies subscribers (renegotiation) and everyone (update).
    pub(crate) async fn unpublish(self: &Arc<Self>, track_sid: &str, notify_self: bool) {
        let removed = self.published.lock().ok().and_then(|mut v| {
            let idx = v.iter().position(|p| p.info.sid == track_sid)?;
            Some(v.remove(idx))
        });
        let Some(removed) = removed else { return };
        let downs: Vec<String> = removed
            .fwd
            .down
            .lock()
            .map(|v| v.iter().map(|d| d.subscriber_sid.clone()).collect())
            .unwrap_or_default();
        for sub_sid in downs {
            if let Some(sub) = self.room.find_sid(&sub_sid) {
                if sub.unsubscribe(track_sid).await {
                    tokio::spawn(async move { sub.negotiate_subscriber().await });
                }
            }
        }
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        self.bump_version();
        if notify_self {
            self.send(Out::TrackUnpublished(proto::TrackUnpublishedResponse {
                track_sid: track_sid.to_owned(),
            }));
        }
        self.room.broadcast_update(&self.info(), None);
    }
}

/// From an offer SDP: (msid track id -> mid) and the mids whose direction is inactive/recvonly
/// or whose port is 0 (the client stopped sending there).
pub(crate) fn scan_offer(sdp: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut map = HashMap::new();
    let mut inactive = Vec::new();
    for section in sdp.split("\r\nm=").skip(1) {
        let mut mid = None;
        let mut track = None;
        let mut dead = section.split_whitespace().nth(1) == Some("0");
        for line in section.split("\r\n") {
            if let Some(m) = line.strip_prefix("a=mid:") {
                mid = Some(m.trim().to_owned());
            } else if let Some(ms) = line.strip_prefix("a=msid:") {
                track = ms.split_whitespace().nth(1).map(str::to_owned);
            } else if line == "a=inactive" || line == "a=recvonly" {
                dead = true;
            }
        }
        if let Some(mid) = mid {
            if let Some(t) = track {
                map.insert(t, mid.clone());
            }
            if dead {
                inactive.push(mid);
            }
        }
    }
    (map, inactive)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scan_offer_finds_mids() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=msid:s1 TR_a\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=inactive\r\n";
        let (map, dead) = super::scan_offer(sdp);
        assert_eq!(map.get("TR_a").map(String::as_str), Some("0"));
        assert_eq!(dead, vec!["1".to_string()]);
    }
}
