//! [`VoicePipeline`]: the task that listens and answers. Candidate frames (48 kHz) come in from
//! a [`FrameReceiver`]; they are resampled to 16 kHz, run through the VAD and the end-of-turn
//! detector; at the end of a turn exactly one reply task is spawned with that turn's audio
//! (prefix padding included). Agent audio goes out paced on a small bounded channel; events go
//! out on a bounded queue (see [`super::events`]).
//!
//! Barge-in: while a reply is thinking or speaking, user speech is held aside; once it has
//! lasted `min_interruption` (from its onset) the reply is cancelled at once (playout stops,
//! queued audio and the LLM/TTS streams are dropped) and that speech starts the user's next
//! turn. Interrupted while THINKING, the cancelled turn's audio is merged into the new turn (the
//! user was not done). Interrupted while SPEAKING, history keeps what the user heard. Shorter
//! sounds (coughs, "mm-hm") are dropped and do not interrupt; if the agent finishes while the
//! user is already talking, that speech becomes the next turn.
//!
//! The select loop is `biased` in this order: commands (interrupt/say/shutdown), reply-task
//! messages, input audio, the end-of-turn timer: control beats data.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use super::brain::{Brain, Conversation};
use super::error::PipelineError;
use super::events::SpeculationEvent;
use super::events::{AgentState, EventSink, PipelineEvent, TurnMetrics};
use super::options::PipelineOptions;
use super::playout::PlayoutNote;
use super::reply::{lock_timings, Gate, Reply, ReplyJob, ReplyMsg, Shared, SharedTimings};
use super::speculation::Speculation;
use super::speech::AgentSpeech;
use super::turn::{TurnDetector, TurnEvent, TurnInfo};
use crate::audio::vad::VAD_RATE;
use crate::audio::{AudioFrame, FrameReceiver, StreamResampler, Vad, VadEvent};
use crate::providers::{Llm, Stt, Tts};

/// The three providers the pipeline talks to.
#[derive(Clone)]
pub struct Providers {
    pub stt: Arc<dyn Stt>,
    pub llm: Arc<dyn Llm>,
    pub tts: Arc<dyn Tts>,
}

enum Command {
    Say {
        text: String,
        allow_interruptions: bool,
        reply: tokio::sync::oneshot::Sender<AgentSpeech>,
    },
    Interrupt,
    Shutdown,
}

/// Control of a running pipeline. Cheap to clone.
#[derive(Clone)]
pub struct PipelineHandle {
    tx: mpsc::Sender<Command>,
}

impl PipelineHandle {
    /// Speak `text` (greeting, disclosure, closing). Starts as soon as the agent is idle and
    /// the user is not mid-turn. Returns the speech handle, or None if the pipeline is gone.
    pub async fn say(
        &self,
        text: impl Into<String>,
        allow_interruptions: bool,
    ) -> Option<AgentSpeech> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let cmd = Command::Say {
            text: text.into(),
            allow_interruptions,
            reply,
        };
        self.tx.send(cmd).await.ok()?;
        rx.await.ok()
    }

    /// Stop the agent's current reply now.
    pub async fn interrupt(&self) {
        let _ = self.tx.send(Command::Interrupt).await;
    }

    /// Stop the pipeline; its task then returns the conversation.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Command::Shutdown).await;
    }
}

/// A running pipeline: its control handle, its outputs and its task.
pub struct VoicePipeline {
    pub handle: PipelineHandle,
    /// Agent audio: 48 kHz, 20 ms frames, paced in real time. Bounded (tiny); the pipeline
    /// waits when it is full.
    pub audio_out: mpsc::Receiver<AudioFrame>,
    pub events: mpsc::Receiver<PipelineEvent>,
    /// Ends when the input closes or on shutdown; yields the conversation.
    pub task: JoinHandle<Conversation>,
}

