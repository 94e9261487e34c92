//! Speculative replies, offline on a paused clock with fake providers (STT 300 ms, LLM first
//! token 300 ms, TTS first byte 200 ms): the reply starts in the user's pause and is played
//! only once the turn ends (sooner than without speculation); speaking again cancels it (its
//! requests really dropped, and counted) and the whole turn is transcribed; a brain with side
//! effects is only asked after the commit, unless it decides ahead (`reply_ahead`): then its
//! decision and the audio are ready at the commit, applied exactly once, and decided again
//! when its state moved on meanwhile.

mod pipeline_support;

use std::sync::Arc;

use async_trait::async_trait;
use interview_agent::pipeline::{
    AgentState, Brain, BrainReply, Conversation, DefaultBrain, InFlight, PipelineEvent,
    PipelineOptions, SpeculationEvent, TurnMetrics,
};
use interview_agent::providers::fake::{FakeLlm, FakeStt, FakeTts};
use interview_agent::providers::LlmRequest;
use pipeline_support::{ms, Harness};
use tokio::time::Instant;

const REPLY: &str = "Thanks. What did you learn from it?";

fn providers() -> (FakeStt, FakeLlm, FakeTts) {
    (
        FakeStt::new().with_latency(ms(300)),
        FakeLlm::new()
            .with_ttft(ms(300))
            .with_token_interval(ms(25))
            .with_default_reply(REPLY),
        FakeTts::new().with_ttfb(ms(200)),
    )
}

fn speculation_events(events: &[(Instant, PipelineEvent)]) -> Vec<SpeculationEvent> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            PipelineEvent::Speculation(s) => Some(*s),
            _ => None,
        })
        .collect()
}

/// What each cancelled speculation had in flight.
fn cancellations(events: &[(Instant, PipelineEvent)]) -> Vec<InFlight> {
    speculation_events(events)
        .into_iter()
        .filter_map(|e| match e {
            SpeculationEvent::Cancelled { in_flight, .. } => Some(in_flight),
            _ => None,
        })
        .collect()
}

/// When the turn was committed (the pipeline turns to thinking then).
fn committed_at(events: &[(Instant, PipelineEvent)]) -> Instant {
    events
        .iter()
        .find_map(|(at, e)| {
            matches!(e, PipelineEvent::StateChanged(AgentState::Thinking)).then_some(*at)
        })
        .expect("a committed turn")
}

fn metrics(events: &[(Instant, PipelineEvent)]) -> TurnMetrics {
    events
        .iter()
        .find_map(|(_, e)| match e {
            PipelineEvent::Metrics(m) if m.turn_id.is_some() => Some(m.clone()),
            _ => None,
        })
        .expect("turn metrics")
}

/// One turn (1 s of voice), with or without speculation; (voice end, events, first audio).
async fn one_turn(
    speculate: bool,
) -> (
    Instant,
    Vec<(Instant, PipelineEvent)>,
    Vec<Instant>,
    Harness,
) {
    let opts = PipelineOptions {
        speculate_after: speculate.then_some(ms(200)),
        ..PipelineOptions::default()
    };
    let (stt, llm, tts) = providers();
    let mut h = Harness::start(opts, stt, llm, tts);
    h.silence(ms(500)).await;
    let v0 = h.voice(ms(1000)).await;
    h.silence(ms(6000)).await;
    let events = h.events.lock().unwrap().clone();
    let out = h.out_frames();
    (v0 + ms(1000), events, out, h)
}

#[tokio::test(start_paused = true)]
async fn the_reply_is_prepared_in_the_pause_played_only_after_the_end_of_turn_and_sooner() {
    let (voice_end, events, out, h) = one_turn(true).await;
    let stt = h.stt.calls();
    assert_eq!(stt.len(), 1, "one transcription");
    let started = stt[0].at - voice_end;
    assert!(
        started >= ms(200) && started <= ms(260),
        "STT in the pause: {started:?}"
    );
    let m = metrics(&events);
    assert!(
        m.end_of_utterance_delay.expect("eou") >= ms(500),
        "the end of turn still waits"
    );
    let decided = committed_at(&events);
    // The LLM (a preemptable brain) was asked before the turn was decided...
    assert_eq!(h.llm.calls().len(), 1);
    // ...but nothing was heard before it.
    assert!(
        out[0] >= decided,
        "first audio {:?} before the commit {:?}",
        out[0] - voice_end,
        decided - voice_end
    );
    assert_eq!(
        speculation_events(&events),
        vec![
            SpeculationEvent::Started { turn_id: 1 },
            SpeculationEvent::Committed { turn_id: 1 }
        ]
    );
    // The transcript reached history once, the reply was spoken once.
    assert!(events
        .iter()
        .any(|(_, e)| matches!(e, PipelineEvent::UserTranscript { turn_id: 1, .. })));
    let (conv, _, _) = h.finish().await;
    assert_eq!(conv.messages().len(), 2);
    assert_eq!(conv.messages()[1].content, REPLY);

    // Without speculation the same turn is answered later, by about the work that overlapped.
    let (voice_end_b, events_b, out_b, h_b) = one_turn(false).await;
    let with = out[0] - voice_end;
    let without = out_b[0] - voice_end_b;
    // The speculation began at 200 ms of silence instead of the 550 ms end of turn.
    assert!(
        without >= with + ms(300),
        "speculation saves the overlap: {with:?} vs {without:?}"
    );
    assert!(speculation_events(&events_b).is_empty());
    drop(h_b);
}

