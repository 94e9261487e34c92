//! The agent's API over real HTTP: `application`, `saveInterviewResult` (idempotency, partial
//! then final, validation), `createApplication`, `interviewResults`, bearer auth, and a
//! restart on the same database file and port.

mod common;

use common::*;
use hiring_backend::{start, BackendOptions};
use serde_json::json;

#[tokio::test]
async fn application_found_and_unknown() {
    let backend = start(common::options()).await.unwrap();
    let id = backend
        .store()
        .create_application(demo_application())
        .unwrap();
    assert!(id.starts_with("app-") && id.len() == 12, "{id}");
    assert!(id[4..]
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));

    let data = gql_ok(&backend, APPLICATION_QUERY, json!({ "id": id })).await;
    assert_eq!(
        data["application"],
        json!({
            "id": id,
            "candidate": { "name": "Alex Morgan", "email": "alex@example.com", "phone": "+15550100" },
            "job": {
                "title": "Backend Engineer",
                "description": "Rust services.",
                "questions": ["What is idempotency?", "Why SQLite?"],
                "language": "en"
            },
            "settings": { "voiceGender": "FEMALE", "maxDurationSeconds": 900, "recordAudio": null }
        })
    );

    let data = gql_ok(&backend, APPLICATION_QUERY, json!({ "id": "app-nothere" })).await;
    assert!(data["application"].is_null());
    backend.shutdown().await;
}

#[tokio::test]
async fn create_application_over_graphql() {
    let backend = start(common::options()).await.unwrap();
    let data = gql_ok(
        &backend,
        "mutation($input: CreateApplicationInput!) { createApplication(input: $input) {
            id candidate { name email phone } job { title description questions language }
            settings { voiceGender maxDurationSeconds } } }",
        json!({ "input": { "candidateName": "Sam Lee", "jobTitle": "SRE" } }),
    )
    .await;
    let app = &data["createApplication"];
    let id = app["id"].as_str().unwrap();
    assert!(id.starts_with("app-"));
    assert_eq!(
        app["candidate"],
        json!({ "name": "Sam Lee", "email": null, "phone": null })
    );
    assert_eq!(
        app["job"],
        json!({ "title": "SRE", "description": null, "questions": [], "language": null })
    );
    assert!(app["settings"].is_null());
    assert!(backend.store().application(id).unwrap().is_some());

    let (msg, code) = gql_err(
        &backend,
        "mutation { createApplication(input: { candidateName: \" \", jobTitle: \"SRE\",
            maxDurationSeconds: 60 }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        msg.contains("candidateName") && msg.contains("maxDurationSeconds"),
        "{msg}"
    );
    backend.shutdown().await;
}

#[tokio::test]
async fn save_is_idempotent_and_final_replaces_partial() {
    let backend = start(common::options()).await.unwrap();
    let store = backend.store();
    let id = store.create_application(demo_application()).unwrap();

    // New key: stored.
    let first = gql_ok(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k1", false) }),
    )
    .await;
    assert_eq!(first["saveInterviewResult"]["duplicate"], json!(false));
    let result_id = first["saveInterviewResult"]["resultId"].clone();
    assert!(result_id.as_str().unwrap().starts_with("res-"));

    // Same key again: duplicate, same result, nothing new stored.
    let again = gql_ok(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k1", false) }),
    )
    .await;
    assert_eq!(
        again["saveInterviewResult"],
        json!({ "resultId": result_id, "duplicate": true })
    );
    let stored = store.results_for(&id).unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].partial);
    assert_eq!(stored[0].idempotency_key, "k1");
    assert_eq!(stored[0].result, result_input(&id, "k1", false));

    // Partial, then partial again (duplicate), then final with the same key (replaces).
    let partial = gql_ok(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k2", true) }),
    )
    .await;
    assert_eq!(partial["saveInterviewResult"]["duplicate"], json!(false));
    let partial_again = gql_ok(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k2", true) }),
    )
    .await;
    assert_eq!(
        partial_again["saveInterviewResult"]["duplicate"],
        json!(true)
    );
    assert!(store.results_for(&id).unwrap()[1].partial);
    let fin = gql_ok(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k2", false) }),
    )
    .await;
    assert_eq!(
        fin["saveInterviewResult"],
        json!({ "resultId": partial["saveInterviewResult"]["resultId"], "duplicate": false })
    );
    // A partial after the final one: duplicate, the final result stays.
    let late_partial = gql_ok(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k2", true) }),
    )
    .await;
    assert_eq!(
        late_partial["saveInterviewResult"]["duplicate"],
        json!(true)
    );

    let stored = store.results_for(&id).unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].idempotency_key, "k2");
    assert!(!stored[1].partial);
    assert_eq!(stored[1].result["summary"], json!("Solid answers."));
    assert_eq!(
        stored[1].result["transcript"][0]["speaker"],
        json!("INTERVIEWER")
    );
    assert_eq!(store.save_attempts(), 6);

    // Read back over GraphQL.
    let data = gql_ok(
        &backend,
        "query($id: ID!) { interviewResults(applicationId: $id) {
            resultId idempotencyKey partial savedAt resultJson averageScore recommendation summary } }",
        json!({ "id": id }),
    )
    .await;
    let rows = data["interviewResults"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["idempotencyKey"], json!("k2"));
    assert_eq!(rows[1]["partial"], json!(false));
    assert_eq!(rows[1]["averageScore"], json!(7.5));
    assert_eq!(rows[1]["recommendation"], json!("YES"));
    assert_eq!(rows[1]["summary"], json!("Solid answers."));
    assert!(rows[1]["savedAt"].as_str().unwrap().ends_with('Z'));
    let parsed: serde_json::Value =
        serde_json::from_str(rows[0]["resultJson"].as_str().unwrap()).unwrap();
    assert_eq!(parsed, result_input(&id, "k1", false));
    backend.shutdown().await;
}

