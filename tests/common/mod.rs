//! Shared harness for the end-to-end tests: a LiveKit server (our in-process test fixture, or
//! a real server when LIVEKIT_URL is set), tokens, and Python SDK peers (real libwebrtc).
#![allow(dead_code)]

pub mod browser;
pub mod local_ai;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use interview_agent::config::Secret;
use livekit_test_server::{TestServer, TestServerOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Where the tests find a LiveKit server.
pub struct Env {
    pub url: String,
    pub api_key: String,
    pub api_secret: Secret,
    /// Present when we started the fixture ourselves (fault-injection hooks live here).
    pub server: Option<TestServer>,
}

impl Env {
    /// `LIVEKIT_URL` (+ `LIVEKIT_API_KEY`/`LIVEKIT_API_SECRET`) when set, e.g. a real
    /// `livekit-server --dev`; otherwise our test fixture on 127.0.0.1:0.
    pub async fn start() -> Env {
        init_logs();
        if let Ok(url) = std::env::var("LIVEKIT_URL") {
            if !url.is_empty() {
                return Env {
                    url,
                    api_key: std::env::var("LIVEKIT_API_KEY").unwrap_or_else(|_| "devkey".into()),
                    api_secret: Secret::new(
                        std::env::var("LIVEKIT_API_SECRET").unwrap_or_else(|_| "secret".into()),
                    ),
                    server: None,
                };
            }
        }
        let server = TestServer::start(TestServerOptions::default())
            .await
            .expect("start the LiveKit test server");
        Env {
            url: server.url(),
            api_key: server.api_key().to_string(),
            api_secret: Secret::new(server.api_secret()),
            server: Some(server),
        }
    }

    pub fn token(&self, room: &str, identity: &str) -> String {
        interview_agent::token::join_token(
            &self.api_key,
            &self.api_secret,
            room,
            identity,
            None,
            Duration::from_secs(600),
        )
        .expect("mint token")
    }
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,interview_agent=info,rtc=off,rtc_ice=off,rtc_dtls=off,rtc_sctp=off,rtc_srtp=off,webrtc=off")),
        )
        .with_test_writer()
        .try_init();
}

/// A unique room name per test.
pub fn room_name(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

/// The Python with the LiveKit SDK: `LK_PYTHON`, else the repo's `.venv`. Never skipped: a
/// missing peer is a broken test environment, run `scripts/setup.sh`.
pub fn python() -> PathBuf {
    let p = std::env::var("LK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        p.exists(),
        "Python with the LiveKit SDK not found at {} — run scripts/setup.sh (or set LK_PYTHON)",
        p.display()
    );
    p
}

/// A running `tests/peers/lk_peer.py`.
pub struct PyPeer {
    child: Child,
    out: PathBuf,
    _dir: TempDir,
}

pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("ia-{tag}-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl PyPeer {
    /// Start a peer joining `room` as `identity` with extra `args`; returns once it printed READY.
    pub async fn spawn(env: &Env, room: &str, identity: &str, args: &[&str]) -> PyPeer {
        let dir = TempDir::new(identity);
        let out = dir.0.join("result.json");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/lk_peer.py");
        let mut child = Command::new(python())
            .arg(&script)
            .args([
                "--url",
                &env.url,
                "--token",
                &env.token(room, identity),
                "--out",
            ])
            .arg(&out)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn python peer");
        let stdout = child.stdout.take().expect("peer stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim() == "READY" {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(ready, Ok(true)),
            "python peer {identity} never became READY"
        );
        // Keep draining stdout so the peer never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        PyPeer {
            child,
            out,
            _dir: dir,
        }
    }

    /// Wait for the peer to finish and return its JSON report.
    pub async fn finish(mut self) -> serde_json::Value {
        let status = tokio::time::timeout(Duration::from_secs(120), self.child.wait())
            .await
            .expect("python peer did not exit in time")
            .expect("wait for python peer");
        assert!(status.success(), "python peer failed: {status}");
        let text = std::fs::read_to_string(&self.out).expect("peer result file");
        serde_json::from_str(&text).expect("peer result is JSON")
    }
}

/// The peer report's tracks published by `identity`.
pub fn tracks_from<'a>(
    report: &'a serde_json::Value,
    identity: &str,
) -> Vec<&'a serde_json::Value> {
    report["tracks"]
        .as_array()
        .map(|a| a.iter().filter(|t| t["participant"] == identity).collect())
        .unwrap_or_default()
}

