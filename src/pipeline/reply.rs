//! One agent reply as an abortable task: STT of the turn's audio -> [`Brain`] -> streaming LLM
//! -> sentence splitter -> TTS per sentence -> paced playout, all overlapped (`join!` of three
//! stages linked by bounded channels): the first sentence is synthesized while the LLM still
//! writes, and the first audio plays while later sentences are synthesized. Aborting the task
//! drops the LLM and TTS streams (cancelling the HTTP requests) and the playout queue at once.
//!
//! Failures after retries: STT down, or LLM down before its first sentence, or TTS failing ->
//! a [`PipelineEvent::ProviderFailed`] event and the brain's apology line through TTS (if TTS is
//! down too, the event is all). Retries cover opening a call, never a half-consumed stream.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;

use super::brain::{Brain, BrainReply, Conversation};
use super::events::{EventSink, PipelineEvent, SpeculationEvent, Stage};
use super::options::PipelineOptions;
use super::playout::{run_playout, PlayItem, PlayoutNote};
use super::sentences::{fixed_line, SentenceSplitter};
use super::speech::AgentSpeech;
use crate::audio::AudioFrame;
use crate::providers::{
    with_retry, AudioStream, Llm, LlmRequest, ProviderError, Stt, SttRequest, TextStream, Tts,
};

/// Everything replies share with the pipeline.
pub(crate) struct Shared {
    pub stt: Arc<dyn Stt>,
    pub llm: Arc<dyn Llm>,
    pub tts: Arc<dyn Tts>,
    pub brain: Arc<dyn Brain>,
    pub opts: PipelineOptions,
    pub events: EventSink,
    pub out: mpsc::Sender<AudioFrame>,
}

pub(crate) enum ReplyJob {
    Turn {
        turn_id: u64,
        audio: AudioFrame,
        conversation: Conversation,
    },
    Say {
        text: String,
    },
}

/// Opens (true) when a speculative reply's turn is committed.
pub(crate) type Gate = watch::Receiver<bool>;

/// Wait for the gate (at once without one). A gate whose sender is gone stays shut: the
/// reply is being cancelled.
async fn gate_open(gate: &Option<Gate>) {
    let Some(g) = gate else { return };
    let mut g = g.clone();
    if g.wait_for(|open| *open).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Which provider calls a reply has in flight (what cancelling it really cancels).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub stt: bool,
    pub llm: bool,
    pub tts: bool,
    /// The brain was deciding ahead (the interviewer: its follow-up judge, an LLM call).
    pub brain: bool,
}

/// Reply task -> main loop.
#[derive(Debug)]
pub(crate) enum ReplyMsg {
    UserText {
        speech_id: u64,
        turn_id: u64,
        text: String,
    },
    Playout {
        speech_id: u64,
        note: PlayoutNote,
    },
    Finished {
        speech_id: u64,
    },
}

/// Stage timings of one reply, shared with the main loop (which reads them even after an
/// abort).
#[derive(Debug, Default, Clone)]
pub(crate) struct Timings {
    pub stt: Option<Duration>,
    pub llm_ttft: Option<Duration>,
    pub tts_ttfb: Option<Duration>,
    pub first_audio: Option<Instant>,
    pub in_flight: InFlight,
}

pub(crate) type SharedTimings = Arc<Mutex<Timings>>;

/// A sentence whose TTS request is opening in its own task, aborted if this is dropped: a
/// cancelled reply takes its opening requests (and their HTTP connections) with it.
struct OpeningTts {
    text: String,
    opened: Instant,
    task: AbortOnDropHandle<Result<AudioStream, ProviderError>>,
}

impl OpeningTts {
    /// The audio stream, once the request has answered.
    async fn stream(self) -> Result<AudioStream, ProviderError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(ProviderError::Other {
                provider: "tts".into(),
                message: format!("request task ended: {e}"),
            }),
        }
    }
}

pub(crate) fn lock_timings(t: &SharedTimings) -> MutexGuard<'_, Timings> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}

