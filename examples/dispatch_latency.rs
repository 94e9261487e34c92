//! Benchmark: dispatch time, from CreateDispatch to the agent participant in the room, over 20
//! dispatches, with an in-process worker (echo sessions) and the in-process LiveKit test server.
//! Also prints the worker's idle RSS. `cargo run --release --example dispatch_latency`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use interview_agent::config::Secret;
use interview_agent::session::EchoRunner;
use interview_agent::worker::{self, rss_bytes, WorkerOptions};
use livekit_test_server::{TestServer, TestServerOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idle_before = rss_bytes();
    let server = TestServer::start(TestServerOptions::default()).await?;
    let opts = WorkerOptions {
        url: server.url(),
        api_key: server.api_key().into(),
        api_secret: Secret::new(server.api_secret()),
        agent_name: "bench".into(),
        max_jobs: 0,
        load_threshold: f32::INFINITY,
        health_addr: "127.0.0.1:0".parse()?,
        ..WorkerOptions::default()
    };
    let (_sig_tx, sig_rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(worker::run(
        opts,
        Arc::new(EchoRunner::default()),
        sig_rx,
        |_| {},
    ));
    while server.workers().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_bytes();

    let mut times = Vec::new();
    for i in 0..20 {
        let room = format!("interview-bench-{i}");
        let t0 = Instant::now();
        server.create_dispatch(&room, "bench", "{}");
        while !server
            .participants(&room)
            .iter()
            .any(|p| p.starts_with("agent-"))
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if t0.elapsed() > Duration::from_secs(20) {
                return Err(format!("no agent in {room}").into());
            }
        }
        times.push(t0.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "dispatch (CreateDispatch -> agent joined) over {}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[(times.len() * 95 / 100).min(times.len() - 1)]),
        ms(times[times.len() - 1])
    );
    println!(
        "RSS: process at start {:.1} MiB; with test server + idle registered worker {:.1} MiB; with 20 echo sessions {:.1} MiB",
        idle_before as f64 / 1048576.0,
        idle as f64 / 1048576.0,
        rss_bytes() as f64 / 1048576.0
    );
    Ok(())
}
