//! The agent's GraphQL client (`interview_agent::backend`) against the example hiring backend
//! (`examples/hiring_backend`) over real HTTP: fetching applications, the bearer token,
//! saving results idempotently, and a result that survives a backend outage in the spool.
//! Transport failures a real backend cannot produce on demand (a 503 then a 200, non-JSON
//! bodies, hanging connections) are unit-tested against an HTTP fake in `src/backend`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hiring_backend::{NewApplication, RunningBackend};
use interview_agent::backend::{BackendClient, BackendError, BackendOptions, SaveOutcome};
use interview_agent::config::Secret;
use interview_agent::interview::{
    deliver_pending, AnswerScore, Application, Candidate, EndReason, InterviewMeta,
    InterviewResult, InterviewSettings, Job, Language, QuestionOutcome, Recommendation, ResultSink,
    SinkError, Speaker, Spool, SpoolRecord, Summary, SummarySource, TranscriptEntry, VoiceGender,
};
use interview_agent::providers::RetryPolicy;

const TOKEN: &str = "t";
/// 2026-11-21T09:30:00.123Z
const STARTED_AT_MS: u64 = 1_795_253_400_123;

/// Backoffs that do not slow the tests down; nothing here waits on the wall clock otherwise.
fn quick_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

async fn start_backend(bind: std::net::SocketAddr, db_path: Option<PathBuf>) -> RunningBackend {
    hiring_backend::start(hiring_backend::BackendOptions {
        api_token: Some(TOKEN.into()),
        bind,
        db_path,
        bcrypt_cost: 4,
        ..Default::default()
    })
    .await
    .expect("start the hiring backend")
}

async fn backend() -> RunningBackend {
    start_backend(([127, 0, 0, 1], 0).into(), None).await
}

fn client_with(url: String, token: Option<&str>) -> BackendClient {
    BackendClient::new(BackendOptions {
        url,
        token: token.map(Secret::new),
        retry: quick_retry(2),
        ..BackendOptions::default()
    })
    .expect("client")
}

fn client(backend: &RunningBackend) -> BackendClient {
    client_with(backend.graphql_url(), Some(TOKEN))
}

fn create_application(backend: &RunningBackend) -> String {
    backend
        .store()
        .create_application(NewApplication {
            candidate_name: "Ana Silva".into(),
            candidate_email: Some("ana@example.com".into()),
            candidate_phone: Some("+49 30 1234".into()),
            job_title: "Rust Engineer".into(),
            job_description: "Build realtime systems.".into(),
            questions: vec!["Why Rust?".into(), "Tell me about async Rust.".into()],
            language: "de-DE".into(),
            voice_gender: Some("female".into()),
            max_duration_seconds: Some(1200),
            record_audio: true,
        })
        .expect("create application")
}

/// A finished (`end_reason` Some) or cut-short (None) interview of `application_id`.
fn interview_result(application_id: &str, end_reason: Option<EndReason>) -> InterviewResult {
    let questions = vec![
        QuestionOutcome {
            index: 0,
            question: "Why Rust?".into(),
            answer: "Ownership makes me sleep well.".into(),
            score: Some(AnswerScore {
                score: 8,
                key_points: vec!["Memory safety".into()],
                improvement_areas: vec!["Concrete numbers".into()],
                confidence: 0.75,
                evidence_quotes: vec!["Ownership makes me sleep well".into()],
                injection_attempt: false,
            }),
            scoring_error: None,
        },
        QuestionOutcome {
            index: 1,
            question: "Tell me about async Rust.".into(),
            answer: "Futures are lazy.".into(),
            score: None,
            scoring_error: Some("malformed score".into()),
        },
    ];
    let summary = Summary {
        summary: "Strong fundamentals.".into(),
        strengths: vec!["Memory safety".into()],
        weaknesses: vec!["Concrete numbers".into()],
        recommendation: Recommendation::StrongYes,
        source: SummarySource::Llm,
    };
    let transcript = vec![
        TranscriptEntry {
            speaker: Speaker::Interviewer,
            text: "Why Rust?".into(),
            offset_ms: 1_000,
        },
        TranscriptEntry {
            speaker: Speaker::Candidate,
            text: "Ownership makes me sleep well.".into(),
            offset_ms: 4_500,
        },
    ];
    InterviewResult::new(
        InterviewMeta {
            application_id: application_id.into(),
            room: format!("interview-{application_id}-1"),
            started_at_unix_ms: STARTED_AT_MS,
            duration: Duration::from_millis(95_250),
            language: Language::parse("de-DE"),
            end_reason,
        },
        2,
        questions,
        summary,
        transcript,
    )
}

