//! TEST FIXTURE, not a product: the `/rtc` and `/rtc/v1` signalling WebSockets of the LiveKit
//! test server — join (JoinResponse, duplicate-identity kick), resume (`reconnect=1&sid=`, or
//! `reconnect`/`participant_sid` in the v1 JoinRequest), the request dispatch loop and the
//! departure timeout after a dropped connection.

use crate::http::Request;
use crate::participant::{JoinParams, Outbound, Participant};
use crate::{auth, http, ServerState};
use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use prost::Message as _;
use proto::signal_request::Message as In;
use proto::signal_response::Message as Out;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub(crate) const SERVER_VERSION: &str = "1.9.0";
pub(crate) const PROTOCOL_VERSION: i32 = 16;

pub(crate) fn server_info() -> proto::ServerInfo {
    proto::ServerInfo {
        edition: proto::server_info::Edition::Standard as i32,
        version: SERVER_VERSION.into(),
        protocol: PROTOCOL_VERSION,
        region: String::new(),
        node_id: "ND_livekit_test_server".into(),
        debug_info: "livekit-test-server (test fixture)".into(),
        agent_protocol: 1,
    }
}

fn permission_from(claims: &livekit_api::access_token::Claims) -> proto::ParticipantPermission {
    let v = &claims.video;
    let sources = v
        .can_publish_sources
        .iter()
        .filter_map(|s| match s.as_str() {
            "camera" => Some(proto::TrackSource::Camera as i32),
            "microphone" => Some(proto::TrackSource::Microphone as i32),
            "screen_share" => Some(proto::TrackSource::ScreenShare as i32),
            "screen_share_audio" => Some(proto::TrackSource::ScreenShareAudio as i32),
            _ => None,
        })
        .collect();
    proto::ParticipantPermission {
        can_subscribe: v.can_subscribe(),
        can_publish: v.can_publish(),
        can_publish_data: v.can_publish_data(),
        can_publish_sources: sources,
        hidden: v.hidden,
        recorder: v.recorder,
        can_update_metadata: v.can_update_own_metadata(),
        agent: v.agent,
        ..Default::default()
    }
}

fn kind_from(kind: &str) -> i32 {
    use proto::participant_info::Kind;
    match kind {
        "ingress" => Kind::Ingress as i32,
        "egress" => Kind::Egress as i32,
        "sip" => Kind::Sip as i32,
        "agent" => Kind::Agent as i32,
        _ => Kind::Standard as i32,
    }
}

/// What the join URL asked for: from the query string (`/rtc`) or from the protobuf
/// JoinRequest (`/rtc/v1`).
struct JoinSpec {
    reconnect: bool,
    sid: String,
    auto_subscribe: bool,
    /// `/rtc/v1`: one peer connection, the client offers, the server answers.
    single_pc: bool,
    /// `/rtc/v1`: the client's first offer, sent inside the JoinRequest.
    publisher_offer: Option<proto::SessionDescription>,
    protocol: String,
    sdk: String,
    /// `client_protocol` (query on `/rtc`, ClientInfo on `/rtc/v1`).
    client_protocol: i32,
}

impl JoinSpec {
    fn from_query(req: &Request) -> JoinSpec {
        JoinSpec {
            reconnect: req.query_flag("reconnect"),
            sid: req.query.get("sid").cloned().unwrap_or_default(),
            auto_subscribe: req
                .query
                .get("auto_subscribe")
                .map(|v| v != "0" && v != "false")
                .unwrap_or(true),
            single_pc: false,
            publisher_offer: None,
            protocol: req.query.get("protocol").cloned().unwrap_or_default(),
            sdk: req.query.get("sdk").cloned().unwrap_or_default(),
            client_protocol: req
                .query
                .get("client_protocol")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        }
    }

    fn from_join_request(jr: proto::JoinRequest) -> JoinSpec {
        let ci = jr.client_info.unwrap_or_default();
        JoinSpec {
            reconnect: jr.reconnect,
            sid: jr.participant_sid,
            // Like livekit-server: `connection_settings.auto_subscribe` (absent = false).
            auto_subscribe: jr
                .connection_settings
                .map(|c| c.auto_subscribe)
                .unwrap_or(false),
            single_pc: true,
            publisher_offer: jr.publisher_offer.filter(|o| !o.sdp.is_empty()),
            protocol: ci.protocol.to_string(),
            sdk: proto::client_info::Sdk::try_from(ci.sdk)
                .map(|s| s.as_str_name().to_ascii_lowercase())
                .unwrap_or_default(),
            client_protocol: ci.client_protocol,
        }
    }
}

/// Max size of a decompressed JoinRequest.
const MAX_JOIN_REQUEST: u64 = 1 << 20;

