//! Latency histograms of the voice pipeline, process-wide, rendered as Prometheus text on the
//! worker's `/metrics`. Lock-free counters: observing costs a few atomic adds per turn.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) shared by every latency histogram.
const BUCKETS: [f64; 12] = [
    0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
];

pub struct Histogram {
    name: &'static str,
    help: &'static str,
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Histogram {
            name,
            help,
            counts: [const { AtomicU64::new(0) }; BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn render(&self, out: &mut String) {
        out.push_str(&format!(
            "# HELP {} {}\n# TYPE {} histogram\n",
            self.name, self.help, self.name
        ));
        for (i, b) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "{}_bucket{{le=\"{b}\"}} {}\n",
                self.name,
                self.counts[i].load(Ordering::Relaxed)
            ));
        }
        let n = self.count();
        out.push_str(&format!("{}_bucket{{le=\"+Inf\"}} {n}\n", self.name));
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!(
            "{}_sum {sum:.6}\n{}_count {n}\n",
            self.name, self.name
        ));
    }
}

/// Per-turn latencies, as LiveKit Agents reports them.
pub struct VoiceMetrics {
    pub end_of_utterance: Histogram,
    pub stt: Histogram,
    pub llm_ttft: Histogram,
    pub tts_ttfb: Histogram,
    pub e2e: Histogram,
}

static VOICE: VoiceMetrics = VoiceMetrics {
    end_of_utterance: Histogram::new(
        "interview_agent_end_of_utterance_delay_seconds",
        "Candidate stops speaking -> end of turn decided.",
    ),
    stt: Histogram::new(
        "interview_agent_stt_duration_seconds",
        "Speech-to-text request duration.",
    ),
    llm_ttft: Histogram::new(
        "interview_agent_llm_ttft_seconds",
        "LLM request -> first token.",
    ),
    tts_ttfb: Histogram::new(
        "interview_agent_tts_ttfb_seconds",
        "TTS request -> first audio.",
    ),
    e2e: Histogram::new(
        "interview_agent_e2e_latency_seconds",
        "Candidate stops speaking -> first agent audio frame sent.",
    ),
};

pub fn voice_metrics() -> &'static VoiceMetrics {
    &VOICE
}

impl VoiceMetrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for h in [
            &self.end_of_utterance,
            &self.stt,
            &self.llm_ttft,
            &self.tts_ttfb,
            &self.e2e,
        ] {
            h.render(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let h = Histogram::new("x_seconds", "help");
        h.observe(Duration::from_millis(40));
        h.observe(Duration::from_millis(400));
        h.observe(Duration::from_secs(9));
        let mut out = String::new();
        h.render(&mut out);
        assert!(out.contains("x_seconds_bucket{le=\"0.025\"} 0\n"));
        assert!(out.contains("x_seconds_bucket{le=\"0.05\"} 1\n"));
        assert!(out.contains("x_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(out.contains("x_seconds_bucket{le=\"5\"} 2\n"));
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(out.contains("x_seconds_count 3\n"));
        assert!(out.contains("x_seconds_sum 9.440000\n"));
    }
}
