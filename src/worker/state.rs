//! What the worker knows about itself, shared by the connection loop, the job tasks and the
//! health endpoint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;

pub struct JobEntry {
    pub room: String,
    pub started: SystemTime,
    pub cancel: CancellationToken,
}

pub struct WorkerState {
    pub agent_name: String,
    pub version: String,
    pub max_jobs: usize,
    pub load_threshold: f32,
    worker_id: Mutex<Option<String>>,
    jobs: Mutex<HashMap<String, JobEntry>>,
    /// Slots promised in availability answers whose assignment has not arrived yet.
    reserved: AtomicUsize,
    load_bits: AtomicU32,
    pub draining: AtomicBool,
    pub metrics: Metrics,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl WorkerState {
    pub fn new(agent_name: String, version: String, max_jobs: usize, load_threshold: f32) -> Self {
        WorkerState {
            agent_name,
            version,
            max_jobs,
            load_threshold,
            worker_id: Mutex::new(None),
            jobs: Mutex::new(HashMap::new()),
            reserved: AtomicUsize::new(0),
            load_bits: AtomicU32::new(0),
            draining: AtomicBool::new(false),
            metrics: Metrics::default(),
        }
    }

    pub fn set_registered(&self, id: Option<String>) {
        *lock(&self.worker_id) = id;
    }
    pub fn worker_id(&self) -> Option<String> {
        lock(&self.worker_id).clone()
    }
    pub fn is_registered(&self) -> bool {
        lock(&self.worker_id).is_some()
    }

    pub fn set_load(&self, load: f32) {
        self.load_bits.store(load.to_bits(), Ordering::Relaxed);
    }
    pub fn load(&self) -> f32 {
        f32::from_bits(self.load_bits.load(Ordering::Relaxed))
    }

    pub fn job_count(&self) -> usize {
        lock(&self.jobs).len()
    }
    pub fn job_ids(&self) -> Vec<String> {
        lock(&self.jobs).keys().cloned().collect()
    }
    pub fn jobs_json(&self) -> Vec<serde_json::Value> {
        lock(&self.jobs)
            .iter()
            .map(|(id, j)| {
                let started = j
                    .started
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                serde_json::json!({"id": id, "room": j.room, "started_at": started})
            })
            .collect()
    }
    pub fn insert_job(&self, id: String, entry: JobEntry) {
        lock(&self.jobs).insert(id, entry);
    }
    pub fn remove_job(&self, id: &str) -> Option<JobEntry> {
        lock(&self.jobs).remove(id)
    }
    pub fn cancel_job(&self, id: &str) -> bool {
        match lock(&self.jobs).get(id) {
            Some(j) => {
                j.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Try to promise a slot for a new job; false when full or draining.
    pub fn reserve(&self) -> bool {
        if self.draining.load(Ordering::SeqCst) || self.is_full() {
            return false;
        }
        self.reserved.fetch_add(1, Ordering::SeqCst);
        true
    }
    pub fn release(&self) {
        let _ = self
            .reserved
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1));
    }

    /// Full: job slots (running + promised) used up, or load at/over the threshold.
    pub fn is_full(&self) -> bool {
        let taken = self.job_count() + self.reserved.load(Ordering::SeqCst);
        (self.max_jobs > 0 && taken >= self.max_jobs) || self.load() >= self.load_threshold
    }

    pub fn status_name(&self) -> &'static str {
        if self.draining.load(Ordering::SeqCst) {
            "draining"
        } else if !self.is_registered() {
            "connecting"
        } else if self.is_full() {
            "full"
        } else {
            "available"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_count_against_max_jobs_and_draining_refuses() {
        let s = WorkerState::new("a".into(), "v".into(), 2, f32::INFINITY);
        assert!(s.reserve());
        // The assignment arrives: the promised slot becomes a running job.
        s.release();
        s.insert_job(
            "j1".into(),
            JobEntry {
                room: "r".into(),
                started: SystemTime::now(),
                cancel: CancellationToken::new(),
            },
        );
        assert!(s.reserve());
        assert!(!s.reserve(), "two taken of two");
        s.release();
        s.release();
        s.release(); // never underflows
        assert!(s.reserve());
        s.release();
        s.draining.store(true, Ordering::SeqCst);
        assert!(!s.reserve());
        assert_eq!(s.status_name(), "draining");
    }

    #[test]
    fn load_over_threshold_is_full() {
        let s = WorkerState::new("a".into(), "v".into(), 0, 0.7);
        s.set_load(0.69);
        assert!(!s.is_full());
        s.set_load(0.7);
        assert!(s.is_full());
    }
}
