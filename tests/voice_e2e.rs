//! The voice agent end to end with real engines: the local AI stack (faster-whisper,
//! llama.cpp SmolLM2, piper; `scripts/setup-ai.sh`) behind its OpenAI-compatible server, the
//! LiveKit server (fixture, or LIVEKIT_URL), and a Python SDK candidate speaking a WAV.

mod common;

use std::time::Duration;

use common::local_ai::LocalAi;
use common::{states_seen, tracks_from, Env, PyPeer, TempDir};
use interview_agent::config::Config;
use interview_agent::session::{JobSpec, SessionRunner, VoiceRunner};
use interview_agent::telemetry::voice_metrics;
use tokio_util::sync::CancellationToken;

fn contains_in_order(seq: &[String], wanted: &[&str]) -> bool {
    let mut it = seq.iter();
    wanted.iter().all(|w| it.any(|s| s == w))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_hears_the_candidate_and_answers_with_real_engines() {
    let ai = LocalAi::start().await;
    let env = Env::start().await;
    let dir = TempDir::new("voice");
    let wav = dir.0.join("answer.wav");
    ai.speech_wav(
        "I have five years of experience with Rust and distributed systems.",
        &wav,
    )
    .await;

    let mut config = Config::default();
    config.openai.base_url = format!("{}/v1", ai.url);
    config.openai.timeout_ms = 60_000;
    config.llm.max_tokens = 40;
    config.voice.greeting = String::new();
    let runner = VoiceRunner::from_config(&config).expect("voice runner");
    let room = common::room_name("voice");
    let job = JobSpec {
        job_id: "voice-e2e".into(),
        room_name: room.clone(),
        url: env.url.clone(),
        token: env.token(&room, "agent"),
        metadata: Default::default(),
        agent_name: "interviewer".into(),
    };
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let session = tokio::spawn(async move { runner.run(job, stop).await });

    let wav_arg = wav.to_string_lossy().to_string();
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &[
            "--publish-wav",
            &wav_arg,
            "--wav-delay",
            "2",
            "--listen-seconds",
            "40",
        ],
    )
    .await;
    let report = peer.finish().await;
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(20), session)
        .await
        .expect("session ends")
        .expect("no panic");
    assert!(outcome.is_ok(), "{outcome:?}");

    let texts: Vec<&serde_json::Value> = report["text_streams"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|t| t["topic"] == "lk.transcription" && t["participant"] == "agent")
                .collect()
        })
        .unwrap_or_default();
    let user = texts
        .iter()
        .find(|t| {
            t["attributes"]["lk.segment_id"]
                .as_str()
                .is_some_and(|s| s.starts_with("user-"))
        })
        .unwrap_or_else(|| panic!("no user transcript: {report}"));
    let heard = user["text"].as_str().unwrap_or("").to_lowercase();
    // Whisper tiny.en hears "Rust" as "rest" on some CPUs; these words it gets everywhere.
    assert!(
        heard.contains("experience") && heard.contains("distributed"),
        "the agent heard {heard:?}"
    );
    assert_eq!(user["attributes"]["lk.transcription_final"], "true");
    assert!(!user["attributes"]["lk.transcribed_track_id"]
        .as_str()
        .unwrap_or("")
        .is_empty());
    let agent_final = texts.iter().any(|t| {
        t["attributes"]["lk.segment_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("agent-"))
            && t["attributes"]["lk.transcription_final"] == "true"
            && !t["text"].as_str().unwrap_or("").trim().is_empty()
    });
    assert!(agent_final, "no final agent transcript: {texts:?}");

    let spoken = tracks_from(&report, "agent");
    let seconds = spoken
        .iter()
        .filter_map(|t| t["seconds_above_-40dbfs"].as_f64())
        .fold(0.0, f64::max);
    assert!(
        seconds > 1.0,
        "the candidate heard {seconds} s of agent speech: {report}"
    );

    let states = states_seen(&report, "agent");
    assert!(
        contains_in_order(&states, &["listening", "thinking", "speaking", "listening"]),
        "lk.agent.state sequence seen by the candidate: {states:?}"
    );
    let m = voice_metrics();
    assert!(
        m.e2e.count() >= 1
            && m.stt.count() >= 1
            && m.llm_ttft.count() >= 1
            && m.tts_ttfb.count() >= 1
    );
    eprintln!("user said: {heard}\nstates: {states:?}\n{}", m.render());
}
