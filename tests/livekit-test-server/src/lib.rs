//! TEST FIXTURE, not a product: a small LiveKit-compatible SFU used by interview-agent's test
//! suite, because no real livekit-server can be installed where the tests run.
//!
//! It speaks the LiveKit signalling protocol (protobuf over WebSocket: `/rtc` with dual peer
//! connections and `subscriber_primary`, `/rtc/v1` with a single peer connection), forwards
//! audio/video RTP (RED stripped to Opus for subscribers that only negotiate Opus) and relays
//! data packets. See README.md for what is and
//! is not implemented.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use livekit_test_server::{TestServer, TestServerOptions};
//! let server = TestServer::start(TestServerOptions::default()).await?;
//! println!("{}", server.url()); // ws://127.0.0.1:PORT, key "devkey", secret "secret"
//! server.shutdown().await;
//! # Ok(()) }
//! ```

// Deprecated protocol fields are still what livekit-server fills in.
#![allow(deprecated)]

mod agent;
mod auth;
mod data;
mod http;
mod ids;
mod media;
mod participant;
mod pc_events;
mod publish;
mod red;
mod room;
mod signal;
mod subscribe;
mod twirp;

pub use agent::{DispatchRecord, JobInfo, WorkerInfo};
pub use livekit_protocol as proto;
pub use room::RoomCreatedHook;

use livekit_api::access_token::TokenVerifier;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// Options for [`TestServer::start`].
#[derive(Clone, Debug)]
pub struct TestServerOptions {
    pub api_key: String,
    pub api_secret: String,
    /// Address to listen on (HTTP + WebSocket). Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// How long a participant whose signalling WebSocket dropped is kept for a resume.
    pub departure_timeout: Duration,
    /// Seconds, sent in JoinResponse.
    pub ping_interval: i32,
    /// Seconds, sent in JoinResponse.
    pub ping_timeout: i32,
    /// Offer `audio/red` (besides Opus) to subscribers, like livekit-server. Set to false to
    /// force the RED -> primary-Opus stripping path for every subscriber.
    pub offer_red_to_subscribers: bool,
}

impl Default for TestServerOptions {
    fn default() -> Self {
        Self {
            api_key: "devkey".into(),
            api_secret: "secret".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            departure_timeout: Duration::from_secs(3),
            ping_interval: 5,
            ping_timeout: 15,
            offer_red_to_subscribers: true,
        }
    }
}

pub(crate) struct ServerState {
    pub opts: TestServerOptions,
    pub verifier: TokenVerifier,
    pub rooms: room::Rooms,
    /// Fired by [`TestServer::drop_signal_connections`].
    pub kill: broadcast::Sender<()>,
    /// Agent workers and dispatch (`/agent`, AgentDispatchService).
    pub agents: Arc<agent::AgentService>,
}

/// Handle to a running test server.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    accept: JoinHandle<()>,
}

