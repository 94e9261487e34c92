//! The local AI stack (faster-whisper, llama.cpp SmolLM2, piper; `scripts/setup-ai.sh`)
//! behind its OpenAI-compatible server, for end-to-end tests with real engines.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The local AI server, stopped on drop.
pub struct LocalAi {
    _child: Child,
    pub url: String,
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

impl LocalAi {
    pub async fn start() -> LocalAi {
        let python = std::env::var("AI_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo(".venv-ai/bin/python"));
        assert!(
            python.exists(),
            "local AI stack not installed at {} — run scripts/setup-ai.sh (or set AI_PYTHON)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(repo("scripts/local_ai/server.py"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the local AI server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = tokio::time::timeout(Duration::from_secs(240), async {
            while let Ok(Some(l)) = lines.next_line().await {
                if let Some(u) = l.strip_prefix("READY ") {
                    return Some(u.trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("local AI server READY");
        LocalAi { _child: child, url }
    }

    pub async fn speech_wav(&self, text: &str, out: &std::path::Path) {
        let status = Command::new("python3")
            .arg(repo("scripts/local_ai/make_speech.py"))
            .args([
                "--url", &self.url, "--text", text, "--rate", "48000", "--out",
            ])
            .arg(out)
            .status()
            .await
            .expect("make_speech");
        assert!(status.success(), "make_speech failed");
    }
}
