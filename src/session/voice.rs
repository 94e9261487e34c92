//! The voice agent in a room: waits for the candidate's microphone, runs the voice pipeline on
//! it, plays the agent's speech on its own track, and mirrors the pipeline to LiveKit's
//! front-end contract: `lk.agent.state` (initializing / listening / thinking / speaking) and
//! transcripts of both sides as `lk.transcription` text streams with `lk.segment_id`,
//! `lk.transcribed_track_id` and `lk.transcription_final`. Per-turn latencies go to the log
//! and to the process-wide histograms on `/metrics`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::candidate::{sleep_opt, CandidateLink};
use super::job::{JobSpec, SessionError, SessionRunner};
use super::recording::{tap_frame, TapSlot};
use crate::audio::frame_queue;
use crate::config::Config;
use crate::pipeline::captions::word_times_json;
use crate::pipeline::{
    Brain, DefaultBrain, PipelineEvent, PipelineOptions, Providers, SpeculationEvent,
    VoicePipeline, WordTime,
};
use crate::providers::openai::{
    OpenAiEndpoint, OpenAiLlm, OpenAiLlmOptions, OpenAiStt, OpenAiSttOptions, OpenAiTts,
    OpenAiTtsOptions,
};
use crate::room::{LocalAudioTrack, Room, RoomEvent, RoomOptions};
use crate::telemetry::{speculation_metrics, voice_metrics, SpeculationMetrics};

/// Builds sessions of the voice agent.
pub struct VoiceRunner {
    pub room_options: RoomOptions,
    pub pipeline: PipelineOptions,
    pub providers: Providers,
    pub brain: Arc<dyn Brain>,
    pub greeting: String,
    /// How long to wait for a candidate before giving up on the job.
    pub wait_for_candidate: Duration,
    /// After the candidate leaves, how long they may take to come back.
    pub rejoin_grace: Duration,
}

fn endpoint(config: &Config, o: &crate::config::EndpointOverride) -> OpenAiEndpoint {
    let r = config.openai.resolve(o);
    let mut ep = OpenAiEndpoint::new(r.base_url, r.api_key);
    ep.timeout = Duration::from_millis(r.timeout_ms);
    ep
}

impl VoiceRunner {
    /// Providers, pipeline and prompts from the configuration.
    pub fn from_config(config: &Config) -> Result<VoiceRunner, SessionError> {
        let fail = |e: crate::providers::ProviderError| {
            SessionError::Failed(format!("provider set-up: {e}"))
        };
        let language = (!config.stt.language.is_empty()).then(|| config.stt.language.clone());
        let stt = OpenAiStt::new(OpenAiSttOptions {
            endpoint: endpoint(config, &config.stt.endpoint()),
            model: config.stt.model.clone(),
            language: language.clone(),
            ..OpenAiSttOptions::default()
        })
        .map_err(fail)?;
        let llm = OpenAiLlm::new(OpenAiLlmOptions {
            endpoint: endpoint(config, &config.llm.endpoint()),
            model: config.llm.model.clone(),
            temperature: Some(config.llm.temperature),
            max_tokens: Some(config.llm.max_tokens),
        })
        .map_err(fail)?;
        let tts = OpenAiTts::new(OpenAiTtsOptions {
            endpoint: endpoint(config, &config.tts.endpoint()),
            model: config.tts.model.clone(),
            voice: config.tts.voice.clone(),
            ..OpenAiTtsOptions::default()
        })
        .map_err(fail)?;
        let v = &config.voice;
        let mut pipeline = PipelineOptions::default();
        pipeline.vad.mode = match v.vad_mode.as_str() {
            "quality" => crate::audio::VadMode::Quality,
            "low-bitrate" => crate::audio::VadMode::LowBitrate,
            "aggressive" => crate::audio::VadMode::Aggressive,
            _ => crate::audio::VadMode::VeryAggressive,
        };
        pipeline.vad.min_speech = Duration::from_millis(v.min_speech_ms);
        pipeline.vad.min_silence = Duration::from_millis(v.min_silence_ms);
        pipeline.vad.prefix_padding = Duration::from_millis(v.prefix_padding_ms);
        pipeline.turn.min_endpointing_delay = Duration::from_millis(v.min_endpointing_delay_ms);
        pipeline.turn.max_endpointing_delay = Duration::from_millis(v.max_endpointing_delay_ms);
        pipeline.min_interruption = Duration::from_millis(v.min_interruption_ms);
        pipeline.stt_language = language;
        pipeline.speculate_after =
            (v.speculate_after_ms > 0).then(|| Duration::from_millis(v.speculate_after_ms));
        Ok(VoiceRunner {
            room_options: RoomOptions::from_config(&config.room),
            pipeline,
            providers: Providers {
                stt: Arc::new(stt),
                llm: Arc::new(llm),
                tts: Arc::new(tts),
            },
            brain: Arc::new(DefaultBrain {
                system_prompt: v.system_prompt.clone(),
                temperature: Some(config.llm.temperature),
                max_tokens: Some(config.llm.max_tokens),
                ..DefaultBrain::default()
            }),
            greeting: v.greeting.clone(),
            wait_for_candidate: Duration::from_secs(config.interview.wait_for_candidate_secs),
            rejoin_grace: Duration::from_secs(config.interview.rejoin_grace_secs),
        })
    }
}

