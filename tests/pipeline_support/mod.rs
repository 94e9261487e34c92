//! Shared harness for the pipeline integration tests: scripted candidate audio (synthetic
//! voice that libfvad really calls voiced, and silence) fed in real-time 20 ms frames on the
//! (paused) tokio clock, plus collectors for agent audio and events.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use interview_agent::audio::vad::synthetic_voice;
use interview_agent::audio::{frame_queue, AudioFrame, FrameSender, SampleRate, FRAME_DURATION};
use interview_agent::pipeline::{
    AgentState, Brain, Conversation, DefaultBrain, PipelineEvent, PipelineHandle, PipelineOptions,
    Providers, VoicePipeline,
};
use interview_agent::providers::fake::{FakeLlm, FakeStt, FakeTts};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub const RATE: SampleRate = SampleRate::HZ_48000;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub struct Harness {
    pub input: FrameSender,
    pub handle: PipelineHandle,
    pub events: Arc<Mutex<Vec<(Instant, PipelineEvent)>>>,
    pub out: Arc<Mutex<Vec<Instant>>>,
    pub task: JoinHandle<Conversation>,
    pub stt: Arc<FakeStt>,
    pub llm: Arc<FakeLlm>,
    pub tts: Arc<FakeTts>,
    seed: u32,
}

impl Harness {
    pub fn start(opts: PipelineOptions, stt: FakeStt, llm: FakeLlm, tts: FakeTts) -> Harness {
        Self::start_with_brain(opts, stt, llm, tts, Arc::new(DefaultBrain::default()))
    }

    pub fn start_with_brain(
        opts: PipelineOptions,
        stt: FakeStt,
        llm: FakeLlm,
        tts: FakeTts,
        brain: Arc<dyn Brain>,
    ) -> Harness {
        let (stt, llm, tts) = (Arc::new(stt), Arc::new(llm), Arc::new(tts));
        let providers = Providers {
            stt: stt.clone(),
            llm: llm.clone(),
            tts: tts.clone(),
        };
        let (input, rx) = frame_queue(50);
        let p = VoicePipeline::spawn(opts, providers, brain, rx).expect("pipeline");
        let events = Arc::new(Mutex::new(Vec::new()));
        let out = Arc::new(Mutex::new(Vec::new()));
        let (ev, mut erx) = (events.clone(), p.events);
        tokio::spawn(async move {
            while let Some(e) = erx.recv().await {
                ev.lock().unwrap().push((Instant::now(), e));
            }
        });
        let (o, mut orx) = (out.clone(), p.audio_out);
        tokio::spawn(async move {
            while let Some(f) = orx.recv().await {
                assert_eq!(f.sample_rate, RATE);
                assert_eq!(f.duration(), FRAME_DURATION);
                o.lock().unwrap().push(Instant::now());
            }
        });
        Harness {
            input,
            handle: p.handle,
            events,
            out,
            task: p.task,
            stt,
            llm,
            tts,
            seed: 0,
        }
    }

    /// Feed `d` of synthetic voice in paced 20 ms frames; returns when it started.
    pub async fn voice(&mut self, d: Duration) -> Instant {
        self.seed += 1;
        let samples = synthetic_voice(RATE, d, self.seed);
        self.feed(samples).await
    }

    pub async fn silence(&mut self, d: Duration) -> Instant {
        self.feed(vec![0i16; RATE.samples_in(d)]).await
    }

    async fn feed(&mut self, samples: Vec<i16>) -> Instant {
        let start = Instant::now();
        for chunk in samples.chunks(960) {
            let mut v = chunk.to_vec();
            v.resize(960, 0);
            self.input.push(AudioFrame::new(v, RATE));
            tokio::time::sleep(FRAME_DURATION).await;
        }
        start
    }

    /// Close the input and wait for the conversation.
    pub async fn finish(self) -> (Conversation, Vec<(Instant, PipelineEvent)>, Vec<Instant>) {
        self.input.close();
        let conv = self.task.await.expect("pipeline task");
        tokio::time::sleep(ms(10)).await;
        let events = self.events.lock().unwrap().clone();
        let out = self.out.lock().unwrap().clone();
        (conv, events, out)
    }

    pub fn out_frames(&self) -> Vec<Instant> {
        self.out.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<PipelineEvent> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }
}

pub fn states(events: &[(Instant, PipelineEvent)]) -> Vec<AgentState> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            PipelineEvent::StateChanged(s) => Some(*s),
            _ => None,
        })
        .collect()
}
