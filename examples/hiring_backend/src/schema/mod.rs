//! The GraphQL schema: the `Query` and `Mutation` roots and their resolvers. Types live in
//! `agent_types` (the agent's API, `graphql/schema.graphql`) and `extra_types` (this backend's
//! additions). [`build_schema`] puts them together; [`sdl`] prints the schema without a
//! running backend.

mod agent_types;
mod extra_types;

pub use agent_types::*;
pub use extra_types::*;

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, Guard, Object, Result, Schema, ID,
};

use crate::auth::Access;
use crate::clock::rfc3339_ms;
use crate::error::gql;
use crate::rooms::{CreatedRoom, Rooms};
use crate::store::{ResultToSave, Store};
use crate::BackendError;

/// The executable schema.
pub type BackendSchema = Schema<Query, Mutation, EmptySubscription>;

/// What resolvers work with.
pub(crate) struct Backend {
    pub store: Store,
    pub rooms: Arc<Rooms>,
}

/// The schema with its data.
pub(crate) fn build_schema(backend: Arc<Backend>) -> BackendSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(32)
        .data(backend)
        .finish()
}

/// The schema's SDL (what `schema.sdl()` prints), for checking it against the agent's schema.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, EmptySubscription)
        .finish()
        .sdl()
}

fn backend<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Backend>> {
    ctx.data::<Arc<Backend>>()
}

/// Fields only an operator may use (the API token or a console session); everything but
/// `getRoomToken`. Without it: an `UNAUTHENTICATED` error, which the HTTP layer turns into a
/// 401 with no data.
pub(crate) struct Operator;

impl Guard for Operator {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        if ctx.data_opt::<Access>().is_some_and(|a| a.operator) {
            Ok(())
        } else {
            Err(BackendError::Unauthenticated.extend())
        }
    }
}

fn invitation(room: CreatedRoom) -> Invitation {
    Invitation {
        room_name: room.room_name,
        link: room.link,
        password: room.password,
        expires_at: rfc3339_ms(room.expires_at_ms),
    }
}

pub struct Query;

