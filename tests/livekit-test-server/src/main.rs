//! TEST FIXTURE, not a product: command-line entry point for the LiveKit test server.
//!
//! `livekit-test-server [--port 7880] [--keys devkey:secret]`

use livekit_test_server::{TestServer, TestServerOptions};
use std::net::SocketAddr;

fn usage() -> ! {
    eprintln!("usage: livekit-test-server [--port 7880] [--keys KEY:SECRET]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "livekit_test_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut opts = TestServerOptions::default();
    let mut port: u16 = 7880;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
            }
            "--keys" => {
                let v = args.next().unwrap_or_else(|| usage());
                let (k, s) = v.split_once(':').unwrap_or_else(|| usage());
                opts.api_key = k.trim().to_owned();
                opts.api_secret = s.trim().to_owned();
            }
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    opts.bind = SocketAddr::from(([127, 0, 0, 1], port));
    let server = match TestServer::start(opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("livekit-test-server: cannot listen on port {port}: {e}");
            std::process::exit(1);
        }
    };
    println!("listening on {}", server.url());
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
}
