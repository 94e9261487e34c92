//! The console's credentials over real HTTP: every operator route and GraphQL field answers
//! 401 without a credential (and says nothing about applications), the candidate's routes and
//! `getRoomToken` stay open; signing in (wrong password, rate limit, cookie flags, sign-out);
//! invitations sent again; the recording upload (credential, validation, idempotency).

mod common;

use common::*;
use hiring_backend::{start, BackendOptions, NewApplication};
use serde_json::{json, Value};

const PASSWORD: &str = "console-pass-123";

async fn backend() -> hiring_backend::RunningBackend {
    start(BackendOptions {
        operator_password: Some(PASSWORD.into()),
        bcrypt_cost: 4,
        ..common::options()
    })
    .await
    .unwrap()
}

/// Every operator GraphQL operation, with variables that would work for an operator.
fn operator_operations(app: &str) -> Vec<(&'static str, Value)> {
    let id = json!({ "id": app });
    vec![
        (
            "query($id: ID!) { application(id: $id) { id } }",
            id.clone(),
        ),
        (
            "query($id: ID!) { interviewResults(applicationId: $id) { resultId } }",
            id.clone(),
        ),
        ("query { webhookEvents { event } }", json!({})),
        ("query { applications { id candidateName } }", json!({})),
        (
            "query($id: ID!) { recordings(applicationId: $id) { url } }",
            id.clone(),
        ),
        (
            "mutation { createApplication(input: {candidateName: \"X\", jobTitle: \"Y\"}) { id } }",
            json!({}),
        ),
        (
            "mutation($id: ID!) { createInterviewRoom(applicationId: $id) { roomName } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { resendInvitation(applicationId: $id) { link } }",
            id.clone(),
        ),
        (
            "mutation($id: ID!) { observerToken(applicationId: $id) { token } }",
            id,
        ),
        (
            SAVE_RESULT_MUTATION,
            json!({ "input": result_input(app, "k-unauth", false) }),
        ),
    ]
}

