//! The `hiring-backend` binary: `--port 0 --seed-demo` prints `APPLICATION <id>` and
//! `READY http://...`, and the demo application is served over GraphQL.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::json;

/// Kills the child when the test ends, whatever happens.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn seed_demo_and_ready_lines() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hiring-backend"))
        .args(["--port", "0", "--seed-demo", "--api-token", "cli-token"])
        .env_remove("LIVEKIT_URL")
        .env_remove("LIVEKIT_API_KEY")
        .env_remove("LIVEKIT_API_SECRET")
        .env_remove("HIRING_BACKEND_TOKEN")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hiring-backend");
    let stdout = child.stdout.take().expect("stdout");
    let _guard = Guard(child);

    // Read until READY (blocking reads, off the async workers).
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("stdout line");
            let ready = line.starts_with("READY ");
            lines.push(line);
            if ready {
                break;
            }
        }
        lines
    })
    .await
    .unwrap();
    let app = lines
        .iter()
        .find_map(|l| l.strip_prefix("APPLICATION "))
        .unwrap_or_else(|| panic!("no APPLICATION line in {lines:?}"))
        .to_string();
    let url = lines
        .last()
        .and_then(|l| l.strip_prefix("READY "))
        .unwrap_or_else(|| panic!("no READY line in {lines:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(app.starts_with("app-"), "{app}");

    let c = client();
    let (status, _) = post_gql(
        &c,
        &format!("{url}/graphql"),
        None,
        APPLICATION_QUERY,
        json!({ "id": app }),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = post_gql(
        &c,
        &format!("{url}/graphql"),
        Some("cli-token"),
        APPLICATION_QUERY,
        json!({ "id": app }),
    )
    .await;
    assert_eq!(status, 200);
    let a = &body["data"]["application"];
    assert_eq!(a["candidate"]["name"], json!("Alex Morgan"));
    assert_eq!(a["job"]["title"], json!("Backend Engineer"));
    let questions = a["job"]["questions"].as_array().unwrap();
    assert!((2..=3).contains(&questions.len()));
}
