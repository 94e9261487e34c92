//! `interview-agent demo`: a whole interview on one machine with nothing installed but this
//! repository's set-up: the bundled test LiveKit server, the example hiring backend (GraphQL +
//! SQLite), the local AI stack (Whisper, SmolLM2, Piper; or OpenAI when `OPENAI_API_KEY` is
//! set), this agent as a worker in-process, and a scripted candidate (the official LiveKit
//! Python SDK) answering with pre-synthesized speech. It drives the backend the way a hiring
//! app does (create the application, create the room: the backend dispatches the agent and
//! "sends" the candidate a password; the candidate trades the password for a join token),
//! prints the conversation as the candidate's client sees it, then the scorecard the backend
//! stored.

mod backend_ops;
pub mod procs;
mod report;
mod script;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use self::backend_ops::BackendApi;
use self::procs::Proc;
use crate::config::{Config, Secret};
use crate::error::Error;
use crate::worker::{self, WorkerOptions};

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The repository (scripts, Python environments).
    pub repo: PathBuf,
    /// Where `livekit-test-server` and `hiring-backend` were built (next to this binary).
    pub bin_dir: PathBuf,
    /// Work directory (answers, logs, spool, database); kept.
    pub work_dir: PathBuf,
    /// Give up after this long.
    pub timeout: Duration,
    /// Also write the stored result here (JSON).
    pub result_path: Option<PathBuf>,
}

impl DemoOptions {
    /// Defaults: the repository found from the working directory or this binary's location,
    /// binaries next to this one, a fresh directory under the system temp dir.
    pub fn discover() -> Result<DemoOptions, Error> {
        let exe = std::env::current_exe().map_err(|e| Error::Other(format!("demo: {e}")))?;
        let bin_dir = exe
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let is_repo = |p: &Path| p.join("scripts/local_ai/server.py").is_file();
        let mut candidates = vec![std::env::current_dir().unwrap_or_default()];
        candidates.extend(bin_dir.ancestors().map(Path::to_path_buf));
        let repo = candidates.into_iter().find(|p| is_repo(p)).ok_or_else(|| {
            Error::Other(
                "demo: run it from the interview-agent repository (scripts/demo.sh does)".into(),
            )
        })?;
        let work_dir = std::env::temp_dir().join(format!(
            "interview-demo-{}-{}",
            std::process::id(),
            crate::interview::spool::now_ms()
        ));
        Ok(DemoOptions {
            repo,
            bin_dir,
            work_dir,
            timeout: Duration::from_secs(600),
            result_path: None,
        })
    }
}

fn free_port() -> Result<u16, Error> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Other(format!("demo: no free port: {e}")))
}

fn need(path: &Path, hint: &str) -> Result<(), Error> {
    if path.exists() {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "demo: {} is missing ({hint})",
            path.display()
        )))
    }
}

