//! The voice pipeline end to end, offline: scripted candidate audio -> VAD -> turns -> fake
//! STT/LLM/TTS -> paced agent audio. Deterministic: paused tokio clock, no wall-clock sleeps.

mod pipeline_support;

use std::time::Duration;

use interview_agent::audio::{SampleRate, StreamResampler, FRAME_DURATION};
use interview_agent::pipeline::{AgentState, PipelineEvent, PipelineOptions, Stage, TurnMetrics};
use interview_agent::providers::fake::{FakeFailure, FakeLlm, FakeStt, FakeTts, Fault};
use interview_agent::providers::ChatRole;
use pipeline_support::{ms, states, Harness};

const REPLY: &str =
    "Thanks, that is helpful. Could you walk me through the hardest bug you fixed last year?";

fn metrics(events: &[(tokio::time::Instant, PipelineEvent)]) -> Vec<TurnMetrics> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            PipelineEvent::Metrics(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// Without speculation, as the baseline: everything starts at the end of the turn.
fn no_speculation() -> PipelineOptions {
    PipelineOptions {
        speculate_after: None,
        ..PipelineOptions::default()
    }
}

#[tokio::test(start_paused = true)]
async fn one_turn_makes_one_stt_call_then_llm_then_tts_then_audio() {
    let mut h = Harness::start(
        no_speculation(),
        FakeStt::new()
            .with_latency(ms(100))
            .with_default_reply("I built a payment system in Rust."),
        FakeLlm::new()
            .with_ttft(ms(150))
            .with_token_interval(ms(40))
            .with_default_reply(REPLY),
        FakeTts::new().with_ttfb(ms(80)).with_ms_per_char(50),
    );
    h.silence(ms(500)).await;
    let voice_start = h.voice(ms(1000)).await;
    let voice_end = voice_start + ms(1000);
    h.silence(ms(9000)).await;
    let stt_calls = h.stt.calls();
    let llm_calls = h.llm.calls();
    let tts_calls = h.tts.calls();
    let tts = h.tts.clone();
    let (conv, events, out) = h.finish().await;

    // Exactly one STT call, with this turn's audio: 300 ms prefix + ~1 s voice + the trailing
    // silence until the VAD decided the end (16 kHz).
    assert_eq!(stt_calls.len(), 1);
    let audio = &stt_calls[0].audio;
    assert_eq!(audio.sample_rate, SampleRate::HZ_16000);
    let d = audio.duration();
    assert!(d >= ms(1250) && d <= ms(2200), "turn audio {d:?}");
    // The prefix padding is there: the first 100 ms are the silence before the onset...
    assert!(audio.samples[..1600].iter().all(|s| s.abs() < 300));
    // ...and the voice follows.
    let voiced = audio
        .samples
        .chunks(320)
        .filter(|c| c.iter().map(|s| (*s as i64).pow(2)).sum::<i64>() / 320 > 1_000_000)
        .count();
    assert!(voiced >= 40, "voiced frames in the STT audio: {voiced}");
    assert!(
        stt_calls[0].at >= voice_end + ms(500),
        "STT only after the end of turn"
    );
    assert!(
        stt_calls[0].at <= voice_end + ms(800),
        "end of turn within ~min_silence of the end of speech"
    );

    // Then the LLM, with the transcript as the last user message.
    assert_eq!(llm_calls.len(), 1);
    let last = llm_calls[0].messages.last().unwrap();
    assert_eq!(
        (last.role, last.content.as_str()),
        (ChatRole::User, "I built a payment system in Rust.")
    );
    // Then TTS piece by piece: the first at its first clause, the rest of that sentence, the
    // next sentence.
    assert_eq!(
        tts_calls,
        vec![
            "Thanks,",
            "that is helpful.",
            "Could you walk me through the hardest bug you fixed last year?"
        ]
    );
    let expected_frames: usize = tts_calls.iter().map(|t| tts.frames_for(t)).sum();
    assert_eq!(
        out.len(),
        expected_frames,
        "every synthesized frame played once"
    );
    // Paced in real time.
    let span = *out.last().unwrap() - out[0];
    assert_eq!(span, FRAME_DURATION * (out.len() as u32 - 1));

    // Overlap: first audio before the LLM finished streaming (stt 100 + ttft 150 + 15*40 ms).
    let m = &metrics(&events)[0];
    eprintln!("one turn: {m:?}");
    assert_eq!(m.turn_id, Some(1));
    assert_eq!(m.stt_duration, Some(ms(100)));
    assert_eq!(m.llm_ttft, Some(ms(150)));
    assert_eq!(m.tts_ttfb, Some(ms(80)));
    let agent = m.agent_latency.unwrap();
    let llm_done = ms(100 + 150 + 40 * (REPLY.split(' ').count() as u64 - 1));
    assert!(
        agent < llm_done,
        "first audio {agent:?} must come before the LLM is done {llm_done:?}"
    );
    // stt + ttft + one more token (" that" shows the comma ends a clause) + ttfb
    assert_eq!(agent, ms(100 + 150 + 40 + 80));
    let e2e = m.e2e.unwrap();
    assert!(e2e >= agent && e2e <= agent + ms(800), "{e2e:?}");
    assert!(!m.interrupted);

    assert_eq!(
        states(&events),
        vec![
            AgentState::Listening,
            AgentState::Thinking,
            AgentState::Speaking,
            AgentState::Listening
        ]
    );
    let finals: Vec<_> = events
        .iter()
        .filter_map(|(_, e)| match e {
            PipelineEvent::AgentTranscript {
                text,
                is_final: true,
                segment_id,
                ..
            } => Some((segment_id.clone(), text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(finals, vec![("agent-1".to_string(), REPLY.to_string())]);
    assert!(events.iter().any(|(_, e)| matches!(e, PipelineEvent::UserTranscript { turn_id: 1, segment_id, .. } if segment_id == "user-1")));
    assert_eq!(conv.messages().len(), 2);
    assert_eq!(conv.messages()[1].content, REPLY);
}

#[tokio::test(start_paused = true)]
async fn two_utterances_300ms_apart_are_one_turn() {
    let mut h = Harness::start(
        no_speculation(),
        FakeStt::new(),
        FakeLlm::new(),
        FakeTts::new(),
    );
    h.silence(ms(400)).await;
    h.voice(ms(700)).await;
    h.silence(ms(300)).await;
    h.voice(ms(700)).await;
    h.silence(ms(6000)).await;
    let calls = h.stt.calls();
    assert_eq!(calls.len(), 1, "one turn, one STT call");
    assert!(
        calls[0].audio.duration() >= ms(1700 + 300),
        "both utterances: {:?}",
        calls[0].audio.duration()
    );
    assert_eq!(h.llm.calls().len(), 1);
    h.finish().await;
}

#[tokio::test(start_paused = true)]
async fn clicks_of_80ms_are_no_turn() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new(),
        FakeLlm::new(),
        FakeTts::new(),
    );
    for _ in 0..5 {
        h.silence(ms(600)).await;
        h.voice(ms(80)).await;
    }
    h.silence(ms(3000)).await;
    assert_eq!(h.stt.calls().len(), 0);
    assert_eq!(h.llm.calls().len(), 0);
    let (_, events, out) = h.finish().await;
    assert!(out.is_empty());
    assert_eq!(states(&events), vec![AgentState::Listening]);
}

#[tokio::test(start_paused = true)]
async fn barge_in_stops_playout_within_two_frames_and_cancels_llm_and_tts() {
    let long = "Let me tell you about the role first. The team builds realtime media services in Rust. \
        We care about latency, reliability and clear code. Most of the work is on the server side. \
        There is some on-call duty every few weeks. Does that sound like something you would enjoy?";
    let opts = PipelineOptions::default();
    let mut h = Harness::start(
        opts.clone(),
        FakeStt::new().with_script(["Tell me about the job.", "Wait, what about remote work?"]),
        // The LLM is still streaming when the user barges in.
        FakeLlm::new()
            .with_ttft(ms(100))
            .with_token_interval(ms(150))
            .with_script([long, "Yes, remote work is fine."]),
        // TTS delivers slightly faster than real time, so its stream is still open too.
        FakeTts::new()
            .with_ttfb(ms(50))
            .with_frame_interval(ms(15))
            .with_ms_per_char(60),
    );
    h.silence(ms(300)).await;
    h.voice(ms(800)).await;
    h.silence(ms(5000)).await;
    assert!(
        h.out_frames().len() > 120,
        "agent speaking: {} frames",
        h.out_frames().len()
    );
    let played_before = h.out_frames().len();
    let barge = h.voice(ms(900)).await;
    // Right after the barge-in: the reply's LLM and TTS streams were dropped mid-way.
    assert_eq!(h.llm.streams().cancelled(), 1, "LLM stream cancelled");
    assert!(h.tts.streams().cancelled() >= 1, "TTS stream cancelled");
    h.silence(ms(6000)).await;
    let llm = h.llm.clone();
    let stt_calls = h.stt.calls().len();
    let (conv, events, out) = h.finish().await;

    // Playout stopped within 2 frames of the threshold (+ the resampler's look-ahead).
    let latency = StreamResampler::new(SampleRate::HZ_48000, SampleRate::HZ_16000)
        .unwrap()
        .latency();
    let limit = barge + opts.min_interruption + FRAME_DURATION * 2 + latency;
    let first_reply_frames: Vec<_> = out.iter().filter(|t| **t < barge + ms(1500)).collect();
    let last = **first_reply_frames.last().unwrap();
    eprintln!(
        "barge-in: last agent frame {:?} after the onset (threshold {:?})",
        last - barge,
        opts.min_interruption
    );
    assert!(
        last <= limit,
        "last frame {:?} after the barge-in onset, limit {:?}",
        last - barge,
        limit - barge
    );
    assert!(
        last >= barge + opts.min_interruption - FRAME_DURATION,
        "not before the threshold: {:?}",
        last - barge
    );
    assert!(first_reply_frames.len() > played_before);

    // History: only what was heard (first sentences, the partial one cut with "…").
    let interrupted: Vec<_> = events
        .iter()
        .filter_map(|(_, e)| match e {
            PipelineEvent::Interrupted { heard, played, .. } => Some((heard.clone(), *played)),
            _ => None,
        })
        .collect();
    assert_eq!(interrupted.len(), 1);
    let (heard, played) = &interrupted[0];
    assert!(
        heard.starts_with("Let me tell you about the role first."),
        "{heard}"
    );
    assert!(heard.len() < long.len());
    assert_eq!(
        *played,
        FRAME_DURATION * first_reply_frames.len() as u32,
        "played = frames handed out"
    );
    let msgs = conv.messages();
    assert_eq!(msgs[1].role, ChatRole::Assistant);
    assert_eq!(&msgs[1].content, heard);

    // The barge-in speech became the next turn and was answered.
    assert_eq!(stt_calls, 2);
    assert_eq!(msgs[2].content, "Wait, what about remote work?");
    assert_eq!(llm.calls().len(), 2);
    let m = metrics(&events);
    assert!(m[0].interrupted);
    assert!(!m[1].interrupted);
}

#[tokio::test(start_paused = true)]
async fn short_backchannel_does_not_interrupt() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new(),
        FakeLlm::new().with_default_reply(REPLY),
        FakeTts::new().with_ms_per_char(50),
    );
    h.silence(ms(300)).await;
    h.voice(ms(800)).await;
    h.silence(ms(1500)).await;
    assert!(!h.out_frames().is_empty());
    h.voice(ms(200)).await; // "mm-hm"
    h.silence(ms(6000)).await;
    let tts = h.tts.clone();
    let (_, events, out) = h.finish().await;
    assert!(!events
        .iter()
        .any(|(_, e)| matches!(e, PipelineEvent::Interrupted { .. })));
    let expected: usize = tts.calls().iter().map(|t| tts.frames_for(t)).sum();
    assert_eq!(out.len(), expected, "the whole reply played");
    assert_eq!(tts.streams().cancelled(), 0);
}

#[tokio::test(start_paused = true)]
async fn provider_500_once_is_retried() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new().with_fault(Fault::FirstCalls {
            n: 1,
            failure: FakeFailure::Status(500),
        }),
        FakeLlm::new().with_fault(Fault::FirstCalls {
            n: 1,
            failure: FakeFailure::Status(503),
        }),
        FakeTts::new().with_fault(Fault::FirstCalls {
            n: 1,
            failure: FakeFailure::Timeout,
        }),
    );
    h.silence(ms(300)).await;
    h.voice(ms(800)).await;
    h.silence(ms(6000)).await;
    assert_eq!(h.stt.calls().len(), 2);
    assert_eq!(h.llm.calls().len(), 2);
    let tts_calls = h.tts.calls();
    assert_eq!(tts_calls[0], tts_calls[1], "first sentence retried");
    let (_, events, out) = h.finish().await;
    assert!(!events
        .iter()
        .any(|(_, e)| matches!(e, PipelineEvent::ProviderFailed { .. })));
    assert!(!out.is_empty());
}

