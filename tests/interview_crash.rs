//! "Results are never lost", end to end with the real binary: the agent is killed with SIGKILL
//! in the middle of an interview (after the candidate's first answer was transcribed); the
//! restarted worker delivers the partial transcript from its spool exactly once, with the
//! partial audio recording (the complete Ogg pages written before the kill), and a later
//! `interview-agent deliver` finds nothing left to send.
//!
//! Everything is real: the LiveKit test server, the example hiring backend (GraphQL, room
//! creation + explicit dispatch, candidate password and token), the local AI stack
//! (faster-whisper, SmolLM2, Piper), the `interview-agent start` worker process and a Python
//! SDK candidate speaking a WAV.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::local_ai::LocalAi;
use common::{said_by, spool_files, Env, PyPeer, TempDir};
use hiring_backend::{BackendOptions, LiveKitSettings, NewApplication, Notifier, RunningBackend};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const AGENT_NAME: &str = "crash-agent";
const ANSWER: &str = "I have five years of experience with distributed systems and databases.";

const CREATE_ROOM: &str =
    "mutation($id: ID!) { createInterviewRoom(applicationId: $id) { roomName expiresAt } }";
const GET_TOKEN: &str = "mutation($id: ID!, $pw: String!) {
    getRoomToken(applicationId: $id, password: $pw) { roomName token url } }";

/// `data` of a GraphQL request to the backend that must succeed.
async fn gql(backend: &RunningBackend, query: &str, variables: Value) -> Value {
    let client = hiring_backend::http_client_builder()
        .expect("TLS config")
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let res = client
        .post(backend.graphql_url())
        .bearer_auth(common::API_TOKEN)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("GraphQL request");
    assert!(res.status().is_success(), "GraphQL HTTP {}", res.status());
    let body: Value = res.json().await.expect("GraphQL JSON");
    assert!(body.get("errors").is_none(), "GraphQL errors: {body}");
    body["data"].clone()
}

/// The `interview-agent` binary with the test's environment; output goes to `<dir>/<tag>.*`.
fn agent_command(
    env: &Env,
    backend: &RunningBackend,
    ai: &LocalAi,
    dir: &Path,
    tag: &str,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_interview-agent"));
    cmd.args(args)
        .env("LIVEKIT_URL", &env.url)
        .env("LIVEKIT_API_KEY", &env.api_key)
        .env("LIVEKIT_API_SECRET", env.api_secret.expose())
        .env("INTERVIEW_BACKEND_URL", backend.graphql_url())
        .env("OPENAI_BASE_URL", format!("{}/v1", ai.url))
        .env_remove("OPENAI_API_KEY")
        .env("INTERVIEW_BACKEND_TOKEN", common::API_TOKEN)
        .env_remove("LIVEKIT_AGENT_NAME")
        .env(
            "RUST_LOG",
            "info,rtc=off,rtc_ice=off,rtc_dtls=off,rtc_sctp=off,rtc_srtp=off,webrtc=off",
        )
        .stdin(Stdio::null())
        .stdout(log_file(dir, tag, "stdout"))
        .stderr(log_file(dir, tag, "stderr"))
        .kill_on_drop(true);
    cmd
}

fn log_file(dir: &Path, tag: &str, stream: &str) -> std::fs::File {
    std::fs::File::create(dir.join(format!("{tag}.{stream}"))).expect("log file")
}

/// Every agent log file in `dir`, for failure messages.
fn logs(dir: &Path) -> String {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.retain(|p| {
        p.extension()
            .is_some_and(|e| e == "stdout" || e == "stderr")
    });
    names.sort();
    let mut out = String::new();
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        out.push_str(&format!("\n===== {} =====\n{text}", p.display()));
    }
    out
}

/// Prints the agent's logs when the test fails (panics) while this is alive.
struct DumpLogsOnPanic(PathBuf);
impl Drop for DumpLogsOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("agent logs:{}", logs(&self.0));
        }
    }
}

