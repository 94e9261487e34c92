//! Explicit dispatch: create an interview room and dispatch the agent into it with job
//! metadata, through LiveKit's RoomService and AgentDispatchService (what a hiring backend does).
//!
//! ```sh
//! LIVEKIT_URL=ws://localhost:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//!   cargo run --example create_dispatch -- interview-42-1 interview-agent '{"applicationId":"42"}'
//! ```
//! Run `interview-agent dev` (or `start`) first: the worker registered as `interview-agent`
//! receives the job, and the metadata JSON reaches its session unchanged.

use livekit_api::services::agent_dispatch::AgentDispatchClient;
use livekit_api::services::room::{CreateRoomOptions, RoomClient};
use livekit_protocol as proto;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let room = args.next().unwrap_or_else(|| "interview-42-1".into());
    let agent_name = args.next().unwrap_or_else(|| "interview-agent".into());
    let metadata = args
        .next()
        .unwrap_or_else(|| r#"{"applicationId":"42"}"#.into());
    let url = std::env::var("LIVEKIT_URL").unwrap_or_else(|_| "ws://localhost:7880".into());
    let host = url
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let key = std::env::var("LIVEKIT_API_KEY").unwrap_or_else(|_| "devkey".into());
    let secret = std::env::var("LIVEKIT_API_SECRET").unwrap_or_else(|_| "secret".into());

    let rooms = RoomClient::with_api_key(&host, &key, &secret);
    let created = rooms
        .create_room(&room, CreateRoomOptions::default())
        .await?;
    println!("room {} ({})", created.name, created.sid);

    let dispatch = AgentDispatchClient::with_api_key(&host, &key, &secret)
        .create_dispatch(proto::CreateAgentDispatchRequest {
            agent_name: agent_name.clone(),
            room: room.clone(),
            metadata: metadata.clone(),
            ..Default::default()
        })
        .await?;
    println!(
        "dispatch {} of {agent_name:?} into {room} with metadata {metadata}",
        dispatch.id
    );
    Ok(())
}