#[tokio::test(start_paused = true)]
async fn llm_down_apologizes_and_keeps_listening() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new(),
        FakeLlm::new()
            .with_fault(Fault::Always(FakeFailure::Status(503)))
            .with_default_reply(REPLY),
        FakeTts::new(),
    );
    h.silence(ms(300)).await;
    h.voice(ms(800)).await;
    h.silence(ms(6000)).await;
    // Retried (3 attempts), then the apology was synthesized and played.
    assert_eq!(h.llm.calls().len(), 3);
    let apology = interview_agent::pipeline::DefaultBrain::default();
    let apology = interview_agent::pipeline::Brain::apology(&apology);
    // A fixed line goes to TTS sentence by sentence.
    let tts_calls = h.tts.calls();
    assert_eq!(tts_calls.join(" "), apology);
    let pieces = tts_calls.len();
    assert!(pieces >= 2, "{tts_calls:?}");
    let apology_frames = h.out_frames().len();
    let expected: usize = tts_calls.iter().map(|t| h.tts.frames_for(t)).sum();
    assert_eq!(apology_frames, expected);
    assert!(h.events().iter().any(|e| matches!(
        e,
        PipelineEvent::ProviderFailed {
            stage: Stage::Llm,
            ..
        }
    )));

    // The LLM comes back: the next turn is answered normally.
    h.llm.set_fault(Fault::Never);
    h.voice(ms(800)).await;
    h.silence(ms(8000)).await;
    assert_eq!(h.llm.calls().len(), 4);
    assert_eq!(
        h.tts.calls().len(),
        pieces + 3,
        "the apology's pieces + the reply's three"
    );
    assert!(h.out_frames().len() > apology_frames);
    let (conv, _, _) = h.finish().await;
    assert_eq!(conv.messages().last().unwrap().content, REPLY);
}