/// Start `interview-agent start` and wait until it is registered with LiveKit (its health
/// endpoint answers 200 on `/` only then).
async fn start_worker(
    env: &Env,
    backend: &RunningBackend,
    ai: &LocalAi,
    dir: &Path,
    config: &Path,
    tag: &str,
) -> Child {
    let config = config.to_string_lossy().to_string();
    let mut child = agent_command(
        env,
        backend,
        ai,
        dir,
        tag,
        &[
            "start",
            "--config",
            &config,
            "--health-port",
            "0",
            "--agent-name",
            AGENT_NAME,
        ],
    )
    .spawn()
    .expect("spawn interview-agent start");
    let stdout = dir.join(format!("{tag}.stdout"));
    let client = hiring_backend::http_client_builder()
        .expect("TLS config")
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let registered = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the agent exited early: {status}");
            }
            let text = std::fs::read_to_string(&stdout).unwrap_or_default();
            let addr = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("health on http://"))
                .map(str::to_string);
            if let Some(addr) = addr {
                let port = addr.rsplit(':').next().unwrap_or_default().to_string();
                let ok = client
                    .get(format!("http://127.0.0.1:{port}/"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        registered.is_ok(),
        "the agent never registered with LiveKit"
    );
    child
}

/// The spool's records (every complete line of every file).
fn spool_records(spool: &Path) -> Vec<Value> {
    spool_files(spool)
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_delivers_the_partial_transcript_once_after_restart() {
    let env = Env::start().await;
    let (notifier, mut passwords) = Notifier::channel();
    let backend = hiring_backend::start(common::backend_options(BackendOptions {
        livekit: Some(LiveKitSettings {
            url: env.url.clone(),
            api_key: env.api_key.clone(),
            api_secret: env.api_secret.expose().to_string(),
            agent_name: AGENT_NAME.into(),
        }),
        notifier,
        bcrypt_cost: 4,
        ..Default::default()
    }))
    .await
    .expect("start the hiring backend");
    let store = backend.store();
    let ai = LocalAi::start().await;

    let dir = TempDir::new("crash");
    let _dump = DumpLogsOnPanic(dir.0.clone());
    let wav = dir.0.join("answer.wav");
    ai.speech_wav(ANSWER, &wav).await;

    let app = store
        .create_application(NewApplication {
            candidate_name: "Alex Morgan".into(),
            job_title: "Backend Engineer".into(),
            job_description: "Rust services.".into(),
            questions: vec![
                "Tell me about your experience with distributed systems.".into(),
                "How do you make a service safe to retry?".into(),
            ],
            language: "en".into(),
            max_duration_seconds: Some(600),
            record_audio: true,
            ..Default::default()
        })
        .expect("create the application");

    let spool = dir.0.join("spool");
    let config = dir.0.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[interview]\nspool_dir = {spool:?}\nllm_phrasing = false\nllm_judge = false\n\n\
             [openai]\ntimeout_ms = 60000\n\n[worker]\nhealth_host = \"127.0.0.1\"\n",
            spool = spool.to_string_lossy()
        ),
    )
    .expect("write the config");

    // 1. The worker, then the hiring site's room flow: room + dispatch, password, token.
    let mut agent = start_worker(&env, &backend, &ai, &dir.0, &config, "agent-1").await;
    let data = gql(&backend, CREATE_ROOM, json!({ "id": app })).await;
    let room = data["createInterviewRoom"]["roomName"]
        .as_str()
        .expect("roomName")
        .to_string();
    assert_eq!(room, format!("interview-{app}-1"));
    let note = tokio::time::timeout(Duration::from_secs(10), passwords.recv())
        .await
        .expect("a password notification")
        .expect("notifier open");
    assert_eq!(note.room_name, room);
    let data = gql(
        &backend,
        GET_TOKEN,
        json!({ "id": app, "pw": note.password }),
    )
    .await;
    let token = data["getRoomToken"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(data["getRoomToken"]["roomName"], json!(room));

    // 2. The candidate joins with the backend's token (PyPeer mints one from `env` first;
    //    the peer takes the last --token given, so the backend's wins) and answers after the
    //    greeting and the first question (about 20 s of speech; said earlier, the answer
    //    interrupts the agent, which is recorded all the same).
    let wav_arg = wav.to_string_lossy().to_string();
    let candidate = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &[
            "--token",
            &token,
            "--publish-wav",
            &wav_arg,
            "--wav-delay",
            "24",
            "--listen-seconds",
            "300",
        ],
    )
    .await;

    // 3. Kill -9 once the candidate's answer is on disk.
    let answered = tokio::time::timeout(Duration::from_secs(180), async {
        loop {
            let records = spool_records(&spool);
            if records
                .iter()
                .any(|r| r["type"] == "transcript" && r["speaker"] == "candidate")
            {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no candidate transcript was spooled; spool: {:?}",
            spool_records(&spool)
        )
    });
    agent.kill().await.expect("SIGKILL the agent");
    eprintln!("spooled before the kill: {answered:#?}");

    let files = spool_files(&spool);
    assert_eq!(files.len(), 1, "one interview spooled: {files:?}");
    let key = files[0]
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("spool file name")
        .to_string();
    let records = spool_records(&spool);
    assert!(
        !records
            .iter()
            .any(|r| r["type"] == "result" || r["type"] == "delivered"),
        "the interview was still running: {records:?}"
    );
    assert!(
        store.results_for(&app).expect("results").is_empty(),
        "nothing may be delivered before the restart"
    );
    drop(candidate);

    // 4. The restarted worker delivers the partial result from the spool.
    let mut agent = start_worker(&env, &backend, &ai, &dir.0, &config, "agent-2").await;
    let results = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            let r = store.results_for(&app).expect("results");
            if !r.is_empty() {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await
    .expect("the restarted agent delivered the spooled interview");
    assert_eq!(results.len(), 1, "{results:?}");
    let stored = &results[0];
    assert!(stored.partial, "a partial result: {:?}", stored.result);
    assert_eq!(stored.idempotency_key, key, "the spool file's key");
    let r = &stored.result;
    assert_eq!(r["partial"], json!(true), "{r}");
    assert_eq!(r["applicationId"], json!(app), "{r}");
    assert_eq!(r["idempotencyKey"], json!(key), "{r}");
    let transcript = r["transcript"].as_array().expect("transcript");
    let interviewer = said_by(r, "INTERVIEWER");
    let candidate = said_by(r, "CANDIDATE");
    assert!(!interviewer.is_empty(), "interviewer lines: {transcript:?}");
    assert!(
        candidate
            .iter()
            .any(|t| t.contains("experience") || t.contains("distributed")),
        "the candidate's answer: {transcript:?}"
    );

    // Two questions were asked before the kill? Whatever was asked is counted.
    let asked = spool_records(&spool)
        .iter()
        .filter(|r| r["type"] == "asked")
        .count();
    assert!(asked >= 1);
    assert_eq!(r["questionsAsked"], json!(asked), "{r}");

    // The partial recording: the audio up to the kill, delivered with the result.
    let recording = spool.join(format!("{key}.ogg"));
    assert!(
        recording.exists(),
        "the recording was written next to the spool"
    );
    let recs = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let r = store.recordings(&app).expect("recordings");
            if !r.is_empty() {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await
    .expect("the partial recording was delivered");
    assert_eq!(recs.len(), 1);
    assert!(recs[0].partial, "{:?}", recs[0]);
    assert_eq!(recs[0].idempotency_key, key);
    // It holds the interview until the candidate's answer: at least the greeting and question.
    assert!(recs[0].duration_ms >= 10_000, "{:?}", recs[0]);
    assert!(recs[0].bytes > 4_000, "{:?}", recs[0]);

    // The worker marked it delivered: the file now ends with a `delivered` record.
    let marked = tokio::time::timeout(Duration::from_secs(10), async {
        while !spool_records(&spool)
            .iter()
            .any(|r| r["type"] == "delivered")
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(marked.is_ok(), "spool: {:?}", spool_records(&spool));
    agent.kill().await.expect("stop the agent");
    let attempts = store.save_attempts();

    // 5. A manual delivery run finds nothing to send: delivered exactly once.
    let config_arg = config.to_string_lossy().to_string();
    let status = agent_command(
        &env,
        &backend,
        &ai,
        &dir.0,
        "deliver",
        &["deliver", "--config", &config_arg],
    )
    .status()
    .await
    .expect("run interview-agent deliver");
    let out = std::fs::read_to_string(dir.0.join("deliver.stdout")).unwrap_or_default();
    assert!(status.success(), "deliver failed ({status}): {out}");
    assert!(out.contains("delivered 0 "), "deliver said: {out}");
    assert_eq!(
        store.save_attempts(),
        attempts,
        "no delivery after the first"
    );
    let results = store.results_for(&app).expect("results");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0].idempotency_key, key);

    backend.shutdown().await;
}
