//! TEST FIXTURE tests, not a product: the agent's signalling crate (livekit-signaling 0.1.8)
//! joins the livekit-test-server on `/rtc` (dual PC) and on `/rtc/v1` (single PC).

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_signaling::{SignalClient, SignalOptions};
use livekit_test_server::{proto, TestServer, TestServerOptions};
use std::time::Duration;

fn token(identity: &str, room: &str) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_grants(VideoGrants {
            room_join: true,
            room: room.into(),
            ..Default::default()
        })
        .to_jwt()
        .expect("token")
}

async fn join(
    server: &TestServer,
    identity: &str,
    single_pc: bool,
) -> (
    SignalClient,
    proto::JoinResponse,
    livekit_signaling::SignalEvents,
) {
    let mut options = SignalOptions::default();
    options.single_peer_connection = single_pc;
    options.region_failover = false;
    tokio::time::timeout(
        Duration::from_secs(20),
        SignalClient::connect(&server.url(), &token(identity, "sig"), options, None),
    )
    .await
    .expect("connect timed out")
    .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn livekit_signaling_joins_on_rtc_and_on_v1() {
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");

    let (client, join_resp, mut events) = join(&server, "dual", false).await;
    assert!(join_resp.subscriber_primary);
    assert_eq!(
        join_resp.participant.as_ref().map(|p| p.identity.as_str()),
        Some("dual")
    );
    assert!(!client.is_single_pc_mode_active());
    // The server's subscriber offer follows the JoinResponse.
    let offer = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(ev) = events.recv().await {
            if let livekit_signaling::SignalEvent::Message(m) = ev {
                if let proto::signal_response::Message::Offer(o) = *m {
                    return Some(o);
                }
            }
        }
        None
    })
    .await
    .expect("offer timed out")
    .expect("offer");
    assert!(offer.sdp.contains("m=application"));

    // single_peer_connection: /rtc/v1 is served (no fallback); the server does not offer.
    let (client2, join2, mut events2) = join(&server, "single", true).await;
    assert!(client2.is_single_pc_mode_active());
    assert!(!join2.subscriber_primary);
    assert_eq!(join2.other_participants.len(), 1);
    assert!(server.is_single_pc("sig", "single").unwrap_or(false));
    let offered = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(ev) = events2.recv().await {
            if let livekit_signaling::SignalEvent::Message(m) = ev {
                if matches!(*m, proto::signal_response::Message::Offer(_)) {
                    return true;
                }
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(!offered, "server offered to a single-PC client");

    // A bad token surfaces as an error, not a hang.
    let mut options = SignalOptions::default();
    options.region_failover = false;
    let bad = SignalClient::connect(&server.url(), "bad.token.here", options, None).await;
    assert!(bad.is_err());

    client.close().await;
    client2.close().await;
    server.shutdown().await;
}
