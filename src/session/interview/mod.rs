//! The interviewer session: one interview in one room, from dispatch to the saved result.
//!
//! 1. Join, publish the agent's voice, find which application the room is for ([`lobby`]:
//!    job metadata, room name `interview-{id}-{n}`, the candidate's attributes) and fetch it
//!    ([`Applications`], the GraphQL backend in production). Unknown application: a short
//!    spoken apology to whoever is there, leave, job failed with the reason. Backend
//!    unreachable: the same, but the candidate is asked to try again in a few minutes.
//! 2. Plan the questions (the job's, else LLM-generated from the description, else the
//!    built-in bank), pick the voice (gender from metadata/application, language from the
//!    job), start the voice pipeline with a [`brain::FlowBrain`].
//! 3. Run the interview [`Flow`]: greeting + first question once the candidate's microphone
//!    is live; turns go through the brain; timers (silence re-prompts, time budget) are
//!    polled here; answers are scored in the background as each question completes.
//! 4. Everything said and every score is spooled as it happens ([`record`]); at the end the
//!    summary and final result are spooled, then delivered ([`finish`]). The candidate may
//!    leave and rejoin within `rejoin_grace` and the same interview continues.
//!
//! Files: this one (set-up, the runner, the unknown-application path), `lobby` (before the
//! interview), `brain` (the flow-driven pipeline brain), `live` (the running interview's
//! loop), `record` (transcript and scores, spooled as they happen), `finish` (summary, result,
//! delivery), `sources` (the GraphQL backend as the source of applications).

pub mod brain;
pub mod finish;
pub mod live;
pub mod lobby;
pub mod observers;
pub mod record;
pub mod sources;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::brain::{FlowBrain, FlowEffect, SharedFlow};
use self::live::{Live, Outcome};
use self::lobby::{CandidateAudio, Lobby};
use self::observers::Observers;
use self::record::Recorder;
use super::candidate::CandidateLink;
use super::job::{JobSpec, SessionError, SessionRunner};
use super::recording::{Recording, TapSlot};
use super::voice::{attrs, join_as_agent, mirror, play};
use crate::audio::frame_queue;
use crate::interview::lines::{BACKEND_UNAVAILABLE, UNKNOWN_APPLICATION};
use crate::interview::spool::now_ms;
use crate::interview::{
    idempotency_key, Application, Flow, FlowConfig, Models, QuestionPlan, ResultSink, Spool,
    VoiceConfig,
};
use crate::pipeline::sentences::first_sentence;
use crate::pipeline::{
    AgentSpeech, Brain, DefaultBrain, PipelineEvent, PipelineOptions, Providers, VoicePipeline,
};
use crate::providers::prefetch::PrefetchTts;
use crate::providers::{Llm, RetryPolicy, Stt, TtsFactory};
use crate::room::{Room, RoomOptions};
use crate::telemetry::{interview_metrics, InterviewMetrics};

/// Why an application could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("unknown application {0:?}")]
    NotFound(String),
    #[error("application unusable: {0}")]
    Invalid(String),
    /// The backend could not answer (down, auth, bad response): not the candidate's fault.
    #[error("application backend unavailable: {0}")]
    Unavailable(String),
}

/// Where applications come from (the GraphQL backend in production).
#[async_trait]
pub trait Applications: Send + Sync {
    async fn application(&self, id: &str) -> Result<Application, LookupError>;
}

/// Interview timing and policies (see `[interview]` in agent.toml).
#[derive(Debug, Clone)]
pub struct InterviewOptions {
    pub wait_for_candidate: Duration,
    pub rejoin_grace: Duration,
    /// The models behind the providers (recorded on every result).
    pub models: Models,
    /// Recording allowed here: an interview is recorded when this is on AND its application
    /// asks for it (`settings.recordAudio`).
    pub record_audio: bool,
    pub judge_timeout: Duration,
    pub max_follow_ups: u32,
    pub thin_answer_words: usize,
    pub silence_timeout: Duration,
    pub max_reprompts: u32,
    /// The LLM phrases questions and follow-ups (acknowledging the answer); false: they are
    /// said verbatim (lower latency, for small local models).
    pub llm_phrasing: bool,
    /// The LLM judges whether an answer needs a follow-up (besides the word-count rule);
    /// false: the word count alone decides, with no LLM call before the next question.
    pub llm_judge: bool,
    /// After an unknown application, how long to wait for a human to hear the apology.
    pub apology_wait: Duration,
    /// Longest wait for the closing line to be spoken before the agent leaves.
    pub closing_timeout: Duration,
    /// Longest wait for outstanding answer scores at the end.
    pub scoring_timeout: Duration,
    pub delivery: RetryPolicy,
}