#[tokio::test(start_paused = true)]
async fn stt_and_tts_down_is_an_event_and_the_pipeline_goes_on() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new().with_fault(Fault::Always(FakeFailure::Connect)),
        FakeLlm::new(),
        FakeTts::new().with_fault(Fault::Always(FakeFailure::Status(500))),
    );
    h.silence(ms(300)).await;
    h.voice(ms(800)).await;
    h.silence(ms(5000)).await;
    assert_eq!(h.stt.calls().len(), 3);
    assert_eq!(h.llm.calls().len(), 0);
    assert_eq!(h.tts.calls().len(), 3, "apology attempted with retries");
    assert!(h.out_frames().is_empty(), "nothing to hear");
    let failed: Vec<Stage> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            PipelineEvent::ProviderFailed { stage, error } => {
                assert!(error.is_retryable());
                Some(*stage)
            }
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![Stage::Stt, Stage::Tts]);

    h.stt.set_fault(Fault::Never);
    h.tts.set_fault(Fault::Never);
    h.voice(ms(800)).await;
    h.silence(ms(8000)).await;
    assert_eq!(h.llm.calls().len(), 1);
    assert!(!h.out_frames().is_empty());
    let (_, events, _) = h.finish().await;
    let last_state = states(&events).last().copied();
    assert_eq!(last_state, Some(AgentState::Listening));
}

