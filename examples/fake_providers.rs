//! FAKE providers for benchmarks (not a product): an OpenAI-compatible HTTP server whose
//! latencies are set on the command line, so a benchmark measures our own overhead around
//! known provider times, the same for every agent it compares.
//!
//! - `POST /v1/audio/transcriptions`: waits `--stt-ms`, answers `{"text": ...}` (a long
//!   answer, so an interviewer does not find it thin).
//! - `POST /v1/chat/completions` (streamed, SSE): first token after `--llm-ttft-ms`, then one
//!   token every `--llm-token-ms`. A request with a JSON schema gets a JSON value that fits it
//!   (the interviewer's judge, scores and summary); others get a short spoken reply.
//! - `POST /v1/audio/speech` (`response_format=pcm`, 24 kHz s16le): first bytes after
//!   `--tts-ttfb-ms`, then about 65 ms of audio per character, streamed at once (like OpenAI:
//!   faster than real time): a 220 Hz tone (-12 dBFS), or with `--tts-wav FILE` (16-bit PCM,
//!   any rate) that recording, looped. Speech matters for CPU figures: Opus encodes a tone
//!   (which its analysis takes for music) far more cheaply than a voice.
//!
//! ```sh
//! cargo run --release --example fake_providers -- --port 0 --stt-ms 300 --llm-ttft-ms 300 \
//!     --llm-token-ms 25 --tts-ttfb-ms 200
//! ```
//! Prints `listening on http://127.0.0.1:PORT/v1` (the agent's `OPENAI_BASE_URL`).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use interview_agent::audio::SampleRate;
use interview_agent::providers::pcm::read_wav;
use serde_json::{json, Value};

const ANSWER: &str = "I led the migration of our payment service to Rust, measured the latency \
                      before and after, and cut the tail latency in half within three months.";
const REPLY: &str = "Thanks, that is helpful. What would you do differently next time?";

#[derive(Clone, Copy)]
struct Latencies {
    stt: Duration,
    llm_ttft: Duration,
    llm_token: Duration,
    tts_ttfb: Duration,
}

#[derive(Default)]
struct Counts {
    stt: AtomicU64,
    llm: AtomicU64,
    tts: AtomicU64,
}

#[derive(Clone)]
struct App {
    lat: Latencies,
    counts: Arc<Counts>,
    /// `--tts-wav`: 24 kHz samples to speak (None: a tone).
    voice: Option<Arc<Vec<i16>>>,
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse().unwrap_or_else(|_| {
                eprintln!("fake_providers: {name} wants a number, got {v:?}");
                std::process::exit(2)
            })
        })
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "fake_providers [--port 0] [--stt-ms 300] [--llm-ttft-ms 300] [--llm-token-ms 25] \
             [--tts-ttfb-ms 200] [--tts-wav FILE]"
        );
        return Ok(());
    }
    let lat = Latencies {
        stt: Duration::from_millis(arg(&args, "--stt-ms", 300)),
        llm_ttft: Duration::from_millis(arg(&args, "--llm-ttft-ms", 300)),
        llm_token: Duration::from_millis(arg(&args, "--llm-token-ms", 25)),
        tts_ttfb: Duration::from_millis(arg(&args, "--tts-ttfb-ms", 200)),
    };
    let port = arg(&args, "--port", 0) as u16;
    let voice = match args.iter().position(|a| a == "--tts-wav") {
        Some(i) => Some(Arc::new(load_voice(
            args.get(i + 1).map(String::as_str).unwrap_or(""),
        )?)),
        None => None,
    };
    let app = App {
        lat,
        counts: Arc::default(),
        voice,
    };
    let router = Router::new()
        .route("/v1/audio/transcriptions", post(transcribe))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/audio/speech", post(speech))
        .route("/v1/counts", get(counts))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}/v1", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn counts(State(app): State<App>) -> Json<Value> {
    let c = &app.counts;
    Json(json!({
        "stt": c.stt.load(Ordering::Relaxed),
        "llm": c.llm.load(Ordering::Relaxed),
        "tts": c.tts.load(Ordering::Relaxed),
    }))
}

async fn transcribe(State(app): State<App>, _body: Bytes) -> Json<Value> {
    app.counts.stt.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(app.lat.stt).await;
    Json(json!({ "text": ANSWER }))
}

