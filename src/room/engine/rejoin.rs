//! Rejoin after a lost signal connection: same identity, fresh media, tracks republished,
//! remote streams kept.

use super::*;

impl Engine {
    /// Lost the signal connection (or the server asked us to reconnect): join again with the
    /// same identity, rebuild media, re-publish our tracks. Remote audio streams continue.
    pub(super) async fn rejoin(&mut self, reason: String) -> Result<(), RoomError> {
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
