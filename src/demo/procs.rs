//! Child processes of the demo (test LiveKit server, example backend, local AI stack, the
//! scripted candidate): spawned with piped stdout, killed when dropped, and read line by line
//! with a deadline for their `READY ...`-style announcements.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub struct Proc {
    pub name: &'static str,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Proc {
    /// Start `program args` with stdout piped; stderr goes to `log` (a file) or is dropped.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: Option<&Path>,
        env: &[(&str, String)],
    ) -> Result<Proc, String> {
        let stderr = match log {
            Some(p) => std::fs::File::create(p)
                .map(Stdio::from)
                .map_err(|e| format!("{name}: cannot create {}: {e}", p.display()))?,
            None => Stdio::null(),
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
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
        Ok(Proc {
            name,
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The next stdout line, or None at EOF / after `limit`.
    pub async fn next_line(&mut self, limit: Duration) -> Result<Option<String>, String> {
        match tokio::time::timeout(limit, self.lines.next_line()).await {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(format!("{}: reading its output: {e}", self.name)),
            Err(_) => Err(format!("{}: no output within {limit:?}", self.name)),
        }
    }

    /// Read lines until one starts with `prefix`; returns the rest of that line.
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
                None => {
                    let status = self.child.try_wait().ok().flatten();
                    return Err(format!(
                        "{} exited before printing {prefix:?} (status {status:?})",
                        self.name
                    ));
                }
            }
        }
    }

    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}