#[Object]
impl Query {
    /// The application an interview is for; null when there is no such application.
    #[graphql(guard = "Operator")]
    async fn application(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Application>> {
        let b = backend(ctx)?;
        Ok(b.store
            .application(&id)
            .map_err(gql)?
            .map(Application::from))
    }

    /// Results stored for an application, oldest first.
    #[graphql(guard = "Operator")]
    async fn interview_results(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
    ) -> Result<Vec<StoredInterviewResult>> {
        let b = backend(ctx)?;
        b.store.require_application(&application_id).map_err(gql)?;
        let rows = b.store.result_rows(&application_id).map_err(gql)?;
        rows.into_iter()
            .map(|r| StoredInterviewResult::try_from(r).map_err(gql))
            .collect()
    }

    /// LiveKit webhook events received (room_started, room_finished, participant_joined,
    /// track_published), oldest first; only those of `room` when given.
    #[graphql(guard = "Operator")]
    async fn webhook_events(
        &self,
        ctx: &Context<'_>,
        room: Option<String>,
    ) -> Result<Vec<WebhookEvent>> {
        let b = backend(ctx)?;
        let events = b.store.webhook_events(room.as_deref()).map_err(gql)?;
        Ok(events.into_iter().map(WebhookEvent::from).collect())
    }

    /// Every application, newest first, with its state and latest result.
    #[graphql(guard = "Operator")]
    async fn applications(&self, ctx: &Context<'_>) -> Result<Vec<ApplicationSummary>> {
        let b = backend(ctx)?;
        let rows = b.store.application_summaries().map_err(gql)?;
        Ok(rows.into_iter().map(ApplicationSummary::from).collect())
    }

    /// An application's interview recordings, newest first.
    #[graphql(guard = "Operator")]
    async fn recordings(&self, ctx: &Context<'_>, application_id: ID) -> Result<Vec<Recording>> {
        let b = backend(ctx)?;
        b.store.require_application(&application_id).map_err(gql)?;
        let rows = b.store.recordings(&application_id).map_err(gql)?;
        Ok(rows.into_iter().map(Recording::from).collect())
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Store an interview's result on its application. MUST be idempotent on
    /// `idempotencyKey`: a key already stored stores nothing new and answers with the stored
    /// result and `duplicate: true` (the agent retries and replays results after crashes). A
    /// final result (`partial: false`) with the key of an earlier partial one replaces it.
    #[graphql(guard = "Operator")]
    async fn save_interview_result(
        &self,
        ctx: &Context<'_>,
        input: InterviewResultInput,
    ) -> Result<SaveInterviewResultPayload> {
        let b = backend(ctx)?;
        b.store.count_save_attempt();
        input.validate().map_err(gql)?;
        let result = serde_json::to_value(&input).map_err(|e| gql(BackendError::from(e)))?;
        let outcome = b
            .store
            .save_result(&ResultToSave {
                application_id: &input.application_id,
                idempotency_key: &input.idempotency_key,
                room: &input.room,
                partial: input.partial,
                average_score: input.average_score,
                recommendation: input.recommendation.name(),
                summary: &input.summary,
                result: &result,
            })
            .map_err(gql)?;
        tracing::info!(
            application = %input.application_id.as_str(),
            result = %outcome.result_id,
            partial = input.partial,
            duplicate = outcome.duplicate,
            "interview result received"
        );
        Ok(SaveInterviewResultPayload {
            result_id: ID(outcome.result_id),
            duplicate: outcome.duplicate,
        })
    }

    /// Create an application (a candidate for a job). Ids look like `app-k3x9q2mz`. Invalid
    /// fields: a `BAD_USER_INPUT` error with `extensions.fields: [{field, message}]`.
    #[graphql(guard = "Operator")]
    async fn create_application(
        &self,
        ctx: &Context<'_>,
        input: CreateApplicationInput,
    ) -> Result<Application> {
        let b = backend(ctx)?;
        let id = b.store.create_application(input.into_new()).map_err(gql)?;
        let app = b.store.require_application(&id).map_err(gql)?;
        Ok(Application::from(app))
    }

    /// Create the next interview room of an application (`interview-{id}-{n}`), with a new
    /// 6-digit password sent to the candidate (older passwords stop working). With LiveKit
    /// configured, the room is created there and the agent dispatched into it.
    #[graphql(guard = "Operator")]
    async fn create_interview_room(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
    ) -> Result<InterviewRoom> {
        let b = backend(ctx)?;
        let room = b.rooms.create_room(&application_id).await.map_err(gql)?;
        Ok(InterviewRoom {
            room_name: room.room_name.clone(),
            expires_at: rfc3339_ms(room.expires_at_ms),
            invitation: invitation(room),
        })
    }

    /// Send the invitation again with a new password for the newest room (the old password
    /// stops working; the room and the agent in it stay).
    #[graphql(guard = "Operator")]
    async fn resend_invitation(&self, ctx: &Context<'_>, application_id: ID) -> Result<Invitation> {
        let b = backend(ctx)?;
        let room = b.rooms.resend(&application_id).await.map_err(gql)?;
        Ok(invitation(room))
    }

    /// A listen-only token for the newest room (attribute `role=observer`, no publishing):
    /// the hiring team's live view.
    #[graphql(guard = "Operator")]
    async fn observer_token(&self, ctx: &Context<'_>, application_id: ID) -> Result<RoomToken> {
        let b = backend(ctx)?;
        let t = b.rooms.observer_token(&application_id).map_err(gql)?;
        Ok(RoomToken {
            room_name: t.room_name,
            token: t.token,
            url: t.url,
        })
    }

    /// Exchange the room password for a LiveKit token to join the application's latest
    /// room. Errors: "wrong password", "password expired", "too many attempts, try again
    /// later" (after too many failures in the window), no room yet.
    async fn get_room_token(
        &self,
        ctx: &Context<'_>,
        application_id: ID,
        password: String,
    ) -> Result<RoomToken> {
        let b = backend(ctx)?;
        let t = b
            .rooms
            .room_token(&application_id, &password)
            .await
            .map_err(gql)?;
        Ok(RoomToken {
            room_name: t.room_name,
            token: t.token,
            url: t.url,
        })
    }
}
