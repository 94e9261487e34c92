//! TEST FIXTURE tests, not a product: the livekit-test-server's signalling protocol checked at
//! the protobuf level with a raw WebSocket client (what the agent's own client relies on).

use futures_util::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_test_server::{proto, TestServer, TestServerOptions};
use prost::Message as _;
use proto::signal_request::Message as In;
use proto::signal_response::Message as Out;
use std::collections::HashMap;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn token(identity: &str, room: &str, can_update: bool) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_name(&format!("{identity} name"))
        .with_metadata("meta")
        .with_attributes([("a", "1")])
        .with_grants(VideoGrants {
            room_join: true,
            room: room.into(),
            can_update_own_metadata: Some(can_update),
            ..Default::default()
        })
        .to_jwt()
        .expect("token")
}

async fn connect(server: &TestServer, token: &str) -> Ws {
    let url = format!(
        "{}/rtc?access_token={token}&protocol=16&auto_subscribe=1&sdk=rust",
        server.url()
    );
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connect");
    ws
}

async fn send(ws: &mut Ws, m: In) {
    let bytes = proto::SignalRequest { message: Some(m) }.encode_to_vec();
    ws.send(Message::Binary(bytes.into())).await.expect("send");
}

/// Next response matching `pred`, skipping others (trickles, updates...).
async fn expect(ws: &mut Ws, what: &str, pred: impl Fn(&Out) -> bool) -> Out {
    let fut = async {
        while let Some(msg) = ws.next().await {
            let Ok(Message::Binary(b)) = msg else {
                continue;
            };
            let resp = proto::SignalResponse::decode(b.as_ref()).expect("decode");
            if let Some(m) = resp.message {
                if pred(&m) {
                    return Some(m);
                }
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("connection closed waiting for {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_ping_metadata_and_leave() {
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let mut a = connect(&server, &token("alice", "proto", true)).await;

    let Out::Join(join) = expect(&mut a, "join", |m| matches!(m, Out::Join(_))).await else {
        unreachable!()
    };
    assert!(join.subscriber_primary);
    assert!(join.ping_interval > 0 && join.ping_timeout > 0);
    assert!(join.server_info.is_some());
    assert_eq!(join.room.as_ref().map(|r| r.name.as_str()), Some("proto"));
    let me = join.participant.expect("participant");
    assert_eq!(me.identity, "alice");
    assert_eq!(me.name, "alice name");
    assert_eq!(me.metadata, "meta");
    assert_eq!(me.attributes.get("a").map(String::as_str), Some("1"));
    assert!(me.sid.starts_with("PA_"));
    assert!(join.other_participants.is_empty());

    let Out::Offer(offer) =
        expect(&mut a, "subscriber offer", |m| matches!(m, Out::Offer(_))).await
    else {
        unreachable!()
    };
    assert!(
        offer.sdp.contains("m=application"),
        "offer without data channels:\n{}",
        offer.sdp
    );
    assert!(
        offer.sdp.contains("a=candidate"),
        "offer without candidates:\n{}",
        offer.sdp
    );

    send(&mut a, In::Ping(123)).await;
    expect(&mut a, "pong", |m| matches!(m, Out::Pong(_))).await;
    send(
        &mut a,
        In::PingReq(proto::Ping {
            timestamp: 5,
            rtt: 0,
        }),
    )
    .await;
    let Out::PongResp(p) = expect(&mut a, "pong_resp", |m| matches!(m, Out::PongResp(_))).await
    else {
        unreachable!()
    };
    assert_eq!(p.last_ping_timestamp, 5);

    let attrs: HashMap<String, String> = [
        ("a".to_string(), String::new()),
        ("b".to_string(), "2".to_string()),
    ]
    .into();
    send(
        &mut a,
        In::UpdateMetadata(proto::UpdateParticipantMetadata {
            attributes: attrs,
            request_id: 7,
            ..Default::default()
        }),
    )
    .await;
    let Out::Update(u) = expect(
        &mut a,
        "own update",
        |m| matches!(m, Out::Update(u) if u.participants.iter().any(|p| p.identity == "alice")),
    )
    .await
    else {
        unreachable!()
    };
    let mine = u
        .participants
        .iter()
        .find(|p| p.identity == "alice")
        .expect("alice");
    assert_eq!(
        mine.attributes,
        HashMap::from([("b".to_string(), "2".to_string())])
    );
    assert_eq!(
        mine.metadata, "meta",
        "empty metadata in the request must not clear it"
    );
    let Out::RequestResponse(rr) = expect(&mut a, "request_response", |m| {
        matches!(m, Out::RequestResponse(_))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(rr.request_id, 7);
    assert_eq!(rr.reason, proto::request_response::Reason::Ok as i32);

    // A second participant: alice hears about it joining, then leaving.
    let mut b = connect(&server, &token("bob", "proto", false)).await;
    let Out::Join(bj) = expect(&mut b, "bob join", |m| matches!(m, Out::Join(_))).await else {
        unreachable!()
    };
    assert_eq!(bj.other_participants.len(), 1);
    assert_eq!(
        bj.other_participants[0]
            .attributes
            .get("b")
            .map(String::as_str),
        Some("2")
    );
    expect(
        &mut a,
        "bob joined",
        |m| matches!(m, Out::Update(u) if u.participants.iter().any(|p| p.identity == "bob")),
    )
    .await;

    // bob lacks canUpdateOwnMetadata.
    send(
        &mut b,
        In::UpdateMetadata(proto::UpdateParticipantMetadata {
            name: "x".into(),
            request_id: 9,
            ..Default::default()
        }),
    )
    .await;
    let Out::RequestResponse(rr) =
        expect(&mut b, "denied", |m| matches!(m, Out::RequestResponse(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        rr.reason,
        proto::request_response::Reason::NotAllowed as i32
    );

    send(&mut b, In::Leave(proto::LeaveRequest::default())).await;
    expect(&mut a, "bob left", |m| {
        matches!(m, Out::Update(u) if u.participants.iter().any(|p| p.identity == "bob"
            && p.state == proto::participant_info::State::Disconnected as i32))
    })
    .await;
    assert_eq!(server.participants("proto"), vec!["alice".to_string()]);

    // A duplicate identity kicks the first connection with DUPLICATE_IDENTITY.
    let mut a2 = connect(&server, &token("alice", "proto", true)).await;
    let Out::Leave(l) = expect(&mut a, "kick", |m| matches!(m, Out::Leave(_))).await else {
        unreachable!()
    };
    assert_eq!(l.reason, proto::DisconnectReason::DuplicateIdentity as i32);
    expect(&mut a2, "second alice join", |m| matches!(m, Out::Join(_))).await;
    assert_eq!(server.participants("proto"), vec!["alice".to_string()]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_signal_without_resume_removes_participant() {
    let opts = TestServerOptions {
        departure_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let server = TestServer::start(opts).await.expect("start");
    let mut a = connect(&server, &token("gone", "drop", false)).await;
    expect(&mut a, "join", |m| matches!(m, Out::Join(_))).await;
    let mut w = connect(&server, &token("witness", "drop", false)).await;
    expect(&mut w, "join", |m| matches!(m, Out::Join(_))).await;
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        server.participants("drop").len(),
        2,
        "kept during the departure timeout"
    );
    expect(&mut w, "gone disconnected", |m| {
        matches!(m, Out::Update(u) if u.participants.iter().any(|p| p.identity == "gone"
            && p.state == proto::participant_info::State::Disconnected as i32))
    })
    .await;
    assert_eq!(server.participants("drop"), vec!["witness".to_string()]);

    // A resume attempt for an unknown sid is told to do a full reconnect.
    let url = format!(
        "{}/rtc?access_token={}&reconnect=1&sid=PA_unknown",
        server.url(),
        token("gone", "drop", false)
    );
    let (mut r, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    let Out::Leave(l) = expect(&mut r, "leave", |m| matches!(m, Out::Leave(_))).await else {
        unreachable!()
    };
    assert_eq!(l.action, proto::leave_request::Action::Reconnect as i32);
    server.shutdown().await;
}

/// `join_request` for `/rtc/v1`: base64url of a WrappedJoinRequest, gzip like livekit-signaling.
fn v1_param(jr: &proto::JoinRequest, gzip: bool) -> String {
    use base64::Engine as _;
    use std::io::Write as _;
    let raw = jr.encode_to_vec();
    let (join_request, compression) = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&raw).expect("gzip");
        (
            enc.finish().expect("gzip"),
            proto::wrapped_join_request::Compression::Gzip as i32,
        )
    } else {
        (raw, proto::wrapped_join_request::Compression::None as i32)
    };
    let wrapped = proto::WrappedJoinRequest {
        join_request,
        compression,
    };
    base64::engine::general_purpose::URL_SAFE.encode(wrapped.encode_to_vec())
}

/// HTTP status of a WebSocket upgrade to `path_and_query` (101 when it succeeds).
async fn upgrade_status(server: &TestServer, path_and_query: &str) -> u16 {
    let url = format!("{}{path_and_query}", server.url());
    match tokio_tungstenite::connect_async(url).await {
        Ok((mut ws, resp)) => {
            let _ = ws.close(None).await;
            resp.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected websocket error: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_join_request_errors_join_and_resume() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let good = token("v1", "v1room", false);
    let jr = proto::JoinRequest {
        connection_settings: Some(proto::ConnectionSettings {
            auto_subscribe: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let param = v1_param(&jr, true);

    // Token first (401), then the join request (400), like livekit-server.
    let wrong = AccessToken::with_api_key("devkey", "wrong-secret")
        .with_identity("m")
        .with_grants(VideoGrants {
            room_join: true,
            room: "v1room".into(),
            ..Default::default()
        })
        .to_jwt()
        .expect("token");
    assert_eq!(
        upgrade_status(
            &server,
            &format!("/rtc/v1?join_request={param}&access_token={wrong}")
        )
        .await,
        401
    );
    assert_eq!(
        upgrade_status(&server, &format!("/rtc/v1?join_request={param}")).await,
        401
    );
    for bad in ["AAAA", "%25%25%25", "not*base64", ""] {
        assert_eq!(
            upgrade_status(
                &server,
                &format!("/rtc/v1?join_request={bad}&access_token={good}")
            )
            .await,
            400,
            "join_request={bad:?}"
        );
    }
    assert_eq!(
        upgrade_status(&server, &format!("/rtc/v1?access_token={good}")).await,
        400,
        "missing join_request"
    );
    let not_gzip = {
        use base64::Engine as _;
        let w = proto::WrappedJoinRequest {
            join_request: b"definitely not gzip".to_vec(),
            compression: proto::wrapped_join_request::Compression::Gzip as i32,
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(w.encode_to_vec())
    };
    assert_eq!(
        upgrade_status(
            &server,
            &format!("/rtc/v1?join_request={not_gzip}&access_token={good}")
        )
        .await,
        400
    );
    assert!(server.participants("v1room").is_empty());

    // A plain GET (no upgrade) is 404, as on livekit-server.
    let mut s = TcpStream::connect(server.local_addr()).await.expect("tcp");
    s.write_all(b"GET /rtc/v1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&buf)
    );

    // Join (gzip): single PC, so not subscriber_primary and no server offer.
    let url = format!(
        "{}/rtc/v1?join_request={param}&access_token={good}",
        server.url()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("v1 join");
    let Out::Join(join) = expect(&mut ws, "join", |m| matches!(m, Out::Join(_))).await else {
        unreachable!()
    };
    assert!(!join.subscriber_primary);
    let sid = join.participant.expect("participant").sid;
    assert_eq!(server.is_single_pc("v1room", "v1"), Some(true));

    // Resume on v1 (uncompressed JoinRequest with reconnect + participant_sid).
    drop(ws);
    let resume = proto::JoinRequest {
        reconnect: true,
        participant_sid: sid.clone(),
        ..Default::default()
    };
    let url = format!(
        "{}/rtc/v1?join_request={}&access_token={good}",
        server.url(),
        v1_param(&resume, false)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("v1 resume");
    expect(&mut ws, "reconnect response", |m| {
        matches!(m, Out::Reconnect(_))
    })
    .await;
    assert_eq!(server.participants("v1room"), vec!["v1".to_string()]);
    send(&mut ws, In::Leave(proto::LeaveRequest::default())).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !server.participants("v1room").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "participant not removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await;
}

/// The raw HTTP answer (status line + headers + body) to `request`.
async fn raw_http(server: &TestServer, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(server.local_addr()).await.expect("tcp");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

/// What the browser SDK (livekit-client) relies on beyond the WebSocket: `HEAD /` for
/// reachability, CORS on `/rtc/validate` (fetched cross-origin after a failed connect, where a
/// missing header turns a 401 into "server unreachable"), preflights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_http_reachability_cors_and_validate() {
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let head = raw_http(&server, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let get = raw_http(&server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        get.starts_with("HTTP/1.1 200") && get.ends_with("OK"),
        "{get}"
    );

    let bad = raw_http(
        &server,
        "GET /rtc/v1/validate?access_token=nope HTTP/1.1\r\nHost: x\r\nOrigin: http://page.test\r\n\r\n",
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");
    assert!(bad.contains("Access-Control-Allow-Origin: *"), "{bad}");
    let good = raw_http(
        &server,
        &format!(
            "GET /rtc/validate?access_token={} HTTP/1.1\r\nHost: x\r\nOrigin: http://page.test\r\n\r\n",
            token("v", "validate", false)
        ),
    )
    .await;
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
    assert!(
        good.contains("Access-Control-Allow-Origin: *") && good.ends_with("success"),
        "{good}"
    );

    let pre = raw_http(
        &server,
        "OPTIONS /rtc/v1/validate HTTP/1.1\r\nHost: x\r\nOrigin: http://page.test\r\nAccess-Control-Request-Method: GET\r\n\r\n",
    )
    .await;
    assert!(pre.starts_with("HTTP/1.1 204"), "{pre}");
    assert!(pre.contains("Access-Control-Allow-Origin: *"), "{pre}");
    server.shutdown().await;
}

/// livekit-client fails its connect unless `join` is the first message, uses the others'
/// `client_protocol` to pick data stream formats, and after a resume expects the state it
/// missed (every participant, the room) right after the ReconnectResponse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_comes_first_client_protocol_is_echoed_and_resume_catches_up() {
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let mut a = connect(&server, &token("first", "order", true)).await;
    expect(&mut a, "join", |m| matches!(m, Out::Join(_))).await;
    // A stream of attribute updates from `first` while `second` joins.
    let busy = tokio::spawn(async move {
        for i in 0..40 {
            send(
                &mut a,
                In::UpdateMetadata(proto::UpdateParticipantMetadata {
                    attributes: HashMap::from([("n".to_string(), i.to_string())]),
                    ..Default::default()
                }),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        a
    });
    for i in 0..5 {
        let url = format!(
            "{}/rtc?access_token={}&protocol=16&client_protocol=2&sdk=js",
            server.url(),
            token(&format!("second-{i}"), "order", false)
        );
        let (mut b, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
        let first = loop {
            let Some(Ok(Message::Binary(bytes))) = b.next().await else {
                panic!("closed before any message")
            };
            if let Some(m) = proto::SignalResponse::decode(bytes.as_ref())
                .expect("decode")
                .message
            {
                break m;
            }
        };
        assert!(matches!(first, Out::Join(_)), "first message: {first:?}");
    }
    let mut a = busy.await.expect("updates");
    // `first` learns the joiners' client_protocol.
    expect(&mut a, "client_protocol of a joiner", |m| {
        matches!(m, Out::Update(u) if u.participants.iter().any(|p| p.identity == "second-0" && p.client_protocol == 2))
    })
    .await;
    let Out::Join(join) = expect(
        &mut connect(&server, &token("third", "order", true)).await,
        "join",
        |m| matches!(m, Out::Join(_)),
    )
    .await
    else {
        unreachable!()
    };
    assert!(join
        .other_participants
        .iter()
        .any(|p| p.identity == "second-4" && p.client_protocol == 2));
    let sid = join.participant.expect("me").sid;

    // Resume `third`: ReconnectResponse first, then everyone and the room.
    let url = format!(
        "{}/rtc?access_token={}&reconnect=1&sid={sid}",
        server.url(),
        token("third", "order", true)
    );
    let (mut r, _) = tokio_tungstenite::connect_async(url).await.expect("resume");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let Some(Ok(Message::Binary(bytes))) = r.next().await else {
            panic!("closed during resume: {seen:?}")
        };
        if let Some(m) = proto::SignalResponse::decode(bytes.as_ref())
            .expect("decode")
            .message
        {
            seen.push(m);
        }
    }
    assert!(matches!(seen[0], Out::Reconnect(_)), "{seen:?}");
    assert!(
        matches!(&seen[1], Out::Update(u) if u.participants.iter().any(|p| p.identity == "first") && u.participants.len() >= 7),
        "{seen:?}"
    );
    assert!(matches!(&seen[2], Out::RoomUpdate(_)), "{seen:?}");
    server.shutdown().await;
}
