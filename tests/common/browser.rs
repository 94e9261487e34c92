//! Browser tests: the hiring world they run in (a LiveKit server, the example hiring backend
//! serving the pages, and this agent as a dispatched worker) and the runner of the scenario
//! scripts in `examples/hiring_backend/web/tests` (node + puppeteer-core driving Debian's
//! Chromium). A scenario asks the test to act with `STEP <name> <json>` lines (the test
//! answers one JSON line) and ends with `REPORT <json>`. Screenshots and the browser console
//! log go to `target/browser-artifacts/<scenario>/`; they are kept when the test fails (and
//! with KEEP_BROWSER_ARTIFACTS=1), removed when it passes.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hiring_backend::{
    BackendOptions, LiveKitSettings, ManualClock, NewApplication, Notifier, RoomNotification,
    RunningBackend,
};
use interview_agent::backend::{BackendClient, BackendOptions as ClientOptions};
use interview_agent::interview::{Spool, VoiceConfig};
use interview_agent::pipeline::PipelineOptions;
use interview_agent::providers::fake::{FakeLlm, FakeStt, FakeTts};
use interview_agent::providers::{ProviderError, Tts, TtsFactory};
use interview_agent::room::RoomOptions;
use interview_agent::session::{InterviewOptions, InterviewRunner, SessionRunner};
use interview_agent::worker::{self, WorkerOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

use super::Env;

pub const AGENT: &str = "interview-agent";
/// The console password of the test backends.
pub const OPERATOR_PASSWORD: &str = "operator-test-password";

/// Browser tests run one at a time: each drives a real Chromium, an agent and maybe the local
/// AI stack on two cores.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// FAKE: every voice is the same fake TTS (a tone, at real-time pace).
struct FakeVoices(Arc<FakeTts>);

impl TtsFactory for FakeVoices {
    fn with_voice(&self, _voice: &str) -> Result<Arc<dyn Tts>, ProviderError> {
        Ok(self.0.clone())
    }
}

/// An invitation as the notifier delivered it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub application: String,
    pub room: String,
    pub password: String,
    pub link: String,
}

/// The world of a browser test.
pub struct Hiring {
    pub env: Env,
    pub backend: RunningBackend,
    pub clock: ManualClock,
    notes: mpsc::UnboundedReceiver<RoomNotification>,
    drain: Option<mpsc::Sender<()>>,
    worker: Option<tokio::task::JoinHandle<Result<(), worker::WorkerError>>>,
}

impl Hiring {
    /// The servers, and `runner` as a worker the backend dispatches into interview rooms
    /// (None: no agent ever comes).
    pub async fn start(runner: Option<Arc<dyn SessionRunner>>) -> Hiring {
        let env = Env::start().await;
        let (notifier, notes) = Notifier::channel();
        let clock = ManualClock::starting_now();
        let backend = hiring_backend::start(BackendOptions {
            livekit: Some(LiveKitSettings {
                url: env.url.clone(),
                api_key: env.api_key.clone(),
                api_secret: env.api_secret.expose().to_string(),
                agent_name: AGENT.into(),
            }),
            notifier,
            bcrypt_cost: 4,
            clock: clock.clock(),
            api_token: Some(super::API_TOKEN.into()),
            operator_password: Some(OPERATOR_PASSWORD.into()),
            ..BackendOptions::default()
        })
        .await
        .expect("hiring backend");
        let mut hiring = Hiring {
            env,
            backend,
            clock,
            notes,
            drain: None,
            worker: None,
        };
        if let Some(runner) = runner {
            hiring.start_worker_with(runner).await;
        }
        hiring
    }

    /// The interviewer on the local AI stack at `ai_url` as the worker.
    pub async fn start_local_ai_worker(&mut self, ai_url: &str, spool: &std::path::Path) {
        let runner =
            super::interview_runner(&self.backend.graphql_url(), &format!("{ai_url}/v1"), spool);
        self.start_worker_with(Arc::new(runner)).await;
    }

    /// The interviewer on FAKE speech providers (the only timing is ours; lines read
    /// verbatim, no judge): `stt` hears the candidate, TTS speaks `ms_per_char` at
    /// real-time pace.
    pub fn fake_interviewer(
        &self,
        stt: Arc<FakeStt>,
        ms_per_char: u32,
        silence_timeout: Duration,
        spool: &std::path::Path,
    ) -> InterviewRunner {
        let client = Arc::new(
            BackendClient::new(ClientOptions {
                url: self.backend.graphql_url(),
                token: Some(interview_agent::config::Secret::new(super::API_TOKEN)),
                ..ClientOptions::default()
            })
            .expect("client"),
        );
        InterviewRunner {
            room_options: RoomOptions::default(),
            pipeline: PipelineOptions::default(),
            stt,
            llm: Arc::new(FakeLlm::new()),
            tts: Arc::new(FakeVoices(Arc::new(
                FakeTts::new()
                    .with_ms_per_char(ms_per_char)
                    .with_frame_interval(Duration::from_millis(20)),
            ))),
            applications: client.clone(),
            sink: client,
            spool: Spool::open(spool).expect("spool"),
            voices: VoiceConfig::default(),
            options: InterviewOptions {
                llm_phrasing: false,
                llm_judge: false,
                silence_timeout,
                ..InterviewOptions::default()
            },
        }
    }

