//! Load generator: N simulated candidates from one process, on our own room layer, against
//! an agent worker (`interview-agent start`) registered with a LiveKit server. Each candidate
//! has its own room and dispatch, loops a spoken answer and measures, on its own clock, the
//! join (CreateDispatch -> the agent's track), the first greeting audio, voice-to-voice per
//! turn (end of its answer -> the agent's first frame above -50 dBFS) and missed turns. The
//! voice is Opus-encoded once and shared: a candidate costs a send every 20 ms, one SRTP
//! stream each way and an Opus decoder.
//!
//! ```sh
//! LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//!   cargo run --release --example loadgen -- --n 10 --turns 3
//! ```
//! Options: `--n` candidates (1), `--turns` answers each (3), `--answer-secs` (7),
//! `--wav FILE` (16-bit PCM; default a synthetic voice), `--stagger-ms` between joins (100),
//! `--agent-name` (interview-agent), `--reply-timeout-secs` (10). Prints a report and one
//! `RESULT {json}` line (what `scripts/bench_capacity.sh` reads).

mod candidate;
mod stats;
mod voice;

use std::sync::Arc;
use std::time::{Duration, Instant};

use candidate::{Outcome, Plan, Target};
use interview_agent::config::Secret;
use stats::{mean, ms, percentile};

struct Args {
    n: usize,
    turns: usize,
    answer_secs: f64,
    wav: Option<String>,
    stagger: Duration,
    agent_name: String,
    reply_timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        n: 1,
        turns: 3,
        answer_secs: 7.0,
        wav: None,
        stagger: Duration::from_millis(100),
        agent_name: "interview-agent".into(),
        reply_timeout: Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--n" => a.n = num(value()?)? as usize,
            "--turns" => a.turns = (num(value()?)? as usize).max(1),
            "--answer-secs" => a.answer_secs = num(value()?)?.max(0.5),
            "--wav" => a.wav = Some(value()?),
            "--stagger-ms" => a.stagger = Duration::from_millis(num(value()?)? as u64),
            "--agent-name" => a.agent_name = value()?,
            "--reply-timeout-secs" => {
                a.reply_timeout = Duration::from_secs_f64(num(value()?)?);
            }
            "-h" | "--help" => {
                return Err(
                    "usage: loadgen [--n 1] [--turns 3] [--answer-secs 7] [--wav FILE] \
                            [--stagger-ms 100] [--agent-name interview-agent] \
                            [--reply-timeout-secs 10]"
                        .into(),
                )
            }
            other => return Err(format!("unknown option {other} (--help)")),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    interview_agent::telemetry::init("warn", interview_agent::telemetry::LogFormat::Pretty);
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let Ok(url) = std::env::var("LIVEKIT_URL") else {
        eprintln!("loadgen: set LIVEKIT_URL (and LIVEKIT_API_KEY, LIVEKIT_API_SECRET)");
        std::process::exit(2);
    };
    let target = Target {
        url,
        api_key: std::env::var("LIVEKIT_API_KEY").unwrap_or_else(|_| "devkey".into()),
        api_secret: Secret::new(
            std::env::var("LIVEKIT_API_SECRET").unwrap_or_else(|_| "secret".into()),
        ),
        agent_name: args.agent_name.clone(),
    };
    let voice = match voice::Voice::load(args.wav.as_deref(), args.answer_secs) {
        Ok(v) => Arc::new(v),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let plan = Plan {
        turns: args.turns,
        reply_timeout: args.reply_timeout,
        join_timeout: Duration::from_secs(30),
    };
    let run_id = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let (cpu0, t0) = (stats::process_cpu(), Instant::now());
    let mut tasks = Vec::new();
    for i in 0..args.n {
        let (target, voice) = (target.clone(), voice.clone());
        let start = args.stagger * i as u32;
        let run_id = run_id.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(start).await;
            candidate::run(i, &run_id, target, voice, plan).await
        }));
    }
    let mut outcomes: Vec<Outcome> = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap_or_else(|e| Outcome {
            error: Some(format!("candidate task: {e}")),
            ..Outcome::default()
        }));
    }
    let (cpu, wall) = (stats::process_cpu() - cpu0, t0.elapsed());
    report(&args, &outcomes, cpu, wall);
}

fn report(args: &Args, outcomes: &[Outcome], cpu: Duration, wall: Duration) {
    let joins: Vec<Duration> = outcomes.iter().filter_map(|o| o.join).collect();
    let firsts: Vec<Duration> = outcomes.iter().filter_map(|o| o.first_audio).collect();
    let v2v: Vec<Duration> = outcomes.iter().flat_map(|o| o.v2v.clone()).collect();
    let missed: usize = outcomes.iter().map(|o| o.missed).sum();
    let failed: Vec<&str> = outcomes.iter().filter_map(|o| o.error.as_deref()).collect();
    // Share of one core per candidate, over the whole run.
    let cpu_pct = 100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    println!(
        "{} candidates, {} turns each: {} failed, {} turns answered, {} missed",
        args.n,
        args.turns,
        failed.len(),
        v2v.len(),
        missed
    );
    println!(
        "join (dispatch -> agent track) p50 {} p90 {} max {} ms; first greeting audio p50 {} ms",
        ms(percentile(&joins, 0.5)),
        ms(percentile(&joins, 0.9)),
        ms(percentile(&joins, 1.0)),
        ms(percentile(&firsts, 0.5)),
    );
    println!(
        "voice-to-voice p50 {} p90 {} mean {} max {} ms",
        ms(percentile(&v2v, 0.5)),
        ms(percentile(&v2v, 0.9)),
        ms(mean(&v2v)),
        ms(percentile(&v2v, 1.0)),
    );
    println!(
        "loadgen CPU {:.1} % of a core ({:.2} % per candidate) over {:.0} s",
        cpu_pct,
        cpu_pct / args.n.max(1) as f64,
        wall.as_secs_f64()
    );
    let mut reasons: Vec<&str> = failed.clone();
    reasons.sort();
    reasons.dedup();
    for r in &reasons {
        println!("failure: {r}");
    }
    let n =
        |d: Option<Duration>| d.map_or(serde_json::Value::Null, |d| (d.as_millis() as u64).into());
    let json = serde_json::json!({
        "n": args.n,
        "failed": failed.len(),
        "turns": v2v.len(),
        "missed": missed,
        "join_p50_ms": n(percentile(&joins, 0.5)),
        "join_p90_ms": n(percentile(&joins, 0.9)),
        "join_max_ms": n(percentile(&joins, 1.0)),
        "first_audio_p50_ms": n(percentile(&firsts, 0.5)),
        "v2v_p50_ms": n(percentile(&v2v, 0.5)),
        "v2v_p90_ms": n(percentile(&v2v, 0.9)),
        "v2v_mean_ms": n(mean(&v2v)),
        "loadgen_cpu_pct": (cpu_pct * 10.0).round() / 10.0,
    });
    println!("RESULT {json}");
}