/// A directory under the system temp dir, removed when dropped (also when a test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "backend_graphql-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn fetches_an_application_with_every_field_mapped() {
    let backend = backend().await;
    let id = create_application(&backend);
    let app = client(&backend)
        .application(&id)
        .await
        .expect("application");
    assert_eq!(
        app,
        Application {
            id: id.clone(),
            candidate: Candidate {
                name: "Ana Silva".into(),
                email: Some("ana@example.com".into()),
                phone: Some("+49 30 1234".into()),
            },
            job: Job {
                title: "Rust Engineer".into(),
                description: "Build realtime systems.".into(),
                questions: vec!["Why Rust?".into(), "Tell me about async Rust.".into()],
                language: "de-DE".into(),
            },
            settings: InterviewSettings {
                voice_gender: VoiceGender::Female,
                max_duration: Duration::from_secs(1200),
                record_audio: true,
            },
        }
    );
    assert_eq!(app.job.language().code(), "de");

    // Only what is required: every null becomes the interview's default.
    let minimal = backend
        .store()
        .create_application(NewApplication {
            candidate_name: "Bo".into(),
            job_title: "PM".into(),
            ..Default::default()
        })
        .expect("create application");
    let app = client(&backend)
        .application(&minimal)
        .await
        .expect("application");
    assert_eq!(app.candidate.email, None);
    assert_eq!(app.job.description, "");
    assert!(app.job.questions.is_empty());
    assert_eq!(app.job.language().code(), "en");
    assert_eq!(app.settings, InterviewSettings::default());

    // Voice only: the duration is the default.
    let voice_only = backend
        .store()
        .create_application(NewApplication {
            candidate_name: "Cy".into(),
            job_title: "Designer".into(),
            voice_gender: Some("MALE".into()),
            ..Default::default()
        })
        .expect("create application");
    let app = client(&backend)
        .application(&voice_only)
        .await
        .expect("application");
    assert_eq!(app.settings.voice_gender, VoiceGender::Male);
    assert_eq!(
        app.settings.max_duration,
        interview_agent::interview::model::DEFAULT_MAX_DURATION
    );
    backend.shutdown().await;
}