/// Clears an in-flight flag when a call's scope ends (done, failed or dropped).
struct InFlightGuard<'a, F: Fn(&mut InFlight)>(&'a SharedTimings, F);

impl<F: Fn(&mut InFlight)> Drop for InFlightGuard<'_, F> {
    fn drop(&mut self) {
        (self.1)(&mut lock_timings(self.0).in_flight);
    }
}

pub(crate) struct Reply {
    pub shared: Arc<Shared>,
    pub speech: AgentSpeech,
    pub timings: SharedTimings,
    pub to_main: mpsc::Sender<ReplyMsg>,
    /// A speculative reply (started in a pause, before the end of the turn): nothing is
    /// played until the gate opens (the turn is committed), and a brain that is not
    /// [`Brain::preemptable`] is not asked before it either.
    pub gate: Option<Gate>,
}

impl Reply {
    pub async fn run(self, job: ReplyJob) {
        match job {
            ReplyJob::Turn {
                turn_id,
                audio,
                conversation,
            } => self.answer(turn_id, audio, conversation).await,
            ReplyJob::Say { text } => self.speak_text(text, self.gate.clone()).await,
        }
        self.speech.finish();
        let _ = self
            .to_main
            .send(ReplyMsg::Finished {
                speech_id: self.speech.id(),
            })
            .await;
    }

    async fn answer(&self, turn_id: u64, audio: AudioFrame, conversation: Conversation) {
        let s = &self.shared;
        let request = SttRequest {
            audio,
            language: s.opts.stt_language.clone(),
            prompt: s.brain.stt_prompt().or_else(|| s.opts.stt_prompt.clone()),
        };
        let t = Instant::now();
        lock_timings(&self.timings).in_flight.stt = true;
        let result = with_retry(&s.opts.retry, "stt", |_| s.stt.transcribe(&request)).await;
        {
            let mut timings = lock_timings(&self.timings);
            timings.stt = Some(t.elapsed());
            timings.in_flight.stt = false;
        }
        let text = match result {
            Ok(tr) => tr.text.trim().to_string(),
            Err(e) => {
                self.failed(Stage::Stt, e);
                return self.apologize(self.gate.clone()).await;
            }
        };
        if text.is_empty() {
            tracing::debug!(turn_id, "empty transcript; nothing to answer");
            return;
        }
        let msg = ReplyMsg::UserText {
            speech_id: self.speech.id(),
            turn_id,
            text: text.clone(),
        };
        let _ = self.to_main.send(msg).await;
        if self.gate.is_none() {
            let reply = s.brain.reply(&conversation, &text).await;
            return self.speak(reply, None).await;
        }
        // Speculative: decide ahead and prepare the audio; play (and apply the decision)
        // only at the commit.
        let ahead = {
            lock_timings(&self.timings).in_flight.brain = true;
            let _done = InFlightGuard(&self.timings, |f| f.brain = false);
            s.brain.reply_ahead(&conversation, &text).await
        };
        let Some(ahead) = ahead else {
            gate_open(&self.gate).await;
            let reply = s.brain.reply(&conversation, &text).await;
            return self.speak(reply, None).await;
        };
        // The prepared audio plays once the turn is committed AND the brain has applied its
        // decision: the turn's gate alone would let a decision that no longer fits be heard
        // for a frame or two before it is dropped.
        let (applied_tx, applied_rx) = watch::channel(false);
        let commit = async {
            gate_open(&self.gate).await;
            let applied = s.brain.commit_ahead(&text).await;
            if applied {
                let _ = applied_tx.send(true);
            }
            applied
        };
        // Boxed, not pinned on the stack: dropping it below must really drop it.
        let mut speak = Box::pin(self.speak(ahead, Some(applied_rx)));
        tokio::pin!(commit);
        let committed = tokio::select! {
            ok = &mut commit => ok,
            // Nothing to say (or a failure) needs no playout: it still waits for the commit.
            () = &mut speak => {
                if commit.await {
                    return;
                }
                false
            }
        };
        if committed {
            return speak.await;
        }
        // The brain moved on while the turn was pending: the prepared reply is dropped (its
        // requests with it), and the brain decides again.
        tracing::debug!(
            turn_id,
            "the reply decided ahead no longer fits; deciding again"
        );
        s.events
            .emit(PipelineEvent::Speculation(SpeculationEvent::Redecided {
                turn_id,
            }));
        drop(speak);
        self.speech.discard_unplayed();
        let reply = s.brain.reply(&conversation, &text).await;
        self.speak(reply, None).await
    }