#[tokio::test]
async fn without_a_credential_every_operator_route_and_field_is_401_and_says_nothing() {
    let b = backend().await;
    let app = b.store().create_application(demo_application()).unwrap();
    let c = client();
    for (query, vars) in operator_operations(&app) {
        for token in [None, Some("wrong-token")] {
            let (status, body) = post_gql(&c, &b.graphql_url(), token, query, vars.clone()).await;
            assert_eq!(status, 401, "{query} with {token:?}: {body}");
            assert_eq!(body["data"], Value::Null, "{body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
            let text = body.to_string();
            assert!(
                !text.contains(&app) && !text.contains("Alex"),
                "nothing leaked: {text}"
            );
        }
    }
    // A query mixing an open and an operator field is refused as a whole.
    let (status, body) = post_gql(
        &c,
        &b.graphql_url(),
        None,
        "mutation($id: ID!) { getRoomToken(applicationId: $id, password: \"000000\") { token } createInterviewRoom(applicationId: $id) { roomName } }",
        json!({ "id": app }),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    // getRoomToken itself is the candidate's: no credential needed (here: no room yet).
    let (status, body) = post_gql(
        &c,
        &b.graphql_url(),
        None,
        "mutation($id: ID!) { getRoomToken(applicationId: $id, password: \"123456\") { token } }",
        json!({ "id": app }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "NO_ROOM");

    // Console pages: 401 with the sign-in page, never the page asked for.
    for path in ["/console", &format!("/console/applications/{app}")] {
        let res = c.get(format!("{}{path}", b.url())).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "{path}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("Operator password"),
            "{path}: the sign-in page"
        );
        assert!(!html.contains("New application"), "{path}");
    }
    let res = c
        .get(format!("{}/console/recordings/iv-x", b.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = c
        .put(format!("{}/api/recordings/iv-x", b.url()))
        .header("x-application-id", &app)
        .header("x-room", "r")
        .body(b"OggS".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // The candidate's page and the sign-in page are open.
    for path in [format!("/interview/{app}"), "/console/login".to_string()] {
        let res = c.get(format!("{}{path}", b.url())).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
    }
    b.shutdown().await;
}

fn cookie_of(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test]
async fn signing_in_gives_an_http_only_session_that_opens_the_console_until_signed_out() {
    let b = backend().await;
    let c = client();
    let login = |pw: &str| {
        c.post(format!("{}/console/login", b.url()))
            .json(&json!({ "password": pw }))
            .send()
    };
    let res = login("nope").await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert!(cookie_of(&res).is_none());
    let res = login(PASSWORD).await.unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let set = cookie_of(&res).expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains(PASSWORD), "{set}");
    let session = set.split(';').next().unwrap().to_string();

    let page = c
        .get(format!("{}/console", b.url()))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("New application"));
    let res = c
        .post(b.graphql_url())
        .header("cookie", &session)
        .json(&json!({ "query": "{ applications { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    let out = c
        .post(format!("{}/console/logout", b.url()))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert!(cookie_of(&out).is_some_and(|c| c.contains("Max-Age=0")));
    let page = c
        .get(format!("{}/console", b.url()))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 401, "the session ended");

    // Five wrong passwords in a minute: even the right one waits.
    for _ in 0..4 {
        login("wrong").await.unwrap();
    }
    assert_eq!(login(PASSWORD).await.unwrap().status().as_u16(), 429);
    b.shutdown().await;
}

#[tokio::test]
async fn creating_with_field_messages_and_listing_states() {
    let b = backend().await;
    let body = gql(
        &b,
        "mutation { createApplication(input: {candidateName: \" \", jobTitle: \"\", candidateEmail: \"nope\", maxDurationSeconds: 30}) { id } }",
        json!({}),
    )
    .await;
    let fields: Vec<String> = body["errors"][0]["extensions"]["fields"]
        .as_array()
        .expect("field messages")
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "candidateName",
            "jobTitle",
            "candidateEmail",
            "maxDurationSeconds"
        ]
    );

    let id = b
        .store()
        .create_application(NewApplication {
            record_audio: true,
            ..demo_application()
        })
        .unwrap();
    assert!(b.store().record_audio(&id).unwrap());
    let list = gql_ok(&b, "{ applications { id state } }", json!({})).await;
    assert_eq!(list["applications"][0]["state"], "NOT_INVITED");
    b.shutdown().await;
}

#[tokio::test]
async fn recordings_are_stored_once_per_key_and_a_final_one_replaces_a_partial_one() {
    let b = backend().await;
    let app = b.store().create_application(demo_application()).unwrap();
    let c = client();
    let ogg = |n: usize| {
        let mut v = b"OggS".to_vec();
        v.resize(n, 7);
        v
    };
    let put = |body: Vec<u8>, partial: bool, app: &str| {
        c.put(format!("{}/api/recordings/iv-{app}-abc", b.url()))
            .bearer_auth(TOKEN)
            .header("x-application-id", app)
            .header("x-room", format!("interview-{app}-1"))
            .header("x-partial", if partial { "true" } else { "false" })
            .header("x-duration-ms", "61000")
            .body(body)
            .send()
    };
    assert_eq!(
        put(ogg(5000), true, &app).await.unwrap().status().as_u16(),
        201
    );
    assert_eq!(
        put(ogg(5000), true, &app).await.unwrap().status().as_u16(),
        200,
        "replay"
    );
    assert_eq!(
        put(ogg(9000), false, &app).await.unwrap().status().as_u16(),
        201,
        "final"
    );
    assert_eq!(
        put(ogg(9500), true, &app).await.unwrap().status().as_u16(),
        200,
        "a partial never replaces a final"
    );
    assert_eq!(
        put(b"RIFF....".to_vec(), false, &app)
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    assert_eq!(
        put(ogg(100), false, "app-unknown")
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    let rec = gql_ok(
        &b,
        "query($id: ID!) { recordings(applicationId: $id) { url bytes partial durationSeconds } }",
        json!({ "id": app }),
    )
    .await;
    let r = &rec["recordings"][0];
    assert_eq!(
        (r["bytes"].as_i64(), r["partial"].as_bool()),
        (Some(9000), Some(false))
    );
    assert_eq!(r["durationSeconds"], 61.0);
    let file = c
        .get(format!("{}{}", b.url(), r["url"].as_str().unwrap()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status().as_u16(), 200);
    assert_eq!(file.headers()["content-type"], "audio/ogg");
    assert_eq!(file.bytes().await.unwrap().len(), 9000);
    b.shutdown().await;
}