#[tokio::test(start_paused = true)]
async fn say_speaks_without_a_turn_and_goes_into_history() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new(),
        FakeLlm::new(),
        FakeTts::new(),
    );
    let speech = h
        .handle
        .say("Hello, I am the interviewer. Shall we start?", false)
        .await
        .unwrap();
    h.silence(ms(100)).await;
    let done = tokio::time::timeout(Duration::from_secs(10), speech.done())
        .await
        .unwrap();
    assert_eq!(done, interview_agent::pipeline::SpeechStatus::Finished);
    assert_eq!(
        speech.heard_text(),
        "Hello, I am the interviewer. Shall we start?"
    );
    assert_eq!(h.llm.calls().len(), 0);
    let (conv, _, out) = h.finish().await;
    assert!(!out.is_empty());
    assert_eq!(conv.messages()[0].role, ChatRole::Assistant);
}

#[tokio::test(start_paused = true)]
async fn speaking_again_while_the_agent_thinks_merges_into_one_turn() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new()
            .with_latency(ms(1500))
            .with_default_reply("I worked at Acme, mostly on billing."),
        FakeLlm::new().with_default_reply(REPLY),
        FakeTts::new(),
    );
    h.silence(ms(300)).await;
    h.voice(ms(800)).await;
    h.silence(ms(700)).await; // end of turn; STT (1.5 s) is running
    h.voice(ms(800)).await; // the user was not done
    h.silence(ms(9000)).await;
    let calls = h.stt.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].audio.duration() >= calls[0].audio.duration() + ms(800),
        "the second request carries both utterances: {:?} vs {:?}",
        calls[1].audio.duration(),
        calls[0].audio.duration()
    );
    assert!(
        calls[1].audio.samples.starts_with(&calls[0].audio.samples),
        "the merged turn starts with the first utterance"
    );
    assert_eq!(
        h.llm.calls().len(),
        1,
        "the cancelled turn never reached the LLM"
    );
    let (conv, events, _) = h.finish().await;
    let users: Vec<_> = conv
        .messages()
        .iter()
        .filter(|m| m.role == ChatRole::User)
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].content, "I worked at Acme, mostly on billing.");
    assert_eq!(
        states(&events),
        vec![
            AgentState::Listening,
            AgentState::Thinking,
            AgentState::Listening,
            AgentState::Thinking,
            AgentState::Speaking,
            AgentState::Listening
        ]
    );
}

