//! The OpenAI providers against a tiny canned HTTP server on 127.0.0.1:0 (raw tokio TCP):
//! request shapes, the `usage`-less transcription body, retry on 500 but not on 400, SSE chat
//! deltas, and streamed PCM speech split at odd byte counts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use interview_agent::audio::vad::synthetic_voice;
use interview_agent::audio::{AudioFrame, SampleRate};
use interview_agent::config::Secret;
use interview_agent::providers::openai::{
    OpenAiEndpoint, OpenAiLlm, OpenAiLlmOptions, OpenAiStt, OpenAiSttOptions, OpenAiTts,
    OpenAiTtsOptions,
};
use interview_agent::providers::{
    with_retry, ChatMessage, Llm, LlmRequest, ProviderError, RetryPolicy, Stt, SttRequest, Tts,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "sk-test-0123456789";

#[derive(Clone)]
struct Canned {
    status: u16,
    content_type: &'static str,
    /// Written one by one (chunked encoding when more than one), flushed, 5 ms apart.
    chunks: Vec<Vec<u8>>,
}

impl Canned {
    fn json(status: u16, body: &str) -> Canned {
        Canned {
            status,
            content_type: "application/json",
            chunks: vec![body.as_bytes().to_vec()],
        }
    }
}

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Server {
    base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

async fn serve(responses: Vec<Canned>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let queue = Arc::new(Mutex::new(VecDeque::from(responses)));
    let recs = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (recs, queue) = (recs.clone(), queue.clone());
            tokio::spawn(async move {
                let _ = handle(sock, recs, queue).await;
            });
        }
    });
    Server {
        base: format!("http://{addr}/v1"),
        requests,
    }
}

async fn handle(
    mut sock: TcpStream,
    recs: Arc<Mutex<Vec<Recorded>>>,
    queue: Arc<Mutex<VecDeque<Canned>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        })
        .collect();
    let get = |k: &str| headers.iter().find(|(h, _)| h == k).map(|(_, v)| v.clone());
    let mut body = buf[head_end..].to_vec();
    if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&tmp[..n]);
        }
    } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !body.ends_with(b"0\r\n\r\n") {
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&tmp[..n]);
        }
        body = dechunk(&body);
    }
    recs.lock().unwrap().push(Recorded {
        method,
        path,
        headers,
        body,
    });
    let canned = queue
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Canned::json(500, "{}"));
    let reason = if canned.status < 400 { "OK" } else { "ERR" };
    if canned.chunks.len() == 1 {
        let b = &canned.chunks[0];
        let head = format!(
            "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            canned.status,
            canned.content_type,
            b.len()
        );
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(b).await?;
    } else {
        let head = format!(
            "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
            canned.status, canned.content_type
        );
        sock.write_all(head.as_bytes()).await?;
        for c in &canned.chunks {
            sock.write_all(format!("{:x}\r\n", c.len()).as_bytes())
                .await?;
            sock.write_all(c).await?;
            sock.write_all(b"\r\n").await?;
            sock.flush().await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sock.write_all(b"0\r\n\r\n").await?;
    }
    sock.flush().await?;
    sock.shutdown().await
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let len = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if len == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + len]);
        b = &b[i + 2 + len + 2..];
    }
    out
}

fn endpoint(server: &Server) -> OpenAiEndpoint {
    OpenAiEndpoint {
        timeout: Duration::from_secs(2),
        ..OpenAiEndpoint::new(server.base.clone(), Secret::new(KEY))
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

fn voice_16k() -> AudioFrame {
    AudioFrame::new(
        synthetic_voice(SampleRate::HZ_16000, Duration::from_millis(800), 3),
        SampleRate::HZ_16000,
    )
}

fn stt(server: &Server) -> OpenAiStt {
    OpenAiStt::new(OpenAiSttOptions {
        endpoint: endpoint(server),
        model: "whisper-1".into(),
        ..OpenAiSttOptions::default()
    })
    .unwrap()
}

/// The value of a multipart form field.
fn form_field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = body.find(&marker)?;
    let rest = &body[at..];
    let start = rest.find("\r\n\r\n")? + 4;
    let end = rest[start..].find("\r\n--")?;
    Some(rest[start..start + end].to_string())
}

#[tokio::test]
async fn transcription_request_shape_usage_less_body_and_retry_on_500() {
    let verbose = r#"{"task":"transcribe","language":"english","duration":0.8,"text":" I know Rust. Thank you.",
        "segments":[{"id":0,"start":0.0,"end":0.6,"text":" I know Rust.","no_speech_prob":0.02,"avg_logprob":-0.2},
                    {"id":1,"start":0.6,"end":0.8,"text":" Thank you.","no_speech_prob":0.91,"avg_logprob":-1.4}]}"#;
    let server = serve(vec![
        Canned::json(500, "upstream exploded"),
        Canned::json(200, verbose),
    ])
    .await;
    let stt = stt(&server);
    let req = SttRequest {
        audio: voice_16k(),
        language: Some("en".into()),
        prompt: Some("Rust, Kubernetes, Kafka".into()),
    };
    let t = with_retry(&fast_retry(), "stt", |_| stt.transcribe(&req))
        .await
        .expect("retried after 500");
    assert_eq!(t.text, "I know Rust.", "no_speech segment dropped");
    assert_eq!(t.language.as_deref(), Some("english"));

    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 2, "500 retried once");
    let r = &reqs[1];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/audio/transcriptions")
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    let body = r.body_text();
    assert!(
        body.contains("name=\"file\"; filename=\"turn.wav\""),
        "{}",
        &body[..300.min(body.len())]
    );
    let wav_at = r
        .body
        .windows(4)
        .position(|w| w == b"RIFF")
        .expect("wav file part");
    assert_eq!(&r.body[wav_at + 8..wav_at + 12], b"WAVE");
    assert_eq!(form_field(&body, "model").as_deref(), Some("whisper-1"));
    assert_eq!(form_field(&body, "language").as_deref(), Some("en"));
    assert_eq!(
        form_field(&body, "prompt").as_deref(),
        Some("Rust, Kubernetes, Kafka")
    );
    assert_eq!(
        form_field(&body, "response_format").as_deref(),
        Some("verbose_json")
    );
}