/// `lk.agent.state` values of `agent` in the order the peer saw them (consecutive repeats
/// merged).
pub fn states_seen(report: &serde_json::Value, agent: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in report["attribute_changes"].as_array().into_iter().flatten() {
        if c["participant"] != agent {
            continue;
        }
        if let Some(s) = c["attributes"]["lk.agent.state"].as_str() {
            if out.last().map(String::as_str) != Some(s) {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// What `speaker` ("INTERVIEWER" / "CANDIDATE") said in a stored interview result, lowercased.
pub fn said_by(result: &serde_json::Value, speaker: &str) -> Vec<String> {
    result["transcript"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["speaker"] == speaker)
        .filter_map(|e| e["text"].as_str().map(str::to_lowercase))
        .collect()
}

/// The spool directory's `*.jsonl` files, sorted.
pub fn spool_files(spool: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(spool)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    files
}

/// Strongest frequency in `samples` (48 kHz) between `lo` and `hi` Hz, by a Goertzel scan
/// (coarse 5 Hz, then 0.25 Hz around the peak).
pub fn dominant_hz(samples: &[i16], lo: f64, hi: f64) -> f64 {
    let power = |f: f64| {
        let w = 2.0 * std::f64::consts::PI * f / 48_000.0;
        let c = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in samples {
            let s0 = x as f64 + c * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - c * s1 * s2
    };
    let best = |from: f64, to: f64, step: f64| {
        let mut f = from;
        let (mut bf, mut bp) = (from, f64::MIN);
        while f <= to {
            let p = power(f);
            if p > bp {
                bp = p;
                bf = f;
            }
            f += step;
        }
        bf
    };
    let coarse = best(lo, hi, 5.0);
    best(coarse - 5.0, coarse + 5.0, 0.25)
}

pub fn rms_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let ms = samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64;
    (10.0 * (ms / (32768.0f64 * 32768.0)).log10()).max(-120.0)
}

/// The API token test backends are started with (operator fields need it).
pub const API_TOKEN: &str = "test-api-token";

/// The example backend as the tests run it: the API token set, the rest as given.
pub fn backend_options(o: hiring_backend::BackendOptions) -> hiring_backend::BackendOptions {
    hiring_backend::BackendOptions {
        api_token: Some(API_TOKEN.into()),
        ..o
    }
}

/// The interviewer as `interview-agent start` builds it (`cli::interview_runner`), against the
/// hiring backend at `backend_graphql` and the OpenAI-compatible AI at `ai_base_url` (the local
/// stack: questions verbatim, follow-ups by word count), spooling into `spool`.
pub fn interview_runner(
    backend_graphql: &str,
    ai_base_url: &str,
    spool: &std::path::Path,
) -> interview_agent::session::InterviewRunner {
    let mut config = interview_agent::config::Config::default();
    config.use_local_ai_stack(ai_base_url);
    config.backend.url = backend_graphql.to_string();
    config.backend.token = interview_agent::config::Secret::new(API_TOKEN);
    config.interview.spool_dir = spool.to_path_buf();
    interview_agent::cli::interview_runner(&config).expect("interview runner")
}

/// A candidate's live but silent microphone: a short silent 48 kHz WAV (the peer keeps
/// sending silence after it, like a microphone).
pub fn silent_wav(path: &std::path::Path) {
    write_wav(path, &vec![0i16; 48_000 / 2]);
}

/// A 48 kHz mono 16-bit WAV file.
pub fn write_wav(path: &std::path::Path, samples: &[i16]) {
    let data_len = (samples.len() * 2) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&48_000u32.to_le_bytes());
    b.extend_from_slice(&(48_000u32 * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, b).expect("write the WAV");
}

/// A plain HTTP/1.1 GET (health and metrics endpoints): (status, body); (0, "") when nothing
/// listens.
pub async fn http_get(base: &str, path: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return (0, String::new());
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let _ = tokio::io::AsyncWriteExt::write_all(&mut s, request.as_bytes()).await;
    let mut buf = String::new();
    let _ = tokio::io::AsyncReadExt::read_to_string(&mut s, &mut buf).await;
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
