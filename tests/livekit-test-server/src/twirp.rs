//! TEST FIXTURE, not a product: a subset of LiveKit's Twirp RoomService
//! (`POST /twirp/livekit.RoomService/<Method>`), protobuf or protobuf-JSON bodies.

use crate::http::Request;
use crate::{auth, ServerState};
use livekit_api::access_token::Claims;
use livekit_protocol as proto;
use prost::Message;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::Arc;

pub(crate) const PREFIX: &str = "/twirp/livekit.RoomService/";
pub(crate) const DISPATCH_PREFIX: &str = "/twirp/livekit.AgentDispatchService/";

/// An HTTP response: status, content type, body.
pub(crate) type Reply = (u16, String, Vec<u8>);

fn error(status: u16, code: &str, msg: &str) -> Reply {
    let body = serde_json::json!({ "code": code, "msg": msg }).to_string();
    (status, "application/json".into(), body.into_bytes())
}

struct Codec {
    json: bool,
}

impl Codec {
    fn decode<T: Message + Default + DeserializeOwned>(&self, body: &[u8]) -> Result<T, Reply> {
        if self.json {
            let body = if body.is_empty() {
                b"{}".as_slice()
            } else {
                body
            };
            serde_json::from_slice(body).map_err(|e| error(400, "malformed", &e.to_string()))
        } else {
            T::decode(body).map_err(|e| error(400, "malformed", &e.to_string()))
        }
    }

    fn encode<T: Message + Serialize>(&self, msg: &T) -> Reply {
        if self.json {
            match serde_json::to_vec(msg) {
                Ok(b) => (200, "application/json".into(), b),
                Err(e) => error(500, "internal", &e.to_string()),
            }
        } else {
            (200, "application/protobuf".into(), msg.encode_to_vec())
        }
    }
}

/// Handles one Twirp call.
pub(crate) async fn handle(state: &Arc<ServerState>, req: &Request) -> Reply {
    if req.method != "POST" {
        return error(405, "bad_route", "twirp requires POST");
    }
    let (dispatch_service, method) = if let Some(m) = req.path.strip_prefix(PREFIX) {
        (false, m)
    } else if let Some(m) = req.path.strip_prefix(DISPATCH_PREFIX) {
        (true, m)
    } else {
        return error(404, "bad_route", "unknown service");
    };
    let codec = Codec {
        json: req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
    };
    let claims = match auth::verify(&state.verifier, auth::token_from(req).as_deref()) {
        Ok(c) => c,
        Err(msg) => return error(401, "unauthenticated", &msg),
    };
    let result = if dispatch_service {
        dispatch_call(state, method, &codec, &claims, &req.body).await
    } else {
        call(state, method, &codec, &claims, &req.body).await
    };
    match result {
        Ok(r) | Err(r) => r,
    }
}

fn require(ok: bool) -> Result<(), Reply> {
    if ok {
        Ok(())
    } else {
        Err(error(401, "permission_denied", "permissions denied"))
    }
}

fn room_admin(claims: &Claims, room: &str) -> Result<(), Reply> {
    require(claims.video.room_admin && (claims.video.room.is_empty() || claims.video.room == room))
}

