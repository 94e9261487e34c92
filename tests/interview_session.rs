//! The interviewer session's own rules in a real room, with FAKE speech providers (named as
//! such: a fake TTS speaking a tone, 10 ms per character, at real-time pace) so the only
//! timing is the session's: the candidate (a Python SDK peer with a live but silent
//! microphone) never answers; the agent must count the silence from the END of its own line
//! (not from when the line was queued), re-prompt twice, then end the interview politely as
//! `silence` and save it. Checked through the result the example backend stored: the gaps
//! between the ends of consecutive interviewer lines are at least the silence timeout (a lower
//! bound, never a speed check).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Env, PyPeer, TempDir};
use hiring_backend::{BackendOptions, NewApplication};
use interview_agent::backend::{BackendClient, BackendOptions as ClientOptions};
use interview_agent::interview::{Spool, VoiceConfig};
use interview_agent::pipeline::PipelineOptions;
use interview_agent::providers::fake::{FakeLlm, FakeStt, FakeTts};
use interview_agent::providers::{ProviderError, Tts, TtsFactory};
use interview_agent::room::RoomOptions;
use interview_agent::session::{InterviewOptions, InterviewRunner, JobSpec, SessionRunner};
use tokio_util::sync::CancellationToken;

/// FAKE: every voice is the same fake TTS.
struct FakeVoices(Arc<FakeTts>);

impl TtsFactory for FakeVoices {
    fn with_voice(&self, _voice: &str) -> Result<Arc<dyn Tts>, ProviderError> {
        Ok(self.0.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_is_counted_from_the_end_of_the_agents_line_then_the_interview_ends_politely() {
    let env = Env::start().await;
    let backend = hiring_backend::start(common::backend_options(BackendOptions::default()))
        .await
        .expect("backend");
    let app = backend
        .store()
        .create_application(NewApplication {
            candidate_name: "Sam Quiet".into(),
            job_title: "Data Analyst".into(),
            questions: vec!["Which dashboard are you proudest of?".into()],
            language: "en".into(),
            max_duration_seconds: Some(600),
            ..NewApplication::default()
        })
        .expect("application");
    let dir = TempDir::new("silence");
    let client = Arc::new(
        BackendClient::new(ClientOptions {
            url: backend.graphql_url(),
            token: Some(interview_agent::config::Secret::new(common::API_TOKEN)),
            ..ClientOptions::default()
        })
        .expect("client"),
    );
    let silence = Duration::from_secs(2);
    let runner = InterviewRunner {
        room_options: RoomOptions::default(),
        pipeline: PipelineOptions::default(),
        stt: Arc::new(FakeStt::new()),
        llm: Arc::new(FakeLlm::new()),
        tts: Arc::new(FakeVoices(Arc::new(
            FakeTts::new()
                .with_ms_per_char(10)
                .with_frame_interval(Duration::from_millis(20)),
        ))),
        applications: client.clone(),
        sink: client,
        spool: Spool::open(&dir.0.join("spool")).expect("spool"),
        voices: VoiceConfig::default(),
        options: InterviewOptions {
            silence_timeout: silence,
            max_reprompts: 2,
            llm_phrasing: false,
            llm_judge: false,
            ..InterviewOptions::default()
        },
    };
    let room = format!("interview-{app}-1");
    let job = JobSpec {
        job_id: "silent".into(),
        room_name: room.clone(),
        url: env.url.clone(),
        token: env.token(&room, "agent"),
        metadata: Default::default(),
        agent_name: "interviewer".into(),
    };
    let session = tokio::spawn(async move { runner.run(job, CancellationToken::new()).await });
    let mic = dir.0.join("silence.wav");
    common::silent_wav(&mic);
    let mic = mic.to_string_lossy().to_string();
    let peer = PyPeer::spawn(
        &env,
        &room,
        "candidate",
        &["--publish-wav", &mic, "--listen-seconds", "60"],
    )
    .await;
    let outcome = tokio::time::timeout(Duration::from_secs(120), session)
        .await
        .expect("the interview ends by itself")
        .expect("no panic");
    assert!(outcome.is_ok(), "{outcome:?}");
    drop(peer);

    let rows = backend.store().results_for(&app).expect("results");
    assert_eq!(rows.len(), 1, "one result");
    let r = &rows[0].result;
    assert_eq!(r["partial"], false);
    assert_eq!(r["endReason"], "silence", "{r}");
    assert_eq!(r["questionsAsked"], 1);
    assert_eq!(r["questionsAnswered"], 0);
    let lines: Vec<(f64, String)> = r["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .filter(|e| e["speaker"] == "INTERVIEWER")
        .map(|e| {
            (
                e["offsetSeconds"].as_f64().unwrap_or(0.0),
                e["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // Greeting + question (one utterance), two re-prompts, the goodbye.
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].1.contains("Sam Quiet") && lines[0].1.contains("dashboard"));
    assert!(lines[1].1.contains("repeat the question"), "{lines:?}");
    assert!(lines[2].1.contains("repeat the question"), "{lines:?}");
    assert!(lines[3].1.contains("I haven't heard from you"), "{lines:?}");
    // Each line is recorded when it has been spoken; the next one may only start after the
    // candidate was silent for `silence` from that moment.
    for pair in lines.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= silence.as_secs_f64(),
            "{gap:.2} s between the end of {:?} and the end of {:?}",
            pair[0].1,
            pair[1].1
        );
    }
    // ... and it shows on /metrics.
    let m = interview_agent::telemetry::interview_metrics();
    let text = m.render();
    assert!(
        text.contains("interview_agent_interviews_finished_total 1\n")
            && text.contains("interview_agent_results_delivered_total 1\n"),
        "{text}"
    );
    backend.shutdown().await;
}
