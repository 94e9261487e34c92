//! Process-wide interview counters for `/metrics`: interviews finished, results delivered or
//! kept in the spool, answers left unscored, and the number of undelivered results the last
//! spool pass found. "Never lose an interview" is only as good as its visibility: alert on
//! `interview_agent_results_undelivered > 0` for longer than the backend's usual outage.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct InterviewMetrics {
    pub finished: AtomicU64,
    pub results_delivered: AtomicU64,
    pub results_kept: AtomicU64,
    pub answers_scored: AtomicU64,
    pub answers_unscored: AtomicU64,
    pub undelivered: AtomicU64,
}

static INTERVIEWS: InterviewMetrics = InterviewMetrics {
    finished: AtomicU64::new(0),
    results_delivered: AtomicU64::new(0),
    results_kept: AtomicU64::new(0),
    answers_scored: AtomicU64::new(0),
    answers_unscored: AtomicU64::new(0),
    undelivered: AtomicU64::new(0),
};

pub fn interview_metrics() -> &'static InterviewMetrics {
    &INTERVIEWS
}

impl InterviewMetrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set(gauge: &AtomicU64, v: u64) {
        gauge.store(v, Ordering::Relaxed);
    }

    /// Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, kind, help, v) in [
            (
                "interview_agent_interviews_finished_total",
                "counter",
                "Interviews that ran and produced a result.",
                &self.finished,
            ),
            (
                "interview_agent_results_delivered_total",
                "counter",
                "Interview results (final or partial) stored by the hiring backend.",
                &self.results_delivered,
            ),
            (
                "interview_agent_results_kept_total",
                "counter",
                "Results the backend did not take after retries: kept in the spool for redelivery.",
                &self.results_kept,
            ),
            (
                "interview_agent_answers_scored_total",
                "counter",
                "Answers scored by the LLM.",
                &self.answers_scored,
            ),
            (
                "interview_agent_answers_unscored_total",
                "counter",
                "Answers left unscored (LLM down or malformed twice); saved with the reason.",
                &self.answers_unscored,
            ),
            (
                "interview_agent_results_undelivered",
                "gauge",
                "Undelivered results in the spool at the last delivery pass.",
                &self.undelivered,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = InterviewMetrics::default();
        InterviewMetrics::inc(&m.finished);
        InterviewMetrics::add(&m.results_delivered, 2);
        InterviewMetrics::set(&m.undelivered, 3);
        let text = m.render();
        assert!(text.contains("# TYPE interview_agent_interviews_finished_total counter\ninterview_agent_interviews_finished_total 1\n"));
        assert!(text.contains("interview_agent_results_delivered_total 2\n"));
        assert!(text.contains("# TYPE interview_agent_results_undelivered gauge\ninterview_agent_results_undelivered 3\n"));
    }
}
