//! The interview room flow: `createInterviewRoom` (numbered room, 6-digit password stored
//! bcrypt-hashed, LiveKit room + agent dispatch, password delivery) and `getRoomToken`
//! (rate limit, expiry, password check, LiveKit token for the candidate).

use std::time::Duration;

use rand::Rng;
use tokio::sync::Mutex;

use crate::clock::{rfc3339_ms, Clock};
use crate::livekit::LiveKit;
use crate::notifier::{Delivery, RoomNotification};
use crate::store::{RoomRecord, Store};
use crate::BackendError;

/// A created interview room and the invitation sent for it.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedRoom {
    pub room_name: String,
    pub expires_at_ms: u64,
    pub password: String,
    pub link: String,
}

/// What a candidate needs to join: the room, a LiveKit token and the LiveKit URL.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub room_name: String,
    pub token: String,
    pub url: String,
    pub candidate_name: String,
    pub job_title: String,
}

/// Password rules (from [`crate::BackendOptions`]).
pub(crate) struct PasswordPolicy {
    pub ttl: Duration,
    pub max_attempts: u32,
    pub window: Duration,
    pub bcrypt_cost: u32,
}

pub(crate) struct Rooms {
    store: Store,
    /// Base of the candidate page links in invitations.
    public_url: String,
    livekit: Option<LiveKit>,
    delivery: Delivery,
    policy: PasswordPolicy,
    clock: Clock,
    /// Serializes room creation, so concurrent calls for one application cannot pick the
    /// same room number.
    creating: Mutex<()>,
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A uniformly random 6-digit password, leading zeros allowed.
fn new_password() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// Runs blocking work (bcrypt) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackendError::Internal(format!("worker thread: {e}")))?
}

impl Rooms {
    pub(crate) fn new(
        store: Store,
        public_url: String,
        livekit: Option<LiveKit>,
        delivery: Delivery,
        policy: PasswordPolicy,
        clock: Clock,
    ) -> Rooms {
        Rooms {
            store,
            public_url,
            livekit,
            delivery,
            policy,
            clock,
            creating: Mutex::new(()),
        }
    }

    /// Creates room `interview-{id}-{n}` with a fresh password (which invalidates the
    /// application's older ones) and delivers the password to the candidate. A LiveKit
    /// failure records nothing; a delivery failure leaves the room recorded (its password
    /// is then unknown to anyone: create another room).
    pub(crate) async fn create_room(
        &self,
        application_id: &str,
    ) -> Result<CreatedRoom, BackendError> {
        let app = self.store.require_application(application_id)?;
        let creating = self.creating.lock().await;
        let seq = self.store.room_count(application_id)? + 1;
        let room_name = format!("interview-{application_id}-{seq}");
        let password = new_password();
        let cost = self.policy.bcrypt_cost;
        let to_hash = password.clone();
        let password_hash = blocking(move || Ok(bcrypt::hash(to_hash, cost)?)).await?;
        if let Some(lk) = &self.livekit {
            lk.create_room_and_dispatch(&room_name, application_id)
                .await?;
        }
        let created_at_ms = self.clock.now_ms();
        let expires_at_ms = created_at_ms.saturating_add(duration_ms(self.policy.ttl));
        self.store.insert_room(&RoomRecord {
            room_name: room_name.clone(),
            application_id: application_id.to_string(),
            seq,
            password_hash,
            created_at_ms,
            expires_at_ms,
        })?;
        drop(creating);
        tracing::info!(application = application_id, room = %room_name, livekit = self.livekit.is_some(), "interview room created");
        self.invite(&app, room_name, password, expires_at_ms).await
    }

    /// Send the invitation for a room.
    async fn invite(
        &self,
        app: &crate::store::ApplicationRecord,
        room_name: String,
        password: String,
        expires_at_ms: u64,
    ) -> Result<CreatedRoom, BackendError> {
        let link = self.candidate_link(&app.id);
        self.delivery
            .send(&RoomNotification {
                application_id: app.id.clone(),
                room_name: room_name.clone(),
                password: password.clone(),
                link: link.clone(),
                expires_at: rfc3339_ms(expires_at_ms),
                candidate_email: app.candidate_email.clone(),
                candidate_phone: app.candidate_phone.clone(),
            })
            .await?;
        Ok(CreatedRoom {
            room_name,
            expires_at_ms,
            password,
            link,
        })
    }

