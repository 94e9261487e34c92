//! Voice pipeline benchmark (prints numbers, asserts nothing):
//!
//! 1. Agent-added latency: with zero-latency FAKE providers, the wall-clock time from the
//!    end-of-turn decision (the `thinking` state event) to the first agent audio frame out, over
//!    100 turns. Candidate audio runs on a paused tokio clock, so the 20 ms pacing and the
//!    endpointing silence cost no real time; only the pipeline's own work is measured.
//! 2. CPU per minute of candidate audio for the input path (Opus decode, 48->16 kHz resampling,
//!    VAD; single thread) and per minute of agent speech for the output path (24->48 kHz
//!    resampling, the Opus encoder at our and at libopus' default complexity).
//!
//! Run: `cargo run --release --example pipeline_bench` (`BENCH_SPEECH_WAV=a spoken WAV` for the
//! encoder figures of a real voice)

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallInstant};

use interview_agent::audio::vad::{synthetic_voice, VAD_RATE};
use interview_agent::audio::{
    frame_queue, AudioFrame, OpusDecoder, OpusEncoder, SampleRate, StreamResampler, Vad,
    VadOptions, FRAME_DURATION,
};
use interview_agent::pipeline::{
    AgentState, DefaultBrain, PipelineEvent, PipelineOptions, Providers, VoicePipeline,
};
use interview_agent::providers::fake::{FakeLlm, FakeStt, FakeTts};
use interview_agent::providers::pcm::read_wav;

const TURNS: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn agent_latency() {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return;
        }
    };
    rt.block_on(async {
        let providers = Providers {
            stt: Arc::new(FakeStt::new()),
            llm: Arc::new(FakeLlm::new()),
            // Short replies so 100 turns do not take long on the virtual clock.
            tts: Arc::new(FakeTts::new().with_ms_per_char(5)),
        };
        let (input, rx) = frame_queue(50);
        let Ok(p) = VoicePipeline::spawn(PipelineOptions::default(), providers, Arc::new(DefaultBrain::default()), rx) else {
            eprintln!("pipeline failed to start");
            return;
        };
        // (wall time of the thinking event, wall time of the next first frame)
        type Marks = Arc<Mutex<Vec<(WallInstant, Option<WallInstant>)>>>;
        let marks: Marks = Arc::default();
        let virtual_latency: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let (m, v, mut events) = (marks.clone(), virtual_latency.clone(), p.events);
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                match e {
                    PipelineEvent::StateChanged(AgentState::Thinking) => {
                        m.lock().unwrap_or_else(|e| e.into_inner()).push((WallInstant::now(), None))
                    }
                    PipelineEvent::Metrics(x) => {
                        if let Some(l) = x.agent_latency {
                            v.lock().unwrap_or_else(|e| e.into_inner()).push(l);
                        }
                    }
                    _ => {}
                }
            }
        });
        let (m, mut out) = (marks.clone(), p.audio_out);
        tokio::spawn(async move {
            while out.recv().await.is_some() {
                let now = WallInstant::now();
                let mut marks = m.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(last) = marks.last_mut() {
                    last.1.get_or_insert(now);
                }
            }
        });
        let voice = synthetic_voice(SampleRate::HZ_48000, Duration::from_millis(800), 1);
        let silence = vec![0i16; SampleRate::HZ_48000.samples_in(Duration::from_millis(2500))];
        for _ in 0..TURNS {
            for chunk in voice.chunks(960).chain(silence.chunks(960)) {
                let mut f = chunk.to_vec();
                f.resize(960, 0);
                input.push(AudioFrame::new(f, SampleRate::HZ_48000));
                tokio::time::sleep(FRAME_DURATION).await;
            }
        }
        input.close();
        let _ = p.task.await;
        let marks = marks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut wall: Vec<Duration> = marks.iter().filter_map(|(a, b)| b.map(|b| b - *a)).collect();
        wall.sort();
        let mut virt = virtual_latency.lock().unwrap_or_else(|e| e.into_inner()).clone();
        virt.sort();
        println!("agent-added latency, end-of-turn decision -> first audio frame out ({} turns answered):", wall.len());
        println!(
            "  wall clock: p50 {:?}  p95 {:?}  max {:?}",
            percentile(&wall, 0.5),
            percentile(&wall, 0.95),
            wall.last().copied().unwrap_or_default()
        );
        println!(
            "  pipeline clock (fake providers take no time): p50 {:?}  p95 {:?}",
            percentile(&virt, 0.5),
            percentile(&virt, 0.95)
        );
    });
}

