//! Which application a room is for, and what the interviewer does when there is none, with the
//! real interviewer session (`cli::interview_runner`: the GraphQL backend client, the local AI
//! stack) against the example hiring backend, the LiveKit test server and Python SDK peers:
//!
//! - an unknown application (room `interview-nosuchapp-1`): the agent apologizes aloud, leaves,
//!   and the job fails with the reason; nothing is spooled;
//! - an application found through the candidate's `applicationId` attribute in a room with an
//!   arbitrary name: the interview starts and greets the candidate by name; cancelled after
//!   the greeting it ends "terminated" and the result reaches the backend;
//! - the backend down when an interview starts: the agent says there is a technical problem
//!   (not that the link is wrong), leaves, and the job fails with "backend unavailable";
//! - no application id anywhere (metadata, room name, attributes): the job fails after
//!   `wait_for_candidate`, without any AI.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::local_ai::LocalAi;
use common::{spool_files, states_seen, tracks_from, Env, PyPeer, TempDir};
use hiring_backend::{BackendOptions, NewApplication};
use interview_agent::session::{JobSpec, SessionError, SessionRunner};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn job(env: &Env, room: &str, id: &str) -> JobSpec {
    JobSpec {
        job_id: id.into(),
        room_name: room.into(),
        url: env.url.clone(),
        token: env.token(room, "agent"),
        metadata: Default::default(),
        agent_name: "interviewer".into(),
    }
}