#[tokio::test]
async fn a_400_is_not_retried_and_the_key_never_shows() {
    let server = serve(vec![Canned::json(
        400,
        &format!(r#"{{"error":{{"message":"bad request for key {KEY}","type":"invalid_request_error","param":null,"code":null}}}}"#),
    )])
    .await;
    let stt = stt(&server);
    let req = SttRequest {
        audio: voice_16k(),
        language: None,
        prompt: None,
    };
    let err = with_retry(&fast_retry(), "stt", |_| stt.transcribe(&req))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Status { status: 400, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(server.requests.lock().unwrap().len(), 1, "4xx not retried");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "{shown}");
}

#[tokio::test]
async fn verbose_json_rejected_falls_back_to_json_and_silence_is_never_sent() {
    let server = serve(vec![
        Canned::json(400, r#"{"error":{"message":"response_format 'verbose_json' is not supported","type":"x","param":null,"code":null}}"#),
        Canned::json(200, r#"{"text":"Hello."}"#),
        Canned::json(200, r#"{"text":"Again."}"#),
    ])
    .await;
    let stt = stt(&server);
    let req = SttRequest {
        audio: voice_16k(),
        language: None,
        prompt: None,
    };
    assert_eq!(stt.transcribe(&req).await.unwrap().text, "Hello.");
    assert_eq!(stt.transcribe(&req).await.unwrap().text, "Again.");
    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        form_field(&reqs[1].body_text(), "response_format").as_deref(),
        Some("json")
    );
    assert_eq!(
        form_field(&reqs[2].body_text(), "response_format").as_deref(),
        Some("json"),
        "remembered"
    );

    // Near-silence: no request at all, empty transcript.
    let quiet = SttRequest {
        audio: AudioFrame::silence(SampleRate::HZ_16000, Duration::from_secs(2)),
        language: None,
        prompt: None,
    };
    assert_eq!(stt.transcribe(&quiet).await.unwrap().text, "");
    assert_eq!(server.requests.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn chat_streaming_sse_parses_into_deltas() {
    let chunk = |content: &str| {
        format!(
            r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{"content":{}}},"finish_reason":null}}]}}"#,
            serde_json::to_string(content).unwrap()
        )
    };
    let role = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
    let sse = format!(
        "data: {role}\n\ndata: {}\n\ndata: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        chunk("Hel"),
        chunk("lo there."),
        chunk(" Next?")
    );
    // Split the SSE bytes at awkward places (inside JSON, inside "data:").
    let bytes = sse.into_bytes();
    let cuts = [7usize, 150, 151, 290, bytes.len() - 3];
    let mut chunks = Vec::new();
    let mut prev = 0;
    for c in cuts {
        chunks.push(bytes[prev..c].to_vec());
        prev = c;
    }
    chunks.push(bytes[prev..].to_vec());
    let server = serve(vec![Canned {
        status: 200,
        content_type: "text/event-stream",
        chunks,
    }])
    .await;
    let llm = OpenAiLlm::new(OpenAiLlmOptions {
        endpoint: endpoint(&server),
        model: "m".into(),
        ..OpenAiLlmOptions::default()
    })
    .unwrap();
    let req = LlmRequest {
        messages: vec![ChatMessage::system("be brief"), ChatMessage::user("hi")],
        ..LlmRequest::default()
    };
    let stream = llm.stream(&req).await.unwrap();
    let deltas: Vec<String> = stream.map(|r| r.unwrap()).collect().await;
    assert_eq!(deltas, vec!["Hel", "lo there.", " Next?"]);

    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "m");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "hi");
}

