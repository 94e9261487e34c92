//! Child processes of the demo and of the end-to-end tests (test LiveKit server, example
//! backend, local AI stack, the scripted candidate): spawned with piped stdout, killed when
//! dropped, and read line by line with a deadline for their `READY ...`-style announcements.
//! Their stderr goes to a log file (or nowhere) through a small task that also keeps the last
//! lines, so a child that dies before it is ready is reported with its exit status (signal
//! named: a SIGILL says "built for another CPU") and what it said last, not as a timeout.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Lines of stderr kept for the report.
const TAIL_LINES: usize = 12;

type Tail = Arc<Mutex<VecDeque<String>>>;

pub struct Proc {
    pub name: &'static str,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    tail: Tail,
    stderr_done: Option<tokio::task::JoinHandle<()>>,
}

impl Proc {
    /// Start `program args` with stdout piped; stderr goes to `log` (a file) or is dropped,
    /// its last lines kept either way.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: Option<&Path>,
        env: &[(&str, String)],
    ) -> Result<Proc, String> {
        let log = match log {
            Some(p) => Some(
                std::fs::File::create(p)
                    .map_err(|e| format!("{name}: cannot create {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{name}: cannot start {}: {e}", program.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| format!("{name}: no stdout"))?;
        let tail = Tail::default();
        let stderr_done = child
            .stderr
            .take()
            .map(|err| tokio::spawn(keep_stderr(err, log, tail.clone())));
        Ok(Proc {
            name,
            child,
            lines: BufReader::new(stdout).lines(),
            tail,
            stderr_done,
        })
    }

    /// The next stdout line, or None at EOF / after `limit`.
    pub async fn next_line(&mut self, limit: Duration) -> Result<Option<String>, String> {
        match tokio::time::timeout(limit, self.lines.next_line()).await {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(format!("{}: reading its output: {e}", self.name)),
            Err(_) => Err(format!(
                "{}: no output within {limit:?}{}",
                self.name,
                self.stderr_tail()
            )),
        }
    }

    /// Read lines until one starts with `prefix`; returns the rest of that line. A child that
    /// closes its stdout first is reported with its exit status and its last stderr lines.
    pub async fn wait_for(&mut self, prefix: &str, limit: Duration) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_line(left).await? {
                Some(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.trim().to_string());
                    }
                }
                None => return Err(self.exited_before(prefix).await),
            }
        }
    }

    async fn exited_before(&mut self, prefix: &str) -> String {
        let status = match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => describe_exit(status),
            Ok(Err(e)) => format!("exit status unknown: {e}"),
            Err(_) => "closed its output but is still running".to_string(),
        };
        // Let the stderr reader reach EOF, so the tail holds the child's last words.
        if let Some(task) = self.stderr_done.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        format!(
            "{} exited before printing {prefix:?}: {status}{}",
            self.name,
            self.stderr_tail()
        )
    }

    /// The last stderr lines, formatted for an error message ("" when there are none).
    pub fn stderr_tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            return String::new();
        }
        let lines: Vec<String> = tail.iter().map(|l| format!("  | {l}")).collect();
        format!("; its last lines on stderr:\n{}", lines.join("\n"))
    }

    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// Copy stderr to the log file (if any), keeping the last [`TAIL_LINES`] lines.
async fn keep_stderr(err: impl AsyncRead + Unpin, mut log: Option<std::fs::File>, tail: Tail) {
    let mut lines = BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(f) = log.as_mut() {
            let _ = writeln!(f, "{line}");
        }
        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() == TAIL_LINES {
            t.pop_front();
        }
        t.push_back(line);
    }
}

/// "exit status 1", or "killed by SIGILL (signal 4): illegal instruction, built for another
/// CPU" for the signals that say something about the cause.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let Some(sig) = status.signal() else {
        return format!("{status}");
    };
    let (name, hint) = match sig {
        libc::SIGILL => (
            "SIGILL",
            ": illegal instruction, a native engine built for another CPU (rerun \
             scripts/setup-ai.sh; README: 'When an engine fails')",
        ),
        libc::SIGSEGV => ("SIGSEGV", ": a native library crashed"),
        libc::SIGABRT => ("SIGABRT", ": aborted"),
        libc::SIGBUS => ("SIGBUS", ""),
        libc::SIGFPE => ("SIGFPE", ""),
        libc::SIGKILL => ("SIGKILL", ": killed (out of memory?)"),
        libc::SIGTERM => ("SIGTERM", ""),
        _ => ("a signal", ""),
    };
    format!("killed by {name} (signal {sig}){hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_child_that_dies_before_ready_is_reported_with_its_signal_and_last_words() {
        let sh = Path::new("/bin/sh");
        let script = "echo loading >&2; echo 'model: bad instruction' >&2; kill -ILL $$";
        let mut p = Proc::spawn("engine", sh, &["-c".into(), script.into()], None, &[]).unwrap();
        let err = p
            .wait_for("READY ", Duration::from_secs(20))
            .await
            .unwrap_err();
        assert!(
            err.contains("engine exited before printing \"READY \""),
            "{err}"
        );
        assert!(err.contains("killed by SIGILL (signal 4)"), "{err}");
        assert!(err.contains("built for another CPU"), "{err}");
        assert!(
            err.contains("| loading\n  | model: bad instruction"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn exit_codes_and_logs_are_kept() {
        let dir = std::env::temp_dir().join(format!("procs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("child.log");
        let sh = Path::new("/bin/sh");
        let script = "echo 'NOT READY' ; echo 'no config' >&2; exit 3";
        let mut p = Proc::spawn(
            "backend",
            sh,
            &["-c".into(), script.into()],
            Some(&log),
            &[],
        )
        .unwrap();
        let err = p
            .wait_for("READY ", Duration::from_secs(20))
            .await
            .unwrap_err();
        assert!(err.contains("exit status 3"), "{err}");
        assert!(err.ends_with("| no config"), "{err}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "no config\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn ready_line_is_returned() {
        let sh = Path::new("/bin/sh");
        let mut p = Proc::spawn(
            "ok",
            sh,
            &[
                "-c".into(),
                "echo hi; echo 'READY http://x:1'; sleep 5".into(),
            ],
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            p.wait_for("READY ", Duration::from_secs(20)).await.unwrap(),
            "http://x:1"
        );
        p.kill().await;
    }
}
