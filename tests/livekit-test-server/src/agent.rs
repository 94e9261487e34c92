//! TEST FIXTURE, not a product: LiveKit's agent side. Workers register on `/agent`
//! (`Authorization: Bearer <JWT with video.agent>`; the first message must be `register`), and
//! jobs are dispatched to them like livekit-server does: automatic dispatch of every new room
//! to workers registered with an empty agent name, explicit dispatch
//! (`AgentDispatchService/CreateDispatch`, `CreateRoom.agents`) to workers with that name. A job
//! is offered with `availability` to workers not reporting WS_FULL, in registration order; a
//! refusal (or no answer within 5 s) moves on to the next worker; an accepted job gets a
//! `JobAssignment` with a join token for the identity the worker chose (kind agent, empty url:
//! "use your own LIVEKIT_URL"). Deleting a room sends `termination` for its jobs. A worker that
//! reconnects reclaims its running jobs with `migrate_job`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message as _;
use proto::server_message::Message as ServerMsg;
use proto::worker_message::Message as WorkerMsg;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::http::{self, Request};
use crate::{auth, ids, ServerState};

const AVAILABILITY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a test can see of a registered worker.
#[derive(Debug, Clone)]
pub struct WorkerInfo {
    pub id: String,
    pub agent_name: String,
    /// Last status the worker reported (`WS_AVAILABLE` until it says otherwise).
    pub status: proto::WorkerStatus,
    pub load: f32,
    pub job_count: u32,
    pub draining: bool,
}

/// One offer of a job to a worker, and its answer.
#[derive(Debug, Clone)]
pub struct DispatchRecord {
    pub job_id: String,
    pub room: String,
    pub worker_id: String,
    /// `None`: no answer in time.
    pub available: Option<bool>,
}

/// What a test can see of a job.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub id: String,
    pub dispatch_id: String,
    pub room: String,
    pub agent_name: String,
    pub metadata: String,
    /// Worker running it (None: unassigned, or its worker is disconnected).
    pub worker_id: Option<String>,
    pub participant_identity: String,
    pub status: proto::JobStatus,
    pub error: String,
}

struct WorkerConn {
    info: WorkerInfo,
    tx: mpsc::Sender<ServerMsg>,
    pending: HashMap<String, oneshot::Sender<proto::AvailabilityResponse>>,
    kill: CancellationToken,
}

#[derive(Default)]
struct Inner {
    /// Registration order.
    workers: Vec<WorkerConn>,
    jobs: HashMap<String, JobInfo>,
    dispatches: HashMap<String, proto::AgentDispatch>,
    log: Vec<DispatchRecord>,
    down_until: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct AgentService {
    inner: Mutex<Inner>,
}

impl AgentService {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.lock().workers.iter().map(|w| w.info.clone()).collect()
    }

    pub fn jobs(&self) -> Vec<JobInfo> {
        self.lock().jobs.values().cloned().collect()
    }

    pub fn dispatch_log(&self) -> Vec<DispatchRecord> {
        self.lock().log.clone()
    }

    pub fn dispatches(&self, room: &str) -> Vec<proto::AgentDispatch> {
        self.lock()
            .dispatches
            .values()
            .filter(|d| room.is_empty() || d.room == room)
            .cloned()
            .collect()
    }

    /// Close every worker connection and refuse `/agent` for `down_for` (a restart of the
    /// agent service); rooms, participants and media are untouched.
    pub fn restart(&self, down_for: Duration) {
        let mut inner = self.lock();
        inner.down_until = Some(Instant::now() + down_for);
        for w in inner.workers.drain(..) {
            w.kill.cancel();
        }
        for job in inner.jobs.values_mut() {
            job.worker_id = None;
        }
    }

