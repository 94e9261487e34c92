//! TEST FIXTURE tests, not a product: runs the official LiveKit Python SDK (via
//! tests/peers/lk_peer.py) against the in-process livekit-test-server.
//!
//! Python comes from `LK_PYTHON` (default: the workspace's `.venv/bin/python`); a missing
//! interpreter fails the tests loudly rather than skipping them.

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_test_server::{proto, TestServer, TestServerOptions};
use prost::Message;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Python peers are CPU-heavy (libwebrtc, Opus); run one scenario at a time.
static PEERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Server logs for debugging: `RUST_LOG=livekit_test_server=debug cargo test -- --nocapture`.
fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "livekit_test_server=warn".into()),
        )
        .with_test_writer()
        .try_init();
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let p = std::env::var_os("LK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../.venv/bin/python"));
    assert!(
        p.exists(),
        "Python with the `livekit` SDK not found at {} — set LK_PYTHON or create the venv \
         (pip install -r tests/peers/requirements.txt)",
        p.display()
    );
    p
}

fn peer_script() -> PathBuf {
    manifest_dir().join("../peers/lk_peer.py")
}

fn grants(room: &str) -> VideoGrants {
    VideoGrants {
        room_join: true,
        room: room.to_string(),
        can_update_own_metadata: Some(true),
        ..Default::default()
    }
}

fn token_with(key: &str, secret: &str, identity: &str, grants: VideoGrants) -> String {
    AccessToken::with_api_key(key, secret)
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .to_jwt()
        .expect("mint token")
}

fn token(identity: &str, room: &str) -> String {
    token_with("devkey", "secret", identity, grants(room))
}

fn admin_token() -> String {
    token_with(
        "devkey",
        "secret",
        "admin",
        VideoGrants {
            room_create: true,
            room_list: true,
            room_admin: true,
            ..Default::default()
        },
    )
}

struct Peer {
    name: String,
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lts-{}-{name}", std::process::id()))
}

/// Starts a Python peer and waits (generously) for it to print READY.
async fn start_peer(name: &str, url: &str, token: &str, args: &[&str]) -> Peer {
    let out = tmp(&format!("{name}.json"));
    let err = tmp(&format!("{name}.stderr"));
    let _ = std::fs::remove_file(&out);
    let mut child = Command::new(python())
        .arg(peer_script())
        .args(["--url", url, "--token", token, "--out"])
        .arg(&out)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(&err).expect("stderr file"),
        ))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python peer");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim() == "READY" {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    if !ready {
        let _ = child.kill().await;
        panic!(
            "peer {name} never printed READY; stderr:\n{}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Peer {
        name: name.into(),
        child,
        out,
        err,
    }
}

/// Waits for the peer to exit 0 and returns its JSON report.
async fn finish(mut peer: Peer) -> Value {
    let status = tokio::time::timeout(Duration::from_secs(120), peer.child.wait())
        .await
        .unwrap_or_else(|_| panic!("peer {} did not exit", peer.name))
        .expect("wait");
    let stderr = std::fs::read_to_string(&peer.err).unwrap_or_default();
    assert!(
        status.success(),
        "peer {} failed ({status}); stderr:\n{stderr}",
        peer.name
    );
    let text = std::fs::read_to_string(&peer.out)
        .unwrap_or_else(|e| panic!("peer {} wrote no report: {e}; stderr:\n{stderr}", peer.name));
    serde_json::from_str(&text).expect("report JSON")
}

fn audio_from<'a>(report: &'a Value, identity: &str) -> &'a Value {
    report["tracks"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["participant"] == identity && t["kind"] == "audio")
        })
        .unwrap_or_else(|| panic!("no audio track from {identity} in {report:#}"))
}

fn assert_tone(report: &Value, from: &str, hz: f64) {
    let t = audio_from(report, from);
    let got = t["dominant_hz"].as_f64().unwrap_or(-1.0);
    assert!(
        (got - hz).abs() <= 5.0,
        "expected {hz} Hz from {from}, got {got}: {t:#}"
    );
    let loud = t["seconds_above_-40dbfs"].as_f64().unwrap_or(0.0);
    assert!(loud >= 2.0, "tone from {from} audible only {loud} s: {t:#}");
}

async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Minimal HTTP/1.1 client: returns (status, body).
async fn http(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        server.local_addr(),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write body");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body_at = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(buf.len());
    (status, buf[body_at..].to_vec())
}