    /// "Send again": a new password (and expiry) for the application's newest room, sent
    /// like the first one; the old password stops working. The room (and the agent waiting
    /// in it) stays.
    pub(crate) async fn resend(&self, application_id: &str) -> Result<CreatedRoom, BackendError> {
        let app = self.store.require_application(application_id)?;
        let room = self
            .store
            .latest_room(application_id)?
            .ok_or_else(|| BackendError::NoRoom(application_id.to_string()))?;
        let password = new_password();
        let cost = self.policy.bcrypt_cost;
        let to_hash = password.clone();
        let hash = blocking(move || Ok(bcrypt::hash(to_hash, cost)?)).await?;
        let expires_at_ms = self
            .clock
            .now_ms()
            .saturating_add(duration_ms(self.policy.ttl));
        self.store
            .rotate_password(&room.room_name, &hash, expires_at_ms)?;
        tracing::info!(application = application_id, room = %room.room_name, "invitation sent again (new password)");
        self.invite(&app, room.room_name, password, expires_at_ms)
            .await
    }

    /// A listen-only token for the application's newest room, for a member of the hiring
    /// team: visible to everyone (attribute `role=observer`), cannot publish media.
    pub(crate) fn observer_token(&self, application_id: &str) -> Result<IssuedToken, BackendError> {
        let app = self.store.require_application(application_id)?;
        let room = self
            .store
            .latest_room(application_id)?
            .ok_or_else(|| BackendError::NoRoom(application_id.to_string()))?;
        let lk = self
            .livekit
            .as_ref()
            .ok_or(BackendError::LiveKitNotConfigured(
                "observer tokens are signed with the LiveKit API key",
            ))?;
        let token = lk.observer_token(&room.room_name)?;
        Ok(IssuedToken {
            room_name: room.room_name,
            token,
            url: lk.url().to_string(),
            candidate_name: app.candidate_name,
            job_title: app.job_title,
        })
    }

    /// The candidate's interview page for an application.
    pub(crate) fn candidate_link(&self, application_id: &str) -> String {
        format!("{}/interview/{application_id}", self.public_url)
    }

    /// The LiveKit server candidates connect to, if configured.
    pub(crate) fn livekit_url(&self) -> Option<&str> {
        self.livekit.as_ref().map(LiveKit::url)
    }

    /// Checks `password` against the application's latest room and issues a LiveKit token
    /// for it. Failed attempts are rate limited per application.
    pub(crate) async fn room_token(
        &self,
        application_id: &str,
        password: &str,
    ) -> Result<IssuedToken, BackendError> {
        let app = self.store.require_application(application_id)?;
        let now_ms = self.clock.now_ms();
        let Some(attempt) = self.store.begin_attempt(
            application_id,
            now_ms,
            duration_ms(self.policy.window),
            self.policy.max_attempts,
        )?
        else {
            tracing::warn!(application = application_id, "room password rate limited");
            return Err(BackendError::TooManyAttempts);
        };
        // Until it turns out right, this attempt counts as a failure.
        let room = match self.store.latest_room(application_id)? {
            Some(room) => room,
            None => {
                self.store.forget_attempt(attempt)?;
                return Err(BackendError::NoRoom(application_id.to_string()));
            }
        };
        if now_ms >= room.expires_at_ms {
            self.store.forget_attempt(attempt)?;
            return Err(BackendError::PasswordExpired);
        }
        let (given, hash) = (password.to_string(), room.password_hash.clone());
        let right = blocking(move || Ok(bcrypt::verify(given, &hash)?)).await?;
        if !right {
            tracing::info!(application = application_id, "wrong room password");
            return Err(BackendError::WrongPassword);
        }
        self.store.forget_attempt(attempt)?;
        let lk = self
            .livekit
            .as_ref()
            .ok_or(BackendError::LiveKitNotConfigured(
                "room tokens are signed with the LiveKit API key",
            ))?;
        let token = lk.candidate_token(&room.room_name, application_id, &app.candidate_name)?;
        self.store.mark_joined(&room.room_name)?;
        Ok(IssuedToken {
            room_name: room.room_name,
            token,
            url: lk.url().to_string(),
            candidate_name: app.candidate_name,
            job_title: app.job_title,
        })
    }
}
