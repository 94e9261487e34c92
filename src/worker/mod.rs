//! The LiveKit agent worker: registers on `/agent`, answers availability, runs one session
//! per assignment as a tokio task (panics contained, reported JS_FAILED), reports load and
//! job status, reconnects with backoff (migrating running jobs), serves health/metrics, and
//! drains on SIGTERM/SIGINT (a second signal exits at once).

mod connection;
mod error;
mod health;
mod load;
mod metrics;
mod state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::{SinkExt, StreamExt};
use livekit_protocol as proto;
use proto::server_message::Message as ServerMsg;
use proto::worker_message::Message as WorkerMsg;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

pub use connection::agent_url;
pub use error::WorkerError;
pub use load::rss_bytes;

use crate::config::Secret;
use crate::session::{JobSpec, SessionRunner};
use connection::Ws;
use state::{JobEntry, WorkerState};

/// Reported in `/worker`, like the reference worker's protocol_version.
pub const WORKER_PROTOCOL_VERSION: u32 = 1;
/// How long an accepted job waits for its assignment (the reference worker's value).
const ASSIGNMENT_TIMEOUT: Duration = Duration::from_millis(7_500);

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub url: String,
    pub api_key: String,
    pub api_secret: Secret,
    /// Empty: automatic dispatch into every room. Named: explicit dispatch only.
    pub agent_name: String,
    /// 0 = no limit.
    pub max_jobs: usize,
    /// Full at or above this load (0..1); `f32::INFINITY` disables the check (dev).
    pub load_threshold: f32,
    /// Health/metrics HTTP address; port 0 picks a free port.
    pub health_addr: SocketAddr,
    pub drain_timeout: Duration,
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    /// `None`: retry forever (production). Bad credentials never retry.
    pub max_reconnect_attempts: Option<u32>,
    pub status_interval: Duration,
    pub load_sample_interval: Duration,
    pub connect_timeout: Duration,
    pub version: String,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            url: "ws://localhost:7880".into(),
            api_key: "devkey".into(),
            api_secret: Secret::new("secret"),
            agent_name: String::new(),
            max_jobs: 16,
            load_threshold: 0.7,
            health_addr: SocketAddr::from(([0, 0, 0, 0], 8081)),
            drain_timeout: Duration::from_secs(3600),
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(15),
            max_reconnect_attempts: None,
            status_interval: Duration::from_millis(2_500),
            load_sample_interval: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(10),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl WorkerOptions {
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.reconnect_initial
            .saturating_mul(factor)
            .min(self.reconnect_max)
    }
}

/// Something the caller can watch: the health address once bound.
pub struct WorkerHandle {
    pub health_addr: SocketAddr,
}

/// How a connected session ended.
enum Exit {
    /// Drained or told to stop: leave the run loop.
    Done,
    /// Connection lost: reconnect.
    Lost(String),
}

struct Worker {
    opts: WorkerOptions,
    state: Arc<WorkerState>,
    runner: Arc<dyn SessionRunner>,
    out_tx: mpsc::Sender<WorkerMsg>,
    out_rx: mpsc::Receiver<WorkerMsg>,
    jobs_changed: Arc<Notify>,
    /// Availability answered yes, assignment not yet received: job id -> deadline.
    pending: HashMap<String, Instant>,
    drain_deadline: Option<Instant>,
}

/// Run the worker until drained or stopped. `signals` delivers one item per SIGTERM/SIGINT:
/// the first starts a drain, the second stops at once. `on_ready` gets the bound health address.
pub async fn run(
    opts: WorkerOptions,
    runner: Arc<dyn SessionRunner>,
    mut signals: mpsc::Receiver<()>,
    on_ready: impl FnOnce(WorkerHandle),
) -> Result<(), WorkerError> {
    if opts.url.trim().is_empty() || opts.api_key.is_empty() || opts.api_secret.is_empty() {
        return Err(WorkerError::Invalid(
            "url, api key and api secret are required".into(),
        ));
    }
    map_large_buffers_lazily();
    let state = Arc::new(WorkerState::new(
        opts.agent_name.clone(),
        opts.version.clone(),
        opts.max_jobs,
        opts.load_threshold,
    ));
    let stop = CancellationToken::new();
    let health_addr = health::serve(opts.health_addr, state.clone(), stop.clone())
        .await
        .map_err(WorkerError::Health)?;
    tracing::info!(%health_addr, agent_name = %opts.agent_name, "worker health endpoint listening");
    on_ready(WorkerHandle { health_addr });
    spawn_load_sampler(
        state.clone(),
        opts.load_sample_interval,
        opts.max_jobs,
        stop.clone(),
    );

    let (out_tx, out_rx) = mpsc::channel(256);
    let mut worker = Worker {
        opts,
        state,
        runner,
        out_tx,
        out_rx,
        jobs_changed: Arc::new(Notify::new()),
        pending: HashMap::new(),
        drain_deadline: None,
    };
    let result = worker.run_loop(&mut signals).await;
    stop.cancel();
    result
}