/// The agent's side of the room: connected, `lk.agent.state` = initializing, its voice track
/// published (shared by the voice and interview sessions).
pub(super) async fn join_as_agent(
    job: &JobSpec,
    options: &RoomOptions,
) -> Result<(Room, mpsc::Receiver<RoomEvent>, LocalAudioTrack), SessionError> {
    let (room, events) = Room::connect(&job.url, &job.token, options.clone()).await?;
    room.set_attributes(attrs(&[("lk.agent.state", "initializing")]))
        .await?;
    let mut voice = room.publish_audio("agent-voice").await?;
    // Announced to the room (and subscribable) once it carries RTP: before anyone needs it.
    voice.prime(Duration::from_secs(2)).await;
    Ok((room, events, voice))
}

pub(super) fn attrs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[async_trait]
impl SessionRunner for VoiceRunner {
    async fn run(&self, job: JobSpec, cancel: CancellationToken) -> Result<(), SessionError> {
        let (room, mut events, voice) = join_as_agent(&job, &self.room_options).await?;
        let agent_track = voice.sid();
        tracing::info!(job_id = %job.job_id, room = %job.room_name, "voice session started, waiting for the candidate");

        // The candidate's microphone: the first non-agent audio track.
        let wait = tokio::time::sleep(self.wait_for_candidate);
        tokio::pin!(wait);
        let (candidate, candidate_track, stream) = loop {
            tokio::select! {
                _ = cancel.cancelled() => { room.close().await; return Ok(()); }
                _ = &mut wait => {
                    room.close().await;
                    return Err(SessionError::Failed("no candidate joined the room".into()));
                }
                ev = events.recv() => match ev {
                    Some(RoomEvent::AudioTrackSubscribed { participant, track_sid, stream }) if !participant.is_agent => {
                        break (participant.identity, track_sid, stream);
                    }
                    Some(RoomEvent::Disconnected { reason }) => {
                        return Err(SessionError::Failed(format!("left the room before the candidate spoke: {reason}")));
                    }
                    None => return Err(SessionError::Failed("room closed before the candidate spoke".into())),
                    Some(_) => {}
                },
            }
        };
        tracing::info!(%candidate, track = %candidate_track, "candidate audio subscribed");

        // The pipeline reads one queue for the whole session; each of the candidate's tracks
        // (a rejoin brings a new one) is forwarded into it, so a rejoin continues the interview.
        let (input_tx, input_rx) = frame_queue(self.room_options.audio_queue_frames);
        let mut link = CandidateLink::new(candidate, candidate_track, stream, input_tx);
        let pipeline = VoicePipeline::spawn(
            self.pipeline.clone(),
            self.providers.clone(),
            self.brain.clone(),
            input_rx,
        )
        .map_err(|e| SessionError::Failed(format!("voice pipeline: {e}")))?;
        let VoicePipeline {
            handle,
            audio_out,
            events: mut pipe_events,
            task,
        } = pipeline;
        let player = tokio::spawn(play(audio_out, voice, TapSlot::default()));
        room.set_attributes(attrs(&[("lk.agent.state", "listening")]))
            .await?;
        if !self.greeting.is_empty() {
            let _ = handle.say(self.greeting.clone(), true).await;
        }

        let outcome = loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ok(()),
                _ = sleep_opt(link.gone_at(self.rejoin_grace)) => {
                    tracing::info!(candidate = %link.identity, "candidate did not come back; ending the session");
                    break Ok(());
                }
                ev = pipe_events.recv() => {
                    let Some(ev) = ev else { break Ok(()) };
                    mirror(&room, ev, &link.track_sid, &agent_track).await;
                }
                ev = events.recv() => {
                    if let Err(why) = link.on_room_event(ev) {
                        break Err(SessionError::Failed(why));
                    }
                }
            }
        };
        link.stop();
        handle.shutdown().await;
        let conversation = tokio::time::timeout(Duration::from_secs(5), task).await;
        player.abort();
        if let Ok(Ok(c)) = conversation {
            tracing::info!(job_id = %job.job_id, messages = c.messages().len(), "voice session ended");
        }
        room.close().await;
        outcome
    }
}