#[tokio::test]
async fn save_validation_errors() {
    let backend = start(common::options()).await.unwrap();
    let id = backend
        .store()
        .create_application(demo_application())
        .unwrap();

    let mut bad_score = result_input(&id, "k-score", false);
    bad_score["questions"][0]["score"] = json!(11);
    let (msg, code) = gql_err(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": bad_score }),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("questions[0].score"), "{msg}");

    let mut zero_score = result_input(&id, "k-zero", false);
    zero_score["questions"][0]["score"] = json!(0);
    let (msg, _) = gql_err(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": zero_score }),
    )
    .await;
    assert!(msg.contains("score"), "{msg}");

    let mut bad_confidence = result_input(&id, "k-conf", false);
    bad_confidence["questions"][0]["confidence"] = json!(1.5);
    let (msg, code) = gql_err(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": bad_confidence }),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("confidence"), "{msg}");

    let (msg, code) = gql_err(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "  ", false) }),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("idempotencyKey"), "{msg}");

    let (msg, code) = gql_err(
        &backend,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input("app-unknown1", "k-unknown", false) }),
    )
    .await;
    assert_eq!(code, "UNKNOWN_APPLICATION");
    assert!(msg.contains("unknown application"), "{msg}");

    // Null score and confidence are fine.
    let mut unscored = result_input(&id, "k-null", false);
    unscored["questions"][0]["score"] = json!(null);
    unscored["questions"][0]["confidence"] = json!(null);
    unscored["questions"][0]["scoringError"] = json!("timeout");
    unscored["averageScore"] = json!(null);
    let data = gql_ok(&backend, SAVE_RESULT_MUTATION, json!({ "input": unscored })).await;
    assert_eq!(data["saveInterviewResult"]["duplicate"], json!(false));

    // Nothing invalid was stored; every call counted.
    assert_eq!(backend.store().results_for(&id).unwrap().len(), 1);
    assert_eq!(backend.store().save_attempts(), 6);
    backend.shutdown().await;
}

#[tokio::test]
async fn bearer_token_required_when_configured() {
    let backend = start(BackendOptions {
        api_token: Some("s3cret-token".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let id = backend
        .store()
        .create_application(demo_application())
        .unwrap();
    let c = client();
    let url = backend.graphql_url();
    let vars = json!({ "id": id });

    for token in [None, Some("wrong"), Some("s3cret-tokenX"), Some("")] {
        let (status, body) = post_gql(&c, &url, token, APPLICATION_QUERY, vars.clone()).await;
        assert_eq!(status, 401, "token {token:?}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            json!("UNAUTHENTICATED")
        );
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("token"));
    }
    // A non-Bearer scheme is refused too.
    let res = c
        .post(&url)
        .header("authorization", "Basic czNjcmV0LXRva2Vu")
        .json(&json!({ "query": APPLICATION_QUERY, "variables": vars }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    let (status, body) = post_gql(&c, &url, Some("s3cret-token"), APPLICATION_QUERY, vars).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["application"]["id"], json!(id));
    // The health check is open.
    let health = c
        .get(format!("{}/healthz", backend.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    backend.shutdown().await;
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_port() {
    let db = TempDb::new("restart");
    let opts = BackendOptions {
        db_path: Some(db.0.clone()),
        ..common::options()
    };
    let first = start(opts.clone()).await.unwrap();
    let addr = first.addr();
    let id = first
        .store()
        .create_application(demo_application())
        .unwrap();
    gql_ok(
        &first,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k1", true) }),
    )
    .await;
    first.shutdown().await;

    // The port is free again, and the backend is gone.
    let down = client()
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await;
    assert!(down.is_err(), "still answering after shutdown");

    let second = start(BackendOptions { bind: addr, ..opts }).await.unwrap();
    assert_eq!(second.addr(), addr);
    let data = gql_ok(&second, APPLICATION_QUERY, json!({ "id": id })).await;
    assert_eq!(
        data["application"]["candidate"]["name"],
        json!("Alex Morgan")
    );
    let again = gql_ok(
        &second,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k1", true) }),
    )
    .await;
    assert_eq!(again["saveInterviewResult"]["duplicate"], json!(true));
    let fin = gql_ok(
        &second,
        SAVE_RESULT_MUTATION,
        json!({ "input": result_input(&id, "k1", false) }),
    )
    .await;
    assert_eq!(fin["saveInterviewResult"]["duplicate"], json!(false));
    assert_eq!(second.store().save_attempts(), 2);
    let stored = second.store().results_for(&id).unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].partial);
    second.shutdown().await;
}
