//! The room layer against a LiveKit server (our fixture, or a real one via LIVEKIT_URL) and
//! the official LiveKit Python SDK as the other participant.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{dominant_hz, rms_dbfs, tracks_from, Env, PyPeer};
use interview_agent::audio::FrameReceiver;
use interview_agent::room::{Room, RoomEvent, RoomOptions, TrackKind};
use interview_agent::session::tone::Tone;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

/// The agent side: our room client joining as "agent".
async fn join_agent(env: &Env, room: &str) -> (Room, mpsc::Receiver<RoomEvent>) {
    Room::connect(&env.url, &env.token(room, "agent"), RoomOptions::default())
        .await
        .expect("agent joins")
}

/// Next event matching `pick`, failing the test after `WAIT`.
async fn wait_for<T>(
    events: &mut mpsc::Receiver<RoomEvent>,
    what: &str,
    mut pick: impl FnMut(RoomEvent) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(ev) = events.recv().await {
            if let Some(v) = pick(ev) {
                return Some(v);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(v)) => v,
        Ok(None) => panic!("room closed while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

async fn subscribed_audio(events: &mut mpsc::Receiver<RoomEvent>, from: &str) -> FrameReceiver {
    wait_for(events, &format!("audio from {from}"), |ev| match ev {
        RoomEvent::AudioTrackSubscribed {
            participant,
            stream,
            ..
        } if participant.identity == from => Some(stream),
        _ => None,
    })
    .await
}

/// Collect `secs` of audio after skipping `skip` frames (decoder/jitter warm-up).
async fn collect(stream: &mut FrameReceiver, skip: usize, secs: f64) -> Vec<i16> {
    let want = (secs * 48_000.0) as usize;
    let mut out = Vec::with_capacity(want);
    let mut skipped = 0;
    tokio::time::timeout(WAIT, async {
        while out.len() < want {
            let Some(f) = stream.recv().await else { break };
            if skipped < skip {
                skipped += 1;
                continue;
            }
            out.extend_from_slice(&f.samples);
        }
    })
    .await
    .expect("audio kept flowing");
    out
}

/// Play a tone in real time from a background task; returns a stop switch.
fn play_tone(
    mut voice: interview_agent::room::LocalAudioTrack,
    hz: f64,
    secs: u64,
) -> tokio::task::JoinHandle<interview_agent::room::LocalAudioTrack> {
    tokio::spawn(async move {
        let mut tone = Tone::new(hz, -12.0);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for _ in 0..secs * 50 {
            tick.tick().await;
            let _ = voice.capture_frame(&tone.next_frame()).await;
        }
        voice
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tones_both_ways_attributes_and_text_streams() {
    let env = Env::start().await;
    let room = common::room_name("tones");
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &[
            "--publish-tone",
            "440",
            "--tone-seconds",
            "10",
            "--listen-seconds",
            "10",
            "--send-text",
            "lk.chat:hello agent",
        ],
    )
    .await;

    let (agent, mut events) = join_agent(&env, &room).await;
    let voice = agent.publish_audio("agent-voice").await.expect("publish");
    let player = play_tone(voice, 660.0, 7);
    agent
        .set_attributes(HashMap::from([(
            "lk.agent.state".to_string(),
            "listening".to_string(),
        )]))
        .await
        .expect("set attributes");
    agent
        .send_text(
            "lk.transcription",
            "hello candidate",
            &HashMap::from([("lk.transcription_final".to_string(), "true".to_string())]),
        )
        .await
        .expect("send text");

    let mut stream = subscribed_audio(&mut events, "candidate").await;
    let pcm = collect(&mut stream, 25, 2.0).await;
    let hz = dominant_hz(&pcm, 200.0, 1000.0);
    let level = rms_dbfs(&pcm);
    assert!((hz - 440.0).abs() <= 5.0, "agent heard {hz} Hz");
    // Published at -12 dBFS peak = -15 dBFS RMS; Opus keeps it within a few dB.
    assert!(
        (-21.0..=-11.0).contains(&level),
        "agent heard level {level} dBFS"
    );

    let voice = player.await.expect("player");
    assert!(
        voice.frames_sent() > 200,
        "sent {} frames",
        voice.frames_sent()
    );
    let report = peer.finish().await;
    let agent_tracks = tracks_from(&report, "agent");
    assert_eq!(agent_tracks.len(), 1, "peer saw agent tracks: {report}");
    let heard = agent_tracks[0]["dominant_hz"].as_f64().unwrap_or(0.0);
    assert!(
        (heard - 660.0).abs() <= 5.0,
        "python heard {heard} Hz: {report}"
    );
    let attrs = &report["remote_participants"]["agent"]["attributes"];
    assert_eq!(attrs["lk.agent.state"], "listening", "{report}");
    let texts = report["text_streams"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        texts.iter().any(|t| t["topic"] == "lk.transcription"
            && t["text"] == "hello candidate"
            && t["participant"] == "agent"),
        "python saw text streams {texts:?}"
    );
    agent.close().await;
    let _ = events; // keep the channel alive until the end
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_the_python_peer_reaches_the_agent() {
    let env = Env::start().await;
    let room = common::room_name("text");
    let (agent, mut events) = join_agent(&env, &room).await;
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &[
            "--listen-seconds",
            "4",
            "--send-text",
            "lk.chat:hello agent",
        ],
    )
    .await;
    let (from, topic, text) = wait_for(&mut events, "a text stream", |ev| match ev {
        RoomEvent::TextReceived {
            participant_identity,
            topic,
            text,
            ..
        } => Some((participant_identity, topic, text)),
        _ => None,
    })
    .await;
    assert_eq!(
        (from.as_str(), topic.as_str(), text.as_str()),
        ("candidate", "lk.chat", "hello agent")
    );
    peer.finish().await;
    agent.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_is_ignored_and_a_leaving_peer_ends_its_stream() {
    let env = Env::start().await;
    let room = common::room_name("leave");
    let (agent, mut events) = join_agent(&env, &room).await;
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &[
            "--publish-tone",
            "440",
            "--tone-seconds",
            "30",
            "--publish-video",
            "--leave-after",
            "5",
            "--listen-seconds",
            "30",
        ],
    )
    .await;
    let mut stream = None;
    let mut ignored_video = false;
    tokio::time::timeout(WAIT, async {
        while stream.is_none() || !ignored_video {
            match events.recv().await.expect("events") {
                RoomEvent::AudioTrackSubscribed {
                    participant,
                    stream: s,
                    ..
                } if participant.identity == "candidate" => stream = Some(s),
                RoomEvent::TrackIgnored {
                    participant_identity,
                    ..
                } if participant_identity == "candidate" => ignored_video = true,
                RoomEvent::TrackPublished { track, .. } if track.kind == TrackKind::Video => {}
                _ => {}
            }
        }
    })
    .await
    .expect("audio subscribed and video ignored");
    let mut stream = stream.expect("stream");
    // Frames flow, then end cleanly (None) once the peer leaves.
    assert!(stream.recv().await.is_some());
    let ended = tokio::time::timeout(WAIT, async { while stream.recv().await.is_some() {} }).await;
    assert!(ended.is_ok(), "stream did not end after the peer left");
    wait_for(&mut events, "candidate to leave", |ev| match ev {
        RoomEvent::ParticipantDisconnected(p) if p.identity == "candidate" => Some(()),
        _ => None,
    })
    .await;
    peer.finish().await;
    agent.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejoins_after_the_signal_connection_drops_and_audio_continues() {
    let env = Env::start().await;
    let Some(server) = env.server.as_ref() else {
        eprintln!(
            "skipped: dropping signal connections needs the in-process test server's fault hook"
        );
        return;
    };
    let room = common::room_name("rejoin");
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &[
            "--publish-tone",
            "440",
            "--tone-seconds",
            "25",
            "--listen-seconds",
            "25",
        ],
    )
    .await;
    let (agent, mut events) = join_agent(&env, &room).await;
    let voice = agent.publish_audio("agent-voice").await.expect("publish");
    let mut stream = subscribed_audio(&mut events, "candidate").await;
    collect(&mut stream, 10, 0.5).await;

    server.drop_signal_connections();
    wait_for(&mut events, "Reconnecting", |ev| {
        matches!(ev, RoomEvent::Reconnecting { .. }).then_some(())
    })
    .await;
    wait_for(&mut events, "Reconnected", |ev| {
        matches!(ev, RoomEvent::Reconnected).then_some(())
    })
    .await;
    assert!(
        voice.is_live().await || {
            tokio::time::sleep(Duration::from_secs(3)).await;
            voice.is_live().await
        },
        "published track is live again after the rejoin"
    );

    // The same stream object keeps delivering the candidate's tone.
    let pcm = collect(&mut stream, 25, 1.0).await;
    let hz = dominant_hz(&pcm, 200.0, 1000.0);
    assert!((hz - 440.0).abs() <= 5.0, "after rejoin heard {hz} Hz");

    // And the candidate hears us again.
    let player = play_tone(voice, 660.0, 6);
    player.await.expect("player");
    let report = peer.finish().await;
    let heard: Vec<f64> = tracks_from(&report, "agent")
        .iter()
        .filter_map(|t| t["dominant_hz"].as_f64())
        .collect();
    assert!(
        heard.iter().any(|h| (h - 660.0).abs() <= 5.0),
        "python heard {heard:?}: {report}"
    );
    agent.close().await;
}
