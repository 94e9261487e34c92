//! One simulated candidate: joins its own room, has the agent dispatched into it, sends a
//! microphone track (encoded silence, then a spoken answer per turn, paced every 20 ms) and
//! times, on its own clock, the agent's arrival and each reply: voice-to-voice is the end of
//! its answer to the first agent frame above [`LOUD_DBFS`].

use std::sync::Arc;
use std::time::Duration;

use interview_agent::config::Secret;
use interview_agent::room::{Room, RoomEvent, RoomOptions};
use interview_agent::token::join_token;
use livekit_api::services::agent_dispatch::AgentDispatchClient;
use livekit_protocol as proto;
use tokio::time::Instant;

use super::voice::Voice;

/// The agent's audio counts as speech above this level.
pub const LOUD_DBFS: f32 = -50.0;
/// The agent has finished an utterance after this much quiet.
const QUIET_AFTER: Duration = Duration::from_millis(1200);

#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub api_key: String,
    pub api_secret: Secret,
    pub agent_name: String,
}

#[derive(Clone, Copy)]
pub struct Plan {
    pub turns: usize,
    /// No agent audio this long after an answer: a missed turn.
    pub reply_timeout: Duration,
    /// The agent must be in the room and greet within this long.
    pub join_timeout: Duration,
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// CreateDispatch -> the agent's audio track subscribed here.
    pub join: Option<Duration>,
    /// CreateDispatch -> the greeting's first audible frame.
    pub first_audio: Option<Duration>,
    pub v2v: Vec<Duration>,
    pub missed: usize,
    pub error: Option<String>,
}

enum Phase {
    /// Waiting for the greeting to start, then to end.
    Greeting { heard: bool },
    /// Sending the answer: the next packet index.
    Answering { next: usize },
    /// Answer sent at `ended`: waiting for the agent's voice.
    Waiting { ended: Instant },
    /// The agent is replying.
    Listening,
}

pub async fn run(i: usize, run_id: &str, target: Target, voice: Arc<Voice>, plan: Plan) -> Outcome {
    let mut out = Outcome::default();
    if let Err(e) = session(i, run_id, &target, &voice, plan, &mut out).await {
        out.error = Some(e);
    }
    out
}

async fn session(
    i: usize,
    run_id: &str,
    t: &Target,
    voice: &Voice,
    plan: Plan,
    out: &mut Outcome,
) -> Result<(), String> {
    let room_name = format!("load-{run_id}-{i}");
    let identity = format!("candidate-{i}");
    let token = join_token(
        &t.api_key,
        &t.api_secret,
        &room_name,
        &identity,
        None,
        Duration::from_secs(3600),
    )
    .map_err(|e| e.to_string())?;
    let (room, mut events) = Room::connect(&t.url, &token, RoomOptions::default())
        .await
        .map_err(|e| format!("join: {e}"))?;
    let mut mic = room
        .publish_audio("microphone")
        .await
        .map_err(|e| format!("publish: {e}"))?;

    let host = t
        .url
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let dispatched = Instant::now();
    AgentDispatchClient::with_api_key(&host, &t.api_key, t.api_secret.expose())
        .create_dispatch(proto::CreateAgentDispatchRequest {
            agent_name: t.agent_name.clone(),
            room: room_name.clone(),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("dispatch: {e}"))?;

    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut agent_audio = None;
    let mut phase = Phase::Greeting { heard: false };
    let mut last_loud: Option<Instant> = None;
    let mut turns_done = 0;
    let deadline = dispatched + plan.join_timeout;
    let result = loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = Instant::now();
                let packet = match &mut phase {
                    Phase::Answering { next } => {
                        let p = voice.answer[*next].clone();
                        *next += 1;
                        if *next == voice.answer.len() {
                            phase = Phase::Waiting { ended: now };
                        }
                        p
                    }
                    _ => voice.silence.clone(),
                };
                mic.send_encoded(packet).await;
                match phase {
                    Phase::Greeting { heard: false } if now > deadline => {
                        let what = if out.join.is_some() { "greeting" } else { "agent" };
                        break Err(format!("no {what} within {:?}", plan.join_timeout));
                    }
                    Phase::Waiting { ended } if now - ended > plan.reply_timeout => {
                        out.missed += 1;
                        turns_done += 1;
                        if turns_done >= plan.turns {
                            break Ok(());
                        }
                        phase = Phase::Answering { next: 0 };
                    }
                    _ => {}
                }
                // The agent's utterance ended: answer (or leave after the last turn).
                let quiet = last_loud.is_some_and(|l| now - l >= QUIET_AFTER);
                match phase {
                    Phase::Greeting { heard: true } if quiet => phase = Phase::Answering { next: 0 },
                    Phase::Listening if quiet => {
                        turns_done += 1;
                        if turns_done >= plan.turns {
                            break Ok(());
                        }
                        phase = Phase::Answering { next: 0 };
                    }
                    _ => {}
                }
            }
            frame = next_frame(&mut agent_audio) => {
                let Some(frame) = frame else {
                    agent_audio = None;
                    continue;
                };
                if frame.rms_dbfs() < LOUD_DBFS {
                    continue;
                }
                let now = Instant::now();
                last_loud = Some(now);
                match phase {
                    Phase::Greeting { heard: false } => {
                        out.first_audio = Some(now - dispatched);
                        phase = Phase::Greeting { heard: true };
                    }
                    Phase::Waiting { ended } => {
                        out.v2v.push(now - ended);
                        phase = Phase::Listening;
                    }
                    _ => {}
                }
            }
            ev = events.recv() => match ev {
                Some(RoomEvent::AudioTrackSubscribed { stream, participant, .. })
                    if participant.identity != identity =>
                {
                    out.join.get_or_insert(Instant::now() - dispatched);
                    agent_audio = Some(stream);
                }
                Some(RoomEvent::Disconnected { reason }) => break Err(format!("left: {reason}")),
                None => break Err("room closed".into()),
                Some(_) => {}
            },
        }
    };
    room.close().await;
    result
}

async fn next_frame(
    stream: &mut Option<interview_agent::audio::FrameReceiver>,
) -> Option<interview_agent::audio::AudioFrame> {
    match stream {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
