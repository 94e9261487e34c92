//! Configuration of a backend instance: [`BackendOptions`] and [`LiveKitSettings`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::clock::Clock;
use crate::notifier::Notifier;

/// Everything [`crate::start`] needs. `Default`: 127.0.0.1 on a free port, in-memory
/// database, no API token, no LiveKit, console notifier, passwords valid 15 minutes, at
/// most 5 failed password attempts per application per 15 minutes, bcrypt cost 10, system
/// clock.
#[derive(Clone)]
pub struct BackendOptions {
    /// Address to listen on; port 0 picks a free port (see `RunningBackend::addr`).
    pub bind: SocketAddr,
    /// SQLite database file (created when missing). None: an in-memory database that lives
    /// as long as the running backend.
    pub db_path: Option<PathBuf>,
    /// The machines' credential (the agent, automation): `Authorization: Bearer <token>`.
    /// Operator fields (everything about applications) need it or a console session;
    /// without either configured they always answer 401.
    pub api_token: Option<String>,
    /// The hiring team's console sign-in password. None: the console cannot be used.
    pub operator_password: Option<String>,
    /// Where uploaded interview recordings are kept. None: next to the database
    /// (`<db>.recordings/`), or a temporary directory for an in-memory database.
    pub recordings_dir: Option<PathBuf>,
    /// LiveKit server: rooms are created there and the agent dispatched into them, room
    /// tokens are signed with its key, and `/livekit/webhook` verifies with it. None: rooms
    /// are only recorded, `getRoomToken` and the webhook receiver are unavailable.
    pub livekit: Option<LiveKitSettings>,
    /// How room passwords reach the candidate.
    pub notifier: Notifier,
    /// How long a room password is valid after `createInterviewRoom`.
    pub password_ttl: Duration,
    /// Failed `getRoomToken` attempts allowed per application within `attempt_window`.
    pub max_password_attempts: u32,
    /// The sliding window failed attempts are counted in.
    pub attempt_window: Duration,
    /// bcrypt cost of stored password hashes (4..=31; tests use 4).
    pub bcrypt_cost: u32,
    /// The clock behind expiry, rate limiting and timestamps.
    pub clock: Clock,
    /// The pages' files: `public/` and `node_modules/` (`npm ci` installs the pinned
    /// `livekit-client` there). Default: this example's `web/` directory in the repository.
    pub web_root: PathBuf,
    /// The address candidates reach this backend at, for the links in invitations
    /// (`{public_url}/interview/{applicationId}`). None: `http://` + the address actually
    /// bound (the real port when `bind` asked for port 0).
    pub public_url: Option<String>,
}

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_path: None,
            api_token: None,
            operator_password: None,
            recordings_dir: None,
            livekit: None,
            notifier: Notifier::default(),
            password_ttl: Duration::from_secs(15 * 60),
            max_password_attempts: 5,
            attempt_window: Duration::from_secs(15 * 60),
            bcrypt_cost: 10,
            clock: Clock::system(),
            web_root: default_web_root(),
            public_url: None,
        }
    }
}

impl fmt::Debug for BackendOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendOptions")
            .field("bind", &self.bind)
            .field("db_path", &self.db_path)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field(
                "operator_password",
                &self.operator_password.as_ref().map(|_| "<redacted>"),
            )
            .field("recordings_dir", &self.recordings_dir)
            .field("livekit", &self.livekit)
            .field("notifier", &self.notifier)
            .field("password_ttl", &self.password_ttl)
            .field("max_password_attempts", &self.max_password_attempts)
            .field("attempt_window", &self.attempt_window)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("web_root", &self.web_root)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// `examples/hiring_backend/web` of the repository this backend was built from.
pub fn default_web_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// A LiveKit server and the agent to dispatch into interview rooms.
#[derive(Clone)]
pub struct LiveKitSettings {
    /// `ws://`, `wss://`, `http://` or `https://`; handed to candidates as-is in `RoomToken.url`.
    pub url: String,
    pub api_key: String,
    pub api_secret: String,
    /// The agent to dispatch explicitly (`interview-agent`'s `agent.name`). Empty: no explicit
    /// dispatch (for agents registered for automatic dispatch).
    pub agent_name: String,
}

impl fmt::Debug for LiveKitSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveKitSettings")
            .field("url", &self.url)
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .field("agent_name", &self.agent_name)
            .finish()
    }
}