    /// The final result the agent saved for `application` (waits up to a minute for it).
    pub async fn final_result(&self, application: &str) -> Value {
        for _ in 0..600 {
            let rows = self
                .backend
                .store()
                .results_for(application)
                .expect("results");
            if let Some(r) = rows.into_iter().find(|r| r.result["partial"] == false) {
                return r.result;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no final result stored for {application}");
    }

    /// Register `runner` as the agent worker the backend dispatches into interview rooms.
    pub async fn start_worker_with(&mut self, runner: Arc<dyn SessionRunner>) {
        let opts = WorkerOptions {
            url: self.env.url.clone(),
            api_key: self.env.api_key.clone(),
            api_secret: self.env.api_secret.clone(),
            agent_name: AGENT.into(),
            max_jobs: 8,
            load_threshold: f32::INFINITY,
            health_addr: "127.0.0.1:0".parse().expect("address"),
            drain_timeout: Duration::from_secs(30),
            ..WorkerOptions::default()
        };
        let (drain, drain_rx) = mpsc::channel(2);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        self.worker = Some(tokio::spawn(worker::run(
            opts,
            runner,
            drain_rx,
            move |_| {
                let _ = ready_tx.send(());
            },
        )));
        tokio::time::timeout(Duration::from_secs(20), ready_rx)
            .await
            .expect("the worker registers")
            .expect("the worker runs");
        self.drain = Some(drain);
    }

    /// Stop the worker: running interviews end (the agent leaves their rooms).
    pub async fn stop_worker(&mut self) {
        if let Some(d) = self.drain.take() {
            let _ = d.send(()).await;
            let _ = d.send(()).await;
        }
        if let Some(w) = self.worker.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), w).await;
        }
    }

    /// GraphQL over HTTP, as the hiring team's app calls it; panics on errors.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let res = reqwest::Client::new()
            .post(self.backend.graphql_url())
            .header("content-type", "application/json")
            .bearer_auth(super::API_TOKEN)
            .body(body)
            .send()
            .await
            .expect("GraphQL request");
        let v: Value = serde_json::from_slice(&res.bytes().await.expect("body")).expect("JSON");
        assert!(v.get("errors").is_none(), "GraphQL errors: {v}");
        v["data"].clone()
    }

    /// Create an application and its interview room (the agent is dispatched); the invitation.
    pub async fn invite(&mut self, app: NewApplication) -> Invitation {
        let application = self
            .backend
            .store()
            .create_application(app)
            .expect("application");
        self.new_room(&application).await
    }

    /// The next invitation the notifier sent (the console's "Invite" sends one too).
    pub async fn next_invitation(&mut self) -> RoomNotification {
        tokio::time::timeout(Duration::from_secs(10), self.notes.recv())
            .await
            .expect("an invitation is sent")
            .expect("notifier")
    }

    /// A new room (and password) for an existing application.
    pub async fn new_room(&mut self, application: &str) -> Invitation {
        let data = self
            .gql(
                "mutation($id: ID!) { createInterviewRoom(applicationId: $id) { roomName } }",
                json!({ "id": application }),
            )
            .await;
        let room = data["createInterviewRoom"]["roomName"]
            .as_str()
            .expect("room")
            .to_string();
        let n = self.next_invitation().await;
        assert_eq!(n.room_name, room);
        Invitation {
            application: application.to_string(),
            room,
            password: n.password.clone(),
            link: n.link.clone(),
        }
    }

    /// Wait until the dispatched agent is in `room` (the test server knows; against a real
    /// server, give it two seconds).
    pub async fn wait_for_agent(&self, room: &str) {
        let Some(server) = &self.env.server else {
            tokio::time::sleep(Duration::from_secs(2)).await;
            return;
        };
        for _ in 0..200 {
            if !server.participants(room).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the agent never joined {room}");
    }

    /// Delete a room through the LiveKit server API (everyone in it is disconnected).
    pub async fn delete_room(&self, room: &str) {
        livekit_api::services::room::RoomClient::with_api_key(
            &self.env.url,
            &self.env.api_key,
            self.env.api_secret.expose(),
        )
        .delete_room(room)
        .await
        .expect("DeleteRoom");
    }

    pub async fn shutdown(mut self) {
        self.stop_worker().await;
        self.backend.shutdown().await;
    }
}

