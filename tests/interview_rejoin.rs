//! A candidate who drops out of the interview: back within `rejoin_grace` they continue the
//! same interview (same plan position, one transcript, one result); gone for longer, the
//! interview ends as `candidate_left` and what was said is saved. Real parts: the interviewer
//! session (`cli::interview_runner`), the example hiring backend over GraphQL, the local AI
//! stack, the LiveKit test server, and the demo's scripted candidate (the official LiveKit
//! Python SDK), which answers whenever the agent has spoken and is listening again.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::local_ai::LocalAi;
use common::{said_by, Env, TempDir};
use hiring_backend::{BackendOptions, NewApplication, RunningBackend};
use interview_agent::session::{JobSpec, SessionRunner};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

const A1: &str = "My favourite language is Rust, because the compiler catches my mistakes \
                  before my users do, and the programs are fast.";
const A2: &str = "I am proud of a search service I built for a library, which answers every \
                  query in under fifty milliseconds.";

fn application(backend: &RunningBackend) -> String {
    backend
        .store()
        .create_application(NewApplication {
            candidate_name: "Robin Lee".into(),
            job_title: "Software Engineer".into(),
            questions: vec![
                "What is your favourite programming language, and why?".into(),
                "Tell me about a project you are proud of.".into(),
            ],
            language: "en".into(),
            max_duration_seconds: Some(900),
            ..NewApplication::default()
        })
        .expect("application")
}

/// `scripts/demo/candidate.py` as `identity`; returns once it has left (its own decision or
/// the agent leaving).
async fn candidate(env: &Env, room: &str, answers: &[&PathBuf], extra: &[&str]) -> Vec<Value> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(common::python());
    cmd.arg(repo.join("scripts/demo/candidate.py"))
        .args(["--url", &env.url, "--token", &env.token(room, "candidate")])
        .args(["--max-seconds", "240"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for a in answers {
        cmd.arg("--answer").arg(a);
    }
    let mut child = cmd.spawn().expect("candidate");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut events = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            let left = v["event"] == "left";
            events.push(v);
            if left {
                break;
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    events
}

fn job(env: &Env, room: &str) -> JobSpec {
    JobSpec {
        job_id: format!("job-{room}"),
        room_name: room.into(),
        url: env.url.clone(),
        token: env.token(room, "agent"),
        metadata: Default::default(),
        agent_name: "interviewer".into(),
    }
}

fn transcript_of(result: &Value, speaker: &str) -> String {
    said_by(result, speaker).join(" | ")
}

async fn final_result(backend: &RunningBackend, app: &str) -> Value {
    for _ in 0..1200 {
        let rows = backend.store().results_for(app).expect("results");
        if let Some(r) = rows.iter().find(|r| !r.partial) {
            assert_eq!(rows.len(), 1, "one result per interview");
            return r.result.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no result stored for {app}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_who_rejoins_continues_and_one_who_stays_away_ends_the_interview() {
    let env = Env::start().await;
    let backend = hiring_backend::start(common::backend_options(BackendOptions::default()))
        .await
        .expect("backend");
    let ai = LocalAi::start().await;
    let dir = TempDir::new("rejoin");
    let (a1, a2) = (dir.0.join("a1.wav"), dir.0.join("a2.wav"));
    ai.speech_wav(A1, &a1).await;
    ai.speech_wav(A2, &a2).await;

    // 1. Answer the first question, hang up, come back: the interview continues.
    let app = application(&backend);
    let room = format!("interview-{app}-1");
    let session = {
        let r = common::interview_runner(
            &backend.graphql_url(),
            &format!("{}/v1", ai.url),
            &dir.0.join("spool"),
        );
        let job = job(&env, &room);
        tokio::spawn(async move { r.run(job, CancellationToken::new()).await })
    };
    let first = candidate(&env, &room, &[&a1], &["--leave-after-answers", "1"]).await;
    assert!(
        first.iter().any(|e| e["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("hung up"))),
        "{first:?}"
    );
    let second = candidate(&env, &room, &[&a2], &["--answer-at-once"]).await;
    assert!(
        second.iter().any(|e| e["event"] == "answering"),
        "{second:?}"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(180), session)
        .await
        .expect("the interview ends")
        .expect("no panic");
    assert!(outcome.is_ok(), "{outcome:?}");
    let r = final_result(&backend, &app).await;
    assert_eq!(r["endReason"], "completed", "{r}");
    assert_eq!(r["questionsAsked"], 2, "{r}");
    assert_eq!(r["questionsAnswered"], 2, "{r}");
    let said = transcript_of(&r, "CANDIDATE");
    assert!(said.contains("compiler"), "first answer: {said}");
    assert!(said.contains("library"), "answer after the rejoin: {said}");
    let asked = transcript_of(&r, "INTERVIEWER");
    assert!(asked.contains("project you are proud of"), "{asked}");

    // 2. Answer, hang up, stay away longer than the grace: ended as candidate_left, saved.
    let app = application(&backend);
    let room = format!("interview-{app}-1");
    let session = {
        let mut r = common::interview_runner(
            &backend.graphql_url(),
            &format!("{}/v1", ai.url),
            &dir.0.join("spool"),
        );
        r.options.rejoin_grace = Duration::from_secs(2);
        let job = job(&env, &room);
        tokio::spawn(async move { r.run(job, CancellationToken::new()).await })
    };
    candidate(&env, &room, &[&a1], &["--leave-after-answers", "1"]).await;
    let outcome = tokio::time::timeout(Duration::from_secs(180), session)
        .await
        .expect("the interview ends")
        .expect("no panic");
    assert!(outcome.is_ok(), "{outcome:?}");
    let r = final_result(&backend, &app).await;
    assert_eq!(r["endReason"], "candidate_left", "{r}");
    assert_eq!(r["partial"], false, "{r}");
    assert!(transcript_of(&r, "CANDIDATE").contains("compiler"), "{r}");
    backend.shutdown().await;
}