/// Dual peer connection mode (`/rtc`, what the agent uses): forced with `--dual-pc`, since the
/// SDK defaults to single-PC `/rtc/v1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_python_peers_hear_each_other_and_exchange_text_and_attributes() {
    let _g = PEERS.lock().await;
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let url = server.url();
    let a = start_peer(
        "alice",
        &url,
        &token("alice", "tones"),
        &[
            "--dual-pc",
            "--publish-tone",
            "440",
            "--send-text",
            "test:hello from alice",
            "--listen-seconds",
            "14",
        ],
    )
    .await;
    let b = start_peer(
        "bob",
        &url,
        &token("bob", "tones"),
        &[
            "--dual-pc",
            "--publish-tone",
            "660",
            "--set-attribute",
            "role=candidate",
            "--listen-seconds",
            "9",
        ],
    )
    .await;
    assert_eq!(
        server.participants("tones"),
        vec!["alice".to_string(), "bob".to_string()]
    );
    assert_eq!(server.is_single_pc("tones", "alice"), Some(false));
    assert_eq!(server.is_single_pc("tones", "bob"), Some(false));
    let rb = finish(b).await;
    let ra = finish(a).await;

    assert_tone(&rb, "alice", 440.0);
    assert_tone(&ra, "bob", 660.0);

    let texts = rb["text_streams"].as_array().expect("text_streams");
    assert!(
        texts.iter().any(|t| t["participant"] == "alice"
            && t["topic"] == "test"
            && t["text"] == "hello from alice"),
        "text stream not received by bob: {texts:#?}"
    );
    let bob = &ra["remote_participants"]["bob"];
    assert_eq!(
        bob["attributes"]["role"], "candidate",
        "alice's view of bob: {bob:#}"
    );
    assert!(
        bob["left"].is_number(),
        "alice did not see bob leave: {bob:#}"
    );
    wait_until("room to empty", 10, || {
        server.participants("tones").is_empty()
    })
    .await;
    server.shutdown().await;
}

fn assert_text(report: &Value, from: &str, topic: &str, text: &str) {
    let texts = report["text_streams"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        texts
            .iter()
            .any(|t| t["participant"] == from && t["topic"] == topic && t["text"] == text),
        "text stream {text:?} from {from} not received by {}: {texts:#?}",
        report["identity"]
    );
}

/// Single peer connection mode (`/rtc/v1`, the SDK's default): the client offers with its
/// JoinRequest, the server answers; the later publisher gets its subscription through
/// MediaSectionsRequirement + a client re-offer answered with `mid_to_track_id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_pc_python_peers_hear_each_other_and_exchange_text() {
    let _g = PEERS.lock().await;
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let url = server.url();
    let a = start_peer(
        "v1-alice",
        &url,
        &token("v1-alice", "v1"),
        &[
            "--publish-tone",
            "440",
            "--send-text",
            "test:hello from alice",
            "--listen-seconds",
            "14",
        ],
    )
    .await;
    let b = start_peer(
        "v1-bob",
        &url,
        &token("v1-bob", "v1"),
        &[
            "--publish-tone",
            "660",
            "--send-text",
            "test:hello from bob",
            "--set-attribute",
            "role=candidate",
            "--listen-seconds",
            "9",
        ],
    )
    .await;
    assert_eq!(server.is_single_pc("v1", "v1-alice"), Some(true));
    assert_eq!(server.is_single_pc("v1", "v1-bob"), Some(true));
    let rb = finish(b).await;
    let ra = finish(a).await;
    assert_tone(&rb, "v1-alice", 440.0);
    assert_tone(&ra, "v1-bob", 660.0);
    assert_text(&rb, "v1-alice", "test", "hello from alice");
    assert_text(&ra, "v1-bob", "test", "hello from bob");
    let bob = &ra["remote_participants"]["v1-bob"];
    assert_eq!(bob["attributes"]["role"], "candidate", "{bob:#}");
    assert!(
        bob["left"].is_number(),
        "alice did not see bob leave: {bob:#}"
    );
    wait_until("room to empty", 10, || server.participants("v1").is_empty()).await;
    server.shutdown().await;
}