    /// Speak `reply`; nothing is played before `gate` opens (None: at once).
    async fn speak(&self, reply: BrainReply, gate: Option<Gate>) {
        match reply {
            BrainReply::Llm(request) => self.speak_llm(request, None, gate).await,
            BrainReply::LlmOpened { request, stream } => {
                self.speak_llm(request, stream.take(), gate).await
            }
            BrainReply::Say(line) => self.speak_text(line, gate).await,
            BrainReply::Nothing => {}
        }
    }

    async fn speak_llm(&self, request: LlmRequest, opened: Option<TextStream>, gate: Option<Gate>) {
        let (sentence_tx, sentence_rx) = mpsc::channel::<String>(8);
        let (play_tx, play_rx) =
            mpsc::channel::<PlayItem>(self.shared.opts.playout_queue_frames.max(1));
        let (llm, tts, _) = tokio::join!(
            self.llm_stage(&request, opened, sentence_tx),
            self.tts_stage(sentence_rx, play_tx),
            self.playout_stage(play_rx, gate.clone()),
        );
        let mut apologize = false;
        if let Err(e) = tts {
            self.failed(Stage::Tts, e);
            apologize = true;
        }
        if let Err((e, sentences)) = llm {
            self.failed(Stage::Llm, e);
            apologize |= sentences == 0;
        }
        if apologize {
            self.apologize(gate).await;
        }
    }

    async fn apologize(&self, gate: Option<Gate>) {
        self.speak_text(self.shared.brain.apology(), gate).await;
    }

    /// A fixed line, sentence by sentence: the first sentence is synthesized (and heard) without
    /// waiting for the rest, and each sentence's captions are timed on its own audio.
    async fn speak_text(&self, text: String, gate: Option<Gate>) {
        let sentences = fixed_line(&text, &self.shared.opts.sentences);
        let (sentence_tx, sentence_rx) = mpsc::channel::<String>(sentences.len().max(1));
        for sentence in sentences {
            let _ = sentence_tx.send(sentence).await;
        }
        drop(sentence_tx);
        let (play_tx, play_rx) =
            mpsc::channel::<PlayItem>(self.shared.opts.playout_queue_frames.max(1));
        let (tts, _) = tokio::join!(
            self.tts_stage(sentence_rx, play_tx),
            self.playout_stage(play_rx, gate)
        );
        if let Err(e) = tts {
            self.failed(Stage::Tts, e);
        }
    }

