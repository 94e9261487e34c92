//! `POST /livekit/webhook`: requests signed like livekit-server signs them are recorded (the
//! four tracked events, once per event id) and listed by `webhookEvents`; a tampered body, a
//! wrong secret or a missing header get 401.

mod common;

use base64::Engine;
use common::*;
use hiring_backend::{start, BackendOptions, LiveKitSettings, RunningBackend};
use livekit_api::access_token::AccessToken;
use livekit_protocol as proto;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY: &str = "devkey";
const SECRET: &str = "webhook-secret";

/// The Authorization value livekit-server sends: a JWT (API key as issuer, signed with the
/// secret) whose `sha256` claim is the base64 SHA-256 of the body.
fn sign(body: &str, key: &str, secret: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    AccessToken::with_api_key(key, secret)
        .with_sha256(&b64)
        .to_jwt()
        .unwrap()
}

fn event(id: &str, kind: &str, room: &str) -> proto::WebhookEvent {
    proto::WebhookEvent {
        id: id.into(),
        event: kind.into(),
        room: Some(proto::Room {
            name: room.into(),
            sid: "RM_test".into(),
            ..Default::default()
        }),
        created_at: 1_700_000_000,
        ..Default::default()
    }
}

async fn backend(api_token: Option<&str>) -> RunningBackend {
    start(BackendOptions {
        api_token: Some(api_token.unwrap_or(common::TOKEN).to_string()),
        livekit: Some(LiveKitSettings {
            // Never called here: the webhook receiver only needs the key and secret.
            url: "ws://127.0.0.1:9".into(),
            api_key: KEY.into(),
            api_secret: SECRET.into(),
            agent_name: "interview-agent".into(),
        }),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn post(backend: &RunningBackend, body: &str, auth: Option<&str>) -> u16 {
    let mut req = client()
        .post(format!("{}/livekit/webhook", backend.url()))
        .header("content-type", "application/webhook+json")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn events(backend: &RunningBackend, room: Option<&str>, token: Option<&str>) -> Vec<Value> {
    let (status, body) = post_gql(
        &client(),
        &backend.graphql_url(),
        Some(token.unwrap_or(common::TOKEN)),
        "query($room: String) { webhookEvents(room: $room) {
            event room participantIdentity trackSid createdAt } }",
        json!({ "room": room }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["webhookEvents"].as_array().unwrap().clone()
}

#[tokio::test]
async fn signed_events_are_recorded() {
    let b = backend(None).await;
    let started =
        serde_json::to_string(&event("EV_1", "room_started", "interview-app-1-1")).unwrap();
    assert_eq!(
        post(&b, &started, Some(&sign(&started, KEY, SECRET))).await,
        200
    );

    let mut joined = event("EV_2", "participant_joined", "interview-app-1-1");
    joined.participant = Some(proto::ParticipantInfo {
        identity: "candidate-app-1".into(),
        ..Default::default()
    });
    let joined = serde_json::to_string(&joined).unwrap();
    // A `Bearer ` prefix is accepted too.
    let auth = format!("Bearer {}", sign(&joined, KEY, SECRET));
    assert_eq!(post(&b, &joined, Some(&auth)).await, 200);

    let mut published = event("EV_3", "track_published", "interview-app-1-1");
    published.participant = Some(proto::ParticipantInfo {
        identity: "candidate-app-1".into(),
        ..Default::default()
    });
    published.track = Some(proto::TrackInfo {
        sid: "TR_audio".into(),
        ..Default::default()
    });
    let published = serde_json::to_string(&published).unwrap();
    assert_eq!(
        post(&b, &published, Some(&sign(&published, KEY, SECRET))).await,
        200
    );

    // Another room, and an event that is accepted but not recorded.
    let other =
        serde_json::to_string(&event("EV_4", "room_finished", "interview-app-2-1")).unwrap();
    assert_eq!(
        post(&b, &other, Some(&sign(&other, KEY, SECRET))).await,
        200
    );
    let left =
        serde_json::to_string(&event("EV_5", "participant_left", "interview-app-1-1")).unwrap();
    assert_eq!(post(&b, &left, Some(&sign(&left, KEY, SECRET))).await, 200);
    // A retried delivery (same id) is stored once.
    assert_eq!(
        post(&b, &started, Some(&sign(&started, KEY, SECRET))).await,
        200
    );

    let room1 = events(&b, Some("interview-app-1-1"), None).await;
    assert_eq!(
        room1,
        vec![
            json!({ "event": "room_started", "room": "interview-app-1-1",
                    "participantIdentity": null, "trackSid": null,
                    "createdAt": "2023-11-14T22:13:20.000Z" }),
            json!({ "event": "participant_joined", "room": "interview-app-1-1",
                    "participantIdentity": "candidate-app-1", "trackSid": null,
                    "createdAt": "2023-11-14T22:13:20.000Z" }),
            json!({ "event": "track_published", "room": "interview-app-1-1",
                    "participantIdentity": "candidate-app-1", "trackSid": "TR_audio",
                    "createdAt": "2023-11-14T22:13:20.000Z" }),
        ]
    );
    let all = events(&b, None, None).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[3]["event"], json!("room_finished"));
    assert_eq!(
        b.store()
            .webhook_events(Some("interview-app-2-1"))
            .unwrap()
            .len(),
        1
    );
    b.shutdown().await;
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let b = backend(None).await;
    let body = serde_json::to_string(&event("EV_1", "room_started", "r1")).unwrap();
    let tampered = body.replace("r1", "r2");
    assert_ne!(body, tampered);

    // Signed for another body.
    assert_eq!(
        post(&b, &tampered, Some(&sign(&body, KEY, SECRET))).await,
        401
    );
    // Signed with another secret, or by another key.
    assert_eq!(
        post(&b, &body, Some(&sign(&body, KEY, "not-the-secret"))).await,
        401
    );
    assert_eq!(
        post(&b, &body, Some(&sign(&body, "otherkey", SECRET))).await,
        401
    );
    // No or garbage Authorization.
    assert_eq!(post(&b, &body, None).await, 401);
    assert_eq!(post(&b, &body, Some("not-a-jwt")).await, 401);
    assert!(events(&b, None, None).await.is_empty());

    // Correctly signed, but not a webhook event: 400.
    let junk = "{\"event\": 42}";
    assert_eq!(post(&b, junk, Some(&sign(junk, KEY, SECRET))).await, 400);
    b.shutdown().await;
}

#[tokio::test]
async fn webhook_route_is_not_behind_the_api_token() {
    let b = backend(Some("api-token")).await;
    let body = serde_json::to_string(&event("EV_1", "room_started", "r1")).unwrap();
    assert_eq!(post(&b, &body, Some(&sign(&body, KEY, SECRET))).await, 200);
    assert_eq!(events(&b, None, Some("api-token")).await.len(), 1);
    b.shutdown().await;
}

#[tokio::test]
async fn without_livekit_settings_webhooks_are_unavailable() {
    let b = start(common::options()).await.unwrap();
    let body = serde_json::to_string(&event("EV_1", "room_started", "r1")).unwrap();
    assert_eq!(post(&b, &body, Some(&sign(&body, KEY, SECRET))).await, 503);
    b.shutdown().await;
}