#[tokio::test]
async fn unknown_application_is_not_found() {
    let backend = backend().await;
    let e = client(&backend)
        .application("app-doesnotexist")
        .await
        .unwrap_err();
    assert_eq!(e, BackendError::NotFound("app-doesnotexist".into()));
    assert!(!e.is_retryable());
    backend.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_token_is_unauthorized_and_never_printed() {
    let backend = backend().await;
    let id = create_application(&backend);
    let wrong = "wrong-token-0123456789";
    let e = client_with(backend.graphql_url(), Some(wrong))
        .application(&id)
        .await
        .unwrap_err();
    assert!(
        matches!(e, BackendError::Unauthorized { status: 401, .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    let text = format!("{e} {e:?}");
    assert!(!text.contains(wrong), "{text}");
    assert!(text.contains("token"), "says what to check: {text}");

    let e = client_with(backend.graphql_url(), None)
        .application(&id)
        .await
        .unwrap_err();
    assert!(matches!(e, BackendError::Unauthorized { .. }), "{e:?}");

    let e = client_with(backend.graphql_url(), Some(wrong))
        .save_result(&interview_result(&id, Some(EndReason::Completed)))
        .await
        .unwrap_err();
    assert!(matches!(e, BackendError::Unauthorized { .. }), "{e:?}");
    assert!(backend.store().results_for(&id).unwrap().is_empty());
    backend.shutdown().await;
}

#[tokio::test]
async fn saves_a_result_once_and_a_replay_is_a_duplicate() {
    let backend = backend().await;
    let id = create_application(&backend);
    let client = client(&backend);
    let result = interview_result(&id, Some(EndReason::Completed));

    let first = client.save_result(&result).await.expect("save");
    assert!(!first.duplicate);
    let stored = backend.store().results_for(&id).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].idempotency_key, result.idempotency_key);
    assert!(!stored[0].partial);
    let json = &stored[0].result;
    assert_eq!(json["applicationId"], id.as_str());
    assert_eq!(json["room"], format!("interview-{id}-1"));
    assert_eq!(json["startedAt"], "2026-11-21T09:30:00.123Z");
    assert_eq!(json["durationSeconds"], 95.25);
    assert_eq!(json["endReason"], "completed");
    assert_eq!(json["language"], "de");
    assert_eq!(json["questionsAsked"], 2);
    assert_eq!(json["questionsAnswered"], 2);
    assert_eq!(json["questionsScored"], 1);
    assert_eq!(json["averageScore"], 8.0);
    assert_eq!(json["injectionAttempts"], 0);
    assert_eq!(json["recommendation"], "STRONG_YES");
    assert_eq!(json["summary"], "Strong fundamentals.");
    assert_eq!(json["strengths"][0], "Memory safety");
    assert_eq!(json["questions"][0]["score"], 8);
    assert_eq!(json["questions"][0]["confidence"], 0.75);
    assert_eq!(json["questions"][0]["keyPoints"][0], "Memory safety");
    assert_eq!(json["questions"][1]["score"], serde_json::Value::Null);
    assert_eq!(json["questions"][1]["scoringError"], "malformed score");
    assert_eq!(json["transcript"][1]["speaker"], "CANDIDATE");
    assert_eq!(json["transcript"][1]["offsetSeconds"], 4.5);

    let again = client.save_result(&result).await.expect("save again");
    assert_eq!(
        again,
        SaveOutcome {
            result_id: first.result_id.clone(),
            duplicate: true
        }
    );
    assert_eq!(backend.store().results_for(&id).unwrap().len(), 1);

    // Through the ResultSink: a duplicate is success.
    assert_eq!(ResultSink::save(&client, &result).await, Ok(()));
    assert_eq!(backend.store().results_for(&id).unwrap().len(), 1);
    backend.shutdown().await;
}

#[tokio::test]
async fn a_final_result_replaces_the_partial_one_with_its_key() {
    let backend = backend().await;
    let id = create_application(&backend);
    let client = client(&backend);
    let partial = interview_result(&id, None);
    let done = interview_result(&id, Some(EndReason::TimeBudget));
    assert_eq!(partial.idempotency_key, done.idempotency_key);

    let first = client.save_result(&partial).await.expect("save partial");
    assert!(!first.duplicate);
    let stored = backend.store().results_for(&id).unwrap();
    assert!(stored[0].partial);
    assert_eq!(stored[0].result["endReason"], serde_json::Value::Null);

    let second = client.save_result(&done).await.expect("save final");
    assert_eq!(second.result_id, first.result_id);
    assert!(
        !second.duplicate,
        "the final result replaced the partial one"
    );
    let stored = backend.store().results_for(&id).unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].partial);
    assert_eq!(stored[0].result["endReason"], "time_budget");

    // A late partial replay changes nothing.
    assert!(client.save_result(&partial).await.unwrap().duplicate);
    assert!(!backend.store().results_for(&id).unwrap()[0].partial);
    backend.shutdown().await;
}

