//! Percentiles and CPU time for the load generator's report.

use std::time::Duration;

/// Nearest-rank percentile (`p` in 0..=1) of unsorted samples; `None` when empty.
pub fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort();
    let rank = ((p * s.len() as f64).ceil() as usize).clamp(1, s.len());
    Some(s[rank - 1])
}

pub fn mean(samples: &[Duration]) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    Some(samples.iter().sum::<Duration>() / samples.len() as u32)
}

pub fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{}", d.as_millis()))
}

/// CPU time (user + system) this process has used so far.
pub fn process_cpu() -> Duration {
    // /proc/self/stat fields 14 and 15 (utime, stime) in clock ticks, after the `(comm)`.
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // `after` starts at field 3 (state): utime is field 14 -> index 11, stime index 12.
    let total = ticks(11) + ticks(12);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(total * 1_000_000 / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&v, 0.9), Some(Duration::from_millis(9)));
        assert_eq!(percentile(&v, 1.0), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
