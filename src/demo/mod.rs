//! `interview-agent demo`: a whole interview on one machine with nothing installed but this
//! repository's set-up: the bundled test LiveKit server, the example hiring backend (GraphQL +
//! SQLite), the local AI stack (Whisper, SmolLM2, Piper; or OpenAI when `OPENAI_API_KEY` is
//! set), this agent as a worker in-process, and a scripted candidate (the official LiveKit
//! Python SDK) answering with pre-synthesized speech. It drives the backend the way a hiring
//! app does (create the application, create the room: the backend dispatches the agent and
//! "sends" the candidate a password; the candidate trades the password for a join token),
//! prints the conversation as the candidate's client sees it, then the scorecard the backend
//! stored. With `--browser` a person is the candidate: the demo prints the link to the
//! candidate's page and the code, and the scorecard once the interview ended.
//!
//! Files: `stack` (the servers and the worker), `scripted` (the Python SDK candidate),
//! `backend_ops` (the hiring app's GraphQL calls), `script` (the demo application and answers),
//! `report` (the scorecard), `procs` (child processes).

mod backend_ops;
pub mod procs;
mod report;
mod script;
mod scripted;
mod stack;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use self::backend_ops::BackendApi;
use self::stack::Stack;
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The repository (scripts, Python environments).
    pub repo: PathBuf,
    /// Where `livekit-test-server` and `hiring-backend` were built (next to this binary).
    pub bin_dir: PathBuf,
    /// Work directory (answers, logs, spool, database); kept.
    pub work_dir: PathBuf,
    /// Give up after this long.
    pub timeout: Duration,
    /// Also write the stored result here (JSON).
    pub result_path: Option<PathBuf>,
    /// A person takes the interview in a browser (the link and code are printed) instead of
    /// the scripted candidate.
    pub browser: bool,
    /// The hiring backend's port (0: any free port).
    pub backend_port: u16,
}

impl DemoOptions {
    /// Defaults: the repository found from the working directory or this binary's location,
    /// binaries next to this one, a fresh directory under the system temp dir.
    pub fn discover() -> Result<DemoOptions, Error> {
        let exe = std::env::current_exe().map_err(|e| Error::Other(format!("demo: {e}")))?;
        let bin_dir = exe
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let is_repo = |p: &Path| p.join("scripts/local_ai/server.py").is_file();
        let mut candidates = vec![std::env::current_dir().unwrap_or_default()];
        candidates.extend(bin_dir.ancestors().map(Path::to_path_buf));
        let repo = candidates.into_iter().find(|p| is_repo(p)).ok_or_else(|| {
            Error::Other(
                "demo: run it from the interview-agent repository (scripts/demo.sh does)".into(),
            )
        })?;
        let work_dir = std::env::temp_dir().join(format!(
            "interview-demo-{}-{}",
            std::process::id(),
            crate::interview::spool::now_ms()
        ));
        Ok(DemoOptions {
            repo,
            bin_dir,
            work_dir,
            timeout: Duration::from_secs(600),
            result_path: None,
            browser: false,
            backend_port: 0,
        })
    }
}

fn free_port() -> Result<u16, Error> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Other(format!("demo: no free port: {e}")))
}

fn need(path: &Path, hint: &str) -> Result<(), Error> {
    if path.exists() {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "demo: {} is missing ({hint})",
            path.display()
        )))
    }
}

/// Run the demo; prints as it goes and returns the stored (final) result.
pub async fn run(opts: DemoOptions) -> Result<Value, Error> {
    let fail = |m: String| Error::Other(format!("demo: {m}"));
    std::fs::create_dir_all(&opts.work_dir).map_err(|e| fail(e.to_string()))?;
    let work = &opts.work_dir;
    let py = opts.repo.join(".venv/bin/python");
    if !opts.browser {
        need(&py, "run scripts/setup.sh")?;
    }
    let mut stack = Stack::start(&opts, opts.backend_port).await?;
    let deadline = tokio::time::Instant::now() + opts.timeout;

    // The hiring app: application, room (agent dispatched), password and link "sent".
    let api = BackendApi::new(stack.graphql.clone(), stack.api_token.clone()).map_err(fail)?;
    let app_id = api
        .create_application(script::application())
        .await
        .map_err(fail)?;
    let room = api.create_interview_room(&app_id).await.map_err(fail)?;
    let notify = stack
        .backend
        .wait_for("NOTIFY ", Duration::from_secs(10))
        .await
        .map_err(fail)?;
    let field = |name: &str| {
        notify
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name))
            .map(str::to_string)
            .ok_or_else(|| fail(format!("no {name} in the backend's notification")))
    };
    let (password, link) = (field("password=")?, field("link=")?);

    if opts.browser {
        println!("== application {app_id}: room {room}; the interviewer is waiting in the room\n");
        println!("   Open the candidate's page in a browser on this machine:\n");
        println!("       {link}\n");
        println!("   and enter the code {password} (valid 15 minutes).\n");
        println!(
            "   The hiring team's console (live view, scorecard): {}/console\n   \
             operator password: {}\n",
            stack.backend_url, stack.operator_password
        );
        println!(
            "== waiting for the interview to end (up to {} s) ...",
            opts.timeout.as_secs()
        );
    } else {
        println!("== application {app_id}: room {room}; the candidate got a 6-digit password");
        let (url, token) = api.room_token(&app_id, &password).await.map_err(fail)?;
        println!("== candidate Alex Morgan joins with the token from getRoomToken\n");
        scripted::interview(&opts, &stack, &py, url, token, deadline)
            .await
            .map_err(fail)?;
    }

    // The result the agent saved.
    let result = loop {
        let rows = api.results(&app_id).await.map_err(fail)?;
        if let Some((_, r)) = rows.into_iter().find(|(partial, _)| !partial) {
            break r;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(fail(format!(
                "no result stored for {app_id}; logs in {}",
                work.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!("{}", report::scorecard(&result));
    if let Some(p) = &opts.result_path {
        let text = serde_json::to_string_pretty(&result).map_err(|e| fail(e.to_string()))?;
        std::fs::write(p, text).map_err(|e| fail(format!("{}: {e}", p.display())))?;
    }
    println!("(logs, answers and the database are in {})", work.display());
    stack.stop().await;
    Ok(result)
}
