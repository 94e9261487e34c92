//! The playout loop: takes agent frames from a BOUNDED queue (the TTS side waits when it is
//! full: agent speech is never dropped) and hands them on in real time, one 20 ms frame per
//! 20 ms, recording every played frame in the [`AgentSpeech`]. Interruption beats data: the
//! loop checks the speech's status before and while waiting for every frame, so playout stops
//! within one frame; frames still queued are dropped with the queue.

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::speech::{AgentSpeech, SpeechStatus};
use crate::audio::{AudioFrame, FRAME_DURATION};

/// One frame of agent speech, tagged with the sentence it belongs to.
#[derive(Debug)]
pub struct PlayItem {
    pub sentence: usize,
    pub frame: AudioFrame,
}

/// Notable moments of playout, reported to the caller as they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayoutNote {
    FirstFrame {
        at: Instant,
    },
    /// More words of the line are due in the captions ([`AgentSpeech::caption`]).
    WordsReleased,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayoutEnd {
    /// The queue was closed and drained.
    Drained,
    Interrupted,
    /// The output receiver is gone.
    OutputClosed,
}

/// Play until the queue is closed and drained, the speech is interrupted, or the output closes.
/// `note` is awaited for each notable moment (keep it quick).
pub async fn run_playout<F, Fut>(
    speech: &AgentSpeech,
    mut queue: mpsc::Receiver<PlayItem>,
    out: &mpsc::Sender<AudioFrame>,
    mut note: F,
) -> PlayoutEnd
where
    F: FnMut(PlayoutNote) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut status = speech.subscribe();
    let interrupted = |s: &SpeechStatus| *s == SpeechStatus::Interrupted;
    let mut next_at: Option<Instant> = None;
    let mut first = true;
    loop {
        if interrupted(&status.borrow()) {
            return PlayoutEnd::Interrupted;
        }
        let item = tokio::select! {
            biased;
            _ = status.wait_for(interrupted) => return PlayoutEnd::Interrupted,
            item = queue.recv() => item,
        };
        let Some(PlayItem { sentence, frame }) = item else {
            return PlayoutEnd::Drained;
        };
        if let Some(at) = next_at {
            tokio::select! {
                biased;
                _ = status.wait_for(interrupted) => return PlayoutEnd::Interrupted,
                _ = sleep_until(at) => {}
            }
        }
        let sent = tokio::select! {
            biased;
            _ = status.wait_for(interrupted) => return PlayoutEnd::Interrupted,
            r = out.send(frame) => r.is_ok(),
        };
        if !sent {
            return PlayoutEnd::OutputClosed;
        }
        let now = Instant::now();
        // Keep a steady 20 ms grid; after a starvation gap (TTS slower than real time) restart
        // the grid instead of bursting to catch up.
        next_at = Some(match next_at {
            Some(at) if now <= at + FRAME_DURATION => at + FRAME_DURATION,
            _ => now + FRAME_DURATION,
        });
        let played = speech.frame_played(sentence);
        if first {
            first = false;
            note(PlayoutNote::FirstFrame { at: now }).await;
        }
        if played.words_released {
            note(PlayoutNote::WordsReleased).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::SampleRate;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn paces_in_real_time_and_stops_on_interrupt() {
        let speech = AgentSpeech::new(1);
        let s0 = speech.add_sentence("a b c");
        let (qtx, qrx) = mpsc::channel(100);
        for _ in 0..50 {
            qtx.send(PlayItem {
                sentence: s0,
                frame: AudioFrame::silence(SampleRate::HZ_48000, FRAME_DURATION),
            })
            .await
            .unwrap();
        }
        let (otx, mut orx) = mpsc::channel(1);
        let sp = speech.clone();
        let player = tokio::spawn(async move { run_playout(&sp, qrx, &otx, |_| async {}).await });
        let t0 = Instant::now();
        let mut times = Vec::new();
        for _ in 0..10 {
            orx.recv().await.unwrap();
            times.push(t0.elapsed());
        }
        // One frame per 20 ms (the first immediately).
        let gaps: Vec<_> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g == FRAME_DURATION), "{gaps:?}");
        speech.interrupt();
        assert_eq!(player.await.unwrap(), PlayoutEnd::Interrupted);
        // At most the one frame already in the output channel is left.
        let mut left = 0;
        while orx.try_recv().is_ok() {
            left += 1;
        }
        assert!(left <= 1, "{left}");
        assert!(speech.progress().frames_played <= 11);
        let _ = Duration::ZERO;
    }
}
