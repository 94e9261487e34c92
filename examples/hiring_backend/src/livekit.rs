//! The LiveKit server side of the room flow: creating the room (Twirp RoomService),
//! dispatching the agent into it (AgentDispatchService), signing candidate tokens and the
//! webhook verifier, all with the configured API key and secret.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, TokenVerifier, VideoGrants};
use livekit_api::services::agent_dispatch::AgentDispatchClient;
use livekit_api::services::room::{CreateRoomOptions, RoomClient};
use livekit_api::webhooks::WebhookReceiver;
use livekit_protocol as proto;

use crate::{BackendError, LiveKitSettings};

/// How long a candidate's room token is valid.
pub(crate) const CANDIDATE_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Seconds an interview room stays open with nobody in it.
const EMPTY_TIMEOUT_SECS: u32 = 15 * 60;
/// Per-request timeout of the server API calls.
const API_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct LiveKit {
    settings: LiveKitSettings,
    rooms: RoomClient,
    dispatch: AgentDispatchClient,
}

impl LiveKit {
    pub(crate) fn new(settings: LiveKitSettings) -> LiveKit {
        let (url, key, secret) = (&settings.url, &settings.api_key, &settings.api_secret);
        LiveKit {
            rooms: RoomClient::with_api_key(url, key, secret).with_request_timeout(API_TIMEOUT),
            dispatch: AgentDispatchClient::with_api_key(url, key, secret)
                .with_request_timeout(API_TIMEOUT),
            settings,
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.settings.url
    }

    /// Creates the room and explicitly dispatches the agent into it with job metadata
    /// `{"applicationId": "<id>"}` (no dispatch when the agent name is empty).
    pub(crate) async fn create_room_and_dispatch(
        &self,
        room: &str,
        application_id: &str,
    ) -> Result<(), BackendError> {
        let metadata = serde_json::json!({ "applicationId": application_id }).to_string();
        self.rooms
            .create_room(
                room,
                CreateRoomOptions {
                    empty_timeout: EMPTY_TIMEOUT_SECS,
                    max_participants: 0,
                    metadata: metadata.clone(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| BackendError::LiveKit(format!("creating room {room}: {e}")))?;
        if self.settings.agent_name.is_empty() {
            return Ok(());
        }
        let dispatch = self
            .dispatch
            .create_dispatch(proto::CreateAgentDispatchRequest {
                agent_name: self.settings.agent_name.clone(),
                room: room.to_string(),
                metadata,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                BackendError::LiveKit(format!("dispatching the agent into {room}: {e}"))
            })?;
        tracing::info!(room, dispatch = %dispatch.id, agent = %self.settings.agent_name, "agent dispatched");
        Ok(())
    }

    /// A token to join `room` as the candidate: identity `candidate-{applicationId}`, the
    /// candidate's name, attribute `applicationId`, valid [`CANDIDATE_TOKEN_TTL`].
    pub(crate) fn candidate_token(
        &self,
        room: &str,
        application_id: &str,
        candidate_name: &str,
    ) -> Result<String, BackendError> {
        AccessToken::with_api_key(&self.settings.api_key, &self.settings.api_secret)
            .with_identity(&format!("candidate-{application_id}"))
            .with_name(candidate_name)
            .with_attributes([("applicationId", application_id)])
            .with_grants(VideoGrants {
                room_join: true,
                room: room.to_string(),
                can_publish: Some(true),
                can_subscribe: Some(true),
                can_publish_data: Some(true),
                ..Default::default()
            })
            .with_ttl(CANDIDATE_TOKEN_TTL)
            .to_jwt()
            .map_err(|e| BackendError::LiveKit(format!("signing the room token: {e}")))
    }

    /// A listen-only token for a member of the hiring team: identity `observer-<random>`,
    /// attribute `role=observer` (the agent sends evaluations to these participants only; the
    /// candidate's page says someone is listening), no media publishing, data allowed (to ask
    /// the agent to end the interview), valid [`CANDIDATE_TOKEN_TTL`].
    pub(crate) fn observer_token(&self, room: &str) -> Result<String, BackendError> {
        let identity = format!("observer-{:08x}", rand::random::<u32>());
        AccessToken::with_api_key(&self.settings.api_key, &self.settings.api_secret)
            .with_identity(&identity)
            .with_name("Hiring team")
            .with_attributes([("role", "observer")])
            .with_grants(VideoGrants {
                room_join: true,
                room: room.to_string(),
                can_publish: Some(false),
                can_subscribe: Some(true),
                can_publish_data: Some(true),
                can_update_own_metadata: Some(false),
                ..Default::default()
            })
            .with_ttl(CANDIDATE_TOKEN_TTL)
            .to_jwt()
            .map_err(|e| BackendError::LiveKit(format!("signing the observer token: {e}")))
    }

    /// Verifies webhook requests signed by this LiveKit server.
    pub(crate) fn webhook_receiver(&self) -> WebhookReceiver {
        WebhookReceiver::new(TokenVerifier::with_api_key(
            &self.settings.api_key,
            &self.settings.api_secret,
        ))
    }
}