fn input_path_cpu() {
    // One minute of candidate audio: 2 s speech / 1 s silence, Opus-encoded like the wire.
    let mut samples = Vec::new();
    let mut seed = 0;
    while samples.len() < 48_000 * 60 {
        seed += 1;
        samples.extend(synthetic_voice(
            SampleRate::HZ_48000,
            Duration::from_secs(2),
            seed,
        ));
        samples.extend(vec![0i16; 48_000]);
    }
    samples.truncate(48_000 * 60);
    let (Ok(mut enc), Ok(mut dec)) = (OpusEncoder::new(), OpusDecoder::new()) else {
        eprintln!("opus unavailable");
        return;
    };
    let packets: Vec<Vec<u8>> = samples
        .chunks(960)
        .filter_map(|c| {
            enc.encode(&AudioFrame::new(c.to_vec(), SampleRate::HZ_48000))
                .ok()
        })
        .collect();
    let frames: Vec<AudioFrame> = samples
        .chunks(960)
        .map(|c| AudioFrame::new(c.to_vec(), SampleRate::HZ_48000))
        .collect();

    let (Ok(mut rs), Ok(mut vad)) = (
        StreamResampler::new(SampleRate::HZ_48000, VAD_RATE),
        Vad::new(&VadOptions::default()),
    ) else {
        return;
    };
    let t0 = tokio::time::Instant::now();
    let start = WallInstant::now();
    let mut events = 0;
    for (i, f) in frames.iter().enumerate() {
        let s = rs.process(&f.samples);
        events += vad.handle(&s, t0 + FRAME_DURATION * i as u32).len();
    }
    let resample_vad = start.elapsed();

    let start = WallInstant::now();
    let mut decoded = 0usize;
    for p in &packets {
        if let Ok(f) = dec.decode(p) {
            decoded += f.samples.len();
        }
    }
    let opus = start.elapsed();
    let _ = (events, decoded);

    let pct = |d: Duration| d.as_secs_f64() / 60.0 * 100.0;
    println!("input path CPU per minute of candidate audio (one thread):");
    println!(
        "  resample 48->16 kHz + VAD: {:?} ({:.3}% of one core)",
        resample_vad,
        pct(resample_vad)
    );
    println!(
        "  opus decode:               {:?} ({:.3}% of one core)",
        opus,
        pct(opus)
    );
    println!(
        "  total:                     {:?} ({:.3}% of one core)",
        resample_vad + opus,
        pct(resample_vad + opus)
    );

    // The output path: 24 -> 48 kHz resampling of a minute of TTS audio.
    let tts: Vec<i16> = synthetic_voice(SampleRate::HZ_24000, Duration::from_secs(60), 9);
    let Ok(mut up) = StreamResampler::new(SampleRate::HZ_24000, SampleRate::HZ_48000) else {
        return;
    };
    let start = WallInstant::now();
    let mut n = 0;
    for c in tts.chunks(1111) {
        n += up.process(c).len();
    }
    n += up.flush().len();
    let d = start.elapsed();
    println!("  (output) resample 24->48 kHz of one minute of TTS: {:?} ({:.3}% of one core, {n} samples)", d, pct(d));

    // The output path's encoder: a minute of agent speech (20 ms frames at 48 kHz), with our
    // complexity and with libopus' default (10) for comparison. A real voice matters here: at
    // complexity >= 7 libopus analyses the signal and codes a synthetic voice like music (CELT
    // only, cheap), so BENCH_SPEECH_WAV (16-bit PCM, any rate) gives the figures that hold.
    let (speech, what) = match std::env::var("BENCH_SPEECH_WAV") {
        Ok(path) => match speech_from_wav(&path) {
            Ok(s) => (s, path),
            Err(e) => {
                eprintln!("BENCH_SPEECH_WAV: {e}");
                return;
            }
        },
        Err(_) => (
            synthetic_voice(SampleRate::HZ_48000, Duration::from_secs(60), 11),
            "a synthetic voice (set BENCH_SPEECH_WAV for a real one)".to_string(),
        ),
    };
    println!("  (output) opus encode of one minute of {what}:");
    for (complexity, which) in [
        (interview_agent::audio::ENCODER_COMPLEXITY, "ours"),
        (10, "libopus default"),
    ] {
        let Ok(mut enc) = OpusEncoder::with_complexity(complexity) else {
            return;
        };
        let start = WallInstant::now();
        let bytes: usize = speech
            .chunks_exact(960)
            .filter_map(|c| enc.encode_pcm(c).ok())
            .map(|p| p.len())
            .sum();
        let d = start.elapsed();
        println!(
            "    complexity {complexity} ({which}): {:?} ({:.3}% of one core, {bytes} bytes)",
            d,
            pct(d)
        );
    }
}