/// The agent's `lk.transcription` text streams the peer received, in arrival order.
fn agent_transcripts<'a>(report: &'a Value, agent: &str) -> Vec<&'a Value> {
    let mut v: Vec<&Value> = report["text_streams"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|t| t["topic"] == "lk.transcription" && t["participant"] == agent)
                .filter(|t| {
                    t["attributes"]["lk.segment_id"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("agent-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| {
        let (x, y) = (a["t"].as_f64(), b["t"].as_f64());
        x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
    });
    v
}

fn is_final(t: &Value) -> bool {
    t["attributes"]["lk.transcription_final"] == "true"
}

/// Seconds of agent audio above -40 dBFS the peer heard (loudest agent track).
fn agent_speech_seconds(report: &Value, agent: &str) -> f64 {
    tracks_from(report, agent)
        .iter()
        .filter_map(|t| t["seconds_above_-40dbfs"].as_f64())
        .fold(0.0, f64::max)
}

/// A job the session must fail: a candidate with a live (silent) microphone joins `room` and
/// listens for 30 s. Returns what the candidate's peer saw and the failure message.
async fn failing_job(
    runner: &Arc<interview_agent::session::InterviewRunner>,
    env: &Env,
    room: &str,
    job_id: &str,
    mic: &str,
) -> (Value, String) {
    let session = {
        let (runner, job) = (runner.clone(), job(env, room, job_id));
        tokio::spawn(async move { runner.run(job, CancellationToken::new()).await })
    };
    let peer = PyPeer::spawn(
        env,
        room,
        "candidate",
        &["--publish-wav", mic, "--listen-seconds", "30"],
    )
    .await;
    let report = peer.finish().await;
    let outcome = tokio::time::timeout(Duration::from_secs(60), session)
        .await
        .expect("the session ends")
        .expect("no panic");
    match outcome {
        Err(SessionError::Failed(msg)) => (report, msg),
        other => panic!("expected the job to fail: {other:?}"),
    }
}

/// The scenarios that need the AI stack share one local AI server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_application_apologizes_and_fails_and_an_attribute_finds_a_known_one() {
    let env = Env::start().await;
    let backend = hiring_backend::start(common::backend_options(BackendOptions {
        bcrypt_cost: 4,
        ..Default::default()
    }))
    .await
    .expect("start the hiring backend");
    let ai = LocalAi::start().await;
    let dir = TempDir::new("unknown");
    let spool = dir.0.join("spool");
    let mic = dir.0.join("silence.wav");
    common::silent_wav(&mic);
    let mic = mic.to_string_lossy().to_string();
    let runner = Arc::new(common::interview_runner(
        &backend.graphql_url(),
        &format!("{}/v1", ai.url),
        &spool,
    ));

    // 1. Unknown application: the apology, then the agent leaves and the job fails.
    let room = "interview-nosuchapp-1";
    let (report, failure) = failing_job(&runner, &env, room, "job-unknown", &mic).await;
    assert!(
        failure.contains("nosuchapp") && failure.contains("unknown application"),
        "{failure}"
    );
    let spoken = agent_speech_seconds(&report, "agent");
    assert!(
        spoken > 1.0,
        "the candidate heard {spoken} s of agent speech: {report}"
    );
    // Its FINAL transcript is checked at the very end (see there).
    let apology_texts: Vec<Value> = agent_transcripts(&report, "agent")
        .into_iter()
        .cloned()
        .collect();
    assert!(
        apology_texts.iter().any(|t| t["text"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("could not find the interview details")),
        "no apology transcript from the agent: {apology_texts:#?}"
    );
    let agent = &report["remote_participants"]["agent"];
    assert!(
        agent["left"].is_number(),
        "the agent did not leave the room: {agent}"
    );
    assert!(
        spool_files(&spool).is_empty(),
        "nothing to deliver for an unknown application: {:?}",
        spool_files(&spool)
    );

    // 2. A known application, found only through the candidate's attribute: the interview
    //    starts and greets the candidate by name; stopped after the greeting, it ends
    //    "terminated" and its result reaches the backend.
    let store = backend.store();
    let app = store
        .create_application(NewApplication {
            candidate_name: "Jordan Lee".into(),
            job_title: "Site Reliability Engineer".into(),
            questions: vec![
                "How do you approach an outage?".into(),
                "What do you monitor first?".into(),
            ],
            language: "en".into(),
            max_duration_seconds: Some(600),
            ..Default::default()
        })
        .expect("create the application");
    let room = common::room_name("screening");
    let cancel = CancellationToken::new();
    let session = {
        let (runner, job, stop) = (runner.clone(), job(&env, &room, "job-attr"), cancel.clone());
        tokio::spawn(async move { runner.run(job, stop).await })
    };
    let attribute = format!("applicationId={app}");
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &[
            "--set-attribute",
            &attribute,
            "--publish-wav",
            &mic,
            "--listen-seconds",
            "60",
        ],
    )
    .await;
    // The greeting (with the first question) is spooled once it has been spoken.
    let greeted = tokio::time::timeout(Duration::from_secs(50), async {
        loop {
            for f in spool_files(&spool) {
                let text = std::fs::read_to_string(&f).unwrap_or_default();
                if text.lines().any(|l| {
                    serde_json::from_str::<Value>(l)
                        .is_ok_and(|r| r["type"] == "transcript" && r["speaker"] == "interviewer")
                }) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        greeted.is_ok(),
        "the agent never finished its greeting; spool: {:?}",
        spool_files(&spool)
    );
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(150), session)
        .await
        .expect("the session ends after cancel")
        .expect("no panic");
    assert!(outcome.is_ok(), "{outcome:?}");
    let results = store.results_for(&app).expect("results");
    assert_eq!(results.len(), 1, "one result stored: {results:?}");
    let r = &results[0].result;
    assert!(!results[0].partial, "{r}");
    assert_eq!(
        r["endReason"].as_str().map(str::to_lowercase).as_deref(),
        Some("terminated"),
        "{r}"
    );
    let report = peer.finish().await;
    let states = states_seen(&report, "agent");
    assert!(
        states.iter().any(|s| s == "listening"),
        "lk.agent.state seen by the candidate: {states:?}"
    );
    let texts = agent_transcripts(&report, "agent");
    let first_final = texts
        .iter()
        .find(|t| is_final(t))
        .unwrap_or_else(|| panic!("no final agent transcript: {texts:#?}"));
    assert!(
        first_final["text"]
            .as_str()
            .unwrap_or("")
            .contains("Jordan Lee"),
        "the greeting: {first_final}"
    );
    assert!(
        agent_speech_seconds(&report, "agent") > 1.0,
        "the candidate heard no greeting: {report}"
    );
    assert!(
        report["remote_participants"]["agent"]["left"].is_number(),
        "the agent left after the cancel: {}",
        report["remote_participants"]
    );
    let greeting_stored = r["transcript"].as_array().is_some_and(|t| {
        t.iter().any(|e| {
            e["speaker"] == "INTERVIEWER" && e["text"].as_str().unwrap_or("").contains("Jordan Lee")
        })
    });
    assert!(greeting_stored, "the stored transcript: {r}");
    backend.shutdown().await;

    // 3. The backend is down when the next interview for the same application starts: the
    //    candidate hears that there is a technical problem (not that the link is wrong), the
    //    agent leaves, and the job fails saying the backend is unavailable.
    let spooled_before = spool_files(&spool);
    let room = format!("interview-{app}-2");
    let (report, failure) = failing_job(&runner, &env, &room, "job-backend-down", &mic).await;
    assert!(
        failure.contains(&app) && failure.contains("backend unavailable"),
        "{failure}"
    );
    let texts: Vec<String> = agent_transcripts(&report, "agent")
        .iter()
        .filter(|t| is_final(t))
        .map(|t| t["text"].as_str().unwrap_or("").to_lowercase())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("technical problem")),
        "the candidate was not told about a technical problem: {texts:#?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("could not find")),
        "a backend outage is not an unknown application: {texts:#?}"
    );
    assert!(
        agent_speech_seconds(&report, "agent") > 1.0,
        "the candidate heard no apology: {report}"
    );
    assert!(
        report["remote_participants"]["agent"]["left"].is_number(),
        "the agent left: {}",
        report["remote_participants"]
    );
    assert_eq!(
        spool_files(&spool),
        spooled_before,
        "no interview was started, so nothing new is spooled"
    );

    // The apology's transcript must be finalized like every other agent line
    // (`lk.transcription_final` = "true"), or the candidate's client shows a segment that
    // never completes. (The pipeline emits the final transcript just after the speech is
    // done; `speak_out` keeps mirroring pipeline events to the room for a moment after.)
    let apology_final = apology_texts.iter().any(|t| {
        is_final(t)
            && t["text"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("could not find the interview details")
    });
    assert!(
        apology_final,
        "no FINAL apology transcript from the agent: {apology_texts:#?}"
    );
}

/// No application id in the metadata, the room name or the candidate's attributes: the job
/// fails once `wait_for_candidate` is over (and with nobody there, says so). No AI is needed:
/// the session fails before it builds the voice pipeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_application_id_anywhere_fails_the_job() {
    let env = Env::start().await;
    let backend = hiring_backend::start(common::backend_options(BackendOptions {
        bcrypt_cost: 4,
        ..Default::default()
    }))
    .await
    .expect("start the hiring backend");
    let dir = TempDir::new("noapp");
    let spool = dir.0.join("spool");
    // A local address nothing listens on: any AI request would fail loudly.
    let mut runner =
        common::interview_runner(&backend.graphql_url(), "http://127.0.0.1:9/v1", &spool);
    runner.options.wait_for_candidate = Duration::from_secs(4);
    let runner = Arc::new(runner);

    let room = common::room_name("lobby");
    let session = {
        let (runner, job) = (runner.clone(), job(&env, &room, "job-noapp"));
        tokio::spawn(async move { runner.run(job, CancellationToken::new()).await })
    };
    let peer = PyPeer::spawn(&env, &room, "candidate", &["--listen-seconds", "8"]).await;
    let outcome = tokio::time::timeout(Duration::from_secs(30), session)
        .await
        .expect("the session ends")
        .expect("no panic");
    match &outcome {
        Err(SessionError::Failed(msg)) => assert!(msg.contains("no application id"), "{msg}"),
        other => panic!("expected the job to fail: {other:?}"),
    }
    let report = peer.finish().await;
    assert!(
        report["remote_participants"]["agent"]["left"].is_number(),
        "the agent left: {}",
        report["remote_participants"]
    );

    // Nobody joins at all.
    let room = common::room_name("empty");
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        runner.run(job(&env, &room, "job-empty"), CancellationToken::new()),
    )
    .await
    .expect("the session ends");
    match &outcome {
        Err(SessionError::Failed(msg)) => {
            assert!(msg.contains("no candidate joined"), "{msg}")
        }
        other => panic!("expected the job to fail: {other:?}"),
    }
    assert!(spool_files(&spool).is_empty(), "{:?}", spool_files(&spool));
    backend.shutdown().await;
}
