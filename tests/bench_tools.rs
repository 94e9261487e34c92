//! The benchmark tools, end to end at a small size: the fake providers
//! (`examples/fake_providers.rs`), a real worker process (`interview-agent start --session
//! voice`) on the LiveKit test server, and the load generator (`examples/loadgen`) with two
//! candidates. Checks the tools measure what they claim (every turn answered and timed, joins
//! timed, no reply before the end of the candidate's turn, speculative replies counted in the
//! worker's /metrics), not how fast this machine is: the numbers belong in
//! `scripts/bench_capacity.sh`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

mod common;

use common::http_get;
use livekit_test_server::{TestServer, TestServerOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const AGENT: &str = "bench-tools";

/// `cargo test` builds the examples next to the test binaries' directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples (run `cargo build --examples` when \
         running this test alone)",
        path.display()
    );
    path
}

/// Spawn, and return the child with the value of its first stdout line starting `prefix`.
async fn spawn_announcing(cmd: &mut Command, prefix: &str) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let value = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(v) = l.strip_prefix(prefix) {
                return Some(v.to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| panic!("no line starting {prefix:?}"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, value)
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_times_every_turn_against_a_real_worker() {
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("test server");
    let (_providers, providers_url) = spawn_announcing(
        Command::new(example("fake_providers")).args([
            "--port",
            "0",
            "--stt-ms",
            "100",
            "--llm-ttft-ms",
            "100",
            "--llm-token-ms",
            "5",
            "--tts-ttfb-ms",
            "100",
        ]),
        "listening on ",
    )
    .await;
    let (_worker, health) = spawn_announcing(
        Command::new(env!("CARGO_BIN_EXE_interview-agent"))
            .current_dir(std::env::temp_dir())
            .env("LIVEKIT_URL", server.url())
            .env("LIVEKIT_API_KEY", server.api_key())
            .env("LIVEKIT_API_SECRET", server.api_secret())
            .env("OPENAI_BASE_URL", &providers_url)
            .env("OPENAI_API_KEY", "fake")
            .env_remove("RUST_LOG")
            .args([
                "start",
                "--agent-name",
                AGENT,
                "--health-port",
                "0",
                "--session",
                "voice",
                "--max-jobs",
                "0",
                "--log-level",
                "warn",
            ]),
        "health on ",
    )
    .await;
    let registered = tokio::time::timeout(Duration::from_secs(20), async {
        while http_get(&health, "/").await.0 != 200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(registered.is_ok(), "the worker never registered");

    let out = Command::new(example("loadgen"))
        .env("LIVEKIT_URL", server.url())
        .env("LIVEKIT_API_KEY", server.api_key())
        .env("LIVEKIT_API_SECRET", server.api_secret())
        .env_remove("RUST_LOG")
        .args([
            "--n",
            "2",
            "--turns",
            "2",
            "--answer-secs",
            "2",
            "--stagger-ms",
            "0",
            "--agent-name",
            AGENT,
            "--reply-timeout-secs",
            "20",
        ])
        .kill_on_drop(true)
        .output()
        .await
        .expect("run loadgen");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "loadgen exited with {}", out.status);
    let result: serde_json::Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|j| serde_json::from_str(j).expect("RESULT is JSON"))
        .expect("a RESULT line");
    assert_eq!(result["failed"], 0, "{result}");
    assert_eq!(result["missed"], 0, "{result}");
    assert_eq!(
        result["turns"], 4,
        "every answer got a timed reply: {result}"
    );
    let num = |k: &str| {
        result[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} missing: {result}"))
    };
    assert!(num("join_max_ms") >= num("join_p50_ms"));
    assert!(
        num("first_audio_p50_ms") > num("join_p50_ms"),
        "the greeting is heard after the agent's track arrives: {result}"
    );
    // The end of turn waits for 500 ms of silence at least: a reply sooner would mean the
    // agent spoke over an unfinished answer (or the tool timed the wrong thing).
    assert!(num("v2v_p50_ms") >= 500, "{result}");
    assert!(num("v2v_p90_ms") >= num("v2v_p50_ms"));

    let (_, metrics) = http_get(&health, "/metrics").await;
    let started = metric(
        &metrics,
        "interview_agent_speculative_replies_started_total",
    );
    let committed = metric(
        &metrics,
        "interview_agent_speculative_replies_committed_total",
    );
    let cancelled = metric(
        &metrics,
        "interview_agent_speculative_replies_cancelled_total",
    );
    assert!(
        committed >= 1,
        "replies were prepared in the pause: {metrics}"
    );
    assert_eq!(started, committed + cancelled, "{metrics}");
    assert_eq!(
        metric(&metrics, "interview_agent_jobs_refused_total"),
        0,
        "{metrics}"
    );
}

/// `--tts-wav`: the fake TTS speaks the given recording (resampled to its 24 kHz), from the
/// first sample on the first request; a file it cannot read stops it with an error naming the
/// flag. (Opus codes a tone far more cheaply than a voice, so CPU figures need speech.)
#[tokio::test]
async fn the_fake_tts_speaks_a_given_recording_and_refuses_a_bad_one() {
    use interview_agent::audio::{AudioFrame, SampleRate};
    use interview_agent::providers::pcm::wav_bytes;

    let dir = std::env::temp_dir().join(format!("bench-tools-wav-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wav = dir.join("voice.wav");
    let voice: Vec<i16> = (0..24_000)
        .map(|i| ((i * 7919) % 20_000 - 10_000) as i16)
        .collect();
    std::fs::write(
        &wav,
        wav_bytes(&AudioFrame::new(voice.clone(), SampleRate::HZ_24000)),
    )
    .unwrap();
    let (_providers, url) = spawn_announcing(
        Command::new(example("fake_providers")).args([
            "--port",
            "0",
            "--tts-ttfb-ms",
            "0",
            "--tts-wav",
            wav.to_str().unwrap(),
        ]),
        "listening on ",
    )
    .await;
    let body = reqwest::Client::new()
        .post(format!("{url}/audio/speech"))
        .header("content-type", "application/json")
        .body(r#"{"model":"tts-1","input":"Hello there.","voice":"alloy","response_format":"pcm"}"#)
        .send()
        .await
        .expect("speech request")
        .bytes()
        .await
        .expect("speech body");
    let got: Vec<i16> = body
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    // "Hello there." is 12 characters: 65 ms each at 24 kHz, the recording from its start.
    assert_eq!(got.len(), 12 * 65 * 24);
    assert!(
        got[..] == voice[..got.len()],
        "not the recording from its start: {:?}",
        &got[..8]
    );

    let out = Command::new(example("fake_providers"))
        .args([
            "--port",
            "0",
            "--tts-wav",
            dir.join("missing.wav").to_str().unwrap(),
        ])
        .output()
        .await
        .expect("run fake_providers");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--tts-wav") && err.contains("missing.wav"),
        "stderr: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
