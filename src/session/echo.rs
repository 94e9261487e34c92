//! `connect --echo`: a media diagnostic that plays back what it hears after a short delay,
//! mixing all remote audio tracks. It sends frames continuously (silence when there is nothing
//! to play) in real time, so the far end hears a steady stream.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::audio::{AudioFrame, SampleRate, FRAME_DURATION, SAMPLES_PER_FRAME_48K};
use crate::room::{Room, RoomError, RoomEvent};

#[derive(Debug, Clone)]
pub struct EchoOptions {
    pub delay: Duration,
    /// Stop after this long (None: until shutdown or the room closes).
    pub duration: Option<Duration>,
    /// Optional outgoing tone mixed in (Hz), for one-way checks.
    pub tone_hz: Option<f64>,
    pub echo: bool,
}

impl Default for EchoOptions {
    fn default() -> Self {
        EchoOptions {
            delay: Duration::from_millis(500),
            duration: None,
            tone_hz: None,
            echo: true,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct EchoStats {
    pub frames_heard: u64,
    pub frames_sent: u64,
    pub tracks: u64,
}

/// Frames buffered per track: the delay plus one second of slack (oldest dropped beyond).
fn line_capacity(delay: Duration) -> usize {
    (delay.as_millis() / FRAME_DURATION.as_millis()) as usize + 50
}

/// Run the diagnostic until `shutdown` resolves, `opts.duration` passes or the room closes.
pub async fn run_echo(
    room: &Room,
    mut events: mpsc::Receiver<RoomEvent>,
    opts: EchoOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<EchoStats, RoomError> {
    let mut voice = room.publish_audio("echo").await?;
    let mut attrs = HashMap::new();
    attrs.insert(
        "interview-agent.mode".to_string(),
        if opts.echo { "echo" } else { "tone" }.to_string(),
    );
    room.set_attributes(attrs).await?;
    room.send_text(
        "interview-agent.status",
        "media diagnostic ready",
        &HashMap::new(),
    )
    .await?;

    let (heard_tx, mut heard_rx) = mpsc::channel::<(String, Instant, AudioFrame)>(256);
    let mut lines: HashMap<String, VecDeque<(Instant, AudioFrame)>> = HashMap::new();
    let mut tone = opts.tone_hz.map(|hz| super::tone::Tone::new(hz, -12.0));
    let mut stats = EchoStats::default();
    let mut ticker = tokio::time::interval(FRAME_DURATION);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let deadline = opts.duration.map(|d| Instant::now() + d);
    let cap = line_capacity(opts.delay);
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = sleep_until_opt(deadline) => break,
            ev = events.recv() => match ev {
                None | Some(RoomEvent::Disconnected { .. }) => break,
                Some(RoomEvent::AudioTrackSubscribed { participant, track_sid, mut stream }) => {
                    tracing::info!(identity = %participant.identity, %track_sid, "echoing track");
                    stats.tracks += 1;
                    let tx = heard_tx.clone();
                    tokio::spawn(async move {
                        while let Some(f) = stream.recv().await {
                            if tx.send((track_sid.clone(), Instant::now(), f)).await.is_err() { break; }
                        }
                    });
                }
                Some(RoomEvent::Reconnecting { reason }) => tracing::warn!("media paused: {reason}"),
                Some(other) => tracing::debug!(event = ?other, "room event"),
            },
            Some((sid, at, frame)) = heard_rx.recv() => {
                stats.frames_heard += 1;
                if opts.echo {
                    let line = lines.entry(sid).or_default();
                    if line.len() >= cap { line.pop_front(); }
                    line.push_back((at, frame));
                }
            }
            _ = ticker.tick() => {
                let out = mix_due(&mut lines, opts.delay, tone.as_mut().map(|t| t.next_frame()));
                voice.capture_frame(&out).await?;
                stats.frames_sent = voice.frames_sent();
            }
        }
    }
    Ok(stats)
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Mix, per track, the oldest frame that has waited at least `delay`, plus an optional tone.
fn mix_due(
    lines: &mut HashMap<String, VecDeque<(Instant, AudioFrame)>>,
    delay: Duration,
    tone: Option<AudioFrame>,
) -> AudioFrame {
    let now = Instant::now();
    let mut acc = vec![0i32; SAMPLES_PER_FRAME_48K];
    let mut add = |f: &AudioFrame| {
        for (a, s) in acc.iter_mut().zip(f.samples.iter()) {
            *a += *s as i32;
        }
    };
    for line in lines.values_mut() {
        if line
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= delay)
        {
            if let Some((_, f)) = line.pop_front() {
                add(&f);
            }
        }
    }
    if let Some(t) = &tone {
        add(t);
    }
    let samples: Vec<i16> = acc
        .into_iter()
        .map(|v| v.clamp(i16::MIN as i32, i16::MAX as i32) as i16)
        .collect();
    AudioFrame::new(samples, SampleRate::HZ_48000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn frames_play_only_after_the_delay() {
        let mut lines = HashMap::new();
        let f = AudioFrame::new(vec![1000i16; SAMPLES_PER_FRAME_48K], SampleRate::HZ_48000);
        lines
            .entry("t".to_string())
            .or_insert_with(VecDeque::new)
            .push_back((Instant::now(), f));
        let early = mix_due(&mut lines, Duration::from_millis(500), None);
        assert!(early.samples.iter().all(|&s| s == 0));
        tokio::time::advance(Duration::from_millis(500)).await;
        let due = mix_due(&mut lines, Duration::from_millis(500), None);
        assert!(due.samples.iter().all(|&s| s == 1000));
        assert!(lines["t"].is_empty());
    }
}
