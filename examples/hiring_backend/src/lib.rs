//! Example hiring backend for interview-agent: a real GraphQL server (async-graphql on axum,
//! SQLite through rusqlite) implementing the API in `graphql/schema.graphql` that the agent
//! reads applications from and saves interview results to, plus the interview room flow a
//! hiring site needs around it:
//!
//! - `createApplication`, `application(id)`, `interviewResults(applicationId)`;
//! - `saveInterviewResult`, idempotent on `idempotencyKey` (a final result replaces a partial
//!   one with the same key);
//! - `createInterviewRoom(applicationId)`: room `interview-{applicationId}-{n}`, a 6-digit
//!   password (bcrypt-hashed, valid 15 minutes by default) delivered by a [`Notifier`], and
//!   with LiveKit configured the room is created there and the agent explicitly dispatched
//!   with job metadata `{"applicationId": "<id>"}`;
//! - `getRoomToken(applicationId, password)`: a LiveKit token for the candidate, at most 5
//!   failed attempts per application per 15 minutes;
//! - `POST /livekit/webhook` (signature-checked) and `webhookEvents(room)`;
//! - the candidate's interview page, `GET /interview/{applicationId}` (the link in the
//!   invitation): password, microphone check, the call (`web/`, see `web/README.md`), with
//!   `POST /api/interview/{applicationId}/token` trading the password for a LiveKit token.
//!
//! Application ids are `app-` followed by 8 random lowercase letters or digits (e.g.
//! `app-k3x9q2mz`): URL and room-name safe. Result ids are `res-{n}`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hiring_backend::BackendError> {
//! use hiring_backend::{start, BackendOptions, NewApplication};
//! let backend = start(BackendOptions::default()).await?;
//! let id = backend.store().create_application(NewApplication {
//!     candidate_name: "Alex Morgan".into(),
//!     job_title: "Backend Engineer".into(),
//!     ..Default::default()
//! })?;
//! println!("{} serves application {id}", backend.graphql_url());
//! backend.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules: `options` (configuration), `server` (routes, auth, start/shutdown), `schema`
//! (GraphQL types and resolvers), `store` (SQLite), `rooms` (password flow), `livekit`
//! (LiveKit server APIs and tokens), `notifier` (password delivery), `webhook` (LiveKit
//! webhook receiver), `web` (pages, static files, the candidate's token endpoint), `clock`
//! (injectable time), `http_client`, `error`.

mod auth;
mod clock;
mod error;
mod http_client;
mod livekit;
mod notifier;
mod options;
mod rooms;
pub mod schema;
mod server;
mod store;
mod web;
mod webhook;

pub use clock::{rfc3339_ms, Clock, ManualClock};
pub use error::BackendError;
pub use http_client::{http_client, http_client_builder};
pub use notifier::{Notifier, RoomNotification};
pub use options::{default_web_root, BackendOptions, LiveKitSettings};
pub use server::{start, RunningBackend};
pub use store::{
    ApplicationRecord, NewApplication, ResultRow, RoomRecord, Store, StoredResult,
    WebhookEventRecord,
};
pub use webhook::RECORDED_EVENTS;
