//! The interview room flow over real HTTP, against the workspace's LiveKit test server:
//! room numbering, LiveKit room + explicit agent dispatch, password delivery, room tokens,
//! wrong / expired passwords, the brute-force limit and its window (a manual clock; nothing
//! sleeps), and password delivery by webhook.

mod common;

use std::time::Duration;

use common::*;
use hiring_backend::{
    start, BackendOptions, LiveKitSettings, ManualClock, Notifier, RoomNotification, RunningBackend,
};
use livekit_api::access_token::TokenVerifier;
use livekit_test_server::{TestServer, TestServerOptions};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const CREATE_ROOM: &str =
    "mutation($id: ID!) { createInterviewRoom(applicationId: $id) { roomName expiresAt } }";
const GET_TOKEN: &str = "mutation($id: ID!, $pw: String!) {
    getRoomToken(applicationId: $id, password: $pw) { roomName token url } }";

struct Fixture {
    livekit: Option<TestServer>,
    backend: RunningBackend,
    passwords: mpsc::UnboundedReceiver<RoomNotification>,
    clock: ManualClock,
    app: String,
}

impl Fixture {
    async fn new(with_livekit: bool, tweak: impl FnOnce(&mut BackendOptions)) -> Fixture {
        let livekit = if with_livekit {
            Some(
                TestServer::start(TestServerOptions::default())
                    .await
                    .unwrap(),
            )
        } else {
            None
        };
        let (notifier, passwords) = Notifier::channel();
        let clock = ManualClock::starting_now();
        let mut opts = BackendOptions {
            livekit: livekit.as_ref().map(|lk| LiveKitSettings {
                url: lk.url(),
                api_key: lk.api_key().into(),
                api_secret: lk.api_secret().into(),
                agent_name: "interview-agent".into(),
            }),
            notifier,
            bcrypt_cost: 4,
            clock: clock.clock(),
            ..common::options()
        };
        tweak(&mut opts);
        let backend = start(opts).await.unwrap();
        let app = backend
            .store()
            .create_application(demo_application())
            .unwrap();
        Fixture {
            livekit,
            backend,
            passwords,
            clock,
            app,
        }
    }

    /// createInterviewRoom; (roomName, the password delivered).
    async fn create_room(&mut self) -> (String, String) {
        let data = gql_ok(&self.backend, CREATE_ROOM, json!({ "id": self.app })).await;
        let room = data["createInterviewRoom"]["roomName"]
            .as_str()
            .unwrap()
            .to_string();
        let n = tokio::time::timeout(Duration::from_secs(10), self.passwords.recv())
            .await
            .expect("a password notification")
            .expect("notifier open");
        assert_eq!(n.room_name, room);
        assert_eq!(n.application_id, self.app);
        assert_eq!(
            n.expires_at,
            data["createInterviewRoom"]["expiresAt"].as_str().unwrap()
        );
        assert_eq!(n.candidate_email.as_deref(), Some("alex@example.com"));
        assert_eq!(n.candidate_phone.as_deref(), Some("+15550100"));
        assert_eq!(n.password.len(), 6);
        assert!(n.password.chars().all(|c| c.is_ascii_digit()));
        (room, n.password)
    }

    async fn token(&self, password: &str) -> Value {
        gql_ok(
            &self.backend,
            GET_TOKEN,
            json!({ "id": self.app, "pw": password }),
        )
        .await["getRoomToken"]
            .clone()
    }

    async fn token_err(&self, password: &str) -> (String, String) {
        gql_err(
            &self.backend,
            GET_TOKEN,
            json!({ "id": self.app, "pw": password }),
        )
        .await
    }

    async fn shutdown(self) {
        self.backend.shutdown().await;
        if let Some(lk) = self.livekit {
            lk.shutdown().await;
        }
    }
}