fn spawn_load_sampler(
    state: Arc<WorkerState>,
    every: Duration,
    max_jobs: usize,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        let mut sampler = load::CpuSampler::new(5);
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    let cpu = sampler.sample(std::time::Instant::now(), load::process_cpu_time());
                    state.set_load(load::load_figure(cpu, state.job_count(), max_jobs));
                }
            }
        }
    });
}

impl Worker {
    async fn run_loop(&mut self, signals: &mut mpsc::Receiver<()>) -> Result<(), WorkerError> {
        let mut attempt = 0u32;
        loop {
            if self.drained() {
                return Ok(());
            }
            match self.connect().await {
                Ok(ws) => {
                    attempt = 0;
                    match self.session(ws, signals).await {
                        Exit::Done => return self.finish().await,
                        Exit::Lost(reason) => {
                            self.state.set_registered(None);
                            self::metrics::Metrics::inc(&self.state.metrics.reconnects);
                            tracing::warn!("agent connection lost: {reason}; reconnecting");
                        }
                    }
                }
                Err(WorkerError::Unauthorized(m)) => return Err(WorkerError::Unauthorized(m)),
                Err(WorkerError::Invalid(m)) => return Err(WorkerError::Invalid(m)),
                Err(e) => {
                    attempt += 1;
                    if self
                        .opts
                        .max_reconnect_attempts
                        .is_some_and(|max| attempt >= max)
                    {
                        return Err(e);
                    }
                    let delay = self.opts.backoff(attempt);
                    tracing::warn!(attempt, ?delay, "{e}; retrying");
                    let sleep = tokio::time::sleep(delay);
                    tokio::pin!(sleep);
                    loop {
                        tokio::select! {
                            _ = &mut sleep => break,
                            s = signals.recv() => {
                                if self.on_signal(s.is_none()) { return self.finish().await; }
                            }
                            _ = self.jobs_changed.notified() => {
                                if self.drained() { return Ok(()); }
                            }
                        }
                    }
                }
            }
        }
    }