async fn chat(State(app): State<App>, Json(req): Json<Value>) -> Response {
    app.counts.llm.fetch_add(1, Ordering::Relaxed);
    let schema = req.pointer("/response_format/json_schema/schema");
    let text = match schema {
        Some(s) => fill(s).to_string(),
        None => REPLY.to_string(),
    };
    // Tokens of about four characters, like a real tokenizer's.
    let tokens: Vec<String> = text
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let lat = app.lat;
    let stream = futures::stream::unfold((0usize, tokens), move |(i, tokens)| async move {
        if i > tokens.len() {
            return None;
        }
        tokio::time::sleep(if i == 0 { lat.llm_ttft } else { lat.llm_token }).await;
        let event = match tokens.get(i) {
            Some(t) => {
                let chunk = json!({
                    "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                    "model": "fake", "choices": [{"index": 0, "delta": {"content": t},
                    "finish_reason": null}]
                });
                format!("data: {chunk}\n\n")
            }
            None => {
                let chunk = json!({
                    "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                    "model": "fake", "choices": [{"index": 0, "delta": {},
                    "finish_reason": "stop"}]
                });
                format!("data: {chunk}\n\ndata: [DONE]\n\n")
            }
        };
        Some((Ok::<_, Infallible>(Bytes::from(event)), (i + 1, tokens)))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// A value that fits a JSON schema (objects, strings, numbers, booleans, arrays, enums,
/// nullable types): enough for the interviewer's structured calls.
fn fill(schema: &Value) -> Value {
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        return e.first().cloned().unwrap_or(Value::Null);
    }
    let ty = match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null")
            .to_string(),
        Some(Value::String(t)) => t.clone(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "null".into(),
    };
    match ty.as_str() {
        "object" => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    out.insert(k.clone(), fill(v));
                }
            }
            Value::Object(out)
        }
        "string" => json!("The candidate gave a concrete, measured example."),
        "integer" | "number" => schema.get("minimum").cloned().map_or(json!(3), |min| {
            let min = min.as_f64().unwrap_or(0.0);
            let max = schema
                .get("maximum")
                .and_then(Value::as_f64)
                .unwrap_or(min + 4.0);
            json!(((min + max) / 2.0).round() as i64)
        }),
        "boolean" => json!(false),
        "array" => json!([]),
        _ => Value::Null,
    }
}

async fn speech(State(app): State<App>, Json(req): Json<Value>) -> Response {
    let nth = app.counts.tts.fetch_add(1, Ordering::Relaxed) as usize;
    let chars = req
        .get("input")
        .and_then(Value::as_str)
        .map_or(0, |s| s.chars().count());
    if chars == 0 {
        return (StatusCode::BAD_REQUEST, "input is empty").into_response();
    }
    const RATE: usize = 24_000;
    let samples = (chars * 65 * RATE / 1000).max(RATE / 4);
    let ttfb = app.lat.tts_ttfb;
    // Each reply starts somewhere else in the recording, so sessions do not all say the same.
    let offset = nth * 7 * RATE / 10;
    let sample = |i: usize| match &app.voice {
        Some(v) => v[(offset + i) % v.len()],
        None => {
            let t = i as f32 / RATE as f32;
            (0.25 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() * 32767.0) as i16
        }
    };
    // 100 ms chunks; the first after the set time to first byte.
    let chunks: Vec<Bytes> = (0..samples)
        .collect::<Vec<_>>()
        .chunks(RATE / 10)
        .map(|idx| {
            let mut b = Vec::with_capacity(idx.len() * 2);
            for &i in idx {
                b.extend_from_slice(&sample(i).to_le_bytes());
            }
            Bytes::from(b)
        })
        .collect();
    let stream = futures::stream::unfold((0usize, chunks), move |(i, chunks)| async move {
        if i == 0 {
            tokio::time::sleep(ttfb).await;
        }
        let c = chunks.get(i)?.clone();
        Some((Ok::<_, Infallible>(c), (i + 1, chunks)))
    });
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `--tts-wav`: a 16-bit PCM WAV at any rate, as 24 kHz samples (the rate of OpenAI's pcm).
fn load_voice(path: &str) -> Result<Vec<i16>, Box<dyn std::error::Error>> {
    Ok(read_wav(std::path::Path::new(path), SampleRate::HZ_24000)
        .map_err(|e| format!("--tts-wav {e}"))?)
}
