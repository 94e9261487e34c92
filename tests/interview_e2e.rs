//! The whole product end to end, exactly as the README's first command runs it:
//! `interview-agent demo` starts the bundled LiveKit test server, the example hiring backend
//! (GraphQL + SQLite), the local AI stack (faster-whisper, SmolLM2, Piper), registers this
//! agent as a worker, creates an application and an interview room through the backend (which
//! dispatches the agent and issues the candidate's password), and a scripted candidate (the
//! official LiveKit Python SDK) answers with synthesized speech. The test checks the result the
//! backend stored: both sides of the transcript, the plan's questions, scores or reasons.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::said_by;

fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_interview-agent"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The demo runs the test server and the backend from their own binaries (next to ours).
fn ensure_sibling_binaries() {
    let dir = bin_dir();
    if dir.join("livekit-test-server").exists() && dir.join("hiring-backend").exists() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--bins",
            "-p",
            "livekit-test-server",
            "-p",
            "hiring-backend",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo build");
    assert!(status.success(), "building the demo's sibling binaries");
}

#[test]
fn the_demo_runs_a_whole_interview_and_the_backend_stores_it() {
    ensure_sibling_binaries();
    let out_dir = std::env::temp_dir().join(format!("ia-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("temp dir");
    let result_path = out_dir.join("result.json");
    let output = Command::new(env!("CARGO_BIN_EXE_interview-agent"))
        .args(["demo", "--timeout-secs", "540", "--result"])
        .arg(&result_path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("LIVEKIT_URL")
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("Interviewer: Hello Alex Morgan"),
        "{stdout}"
    );
    assert!(stdout.contains("SCORECARD"), "{stdout}");

    let text = std::fs::read_to_string(&result_path).expect("the stored result");
    let r: serde_json::Value = serde_json::from_str(&text).expect("result JSON");
    assert_eq!(r["partial"], false, "{r}");
    assert_eq!(r["questionsAsked"], 3, "{r}");
    assert!(r["transcript"].is_array(), "no transcript: {r}");
    let interviewer = said_by(&r, "INTERVIEWER");
    let candidate = said_by(&r, "CANDIDATE");
    assert!(
        interviewer.iter().any(|t| t.contains("alex morgan")),
        "greeting: {interviewer:?}"
    );
    assert!(
        interviewer
            .iter()
            .any(|t| t.contains("slow database query")),
        "third question asked: {interviewer:?}"
    );
    // Whisper tiny.en mishears some words ("Rust" -> "rest", "idempotency" -> "eye potency"),
    // differently on different CPUs; any of these words proves the answer got through.
    let heard = |words: &[&str]| {
        candidate
            .iter()
            .any(|t| words.iter().any(|w| t.contains(w)))
    };
    assert!(
        heard(&["payment", "consistency", "schema"]),
        "first answer: {candidate:?}"
    );
    assert!(
        heard(&["query plan", "indexes", "statistics"]),
        "last answer: {candidate:?}"
    );
    // Every question has an outcome: a 1-10 score or the reason it has none.
    let questions = r["questions"].as_array().expect("questions");
    assert_eq!(questions.len(), 3, "{r}");
    for q in questions {
        let scored = q["score"].as_i64().is_some_and(|s| (1..=10).contains(&s));
        assert!(scored || q["scoringError"].is_string(), "{q}");
    }
    assert!(r["summary"].as_str().is_some_and(|s| !s.is_empty()));
    let _ = std::fs::remove_dir_all(&out_dir);
}