impl TestServer {
    /// Binds and starts serving in the background on the current tokio runtime.
    pub async fn start(opts: TestServerOptions) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind(opts.bind).await?;
        let addr = listener.local_addr()?;
        let (kill, _) = broadcast::channel(16);
        let state = Arc::new(ServerState {
            verifier: TokenVerifier::with_api_key(&opts.api_key, &opts.api_secret),
            opts,
            rooms: room::Rooms::default(),
            kill,
            agents: Arc::new(agent::AgentService::default()),
        });
        // Automatic dispatch: every new room goes to workers registered without a name.
        let weak = Arc::downgrade(&state);
        state.rooms.add_hook(Arc::new(move |room: &proto::Room| {
            if let Some(st) = weak.upgrade() {
                st.agents.room_created(&st, room);
            }
        }));
        let st = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let st = st.clone();
                        tokio::spawn(async move { handle_conn(st, stream).await });
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        tracing::info!("livekit-test-server listening on {addr}");
        Ok(TestServer {
            addr,
            state,
            accept,
        })
    }

    /// `ws://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn api_key(&self) -> &str {
        &self.state.opts.api_key
    }

    pub fn api_secret(&self) -> &str {
        &self.state.opts.api_secret
    }

    /// Test hook: closes every participant's signalling WebSocket abruptly (no close frame,
    /// no LeaveRequest) while keeping rooms, participants and peer connections. Participants
    /// that do not resume within `departure_timeout` are then removed.
    pub fn drop_signal_connections(&self) {
        let _ = self.state.kill.send(());
    }

    /// Identities of the participants currently in `room` (join order).
    pub fn participants(&self, room: &str) -> Vec<String> {
        self.state
            .rooms
            .get(room)
            .map(|r| {
                r.participants()
                    .iter()
                    .map(|p| p.identity.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes a participant like RoomService.RemoveParticipant (LeaveRequest
    /// PARTICIPANT_REMOVED). Returns false if there was no such participant.
    pub async fn remove_participant(&self, room: &str, identity: &str) -> bool {
        match self
            .state
            .rooms
            .get(room)
            .and_then(|r| r.find_identity(identity))
        {
            Some(p) => {
                p.remove(proto::DisconnectReason::ParticipantRemoved, true)
                    .await;
                true
            }
            None => false,
        }
    }

    /// Whether `identity` in `room` joined on `/rtc/v1` (single peer connection); None if
    /// there is no such participant.
    pub fn is_single_pc(&self, room: &str, identity: &str) -> Option<bool> {
        self.state
            .rooms
            .get(room)
            .and_then(|r| r.find_identity(identity))
            .map(|p| p.single_pc)
    }

    /// Full ParticipantInfo of everyone in `room` (tracks, attributes, state...).
    pub fn participant_infos(&self, room: &str) -> Vec<proto::ParticipantInfo> {
        self.state
            .rooms
            .get(room)
            .map(|r| r.participants().iter().map(|p| p.info()).collect())
            .unwrap_or_default()
    }

    /// Waits until `room` has at least `n` participants; false on timeout.
    pub async fn wait_for_participants(&self, room: &str, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.participants(room).len() < n {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Names of existing rooms.
    pub fn rooms(&self) -> Vec<String> {
        self.state
            .rooms
            .list()
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }

    /// Workers registered on `/agent`, in registration order.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.state.agents.workers()
    }

    /// Every job dispatched so far.
    pub fn jobs(&self) -> Vec<JobInfo> {
        self.state.agents.jobs()
    }

    /// Every availability offer and its answer, in order.
    pub fn dispatch_log(&self) -> Vec<DispatchRecord> {
        self.state.agents.dispatch_log()
    }

    /// Explicit dispatch (like AgentDispatchService.CreateDispatch): creates the room if needed.
    pub fn create_dispatch(
        &self,
        room: &str,
        agent_name: &str,
        metadata: &str,
    ) -> proto::AgentDispatch {
        let (r, _) = self.state.rooms.get_or_create(room, 300, 0, "");
        self.state
            .agents
            .create_dispatch(&self.state, &r.info(), agent_name, metadata)
    }

    /// Test hook: restart the agent service. Every worker connection drops abruptly and
    /// `/agent` answers 503 for `down_for`; rooms and media are untouched.
    pub fn restart_agent_service(&self, down_for: Duration) {
        self.state.agents.restart(down_for);
    }

    /// Registers a callback run whenever a room is created (extension point, e.g. agent dispatch).
    pub fn on_room_created(&self, hook: RoomCreatedHook) {
        self.state.rooms.add_hook(hook);
    }

    /// Stops accepting, disconnects everyone (LeaveRequest SERVER_SHUTDOWN) and closes PCs.
    pub async fn shutdown(self) {
        self.accept.abort();
        for room in self.state.rooms.list() {
            for p in room.participants() {
                p.remove(proto::DisconnectReason::ServerShutdown, true)
                    .await;
            }
            self.state.rooms.remove(&room.name);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn handle_conn(state: Arc<ServerState>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let req = match http::read_request(&mut stream).await {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!("bad request: {e}");
            let _ = http::write_response(&mut stream, 400, "text/plain", b"bad request").await;
            return;
        }
    };
    tracing::debug!(method = %req.method, path = %req.path, "http request");
    let path = req.path.trim_end_matches('/');
    if req.method == "OPTIONS" {
        let _ = http::write_preflight(&mut stream).await;
        return;
    }
    match path {
        "/rtc/validate" | "/rtc/v1/validate" => {
            let res = auth::verify(&state.verifier, auth::token_from(&req).as_deref())
                .and_then(|c| auth::check_join(&c));
            let (status, body) = match res {
                Ok(()) => (200, "success".to_string()),
                Err(msg) => (401, msg),
            };
            let _ = http::write_response(
                &mut stream,
                status,
                "text/plain; charset=utf-8",
                body.as_bytes(),
            )
            .await;
        }
        "/rtc" if req.is_websocket_upgrade() => signal::serve(state, stream, req, false).await,
        // Single peer connection join (WrappedJoinRequest in `join_request`).
        "/rtc/v1" if req.is_websocket_upgrade() => signal::serve(state, stream, req, true).await,
        "/agent" if req.is_websocket_upgrade() => agent::serve(state, stream, req).await,
        "/rtc" => {
            let _ = http::write_response(
                &mut stream,
                400,
                "text/plain",
                b"expected a websocket upgrade",
            )
            .await;
        }
        p if p.starts_with(twirp::PREFIX) || p.starts_with(twirp::DISPATCH_PREFIX) => {
            let (status, ct, body) = twirp::handle(&state, &req).await;
            let _ = http::write_response(&mut stream, status, &ct, &body).await;
        }
        "" | "/" if req.method == "GET" => {
            let _ = http::write_response(&mut stream, 200, "text/plain", b"OK").await;
        }
        // livekit-client checks reachability with `HEAD /`.
        "" | "/" if req.method == "HEAD" => {
            let _ = http::write_response(&mut stream, 200, "text/plain", b"").await;
        }
        // Includes a non-WebSocket `GET /rtc/v1`, which livekit-server also answers with 404.
        _ => {
            let _ = http::write_response(
                &mut stream,
                404,
                "text/plain; charset=utf-8",
                b"404 page not found\n",
            )
            .await;
        }
    }
}
