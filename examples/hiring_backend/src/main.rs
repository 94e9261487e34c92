//! `hiring-backend`: runs the example hiring backend until Ctrl-C / SIGTERM. Prints
//! `READY http://HOST:PORT` on stdout once listening and, with `--seed-demo`,
//! `APPLICATION <id>` for a demo application. Logs go to stderr (`RUST_LOG`, default info).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hiring_backend::{start, BackendOptions, LiveKitSettings, NewApplication, Notifier};

#[derive(Parser)]
#[command(
    name = "hiring-backend",
    about = "Example hiring backend for interview-agent"
)]
struct Args {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// SQLite database file (created when missing). Without it: in memory.
    #[arg(long)]
    db: Option<PathBuf>,
    /// The machines' credential (the interview agent's `backend.token`): operator fields of
    /// /graphql and the recording upload need `Authorization: Bearer <token>`. Without it and
    /// without --operator-password, both are generated and printed once (a line
    /// `CREDENTIALS ...` on stdout, never in the logs).
    #[arg(long, env = "HIRING_BACKEND_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// The hiring team's console password (`/console`).
    #[arg(long, env = "HIRING_BACKEND_OPERATOR_PASSWORD", hide_env_values = true)]
    operator_password: Option<String>,
    /// Where interview recordings are kept (default: next to --db, `<db>.recordings/`).
    #[arg(long)]
    recordings_dir: Option<PathBuf>,
    /// LiveKit server URL; with the key and secret, rooms are created there and the agent
    /// dispatched into them.
    #[arg(long, env = "LIVEKIT_URL")]
    livekit_url: Option<String>,
    #[arg(long, env = "LIVEKIT_API_KEY")]
    livekit_api_key: Option<String>,
    #[arg(long, env = "LIVEKIT_API_SECRET", hide_env_values = true)]
    livekit_api_secret: Option<String>,
    /// Agent to dispatch into interview rooms (empty: no explicit dispatch).
    #[arg(long, default_value = "interview-agent")]
    agent_name: String,
    /// POST room passwords as JSON to this URL instead of printing them.
    #[arg(long)]
    notify_webhook: Option<String>,
    /// Create a demo application and print `APPLICATION <id>`.
    #[arg(long)]
    seed_demo: bool,
    /// The address candidates reach this backend at, for invitation links (default: the
    /// address it listens on, e.g. http://127.0.0.1:8090).
    #[arg(long, env = "HIRING_BACKEND_PUBLIC_URL")]
    public_url: Option<String>,
    /// The pages' files (`public/`, `node_modules/`); default: this example's `web/`.
    #[arg(long)]
    web_root: Option<PathBuf>,
}

fn livekit(args: &Args) -> Result<Option<LiveKitSettings>, String> {
    match (
        &args.livekit_url,
        &args.livekit_api_key,
        &args.livekit_api_secret,
    ) {
        (None, None, None) => Ok(None),
        (Some(url), Some(key), Some(secret)) => Ok(Some(LiveKitSettings {
            url: url.clone(),
            api_key: key.clone(),
            api_secret: secret.clone(),
            agent_name: args.agent_name.clone(),
        })),
        _ => Err(
            "LiveKit needs all of --livekit-url, --livekit-api-key and --livekit-api-secret \
             (or LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)"
                .into(),
        ),
    }
}

fn demo_application() -> NewApplication {
    NewApplication {
        candidate_name: "Alex Morgan".into(),
        candidate_email: Some("alex.morgan@example.com".into()),
        candidate_phone: None,
        job_title: "Backend Engineer".into(),
        job_description: "Build and run the Rust services behind our hiring platform: APIs, \
                          storage and background jobs."
            .into(),
        questions: vec![
            "Tell me about a backend service you built and the trade-offs you made.".into(),
            "How would you make an API call idempotent?".into(),
            "How do you find the cause of a slow database query?".into(),
        ],
        language: "en".into(),
        voice_gender: None,
        max_duration_seconds: Some(900),
        record_audio: true,
    }
}

/// One line on stdout, flushed (scripts wait for it).
fn say(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A random secret for a generated credential.
fn secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn run(args: Args) -> Result<(), String> {
    let mut api_token = args.api_token.clone().filter(|t| !t.is_empty());
    let mut operator_password = args.operator_password.clone().filter(|p| !p.is_empty());
    if api_token.is_none() && operator_password.is_none() {
        let (t, p) = (secret(), secret());
        say(&format!("CREDENTIALS api-token={t} operator-password={p}"))
            .map_err(|e| e.to_string())?;
        (api_token, operator_password) = (Some(t), Some(p));
    }
    let opts = BackendOptions {
        bind: SocketAddr::new(args.host, args.port),
        db_path: args.db.clone(),
        api_token,
        operator_password,
        recordings_dir: args.recordings_dir.clone(),
        livekit: livekit(&args)?,
        notifier: args
            .notify_webhook
            .clone()
            .map(Notifier::webhook)
            .unwrap_or_default(),
        public_url: args.public_url.clone(),
        web_root: args
            .web_root
            .clone()
            .unwrap_or_else(hiring_backend::default_web_root),
        ..BackendOptions::default()
    };
    let backend = start(opts).await.map_err(|e| e.to_string())?;
    if args.seed_demo {
        let id = backend
            .store()
            .create_application(demo_application())
            .map_err(|e| format!("seeding the demo application: {e}"))?;
        say(&format!("APPLICATION {id}")).map_err(|e| e.to_string())?;
    }
    say(&format!("READY {}", backend.url())).map_err(|e| e.to_string())?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    backend.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hiring-backend: {e}");
            ExitCode::FAILURE
        }
    }
}
