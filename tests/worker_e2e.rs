//! The worker (`interview-agent start`) against the LiveKit test server's agent service:
//! registration, dispatch and capacity across two worker processes, agent-service restart,
//! drain on SIGTERM, bad credentials, malformed metadata, health endpoints, and panic
//! containment. These need the test server's dispatch hooks, so they always use the fixture.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::{http_get, tracks_from, PyPeer};
use interview_agent::session::{EchoRunner, JobSpec, SessionError, SessionRunner};
use interview_agent::worker::{self, WorkerOptions};
use livekit_test_server::{proto, TestServer, TestServerOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

const AGENT: &str = "interviewer";

struct WorkerProc {
    child: Child,
    health: String,
    stderr: tokio::task::JoinHandle<String>,
}

impl WorkerProc {
    async fn start(server: &TestServer, secret: &str, extra: &[&str]) -> WorkerProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_interview-agent"))
            .current_dir(std::env::temp_dir())
            .env("LIVEKIT_URL", server.url())
            .env("LIVEKIT_API_KEY", server.api_key())
            .env("LIVEKIT_API_SECRET", secret)
            .env_remove("RUST_LOG")
            .args([
                "start",
                "--agent-name",
                AGENT,
                "--health-port",
                "0",
                "--session",
                "echo",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn worker");
        let stderr = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut all = String::new();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                eprintln!("[worker] {l}");
                all.push_str(&l);
                all.push('\n');
            }
            all
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let health = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(l)) = lines.next_line().await {
                if let Some(a) = l.strip_prefix("health on ") {
                    return Some(a.to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        WorkerProc {
            child,
            health,
            stderr,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.health, path).await
    }

    fn pid(&self) -> i32 {
        self.child.id().map(|p| p as i32).unwrap_or(0)
    }

    /// Wait for exit; returns (exit code, everything it logged).
    async fn wait(mut self, limit: Duration) -> (Option<i32>, String) {
        let status = tokio::time::timeout(limit, self.child.wait()).await;
        let code = match status {
            Ok(Ok(s)) => s.code(),
            _ => {
                let _ = self.child.start_kill();
                None
            }
        };
        let log = tokio::time::timeout(Duration::from_secs(5), self.stderr)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        (code, log)
    }
}

async fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn start_server() -> TestServer {
    TestServer::start(TestServerOptions::default())
        .await
        .expect("test server")
}

/// The fixture plus an `Env` for Python peers pointed at it.
async fn server_and_env() -> (TestServer, common::Env) {
    let server = start_server().await;
    let env = common::Env {
        url: server.url(),
        api_key: server.api_key().into(),
        api_secret: interview_agent::config::Secret::new(server.api_secret()),
        server: None,
    };
    (server, env)
}

fn agent_in(server: &TestServer, room: &str) -> bool {
    server
        .participants(room)
        .iter()
        .any(|p| p.starts_with("agent-"))
}

fn registered(server: &TestServer) -> Vec<String> {
    server.workers().into_iter().map(|w| w.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rooms_at_once_fill_a_worker_and_the_fourth_goes_to_the_next() {
    let server = start_server().await;
    let a = WorkerProc::start(&server, server.api_secret(), &["--max-jobs", "3"]).await;
    eventually("worker A to register", Duration::from_secs(20), || {
        registered(&server).len() == 1
    })
    .await;
    let a_id = registered(&server)[0].clone();
    let b = WorkerProc::start(&server, server.api_secret(), &["--max-jobs", "3"]).await;
    eventually("worker B to register", Duration::from_secs(20), || {
        registered(&server).len() == 2
    })
    .await;

    let rooms: Vec<String> = (0..4)
        .map(|i| common::room_name(&format!("interview-{i}")))
        .collect();
    for (i, room) in rooms.iter().enumerate() {
        server.create_dispatch(room, AGENT, &format!("{{\"applicationId\":\"{i}\"}}"));
    }
    for room in &rooms {
        eventually(
            &format!("an agent in {room}"),
            Duration::from_secs(30),
            || agent_in(&server, room),
        )
        .await;
    }
    // Each session is live media: its agent published its audio track.
    for room in &rooms {
        eventually(
            &format!("the agent's track in {room}"),
            Duration::from_secs(20),
            || {
                server.participant_infos(room).iter().any(|p| {
                    p.identity.starts_with("agent-")
                        && !p.tracks.is_empty()
                        && p.kind == proto::participant_info::Kind::Agent as i32
                })
            },
        )
        .await;
    }
    let jobs = server.jobs();
    let on_a = jobs
        .iter()
        .filter(|j| j.worker_id.as_deref() == Some(a_id.as_str()))
        .count();
    assert_eq!(on_a, 3, "worker A runs max_jobs: {jobs:?}");
    assert_eq!(
        jobs.len() - on_a,
        1,
        "the fourth went to worker B: {jobs:?}"
    );
    let refused = server
        .dispatch_log()
        .iter()
        .any(|r| r.worker_id == a_id && r.available == Some(false));
    assert!(
        refused,
        "worker A refused the fourth job: {:?}",
        server.dispatch_log()
    );

    let (status, body) = a.get("/worker").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["active_jobs"], 3, "{v}");
    assert_eq!(v["status"], "full", "{v}");
    let (_, metrics) = a.get("/metrics").await;
    assert!(
        metrics.contains("interview_agent_jobs_refused_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("interview_agent_active_jobs 3"),
        "{metrics}"
    );
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_service_restart_keeps_the_interview_and_dispatch_recovers() {
    let (server, env) = server_and_env().await;
    let w = WorkerProc::start(&server, server.api_secret(), &[]).await;
    eventually("registration", Duration::from_secs(20), || {
        registered(&server).len() == 1
    })
    .await;
    let first_id = registered(&server)[0].clone();
    let room = common::room_name("interview-restart");
    server.create_dispatch(&room, AGENT, "{}");
    eventually("the agent", Duration::from_secs(30), || {
        agent_in(&server, &room)
    })
    .await;
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &["--publish-tone", "440", "--listen-seconds", "14"],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    server.restart_agent_service(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let back = Instant::now();
    let room2 = common::room_name("interview-after");
    server.create_dispatch(&room2, AGENT, "{}");
    eventually(
        "a dispatch after the restart",
        Duration::from_secs(5),
        || agent_in(&server, &room2),
    )
    .await;
    let recovered = back.elapsed();
    let workers = registered(&server);
    assert_eq!(workers.len(), 1);
    assert_ne!(workers[0], first_id, "re-registered with a new worker id");
    let job = server
        .jobs()
        .into_iter()
        .find(|j| j.room == room)
        .expect("first job");
    assert_eq!(
        job.worker_id.as_deref(),
        Some(workers[0].as_str()),
        "running job migrated"
    );
    assert!(agent_in(&server, &room), "the interview kept its agent");

    let report = peer.finish().await;
    let echo = tracks_from(&report, &job.participant_identity);
    assert_eq!(echo.len(), 1, "{report}");
    assert!(
        (echo[0]["dominant_hz"].as_f64().unwrap_or(0.0) - 440.0).abs() <= 5.0,
        "{report}"
    );
    // Media kept flowing through the restart: the echo covered most of the call.
    assert!(
        echo[0]["seconds_above_-40dbfs"].as_f64().unwrap_or(0.0) > 10.0,
        "{report}"
    );
    let (_, metrics) = w.get("/metrics").await;
    assert!(
        metrics.contains("interview_agent_worker_reconnects_total 1"),
        "{metrics}"
    );
    eprintln!("dispatch recovered {recovered:?} after the agent service came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_running_interview_then_exits_zero() {
    let (server, env) = server_and_env().await;
    let w = WorkerProc::start(&server, server.api_secret(), &[]).await;
    eventually("registration", Duration::from_secs(20), || {
        registered(&server).len() == 1
    })
    .await;
    let room = common::room_name("interview-drain");
    server.create_dispatch(&room, AGENT, "{}");
    eventually("the agent", Duration::from_secs(30), || {
        agent_in(&server, &room)
    })
    .await;
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &["--publish-tone", "440", "--listen-seconds", "6"],
    )
    .await;

    // SAFETY: plain kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(w.pid(), libc::SIGTERM) }, 0);
    eventually("WS_FULL after SIGTERM", Duration::from_secs(5), || {
        server
            .workers()
            .first()
            .is_some_and(|x| x.status == proto::WorkerStatus::WsFull && x.draining)
    })
    .await;
    let (_, body) = w.get("/worker").await;
    assert!(body.contains("\"status\":\"draining\""), "{body}");
    // A new room is not given to a draining worker.
    let other = common::room_name("interview-refused");
    server.create_dispatch(&other, AGENT, "{}");

    peer.finish().await; // the candidate hangs up; the session ends; the worker exits
    let (code, log) = w.wait(Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "worker log:\n{log}");
    assert!(log.contains("draining"), "{log}");
    assert!(!agent_in(&server, &other));
    let job = server
        .jobs()
        .into_iter()
        .find(|j| j.room == room)
        .expect("job");
    assert_eq!(job.status, proto::JobStatus::JsSuccess, "{job:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_stop_start_with_a_clear_error() {
    let server = start_server().await;
    let wrong = "not-the-secret-not-the-secret-123";
    let w = WorkerProc::start(&server, wrong, &[]).await;
    let (code, log) = w.wait(Duration::from_secs(20)).await;
    assert!(matches!(code, Some(c) if c != 0), "exit {code:?}: {log}");
    assert!(log.contains("rejected the worker's credentials"), "{log}");
    assert!(
        !log.contains(wrong) && !log.contains("eyJ"),
        "secret or token leaked: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_metadata_starts_the_job_with_defaults() {
    let server = start_server().await;
    let w = WorkerProc::start(&server, server.api_secret(), &[]).await;
    eventually("registration", Duration::from_secs(20), || {
        registered(&server).len() == 1
    })
    .await;
    let room = common::room_name("interview-badmeta");
    server.create_dispatch(&room, AGENT, "{applicationId: oops");
    eventually("the agent", Duration::from_secs(30), || {
        agent_in(&server, &room)
    })
    .await;
    eventually("job RUNNING", Duration::from_secs(10), || {
        server
            .jobs()
            .iter()
            .any(|j| j.room == room && j.status == proto::JobStatus::JsRunning)
    })
    .await;
    let (status, _) = w.get("/").await;
    assert_eq!(status, 200, "worker still registered");
    let _ = unsafe { libc::kill(w.pid(), libc::SIGINT) };
    let _ = unsafe { libc::kill(w.pid(), libc::SIGINT) };
    let (_, log) = w.wait(Duration::from_secs(20)).await;
    assert!(
        log.contains("not valid JSON") && log.contains("using defaults"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_until_registered_then_200_with_worker_json_and_metrics() {
    // Nothing listens on this port: the worker keeps retrying and stays unregistered.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_interview-agent"))
        .current_dir(std::env::temp_dir())
        .env("LIVEKIT_URL", format!("ws://127.0.0.1:{port}"))
        .env("LIVEKIT_API_KEY", "devkey")
        .env("LIVEKIT_API_SECRET", "secret")
        .args(["start", "--health-port", "0", "--session", "echo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let health = loop {
        let l = lines.next_line().await.unwrap().expect("health line");
        if let Some(a) = l.strip_prefix("health on ") {
            break a.to_string();
        }
    };
    let (status, body) = http_get(&health, "/").await;
    assert_eq!(status, 503, "{body}");
    let (_, body) = http_get(&health, "/worker").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "connecting");
    let _ = child.start_kill();

    let server = start_server().await;
    let w = WorkerProc::start(&server, server.api_secret(), &[]).await;
    eventually("registration", Duration::from_secs(20), || {
        registered(&server).len() == 1
    })
    .await;
    let (status, body) = w.get("/").await;
    assert_eq!((status, body.trim()), (200, "OK"));
    let (status, body) = w.get("/worker").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["agent_name"], AGENT);
    assert_eq!(v["worker_id"], registered(&server)[0].as_str());
    assert_eq!(v["status"], "available");
    assert!(v["rss_bytes"].as_u64().unwrap_or(0) > 0);
    let (status, m) = w.get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "interview_agent_jobs_started_total 0",
        "interview_agent_jobs_finished_total 0",
        "interview_agent_jobs_failed_total 0",
        "interview_agent_active_jobs 0",
        "interview_agent_worker_reconnects_total 0",
        "interview_agent_worker_load ",
    ] {
        assert!(m.contains(name), "missing {name:?} in {m}");
    }
}

/// A session that panics (FAKE runner, for containment) and one that works.
struct PanicFirst {
    calls: std::sync::atomic::AtomicUsize,
    echo: EchoRunner,
}

#[async_trait]
impl SessionRunner for PanicFirst {
    async fn run(&self, job: JobSpec, cancel: CancellationToken) -> Result<(), SessionError> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            panic!("deliberate panic in the first session");
        }
        self.echo.run(job, cancel).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_session_fails_its_job_only() {
    let server = start_server().await;
    let opts = WorkerOptions {
        url: server.url(),
        api_key: server.api_key().into(),
        api_secret: interview_agent::config::Secret::new(server.api_secret()),
        agent_name: AGENT.into(),
        health_addr: "127.0.0.1:0".parse().unwrap(),
        ..WorkerOptions::default()
    };
    let runner = Arc::new(PanicFirst {
        calls: Default::default(),
        echo: EchoRunner::default(),
    });
    let (sig_tx, sig_rx) = tokio::sync::mpsc::channel(2);
    let worker = tokio::spawn(worker::run(opts, runner, sig_rx, |_| {}));
    eventually("registration", Duration::from_secs(20), || {
        registered(&server).len() == 1
    })
    .await;
    let r1 = common::room_name("interview-panic");
    server.create_dispatch(&r1, AGENT, "{}");
    eventually("job 1 FAILED", Duration::from_secs(20), || {
        server.jobs().iter().any(|j| {
            j.room == r1 && j.status == proto::JobStatus::JsFailed && j.error.contains("panicked")
        })
    })
    .await;
    let r2 = common::room_name("interview-ok");
    server.create_dispatch(&r2, AGENT, "{}");
    eventually(
        "job 2 RUNNING with its agent",
        Duration::from_secs(30),
        || {
            agent_in(&server, &r2)
                && server
                    .jobs()
                    .iter()
                    .any(|j| j.room == r2 && j.status == proto::JobStatus::JsRunning)
        },
    )
    .await;
    assert_eq!(registered(&server).len(), 1, "the worker survived");
    sig_tx.send(()).await.unwrap();
    sig_tx.send(()).await.unwrap();
    let res = tokio::time::timeout(Duration::from_secs(15), worker)
        .await
        .expect("worker stops")
        .expect("no panic");
    assert!(res.is_ok(), "{res:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_dispatch_over_twirp_and_automatic_dispatch_of_new_rooms() {
    use livekit_api::services::agent_dispatch::AgentDispatchClient;
    use livekit_api::services::room::{CreateRoomOptions, RoomClient};
    let server = start_server().await;
    let named = WorkerProc::start(&server, server.api_secret(), &[]).await;
    // A second worker registered without a name: LiveKit sends it into every new room.
    let mut unnamed = Command::new(env!("CARGO_BIN_EXE_interview-agent"))
        .current_dir(std::env::temp_dir())
        .env("LIVEKIT_URL", server.url())
        .env("LIVEKIT_API_KEY", server.api_key())
        .env("LIVEKIT_API_SECRET", server.api_secret())
        .args([
            "start",
            "--agent-name",
            "",
            "--health-port",
            "0",
            "--session",
            "echo",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn unnamed worker");
    eventually("both workers", Duration::from_secs(20), || {
        registered(&server).len() == 2
    })
    .await;

    // Explicit: the same Twirp call a hiring backend makes (examples/create_dispatch.rs).
    let room = common::room_name("interview-twirp");
    let host = server.http_url();
    let d = AgentDispatchClient::with_api_key(&host, server.api_key(), server.api_secret())
        .create_dispatch(proto::CreateAgentDispatchRequest {
            agent_name: AGENT.into(),
            room: room.clone(),
            metadata: r#"{"applicationId":"7"}"#.into(),
            ..Default::default()
        })
        .await
        .expect("CreateDispatch");
    assert_eq!(d.agent_name, AGENT);
    eventually("the named agent", Duration::from_secs(30), || {
        server.jobs().iter().any(|j| {
            j.room == room && j.agent_name == AGENT && j.metadata.contains("applicationId")
        }) && agent_in(&server, &room)
    })
    .await;

    // Automatic: a room created through RoomService gets the unnamed worker.
    let auto_room = common::room_name("interview-42");
    RoomClient::with_api_key(&host, server.api_key(), server.api_secret())
        .create_room(&auto_room, CreateRoomOptions::default())
        .await
        .expect("CreateRoom");
    eventually("the automatic agent", Duration::from_secs(30), || {
        server
            .jobs()
            .iter()
            .any(|j| j.room == auto_room && j.agent_name.is_empty())
            && agent_in(&server, &auto_room)
    })
    .await;
    let _ = unnamed.start_kill();
    drop(named);
}
