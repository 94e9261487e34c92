//! The demo's scripted candidate: the official LiveKit Python SDK (real libwebrtc) joining with
//! the token from the password, answering with speech synthesized by the same TTS, and the
//! conversation printed as the candidate's client shows it.

use std::path::Path;

use serde_json::Value;

use super::procs::Proc;
use super::script;
use super::stack::Stack;
use super::DemoOptions;

/// Run the scripted candidate until it leaves (or the deadline).
pub async fn interview(
    opts: &DemoOptions,
    stack: &Stack,
    python: &Path,
    url: String,
    token: String,
    deadline: tokio::time::Instant,
) -> Result<(), String> {
    let work = &opts.work_dir;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let mut answers = Vec::new();
    for (i, text) in script::ANSWERS.iter().enumerate() {
        let path = work.join(format!("answer-{i}.wav"));
        synthesize(
            &http,
            &stack.ai_url,
            stack.openai_key.as_deref(),
            text,
            &path,
        )
        .await?;
        answers.push(path);
    }
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
        python,
        &args,
        Some(&work.join("candidate.log")),
        &[],
    )?;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(line) = candidate.next_line(left).await? else {
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
    candidate.kill().await;
    Ok(())
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