    async fn connect(&mut self) -> Result<Ws, WorkerError> {
        let mut ws = connection::open(
            &self.opts.url,
            &self.opts.api_key,
            &self.opts.api_secret,
            self.opts.connect_timeout,
        )
        .await?;
        let reg = connection::register(
            &mut ws,
            proto::RegisterWorkerRequest {
                r#type: proto::JobType::JtRoom as i32,
                agent_name: self.opts.agent_name.clone(),
                version: self.opts.version.clone(),
                allowed_permissions: Some(proto::ParticipantPermission {
                    can_publish: true,
                    can_subscribe: true,
                    can_publish_data: true,
                    can_update_metadata: true,
                    #[allow(deprecated)] // still what the reference worker sends
                    agent: true,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await?;
        tracing::info!(worker_id = %reg.worker_id, url = %self.opts.url, agent_name = %self.opts.agent_name, "worker registered");
        self.state.set_registered(Some(reg.worker_id));
        let running = self.state.job_ids();
        if !running.is_empty() {
            // Tell the server which interviews are still running here so they carry on.
            tracing::info!(
                jobs = running.len(),
                "reporting running jobs after reconnect"
            );
            ws.send(connection::encode(WorkerMsg::MigrateJob(
                proto::MigrateJobRequest { job_ids: running },
            )))
            .await
            .map_err(|e| WorkerError::Protocol(e.to_string()))?;
        }
        Ok(ws)
    }

    fn drained(&self) -> bool {
        self.state.draining.load(Ordering::SeqCst) && self.state.job_count() == 0
    }

    /// Handle a shutdown signal; true means stop now.
    fn on_signal(&mut self, channel_closed: bool) -> bool {
        if channel_closed {
            return false; // nobody will ever signal: not a request to stop
        }
        if self.state.draining.swap(true, Ordering::SeqCst) {
            tracing::warn!("second signal: stopping now, cancelling running jobs");
            return true;
        }
        self.drain_deadline = Some(Instant::now() + self.opts.drain_timeout);
        tracing::info!(
            jobs = self.state.job_count(),
            timeout = ?self.opts.drain_timeout,
            "draining: refusing new jobs, waiting for running interviews"
        );
        false
    }

    /// Stop: cancel what still runs and give it a moment to report.
    async fn finish(&mut self) -> Result<(), WorkerError> {
        for id in self.state.job_ids() {
            self.state.cancel_job(&id);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.state.job_count() > 0 && Instant::now() < deadline {
            let _ = tokio::time::timeout(Duration::from_millis(100), self.jobs_changed.notified())
                .await;
        }
        tracing::info!("worker stopped");
        Ok(())
    }

    fn status_update(&self) -> WorkerMsg {
        let draining = self.state.draining.load(Ordering::SeqCst);
        let status = if draining || self.state.is_full() {
            proto::WorkerStatus::WsFull
        } else {
            proto::WorkerStatus::WsAvailable
        };
        WorkerMsg::UpdateWorker(proto::UpdateWorkerStatus {
            status: Some(status as i32),
            load: self.state.load(),
            job_count: self.state.job_count() as u32,
            draining,
            ..Default::default()
        })
    }

    /// One registered connection, until it drops or we are done.
    async fn session(&mut self, mut ws: Ws, signals: &mut mpsc::Receiver<()>) -> Exit {
        let mut status_tick = tokio::time::interval(self.opts.status_interval);
        let mut ping_tick = tokio::time::interval(Duration::from_secs(10));
        let mut last_heard = Instant::now();
        if ws
            .send(connection::encode(self.status_update()))
            .await
            .is_err()
        {
            return Exit::Lost("cannot send status".into());
        }
        loop {
            if self.drained() {
                // Deliver the last job updates before saying goodbye.
                while let Ok(msg) = self.out_rx.try_recv() {
                    let _ = ws.send(connection::encode(msg)).await;
                }
                let _ = ws.send(connection::encode(self.status_update())).await;
                let _ = ws.close(None).await;
                tracing::info!("drained: all jobs finished");
                return Exit::Done;
            }
            if self.drain_deadline.is_some_and(|d| Instant::now() >= d) {
                tracing::warn!(jobs = self.state.job_count(), "drain timeout reached");
                let _ = ws.close(None).await;
                return Exit::Done;
            }
            tokio::select! {
                s = signals.recv() => {
                    if self.on_signal(s.is_none()) {
                        let _ = ws.close(None).await;
                        return Exit::Done;
                    }
                    if ws.send(connection::encode(self.status_update())).await.is_err() {
                        return Exit::Lost("cannot send status".into());
                    }
                }
                frame = ws.next() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Binary(b))) => match connection::decode(&b) {
                            Ok(Some(msg)) => self.on_server_message(msg).await,
                            Ok(None) => {}
                            Err(e) => tracing::warn!("{e}"),
                        },
                        Some(Ok(Message::Close(f))) => return Exit::Lost(format!("server closed: {f:?}")),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Exit::Lost(e.to_string()),
                        None => return Exit::Lost("connection ended".into()),
                    }
                }
                Some(msg) = self.out_rx.recv() => {
                    if let Err(e) = ws.send(connection::encode(msg.clone())).await {
                        // Keep job updates for the next connection.
                        let _ = self.out_tx.try_send(msg);
                        return Exit::Lost(e.to_string());
                    }
                }
                _ = status_tick.tick() => {
                    self.expire_pending();
                    if ws.send(connection::encode(self.status_update())).await.is_err() {
                        return Exit::Lost("cannot send status".into());
                    }
                }
                _ = ping_tick.tick() => {
                    if last_heard.elapsed() > Duration::from_secs(30) {
                        return Exit::Lost("no traffic from the server for 30 s".into());
                    }
                    if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return Exit::Lost("cannot send ping".into());
                    }
                }
                _ = self.jobs_changed.notified() => {}
            }
        }
    }

    fn expire_pending(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for id in expired {
            self.pending.remove(&id);
            self.state.release();
            tracing::warn!(job_id = %id, "assignment timed out");
        }
    }

    async fn on_server_message(&mut self, msg: ServerMsg) {
        match msg {
            ServerMsg::Availability(req) => self.on_availability(req).await,
            ServerMsg::Assignment(a) => self.on_assignment(a),
            ServerMsg::Termination(t) => {
                if self.state.cancel_job(&t.job_id) {
                    tracing::info!(job_id = %t.job_id, "job terminated by the server");
                }
            }
            ServerMsg::Register(_) | ServerMsg::Pong(_) => {}
            ServerMsg::GoAway(_) => tracing::info!("server sent go-away"),
        }
    }

