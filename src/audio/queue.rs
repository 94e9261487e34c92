//! A bounded single-consumer frame queue. Overflow policy: drop the OLDEST frame (and count
//! it), so a slow consumer sees fresh audio and latency never grows past the bound.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::frame::AudioFrame;

struct Shared {
    state: Mutex<State>,
    notify: Notify,
    dropped: AtomicU64,
    capacity: usize,
}

struct State {
    frames: VecDeque<AudioFrame>,
    closed: bool,
}

/// Create a queue holding at most `capacity` frames.
pub fn frame_queue(capacity: usize) -> (FrameSender, FrameReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: VecDeque::with_capacity(capacity),
            closed: false,
        }),
        notify: Notify::new(),
        dropped: AtomicU64::new(0),
        capacity: capacity.max(1),
    });
    (
        FrameSender {
            shared: shared.clone(),
        },
        FrameReceiver { shared },
    )
}

/// Producer side. Cloneable; the queue closes when [`FrameSender::close`] is called.
#[derive(Clone)]
pub struct FrameSender {
    shared: Arc<Shared>,
}

impl FrameSender {
    /// Push a frame, never blocking. Returns false if the queue is closed.
    pub fn push(&self, frame: AudioFrame) -> bool {
        {
            let mut st = lock(&self.shared.state);
            if st.closed {
                return false;
            }
            if st.frames.len() >= self.shared.capacity {
                st.frames.pop_front();
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            st.frames.push_back(frame);
        }
        self.shared.notify.notify_one();
        true
    }

    /// End the stream: the receiver drains what is queued, then gets `None`.
    pub fn close(&self) {
        lock(&self.shared.state).closed = true;
        self.shared.notify.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.shared.state).closed
    }
}

/// Consumer side.
pub struct FrameReceiver {
    shared: Arc<Shared>,
}

impl FrameReceiver {
    /// Next frame, or `None` once the stream is closed and drained.
    pub async fn recv(&mut self) -> Option<AudioFrame> {
        loop {
            {
                let mut st = lock(&self.shared.state);
                if let Some(f) = st.frames.pop_front() {
                    return Some(f);
                }
                if st.closed {
                    return None;
                }
            }
            self.shared.notify.notified().await;
        }
    }

    /// Frames dropped so far because the consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        // Nobody listens any more: let producers stop early.
        lock(&self.shared.state).closed = true;
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A panic while holding this tiny lock cannot leave the deque inconsistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::SampleRate;

    fn f(v: i16) -> AudioFrame {
        AudioFrame::new(vec![v; 4], SampleRate::HZ_48000)
    }

    #[tokio::test]
    async fn drops_oldest_when_full_and_drains_after_close() {
        let (tx, mut rx) = frame_queue(2);
        assert!(tx.push(f(1)));
        assert!(tx.push(f(2)));
        assert!(tx.push(f(3)));
        assert_eq!(rx.dropped(), 1);
        assert_eq!(rx.recv().await.unwrap().samples[0], 2);
        tx.close();
        assert!(!tx.push(f(4)));
        assert_eq!(rx.recv().await.unwrap().samples[0], 3);
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn receiver_wakes_on_push() {
        let (tx, mut rx) = frame_queue(4);
        let h = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        tx.push(f(7));
        assert_eq!(h.await.unwrap().unwrap().samples[0], 7);
    }

    #[test]
    fn dropping_the_receiver_closes_the_queue() {
        let (tx, rx) = frame_queue(4);
        drop(rx);
        assert!(tx.is_closed());
        assert!(!tx.push(f(1)));
    }
}
