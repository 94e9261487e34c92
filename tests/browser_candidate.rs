//! The candidate's interview page in a real browser (Debian's Chromium, driven by
//! puppeteer-core; a fake microphone plays a WAV), against the example hiring backend serving
//! the page, the LiveKit test server (or LIVEKIT_URL) and this agent as the dispatched worker.
//! Scenario scripts: `examples/hiring_backend/web/tests/*.mjs`; screenshots of every step and
//! the browser console are kept in `target/browser-artifacts/` when a test fails.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::browser::{looped_speech_wav, p50_max, Hiring, Scenario, ONE_AT_A_TIME};
use common::local_ai::LocalAi;
use common::{said_by, TempDir};
use hiring_backend::NewApplication;
use serde_json::{json, Value};

fn samples(report: &Value) -> Vec<(f64, f64, f64, String)> {
    report["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| {
            (
                s[0].as_f64().unwrap_or(0.0),
                s[1].as_f64().unwrap_or(-100.0),
                s[2].as_f64().unwrap_or(0.0),
                s[3].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The avatar's mouth is open only while the agent's audio plays (a release of at most
/// 200 ms after it stops), and does open while it plays.
fn assert_mouth_follows_the_voice(report: &Value) {
    let s = samples(report);
    let loud: Vec<f64> = s.iter().filter(|x| x.1 > -50.0).map(|x| x.0).collect();
    assert!(
        loud.len() > 20,
        "the agent was heard: {} loud samples",
        loud.len()
    );
    let max_open = s
        .iter()
        .filter(|x| x.1 > -50.0)
        .map(|x| x.2)
        .fold(0.0, f64::max);
    assert!(
        max_open >= 0.3,
        "the mouth opens while the agent speaks: {max_open}"
    );
    for (t, db, open, state) in &s {
        if *open > 0.05 {
            let recent = loud.iter().any(|l| *l <= *t && t - l <= 200.0);
            assert!(
                recent,
                "mouth open {open} at {t} ms without agent audio ({db} dB, {state})"
            );
        }
    }
}

/// The final result the agent saved for `application` (waits up to a minute for it).
async fn final_result(hiring: &Hiring, application: &str) -> Value {
    for _ in 0..600 {
        let rows = hiring
            .backend
            .store()
            .results_for(application)
            .expect("results");
        if let Some(r) = rows.into_iter().find(|r| r.result["partial"] == false) {
            return r.result;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no final result stored for {application}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidate_takes_the_whole_interview_in_the_browser() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ai = LocalAi::start().await;
    let dir = TempDir::new("browser-interview");
    let mut hiring = Hiring::start(None).await;
    let runner = common::interview_runner(
        &hiring.backend.graphql_url(),
        &format!("{}/v1", ai.url),
        &dir.0.join("spool"),
    );
    hiring.start_worker_with(Arc::new(runner)).await;

    let inv = hiring
        .invite(NewApplication {
            candidate_name: "Jordan Page".into(),
            job_title: "Platform Engineer".into(),
            questions: vec![
                "What have you built with Rust?".into(),
                "How do you keep a distributed system reliable?".into(),
            ],
            language: "en".into(),
            max_duration_seconds: Some(600),
            ..NewApplication::default()
        })
        .await;
    assert!(
        inv.link.starts_with(&hiring.backend.url())
            && inv
                .link
                .ends_with(&format!("/interview/{}", inv.application)),
        "the invitation links to this backend's page: {}",
        inv.link
    );

    let answer = dir.0.join("answer.wav");
    ai.speech_wav(
        "I have five years of experience with Rust and distributed systems.",
        &answer,
    )
    .await;
    let mic = dir.0.join("mic.wav");
    looped_speech_wav(&answer, 4, &mic);

    let mut sc = Scenario::start(
        "candidate_interview.mjs",
        "candidate-interview",
        json!({
            "link": inv.link,
            "code": inv.password,
            "micWav": mic,
            "talkMs": 4500,
            "maxSeconds": 240,
        }),
    );
    let report = sc.report(Duration::from_secs(300)).await;

    // The page: job title after the code, the meter moved, the greeting heard.
    assert_eq!(report["jobTitle"], "Platform Engineer");
    assert!(report["micMeterMax"].as_f64().unwrap_or(0.0) > 0.05);
    let join_to_greeting = report["joinToGreetingMs"].as_f64().expect("greeting heard");
    eprintln!("join -> first greeting audio (local AI stack): {join_to_greeting} ms");
    assert!(
        report["answers"].as_u64().unwrap_or(0) >= 2,
        "{}",
        report["answers"]
    );
    // The interviewer's state went through listening, thinking and speaking.
    let states: Vec<&str> = report["states"]
        .as_array()
        .expect("states")
        .iter()
        .filter_map(|s| s[1].as_str())
        .collect();
    for s in ["listening", "thinking", "speaking"] {
        assert!(states.contains(&s), "state {s} never shown: {states:?}");
    }
    assert_mouth_follows_the_voice(&report);
    // Captions of both sides, as page text.
    let lines = report["captionLines"].as_array().expect("caption lines");
    let side = |s: &str| {
        lines
            .iter()
            .filter(|l| l["side"] == s && l["text"].as_str().is_some_and(|t| !t.is_empty()))
            .count()
    };
    assert!(side("interviewer") >= 3, "{lines:?}");
    assert!(side("you") >= 2, "{lines:?}");
    assert!(
        lines.iter().any(|l| l["side"] == "interviewer"
            && l["text"].as_str().unwrap_or("").contains("Jordan Page")),
        "the greeting in the captions: {lines:?}"
    );
    // The end screen after the interviewer closed the call.
    assert_eq!(report["ended"], "agent-left", "{report}");
    assert!(report["endText"]
        .as_str()
        .unwrap_or("")
        .contains("complete"));

    // The backend stored the interview (the summary may still be on its way when the agent
    // has left the room).
    let r = final_result(&hiring, &inv.application).await;
    let r = &r;
    assert_eq!(r["endReason"], "completed", "{r}");
    assert_eq!(r["questionsAsked"], 2, "{r}");
    assert!(said_by(r, "INTERVIEWER")
        .iter()
        .any(|t| t.contains("jordan page")));
    let candidate = said_by(r, "CANDIDATE");
    assert!(
        candidate
            .iter()
            .any(|t| t.contains("experience") || t.contains("distributed") || t.contains("years")),
        "the candidate's answers: {candidate:?}"
    );
    sc.passed();
    hiring.shutdown().await;
}