    async fn on_availability(&mut self, req: proto::AvailabilityRequest) {
        let Some(job) = req.job else { return };
        let room = job
            .room
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let accept = self.state.reserve();
        let mut resp = proto::AvailabilityResponse {
            job_id: job.id.clone(),
            available: accept,
            ..Default::default()
        };
        if accept {
            self.pending
                .insert(job.id.clone(), Instant::now() + ASSIGNMENT_TIMEOUT);
            resp.participant_identity = format!("agent-{}", job.id);
            resp.participant_name = if self.opts.agent_name.is_empty() {
                "interview-agent".into()
            } else {
                self.opts.agent_name.clone()
            };
            resp.participant_attributes
                .insert("lk.agent.name".into(), self.opts.agent_name.clone());
            tracing::info!(job_id = %job.id, %room, "accepting job");
        } else {
            self::metrics::Metrics::inc(&self.state.metrics.jobs_refused);
            tracing::info!(job_id = %job.id, %room, status = self.state.status_name(), "refusing job");
        }
        let _ = self.out_tx.send(WorkerMsg::Availability(resp)).await;
    }

    fn on_assignment(&mut self, a: proto::JobAssignment) {
        let Some(job) = a.job else { return };
        if self.pending.remove(&job.id).is_none() {
            tracing::warn!(job_id = %job.id, "assignment for a job we did not accept (or accepted too long ago)");
            return;
        }
        self.state.release();
        let (metadata, problem) = JobSpec::parse_metadata(&job.metadata);
        if let Some(p) = problem {
            tracing::warn!(job_id = %job.id, "{p}");
        }
        let spec = JobSpec {
            job_id: job.id.clone(),
            room_name: job
                .room
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            url: a
                .url
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| self.opts.url.clone()),
            token: a.token,
            metadata,
            agent_name: job.agent_name.clone(),
        };
        let cancel = CancellationToken::new();
        self.state.insert_job(
            job.id.clone(),
            JobEntry {
                room: spec.room_name.clone(),
                started: SystemTime::now(),
                cancel: cancel.clone(),
            },
        );
        self::metrics::Metrics::inc(&self.state.metrics.jobs_started);
        let _ = self
            .out_tx
            .try_send(update_job(&job.id, proto::JobStatus::JsRunning, ""));
        tracing::info!(job_id = %job.id, room = %spec.room_name, "job started");

        let runner = self.runner.clone();
        let session = tokio::spawn(async move { runner.run(spec, cancel).await });
        let state = self.state.clone();
        let out = self.out_tx.clone();
        let changed = self.jobs_changed.clone();
        let id = job.id;
        tokio::spawn(async move {
            let (status, error) = match session.await {
                Ok(Ok(())) => (proto::JobStatus::JsSuccess, String::new()),
                Ok(Err(e)) => (proto::JobStatus::JsFailed, e.to_string()),
                Err(e) if e.is_panic() => (
                    proto::JobStatus::JsFailed,
                    "the session panicked".to_string(),
                ),
                Err(_) => (
                    proto::JobStatus::JsFailed,
                    "the session was aborted".to_string(),
                ),
            };
            // Queue the final status before the job leaves the registry, so a drain that
            // sees zero jobs always has this update to send.
            let _ = out.send(update_job(&id, status, &error)).await;
            state.remove_job(&id);
            if state.job_count() == 0 {
                return_freed_memory();
            }
            if status == proto::JobStatus::JsSuccess {
                self::metrics::Metrics::inc(&state.metrics.jobs_succeeded);
                tracing::info!(job_id = %id, "job finished");
            } else {
                self::metrics::Metrics::inc(&state.metrics.jobs_failed);
                tracing::error!(job_id = %id, "job failed: {error}");
            }
            changed.notify_waiters();
            changed.notify_one();
        });
    }
}

/// Give the memory of finished interviews back to the system once none is running. glibc
/// keeps freed heap in its arenas (the peak of a burst of interviews would stay the idle
/// worker's size); trimming when the last job ends costs nothing while interviews run.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Serve allocations of 64 KiB and more from fresh mappings. Every peer connection keeps
/// zeroed UDP receive buffers sized for GRO (64 datagrams, ~96 KiB each, two per connection)
/// of which a 20 ms audio packet touches the first page: mapped, the rest is never resident;
/// from the heap (glibc's default, whose threshold also drifts up to 32 MiB as mappings are
/// freed), each is ~96 KiB of real memory per session. A fixed threshold also stops that drift.
fn map_large_buffers_lazily() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator parameter; it has no preconditions.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
    }
}

fn update_job(id: &str, status: proto::JobStatus, error: &str) -> WorkerMsg {
    WorkerMsg::UpdateJob(proto::UpdateJobStatus {
        job_id: id.to_string(),
        status: status as i32,
        error: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backoff_doubles_from_half_a_second_to_fifteen() {
        let o = WorkerOptions::default();
        let d: Vec<u64> = (1..=7).map(|a| o.backoff(a).as_millis() as u64).collect();
        assert_eq!(d, vec![500, 1000, 2000, 4000, 8000, 15000, 15000]);
    }
}