impl Default for InterviewOptions {
    fn default() -> Self {
        InterviewOptions {
            wait_for_candidate: Duration::from_secs(300),
            rejoin_grace: Duration::from_secs(60),
            models: Models::default(),
            record_audio: false,
            judge_timeout: Duration::from_millis(2500),
            max_follow_ups: 1,
            thin_answer_words: 12,
            silence_timeout: Duration::from_secs(10),
            max_reprompts: 2,
            llm_phrasing: true,
            llm_judge: true,
            apology_wait: Duration::from_secs(30),
            closing_timeout: Duration::from_secs(60),
            scoring_timeout: Duration::from_secs(90),
            delivery: crate::interview::default_delivery_policy(),
        }
    }
}

/// Runs interviews (one per job).
pub struct InterviewRunner {
    pub room_options: RoomOptions,
    pub pipeline: PipelineOptions,
    pub stt: Arc<dyn Stt>,
    /// Conversation, question generation, follow-up judge, scoring and summary.
    pub llm: Arc<dyn Llm>,
    pub tts: Arc<dyn TtsFactory>,
    pub applications: Arc<dyn Applications>,
    pub sink: Arc<dyn ResultSink>,
    pub spool: Spool,
    pub voices: VoiceConfig,
    pub options: InterviewOptions,
}

impl InterviewRunner {
    fn flow_config(&self, application: &Application) -> FlowConfig {
        let o = &self.options;
        let mut c = FlowConfig::new(application.settings.max_duration);
        c.max_follow_ups = o.max_follow_ups;
        c.thin_answer_words = o.thin_answer_words;
        c.silence_timeout = o.silence_timeout;
        c.max_reprompts = o.max_reprompts;
        c.judge_timeout = o.judge_timeout + Duration::from_secs(1);
        c
    }
}

