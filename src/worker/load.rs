//! The worker's load figure: this process's CPU share (user + system time over wall time and
//! cores, averaged over the last samples) and its job count against `max_jobs`. It describes
//! our own work, not the machine's noise, so a busy neighbour cannot make us refuse jobs.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// CPU time (user + system) this process has used so far.
pub fn process_cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resident set size in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Moving average of CPU share over the last `window` samples.
pub struct CpuSampler {
    cores: f64,
    last: Option<(Instant, Duration)>,
    samples: VecDeque<f64>,
    window: usize,
}

impl CpuSampler {
    pub fn new(window: usize) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        CpuSampler {
            cores,
            last: None,
            samples: VecDeque::with_capacity(window),
            window: window.max(1),
        }
    }

    /// Record a sample (`now`, cumulative CPU time) and return the current average share 0..1.
    pub fn sample(&mut self, now: Instant, cpu: Duration) -> f64 {
        if let Some((t0, c0)) = self.last {
            let wall = now.saturating_duration_since(t0).as_secs_f64();
            if wall > 0.0 {
                let share =
                    (cpu.saturating_sub(c0).as_secs_f64() / (wall * self.cores)).clamp(0.0, 1.0);
                if self.samples.len() == self.window {
                    self.samples.pop_front();
                }
                self.samples.push_back(share);
            }
        }
        self.last = Some((now, cpu));
        self.average()
    }

    pub fn average(&self) -> f64 {
        if self.samples.is_empty() {
            0.0
        } else {
            self.samples.iter().sum::<f64>() / self.samples.len() as f64
        }
    }
}

/// The load figure we report: the larger of CPU share and job occupancy.
pub fn load_figure(cpu_share: f64, jobs: usize, max_jobs: usize) -> f32 {
    let occupancy = if max_jobs == 0 {
        0.0
    } else {
        jobs as f64 / max_jobs as f64
    };
    cpu_share.max(occupancy).clamp(0.0, 1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_share_averages_over_the_window() {
        let mut s = CpuSampler::new(2);
        s.cores = 2.0;
        let t0 = Instant::now();
        assert_eq!(s.sample(t0, Duration::ZERO), 0.0);
        // 0.5 s of CPU in 1 s on 2 cores = 25 %
        let a = s.sample(t0 + Duration::from_secs(1), Duration::from_millis(500));
        assert!((a - 0.25).abs() < 1e-9);
        let b = s.sample(t0 + Duration::from_secs(2), Duration::from_millis(2500));
        assert!((b - (0.25 + 1.0) / 2.0).abs() < 1e-9, "{b}");
        let c = s.sample(t0 + Duration::from_secs(3), Duration::from_millis(2500));
        assert!(
            (c - 0.5).abs() < 1e-9,
            "window of 2 dropped the first sample: {c}"
        );
    }

    #[test]
    fn load_is_the_larger_of_cpu_and_occupancy() {
        assert_eq!(load_figure(0.1, 3, 4), 0.75);
        assert_eq!(load_figure(0.9, 1, 4), 0.9);
        assert_eq!(load_figure(0.2, 5, 0), 0.2);
        assert!(process_cpu_time() > Duration::ZERO || cfg!(not(unix)));
        assert!(rss_bytes() > 0);
    }
}
