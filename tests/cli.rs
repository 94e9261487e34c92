//! The `interview-agent` binary: `connect --echo` through a LiveKit server with a Python SDK
//! peer, `token`, and the failure modes an operator meets first (bad credentials, no server).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{tracks_from, Env, PyPeer, TempDir};
use tokio::process::Command;

fn agent() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_interview-agent"));
    c.env_remove("LIVEKIT_URL")
        .env_remove("LIVEKIT_API_KEY")
        .env_remove("LIVEKIT_API_SECRET")
        .env_remove("RUST_LOG")
        // Run outside the repo so ./agent.toml does not leak into the test.
        .current_dir(std::env::temp_dir())
        .kill_on_drop(true);
    c
}

fn with_server(c: &mut Command, env: &Env, secret: &str) {
    c.env("LIVEKIT_URL", &env.url)
        .env("LIVEKIT_API_KEY", &env.api_key)
        .env("LIVEKIT_API_SECRET", secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_echo_plays_the_callers_tone_back() {
    let env = Env::start().await;
    let room = common::room_name("echo");
    let mut cmd = agent();
    with_server(&mut cmd, &env, env.api_secret.expose());
    let mut child = cmd
        .args([
            "connect",
            "--room",
            &room,
            "--identity",
            "echo-agent",
            "--echo",
            "--duration-secs",
            "20",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn agent");
    let peer = PyPeer::spawn(
        &env,
        &room,
        "caller",
        &[
            "--publish-tone",
            "440",
            "--tone-seconds",
            "8",
            "--listen-seconds",
            "9",
        ],
    )
    .await;
    let report = peer.finish().await;
    let from_agent = tracks_from(&report, "echo-agent");
    assert_eq!(from_agent.len(), 1, "{report}");
    let hz = from_agent[0]["dominant_hz"].as_f64().unwrap_or(0.0);
    assert!(
        (hz - 440.0).abs() <= 5.0,
        "caller heard {hz} Hz back: {report}"
    );
    assert!(
        from_agent[0]["seconds_above_-40dbfs"]
            .as_f64()
            .unwrap_or(0.0)
            > 2.0,
        "{report}"
    );
    assert_eq!(
        report["remote_participants"]["echo-agent"]["attributes"]["interview-agent.mode"],
        "echo"
    );
    let _ = child.start_kill();
    let _ = child.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_fail_fast_with_a_clear_error_and_no_secret() {
    let env = Env::start().await;
    let wrong = "wrong-secret-wrong-secret-wrong-secret";
    let mut cmd = agent();
    with_server(&mut cmd, &env, wrong);
    let out = cmd
        .args(["connect", "--room", "r1", "--echo", "--duration-secs", "5"])
        .output()
        .await
        .expect("run agent");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("rejected the access token"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains(wrong), "secret leaked: {stderr}");
    assert!(!stderr.contains("eyJ"), "token leaked: {stderr}");
}

#[tokio::test]
async fn unreachable_server_is_retried_with_backoff_then_reported() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("cfg");
    let cfg = dir.0.join("agent.toml");
    std::fs::write(
        &cfg,
        "[room]\nconnect_attempts = 3\nbackoff_initial_ms = 200\nbackoff_max_ms = 1000\nconnect_timeout_ms = 1000\n",
    )
    .unwrap();
    let started = Instant::now();
    let out = agent()
        .arg("--config")
        .arg(&cfg)
        .args([
            "connect",
            "--room",
            "r1",
            "--echo",
            "--url",
            &format!("ws://127.0.0.1:{port}"),
        ])
        .output()
        .await
        .expect("run agent");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot reach the LiveKit server"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("after 3 attempt(s)"), "stderr: {stderr}");
    assert_eq!(
        stderr.matches("retrying").count(),
        2,
        "two retries logged: {stderr}"
    );
    // Two backoff sleeps (200 ms + 400 ms) happened: a lower bound, not a speed check.
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn the_agent_without_an_ai_backend_or_a_hiring_backend_is_refused_at_start() {
    let run = |args: &'static [&'static str], backend: Option<&'static str>| {
        let mut cmd = agent();
        cmd.env("LIVEKIT_URL", "ws://127.0.0.1:9")
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("INTERVIEW_BACKEND_URL")
            .args(args);
        if let Some(b) = backend {
            cmd.env("INTERVIEW_BACKEND_URL", b);
        }
        async move {
            let out = cmd.output().await.unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    };
    // The interviewer (the default session) needs the hiring backend...
    let (code, stderr) = run(&["start", "--health-port", "0"], None).await;
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("backend.url") && stderr.contains("INTERVIEW_BACKEND_URL"),
        "stderr: {stderr}"
    );
    // ... and an AI backend, like the free voice agent.
    for (args, backend) in [
        (
            &["start", "--health-port", "0"][..],
            Some("http://127.0.0.1:9/graphql"),
        ),
        (
            &["start", "--health-port", "0", "--session", "voice"][..],
            None,
        ),
    ] {
        let (code, stderr) = run(args, backend).await;
        assert_eq!(code, Some(2), "{args:?}: stderr: {stderr}");
        assert!(
            stderr.contains("OPENAI_API_KEY") && stderr.contains("OPENAI_BASE_URL"),
            "{args:?}: stderr: {stderr}"
        );
    }
}

#[tokio::test]
async fn invalid_config_is_a_clear_error_with_exit_code_2() {
    let dir = TempDir::new("badcfg");
    let cfg = dir.0.join("agent.toml");
    std::fs::write(&cfg, "[livekit]\nurl = \"localhost:7880\"\n").unwrap();
    let out = agent()
        .arg("--config")
        .arg(&cfg)
        .args(["connect", "--room", "r"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("livekit.url"), "stderr: {stderr}");
}

#[tokio::test]
async fn start_help_names_every_session_kind_and_an_unknown_one_is_refused() {
    let out = agent().args(["start", "--help"]).output().await.unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    for kind in ["interview", "voice", "echo"] {
        assert!(
            help.contains(kind),
            "`start --help` leaves out {kind}: {help}"
        );
    }
    let out = agent()
        .args(["start", "--session", "chat"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("possible values"), "stderr: {stderr}");
}

#[tokio::test]
async fn token_prints_url_and_a_token_that_verifies() {
    let out = agent()
        .env("LIVEKIT_URL", "ws://example.test:7880")
        .env("LIVEKIT_API_KEY", "k")
        .env("LIVEKIT_API_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret")
        .args(["token", "--room", "interview-42-1", "--identity", "cand-42"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("LIVEKIT_URL=ws://example.test:7880"),
        "{stdout}"
    );
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("TOKEN="))
        .expect("TOKEN= line");
    let claims = livekit_api::access_token::TokenVerifier::with_api_key(
        "k",
        "s3cret-s3cret-s3cret-s3cret-s3cret",
    )
    .verify(token)
    .expect("token verifies");
    assert_eq!(claims.sub, "cand-42");
    assert_eq!(claims.video.room, "interview-42-1");
    assert!(!stdout.contains("s3cret"));
}