#[async_trait]
impl SessionRunner for InterviewRunner {
    async fn run(&self, job: JobSpec, cancel: CancellationToken) -> Result<(), SessionError> {
        let (room, mut events, voice_track) = join_as_agent(&job, &self.room_options).await?;
        let agent_track = voice_track.sid();
        let metadata = serde_json::Value::Object(job.metadata.clone());

        // Which application: known at once from metadata or the room name, else from the
        // first human's attributes.
        let mut lobby = Lobby::default();
        let wait = tokio::time::sleep(self.options.wait_for_candidate);
        tokio::pin!(wait);
        let app_ref = loop {
            if let Some(r) = lobby.application_ref(&metadata, &job.room_name) {
                break r;
            }
            tokio::select! {
                _ = cancel.cancelled() => { room.close().await; return Ok(()); }
                _ = &mut wait => {
                    room.close().await;
                    return Err(SessionError::Failed(if lobby.humans.is_empty() {
                        "no candidate joined the room".into()
                    } else {
                        "no application id in the job metadata, the room name or the candidate's attributes".into()
                    }));
                }
                ev = events.recv() => {
                    if let Err(reason) = lobby.apply(ev) {
                        return Err(SessionError::Failed(format!("room closed before the interview: {reason}")));
                    }
                }
            }
        };
        tracing::info!(application = %app_ref.id, source = ?app_ref.source, room = %job.room_name, "interview for application");

        let application = self.applications.application(&app_ref.id).await;
        let voice = match &application {
            Ok(app) => self.voices.for_session(&metadata, app),
            Err(_) => self.voices.choose(
                crate::interview::VoiceGender::Neutral,
                &crate::interview::Language::english(),
                &app_ref.id,
            ),
        };
        let tts = match self.tts.with_voice(&voice) {
            Ok(t) => PrefetchTts::new(t),
            Err(e) => {
                room.close().await;
                return Err(SessionError::Failed(format!("TTS set-up: {e}")));
            }
        };
        let mut pipeline_opts = self.pipeline.clone();
        let (effects_tx, mut effects_rx) = mpsc::channel::<FlowEffect>(32);
        let mut flow_state: Option<SharedFlow> = None;
        let brain: Arc<dyn Brain> = match &application {
            Ok(app) => {
                let plan = QuestionPlan::build(&app.job, self.llm.as_ref()).await;
                tracing::info!(questions = plan.len(), source = ?plan.source, %voice, language = app.job.language().code(), "interview planned");
                let lines = crate::interview::lines::Lines::for_language(&app.job.language());
                let flow = Flow::new(
                    plan,
                    lines,
                    &app.candidate.name,
                    &app.job.title,
                    self.flow_config(app),
                );
                // Ready before the candidate arrives: the greeting starts when they do.
                if let Some(first) = first_sentence(&flow.greeting(), &pipeline_opts.sentences) {
                    tts.prefetch(&first);
                }
                let flow = Arc::new(Mutex::new(flow));
                pipeline_opts.stt_language = Some(app.job.language().code().to_string());
                let fb = FlowBrain::new(
                    flow.clone(),
                    app.clone(),
                    self.llm.clone(),
                    self.options.judge_timeout,
                    self.options.llm_phrasing,
                    self.options.llm_judge,
                    effects_tx.clone(),
                )
                .with_prefetch(tts.clone(), pipeline_opts.sentences.clone());
                // The greeting asks the first question: the second can be prepared now too.
                fb.prepare_next();
                flow_state = Some(flow);
                Arc::new(fb)
            }
            Err(_) => Arc::new(DefaultBrain::default()),
        };

        let (input_tx, input_rx) = frame_queue(self.room_options.audio_queue_frames);
        let pipeline = match VoicePipeline::spawn(
            pipeline_opts,
            Providers {
                stt: self.stt.clone(),
                llm: self.llm.clone(),
                tts,
            },
            brain,
            input_rx,
        ) {
            Ok(p) => p,
            Err(e) => {
                room.close().await;
                return Err(SessionError::Failed(format!("voice pipeline: {e}")));
            }
        };
        let VoicePipeline {
            handle,
            audio_out,
            events: mut pipe_events,
            task,
        } = pipeline;
        let agent_tap = TapSlot::default();
        let player = tokio::spawn(play(audio_out, voice_track, agent_tap.clone()));

        // The candidate's microphone.
        let wait_for = match &application {
            Ok(_) => self.options.wait_for_candidate,
            Err(_) => self.options.apology_wait,
        };
        let wait = tokio::time::sleep(wait_for);
        tokio::pin!(wait);
        let audio: Option<CandidateAudio> = loop {
            if let Some(a) = lobby.audio.take() {
                break Some(a);
            }
            tokio::select! {
                _ = cancel.cancelled() => break None,
                _ = &mut wait => break None,
                ev = events.recv() => {
                    if lobby.apply(ev).is_err() { break None; }
                }
            }
        };
        let mut link =
            audio.map(|a| CandidateLink::new(a.identity, a.track_sid, a.stream, input_tx.clone()));
        let someone_there = link.is_some() || !lobby.humans.is_empty();

        let result = match (application, flow_state, link.as_mut()) {
            (Ok(app), Some(flow), Some(link)) => {
                room.set_attributes(attrs(&[("lk.agent.state", "listening")]))
                    .await?;
                let started_at_ms = now_ms();
                let key = idempotency_key(&app.id, &job.room_name, started_at_ms);
                let recording = self
                    .start_recording(&app, &key, link, &agent_tap, &room)
                    .await;
                let recorder = Recorder::start(
                    self.spool.clone(),
                    key,
                    &app.id,
                    &job.room_name,
                    started_at_ms,
                    app.job.language(),
                    self.options.models.clone(),
                )
                .await;
                let mut live = Live {
                    runner: self,
                    room: &room,
                    handle: handle.clone(),
                    flow,
                    app,
                    recorder,
                    scoring: JoinSet::new(),
                    closing: None,
                    ending: None,
                    agent_busy: true,
                    agent_track: agent_track.clone(),
                    observers: Observers::from_humans(&lobby.humans),
                    line_starts: Default::default(),
                };
                let outcome = live
                    .interview(
                        &cancel,
                        &mut events,
                        &mut pipe_events,
                        &mut effects_rx,
                        link,
                    )
                    .await;
                let ended_at_ms = now_ms();
                // The closing's last transcript events, then leave: the candidate is done;
                // the summary and the delivery do not need the room.
                live.drain(&mut pipe_events, &link.track_sid).await;
                // The recording is complete before the result is delivered (with it).
                if let Some(r) = recording {
                    match r.finish().await {
                        Ok(d) => tracing::info!(duration = ?d, "interview recording finished"),
                        Err(e) => tracing::error!("interview recording failed: {e}"),
                    }
                }
                if let (Outcome::Ended(reason), false) = (&outcome, cancel.is_cancelled()) {
                    // Tells the candidate's page the interview is over (a departure without
                    // it, e.g. the worker stopping, is a failure the candidate may recover from
                    // by rejoining).
                    let reason = serde_json::to_value(reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let _ = room
                        .set_attributes(attrs(&[("interview.ended", &reason)]))
                        .await;
                }
                link.stop();
                handle.shutdown().await;
                room.close().await;
                live.finish(outcome, ended_at_ms).await
            }
            (Ok(_), _, _) => Err(SessionError::Failed(if cancel.is_cancelled() {
                "stopped before the candidate joined".into()
            } else {
                "no candidate joined the room".into()
            })),
            (Err(e), _, _) => {
                // Apologize to whoever is there, then fail the job with the reason.
                let line = match &e {
                    LookupError::Unavailable(_) => BACKEND_UNAVAILABLE,
                    LookupError::NotFound(_) | LookupError::Invalid(_) => UNKNOWN_APPLICATION,
                };
                if someone_there {
                    if let Some(speech) = handle.say(line, false).await {
                        speak_out(
                            &speech,
                            &mut pipe_events,
                            &room,
                            &agent_track,
                            Duration::from_secs(30),
                        )
                        .await;
                    }
                }
                Err(SessionError::Failed(format!(
                    "application {}: {e}",
                    app_ref.id
                )))
            }
        };

        if let Some(l) = &link {
            l.stop();
        }
        input_tx.close();
        handle.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        player.abort();
        room.close().await;
        result
    }
}

/// Wait until `speech` is done (or `limit`), mirroring pipeline events to the room meanwhile.
async fn speak_out(
    speech: &AgentSpeech,
    pipe_events: &mut mpsc::Receiver<PipelineEvent>,
    room: &Room,
    agent_track: &str,
    limit: Duration,
) {
    let done = speech.done();
    tokio::pin!(done);
    let stop = tokio::time::sleep(limit);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut done => break,
            _ = &mut stop => return,
            ev = pipe_events.recv() => match ev {
                Some(ev) => mirror(room, ev, "", agent_track).await,
                None => return,
            },
        }
    }
    // The final transcript is emitted just after the speech is done: forward it too.
    while let Ok(Some(ev)) =
        tokio::time::timeout(Duration::from_millis(300), pipe_events.recv()).await
    {
        mirror(room, ev, "", agent_track).await;
    }
}

