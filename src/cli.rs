//! Command-line interface: parses flags, loads configuration, runs the chosen command.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::backend::{BackendClient, BackendOptions};
use crate::config::{Config, Overrides};
use crate::error::Error;
use crate::providers::RetryPolicy;
use crate::room::{Room, RoomOptions};
use crate::session::{
    run_echo, EchoOptions, EchoRunner, InterviewRunner, JobSpec, SessionRunner, VoiceRunner,
};
use crate::telemetry::{self, LogFormat};
use crate::token::join_token;
use crate::worker::{self, WorkerOptions};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    name = "interview-agent",
    version,
    about = "A realtime AI interviewer for LiveKit rooms"
)]
pub struct Cli {
    /// Configuration file (default: ./agent.toml when present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

/// Server and credentials; each falls back to the environment, then agent.toml.
#[derive(Args, Debug, Clone, Default)]
pub struct ServerArgs {
    /// LiveKit server URL.
    #[arg(long, env = "LIVEKIT_URL")]
    pub url: Option<String>,
    #[arg(long, env = "LIVEKIT_API_KEY")]
    pub api_key: Option<String>,
    /// Prefer the LIVEKIT_API_SECRET environment variable: flags show up in process lists.
    #[arg(long, env = "LIVEKIT_API_SECRET", hide_env_values = true)]
    pub api_secret: Option<String>,
}

/// What a dispatched job can run (`voice.session`).
const SESSION_KINDS: [&str; 3] = ["interview", "voice", "echo"];

/// Worker flags (production `start` and development `dev`).
#[derive(Args, Debug, Clone, Default)]
pub struct WorkerArgs {
    /// Agent name for explicit dispatch (empty: dispatched into every room automatically).
    #[arg(long, env = "LIVEKIT_AGENT_NAME")]
    pub agent_name: Option<String>,
    /// Interviews this process runs at once (0 = no limit).
    #[arg(long)]
    pub max_jobs: Option<usize>,
    /// Health/metrics HTTP port.
    #[arg(long)]
    pub health_port: Option<u16>,
    /// What each job runs: "interview" (the interviewer, the default; needs `[backend] url`),
    /// "voice" (a free conversation, no backend) or "echo" (media diagnostic).
    #[arg(long, value_parser = SESSION_KINDS)]
    pub session: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a whole interview on this machine: the bundled LiveKit test server, the example
    /// hiring backend, the local AI stack (or OpenAI with OPENAI_API_KEY), this agent and a
    /// scripted candidate. Prints the conversation and the scorecard. (scripts/demo.sh sets up
    /// and runs this.)
    Demo {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
        /// Also write the stored result (JSON) here.
        #[arg(long)]
        result: Option<PathBuf>,
        /// Take the interview yourself in a browser: prints the candidate page's link and the
        /// code instead of running the scripted candidate, waits for the interview to end.
        #[arg(long)]
        browser: bool,
        /// Port of the hiring backend (the candidate page's link); default any free port.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Deliver the unsent interview results in the spool now (`interview.spool_dir`), print
    /// what happened and exit (1 if something is still undelivered). The worker does this by
    /// itself at start and every `interview.redeliver_secs`.
    Deliver,
    /// Run the agent worker (production): register with LiveKit and take dispatched interviews.
    Start(WorkerArgs),
    /// Run the worker with development defaults: ws://localhost:7880, devkey/secret, pretty
    /// logs, no load limit, random health port.
    Dev(WorkerArgs),
    /// Join a room directly (mints its own token from key/secret).
    Connect {
        #[arg(long)]
        room: String,
        #[arg(long)]
        identity: Option<String>,
        /// Media diagnostic instead of the voice agent: play back what is heard after a delay.
        #[arg(long)]
        echo: bool,
        /// Echo delay in milliseconds (default: `echo.delay_ms` in agent.toml).
        #[arg(long)]
        echo_delay_ms: Option<u64>,
        /// Also send a sine tone at this frequency (Hz), for one-way checks.
        #[arg(long)]
        tone: Option<f64>,
        /// Leave after this many seconds (default: run until Ctrl-C / SIGTERM).
        #[arg(long)]
        duration_secs: Option<u64>,
        /// "interview" (default; needs `[backend] url`), "voice" (free conversation).
        #[arg(long, value_parser = ["interview", "voice"])]
        session: Option<String>,
        /// Job metadata JSON, as a dispatch would carry it, e.g. '{"applicationId": "42"}'.
        #[arg(long)]
        metadata: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print a join token for a candidate (or any participant) and the server URL.
    Token {
        #[arg(long)]
        room: String,
        #[arg(long)]
        identity: String,
        #[arg(long)]
        name: Option<String>,
        /// Token lifetime in seconds.
        #[arg(long, default_value_t = 6 * 3600)]
        ttl_secs: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn overrides(cli: &Cli, server: &ServerArgs) -> Overrides {
    Overrides {
        url: server.url.clone(),
        api_key: server.api_key.clone(),
        api_secret: server.api_secret.clone(),
        agent_name: None,
        session: None,
        max_jobs: None,
        health_port: None,
        log_level: cli.log_level.clone(),
        log_format: cli.log_format,
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Forward every SIGTERM/SIGINT as one item: the worker drains on the first, stops on the second.
fn signal_channel() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            shutdown_signal().await;
            if tx.send(()).await.is_err() {
                break;
            }
        }
    });
    rx
}

async fn run_worker(cli: &Cli, args: &WorkerArgs, dev: bool) -> Result<(), Error> {
    let mut o = overrides(cli, &args.server);
    o.agent_name = args.agent_name.clone();
    o.max_jobs = args.max_jobs;
    o.health_port = args.health_port;
    o.session = args.session.clone();
    let config = Config::load(cli.config.as_deref(), &o)?;
    telemetry::init(
        &config.log.level,
        if dev {
            LogFormat::Pretty
        } else {
            config.log.format
        },
    );
    let host: std::net::IpAddr = config.worker.health_host.parse().map_err(|_| {
        Error::Other(format!(
            "worker.health_host {:?} is not an IP address",
            config.worker.health_host
        ))
    })?;
    let port = if dev && args.health_port.is_none() {
        0
    } else {
        config.worker.health_port
    };
    let opts = WorkerOptions {
        url: config.livekit.url.clone(),
        api_key: config.livekit.api_key.clone(),
        api_secret: config.livekit.api_secret.clone(),
        agent_name: config.agent.name_for_dispatch(),
        max_jobs: config.worker.max_jobs,
        load_threshold: if dev {
            f32::INFINITY
        } else {
            config.worker.load_threshold
        },
        health_addr: std::net::SocketAddr::new(host, port),
        drain_timeout: Duration::from_secs(config.worker.drain_timeout_secs),
        ..WorkerOptions::default()
    };
    let stop = CancellationToken::new();
    let runner = session_runner(&config, &stop)?;
    let result = worker::run(opts, runner, signal_channel(), |h| {
        println!("health on http://{}", h.health_addr);
    })
    .await;
    stop.cancel();
    result?;
    Ok(())
}

/// The session each job runs, from `voice.session`. The interviewer also starts delivering
/// any unsent results in its spool (now, then every `interview.redeliver_secs`) until `stop`.
fn session_runner(
    config: &Config,
    stop: &CancellationToken,
) -> Result<Arc<dyn SessionRunner>, Error> {
    if config.voice.session == "interview" {
        let runner = Arc::new(interview_runner(config)?);
        let (r, stop) = (runner.clone(), stop.clone());
        let every = Duration::from_secs(config.interview.redeliver_secs.max(10));
        tokio::spawn(async move { r.redeliver_loop(every, stop).await });
        return Ok(runner);
    }
    if config.voice.session == "echo" {
        return Ok(Arc::new(EchoRunner {
            room_options: RoomOptions::from_config(&config.room),
            delay: Duration::from_millis(config.echo.delay_ms),
            ..EchoRunner::default()
        }));
    }
    config.require_ai_key()?;
    let runner = VoiceRunner::from_config(config).map_err(|e| Error::Other(e.to_string()))?;
    Ok(Arc::new(runner))
}

/// The interviewer with the GraphQL backend from `[backend]`.
pub fn interview_runner(config: &Config) -> Result<InterviewRunner, Error> {
    if config.backend.url.trim().is_empty() {
        return Err(Error::Config(crate::config::ConfigError::Invalid {
            key: "backend.url",
            message: "is empty (set INTERVIEW_BACKEND_URL): the interviewer needs the hiring \
                      backend's GraphQL endpoint; --session voice runs a free conversation \
                      without one"
                .into(),
        }));
    }
    config.require_ai_key()?;
    let backend = Arc::new(
        BackendClient::new(BackendOptions {
            url: config.backend.url.clone(),
            token: (!config.backend.token.is_empty()).then(|| config.backend.token.clone()),
            timeout: Duration::from_millis(config.backend.timeout_ms),
            retry: RetryPolicy {
                max_attempts: config.backend.attempts,
                ..BackendOptions::default().retry
            },
            ..BackendOptions::default()
        })
        .map_err(|e| Error::Other(e.to_string()))?,
    );
    InterviewRunner::from_config(config, backend.clone(), backend)
        .map_err(|e| Error::Other(e.to_string()))
}

pub async fn run(cli: Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Demo {
            timeout_secs,
            result,
            browser,
            port,
        } => {
            telemetry::init(
                cli.log_level.as_deref().unwrap_or("error"),
                cli.log_format.unwrap_or(LogFormat::Pretty),
            );
            let mut opts = crate::demo::DemoOptions::discover()?;
            opts.timeout = Duration::from_secs(*timeout_secs);
            opts.result_path = result.clone();
            opts.browser = *browser;
            opts.backend_port = *port;
            if *browser && *timeout_secs == 600 {
                opts.timeout = Duration::from_secs(3600);
            }
            crate::demo::run(opts).await.map(|_| ())
        }
        Command::Start(args) => run_worker(&cli, args, false).await,
        Command::Deliver => {
            let mut o = overrides(&cli, &ServerArgs::default());
            o.session = Some("interview".into());
            let config = Config::load_unchecked_livekit(cli.config.as_deref(), &o)?;
            telemetry::init(&config.log.level, config.log.format);
            let runner = interview_runner(&config)?;
            let report = crate::interview::deliver_pending(
                &runner.spool,
                runner.sink.as_ref(),
                &runner.options.delivery,
            )
            .await
            .map_err(|e| Error::Other(e.to_string()))?;
            println!(
                "delivered {} (partial {}), failed {}, unmarked {}, unrecoverable {}",
                report.delivered.len(),
                report.partial.len(),
                report.failed.len(),
                report.unmarked.len(),
                report.unrecoverable.len()
            );
            if report.all_delivered() {
                Ok(())
            } else {
                Err(Error::Other(
                    "some interview results are still undelivered".into(),
                ))
            }
        }
        Command::Dev(args) => run_worker(&cli, args, true).await,
        Command::Token {
            room,
            identity,
            name,
            ttl_secs,
            server,
        } => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, server))?;
            let token = join_token(
                &config.livekit.api_key,
                &config.livekit.api_secret,
                room,
                identity,
                name.as_deref(),
                Duration::from_secs(*ttl_secs),
            )?;
            println!("LIVEKIT_URL={}", config.livekit.url);
            println!("TOKEN={token}");
            Ok(())
        }
        Command::Connect {
            room,
            identity,
            echo,
            echo_delay_ms,
            tone,
            duration_secs,
            session,
            metadata,
            server,
        } => {
            let mut o = overrides(&cli, server);
            o.session = session.clone();
            let config = Config::load(cli.config.as_deref(), &o)?;
            telemetry::init(&config.log.level, config.log.format);
            let identity = identity
                .clone()
                .unwrap_or_else(|| config.agent.identity.clone());
            let token = join_token(
                &config.livekit.api_key,
                &config.livekit.api_secret,
                room,
                &identity,
                Some(&config.agent.name),
                Duration::from_secs(6 * 3600),
            )?;
            if !*echo && tone.is_none() {
                // The voice agent, joined directly (no dispatch).
                let cancel = CancellationToken::new();
                let runner = session_runner(&config, &cancel)?;
                let (metadata, problem) =
                    JobSpec::parse_metadata(metadata.as_deref().unwrap_or(""));
                if let Some(problem) = problem {
                    return Err(Error::Other(format!("--metadata: {problem}")));
                }
                let job = JobSpec {
                    job_id: format!("connect-{room}"),
                    room_name: room.clone(),
                    url: config.livekit.url.clone(),
                    token,
                    metadata,
                    agent_name: config.agent.name.clone(),
                };
                let stop = cancel.clone();
                let limit = duration_secs.map(Duration::from_secs);
                tokio::spawn(async move {
                    match limit {
                        Some(d) => {
                            tokio::select! { _ = shutdown_signal() => {}, _ = tokio::time::sleep(d) => {} }
                        }
                        None => shutdown_signal().await,
                    }
                    stop.cancel();
                });
                println!("voice agent joining room {room} as {identity}");
                return runner
                    .run(job, cancel)
                    .await
                    .map_err(|e| Error::Other(e.to_string()));
            }
            let opts = RoomOptions::from_config(&config.room);
            let (room_handle, events) = Room::connect(&config.livekit.url, &token, opts).await?;
            println!(
                "joined room {} as {}",
                room_handle.name(),
                room_handle.local_identity()
            );
            let echo_opts = EchoOptions {
                delay: Duration::from_millis(echo_delay_ms.unwrap_or(config.echo.delay_ms)),
                duration: duration_secs.map(Duration::from_secs),
                tone_hz: *tone,
                echo: *echo,
            };
            let stats = run_echo(&room_handle, events, echo_opts, shutdown_signal()).await;
            room_handle.close().await;
            let stats = stats?;
            println!(
                "left room: {} track(s) heard, {} frames heard, {} frames sent",
                stats.tracks, stats.frames_heard, stats.frames_sent
            );
            Ok(())
        }
    }
}