#[tokio::test]
async fn pcm_speech_streams_with_odd_chunk_splits_and_resamples_to_48k() {
    // 0.5 s of 440 Hz at 24 kHz, s16le, split at odd byte counts.
    let tone: Vec<i16> = (0..12_000)
        .map(|i| {
            (16000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 24_000.0).sin()) as i16
        })
        .collect();
    let bytes: Vec<u8> = tone.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut chunks = Vec::new();
    let mut at = 0;
    for (i, size) in [1usize, 1001, 3, 777, 4095, 5].iter().cycle().enumerate() {
        if at >= bytes.len() || i > 10_000 {
            break;
        }
        let end = (at + size).min(bytes.len());
        chunks.push(bytes[at..end].to_vec());
        at = end;
    }
    let (frames, server) = speech_frames(chunks).await;
    assert_eq!(frames.len(), 25, "0.5 s in 20 ms frames");
    assert!(frames
        .iter()
        .all(|f| f.sample_rate == SampleRate::HZ_48000 && f.samples.len() == 960));
    let all: Vec<i16> = frames
        .iter()
        .flat_map(|f| f.samples.iter().copied())
        .collect();
    // Frequency (zero crossings) and level preserved, in the middle of the clip.
    let mid = &all[4800..19200];
    let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let hz = crossings as f64 / 2.0 / 0.3;
    assert!((hz - 440.0).abs() < 5.0, "{hz}");
    let peak = mid.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!((15_000..=17_000).contains(&peak), "{peak}");
    // Smooth: no jumps from mis-paired bytes.
    let max_step = mid
        .windows(2)
        .map(|w| (w[1] as i32 - w[0] as i32).abs())
        .max()
        .unwrap();
    assert!(max_step < 1000, "{max_step}");

    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs[0].path, "/v1/audio/speech");
    let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["response_format"], "pcm");
    assert_eq!(body["input"], "Hello there.");
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

/// The frames of a `pcm` speech body served in `chunks` (and the server, for its requests).
async fn speech_frames(chunks: Vec<Vec<u8>>) -> (Vec<AudioFrame>, Server) {
    let server = serve(vec![Canned {
        status: 200,
        content_type: "audio/pcm",
        chunks,
    }])
    .await;
    let tts = OpenAiTts::new(OpenAiTtsOptions {
        endpoint: endpoint(&server),
        ..OpenAiTtsOptions::default()
    })
    .unwrap();
    let stream = tts.synthesize("Hello there.").await.unwrap();
    (stream.map(|r| r.unwrap()).collect().await, server)
}

/// A provider faster than real time hands over seconds of speech in one chunk; the stream
/// decodes it a frame at a time (nothing decoded ahead of the caller) and the frames are the
/// same as from a trickle of small chunks.
#[tokio::test]
async fn speech_in_one_large_chunk_gives_the_same_frames_as_in_small_ones() {
    let voice: Vec<i16> = (0..72_000) // 3 s at 24 kHz, a gliding tone
        .map(|i| {
            let t = i as f64 / 24_000.0;
            (12000.0 * (2.0 * std::f64::consts::PI * (200.0 + 100.0 * t) * t).sin()) as i16
        })
        .collect();
    let bytes: Vec<u8> = voice.iter().flat_map(|s| s.to_le_bytes()).collect();
    let (whole, _) = speech_frames(vec![bytes.clone()]).await;
    let (trickle, _) = speech_frames(bytes.chunks(999).map(<[u8]>::to_vec).collect()).await;
    assert_eq!(whole.len(), 150, "3 s in 20 ms frames");
    assert!(whole == trickle, "the same audio however it arrives");
}

#[tokio::test]
async fn speech_errors_are_classified() {
    let server = serve(vec![
        Canned::json(503, "busy"),
        Canned::json(401, r#"{"error":{"message":"no"}}"#),
    ])
    .await;
    let tts = OpenAiTts::new(OpenAiTtsOptions {
        endpoint: endpoint(&server),
        ..OpenAiTtsOptions::default()
    })
    .unwrap();
    let e = tts.synthesize("x").await.err().unwrap();
    assert!(matches!(e, ProviderError::Status { status: 503, .. }) && e.is_retryable());
    let e = tts.synthesize("x").await.err().unwrap();
    assert!(
        matches!(e, ProviderError::Status { status: 401, ref message, .. } if message == "no")
            && !e.is_retryable()
    );
    // Nothing listening: a retryable connect error.
    let dead = OpenAiTts::new(OpenAiTtsOptions {
        endpoint: OpenAiEndpoint::new("http://127.0.0.1:9/v1", Secret::new(KEY)),
        ..OpenAiTtsOptions::default()
    })
    .unwrap();
    let e = dead.synthesize("x").await.err().unwrap();
    assert!(e.is_retryable(), "{e:?}");
}
