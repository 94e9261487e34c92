//! The local AI stack (faster-whisper, llama.cpp SmolLM2, piper; `scripts/setup-ai.sh`)
//! behind its OpenAI-compatible server, for end-to-end tests with real engines.

use std::path::PathBuf;
use std::time::Duration;

use interview_agent::demo::procs::Proc;
use tokio::process::Command;

/// The local AI server, stopped on drop.
pub struct LocalAi {
    _proc: Proc,
    pub url: String,
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

impl LocalAi {
    /// Start the server; panics with the child's exit status and last stderr lines if it dies
    /// before READY (a crashed engine), or with what it said last if it is not ready in time.
    pub async fn start() -> LocalAi {
        let python = std::env::var("AI_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo(".venv-ai/bin/python"));
        assert!(
            python.exists(),
            "local AI stack not installed at {} — run scripts/setup-ai.sh (or set AI_PYTHON)",
            python.display()
        );
        let script = repo("scripts/local_ai/server.py").display().to_string();
        let args = [
            script,
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
        ];
        let mut proc = Proc::spawn("local AI server", &python, &args, None, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let url = proc
            .wait_for("READY ", Duration::from_secs(240))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        LocalAi { _proc: proc, url }
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

/// `text` spoken by the local TTS as a 48 kHz WAV, made once and kept under
/// `target/test-speech/` (starting the local AI server only when it is not there yet): real
/// speech for tests that need a browser's noise suppression to let it through.
pub async fn cached_speech_wav(text: &str) -> PathBuf {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let dir = repo("target/test-speech");
    let path = dir.join(format!("{hash:016x}.wav"));
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).expect("test speech dir");
    let ai = LocalAi::start().await;
    let tmp = dir.join(format!("{hash:016x}.{}.tmp", std::process::id()));
    ai.speech_wav(text, &tmp).await;
    std::fs::rename(&tmp, &path).expect("keep the speech WAV");
    path
}