impl VoicePipeline {
    /// Start the pipeline on the current tokio runtime.
    pub fn spawn(
        opts: PipelineOptions,
        providers: Providers,
        brain: Arc<dyn Brain>,
        input: FrameReceiver,
    ) -> Result<VoicePipeline, PipelineError> {
        let resampler = StreamResampler::new(opts.input_rate, VAD_RATE)?;
        let vad = Vad::new(&opts.vad)?;
        let (events, events_rx) = EventSink::new(opts.event_queue);
        let (out_tx, out_rx) = mpsc::channel(opts.output_queue_frames.max(1));
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let (reply_tx, reply_rx) = mpsc::channel(64);
        let shared = Arc::new(Shared {
            stt: providers.stt,
            llm: providers.llm,
            tts: providers.tts,
            brain,
            opts: opts.clone(),
            events: events.clone(),
            out: out_tx,
        });
        let core = Core {
            turn: TurnDetector::new(opts.turn.clone()),
            max_turn_samples: VAD_RATE.samples_in(opts.max_turn_audio),
            opts,
            shared,
            events,
            resampler,
            vad,
            conversation: Conversation::default(),
            state: AgentState::Listening,
            user: UserSpeech::default(),
            turn_audio: Vec::new(),
            last_speech_end: None,
            active: None,
            says: VecDeque::new(),
            reply_tx,
            next_turn_id: 1,
            next_speech_id: 1,
            speculation: None,
            pause: Duration::ZERO,
        };
        let task = tokio::spawn(core.run(input, cmd_rx, reply_rx));
        Ok(VoicePipeline {
            handle: PipelineHandle { tx: cmd_tx },
            audio_out: out_rx,
            events: events_rx,
            task,
        })
    }
}

/// The current user utterance as the VAD reports it.
#[derive(Default)]
struct UserSpeech {
    speaking: bool,
    onset: Option<Instant>,
    /// Part of the user's turn (else held aside while the agent is busy).
    accepted: bool,
    /// Audio held aside (prefix + speech) while not accepted; bounded like the turn audio.
    held: Vec<i16>,
}

struct ActiveReply {
    speech: AgentSpeech,
    task: JoinHandle<()>,
    timings: SharedTimings,
    turn: Option<(u64, TurnInfo)>,
    /// The turn's audio, kept to merge into the next turn if cancelled while thinking.
    audio: Option<AudioFrame>,
    user_text_recorded: bool,
    allow_interruptions: bool,
}

struct PendingSay {
    text: String,
    allow_interruptions: bool,
    speech: AgentSpeech,
}

struct Core {
    opts: PipelineOptions,
    shared: Arc<Shared>,
    events: EventSink,
    resampler: StreamResampler,
    vad: Vad,
    turn: TurnDetector,
    conversation: Conversation,
    state: AgentState,
    user: UserSpeech,
    /// Audio of the current user turn (16 kHz), bounded by `max_turn_samples`.
    turn_audio: Vec<i16>,
    max_turn_samples: usize,
    last_speech_end: Option<Instant>,
    active: Option<ActiveReply>,
    says: VecDeque<PendingSay>,
    reply_tx: mpsc::Sender<ReplyMsg>,
    next_turn_id: u64,
    next_speech_id: u64,
    /// The reply started in the current pause of the user's speech, if any.
    speculation: Option<Speculation>,
    /// Silence since the user's last voiced frame in the current (accepted) speech.
    pause: Duration,
}