/// Run the demo; prints as it goes and returns the stored (final) result.
pub async fn run(opts: DemoOptions) -> Result<Value, Error> {
    let fail = |m: String| Error::Other(format!("demo: {m}"));
    std::fs::create_dir_all(&opts.work_dir).map_err(|e| fail(e.to_string()))?;
    let work = &opts.work_dir;
    let py = opts.repo.join(".venv/bin/python");
    need(&py, "run scripts/setup.sh")?;
    need(
        &opts.bin_dir.join("livekit-test-server"),
        "run cargo build --workspace --bins",
    )?;
    need(
        &opts.bin_dir.join("hiring-backend"),
        "run cargo build --workspace --bins",
    )?;
    let openai_key = std::env::var("OPENAI_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());

    // 1. LiveKit (the bundled test server).
    let (lk_key, lk_secret) = ("devkey", "demo-secret-0123456789abcdef0123456789");
    let lk_port = free_port()?;
    let mut lk = Proc::spawn(
        "livekit-test-server",
        &opts.bin_dir.join("livekit-test-server"),
        &[
            "--port".into(),
            lk_port.to_string(),
            "--keys".into(),
            format!("{lk_key}:{lk_secret}"),
        ],
        Some(&work.join("livekit.log")),
        &[],
    )
    .map_err(fail)?;
    lk.wait_for("listening on", Duration::from_secs(20))
        .await
        .map_err(fail)?;
    let lk_url = format!("ws://127.0.0.1:{lk_port}");
    println!("== LiveKit test server at {lk_url}");

    // 2. The AI stack.
    let mut _ai: Option<Proc> = None;
    let ai_url = match &openai_key {
        Some(_) => {
            println!("== AI: OpenAI (OPENAI_API_KEY is set)");
            std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into())
        }
        None => {
            let py_ai = opts.repo.join(".venv-ai/bin/python");
            need(&py_ai, "run scripts/setup-ai.sh")?;
            println!("== starting the local AI stack (Whisper tiny.en, SmolLM2-135M, Piper) ...");
            let mut p = Proc::spawn(
                "local AI server",
                &py_ai,
                &[
                    opts.repo
                        .join("scripts/local_ai/server.py")
                        .display()
                        .to_string(),
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    "0".into(),
                ],
                Some(&work.join("ai.log")),
                &[],
            )
            .map_err(fail)?;
            let url = p
                .wait_for("READY ", Duration::from_secs(300))
                .await
                .map_err(fail)?;
            _ai = Some(p);
            format!("{url}/v1")
        }
    };

    // 3. The hiring backend, creating rooms on the test server and dispatching the agent.
    let agent_name = "interview-agent";
    let be_port = free_port()?;
    let mut backend = Proc::spawn(
        "hiring-backend",
        &opts.bin_dir.join("hiring-backend"),
        &[
            "--port".into(),
            be_port.to_string(),
            "--db".into(),
            work.join("hiring.db").display().to_string(),
            "--agent-name".into(),
            agent_name.into(),
        ],
        Some(&work.join("backend.log")),
        &[
            ("LIVEKIT_URL", lk_url.clone()),
            ("LIVEKIT_API_KEY", lk_key.to_string()),
            ("LIVEKIT_API_SECRET", lk_secret.to_string()),
        ],
    )
    .map_err(fail)?;
    let backend_url = backend
        .wait_for("READY ", Duration::from_secs(30))
        .await
        .map_err(fail)?;
    let graphql = format!("{backend_url}/graphql");
    println!("== hiring backend (GraphQL) at {graphql}");

    // 4. This agent, as a worker registered with the LiveKit server.
    let mut config = Config::default();
    config.apply_env(|k| std::env::var(k).ok());
    config.livekit.url = lk_url.clone();
    config.livekit.api_key = lk_key.into();
    config.livekit.api_secret = Secret::new(lk_secret);
    config.agent.name = agent_name.into();
    config.backend.url = graphql.clone();
    config.interview.spool_dir = work.join("spool");
    config.openai.base_url = ai_url.clone();
    if openai_key.is_none() {
        // SmolLM2-135M phrases questions poorly and judges every answer thin: the plan's
        // wording is said verbatim and the word count alone decides follow-ups.
        config.interview.llm_phrasing = false;
        config.interview.llm_judge = false;
        config.openai.timeout_ms = 60_000;
    }
    let runner = Arc::new(crate::cli::interview_runner(&config)?);
    let (drain_tx, drain_rx) = mpsc::channel(1);
    let wopts = WorkerOptions {
        url: lk_url.clone(),
        api_key: lk_key.into(),
        api_secret: Secret::new(lk_secret),
        agent_name: agent_name.into(),
        max_jobs: 4,
        load_threshold: f32::INFINITY,
        health_addr: "127.0.0.1:0".parse().map_err(|_| fail("address".into()))?,
        drain_timeout: Duration::from_secs(60),
        ..WorkerOptions::default()
    };
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let worker_task = tokio::spawn(worker::run(wopts, runner, drain_rx, move |_| {
        let _ = ready_tx.send(());
    }));
    tokio::time::timeout(Duration::from_secs(20), ready_rx)
        .await
        .map_err(|_| fail("the agent worker did not start".into()))?
        .map_err(|_| fail("the agent worker stopped".into()))?;
    println!("== interview agent registered as worker {agent_name:?}");

    // 5. The candidate's answers, spoken by the TTS.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| fail(format!("HTTP client: {e}")))?;
    let mut answers = Vec::new();
    for (i, text) in script::ANSWERS.iter().enumerate() {
        let path = work.join(format!("answer-{i}.wav"));
        synthesize(&http, &ai_url, openai_key.as_deref(), text, &path)
            .await
            .map_err(fail)?;
        answers.push(path);
    }

    // 6. The hiring app: application, room (agent dispatched), password, join token.
    let api = BackendApi::new(graphql.clone()).map_err(fail)?;
    let app_id = api
        .create_application(script::application())
        .await
        .map_err(fail)?;
    let room = api.create_interview_room(&app_id).await.map_err(fail)?;
    let notify = backend
        .wait_for("NOTIFY ", Duration::from_secs(10))
        .await
        .map_err(fail)?;
    let password = notify
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("password="))
        .ok_or_else(|| fail("no password in the backend's notification".into()))?
        .to_string();
    println!("== application {app_id}: room {room}; the candidate got a 6-digit password");
    let (url, token) = api.room_token(&app_id, &password).await.map_err(fail)?;
    println!("== candidate Alex Morgan joins with the token from getRoomToken\n");

    // 7. The interview, as the candidate's client shows it.
    let mut args = vec![
        opts.repo
            .join("scripts/demo/candidate.py")
            .display()
            .to_string(),
        "--url".into(),
        url,
        "--token".into(),
        token,
        "--max-seconds".into(),
        opts.timeout.as_secs().to_string(),
    ];
    for a in &answers {
        args.push("--answer".into());
        args.push(a.display().to_string());
    }
    let mut candidate = Proc::spawn(
        "candidate",
        &py,
        &args,
        Some(&work.join("candidate.log")),
        &[],
    )
    .map_err(fail)?;
    let deadline = tokio::time::Instant::now() + opts.timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(line) = candidate.next_line(left).await.map_err(fail)? else {
            break;
        };
        let Ok(ev) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        match ev["event"].as_str() {
            Some("said") => {
                let who = if ev["speaker"] == "candidate" {
                    "Candidate  "
                } else {
                    "Interviewer"
                };
                println!("{who}: {}", ev["text"].as_str().unwrap_or(""));
            }
            Some("left") => {
                println!("\n== {}", ev["reason"].as_str().unwrap_or("left"));
                break;
            }
            _ => {}
        }
    }

    // 8. The result the agent saved.
    let result = loop {
        let rows = api.results(&app_id).await.map_err(fail)?;
        if let Some((_, r)) = rows.into_iter().find(|(partial, _)| !partial) {
            break r;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(fail(format!(
                "no result stored for {app_id}; logs in {}",
                work.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!("{}", report::scorecard(&result));
    if let Some(p) = &opts.result_path {
        let text = serde_json::to_string_pretty(&result).map_err(|e| fail(e.to_string()))?;
        std::fs::write(p, text).map_err(|e| fail(format!("{}: {e}", p.display())))?;
    }
    println!("(logs, answers and the database are in {})", work.display());

    let _ = drain_tx.send(()).await;
    let _ = drain_tx.send(()).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), worker_task).await;
    candidate.kill().await;
    backend.kill().await;
    lk.kill().await;
    Ok(result)
}

/// Speak `text` into a WAV file with the TTS endpoint (local stack or OpenAI).
async fn synthesize(
    http: &reqwest::Client,
    base_url: &str,
    key: Option<&str>,
    text: &str,
    out: &Path,
) -> Result<(), String> {
    let body = serde_json::json!({
        "model": "tts-1", "voice": "echo", "input": text, "response_format": "wav"
    });
    let mut req = http
        .post(format!("{}/audio/speech", base_url.trim_end_matches('/')))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.map_err(|e| format!("TTS: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("TTS: HTTP {}", resp.status()));
    }
    let bytes = resp.bytes().await.map_err(|e| format!("TTS: {e}"))?;
    std::fs::write(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))
}
