//! What the worker hands a session: the job (room, token, metadata) and a cancel switch; and
//! the [`SessionRunner`] trait the worker calls for every assignment (the interviewer, the
//! free voice agent, or the echo diagnostic, per `voice.session`).

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::room::{Room, RoomError, RoomEvent, RoomOptions};

/// One dispatched job, as the session sees it.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub job_id: String,
    pub room_name: String,
    pub url: String,
    pub token: String,
    /// Parsed job metadata (an object; `{}` when absent or malformed).
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub agent_name: String,
}

impl JobSpec {
    /// Parse the dispatch metadata. Malformed JSON never fails the job: defaults, plus the
    /// reason for the log.
    pub fn parse_metadata(
        raw: &str,
    ) -> (serde_json::Map<String, serde_json::Value>, Option<String>) {
        if raw.trim().is_empty() {
            return (Default::default(), None);
        }
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Object(m)) => (m, None),
            Ok(other) => (
                Default::default(),
                Some(format!(
                    "job metadata is JSON but not an object ({}); using defaults",
                    kind_of(&other)
                )),
            ),
            Err(e) => (
                Default::default(),
                Some(format!(
                    "job metadata is not valid JSON ({e}); using defaults"
                )),
            ),
        }
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Room(#[from] RoomError),
    #[error("{0}")]
    Failed(String),
}

/// Runs one session per job. Implementations must return when `cancel` fires.
#[async_trait]
pub trait SessionRunner: Send + Sync + 'static {
    async fn run(&self, job: JobSpec, cancel: CancellationToken) -> Result<(), SessionError>;
}

/// The echo diagnostic as a job: join, echo, and finish once the humans have left.
pub struct EchoRunner {
    pub room_options: RoomOptions,
    pub delay: Duration,
    /// After the last human leaves, wait this long for someone to come back before ending.
    pub empty_grace: Duration,
}

impl Default for EchoRunner {
    fn default() -> Self {
        EchoRunner {
            room_options: RoomOptions::default(),
            delay: Duration::from_millis(500),
            empty_grace: Duration::from_secs(3),
        }
    }
}

#[async_trait]
impl SessionRunner for EchoRunner {
    async fn run(&self, job: JobSpec, cancel: CancellationToken) -> Result<(), SessionError> {
        let (room, events) = Room::connect(&job.url, &job.token, self.room_options.clone()).await?;
        tracing::info!(job_id = %job.job_id, room = %job.room_name, "session started (echo)");
        // Watch who is in the room alongside the echo loop: end when the humans are gone.
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let done = CancellationToken::new();
        let watcher = tokio::spawn(watch_humans(events, tx, done.clone(), self.empty_grace));
        let opts = super::EchoOptions {
            delay: self.delay,
            duration: None,
            tone_hz: None,
            echo: true,
        };
        let stop = {
            let cancel = cancel.clone();
            let done = done.clone();
            async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = done.cancelled() => {}
                }
            }
        };
        let result = super::run_echo(&room, rx, opts, stop).await;
        room.close().await;
        watcher.abort();
        result.map(|_| ()).map_err(SessionError::from)
    }
}

/// Forward room events to the echo loop and cancel `done` once no human has been in the room
/// for `grace` (after at least one joined).
async fn watch_humans(
    mut events: tokio::sync::mpsc::Receiver<RoomEvent>,
    tx: tokio::sync::mpsc::Sender<RoomEvent>,
    done: CancellationToken,
    grace: Duration,
) {
    let mut humans: HashSet<String> = HashSet::new();
    let mut seen_any = false;
    let mut empty_since: Option<tokio::time::Instant> = None;
    loop {
        let deadline = empty_since.map(|t| t + grace);
        let ev = tokio::select! {
            ev = events.recv() => ev,
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                done.cancel();
                return;
            }
        };
        let Some(ev) = ev else {
            done.cancel();
            return;
        };
        match &ev {
            RoomEvent::ParticipantConnected(p) if !p.is_agent => {
                humans.insert(p.identity.clone());
                seen_any = true;
                empty_since = None;
            }
            RoomEvent::ParticipantDisconnected(p) if !p.is_agent => {
                humans.remove(&p.identity);
                if seen_any && humans.is_empty() {
                    empty_since = Some(tokio::time::Instant::now());
                }
            }
            _ => {}
        }
        if tx.send(ev).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_parsing_never_fails_the_job() {
        let (m, why) = JobSpec::parse_metadata(r#"{"applicationId":"42"}"#);
        assert_eq!(m["applicationId"], "42");
        assert!(why.is_none());
        let (m, why) = JobSpec::parse_metadata("{not json");
        assert!(m.is_empty());
        assert!(why.unwrap().contains("not valid JSON"));
        let (m, why) = JobSpec::parse_metadata("[1,2]");
        assert!(m.is_empty());
        assert!(why.unwrap().contains("an array"));
        assert_eq!(JobSpec::parse_metadata("  ").1, None);
    }
}