/// A single-PC (`/rtc/v1`) and a dual-PC (`/rtc`) participant in one room: media and text
/// streams both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_pc_and_dual_pc_peers_interoperate() {
    let _g = PEERS.lock().await;
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let url = server.url();
    let a = start_peer(
        "dual",
        &url,
        &token("dual", "mixed"),
        &[
            "--dual-pc",
            "--publish-tone",
            "440",
            "--send-text",
            "test:from dual",
            "--listen-seconds",
            "14",
        ],
    )
    .await;
    let b = start_peer(
        "single",
        &url,
        &token("single", "mixed"),
        &[
            "--publish-tone",
            "660",
            "--send-text",
            "test:from single",
            "--listen-seconds",
            "9",
        ],
    )
    .await;
    assert_eq!(server.is_single_pc("mixed", "dual"), Some(false));
    assert_eq!(server.is_single_pc("mixed", "single"), Some(true));
    let rb = finish(b).await;
    let ra = finish(a).await;
    assert_tone(&rb, "dual", 440.0);
    assert_tone(&ra, "single", 660.0);
    assert_text(&rb, "dual", "test", "from dual");
    assert_text(&ra, "single", "test", "from single");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_is_stripped_to_opus_for_subscribers_without_red() {
    let _g = PEERS.lock().await;
    let opts = TestServerOptions {
        offer_red_to_subscribers: false,
        ..Default::default()
    };
    init_tracing();
    let server = TestServer::start(opts).await.expect("start");
    let url = server.url();
    let a = start_peer(
        "red-pub",
        &url,
        &token("red-pub", "red"),
        &["--publish-tone", "440", "--listen-seconds", "11"],
    )
    .await;
    // The stripping path needs a subscriber PC without RED: a dual-PC subscriber. (A single
    // PC is the publisher PC, which always registers RED.)
    let b = start_peer(
        "red-sub",
        &url,
        &token("red-sub", "red"),
        &["--dual-pc", "--listen-seconds", "8"],
    )
    .await;
    let rb = finish(b).await;
    finish(a).await;
    let t = audio_from(&rb, "red-pub");
    assert_eq!(
        t["mime_type"], "audio/red",
        "publisher should have negotiated RED: {t:#}"
    );
    assert_tone(&rb, "red-pub", 440.0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_track_is_announced_and_forwarded() {
    let _g = PEERS.lock().await;
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let url = server.url();
    let a = start_peer(
        "cam",
        &url,
        &token("cam", "video"),
        &["--publish-video", "--listen-seconds", "10"],
    )
    .await;
    let b = start_peer(
        "watcher",
        &url,
        &token("watcher", "video"),
        &["--listen-seconds", "7"],
    )
    .await;
    let rb = finish(b).await;
    finish(a).await;
    let v = rb["tracks"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["participant"] == "cam" && t["kind"] == "video")
        })
        .unwrap_or_else(|| panic!("no video track: {rb:#}"));
    assert_eq!(v["mime_type"], "video/VP8");
    assert!(
        v["frames"].as_u64().unwrap_or(0) >= 10,
        "too few video frames: {v:#}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_without_echoing_them() {
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let ws_headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let bogus = "not-a-jwt-SECRETSECRET";
    let (status, body) = http(
        &server,
        "GET",
        &format!("/rtc?access_token={bogus}&protocol=16"),
        &ws_headers,
        b"",
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        !String::from_utf8_lossy(&body).contains(bogus),
        "401 body echoes the token"
    );

    let wrong_secret = token_with("devkey", "not-the-secret", "mallory", grants("r"));
    let (status, body) = http(
        &server,
        "GET",
        &format!("/rtc?access_token={wrong_secret}"),
        &ws_headers,
        b"",
    )
    .await;
    assert_eq!(status, 401);
    assert!(!String::from_utf8_lossy(&body).contains(&wrong_secret));

    let no_join = token_with(
        "devkey",
        "secret",
        "x",
        VideoGrants {
            room: "r".into(),
            ..Default::default()
        },
    );
    let (status, _) = http(
        &server,
        "GET",
        &format!("/rtc?access_token={no_join}"),
        &ws_headers,
        b"",
    )
    .await;
    assert_eq!(status, 401);

    let good = token("ok", "r");
    let (status, body) = http(
        &server,
        "GET",
        "/rtc/validate",
        &[("Authorization", &format!("Bearer {good}"))],
        b"",
    )
    .await;
    assert_eq!((status, body.as_slice()), (200, b"success".as_slice()));
    let (status, _) = http(
        &server,
        "GET",
        &format!("/rtc/validate?access_token={wrong_secret}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = http(
        &server,
        "GET",
        &format!("/rtc/v1?join_request=AAAA&access_token={bogus}"),
        &ws_headers,
        b"",
    )
    .await;
    assert_eq!(status, 401, "/rtc/v1 checks the token first");
    assert!(!String::from_utf8_lossy(&body).contains(bogus));

    // The real client fails cleanly too.
    let _g = PEERS.lock().await;
    let out = tmp("mallory.json");
    let status = Command::new(python())
        .arg(peer_script())
        .args([
            "--url",
            &server.url(),
            "--token",
            &wrong_secret,
            "--connect-timeout",
            "15",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .expect("run peer");
    assert!(!status.success(), "python peer connected with a bad token");
    assert!(server.participants("r").is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_identity_kicks_the_first_participant() {
    let _g = PEERS.lock().await;
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let url = server.url();
    let first = start_peer(
        "dup-1",
        &url,
        &token("dup", "dups"),
        &["--listen-seconds", "10"],
    )
    .await;
    let second = start_peer(
        "dup-2",
        &url,
        &token("dup", "dups"),
        &["--listen-seconds", "3"],
    )
    .await;
    assert_eq!(server.participants("dups"), vec!["dup".to_string()]);
    let r2 = finish(second).await;
    let r1 = finish(first).await;
    assert_eq!(
        r1["disconnect_reason"], "DUPLICATE_IDENTITY",
        "first peer: {r1:#}"
    );
    assert_eq!(r2["identity"], "dup");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_signal_connection_is_resumed() {
    let _g = PEERS.lock().await;
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let url = server.url();
    let a = start_peer(
        "resumer",
        &url,
        &token("resumer", "blip"),
        &["--publish-tone", "550", "--listen-seconds", "18"],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.drop_signal_connections();
    // Longer than departure_timeout: the participant must have come back by itself.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(server.participants("blip"), vec!["resumer".to_string()]);
    // Media both ways still flows for the resumed participant.
    let b = start_peer(
        "after-blip",
        &url,
        &token("after-blip", "blip"),
        &["--publish-tone", "440", "--listen-seconds", "7"],
    )
    .await;
    let rb = finish(b).await;
    let ra = finish(a).await;
    assert_tone(&ra, "after-blip", 440.0);
    assert_tone(&rb, "resumer", 550.0);
    let reconnects = ra["reconnects"].as_array().cloned().unwrap_or_default();
    assert!(
        reconnects.iter().any(|r| r["event"] == "reconnected"),
        "no reconnect seen: {ra:#}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublished_track_is_announced() {
    let _g = PEERS.lock().await;
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let url = server.url();
    let b = start_peer(
        "watcher",
        &url,
        &token("watcher", "unpub"),
        &["--listen-seconds", "12"],
    )
    .await;
    let a = start_peer(
        "quitter",
        &url,
        &token("quitter", "unpub"),
        &[
            "--publish-tone",
            "440",
            "--unpublish-after",
            "4",
            "--listen-seconds",
            "8",
        ],
    )
    .await;
    finish(a).await;
    let rb = finish(b).await;
    let t = audio_from(&rb, "quitter");
    let unpub = rb["unpublished"].as_array().cloned().unwrap_or_default();
    assert!(
        unpub
            .iter()
            .any(|u| u["participant"] == "quitter" && u["track_sid"] == t["track_sid"]),
        "watcher did not see the unpublish: {rb:#}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twirp_room_service() {
    init_tracing();
    let server = TestServer::start(TestServerOptions::default())
        .await
        .expect("start");
    let auth = format!("Bearer {}", admin_token());
    let json = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let pb = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/protobuf"),
    ];

    let (status, body) = http(
        &server,
        "POST",
        "/twirp/livekit.RoomService/CreateRoom",
        &json,
        br#"{"name":"svc","emptyTimeout":60}"#,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let room: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(room["name"], "svc");
    assert!(room["sid"].as_str().unwrap_or("").starts_with("RM_"));

    let (status, body) = http(
        &server,
        "POST",
        "/twirp/livekit.RoomService/ListRooms",
        &pb,
        &proto::ListRoomsRequest::default().encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let rooms = proto::ListRoomsResponse::decode(body.as_slice()).expect("protobuf");
    assert!(rooms.rooms.iter().any(|r| r.name == "svc"));

    let (status, _) = http(
        &server,
        "POST",
        "/twirp/livekit.RoomService/ListRooms",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(status, 401, "no token must be refused");

    let _g = PEERS.lock().await;
    let p = start_peer(
        "removable",
        &server.url(),
        &token("removable", "svc"),
        &["--listen-seconds", "12"],
    )
    .await;
    let (status, body) = http(
        &server,
        "POST",
        "/twirp/livekit.RoomService/ListParticipants",
        &json,
        br#"{"room":"svc"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(list["participants"][0]["identity"], "removable", "{list:#}");

    let send = proto::SendDataRequest {
        room: "svc".into(),
        data: b"from the server".to_vec(),
        kind: proto::data_packet::Kind::Reliable as i32,
        topic: Some("srv".into()),
        ..Default::default()
    };
    let (status, _) = http(
        &server,
        "POST",
        "/twirp/livekit.RoomService/SendData",
        &pb,
        &send.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let req = proto::RoomParticipantIdentity {
        room: "svc".into(),
        identity: "removable".into(),
        ..Default::default()
    };
    let (status, _) = http(
        &server,
        "POST",
        "/twirp/livekit.RoomService/RemoveParticipant",
        &pb,
        &req.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let r = finish(p).await;
    assert_eq!(r["disconnect_reason"], "PARTICIPANT_REMOVED", "{r:#}");
    let data = r["data"].as_array().cloned().unwrap_or_default();
    assert!(
        data.iter()
            .any(|d| d["topic"] == "srv" && d["payload"] == "from the server"),
        "server data not received: {r:#}"
    );

    let (status, _) = http(
        &server,
        "POST",
        "/twirp/livekit.RoomService/DeleteRoom",
        &json,
        br#"{"room":"svc"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!server.rooms().contains(&"svc".to_string()));
    server.shutdown().await;
}