/// Agent audio from the pipeline (already paced) onto the published track (and the
/// recording, once `tap` holds one).
pub(super) async fn play(
    mut audio: mpsc::Receiver<crate::audio::AudioFrame>,
    mut voice: LocalAudioTrack,
    tap: TapSlot,
) {
    while let Some(frame) = audio.recv().await {
        tap_frame(&tap, &frame);
        if let Err(e) = voice.capture_frame(&frame).await {
            tracing::warn!("agent audio not sent: {e}");
        }
    }
}

/// Reflect one pipeline event in the room and the metrics.
pub(super) async fn mirror(
    room: &Room,
    ev: PipelineEvent,
    candidate_track: &str,
    agent_track: &str,
) {
    let res = match ev {
        PipelineEvent::StateChanged(s) => {
            room.set_attributes(attrs(&[("lk.agent.state", s.as_str())]))
                .await
        }
        PipelineEvent::UserTranscript {
            segment_id, text, ..
        } => {
            tracing::info!(%text, "candidate said");
            send_transcript(room, &segment_id, candidate_track, &text, true, &[]).await
        }
        PipelineEvent::AgentTranscript {
            segment_id,
            text,
            words,
            is_final,
            ..
        } => {
            if is_final {
                tracing::info!(%text, "agent said");
            }
            send_transcript(room, &segment_id, agent_track, &text, is_final, &words).await
        }
        PipelineEvent::Interrupted { heard, played, .. } => {
            tracing::info!(?played, %heard, "agent interrupted by the candidate");
            Ok(())
        }
        PipelineEvent::ProviderFailed { stage, error } => {
            tracing::error!(?stage, "provider failed after retries: {error}");
            Ok(())
        }
        PipelineEvent::Metrics(m) => {
            let vm = voice_metrics();
            for (h, v) in [
                (&vm.end_of_utterance, m.end_of_utterance_delay),
                (&vm.stt, m.stt_duration),
                (&vm.llm_ttft, m.llm_ttft),
                (&vm.tts_ttfb, m.tts_ttfb),
                (&vm.e2e, m.e2e),
            ] {
                if let Some(v) = v {
                    h.observe(v);
                }
            }
            tracing::info!(
                eou = ?m.end_of_utterance_delay, stt = ?m.stt_duration, llm_ttft = ?m.llm_ttft,
                tts_ttfb = ?m.tts_ttfb, agent = ?m.agent_latency, e2e = ?m.e2e, interrupted = m.interrupted,
                "turn metrics"
            );
            Ok(())
        }
        PipelineEvent::Speculation(ev) => {
            let m = speculation_metrics();
            match ev {
                SpeculationEvent::Started { .. } => SpeculationMetrics::inc(&m.started),
                SpeculationEvent::Committed { .. } => SpeculationMetrics::inc(&m.committed),
                SpeculationEvent::Redecided { .. } => SpeculationMetrics::inc(&m.redecided),
                SpeculationEvent::Cancelled { in_flight, .. } => {
                    SpeculationMetrics::inc(&m.cancelled);
                    for (flag, counter) in [
                        (in_flight.stt, &m.cancelled_stt),
                        (in_flight.llm, &m.cancelled_llm),
                        (in_flight.tts, &m.cancelled_tts),
                        (in_flight.brain, &m.cancelled_brain),
                    ] {
                        if flag {
                            SpeculationMetrics::inc(counter);
                        }
                    }
                }
            }
            Ok(())
        }
        PipelineEvent::UserSpeechStarted { .. } | PipelineEvent::UserSpeechEnded { .. } => Ok(()),
    };
    if let Err(e) = res {
        tracing::warn!("could not update the room: {e}");
    }
}

/// One `lk.transcription` text stream: the segment's whole text so far (a client keeps the
/// latest text per `lk.segment_id`). Interim agent lines also carry `interview.word_times`.
async fn send_transcript(
    room: &Room,
    segment: &str,
    track: &str,
    text: &str,
    is_final: bool,
    words: &[WordTime],
) -> Result<(), crate::room::RoomError> {
    let times = (!words.is_empty()).then(|| word_times_json(words));
    let mut pairs = vec![
        ("lk.segment_id", segment),
        ("lk.transcribed_track_id", track),
        (
            "lk.transcription_final",
            if is_final { "true" } else { "false" },
        ),
    ];
    if let Some(t) = times.as_deref() {
        pairs.push(("interview.word_times", t));
    }
    let a = attrs(&pairs);
    room.send_text("lk.transcription", text, &a)
        .await
        .map(|_| ())
}