    /// LLM deltas -> sentences (from `opened` when the brain already sent the request). Err
    /// carries how many sentences were sent before the failure.
    async fn llm_stage(
        &self,
        request: &LlmRequest,
        opened: Option<TextStream>,
        sentences: mpsc::Sender<String>,
    ) -> Result<usize, (ProviderError, usize)> {
        let s = &self.shared;
        let t = Instant::now();
        lock_timings(&self.timings).in_flight.llm = true;
        let _done = InFlightGuard(&self.timings, |f| f.llm = false);
        let mut stream = match opened {
            Some(stream) => stream,
            None => with_retry(&s.opts.retry, "llm", |_| s.llm.stream(request))
                .await
                .map_err(|e| (e, 0))?,
        };
        let mut splitter = SentenceSplitter::new(s.opts.sentences.clone());
        let mut sent = 0;
        let mut first = true;
        while let Some(item) = stream.next().await {
            let delta = item.map_err(|e| (e, sent))?;
            if first {
                first = false;
                lock_timings(&self.timings).llm_ttft = Some(t.elapsed());
            }
            for sentence in splitter.push(&delta) {
                if sentences.send(sentence).await.is_err() {
                    return Ok(sent); // TTS stage gone: stop generating (drops the stream)
                }
                sent += 1;
            }
        }
        if let Some(rest) = splitter.finish() {
            if sentences.send(rest).await.is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sentences -> TTS -> playout queue, in order. The next sentence's request opens while
    /// the current one still streams (its own task, so it progresses while this one waits on
    /// the playout queue): a short first piece ("Thanks,") is followed without a gap even
    /// when TTS takes longer to answer than the piece takes to play.
    async fn tts_stage(
        &self,
        mut sentences: mpsc::Receiver<String>,
        play: mpsc::Sender<PlayItem>,
    ) -> Result<(), ProviderError> {
        let mut ahead: Option<OpeningTts> = None;
        let mut more = true;
        loop {
            let current = match ahead.take() {
                Some(o) => o,
                None => match sentences.recv().await {
                    Some(text) => self.open_tts(text),
                    None => return Ok(()),
                },
            };
            let index = self.speech.add_sentence(&current.text);
            lock_timings(&self.timings).in_flight.tts = true;
            let _done = InFlightGuard(&self.timings, |f| f.tts = false);
            let opened = current.opened;
            let mut audio = current.stream().await?;
            let mut first = true;
            loop {
                if ahead.is_none() && more {
                    match sentences.try_recv() {
                        Ok(text) => ahead = Some(self.open_tts(text)),
                        Err(mpsc::error::TryRecvError::Disconnected) => more = false,
                        Err(mpsc::error::TryRecvError::Empty) => {}
                    }
                }
                let frame = if ahead.is_none() && more {
                    tokio::select! {
                        biased;
                        f = audio.next() => f,
                        text = sentences.recv() => {
                            match text {
                                Some(text) => ahead = Some(self.open_tts(text)),
                                None => more = false,
                            }
                            continue;
                        }
                    }
                } else {
                    audio.next().await
                };
                let Some(frame) = frame else { break };
                let frame = frame?;
                if first {
                    first = false;
                    let mut timings = lock_timings(&self.timings);
                    timings.tts_ttfb.get_or_insert(opened.elapsed());
                }
                self.speech.frame_received(index);
                if play
                    .send(PlayItem {
                        sentence: index,
                        frame,
                    })
                    .await
                    .is_err()
                {
                    return Ok(()); // playout stopped
                }
            }
            self.speech.sentence_complete(index);
        }
    }

    /// Start one sentence's TTS request (with retries) in its own task.
    fn open_tts(&self, text: String) -> OpeningTts {
        let tts = self.shared.tts.clone();
        let retry = self.shared.opts.retry.clone();
        let spoken = text.clone();
        let task =
            tokio::spawn(
                async move { with_retry(&retry, "tts", |_| tts.synthesize(&spoken)).await },
            );
        OpeningTts {
            text,
            opened: Instant::now(),
            task: AbortOnDropHandle::new(task),
        }
    }

    async fn playout_stage(&self, queue: mpsc::Receiver<PlayItem>, gate: Option<Gate>) {
        // Nothing is heard before the gate opens (the turn is committed, and a decision made
        // ahead applied); TTS meanwhile fills the queue.
        gate_open(&gate).await;
        let speech_id = self.speech.id();
        run_playout(&self.speech, queue, &self.shared.out, |note| {
            if let PlayoutNote::FirstFrame { at } = note {
                lock_timings(&self.timings).first_audio.get_or_insert(at);
            }
            let tx = self.to_main.clone();
            async move {
                let _ = tx.send(ReplyMsg::Playout { speech_id, note }).await;
            }
        })
        .await;
    }

    fn failed(&self, stage: Stage, error: ProviderError) {
        tracing::warn!(?stage, %error, retryable = error.is_retryable(), "provider failed");
        self.shared
            .events
            .emit(PipelineEvent::ProviderFailed { stage, error });
    }
}
