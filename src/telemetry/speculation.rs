//! Process-wide counters of speculative replies for `/metrics`: started in a pause of the
//! candidate's speech, committed when the turn ended, cancelled when the candidate went on
//! (and which provider requests those cancellations really cut: the HTTP calls are dropped).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct SpeculationMetrics {
    pub started: AtomicU64,
    pub committed: AtomicU64,
    pub cancelled: AtomicU64,
    pub cancelled_stt: AtomicU64,
    pub cancelled_llm: AtomicU64,
    pub cancelled_tts: AtomicU64,
    pub cancelled_brain: AtomicU64,
    pub redecided: AtomicU64,
}

static SPECULATION: SpeculationMetrics = SpeculationMetrics {
    started: AtomicU64::new(0),
    committed: AtomicU64::new(0),
    cancelled: AtomicU64::new(0),
    cancelled_stt: AtomicU64::new(0),
    cancelled_llm: AtomicU64::new(0),
    cancelled_tts: AtomicU64::new(0),
    cancelled_brain: AtomicU64::new(0),
    redecided: AtomicU64::new(0),
};

pub fn speculation_metrics() -> &'static SpeculationMetrics {
    &SPECULATION
}

impl SpeculationMetrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        };
        counter(
            &mut out,
            "interview_agent_speculative_replies_started_total",
            "Replies started in a pause of the candidate's speech, before the end of the turn.",
            &self.started,
        );
        counter(
            &mut out,
            "interview_agent_speculative_replies_committed_total",
            "Speculative replies used: the turn ended as they assumed.",
            &self.committed,
        );
        counter(
            &mut out,
            "interview_agent_speculative_replies_cancelled_total",
            "Speculative replies dropped: the candidate went on speaking.",
            &self.cancelled,
        );
        counter(
            &mut out,
            "interview_agent_speculative_replies_redecided_total",
            "Committed speculative replies whose decision no longer fitted and was made again.",
            &self.redecided,
        );
        out.push_str(
            "# HELP interview_agent_cancelled_provider_requests_total Provider requests in flight \
             when their speculative reply was cancelled (the HTTP request is dropped; brain: \
             the interviewer's decision, e.g. its follow-up judge).\n\
             # TYPE interview_agent_cancelled_provider_requests_total counter\n",
        );
        for (stage, v) in [
            ("stt", &self.cancelled_stt),
            ("llm", &self.cancelled_llm),
            ("tts", &self.cancelled_tts),
            ("brain", &self.cancelled_brain),
        ] {
            out.push_str(&format!(
                "interview_agent_cancelled_provider_requests_total{{stage=\"{stage}\"}} {}\n",
                v.load(Ordering::Relaxed)
            ));
        }
        out
    }
}
