//! Worker counters, rendered as Prometheus text for `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub jobs_started: AtomicU64,
    pub jobs_succeeded: AtomicU64,
    pub jobs_failed: AtomicU64,
    pub jobs_refused: AtomicU64,
    pub reconnects: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus exposition text.
    pub fn render(&self, active_jobs: usize, load: f32, registered: bool) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        };
        metric(
            "interview_agent_jobs_started_total",
            "counter",
            "Jobs accepted and started.",
            g(&self.jobs_started).to_string(),
        );
        metric(
            "interview_agent_jobs_finished_total",
            "counter",
            "Jobs that ended successfully.",
            g(&self.jobs_succeeded).to_string(),
        );
        metric(
            "interview_agent_jobs_failed_total",
            "counter",
            "Jobs that failed or panicked.",
            g(&self.jobs_failed).to_string(),
        );
        metric(
            "interview_agent_jobs_refused_total",
            "counter",
            "Availability requests answered unavailable.",
            g(&self.jobs_refused).to_string(),
        );
        metric(
            "interview_agent_active_jobs",
            "gauge",
            "Jobs running now.",
            active_jobs.to_string(),
        );
        metric(
            "interview_agent_worker_reconnects_total",
            "counter",
            "Reconnections to the agent endpoint.",
            g(&self.reconnects).to_string(),
        );
        metric(
            "interview_agent_worker_load",
            "gauge",
            "Load figure reported to the server (0..1).",
            format!("{load:.3}"),
        );
        metric(
            "interview_agent_worker_registered",
            "gauge",
            "1 when registered with the server.",
            (registered as u8).to_string(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.jobs_started);
        Metrics::inc(&m.jobs_failed);
        let text = m.render(2, 0.25, true);
        assert!(text.contains("# TYPE interview_agent_jobs_started_total counter\ninterview_agent_jobs_started_total 1\n"));
        assert!(text.contains("interview_agent_jobs_failed_total 1\n"));
        assert!(text.contains("interview_agent_active_jobs 2\n"));
        assert!(text.contains("interview_agent_worker_load 0.250\n"));
        assert!(text.contains("interview_agent_worker_registered 1\n"));
    }
}