/// Captions in time with the voice: the agent's interim transcript grows word by word as the
/// words' audio plays (not a whole sentence when TTS starts), each with its word times.
#[tokio::test(start_paused = true)]
async fn agent_captions_grow_word_by_word_as_the_audio_plays() {
    let mut h = Harness::start(
        PipelineOptions::default(),
        FakeStt::new().with_default_reply("I built a payment system in Rust."),
        FakeLlm::new().with_default_reply(REPLY),
        FakeTts::new().with_ms_per_char(60),
    );
    h.silence(ms(500)).await;
    h.voice(ms(1000)).await;
    h.silence(ms(12000)).await;
    let first_sentence_frames = h.tts.frames_for("Thanks,") + h.tts.frames_for("that is helpful.");
    let (_, events, out) = h.finish().await;
    let interims: Vec<_> = events
        .iter()
        .filter_map(|(at, e)| match e {
            PipelineEvent::AgentTranscript {
                text,
                words,
                is_final: false,
                ..
            } => Some((*at, text.clone(), words.clone())),
            _ => None,
        })
        .collect();
    let all_words: Vec<&str> = REPLY.split_whitespace().collect();
    // One update per word (each 20 ms frame releases at most the words due by then).
    assert!(
        interims.len() >= all_words.len() - 2,
        "{} updates for {} words",
        interims.len(),
        all_words.len()
    );
    let mut last_count = 0;
    for (_, text, words) in &interims {
        let shown: Vec<&str> = text.split_whitespace().collect();
        assert!(shown.len() > last_count, "captions only grow: {text:?}");
        assert_eq!(shown, all_words[..shown.len()], "words in order");
        assert_eq!(words.len(), shown.len(), "a time per word: {text:?}");
        assert!(words
            .windows(2)
            .all(|w| w[0].start <= w[1].start && w[0].end <= w[1].start + ms(1)));
        last_count = shown.len();
    }
    assert_eq!(last_count, all_words.len(), "the whole line is released");
    // The first word with the first audio frame, the rest spread over the line's playout.
    let (first_at, ..) = &interims[0];
    assert_eq!(*first_at, out[0]);
    let playout = *out.last().unwrap() - out[0];
    let (last_at, _, last_words) = interims.last().unwrap();
    assert!(
        *last_at - out[0] > playout / 2,
        "released over the line, not at once"
    );
    assert!(last_words.last().unwrap().end <= playout + FRAME_DURATION * 2);
    // Words of the second sentence only once its audio plays; the first sentence's words all
    // before that.
    let second_starts = out[first_sentence_frames];
    for (at, text, _) in &interims {
        let n = text.split_whitespace().count();
        if n > 4 {
            assert!(*at >= second_starts, "{text:?} before its audio");
        } else {
            assert!(*at < second_starts, "{text:?} late");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_tts_is_asked_for_the_next_piece_while_the_current_one_streams() {
    // TTS answers after 300 ms and streams in real time, longer than "Thanks," takes to play:
    // one request at a time would leave a gap of about the time to first byte after it.
    let mut h = Harness::start(
        no_speculation(),
        FakeStt::new().with_latency(ms(100)),
        FakeLlm::new()
            .with_ttft(ms(150))
            .with_token_interval(ms(40))
            .with_default_reply(REPLY),
        FakeTts::new()
            .with_ttfb(ms(300))
            .with_frame_interval(FRAME_DURATION)
            .with_ms_per_char(50),
    );
    h.silence(ms(500)).await;
    h.voice(ms(1000)).await;
    h.silence(ms(10000)).await;
    let tts_calls = h.tts.calls();
    let tts = h.tts.clone();
    let (_, _, out) = h.finish().await;
    assert_eq!(tts_calls.len(), 3, "{tts_calls:?}");
    let expected: usize = tts_calls.iter().map(|t| tts.frames_for(t)).sum();
    assert_eq!(out.len(), expected, "every synthesized frame played once");
    // Not one frame late from the first to the last: the pieces follow each other seamlessly.
    let gaps: Vec<_> = out
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > FRAME_DURATION)
        .collect();
    assert!(gaps.is_empty(), "gaps in the agent's audio: {gaps:?}");
}