impl InterviewRunner {
    /// Providers, pipeline and interview rules from the configuration; applications and
    /// results through `applications` / `sink` (the GraphQL backend in production).
    pub fn from_config(
        config: &crate::config::Config,
        applications: Arc<dyn Applications>,
        sink: Arc<dyn ResultSink>,
    ) -> Result<InterviewRunner, SessionError> {
        let voice = super::VoiceRunner::from_config(config)?;
        let tts_endpoint = {
            let r = config.openai.resolve(&config.tts.endpoint());
            let mut ep = crate::providers::openai::OpenAiEndpoint::new(r.base_url, r.api_key);
            ep.timeout = Duration::from_millis(r.timeout_ms);
            ep
        };
        let tts = crate::providers::openai::OpenAiTtsFactory::new(
            crate::providers::openai::OpenAiTtsOptions {
                endpoint: tts_endpoint,
                model: config.tts.model.clone(),
                voice: config.tts.voice.clone(),
                ..Default::default()
            },
        )
        .map_err(|e| SessionError::Failed(format!("provider set-up: {e}")))?;
        let spool = Spool::open(&config.interview.spool_dir).map_err(|e| {
            SessionError::Failed(format!(
                "interview.spool_dir {}: {e}",
                config.interview.spool_dir.display()
            ))
        })?;
        let i = &config.interview;
        Ok(InterviewRunner {
            room_options: voice.room_options,
            pipeline: voice.pipeline,
            stt: voice.providers.stt,
            llm: voice.providers.llm,
            tts: Arc::new(tts),
            applications,
            sink,
            spool,
            voices: config.voices.clone(),
            options: InterviewOptions {
                wait_for_candidate: Duration::from_secs(i.wait_for_candidate_secs),
                rejoin_grace: Duration::from_secs(i.rejoin_grace_secs),
                judge_timeout: Duration::from_millis(i.judge_timeout_ms),
                max_follow_ups: i.max_follow_ups,
                thin_answer_words: i.thin_answer_words,
                silence_timeout: Duration::from_secs(i.silence_timeout_secs),
                max_reprompts: i.max_reprompts,
                llm_phrasing: i.llm_phrasing,
                llm_judge: i.llm_judge,
                models: Models {
                    stt: config.stt.model.clone(),
                    judge: config.llm.model.clone(),
                    tts: config.tts.model.clone(),
                },
                record_audio: i.record_audio,
                ..InterviewOptions::default()
            },
        })
    }