/// A 48 kHz mono WAV of `speech` (a 48 kHz mono WAV) repeated `times` (Chromium's fake
/// microphone loops it).
/// The browser's fake microphone for the local-AI scenarios: a spoken answer (Piper),
/// repeated four times with its pauses, in `dir`.
pub async fn answering_mic(ai: &super::local_ai::LocalAi, dir: &std::path::Path) -> PathBuf {
    let answer = dir.join("answer.wav");
    ai.speech_wav(
        "I have five years of experience with Rust and distributed systems.",
        &answer,
    )
    .await;
    let mic = dir.join("mic.wav");
    looped_speech_wav(&answer, 4, &mic);
    mic
}

pub fn looped_speech_wav(speech: &std::path::Path, times: usize, out: &std::path::Path) {
    let bytes = std::fs::read(speech).expect("speech WAV");
    let data_at = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    let pcm: Vec<i16> = bytes[data_at..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    super::write_wav(out, &pcm.repeat(times));
}

/// What a scenario says.
pub enum Said {
    Step(String, Value),
    Report { ok: bool, report: Value },
}

/// A running scenario script.
pub struct Scenario {
    name: String,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    pub artifacts: PathBuf,
}

impl Scenario {
    /// Start `examples/hiring_backend/web/tests/<script>` with `config` (env SCENARIO).
    pub fn start(script: &str, name: &str, config: Value) -> Scenario {
        let web = repo("examples/hiring_backend/web");
        assert!(
            web.join("node_modules/puppeteer-core").is_dir(),
            "browser test driver missing: run scripts/setup.sh (npm ci in {})",
            web.display()
        );
        assert!(
            std::path::Path::new("/usr/bin/chromium").exists()
                || std::env::var_os("CHROMIUM").is_some(),
            "Chromium missing: run scripts/setup.sh (Debian's chromium)"
        );
        let artifacts = repo("target/browser-artifacts").join(name);
        let _ = std::fs::remove_dir_all(&artifacts);
        let mut child = Command::new("node")
            .arg(web.join("tests").join(script))
            .current_dir(&web)
            .env("SCENARIO", config.to_string())
            .env("ARTIFACTS", &artifacts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node (scripts/setup.sh installs the browser test driver)");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Scenario {
            name: name.to_string(),
            child,
            stdin,
            lines,
            artifacts,
        }
    }

    /// The next STEP or the REPORT.
    pub async fn next(&mut self, limit: Duration) -> Said {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let line = tokio::time::timeout(left, self.lines.next_line())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "scenario {} silent for {limit:?}; see {}",
                        self.name,
                        self.artifacts.display()
                    )
                })
                .expect("scenario output");
            let Some(line) = line else {
                let status = self.child.wait().await.ok();
                panic!(
                    "scenario {} ended without a report ({status:?}); see {}",
                    self.name,
                    self.artifacts.display()
                );
            };
            if let Some(rest) = line.strip_prefix("STEP ") {
                let (name, data) = rest.split_once(' ').unwrap_or((rest, "{}"));
                return Said::Step(
                    name.to_string(),
                    serde_json::from_str(data).unwrap_or(Value::Null),
                );
            }
            if let Some(rest) = line.strip_prefix("REPORT ") {
                let report: Value = serde_json::from_str(rest).expect("report JSON");
                let ok = self
                    .child
                    .wait()
                    .await
                    .map(|s| s.success())
                    .unwrap_or(false);
                return Said::Report { ok, report };
            }
            eprintln!("[{}] {line}", self.name);
        }
    }

    pub async fn reply(&mut self, v: Value) {
        let line = format!("{v}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("answer the scenario");
    }

    /// The report of a scenario that needs no steps.
    pub async fn report(&mut self, limit: Duration) -> Value {
        match self.next(limit).await {
            Said::Step(name, _) => panic!("unexpected step {name}"),
            Said::Report { ok, report } => self.check(ok, report),
        }
    }

    /// Panics (keeping the artifacts) if the scenario failed; returns its report.
    pub fn check(&self, ok: bool, report: Value) -> Value {
        assert!(
            ok,
            "scenario {} failed: {}\npage errors: {}\nscreenshots and console log in {}",
            self.name,
            report["failure"].as_str().unwrap_or("?"),
            report["pageErrors"],
            self.artifacts.display()
        );
        report
    }

    /// The test passed: remove the artifacts (unless KEEP_BROWSER_ARTIFACTS is set).
    pub fn passed(self) {
        if std::env::var_os("KEEP_BROWSER_ARTIFACTS").is_none() {
            let _ = std::fs::remove_dir_all(&self.artifacts);
        }
    }
}

/// Median and max of a list of numbers.
pub fn p50_max(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    (s[s.len() / 2], *s.last().unwrap_or(&f64::NAN))
}