/// A 6-digit password that is not `pw`.
fn other_than(pw: &str) -> String {
    let n: u32 = pw.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn room_dispatch_and_candidate_token() {
    let mut f = Fixture::new(true, |_| {}).await;
    let (room, password) = f.create_room().await;
    assert_eq!(room, format!("interview-{}-1", f.app));

    // The room exists on LiveKit and the agent was dispatched with the application id.
    let lk = f.livekit.as_ref().unwrap();
    assert!(lk.rooms().contains(&room), "rooms: {:?}", lk.rooms());
    let jobs = lk.jobs();
    assert_eq!(jobs.len(), 1, "one dispatch");
    assert_eq!(jobs[0].room, room);
    assert_eq!(jobs[0].agent_name, "interview-agent");
    let metadata: Value = serde_json::from_str(&jobs[0].metadata).unwrap();
    assert_eq!(metadata, json!({ "applicationId": f.app }));

    // The right password: a token for that room, reusable until expiry.
    let t = f.token(&password).await;
    assert_eq!(t["roomName"], json!(room));
    assert_eq!(t["url"], json!(lk.url()));
    let claims = TokenVerifier::with_api_key(lk.api_key(), lk.api_secret())
        .verify(t["token"].as_str().unwrap())
        .expect("token signed with the LiveKit secret");
    assert_eq!(claims.sub, format!("candidate-{}", f.app));
    assert_eq!(claims.name, "Alex Morgan");
    assert!(claims.video.room_join);
    assert_eq!(claims.video.room, room);
    assert_eq!(claims.attributes.get("applicationId"), Some(&f.app));
    let ttl = claims.exp as i64 - claims.nbf as i64;
    assert!((3590..=3610).contains(&ttl), "ttl {ttl}");
    let again = f.token(&password).await;
    assert_eq!(again["roomName"], json!(room));
    f.shutdown().await;
}

#[tokio::test]
async fn new_room_is_numbered_and_invalidates_the_old_password() {
    let mut f = Fixture::new(true, |_| {}).await;
    let (room1, pw1) = f.create_room().await;
    let (room2, pw2) = f.create_room().await;
    let (room3, pw3) = f.create_room().await;
    assert_eq!(room1, format!("interview-{}-1", f.app));
    assert_eq!(room2, format!("interview-{}-2", f.app));
    assert_eq!(room3, format!("interview-{}-3", f.app));
    assert_eq!(f.livekit.as_ref().unwrap().jobs().len(), 3);
    for old in [&pw1, &pw2] {
        if *old != pw3 {
            let (msg, code) = f.token_err(old).await;
            assert_eq!(msg, "wrong password");
            assert_eq!(code, "WRONG_PASSWORD");
        }
    }
    assert_eq!(f.token(&pw3).await["roomName"], json!(room3));

    // Another application starts its own numbering.
    let other = f
        .backend
        .store()
        .create_application(demo_application())
        .unwrap();
    let data = gql_ok(&f.backend, CREATE_ROOM, json!({ "id": other })).await;
    assert_eq!(
        data["createInterviewRoom"]["roomName"],
        json!(format!("interview-{other}-1"))
    );
    f.shutdown().await;
}

#[tokio::test]
async fn sending_again_keeps_the_room_and_replaces_the_password() {
    let mut f = Fixture::new(true, |_| {}).await;
    let (room, first) = f.create_room().await;
    let data = gql_ok(
        &f.backend,
        "mutation($id: ID!) { resendInvitation(applicationId: $id) { roomName link password expiresAt } }",
        json!({ "id": f.app }),
    )
    .await;
    let inv = &data["resendInvitation"];
    let n = tokio::time::timeout(Duration::from_secs(10), f.passwords.recv())
        .await
        .expect("sent again")
        .expect("notifier open");
    assert_eq!(
        (n.room_name.as_str(), inv["roomName"].as_str()),
        (room.as_str(), Some(room.as_str()))
    );
    assert_eq!(inv["password"].as_str(), Some(n.password.as_str()));
    assert_eq!(inv["link"].as_str(), Some(n.link.as_str()));
    assert!(
        n.link.ends_with(&format!("/interview/{}", f.app)),
        "{}",
        n.link
    );
    assert!(
        n.link.starts_with(&f.backend.url()),
        "{} served by {}",
        n.link,
        f.backend.url()
    );
    if n.password != first {
        let (msg, _) = f.token_err(&first).await;
        assert_eq!(msg, "wrong password");
    }
    assert_eq!(f.token(&n.password).await["roomName"], json!(room));
    // Still one room and one dispatch: the waiting agent stays.
    assert_eq!(f.livekit.as_ref().unwrap().jobs().len(), 1);
    f.shutdown().await;
}

#[tokio::test]
async fn wrong_and_expired_passwords() {
    let mut f = Fixture::new(true, |o| o.password_ttl = Duration::from_secs(15 * 60)).await;
    let (_, password) = f.create_room().await;
    let (msg, code) = f.token_err(&other_than(&password)).await;
    assert_eq!(
        (msg.as_str(), code.as_str()),
        ("wrong password", "WRONG_PASSWORD")
    );
    let (msg, _) = f.token_err("").await;
    assert_eq!(msg, "wrong password");

    // Valid until the TTL is over.
    f.clock.advance(Duration::from_secs(15 * 60 - 1));
    f.token(&password).await;
    f.clock.advance(Duration::from_secs(1));
    let (msg, code) = f.token_err(&password).await;
    assert_eq!(
        (msg.as_str(), code.as_str()),
        ("password expired", "PASSWORD_EXPIRED")
    );

    // A new room brings a new, valid password.
    let (room, fresh) = f.create_room().await;
    assert_eq!(f.token(&fresh).await["roomName"], json!(room));
    f.shutdown().await;
}

#[tokio::test]
async fn brute_force_is_limited_until_the_window_passes() {
    let mut f = Fixture::new(true, |o| {
        o.password_ttl = Duration::from_secs(4 * 3600);
        o.max_password_attempts = 5;
        o.attempt_window = Duration::from_secs(15 * 60);
    })
    .await;
    let (room, password) = f.create_room().await;
    let wrong = other_than(&password);
    for _ in 0..5 {
        assert_eq!(f.token_err(&wrong).await.0, "wrong password");
        f.clock.advance(Duration::from_secs(10));
    }
    // Locked: even the right password is refused, and refused attempts do not extend it.
    for pw in [&password, &wrong, &password] {
        let (msg, code) = f.token_err(pw).await;
        assert_eq!(msg, "too many attempts, try again later");
        assert_eq!(code, "TOO_MANY_ATTEMPTS");
    }
    // Per application: another one is not affected.
    let other = f
        .backend
        .store()
        .create_application(demo_application())
        .unwrap();
    let data = gql_ok(&f.backend, CREATE_ROOM, json!({ "id": other })).await;
    let other_room = data["createInterviewRoom"]["roomName"].clone();
    let other_pw = f.passwords.recv().await.unwrap().password;
    let t = gql_ok(
        &f.backend,
        GET_TOKEN,
        json!({ "id": other, "pw": other_pw }),
    )
    .await;
    assert_eq!(t["getRoomToken"]["roomName"], other_room);

    // Still locked just before the first failure (50 s ago) leaves the 15-minute window...
    f.clock.advance(Duration::from_secs(15 * 60 - 51));
    assert_eq!(f.token_err(&password).await.1, "TOO_MANY_ATTEMPTS");
    // ...then one failure has aged out: one more attempt is allowed.
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(f.token(&password).await["roomName"], json!(room));
    // A success does not count; the window slides on and everything ages out.
    f.clock.advance(Duration::from_secs(15 * 60));
    for _ in 0..4 {
        assert_eq!(f.token_err(&wrong).await.0, "wrong password");
    }
    assert_eq!(f.token(&password).await["roomName"], json!(room));
    f.shutdown().await;
}

#[tokio::test]
async fn errors_without_a_room_or_application_and_without_livekit() {
    let mut f = Fixture::new(false, |_| {}).await;
    let (msg, code) = f.token_err("123456").await;
    assert_eq!(code, "NO_ROOM", "{msg}");
    let (msg, code) = gql_err(&f.backend, CREATE_ROOM, json!({ "id": "app-missing0" })).await;
    assert_eq!(code, "UNKNOWN_APPLICATION");
    assert!(msg.contains("unknown application"), "{msg}");
    let (msg, code) = gql_err(
        &f.backend,
        GET_TOKEN,
        json!({ "id": "app-missing0", "pw": "123456" }),
    )
    .await;
    assert_eq!(code, "UNKNOWN_APPLICATION", "{msg}");

    // Without LiveKit the room is only recorded; the password still works, but there is no
    // key to sign a room token with.
    let (room, password) = f.create_room().await;
    assert_eq!(room, format!("interview-{}-1", f.app));
    assert_eq!(
        f.backend
            .store()
            .latest_room(&f.app)
            .unwrap()
            .unwrap()
            .room_name,
        room
    );
    assert_eq!(
        f.token_err(&other_than(&password)).await.0,
        "wrong password"
    );
    let (msg, code) = f.token_err(&password).await;
    assert_eq!(code, "LIVEKIT_NOT_CONFIGURED", "{msg}");
    f.shutdown().await;
}

#[tokio::test]
async fn webhook_notifier_posts_the_password() {
    use axum::routing::post;
    use axum::{Json, Router};

    // A receiver standing in for the hiring site's mailer.
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let app = Router::new().route(
        "/notify",
        post(move |Json(body): Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/notify", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let backend = start(BackendOptions {
        notifier: Notifier::webhook(hook_url),
        bcrypt_cost: 4,
        ..common::options()
    })
    .await
    .unwrap();
    let id = backend
        .store()
        .create_application(demo_application())
        .unwrap();
    let data = gql_ok(&backend, CREATE_ROOM, json!({ "id": id })).await;
    let body = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body["applicationId"], json!(id));
    assert_eq!(body["roomName"], data["createInterviewRoom"]["roomName"]);
    assert_eq!(body["expiresAt"], data["createInterviewRoom"]["expiresAt"]);
    assert_eq!(body["candidateEmail"], json!("alex@example.com"));
    assert_eq!(body["candidatePhone"], json!("+15550100"));
    let pw = body["password"].as_str().unwrap();
    assert!(pw.len() == 6 && pw.chars().all(|c| c.is_ascii_digit()));
    backend.shutdown().await;
    server.abort();
}
