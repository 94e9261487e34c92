//! Joining a LiveKit room in pure Rust: signalling (livekit-signaling), the publisher and
//! subscriber peer connections (webrtc-rs), remote Opus audio as 48 kHz frame streams, one
//! published audio track, participant/track events, attributes, data and text streams, and a
//! transparent rejoin when the signal connection drops.
//!
//! ```no_run
//! # async fn demo(url: &str, token: &str) -> Result<(), interview_agent::room::RoomError> {
//! use interview_agent::room::{Room, RoomEvent, RoomOptions};
//! let (room, mut events) = Room::connect(url, token, RoomOptions::default()).await?;
//! let mut voice = room.publish_audio("agent-voice").await?;
//! while let Some(ev) = events.recv().await {
//!     if let RoomEvent::AudioTrackSubscribed { mut stream, .. } = ev {
//!         while let Some(frame) = stream.recv().await { voice.capture_frame(&frame).await?; }
//!     }
//! }
//! # Ok(()) }
//! ```

mod data;
mod engine;
mod error;
mod events;
mod options;
mod participants;
mod peer;
mod publish;
mod signal;
mod subscribe;
mod transport;

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

pub use error::RoomError;
pub use events::{Participant, RoomEvent, TrackKind, TrackPublication};
pub use options::RoomOptions;
pub use publish::LocalAudioTrack;

use engine::{Command, Engine, PUBLISH_TIMEOUT};

/// A joined room. Cheap to share behind an `Arc`; dropping the last handle leaves the room.
pub struct Room {
    cmd: mpsc::Sender<Command>,
    identity: String,
    sid: String,
    name: String,
}

impl Room {
    /// Join `url` with `token`. Retries unreachable servers with backoff; a rejected token is
    /// an immediate [`RoomError::Unauthorized`].
    pub async fn connect(
        url: &str,
        token: &str,
        opts: RoomOptions,
    ) -> Result<(Room, mpsc::Receiver<RoomEvent>), RoomError> {
        let (ev_tx, ev_rx) = mpsc::channel(opts.event_capacity.max(16));
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let joined = Engine::join(url, token, opts, ev_tx, cmd_rx).await?;
        let room = Room {
            cmd: cmd_tx,
            identity: joined.local.identity.clone(),
            sid: joined.local.sid.clone(),
            name: joined.room.name.clone(),
        };
        tokio::spawn(joined.engine.run());
        Ok((room, ev_rx))
    }

    pub fn local_identity(&self) -> &str {
        &self.identity
    }
    /// Our participant sid at join time (a rejoin gets a new one).
    pub fn local_sid(&self) -> &str {
        &self.sid
    }
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, RoomError>>) -> Command,
    ) -> Result<T, RoomError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| RoomError::Closed("room is closed".into()))?;
        match tokio::time::timeout(PUBLISH_TIMEOUT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(RoomError::Closed("room closed before answering".into())),
            Err(_) => Err(RoomError::Timeout("the room to complete the request")),
        }
    }

    /// Publish one microphone-source audio track (Opus, no RED). Resolves once negotiated.
    pub async fn publish_audio(&self, name: &str) -> Result<LocalAudioTrack, RoomError> {
        let name = name.to_string();
        let slot = self
            .call(|reply| Command::PublishAudio { name, reply })
            .await?;
        LocalAudioTrack::new(slot)
    }

    /// Merge `attributes` into ours (an empty value deletes a key).
    pub async fn set_attributes(
        &self,
        attributes: HashMap<String, String>,
    ) -> Result<(), RoomError> {
        self.call(|reply| Command::SetAttributes { attributes, reply })
            .await
    }

    /// Send a user data packet; `destinations` empty = everyone.
    pub async fn send_data(
        &self,
        payload: Vec<u8>,
        topic: Option<&str>,
        reliable: bool,
        destinations: &[String],
    ) -> Result<(), RoomError> {
        let packet = data::user_packet(&self.identity, topic, payload, destinations);
        data::check_size(&packet).map_err(RoomError::Invalid)?;
        let packets = vec![packet];
        self.call(|reply| Command::SendData {
            packets,
            reliable,
            reply,
        })
        .await
    }

    /// Send a complete text stream on `topic` (LiveKit data streams); returns its stream id.
    pub async fn send_text(
        &self,
        topic: &str,
        text: &str,
        attributes: &HashMap<String, String>,
    ) -> Result<String, RoomError> {
        let stream_id = data::random_id("ST_");
        let packets =
            data::text_stream_packets(&self.identity, &stream_id, topic, text, attributes);
        self.call(|reply| Command::SendData {
            packets,
            reliable: true,
            reply,
        })
        .await?;
        Ok(stream_id)
    }

    /// Leave the room (tells the server, closes media). Idempotent.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Command::Close { reply: tx }).await.is_ok() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), rx).await;
        }
    }
}
