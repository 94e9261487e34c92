//! The hiring team's console in a real browser (Debian's Chromium, puppeteer-core), with a
//! candidate taking the interview in a second browser context, against the example backend,
//! the LiveKit test server and this agent (local AI stack) as the dispatched worker. Also, with
//! FAKE speech providers, a member of the hiring team ending an interview early.
//! Scenario scripts: `examples/hiring_backend/web/tests/console*.mjs`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::browser::{answering_mic, Hiring, Said, Scenario, ONE_AT_A_TIME, OPERATOR_PASSWORD};
use common::local_ai::LocalAi;
use common::{PyPeer, TempDir};
use hiring_backend::NewApplication;
use interview_agent::interview::scoring::normalize_quote;
use interview_agent::providers::fake::FakeStt;
use serde_json::{json, Value};

/// Equal JSON, numbers compared by value (10 and 10.0 are the same score).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_invites_watches_live_and_shows_the_scorecard_with_the_recording() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ai = LocalAi::start().await;
    let dir = TempDir::new("browser-console");
    let mut hiring = Hiring::start(None).await;
    hiring
        .start_local_ai_worker(&ai.url, &dir.0.join("spool"))
        .await;
    let mic = answering_mic(&ai, &dir.0).await;

    let mut sc = Scenario::start(
        "console.mjs",
        "console",
        json!({
            "base": hiring.backend.url(),
            "password": OPERATOR_PASSWORD,
            "micWav": mic,
            "talkMs": 4500,
            "maxSeconds": 240,
        }),
    );
    let report = loop {
        match sc.next(Duration::from_secs(300)).await {
            Said::Step(step, data) => {
                assert_eq!(step, "invited");
                // The console shows exactly what the notifier sent.
                let n = hiring.next_invitation().await;
                assert_eq!(data["link"], n.link.as_str());
                assert_eq!(data["code"], n.password.as_str());
                sc.reply(json!({})).await;
            }
            Said::Report { ok, report } => break sc.check(ok, report),
        }
    };

    // Signing in.
    assert_eq!(report["unauthenticatedStatus"], 401);
    assert!(
        report["wrongPassword"]
            .as_str()
            .unwrap_or("")
            .contains("not right"),
        "{report}"
    );
    // The form's field message.
    assert!(
        report["emailError"]
            .as_str()
            .unwrap_or("")
            .contains("email address"),
        "{report}"
    );
    assert_eq!(report["emailInvalid"], "true");
    assert!(
        report["expiry"].as_str().unwrap_or("").starts_with("in 1"),
        "a 15-minute countdown: {}",
        report["expiry"]
    );
    let app = report["applicationUrl"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("application url")
        .to_string();

    // The candidate's page said someone listens, and that the audio is recorded.
    assert_eq!(report["observerNoticeShown"], true);
    assert_eq!(report["candidateRecordingIndicator"], true);
    assert!(
        report["answers"].as_u64().unwrap_or(0) >= 2,
        "{}",
        report["answers"]
    );
    // The live view: both voices heard, captions of both sides, the interviewer's states, and
    // an evaluation before the interview ended.
    let live = &report["live"];
    assert!(
        live["candidateAudioMs"].as_f64().unwrap_or(0.0) > 1000.0,
        "{live}"
    );
    assert!(
        live["agentAudioMs"].as_f64().unwrap_or(0.0) > 1000.0,
        "{live}"
    );
    let captions = live["captions"].as_array().expect("captions");
    for side in ["you", "interviewer"] {
        assert!(
            captions.iter().any(|c| c[1] == side),
            "{side} captions: {captions:?}"
        );
    }
    let states: Vec<&str> = live["states"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        states.contains(&"speaking") && states.contains(&"listening"),
        "{states:?}"
    );
    let evaluations = live["evaluations"].as_array().expect("evaluations");
    assert!(
        !evaluations.is_empty(),
        "no evaluation reached the live view"
    );
    let ended_at = report["candidateEndedAt"].as_f64().unwrap();
    assert!(
        evaluations[0]["receivedAt"].as_f64().unwrap() < ended_at,
        "the first evaluation arrived before the interview ended"
    );
    assert!(evaluations[0]["question"]
        .as_str()
        .is_some_and(|q| q.contains("Rust")));
    // The candidate never got one.
    let topics = &report["candidateDataTopics"];
    assert!(
        topics.get("interview.evaluation").is_none(),
        "the candidate received evaluations: {topics}"
    );

    // The scorecard shows every stored field.
    let r = hiring.final_result(&app).await;
    let card = report["scorecardText"].as_str().expect("scorecard text");
    let contains = |what: &str| assert!(card.contains(what), "scorecard lacks {what:?}:\n{card}");
    for q in r["questions"].as_array().unwrap() {
        contains(q["question"].as_str().unwrap());
        let answer = q["answer"].as_str().unwrap();
        contains(&answer[..answer.len().min(30)]);
        match q["score"].as_i64() {
            Some(s) => contains(&format!("{s}/10")),
            None => contains(&format!(
                "Not scored: {}",
                q["scoringError"].as_str().unwrap_or("")
            )),
        }
        for k in ["keyPoints", "improvementAreas", "evidenceQuotes"] {
            for item in q[k].as_array().unwrap() {
                contains(item.as_str().unwrap());
            }
        }
    }
    contains(r["summary"].as_str().unwrap());
    for k in ["strengths", "weaknesses"] {
        for item in r[k].as_array().unwrap() {
            contains(item.as_str().unwrap());
        }
    }
    if let Some(avg) = r["averageScore"].as_f64() {
        contains(&format!("{avg:.1} / 10"));
    }
    contains(&format!(
        "{} asked, {} answered, {} scored",
        r["questionsAsked"], r["questionsAnswered"], r["questionsScored"]
    ));
    contains(r["endReason"].as_str().unwrap());
    contains("judge smollm2-135m-instruct");
    contains("not meaningful");
    assert_eq!(
        report["transcriptLines"].as_u64(),
        Some(r["transcript"].as_array().unwrap().len() as u64)
    );
    for t in r["transcript"].as_array().unwrap() {
        contains(t["text"].as_str().unwrap());
    }
    // Every evidence quote is highlighted, matched as the judge's quotes are checked
    // (punctuation and case aside); overlapping quotes share one mark.
    let marks: Vec<String> = report["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| normalize_quote(m.as_str().unwrap()))
        .collect();
    for q in r["questions"].as_array().unwrap() {
        for quote in q["evidenceQuotes"].as_array().unwrap() {
            let quote = normalize_quote(quote.as_str().unwrap());
            assert!(
                marks.iter().any(|m| m.contains(&quote)),
                "evidence quote {quote:?} not highlighted: {marks:?}"
            );
        }
    }
    assert!(
        same_json(&report["exported"], &r),
        "the JSON export is the stored result: {}",
        report["exported"]
    );
    // The recording: as long as the interview (within 2 s), seeking follows the transcript.
    let recorded = report["recordingDuration"].as_f64().unwrap();
    let interview = r["durationSeconds"].as_f64().unwrap();
    assert!(
        (recorded - interview).abs() <= 2.0,
        "recording {recorded} s vs interview {interview} s"
    );
    let recs = hiring.backend.store().recordings(&app).unwrap();
    assert_eq!((recs.len(), recs[0].partial), (1, false));
    let seek = &report["seek"];
    let offset = report["seekOffset"].as_f64().unwrap();
    assert!(
        seek["currentTime"].as_f64().unwrap() >= offset,
        "{seek} from {offset}"
    );
    assert_eq!(seek["ariaCurrent"], "2", "{seek}");
    assert_eq!(report["printHides"], json!(["none", "none", "none"]));
    assert!(
        report["listRow"]
            .as_str()
            .unwrap_or("")
            .contains("completed"),
        "{}",
        report["listRow"]
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hiring_team_ends_an_interview_early_and_it_is_saved_as_terminated() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = TempDir::new("browser-console-end");
    let mut hiring = Hiring::start(None).await;
    let runner = hiring.fake_interviewer(
        Arc::new(FakeStt::new()),
        20,
        Duration::from_secs(120),
        &dir.0.join("spool"),
    );
    hiring.start_worker_with(Arc::new(runner)).await;
    let inv = hiring
        .invite(NewApplication {
            candidate_name: "Eli Early".into(),
            job_title: "Data Engineer".into(),
            questions: vec![
                "Which pipeline are you proudest of?".into(),
                "How do you test it?".into(),
            ],
            language: "en".into(),
            max_duration_seconds: Some(600),
            ..NewApplication::default()
        })
        .await;
    hiring.wait_for_agent(&inv.room).await;
    // The candidate: a Python SDK peer with a live but silent microphone.
    let mic = dir.0.join("silence.wav");
    common::silent_wav(&mic);
    let mic = mic.to_string_lossy().to_string();
    let peer = PyPeer::spawn(
        &hiring.env,
        &inv.room,
        &format!("candidate-{}", inv.application),
        &["--publish-wav", &mic, "--listen-seconds", "30"],
    )
    .await;

    let mut sc = Scenario::start(
        "console_end.mjs",
        "console-end",
        json!({
            "base": hiring.backend.url(),
            "password": OPERATOR_PASSWORD,
            "applicationPath": format!("/console/applications/{}", inv.application),
        }),
    );
    let report = sc.report(Duration::from_secs(180)).await;
    assert_eq!(report["confirmOpen"], true);
    let r = hiring.final_result(&inv.application).await;
    assert_eq!(r["endReason"], "terminated", "{r}");
    assert_eq!(r["partial"], false);
    let last = r["transcript"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["speaker"], "INTERVIEWER");
    assert!(
        last["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("We need to end the interview here."),
        "the polite close: {last}"
    );
    assert!(
        report["scorecard"]
            .as_str()
            .unwrap_or("")
            .contains("terminated"),
        "{}",
        report["scorecard"]
    );
    // The candidate heard the close and never got an evaluation.
    let heard = peer.finish().await;
    let data = heard["data"].as_array().cloned().unwrap_or_default();
    assert!(
        data.iter().all(|d| d["topic"] != "interview.evaluation"),
        "{data:?}"
    );
    sc.passed();
    hiring.shutdown().await;
}
