//! Everything the demo runs before a candidate arrives: the bundled LiveKit test server, the
//! local AI stack (or OpenAI), the example hiring backend (which creates rooms, dispatches the
//! agent and serves the candidate's page) and this agent as a worker in-process.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::procs::Proc;
use super::{free_port, need, DemoOptions};
use crate::config::{Config, Secret};
use crate::error::Error;
use crate::worker::{self, WorkerOptions};

const LK_KEY: &str = "devkey";
const LK_SECRET: &str = "demo-secret-0123456789abcdef0123456789";
pub const AGENT_NAME: &str = "interview-agent";

pub struct Stack {
    /// The AI endpoint (OpenAI-compatible `/v1` base).
    pub ai_url: String,
    pub openai_key: Option<String>,
    /// The backend's GraphQL endpoint and base URL.
    pub graphql: String,
    pub backend_url: String,
    /// The backend's credentials: the agent's and the demo's API token, the console password.
    pub api_token: String,
    pub operator_password: String,
    /// Its stdout: `NOTIFY ...` lines carry the candidate's password and link.
    pub backend: Proc,
    lk: Proc,
    _ai: Option<Proc>,
    drain: mpsc::Sender<()>,
    worker: JoinHandle<Result<(), worker::WorkerError>>,
}

fn fail(m: String) -> Error {
    Error::Other(format!("demo: {m}"))
}

impl Stack {
    pub async fn start(opts: &DemoOptions, backend_port: u16) -> Result<Stack, Error> {
        let work = &opts.work_dir;
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
        let lk_port = free_port()?;
        let mut lk = Proc::spawn(
            "livekit-test-server",
            &opts.bin_dir.join("livekit-test-server"),
            &[
                "--port".into(),
                lk_port.to_string(),
                "--keys".into(),
                format!("{LK_KEY}:{LK_SECRET}"),
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
        let (ai, ai_url) = match &openai_key {
            Some(_) => {
                println!("== AI: OpenAI (OPENAI_API_KEY is set)");
                let url = std::env::var("OPENAI_BASE_URL")
                    .unwrap_or_else(|_| "https://api.openai.com/v1".into());
                (None, url)
            }
            None => {
                let (p, url) = start_local_ai(&opts.repo, work).await?;
                (Some(p), url)
            }
        };

        // 3. The hiring backend, creating rooms on the test server and dispatching the agent.
        let (api_token, operator_password) = (random_secret(), random_secret());
        let mut backend = Proc::spawn(
            "hiring-backend",
            &opts.bin_dir.join("hiring-backend"),
            &[
                "--port".into(),
                backend_port.to_string(),
                "--db".into(),
                work.join("hiring.db").display().to_string(),
                "--agent-name".into(),
                AGENT_NAME.into(),
            ],
            Some(&work.join("backend.log")),
            &[
                ("LIVEKIT_URL", lk_url.clone()),
                ("LIVEKIT_API_KEY", LK_KEY.to_string()),
                ("LIVEKIT_API_SECRET", LK_SECRET.to_string()),
                ("HIRING_BACKEND_TOKEN", api_token.clone()),
                (
                    "HIRING_BACKEND_OPERATOR_PASSWORD",
                    operator_password.clone(),
                ),
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
        config.livekit.api_key = LK_KEY.into();
        config.livekit.api_secret = Secret::new(LK_SECRET);
        config.agent.name = AGENT_NAME.into();
        config.backend.url = graphql.clone();
        config.backend.token = Secret::new(&api_token);
        config.interview.spool_dir = work.join("spool");
        if openai_key.is_none() {
            config.use_local_ai_stack(&ai_url);
        } else {
            config.openai.base_url = ai_url.clone();
        }
        let runner = Arc::new(crate::cli::interview_runner(&config)?);
        let (drain, drain_rx) = mpsc::channel(1);
        let wopts = WorkerOptions {
            url: lk_url.clone(),
            api_key: LK_KEY.into(),
            api_secret: Secret::new(LK_SECRET),
            agent_name: AGENT_NAME.into(),
            max_jobs: 4,
            load_threshold: f32::INFINITY,
            health_addr: "127.0.0.1:0".parse().map_err(|_| fail("address".into()))?,
            drain_timeout: Duration::from_secs(60),
            ..WorkerOptions::default()
        };
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let worker = tokio::spawn(worker::run(wopts, runner, drain_rx, move |_| {
            let _ = ready_tx.send(());
        }));
        tokio::time::timeout(Duration::from_secs(20), ready_rx)
            .await
            .map_err(|_| fail("the agent worker did not start".into()))?
            .map_err(|_| fail("the agent worker stopped".into()))?;
        println!("== interview agent registered as worker {AGENT_NAME:?}");
        Ok(Stack {
            ai_url,
            openai_key,
            graphql,
            backend_url,
            api_token,
            operator_password,
            backend,
            lk,
            _ai: ai,
            drain,
            worker,
        })
    }

    /// Drain the worker, then stop the child processes.
    pub async fn stop(mut self) {
        let _ = self.drain.send(()).await;
        let _ = self.drain.send(()).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.worker).await;
        self.backend.kill().await;
        self.lk.kill().await;
    }
}

/// 144 random bits as hex.
fn random_secret() -> String {
    (0..3)
        .map(|_| format!("{:012x}", rand::random::<u64>() >> 16))
        .collect()
}

async fn start_local_ai(repo: &Path, work: &Path) -> Result<(Proc, String), Error> {
    let py_ai = repo.join(".venv-ai/bin/python");
    need(&py_ai, "run scripts/setup-ai.sh")?;
    println!("== starting the local AI stack (Whisper tiny.en, SmolLM2-135M, Piper) ...");
    let mut p = Proc::spawn(
        "local AI server",
        &py_ai,
        &[
            repo.join("scripts/local_ai/server.py")
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
    Ok((p, format!("{url}/v1")))
}
