//! Automatic dispatch: create the next room named `interview-{applicationId}-{n}` and print a
//! candidate join token. A worker registered with an empty agent name (`agent.dispatch =
//! "automatic"` in agent.toml) is sent into every new room, this one included.
//!
//! ```sh
//! LIVEKIT_URL=ws://localhost:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//!   cargo run --example interview_room -- 42
//! ```

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_api::services::room::{CreateRoomOptions, RoomClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let application_id = std::env::args().nth(1).unwrap_or_else(|| "42".into());
    let url = std::env::var("LIVEKIT_URL").unwrap_or_else(|_| "ws://localhost:7880".into());
    let host = url
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let key = std::env::var("LIVEKIT_API_KEY").unwrap_or_else(|_| "devkey".into());
    let secret = std::env::var("LIVEKIT_API_SECRET").unwrap_or_else(|_| "secret".into());

    let rooms = RoomClient::with_api_key(&host, &key, &secret);
    let prefix = format!("interview-{application_id}-");
    let taken: Vec<u32> = rooms
        .list_rooms(vec![])
        .await?
        .iter()
        .filter_map(|r| r.name.strip_prefix(&prefix)?.parse().ok())
        .collect();
    let n = taken.iter().max().map_or(1, |m| m + 1);
    let room = format!("{prefix}{n}");
    rooms
        .create_room(&room, CreateRoomOptions::default())
        .await?;

    let token = AccessToken::with_api_key(&key, &secret)
        .with_identity(&format!("candidate-{application_id}"))
        .with_ttl(Duration::from_secs(3600))
        .with_grants(VideoGrants {
            room_join: true,
            room: room.clone(),
            ..Default::default()
        })
        .to_jwt()?;
    println!("room: {room}\nurl: {url}\ncandidate token: {token}");
    Ok(())
}