#[tokio::test(start_paused = true)]
async fn speaking_again_cancels_the_speculation_and_the_whole_turn_is_transcribed() {
    let (stt, llm, tts) = providers();
    let mut h = Harness::start(PipelineOptions::default(), stt, llm, tts);
    h.silence(ms(500)).await;
    h.voice(ms(700)).await;
    // A pause long enough to speculate (200 ms), too short to end the turn: STT in flight.
    h.silence(ms(300)).await;
    h.voice(ms(700)).await;
    h.silence(ms(6000)).await;
    let calls = h.stt.calls();
    assert_eq!(calls.len(), 2, "the speculation's STT and the turn's");
    assert_eq!(
        h.stt.completed(),
        1,
        "the first one was dropped, not awaited"
    );
    assert!(
        calls[1].audio.duration() > calls[0].audio.duration() + ms(600),
        "the whole turn"
    );
    // The speculation took the turn's audio so far; the cancellation gave it back intact.
    assert!(
        calls[1].audio.samples.starts_with(&calls[0].audio.samples),
        "the whole turn starts with what the speculation heard"
    );
    assert_eq!(
        h.llm.calls().len(),
        1,
        "the cancelled speculation never reached the LLM"
    );
    let events = h.events.lock().unwrap().clone();
    assert_eq!(
        speculation_events(&events),
        vec![
            SpeculationEvent::Started { turn_id: 1 },
            SpeculationEvent::Cancelled {
                turn_id: 1,
                in_flight: InFlight {
                    stt: true,
                    llm: false,
                    tts: false,
                    brain: false,
                }
            },
            SpeculationEvent::Started { turn_id: 1 },
            SpeculationEvent::Committed { turn_id: 1 },
        ]
    );
    let (conv, events, out) = h.finish().await;
    assert_eq!(
        conv.messages().len(),
        2,
        "one user turn, one reply: {:?}",
        conv.messages()
    );
    assert!(!out.is_empty());
    let transcripts = events
        .iter()
        .filter(|(_, e)| matches!(e, PipelineEvent::UserTranscript { .. }))
        .count();
    assert_eq!(transcripts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancellation_drops_the_llm_stream_it_started() {
    let (stt, llm, tts) = providers();
    let mut h = Harness::start(PipelineOptions::default(), stt, llm, tts);
    h.silence(ms(500)).await;
    h.voice(ms(700)).await;
    // Speculation at 200 ms, STT done at 500 ms, the LLM streaming: then the user goes on.
    h.silence(ms(540)).await;
    h.voice(ms(700)).await;
    h.silence(ms(6000)).await;
    let events = h.events.lock().unwrap().clone();
    assert_eq!(
        cancellations(&events),
        vec![InFlight {
            stt: false,
            llm: true,
            tts: false,
            brain: false,
        }]
    );
    assert_eq!(h.llm.streams().cancelled(), 1, "the LLM stream was dropped");
    assert_eq!(h.llm.calls().len(), 2);
    let (conv, _, _) = h.finish().await;
    assert_eq!(conv.messages().len(), 2);
}

/// A brain that records when it is asked (and says it has side effects).
struct Stateful {
    inner: DefaultBrain,
    asked: std::sync::Mutex<Vec<Instant>>,
}

#[async_trait]
impl Brain for Stateful {
    async fn request(&self, conversation: &Conversation, user_text: &str) -> LlmRequest {
        self.inner.request(conversation, user_text).await
    }
    async fn reply(&self, _conversation: &Conversation, user_text: &str) -> BrainReply {
        self.asked.lock().unwrap().push(Instant::now());
        BrainReply::Say(format!("You said {user_text}"))
    }
    fn preemptable(&self) -> bool {
        false
    }
}

#[tokio::test(start_paused = true)]
async fn a_brain_with_side_effects_is_asked_only_after_the_commit() {
    let (stt, llm, tts) = providers();
    let brain = Arc::new(Stateful {
        inner: DefaultBrain::default(),
        asked: Default::default(),
    });
    let mut h = Harness::start_with_brain(PipelineOptions::default(), stt, llm, tts, brain.clone());
    h.silence(ms(500)).await;
    let v0 = h.voice(ms(1000)).await;
    h.silence(ms(6000)).await;
    let voice_end = v0 + ms(1000);
    let stt_at = h.stt.calls()[0].at;
    assert!(stt_at - voice_end < ms(300), "STT still speculative");
    let events = h.events.lock().unwrap().clone();
    let decided = committed_at(&events);
    let asked = brain.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert!(
        asked[0] >= decided,
        "asked {:?} before the commit {:?}",
        asked[0] - voice_end,
        decided - voice_end
    );
    // The transcript was ready early: the brain is asked right at the commit.
    assert!(asked[0] - decided < ms(30));
}

/// A brain with state that decides ahead: each applied turn bumps `version`; deciding takes
/// 300 ms (like an LLM judge); a decision made at another version is refused at the commit.
#[derive(Default)]
struct Transactional {
    version: std::sync::Mutex<u64>,
    /// (user text, version decided at), until the commit.
    ahead: std::sync::Mutex<Option<(String, u64)>>,
    decided_ahead: std::sync::Mutex<Vec<String>>,
    applied: std::sync::Mutex<Vec<String>>,
    committed_at: std::sync::Mutex<Vec<Instant>>,
    /// The harness's TTS, to see which of its streams were cancelled when `reply` is asked.
    tts: std::sync::OnceLock<Arc<FakeTts>>,
    cancelled_tts_when_asked: std::sync::Mutex<Vec<usize>>,
}

#[async_trait]
impl Brain for Transactional {
    async fn request(&self, conversation: &Conversation, user_text: &str) -> LlmRequest {
        DefaultBrain::default()
            .request(conversation, user_text)
            .await
    }
    async fn reply(&self, _conversation: &Conversation, user_text: &str) -> BrainReply {
        if let Some(tts) = self.tts.get() {
            let cancelled = tts.streams().cancelled();
            self.cancelled_tts_when_asked
                .lock()
                .unwrap()
                .push(cancelled);
        }
        tokio::time::sleep(ms(300)).await;
        *self.version.lock().unwrap() += 1;
        self.applied.lock().unwrap().push(user_text.to_string());
        BrainReply::Say(format!("Decided late on {user_text}."))
    }
    fn preemptable(&self) -> bool {
        false
    }
    async fn reply_ahead(&self, _c: &Conversation, user_text: &str) -> Option<BrainReply> {
        let base = *self.version.lock().unwrap();
        tokio::time::sleep(ms(300)).await;
        self.decided_ahead
            .lock()
            .unwrap()
            .push(user_text.to_string());
        *self.ahead.lock().unwrap() = Some((user_text.to_string(), base));
        Some(BrainReply::Say(format!("Decided ahead on {user_text}.")))
    }
    async fn commit_ahead(&self, user_text: &str) -> bool {
        self.committed_at.lock().unwrap().push(Instant::now());
        let Some((text, base)) = self.ahead.lock().unwrap().take() else {
            return false;
        };
        let mut v = self.version.lock().unwrap();
        if text != user_text || *v != base {
            return false;
        }
        *v += 1;
        self.applied.lock().unwrap().push(text);
        true
    }
}

fn transactional_harness() -> (Harness, Arc<Transactional>) {
    transactional_harness_with(PipelineOptions::default())
}

fn transactional_harness_with(opts: PipelineOptions) -> (Harness, Arc<Transactional>) {
    let (stt, llm, tts) = providers();
    let brain = Arc::new(Transactional::default());
    let h = Harness::start_with_brain(opts, stt, llm, tts, brain.clone());
    let _ = brain.tts.set(h.tts.clone());
    (h, brain)
}

#[tokio::test(start_paused = true)]
async fn a_brain_that_decides_ahead_is_ready_at_the_commit_and_applied_once() {
    let (mut h, brain) = transactional_harness();
    h.silence(ms(500)).await;
    h.voice(ms(1000)).await;
    h.silence(ms(6000)).await;
    let events = h.events.lock().unwrap().clone();
    let decided = committed_at(&events);
    assert_eq!(brain.committed_at.lock().unwrap().len(), 1);
    assert_eq!(brain.decided_ahead.lock().unwrap().len(), 1);
    // STT (300 ms), the decision (300 ms) and TTS (200 ms) started in the pause, 350 ms
    // before the commit; without speculation all 800 ms would follow it.
    let out = h.out_frames();
    assert!(out[0] >= decided, "nothing before the commit");
    assert!(
        out[0] - decided <= ms(800 - 300),
        "first audio {:?} after the commit",
        out[0] - decided
    );
    let applied = brain.applied.lock().unwrap().clone();
    assert_eq!(applied.len(), 1, "applied exactly once: {applied:?}");
    let (conv, _, _) = h.finish().await;
    assert!(
        conv.messages()[1].content.starts_with("Decided ahead on"),
        "{:?}",
        conv.messages()
    );
}

#[tokio::test(start_paused = true)]
async fn a_decision_ahead_for_a_turn_that_went_on_is_never_applied() {
    let (mut h, brain) = transactional_harness();
    h.silence(ms(500)).await;
    h.voice(ms(700)).await;
    // Speculation at 200 ms, STT done at 500 ms, decided at 800 ms... but the user goes on at
    // 540 ms: the decision in progress is dropped.
    h.silence(ms(540)).await;
    h.voice(ms(700)).await;
    h.silence(ms(6000)).await;
    let ahead = brain.decided_ahead.lock().unwrap().clone();
    assert_eq!(
        ahead.len(),
        1,
        "the first decision never finished: {ahead:?}"
    );
    let events = h.events.lock().unwrap().clone();
    assert_eq!(
        cancellations(&events),
        vec![InFlight {
            brain: true,
            ..InFlight::default()
        }],
        "cancelled while deciding"
    );
    let applied = brain.applied.lock().unwrap().clone();
    assert_eq!(applied, ahead, "only the whole turn's decision was applied");
    assert_eq!(h.stt.calls().len(), 2);
    let (conv, _, _) = h.finish().await;
    assert_eq!(conv.messages().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_decision_ahead_that_no_longer_fits_is_decided_again() {
    let (mut h, brain) = transactional_harness();
    h.silence(ms(500)).await;
    h.voice(ms(1000)).await;
    // The decision ahead starts at 200 + 300 ms (after STT); something else moves the brain
    // on while it is being made.
    h.silence(ms(530)).await;
    assert_eq!(h.stt.completed(), 1);
    *brain.version.lock().unwrap() += 1;
    h.silence(ms(6000)).await;
    assert_eq!(brain.decided_ahead.lock().unwrap().len(), 1);
    let applied = brain.applied.lock().unwrap().clone();
    assert_eq!(applied.len(), 1, "{applied:?}");
    let events = h.events.lock().unwrap().clone();
    assert!(speculation_events(&events).contains(&SpeculationEvent::Redecided { turn_id: 1 }));
    let (conv, _, out) = h.finish().await;
    assert!(!out.is_empty());
    assert!(
        conv.messages()[1].content.starts_with("Decided late on"),
        "the prepared reply was dropped, not played: {:?}",
        conv.messages()
    );
}

#[tokio::test(start_paused = true)]
async fn a_prepared_reply_that_no_longer_fits_is_dropped_before_deciding_again() {
    // A long end-of-turn wait: the decision ahead (STT 300 + 300 ms) is made and its audio is
    // being synthesized into the (shut) playout queue well before the turn commits.
    let mut opts = PipelineOptions::default();
    opts.vad.min_silence = ms(1500);
    let (mut h, brain) = transactional_harness_with(opts);
    h.silence(ms(500)).await;
    h.voice(ms(1000)).await;
    h.silence(ms(1100)).await;
    assert_eq!(brain.decided_ahead.lock().unwrap().len(), 1);
    assert_eq!(
        h.tts.streams().started(),
        1,
        "the prepared reply is being synthesized"
    );
    // Something else moves the brain on before the commit.
    *brain.version.lock().unwrap() += 1;
    h.silence(ms(9000)).await;
    let events = h.events.lock().unwrap().clone();
    assert!(speculation_events(&events).contains(&SpeculationEvent::Redecided { turn_id: 1 }));
    // Its TTS stream was cancelled before the brain was asked again, not kept open while the
    // new reply is decided and played.
    assert_eq!(*brain.cancelled_tts_when_asked.lock().unwrap(), vec![1]);
    let (conv, _, _) = h.finish().await;
    assert!(
        conv.messages().len() == 2 && conv.messages()[1].content.starts_with("Decided late on"),
        "{:?} {:?}",
        conv.messages(),
        speculation_events(&events)
    );
}