/// Decodes `/rtc/v1?join_request=`: base64url (padding optional) of a WrappedJoinRequest whose
/// `join_request` is a JoinRequest, plain or gzip. Errors are the texts livekit-server uses.
pub(crate) fn parse_join_request(param: Option<&str>) -> Result<proto::JoinRequest, String> {
    use base64::Engine as _;
    use std::io::Read as _;
    let param = param
        .filter(|p| !p.is_empty())
        .ok_or("join_request is required")?;
    let trimmed = param.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| "cannot base64 decode wrapped join request")?;
    let wrapped = proto::WrappedJoinRequest::decode(bytes.as_slice())
        .map_err(|_| "cannot unmarshal wrapped join request")?;
    use proto::wrapped_join_request::Compression;
    let raw = match Compression::try_from(wrapped.compression) {
        Ok(Compression::None) => wrapped.join_request,
        Ok(Compression::Gzip) => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(wrapped.join_request.as_slice())
                .take(MAX_JOIN_REQUEST + 1)
                .read_to_end(&mut out)
                .map_err(|_| "cannot read decompressed join request")?;
            if out.len() as u64 > MAX_JOIN_REQUEST {
                return Err("join request too large".into());
            }
            out
        }
        Err(_) => return Err("unknown join request compression".into()),
    };
    proto::JoinRequest::decode(raw.as_slice()).map_err(|_| "cannot unmarshal join request".into())
}

/// Serves `GET /rtc` (`v1 == false`) and `GET /rtc/v1`: authenticates (401), parses the
/// JoinRequest (`/rtc/v1`, 400 if malformed), upgrades, joins or resumes, then runs the session.
pub(crate) async fn serve(state: Arc<ServerState>, mut stream: TcpStream, req: Request, v1: bool) {
    let token = auth::token_from(&req);
    let claims = match auth::verify(&state.verifier, token.as_deref())
        .and_then(|c| auth::check_join(&c).map(|_| c))
    {
        Ok(c) => c,
        Err(msg) => {
            let _ = http::write_response(
                &mut stream,
                401,
                "text/plain; charset=utf-8",
                msg.as_bytes(),
            )
            .await;
            return;
        }
    };
    let spec = if v1 {
        match parse_join_request(req.query.get("join_request").map(String::as_str)) {
            Ok(jr) => JoinSpec::from_join_request(jr),
            Err(msg) => {
                let _ = http::write_response(
                    &mut stream,
                    400,
                    "text/plain; charset=utf-8",
                    msg.as_bytes(),
                )
                .await;
                return;
            }
        }
    } else {
        JoinSpec::from_query(&req)
    };
    if let Err(e) = http::accept_websocket(&mut stream, &req).await {
        tracing::debug!("websocket handshake failed: {e}");
        return;
    }
    let ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    let (tx, rx) = mpsc::unbounded_channel();

    let room_name = claims.video.room.clone();
    if spec.reconnect {
        let sid = spec.sid.clone();
        let existing = state
            .rooms
            .get(&room_name)
            .and_then(|r| r.find_sid(&sid))
            .filter(|p| p.identity == claims.sub && !p.closed.load(Ordering::SeqCst));
        match existing {
            Some(p) => {
                // The client drops everything before ReconnectResponse: queue it first.
                let reconnect = Out::Reconnect(proto::ReconnectResponse {
                    ice_servers: vec![],
                    client_configuration: None,
                    server_info: Some(server_info()),
                    last_message_seq: 0,
                });
                let _ = tx.send(Outbound::Msg(Box::new(reconnect)));
                let conn = p.attach_signal(tx);
                tracing::info!(identity = %p.identity, single_pc = p.single_pc, "participant resumed");
                // What happened while it was away, as livekit-server sends after a resume.
                if let Some(room) = state.rooms.get(&room_name) {
                    let everyone: Vec<proto::ParticipantInfo> =
                        room.participants().iter().map(|o| o.info()).collect();
                    p.send_update(everyone);
                    p.send(Out::RoomUpdate(proto::RoomUpdate {
                        room: Some(room.info()),
                    }));
                }
                run(state, p, conn, ws, rx).await;
            }
            None => {
                // Cannot resume: ask the client for a full reconnect, as livekit-server does.
                let mut ws = ws;
                let leave = proto::SignalResponse {
                    message: Some(Out::Leave(proto::LeaveRequest {
                        can_reconnect: true,
                        reason: proto::DisconnectReason::StateMismatch as i32,
                        action: proto::leave_request::Action::Reconnect as i32,
                        regions: None,
                    })),
                };
                let _ = ws.send(Message::Binary(leave.encode_to_vec().into())).await;
                let _ = ws.close(None).await;
            }
        }
        return;
    }

    let (room, _) = state.rooms.get_or_create(&room_name, 300, 0, "");
    if let Some(old) = room.find_identity(&claims.sub) {
        tracing::info!(identity = %claims.sub, "duplicate identity: removing previous participant");
        old.remove(proto::DisconnectReason::DuplicateIdentity, true)
            .await;
    }
    let params = JoinParams {
        identity: claims.sub.clone(),
        name: claims.name.clone(),
        metadata: claims.metadata.clone(),
        attributes: claims.attributes.clone(),
        permission: permission_from(&claims),
        kind: kind_from(&claims.kind),
        red_to_subscriber: state.opts.offer_red_to_subscribers,
        auto_subscribe: spec.auto_subscribe,
        single_pc: spec.single_pc,
        client_protocol: spec.client_protocol,
    };
    let p = match Participant::create(room.clone(), params).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("creating participant failed: {e}");
            let mut ws = ws;
            let _ = ws.close(None).await;
            return;
        }
    };
    let conn = p.attach_signal(tx);
    let mut room_info = room.info();
    room_info.num_participants += 1;
    // JoinResponse is queued and the participant added under the room's lock: an update about
    // someone else can neither overtake the JoinResponse (the client fails its connect when
    // the first message is not `join`) nor fall between the snapshot and the add.
    room.add_joining(p.clone(), |others| {
        p.send(Out::Join(proto::JoinResponse {
            room: Some(room_info),
            participant: Some(p.info()),
            other_participants: others,
            server_version: SERVER_VERSION.into(),
            // Single-PC clients publish and subscribe on the one (client-offered) connection.
            subscriber_primary: !spec.single_pc,
            // As livekit-server: a publisher may publish without waiting for a negotiation.
            fast_publish: p.can(|pm| pm.can_publish),
            ping_interval: state.opts.ping_interval,
            ping_timeout: state.opts.ping_timeout,
            server_info: Some(server_info()),
            ..Default::default()
        }));
    });
    tracing::info!(
        identity = %p.identity,
        room = %room.name,
        sid = %p.sid,
        protocol = %spec.protocol,
        sdk = %spec.sdk,
        single_pc = spec.single_pc,
        "participant joined"
    );
    room.broadcast_update(&p.info(), Some(&p.sid));
    p.subscribe_existing().await;
    if spec.single_pc {
        // The client's first offer came with the JoinRequest; answer it (after JoinResponse).
        // Without one, the client negotiates by itself once connected.
        if let Some(offer) = spec.publisher_offer {
            let p = p.clone();
            tokio::spawn(async move { p.on_publisher_offer(offer).await });
        }
    } else {
        let p = p.clone();
        tokio::spawn(async move { p.negotiate_subscriber().await });
    }
    run(state, p, conn, ws, rx).await;
}

