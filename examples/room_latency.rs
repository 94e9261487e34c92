//! Benchmark: one-way audio latency through a LiveKit server, Rust client to Rust client.
//!
//! Participant A publishes silence with a 200 ms 1 kHz burst every second; participant B
//! subscribes and timestamps the first loud frame of each burst. Both run in this process, so
//! one clock measures capture -> Opus -> SRTP -> server -> SRTP -> Opus decode -> B's stream.
//!
//! `cargo run --release --example room_latency` (uses the in-process test server), or with
//! `LIVEKIT_URL`, `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET` set against a real server.

use std::time::{Duration, Instant};

use interview_agent::config::Secret;
use interview_agent::room::{Room, RoomEvent, RoomOptions};
use interview_agent::session::tone::Tone;
use interview_agent::token::join_token;

const BURSTS: usize = 30;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    interview_agent::telemetry::init("warn", interview_agent::telemetry::LogFormat::Pretty);
    let (url, key, secret, _server) = match std::env::var("LIVEKIT_URL") {
        Ok(url) if !url.is_empty() => (
            url,
            std::env::var("LIVEKIT_API_KEY").unwrap_or_else(|_| "devkey".into()),
            std::env::var("LIVEKIT_API_SECRET").unwrap_or_else(|_| "secret".into()),
            None,
        ),
        _ => {
            let s = livekit_test_server::TestServer::start(Default::default()).await?;
            (
                s.url(),
                s.api_key().to_string(),
                s.api_secret().to_string(),
                Some(s),
            )
        }
    };
    let secret = Secret::new(secret);
    let room = format!("latency-{:x}", rand::random::<u32>());
    let tok = |id: &str| join_token(&key, &secret, &room, id, None, Duration::from_secs(600));

    let (b, mut b_events) = Room::connect(&url, &tok("listener")?, RoomOptions::default()).await?;
    let (a, _a_events) = Room::connect(&url, &tok("speaker")?, RoomOptions::default()).await?;
    let mut voice = a.publish_audio("bursts").await?;
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::channel::<Instant>(BURSTS + 4);
    let sender = tokio::spawn(async move {
        let mut tone = Tone::new(1000.0, -6.0);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        // 1 s warm-up of silence, then BURSTS cycles of 200 ms tone + 800 ms silence.
        for i in 0..(50 + BURSTS * 50) {
            tick.tick().await;
            let in_burst = i >= 50 && (i - 50) % 50 < 10;
            let frame = tone.next_frame();
            let frame = if in_burst {
                frame
            } else {
                interview_agent::audio::AudioFrame::silence(
                    frame.sample_rate,
                    Duration::from_millis(20),
                )
            };
            if in_burst && (i - 50) % 50 == 0 {
                let _ = sent_tx.send(Instant::now()).await;
            }
            let _ = voice.capture_frame(&frame).await;
        }
    });

    // Media (and so the subscription) only starts once the speaker sends.
    let mut stream = loop {
        match b_events.recv().await {
            Some(RoomEvent::AudioTrackSubscribed { stream, .. }) => break stream,
            Some(_) => continue,
            None => return Err("listener left".into()),
        }
    };

    let mut latencies = Vec::new();
    let mut loud = false;
    while latencies.len() < BURSTS {
        let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(5), stream.recv()).await
        else {
            break;
        };
        let now = Instant::now();
        let is_loud = frame.rms_dbfs() > -30.0;
        if is_loud && !loud {
            if let Some(sent) = sent_rx.recv().await {
                latencies.push(now.duration_since(sent));
            }
        }
        loud = is_loud;
    }
    sender.abort();
    a.close().await;
    b.close().await;

    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    if latencies.is_empty() {
        return Err("no bursts detected".into());
    }
    println!(
        "one-way audio latency over {} bursts: p50 {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms",
        latencies.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        latencies[0].as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}
