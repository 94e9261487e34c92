//! The candidate's interview page in a real browser (Debian's Chromium, driven by
//! puppeteer-core; a fake microphone plays a WAV), against the example hiring backend serving
//! the page, the LiveKit test server (or LIVEKIT_URL) and this agent as the dispatched worker.
//! Scenario scripts: `examples/hiring_backend/web/tests/*.mjs`; screenshots of every step and
//! the browser console are kept in `target/browser-artifacts/` when a test fails.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::browser::{
    answering_mic, looped_speech_wav, p50_max, Hiring, Said, Scenario, ONE_AT_A_TIME,
};
use common::local_ai::LocalAi;
use common::{said_by, TempDir};
use hiring_backend::NewApplication;
use interview_agent::providers::fake::FakeStt;
use serde_json::{json, Value};

/// The page's 40 ms samples: (ms, dBFS, mouth opening, agent state, audible).
fn samples(report: &Value) -> Vec<(f64, f64, f64, String, bool)> {
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
                s[4].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// The avatar's mouth is open only while the agent's audio plays (a release of at most
/// 200 ms after it stops), and does open while it plays.
fn assert_mouth_follows_the_voice(report: &Value) {
    let s = samples(report);
    let loud: Vec<f64> = s.iter().filter(|x| x.4).map(|x| x.0).collect();
    assert!(
        loud.len() > 20,
        "the agent was heard: {} loud samples",
        loud.len()
    );
    let max_open = s.iter().filter(|x| x.4).map(|x| x.2).fold(0.0, f64::max);
    assert!(
        max_open >= 0.3,
        "the mouth opens while the agent speaks: {max_open}"
    );
    for (t, db, open, state, _) in &s {
        if *open > 0.05 {
            let recent = loud.iter().any(|l| *l <= *t && t - l <= 200.0);
            assert!(
                recent,
                "mouth open {open} at {t} ms without agent audio ({db} dB, {state})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidate_takes_the_whole_interview_in_the_browser() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ai = LocalAi::start().await;
    let dir = TempDir::new("browser-interview");
    let mut hiring = Hiring::start(None).await;
    hiring
        .start_local_ai_worker(&ai.url, &dir.0.join("spool"))
        .await;

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

    let mic = answering_mic(&ai, &dir.0).await;

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
    let r = hiring.final_result(&inv.application).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_expired_and_locked_codes_and_microphone_problems_get_clear_messages() {
    let _one = ONE_AT_A_TIME.lock().await;
    // No agent: nothing here reaches the call.
    let mut hiring = Hiring::start(None).await;
    let mut sc = Scenario::start("candidate_errors.mjs", "candidate-errors", json!({}));
    let report = loop {
        match sc.next(Duration::from_secs(120)).await {
            Said::Step(step, _) => {
                let answer = match step.as_str() {
                    "invite" => {
                        let inv = hiring.invite(candidate("Casey Errors")).await;
                        let wrong = if inv.password == "000000" {
                            "999999"
                        } else {
                            "000000"
                        };
                        json!({ "link": inv.link, "code": inv.password, "wrong": wrong })
                    }
                    "expire" => {
                        hiring.clock.advance(Duration::from_secs(16 * 60));
                        json!({})
                    }
                    other => panic!("unknown step {other}"),
                };
                sc.reply(answer).await;
            }
            Said::Report { ok, report } => break sc.check(ok, report),
        }
    };
    let text = |k: &str| report[k].as_str().unwrap_or_default().to_string();
    assert!(text("malformed").contains("Enter the 6 digits"), "{report}");
    assert!(text("wrong").contains("not right"), "{report}");
    let usable = &report["afterWrong"];
    assert_eq!(usable["enabled"], true, "{usable}");
    assert_eq!(usable["focused"], true, "{usable}");
    assert_eq!(usable["invalid"], "true", "{usable}");
    assert_eq!(usable["alertRole"], "alert", "{usable}");
    assert!(text("expired").contains("expired"), "{report}");
    let attempts = report["attempts"].as_array().expect("attempts");
    assert!(
        attempts
            .iter()
            .all(|a| a.as_str().unwrap_or("").contains("not right")),
        "{attempts:?}"
    );
    assert!(
        text("lockedEvenWithTheRightCode").contains("locked"),
        "{report}"
    );
    // An unknown link is answered like a wrong code: nothing about other applications.
    assert_eq!(text("unknownApplication"), text("wrong"), "{report}");
    assert_eq!(
        report["peerConnectionsBeforeARightCode"], 0,
        "no WebRTC before a right code"
    );
    assert!(
        text("micDenied").contains("blocked the microphone"),
        "{report}"
    );
    assert_eq!(report["joinDisabledWhenDenied"], true);
    assert!(
        text("noMicrophone").contains("No microphone was found"),
        "{report}"
    );
    assert!(
        report["pageErrors"]
            .as_array()
            .is_some_and(|e| e.is_empty()),
        "{report}"
    );
    sc.passed();
    hiring.shutdown().await;
}

fn candidate(name: &str) -> NewApplication {
    NewApplication {
        candidate_name: name.into(),
        job_title: "Support Engineer".into(),
        questions: vec![
            "How do you explain a technical problem to a customer?".into(),
            "Tell me about a hard ticket you solved.".into(),
            "What do you do when you do not know the answer?".into(),
        ],
        language: "en".into(),
        max_duration_seconds: Some(600),
        ..NewApplication::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_controls_and_endings_and_join_latency() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = TempDir::new("browser-call");
    let mut hiring = Hiring::start(None).await;
    let stt = Arc::new(FakeStt::new().with_default_reply("I would check the logs first."));
    // TTS at about 20 characters a second: like speech.
    let runner = hiring.fake_interviewer(
        stt.clone(),
        50,
        Duration::from_secs(60),
        &dir.0.join("spool"),
    );
    hiring.start_worker_with(Arc::new(runner)).await;
    // A microphone that talks all the time: real speech (Chromium's noise suppression eats a
    // synthetic voice), repeated.
    let speech = common::local_ai::cached_speech_wav(
        "I have five years of experience with Rust and distributed systems.",
    )
    .await;
    let mic = dir.0.join("voice.wav");
    looped_speech_wav(&speech, 5, &mic);

    let joins = 5;
    let mut sc = Scenario::start(
        "candidate_call.mjs",
        "candidate-call",
        json!({ "micWav": mic, "joins": joins }),
    );
    let mut current_room = String::new();
    let report = loop {
        match sc.next(Duration::from_secs(120)).await {
            Said::Step(step, _) => {
                let answer = match step.as_str() {
                    "invite" => {
                        let inv = hiring.invite(candidate("Riley Calls")).await;
                        hiring.wait_for_agent(&inv.room).await;
                        current_room = inv.room.clone();
                        json!({ "link": inv.link, "code": inv.password })
                    }
                    "stt-calls" => json!({ "count": stt.calls().len() }),
                    "close-room" => {
                        hiring.delete_room(&current_room).await;
                        json!({})
                    }
                    "stop-agent" => {
                        hiring.stop_worker().await;
                        json!({})
                    }
                    other => panic!("unknown step {other}"),
                };
                sc.reply(answer).await;
            }
            Said::Report { ok, report } => break sc.check(ok, report),
        }
    };

    let latencies: Vec<f64> = report["joinToGreetingMs"]
        .as_array()
        .expect("latencies")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert_eq!(latencies.len(), joins);
    let (p50, max) = p50_max(&latencies);
    eprintln!("join click -> first greeting audio, fake TTS, {joins} joins: p50 {p50} ms, max {max} ms ({latencies:?}); timeline {}", report["joinTimeline"]);

    // The greeting's caption grew word by word over its audio, not all at once.
    let captions = report["captions"].as_array().expect("captions");
    let greeting: Vec<(f64, u64, bool)> = captions
        .iter()
        .filter(|c| c[1] == "interviewer" && c[4] == captions[0][4])
        .map(|c| {
            (
                c[0].as_f64().unwrap_or(0.0),
                c[2].as_u64().unwrap_or(0),
                c[3] == true,
            )
        })
        .collect();
    let interim: Vec<&(f64, u64, bool)> = greeting.iter().filter(|c| !c.2).collect();
    let words: Vec<u64> = interim.iter().map(|c| c.1).collect();
    assert!(
        words.windows(2).all(|w| w[0] <= w[1]),
        "words only grow: {words:?}"
    );
    let distinct = {
        let mut d = words.clone();
        d.dedup();
        d.len()
    };
    assert!(distinct >= 10, "word by word, not at once: {words:?}");
    let spread =
        interim.last().map(|c| c.0).unwrap_or(0.0) - interim.first().map(|c| c.0).unwrap_or(0.0);
    let audio_ms = report["greetingSamples"]
        .as_array()
        .expect("samples")
        .iter()
        .filter(|s| s[4] == true)
        .count() as f64
        * 40.0;
    assert!(
        spread >= audio_ms * 0.5,
        "captions spread over {spread} ms of {audio_ms} ms of speech"
    );
    assert!(greeting.last().is_some_and(|c| c.2), "the line ends final");

    assert_eq!(report["confirmShown"], true);
    assert!(report["endedByCandidate"]
        .as_str()
        .unwrap_or("")
        .contains("You ended"));
    let m = &report["mute"];
    assert_eq!(m["afterMuted"], m["start"], "no turn while muted: {m}");
    assert!(
        m["afterUnmuted"].as_u64().unwrap_or(0) > m["start"].as_u64().unwrap_or(0),
        "turns while unmuted: {m}"
    );
    assert_eq!(
        m["afterMutedAgain"], m["beforeMutedAgain"],
        "none once muted again: {m}"
    );
    assert_eq!(report["unmutedLabel"], "Mute microphone|false");
    assert!(
        report["roomClosed"]
            .as_str()
            .unwrap_or("")
            .contains("room was closed"),
        "{report}"
    );
    assert!(
        report["agentLost"]
            .as_str()
            .unwrap_or("")
            .contains("left the call unexpectedly"),
        "{report}"
    );
    assert_eq!(report["rejoinOffered"], true);
    assert!(
        report["pageErrors"]
            .as_array()
            .is_some_and(|e| e.is_empty()),
        "{}",
        report["pageErrors"]
    );
    sc.passed();
    hiring.shutdown().await;
}