async fn run(
    state: Arc<ServerState>,
    p: Arc<Participant>,
    conn: u64,
    ws: WebSocketStream<TcpStream>,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
) {
    let mut kill = state.kill.subscribe();
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(b))) => match proto::SignalRequest::decode(b.as_ref()) {
                    Ok(req) => {
                        if let Some(m) = req.message {
                            if !handle(&p, m).await {
                                let _ = sink.close().await;
                                break;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(identity = %p.identity, "undecodable SignalRequest: {e}"),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(Outbound::Msg(m)) => {
                    let bytes = proto::SignalResponse { message: Some(*m) }.encode_to_vec();
                    if sink.send(Message::Binary(bytes.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close) | None => {
                    let _ = sink.close().await;
                    break;
                }
            },
            _ = kill.recv() => {
                tracing::info!(identity = %p.identity, "test hook: dropping signal connection");
                break;
            }
        }
    }
    drop(sink);
    drop(stream);
    if p.detach_signal(conn) && !p.closed.load(Ordering::SeqCst) {
        let timeout = state.opts.departure_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if p.current_signal_id().is_none() && !p.closed.load(Ordering::SeqCst) {
                tracing::info!(identity = %p.identity, "signal not resumed within departure timeout");
                p.remove(proto::DisconnectReason::SignalClose, false).await;
            }
        });
    }
}

/// Handles one SignalRequest. Returns false when the connection should close.
async fn handle(p: &Arc<Participant>, msg: In) -> bool {
    match msg {
        In::Offer(sd) => p.on_publisher_offer(sd).await,
        In::Answer(sd) => p.on_subscriber_answer(sd).await,
        In::Trickle(t) => p.on_trickle(t).await,
        In::AddTrack(r) => p.on_add_track(r),
        In::Mute(r) => p.on_mute(r),
        In::Subscription(s) => p.on_update_subscription(s).await,
        In::Leave(_) => {
            p.remove(proto::DisconnectReason::ClientInitiated, false)
                .await;
            return false;
        }
        In::Ping(_) => p.send(Out::Pong(crate::ids::now_millis())),
        In::PingReq(ping) => p.send(Out::PongResp(proto::Pong {
            last_ping_timestamp: ping.timestamp,
            timestamp: crate::ids::now_millis(),
        })),
        In::UpdateMetadata(m) => p.update_metadata(m),
        other => tracing::debug!(identity = %p.identity, "ignored signal request: {other:?}"),
    }
    true
}