    /// Record the interview when this agent may (`interview.record_audio`) and the application
    /// asks for it; tells the room (`interview.recording=on`, the candidate's page shows it).
    /// A recording that cannot start is logged, and the interview goes on unrecorded.
    async fn start_recording(
        &self,
        app: &Application,
        key: &str,
        link: &CandidateLink,
        agent_tap: &TapSlot,
        room: &Room,
    ) -> Option<Recording> {
        if !(self.options.record_audio && app.settings.record_audio) {
            return None;
        }
        let path = self.spool.recording_path(key).ok()?;
        match Recording::start(&path) {
            Ok(r) => {
                let _ = link.tap().set(r.candidate.clone());
                let _ = agent_tap.set(r.interviewer.clone());
                let _ = room
                    .set_attributes(attrs(&[("interview.recording", "on")]))
                    .await;
                tracing::info!(file = %path.display(), "recording the interview");
                Some(r)
            }
            Err(e) => {
                tracing::error!(file = %path.display(), "cannot record the interview: {e}");
                None
            }
        }
    }

    /// Deliver every unsent result in the spool (at worker start, then every `every`) until
    /// `stop`. Interviews still running in this process are skipped.
    pub async fn redeliver_loop(&self, every: Duration, stop: CancellationToken) {
        loop {
            let m = interview_metrics();
            match crate::interview::deliver_pending(
                &self.spool,
                self.sink.as_ref(),
                &self.options.delivery,
            )
            .await
            {
                Ok(report) => {
                    let left =
                        report.failed.len() + report.unmarked.len() + report.unrecoverable.len();
                    InterviewMetrics::add(&m.results_delivered, report.delivered.len() as u64);
                    InterviewMetrics::set(&m.undelivered, left as u64);
                    if !report.delivered.is_empty() {
                        tracing::info!(
                            delivered = report.delivered.len(),
                            partial = report.partial.len(),
                            "spooled interview results delivered"
                        );
                    }
                }
                Err(e) => tracing::error!("cannot read the results spool: {e}"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