    /// Create a dispatch record and start offering the job (explicit dispatch).
    pub fn create_dispatch(
        self: &Arc<Self>,
        state: &Arc<ServerState>,
        room: &proto::Room,
        agent_name: &str,
        metadata: &str,
    ) -> proto::AgentDispatch {
        let dispatch = proto::AgentDispatch {
            id: ids::new_id("AD_"),
            agent_name: agent_name.to_string(),
            room: room.name.clone(),
            metadata: metadata.to_string(),
            state: Some(proto::AgentDispatchState {
                created_at: ids::now_millis(),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.lock()
            .dispatches
            .insert(dispatch.id.clone(), dispatch.clone());
        let job = proto::Job {
            id: ids::new_id("AJ_"),
            dispatch_id: dispatch.id.clone(),
            r#type: proto::JobType::JtRoom as i32,
            room: Some(room.clone()),
            metadata: metadata.to_string(),
            agent_name: agent_name.to_string(),
            state: Some(proto::JobState {
                status: proto::JobStatus::JsPending as i32,
                updated_at: ids::now_millis(),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.lock().jobs.insert(
            job.id.clone(),
            JobInfo {
                id: job.id.clone(),
                dispatch_id: dispatch.id.clone(),
                room: room.name.clone(),
                agent_name: agent_name.to_string(),
                metadata: metadata.to_string(),
                worker_id: None,
                participant_identity: String::new(),
                status: proto::JobStatus::JsPending,
                error: String::new(),
            },
        );
        let svc = self.clone();
        let state = state.clone();
        tokio::spawn(async move { svc.offer(state, job).await });
        dispatch
    }

    /// Offer `job` to eligible workers in order until one accepts; retry for a while when
    /// none is available (workers may be reconnecting).
    async fn offer(self: Arc<Self>, state: Arc<ServerState>, job: proto::Job) {
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            let candidates: Vec<(String, mpsc::Sender<ServerMsg>)> = self
                .lock()
                .workers
                .iter()
                .filter(|w| {
                    w.info.agent_name == job.agent_name
                        && w.info.status != proto::WorkerStatus::WsFull
                        && !w.info.draining
                })
                .map(|w| (w.info.id.clone(), w.tx.clone()))
                .collect();
            for (worker_id, tx) in candidates {
                let (reply_tx, reply_rx) = oneshot::channel();
                {
                    let mut inner = self.lock();
                    let Some(w) = inner.workers.iter_mut().find(|w| w.info.id == worker_id) else {
                        continue;
                    };
                    w.pending.insert(job.id.clone(), reply_tx);
                }
                let room = job
                    .room
                    .as_ref()
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                if tx
                    .send(ServerMsg::Availability(proto::AvailabilityRequest {
                        job: Some(job.clone()),
                        resuming: false,
                    }))
                    .await
                    .is_err()
                {
                    continue;
                }
                let answer = tokio::time::timeout(AVAILABILITY_TIMEOUT, reply_rx)
                    .await
                    .ok()
                    .and_then(|r| r.ok());
                self.lock().log.push(DispatchRecord {
                    job_id: job.id.clone(),
                    room: room.clone(),
                    worker_id: worker_id.clone(),
                    available: answer.as_ref().map(|a| a.available),
                });
                let Some(answer) = answer.filter(|a| a.available) else {
                    continue;
                };
                let identity = if answer.participant_identity.is_empty() {
                    format!("agent-{}", job.id)
                } else {
                    answer.participant_identity.clone()
                };
                let token =
                    match AccessToken::with_api_key(&state.opts.api_key, &state.opts.api_secret)
                        .with_identity(&identity)
                        .with_name(&answer.participant_name)
                        .with_kind("agent")
                        .with_metadata(&answer.participant_metadata)
                        .with_attributes(answer.participant_attributes.clone())
                        .with_grants(VideoGrants {
                            room_join: true,
                            room: room.clone(),
                            can_publish: Some(true),
                            can_subscribe: Some(true),
                            can_publish_data: Some(true),
                            can_update_own_metadata: Some(true),
                            agent: true,
                            ..Default::default()
                        })
                        .with_ttl(Duration::from_secs(3600))
                        .to_jwt()
                    {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::error!("cannot mint agent token: {e}");
                            return;
                        }
                    };
                {
                    let mut inner = self.lock();
                    if let Some(j) = inner.jobs.get_mut(&job.id) {
                        j.worker_id = Some(worker_id.clone());
                        j.participant_identity = identity.clone();
                    }
                }
                let _ = tx
                    .send(ServerMsg::Assignment(proto::JobAssignment {
                        job: Some(job.clone()),
                        url: None,
                        token,
                    }))
                    .await;
                tracing::info!(job_id = %job.id, %room, %worker_id, %identity, "job assigned");
                return;
            }
            if Instant::now() >= give_up {
                tracing::warn!(job_id = %job.id, "no worker accepted the job");
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A room was created: dispatch it automatically to unnamed workers, if any are registered.
    pub fn room_created(self: &Arc<Self>, state: &Arc<ServerState>, room: &proto::Room) {
        let any_unnamed = self
            .lock()
            .workers
            .iter()
            .any(|w| w.info.agent_name.is_empty());
        if any_unnamed {
            self.create_dispatch(state, room, "", "");
        }
    }

    /// A room was deleted: terminate its jobs.
    pub async fn room_deleted(&self, room: &str) {
        let targets: Vec<(String, mpsc::Sender<ServerMsg>)> = {
            let inner = self.lock();
            inner
                .jobs
                .values()
                .filter(|j| j.room == room)
                .filter_map(|j| {
                    let wid = j.worker_id.as_ref()?;
                    let w = inner.workers.iter().find(|w| &w.info.id == wid)?;
                    Some((j.id.clone(), w.tx.clone()))
                })
                .collect()
        };
        for (job_id, tx) in targets {
            let _ = tx
                .send(ServerMsg::Termination(proto::JobTermination { job_id }))
                .await;
        }
    }
}

/// Serve one `/agent` connection.
pub(crate) async fn serve(state: Arc<ServerState>, mut stream: TcpStream, req: Request) {
    let svc = state.agents.clone();
    if svc.lock().down_until.is_some_and(|t| Instant::now() < t) {
        let _ =
            http::write_response(&mut stream, 503, "text/plain", b"agent service restarting").await;
        return;
    }
    match auth::verify(&state.verifier, auth::token_from(&req).as_deref()) {
        Ok(claims) if claims.video.agent => {}
        Ok(_) => {
            let _ = http::write_response(
                &mut stream,
                401,
                "text/plain",
                b"permissions denied: token lacks the agent grant",
            )
            .await;
            return;
        }
        Err(msg) => {
            let _ = http::write_response(&mut stream, 401, "text/plain", msg.as_bytes()).await;
            return;
        }
    }
    if http::accept_websocket(&mut stream, &req).await.is_err() {
        return;
    }
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;

    // The first message must be `register`.
    let register = match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Binary(b)))) => proto::WorkerMessage::decode(&b[..])
            .ok()
            .and_then(|m| m.message),
        _ => None,
    };
    let Some(WorkerMsg::Register(reg)) = register else {
        tracing::warn!("worker did not register first; closing");
        let _ = ws.close(None).await;
        return;
    };
    let worker_id = ids::new_id("AW_");
    let resp = proto::ServerMessage {
        message: Some(ServerMsg::Register(proto::RegisterWorkerResponse {
            worker_id: worker_id.clone(),
            server_info: Some(proto::ServerInfo {
                version: "test-fixture".into(),
                protocol: 16,
                ..Default::default()
            }),
            ..Default::default()
        })),
    };
    if ws
        .send(Message::Binary(resp.encode_to_vec().into()))
        .await
        .is_err()
    {
        return;
    }
    let (tx, mut rx) = mpsc::channel::<ServerMsg>(64);
    let kill = CancellationToken::new();
    svc.lock().workers.push(WorkerConn {
        info: WorkerInfo {
            id: worker_id.clone(),
            agent_name: reg.agent_name.clone(),
            status: proto::WorkerStatus::WsAvailable,
            load: 0.0,
            job_count: 0,
            draining: false,
        },
        tx,
        pending: HashMap::new(),
        kill: kill.clone(),
    });
    tracing::info!(%worker_id, agent_name = %reg.agent_name, "worker registered");

    loop {
        tokio::select! {
            _ = kill.cancelled() => {
                // Abrupt, like a server process going away: no close frame.
                break;
            }
            out = rx.recv() => {
                let Some(msg) = out else { break };
                let bytes = proto::ServerMessage { message: Some(msg) }.encode_to_vec();
                if ws.send(Message::Binary(bytes.into())).await.is_err() {
                    break;
                }
            }
            frame = ws.next() => {
                let msg = match frame {
                    Some(Ok(Message::Binary(b))) => match proto::WorkerMessage::decode(&b[..]) {
                        Ok(m) => m.message,
                        Err(_) => continue,
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                let Some(msg) = msg else { continue };
                on_worker_message(&svc, &worker_id, msg, &mut ws).await;
            }
        }
    }
    let mut inner = svc.lock();
    inner.workers.retain(|w| w.info.id != worker_id);
    for job in inner.jobs.values_mut() {
        if job.worker_id.as_deref() == Some(&worker_id) {
            job.worker_id = None;
        }
    }
    tracing::info!(%worker_id, "worker disconnected");
}

async fn on_worker_message(
    svc: &AgentService,
    worker_id: &str,
    msg: WorkerMsg,
    ws: &mut WebSocketStream<TcpStream>,
) {
    match msg {
        WorkerMsg::Availability(a) => {
            let mut inner = svc.lock();
            if let Some(w) = inner.workers.iter_mut().find(|w| w.info.id == worker_id) {
                if let Some(reply) = w.pending.remove(&a.job_id) {
                    let _ = reply.send(a);
                }
            }
        }
        WorkerMsg::UpdateWorker(u) => {
            let mut inner = svc.lock();
            if let Some(w) = inner.workers.iter_mut().find(|w| w.info.id == worker_id) {
                if let Some(s) = u.status.and_then(|s| proto::WorkerStatus::try_from(s).ok()) {
                    w.info.status = s;
                }
                w.info.load = u.load;
                w.info.job_count = u.job_count;
                w.info.draining = u.draining;
            }
        }
        WorkerMsg::UpdateJob(u) => {
            let mut inner = svc.lock();
            if let Some(j) = inner.jobs.get_mut(&u.job_id) {
                j.status =
                    proto::JobStatus::try_from(u.status).unwrap_or(proto::JobStatus::JsPending);
                j.error = u.error;
            }
        }
        WorkerMsg::MigrateJob(m) => {
            let mut inner = svc.lock();
            for id in m.job_ids {
                if let Some(j) = inner.jobs.get_mut(&id) {
                    j.worker_id = Some(worker_id.to_string());
                }
            }
        }
        WorkerMsg::Ping(p) => {
            let pong = proto::ServerMessage {
                message: Some(ServerMsg::Pong(proto::WorkerPong {
                    last_timestamp: p.timestamp,
                    timestamp: ids::now_millis(),
                })),
            };
            let _ = ws.send(Message::Binary(pong.encode_to_vec().into())).await;
        }
        _ => {}
    }
}