impl Core {
    async fn run(
        mut self,
        mut input: FrameReceiver,
        mut commands: mpsc::Receiver<Command>,
        mut replies: mpsc::Receiver<ReplyMsg>,
    ) -> Conversation {
        self.events
            .emit(PipelineEvent::StateChanged(AgentState::Listening));
        let mut commands_open = true;
        loop {
            let deadline = self.turn.next_deadline();
            tokio::select! {
                biased;
                cmd = commands.recv(), if commands_open => match cmd {
                    None => commands_open = false,
                    Some(Command::Shutdown) => break,
                    Some(Command::Interrupt) => self.cancel_reply(),
                    Some(Command::Say { text, allow_interruptions, reply }) => {
                        let speech = self.new_speech();
                        let _ = reply.send(speech.clone());
                        self.says.push_back(PendingSay { text, allow_interruptions, speech });
                        self.maybe_start_say();
                    }
                },
                Some(msg) = replies.recv() => self.on_reply_msg(msg),
                frame = input.recv() => match frame {
                    Some(frame) => self.on_frame(&frame, Instant::now()),
                    None => break,
                },
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.poll_turn(Instant::now());
                }
            }
        }
        self.cancel_speculation();
        self.cancel_reply();
        for say in self.says.drain(..) {
            say.speech.interrupt();
        }
        self.conversation
    }

    fn set_state(&mut self, state: AgentState) {
        if self.state != state {
            self.state = state;
            self.events.emit(PipelineEvent::StateChanged(state));
        }
    }

    fn new_speech(&mut self) -> AgentSpeech {
        let id = self.next_speech_id;
        self.next_speech_id += 1;
        AgentSpeech::new(id)
    }

    // --- audio in ----------------------------------------------------------------------------

    fn on_frame(&mut self, frame: &AudioFrame, now: Instant) {
        if frame.sample_rate != self.resampler.input_rate() {
            match StreamResampler::new(frame.sample_rate, VAD_RATE) {
                Ok(r) => {
                    tracing::info!(rate = frame.sample_rate.0, "input sample rate changed");
                    self.resampler = r;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "dropping frame with unsupported sample rate");
                    return;
                }
            }
        }
        let samples = self.resampler.process(&frame.samples);
        for event in self.vad.handle(&samples, now) {
            self.on_vad(event, now);
        }
        self.poll_turn(now);
    }

    fn on_vad(&mut self, event: VadEvent, now: Instant) {
        match event {
            VadEvent::SpeechStart { at, prefix } => {
                self.events.emit(PipelineEvent::UserSpeechStarted { at });
                // The user was not done after all.
                self.cancel_speculation();
                self.pause = Duration::ZERO;
                self.user = UserSpeech {
                    speaking: true,
                    onset: Some(at),
                    accepted: false,
                    held: prefix.samples.to_vec(),
                };
                if self.active.is_none() {
                    self.accept_user_speech();
                } else {
                    self.check_barge_in(now);
                }
            }
            VadEvent::Speech { frame, voiced } => {
                if self.user.accepted {
                    self.push_turn_audio(&frame.samples);
                    self.on_pause(voiced, frame.duration());
                } else {
                    let room = self.max_turn_samples.saturating_sub(self.user.held.len());
                    let n = frame.samples.len().min(room);
                    self.user.held.extend_from_slice(&frame.samples[..n]);
                    // Only voiced audio can push the utterance past the barge-in threshold; the
                    // VAD's silence hangover after a short "mm-hm" must not.
                    if voiced {
                        self.check_barge_in(now);
                    }
                }
            }
            VadEvent::SpeechEnd { at, .. } => {
                self.events.emit(PipelineEvent::UserSpeechEnded { at });
                if self.user.accepted {
                    self.turn.speech_ended(at);
                    self.last_speech_end = Some(at);
                } else {
                    tracing::debug!("short speech while the agent was busy; ignored");
                }
                self.user = UserSpeech::default();
            }
        }
    }

    fn push_turn_audio(&mut self, samples: &[i16]) {
        // While a speculation runs, the turn so far is its audio and `turn_audio` the rest.
        let head = self
            .speculation
            .as_ref()
            .map_or(0, |s| s.audio.samples.len());
        let room = self
            .max_turn_samples
            .saturating_sub(head + self.turn_audio.len());
        self.turn_audio
            .extend_from_slice(&samples[..samples.len().min(room)]);
    }

    /// The current utterance joins the user's turn.
    fn accept_user_speech(&mut self) {
        let Some(onset) = self.user.onset else { return };
        self.user.accepted = true;
        let held = std::mem::take(&mut self.user.held);
        self.push_turn_audio(&held);
        self.turn.speech_started(onset);
    }

    fn check_barge_in(&mut self, now: Instant) {
        let Some(onset) = self.user.onset else { return };
        let Some(active) = &self.active else {
            self.accept_user_speech();
            return;
        };
        if !active.allow_interruptions
            || now.saturating_duration_since(onset) < self.opts.min_interruption
        {
            return;
        }
        let thinking = !active.speech.has_started_playing();
        let merge = if thinking { active.audio.clone() } else { None };
        let merged_text = thinking && active.user_text_recorded;
        tracing::info!(thinking, "barge-in");
        self.cancel_reply();
        if let Some(previous) = merge {
            // The user was not done: the cancelled turn's audio leads the new turn.
            if merged_text {
                self.conversation.pop_user();
            }
            let mut audio = previous.samples.to_vec();
            audio.append(&mut self.turn_audio);
            self.turn_audio = audio;
        }
        self.accept_user_speech();
    }

    fn poll_turn(&mut self, now: Instant) {
        match self.turn.poll(now) {
            Some(TurnEvent::EndOfTurn(info)) => match self.speculation.take() {
                Some(spec) => self.commit_speculation(spec, info),
                None => self.start_turn_reply(info),
            },
            Some(TurnEvent::Discarded { speech_duration }) => {
                tracing::debug!(?speech_duration, "too short for a turn");
                self.cancel_speculation();
                self.turn_audio.clear();
                self.maybe_start_say();
            }
            None => {}
        }
    }

    // --- replies -----------------------------------------------------------------------------

    fn start_turn_reply(&mut self, info: TurnInfo) {
        let turn_id = self.next_turn_id;
        self.next_turn_id += 1;
        let audio = AudioFrame::new(std::mem::take(&mut self.turn_audio), VAD_RATE);
        let speech = self.new_speech();
        let job = ReplyJob::Turn {
            turn_id,
            audio: audio.clone(),
            conversation: self.conversation.clone(),
        };
        self.spawn_reply(
            speech,
            job,
            Some((turn_id, info)),
            Some(audio),
            self.opts.allow_interruptions,
        );
        self.set_state(AgentState::Thinking);
    }

    fn maybe_start_say(&mut self) {
        if self.active.is_some() || self.turn.in_turn() {
            return;
        }
        let Some(say) = self.says.pop_front() else {
            return;
        };
        let allow = say.allow_interruptions && self.opts.allow_interruptions;
        self.spawn_reply(
            say.speech,
            ReplyJob::Say { text: say.text },
            None,
            None,
            allow,
        );
    }

    /// Start a reply task (gated: speculative).
    fn spawn_task(
        &self,
        speech: &AgentSpeech,
        job: ReplyJob,
        gate: Option<Gate>,
    ) -> (JoinHandle<()>, SharedTimings) {
        let timings = SharedTimings::default();
        let reply = Reply {
            shared: self.shared.clone(),
            speech: speech.clone(),
            timings: timings.clone(),
            to_main: self.reply_tx.clone(),
            gate,
        };
        (tokio::spawn(reply.run(job)), timings)
    }

    fn spawn_reply(
        &mut self,
        speech: AgentSpeech,
        job: ReplyJob,
        turn: Option<(u64, TurnInfo)>,
        audio: Option<AudioFrame>,
        allow_interruptions: bool,
    ) {
        let (task, timings) = self.spawn_task(&speech, job, None);
        self.active = Some(ActiveReply {
            speech,
            task,
            timings,
            turn,
            audio,
            user_text_recorded: false,
            allow_interruptions,
        });
    }

    fn on_reply_msg(&mut self, msg: ReplyMsg) {
        // A speculative reply's messages wait for its commit.
        if let Some(spec) = self.speculation.as_mut() {
            match msg {
                ReplyMsg::UserText {
                    speech_id, text, ..
                } if speech_id == spec.speech.id() => {
                    spec.user_text = Some(text);
                    return;
                }
                ReplyMsg::Finished { speech_id } if speech_id == spec.speech.id() => {
                    spec.finished = true;
                    return;
                }
                _ => {}
            }
        }
        let current = self.active.as_ref().map(|a| a.speech.id());
        match msg {
            ReplyMsg::UserText {
                speech_id,
                turn_id,
                text,
            } if Some(speech_id) == current => self.record_user_text(turn_id, text),
            ReplyMsg::Playout { speech_id, note } if Some(speech_id) == current => match note {
                PlayoutNote::FirstFrame { .. } => self.set_state(AgentState::Speaking),
                PlayoutNote::WordsReleased => {
                    if let Some(a) = &self.active {
                        let caption = a.speech.caption();
                        self.events.emit(PipelineEvent::AgentTranscript {
                            speech_id,
                            segment_id: format!("agent-{speech_id}"),
                            text: caption.text,
                            words: caption.words,
                            is_final: false,
                        });
                    }
                }
            },
            ReplyMsg::Finished { speech_id } if Some(speech_id) == current => self.reply_finished(),
            // Messages of a reply that was already cancelled.
            _ => {}
        }
    }

    fn record_user_text(&mut self, turn_id: u64, text: String) {
        self.conversation.push_user(text.clone());
        if let Some(a) = self.active.as_mut() {
            a.user_text_recorded = true;
        }
        let segment_id = format!("user-{turn_id}");
        self.events.emit(PipelineEvent::UserTranscript {
            turn_id,
            segment_id,
            text,
        });
    }

    fn reply_finished(&mut self) {
        if let Some(a) = self.active.take() {
            self.close_reply(a, false);
        }
        // The user started talking while the agent was finishing: that is a turn.
        if self.user.speaking && !self.user.accepted {
            self.accept_user_speech();
        }
        self.maybe_start_say();
    }

    // --- speculative replies (see `speculation`) ---------------------------------------------

    /// Follow the silence in the user's speech; a long enough pause starts a speculation.
    fn on_pause(&mut self, voiced: bool, frame: Duration) {
        if voiced {
            self.pause = Duration::ZERO;
            self.cancel_speculation();
            return;
        }
        self.pause += frame;
        let Some(after) = self.opts.speculate_after else {
            return;
        };
        if self.pause >= after && self.speculation.is_none() && self.active.is_none() {
            self.start_speculation();
        }
    }

    fn start_speculation(&mut self) {
        let turn_id = self.next_turn_id;
        let speech = self.new_speech();
        let (gate_tx, gate_rx) = watch::channel(false);
        // The turn so far moves into the shared buffer the reply transcribes (one copy, not
        // two held side by side); what follows collects in `turn_audio` until the commit or
        // the cancellation.
        let audio = AudioFrame::new(std::mem::take(&mut self.turn_audio), VAD_RATE);
        let job = ReplyJob::Turn {
            turn_id,
            audio: audio.clone(),
            conversation: self.conversation.clone(),
        };
        let (task, timings) = self.spawn_task(&speech, job, Some(gate_rx));
        tracing::debug!(turn_id, pause = ?self.pause, "speculative reply started");
        self.events
            .emit(PipelineEvent::Speculation(SpeculationEvent::Started {
                turn_id,
            }));
        self.speculation = Some(Speculation {
            turn_id,
            speech,
            task,
            timings,
            audio,
            gate: gate_tx,
            user_text: None,
            finished: false,
        });
    }

    fn cancel_speculation(&mut self) {
        let Some(spec) = self.speculation.take() else {
            return;
        };
        let turn_id = spec.turn_id;
        // The turn goes on: its start comes back from the speculation.
        let head = spec.audio.samples.clone();
        let in_flight = spec.cancel();
        let tail = std::mem::take(&mut self.turn_audio);
        self.turn_audio = Vec::with_capacity(head.len() + tail.len());
        self.turn_audio.extend_from_slice(&head);
        self.turn_audio.extend_from_slice(&tail);
        tracing::debug!(
            turn_id,
            ?in_flight,
            "speculative reply cancelled: the user went on"
        );
        self.events
            .emit(PipelineEvent::Speculation(SpeculationEvent::Cancelled {
                turn_id,
                in_flight,
            }));
    }

    /// The turn ended as the speculation assumed: it becomes the reply, and may play.
    fn commit_speculation(&mut self, spec: Speculation, info: TurnInfo) {
        let turn_id = spec.turn_id;
        self.next_turn_id += 1;
        // The speculation holds the turn's audio; what came after it was the silence that
        // ended the turn.
        self.turn_audio = Vec::new();
        self.events
            .emit(PipelineEvent::Speculation(SpeculationEvent::Committed {
                turn_id,
            }));
        self.active = Some(ActiveReply {
            speech: spec.speech,
            task: spec.task,
            timings: spec.timings,
            turn: Some((turn_id, info)),
            audio: Some(spec.audio),
            user_text_recorded: false,
            allow_interruptions: self.opts.allow_interruptions,
        });
        let _ = spec.gate.send(true);
        self.set_state(AgentState::Thinking);
        if let Some(text) = spec.user_text {
            self.record_user_text(turn_id, text);
        }
        if spec.finished {
            self.reply_finished();
        }
    }

    /// Stop the active reply at once (barge-in or `interrupt()`).
    fn cancel_reply(&mut self) {
        let Some(a) = self.active.take() else { return };
        a.speech.interrupt();
        a.task.abort();
        self.close_reply(a, true);
    }

    /// Record what was heard, emit the final transcript and the metrics, back to listening.
    fn close_reply(&mut self, a: ActiveReply, interrupted: bool) {
        let speech_id = a.speech.id();
        let heard = a.speech.heard_text();
        let played = a.speech.played();
        self.conversation.push_assistant(heard.clone());
        if a.speech.has_started_playing() || !heard.is_empty() {
            self.events.emit(PipelineEvent::AgentTranscript {
                speech_id,
                segment_id: format!("agent-{speech_id}"),
                text: heard.clone(),
                words: Vec::new(),
                is_final: true,
            });
        }
        if interrupted {
            self.events.emit(PipelineEvent::Interrupted {
                speech_id,
                heard,
                played,
            });
        }
        let t = lock_timings(&a.timings).clone();
        let (turn_id, info) = match a.turn {
            Some((id, info)) => (Some(id), Some(info)),
            None => (None, None),
        };
        let metrics = TurnMetrics {
            turn_id,
            speech_id,
            end_of_utterance_delay: info
                .map(|i| i.decided_at.saturating_duration_since(i.speech_ended_at)),
            stt_duration: t.stt,
            llm_ttft: t.llm_ttft,
            tts_ttfb: t.tts_ttfb,
            agent_latency: since(info.map(|i| i.decided_at), t.first_audio),
            e2e: since(info.map(|i| i.speech_ended_at), t.first_audio),
            played,
            interrupted,
        };
        self.events.emit(PipelineEvent::Metrics(metrics));
        self.set_state(AgentState::Listening);
    }
}

fn since(from: Option<Instant>, to: Option<Instant>) -> Option<Duration> {
    Some(to?.saturating_duration_since(from?))
}