#[tokio::test]
async fn saving_for_an_unknown_application_is_a_permanent_graphql_error() {
    let backend = backend().await;
    let client = client(&backend);
    let result = interview_result("app-missing0", Some(EndReason::Completed));
    let before = backend.store().save_attempts();
    let e = client.save_result(&result).await.unwrap_err();
    match &e {
        BackendError::GraphQl {
            operation,
            messages,
            codes,
        } => {
            assert_eq!(*operation, "SaveInterviewResult");
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert!(messages[0].contains("app-missing0"), "{messages:?}");
            assert!(
                messages[0].contains("(at saveInterviewResult)"),
                "{messages:?}"
            );
            assert_eq!(codes, &["UNKNOWN_APPLICATION"]);
        }
        other => panic!("expected GraphQL errors, got {other:?}"),
    }
    assert!(!e.is_retryable());
    assert_eq!(backend.store().save_attempts(), before + 1, "not retried");

    let sink_error = ResultSink::save(&client, &result).await.unwrap_err();
    assert!(
        matches!(sink_error, SinkError::Permanent(ref m) if m.contains("app-missing0")),
        "{sink_error:?}"
    );
    backend.shutdown().await;
}

#[tokio::test]
async fn a_result_survives_a_backend_outage_in_the_spool() {
    let tmp = TempDir::new("outage");
    let db = tmp.path().join("backend.sqlite");
    let backend = start_backend(([127, 0, 0, 1], 0).into(), Some(db.clone())).await;
    let addr = backend.addr();
    let id = create_application(&backend);
    let client = BackendClient::new(BackendOptions {
        url: backend.graphql_url(),
        token: Some(Secret::new(TOKEN)),
        timeout: Duration::from_secs(10),
        retry: quick_retry(2),
        ..BackendOptions::default()
    })
    .expect("client");

    // The interview as the session spools it.
    let spool = Spool::open(&tmp.path().join("spool")).expect("spool");
    let result = interview_result(&id, Some(EndReason::Completed));
    let key = result.idempotency_key.clone();
    let records = [
        SpoolRecord::Started {
            application_id: id.clone(),
            room: result.room.clone(),
            started_at_ms: STARTED_AT_MS,
            language: Language::parse("de"),
            models: None,
        },
        SpoolRecord::Transcript {
            speaker: Speaker::Interviewer,
            text: "Why Rust?".into(),
            at_ms: STARTED_AT_MS + 1_000,
        },
        SpoolRecord::Transcript {
            speaker: Speaker::Candidate,
            text: "Ownership makes me sleep well.".into(),
            at_ms: STARTED_AT_MS + 4_500,
        },
        SpoolRecord::Result {
            result: Box::new(result.clone()),
        },
    ];
    for record in records {
        spool.append_async(&key, record).await.expect("append");
    }

    // The backend goes away: delivery fails (retryable), the result stays pending.
    backend.shutdown().await;
    let policy = quick_retry(2);
    let report = deliver_pending(&spool, &client, &policy)
        .await
        .expect("deliver");
    assert!(report.delivered.is_empty(), "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].key, key);
    assert_eq!(report.failed[0].attempts, 2);
    assert!(report.failed[0].error.is_retryable(), "{report:?}");
    let pending = spool.pending().expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, key);
    assert!(!spool.read(&key).unwrap().is_delivered());

    // Back on the same address with the same database: delivered once, marked delivered.
    let backend = start_backend(addr, Some(db.clone())).await;
    assert!(backend.store().results_for(&id).unwrap().is_empty());
    let report = deliver_pending(&spool, &client, &policy)
        .await
        .expect("deliver");
    assert_eq!(report.delivered, vec![key.clone()], "{report:?}");
    assert!(report.partial.is_empty());
    assert!(report.all_delivered(), "{report:?}");
    assert!(spool.read(&key).unwrap().is_delivered());
    assert!(spool.pending().unwrap().is_empty());

    // Nothing left to deliver; the backend holds exactly one result.
    let report = deliver_pending(&spool, &client, &policy)
        .await
        .expect("deliver");
    assert!(
        report.delivered.is_empty() && report.all_delivered(),
        "{report:?}"
    );
    let stored = backend.store().results_for(&id).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].idempotency_key, key);
    assert!(!stored[0].partial);
    assert_eq!(backend.store().save_attempts(), 1);
    backend.shutdown().await;
}