async fn call(
    state: &Arc<ServerState>,
    method: &str,
    codec: &Codec,
    claims: &Claims,
    body: &[u8],
) -> Result<Reply, Reply> {
    match method {
        "CreateRoom" => {
            require(claims.video.room_create)?;
            let r: proto::CreateRoomRequest = codec.decode(body)?;
            if r.name.is_empty() {
                return Err(error(400, "invalid_argument", "room name is required"));
            }
            let (room, _) = state.rooms.get_or_create(
                &r.name,
                if r.empty_timeout == 0 {
                    300
                } else {
                    r.empty_timeout
                },
                r.max_participants,
                &r.metadata,
            );
            // Agents listed in the request are dispatched explicitly, like livekit-server.
            for a in &r.agents {
                state
                    .agents
                    .create_dispatch(state, &room.info(), &a.agent_name, &a.metadata);
            }
            Ok(codec.encode(&room.info()))
        }
        "ListRooms" => {
            require(claims.video.room_list)?;
            let r: proto::ListRoomsRequest = codec.decode(body)?;
            let rooms = state
                .rooms
                .list()
                .into_iter()
                .filter(|room| r.names.is_empty() || r.names.contains(&room.name))
                .map(|room| room.info())
                .collect();
            Ok(codec.encode(&proto::ListRoomsResponse { rooms }))
        }
        "DeleteRoom" => {
            require(claims.video.room_create)?;
            let r: proto::DeleteRoomRequest = codec.decode(body)?;
            state.agents.room_deleted(&r.room).await;
            if let Some(room) = state.rooms.remove(&r.room) {
                for p in room.participants() {
                    p.remove(proto::DisconnectReason::RoomDeleted, true).await;
                }
            }
            Ok(codec.encode(&proto::DeleteRoomResponse {}))
        }
        "ListParticipants" => {
            let r: proto::ListParticipantsRequest = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            let room = state
                .rooms
                .get(&r.room)
                .ok_or_else(|| error(404, "not_found", "requested room does not exist"))?;
            let participants = room.participants().iter().map(|p| p.info()).collect();
            Ok(codec.encode(&proto::ListParticipantsResponse { participants }))
        }
        "GetParticipant" => {
            let r: proto::RoomParticipantIdentity = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            let p = find(state, &r.room, &r.identity)?;
            Ok(codec.encode(&p.info()))
        }
        "RemoveParticipant" => {
            let r: proto::RoomParticipantIdentity = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            let p = find(state, &r.room, &r.identity)?;
            p.remove(proto::DisconnectReason::ParticipantRemoved, true)
                .await;
            Ok(codec.encode(&proto::RemoveParticipantResponse {}))
        }
        "UpdateParticipant" => {
            let r: proto::UpdateParticipantRequest = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            let p = find(state, &r.room, &r.identity)?;
            p.apply_metadata(Some(r.name), Some(r.metadata), r.attributes);
            Ok(codec.encode(&p.info()))
        }
        "UpdateRoomMetadata" => {
            let r: proto::UpdateRoomMetadataRequest = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            let room = state
                .rooms
                .get(&r.room)
                .ok_or_else(|| error(404, "not_found", "requested room does not exist"))?;
            if let Ok(mut m) = room.metadata.lock() {
                m.clone_from(&r.metadata);
            }
            let info = room.info();
            for p in room.participants() {
                p.send(proto::signal_response::Message::RoomUpdate(
                    proto::RoomUpdate {
                        room: Some(info.clone()),
                    },
                ));
            }
            Ok(codec.encode(&info))
        }
        "SendData" => {
            let r: proto::SendDataRequest = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            let room = state
                .rooms
                .get(&r.room)
                .ok_or_else(|| error(404, "not_found", "requested room does not exist"))?;
            let lossy = r.kind == proto::data_packet::Kind::Lossy as i32;
            let pkt = proto::DataPacket {
                kind: r.kind,
                destination_identities: r.destination_identities.clone(),
                value: Some(proto::data_packet::Value::User(proto::UserPacket {
                    payload: r.data,
                    topic: r.topic,
                    destination_identities: r.destination_identities.clone(),
                    destination_sids: r.destination_sids.clone(),
                    nonce: r.nonce,
                    ..Default::default()
                })),
                ..Default::default()
            };
            let bytes = pkt.encode_to_vec();
            for p in room.participants() {
                let addressed = (r.destination_identities.is_empty()
                    && r.destination_sids.is_empty())
                    || r.destination_identities.contains(&p.identity)
                    || r.destination_sids.contains(&p.sid);
                if addressed {
                    p.send_data(if lossy { "_lossy" } else { "_reliable" }, &bytes)
                        .await;
                }
            }
            Ok(codec.encode(&proto::SendDataResponse {}))
        }
        _ => Err(error(404, "bad_route", &format!("unknown method {method}"))),
    }
}

fn find(
    state: &Arc<ServerState>,
    room: &str,
    identity: &str,
) -> Result<Arc<crate::participant::Participant>, Reply> {
    state
        .rooms
        .get(room)
        .and_then(|r| r.find_identity(identity))
        .ok_or_else(|| error(404, "not_found", "participant not found"))
}

/// `AgentDispatchService`: explicit dispatch of a named agent into a room (room admin grant).
async fn dispatch_call(
    state: &Arc<ServerState>,
    method: &str,
    codec: &Codec,
    claims: &Claims,
    body: &[u8],
) -> Result<Reply, Reply> {
    match method {
        "CreateDispatch" => {
            let r: proto::CreateAgentDispatchRequest = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            if r.room.is_empty() {
                return Err(error(400, "invalid_argument", "room is required"));
            }
            let (room, _) = state.rooms.get_or_create(&r.room, 300, 0, "");
            let d = state
                .agents
                .create_dispatch(state, &room.info(), &r.agent_name, &r.metadata);
            Ok(codec.encode(&d))
        }
        "ListDispatch" => {
            let r: proto::ListAgentDispatchRequest = codec.decode(body)?;
            room_admin(claims, &r.room)?;
            let agent_dispatches = state
                .agents
                .dispatches(&r.room)
                .into_iter()
                .filter(|d| r.dispatch_id.is_empty() || d.id == r.dispatch_id)
                .collect();
            Ok(codec.encode(&proto::ListAgentDispatchResponse { agent_dispatches }))
        }
        _ => Err(error(404, "bad_route", &format!("unknown method {method}"))),
    }
}