/// One minute of 48 kHz speech from a WAV (looped).
fn speech_from_wav(path: &str) -> Result<Vec<i16>, String> {
    let one = read_wav(std::path::Path::new(path), SampleRate::HZ_48000)?;
    Ok(one.iter().copied().cycle().take(48_000 * 60).collect())
}

/// Memory: RSS per extra concurrent session. 100 pipelines (fake providers) each hear a spoken
/// turn and answer it; RSS is read before and after, while all of them are alive.
fn rss_per_session() {
    const N: usize = 100;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return;
        }
    };
    rt.block_on(async {
        let before = interview_agent::worker::rss_bytes();
        let mut alive = Vec::new();
        for _ in 0..N {
            let providers = Providers {
                stt: Arc::new(FakeStt::new()),
                llm: Arc::new(FakeLlm::new()),
                tts: Arc::new(FakeTts::new().with_ms_per_char(5)),
            };
            let (input, rx) = frame_queue(50);
            let Ok(p) = VoicePipeline::spawn(PipelineOptions::default(), providers, Arc::new(DefaultBrain::default()), rx) else {
                return;
            };
            let VoicePipeline { handle, mut audio_out, mut events, task } = p;
            tokio::spawn(async move { while audio_out.recv().await.is_some() {} });
            tokio::spawn(async move { while events.recv().await.is_some() {} });
            // One second of speech, then silence, in real time (paced) so each pipeline works.
            tokio::spawn(async move {
                let voice = synthetic_voice(SampleRate::HZ_48000, Duration::from_secs(1), 7);
                let mut tick = tokio::time::interval(FRAME_DURATION);
                for chunk in voice.chunks(960).chain(std::iter::repeat_n(&[0i16; 960][..], 100)) {
                    tick.tick().await;
                    input.push(AudioFrame::new(chunk.to_vec(), SampleRate::HZ_48000));
                }
                std::future::pending::<()>().await;
            });
            alive.push((handle, task));
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
        let after = interview_agent::worker::rss_bytes();
        println!(
            "RSS per extra concurrent session (voice pipeline, fake providers, {N} sessions mid-conversation): {:.2} MiB",
            (after.saturating_sub(before)) as f64 / N as f64 / 1048576.0
        );
    });
}

fn main() {
    input_path_cpu();
    agent_latency();
    rss_per_session();
}
