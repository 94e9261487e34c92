//! Shared test helpers: a GraphQL client over real HTTP, a demo application and a complete
//! `InterviewResultInput`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hiring_backend::{NewApplication, RunningBackend};
use serde_json::{json, Value};

/// The agent's own operations (what its graphql_client sends).
pub const APPLICATION_QUERY: &str = include_str!("../../../../graphql/application.graphql");
pub const SAVE_RESULT_MUTATION: &str = include_str!("../../../../graphql/save_result.graphql");

/// The API token the test backends are started with (see [`options`]).
pub const TOKEN: &str = "test-api-token";

/// Backend options for tests: the API token set (operator fields need it), the rest default.
pub fn options() -> hiring_backend::BackendOptions {
    hiring_backend::BackendOptions {
        api_token: Some(TOKEN.into()),
        ..Default::default()
    }
}

pub fn client() -> reqwest::Client {
    hiring_backend::http_client_builder()
        .expect("TLS config")
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// POSTs a GraphQL request; (HTTP status, JSON body).
pub async fn post_gql(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut req = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("JSON body");
    (status, body)
}

/// A GraphQL request that must succeed at the HTTP level; returns the body
/// (`data` and maybe `errors`).
pub async fn gql(backend: &RunningBackend, query: &str, variables: Value) -> Value {
    let (status, body) = post_gql(
        &client(),
        &backend.graphql_url(),
        Some(TOKEN),
        query,
        variables,
    )
    .await;
    assert_eq!(status, 200, "body: {body}");
    body
}

/// `data` of a request that must not error.
pub async fn gql_ok(backend: &RunningBackend, query: &str, variables: Value) -> Value {
    let body = gql(backend, query, variables).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

/// The first error's (message, extensions.code) of a request that must fail.
pub async fn gql_err(backend: &RunningBackend, query: &str, variables: Value) -> (String, String) {
    let body = gql(backend, query, variables).await;
    let err = &body["errors"][0];
    assert!(err.is_object(), "expected an error: {body}");
    (
        err["message"].as_str().unwrap_or_default().to_string(),
        err["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

pub fn demo_application() -> NewApplication {
    NewApplication {
        candidate_name: "Alex Morgan".into(),
        candidate_email: Some("alex@example.com".into()),
        candidate_phone: Some("+15550100".into()),
        job_title: "Backend Engineer".into(),
        job_description: "Rust services.".into(),
        questions: vec!["What is idempotency?".into(), "Why SQLite?".into()],
        language: "en".into(),
        voice_gender: Some("female".into()),
        max_duration_seconds: Some(900),
        record_audio: false,
    }
}

/// A complete `InterviewResultInput`.
pub fn result_input(application_id: &str, key: &str, partial: bool) -> Value {
    json!({
        "applicationId": application_id,
        "idempotencyKey": key,
        "room": format!("interview-{application_id}-1"),
        "partial": partial,
        "startedAt": "2024-05-01T12:00:00Z",
        "durationSeconds": 612.5,
        "endReason": if partial { Value::Null } else { json!("completed") },
        "language": "en",
        "questionsAsked": 2,
        "questionsAnswered": if partial { 1 } else { 2 },
        "questionsScored": if partial { 1 } else { 2 },
        "averageScore": if partial { 6.0 } else { 7.5 },
        "injectionAttempts": 0,
        "recommendation": if partial { "NO" } else { "YES" },
        "summary": if partial { "Cut short." } else { "Solid answers." },
        "strengths": ["clear"],
        "weaknesses": [],
        "questions": [{
            "index": 0,
            "question": "What is idempotency?",
            "answer": "Doing it twice is like doing it once.",
            "score": 7,
            "keyPoints": ["retries"],
            "improvementAreas": [],
            "confidence": 0.8,
            "evidenceQuotes": ["like doing it once"],
            "scoringError": null
        }],
        "transcript": [
            { "speaker": "INTERVIEWER", "text": "What is idempotency?", "offsetSeconds": 1.0 },
            { "speaker": "CANDIDATE", "text": "Doing it twice is like doing it once.", "offsetSeconds": 3.5 }
        ]
    })
}

/// A fresh path for a database file (removed by [`TempDb`]'s drop).
pub struct TempDb(pub PathBuf);

impl TempDb {
    pub fn new(tag: &str) -> TempDb {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        TempDb(std::env::temp_dir().join(format!(
            "hiring-backend-{tag}-{}-{nanos}.sqlite",
            std::process::id()
        )))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}
