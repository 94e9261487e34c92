//! The end of an interview: wait (bounded) for the last answer scores, write the summary,
//! build the [`InterviewResult`], spool it (fsync) and only then deliver it to the backend,
//! retrying with backoff. A result that cannot be delivered now stays in the spool and is
//! delivered later (worker start, periodic redelivery): the session still succeeds, because
//! the interview itself is safe on disk. The idempotency key makes every replay harmless.

use std::time::Duration;

use super::brain::lock;
use super::live::{log_score, Live, Outcome};
use crate::interview::{
    deliver_key, save_with_retry, summarize, EndReason, InterviewMeta, InterviewResult, SpoolRecord,
};
use crate::session::SessionError;
use crate::telemetry::{interview_metrics, InterviewMetrics};

impl Live<'_> {
    /// `ended_at_ms`: when the conversation ended (the result's duration stops there, not
    /// after the scores and the summary).
    pub(super) async fn finish(
        mut self,
        outcome: Outcome,
        ended_at_ms: u64,
    ) -> Result<(), SessionError> {
        let end_reason = match &outcome {
            Outcome::Ended(r) => *r,
            Outcome::RoomLost(why) => {
                tracing::warn!("interview cut short: {why}");
                let a = lock(&self.flow).abort(EndReason::Terminated);
                self.execute(a).await;
                EndReason::Terminated
            }
        };
        self.collect_scores().await;
        let outcomes = self.recorder.outcomes();
        let summary = summarize(self.runner.llm.as_ref(), &self.app.job.title, &outcomes).await;
        let started = self.recorder.started_at_ms();
        let questions_asked = lock(&self.flow).questions_asked();
        let meta = InterviewMeta {
            application_id: self.app.id.clone(),
            room: self.room.name().to_string(),
            started_at_unix_ms: started,
            duration: Duration::from_millis(ended_at_ms.saturating_sub(started)),
            language: self.app.job.language(),
            end_reason: Some(end_reason),
        };
        // Lines are timed from their start, so a barge-in may precede the end of the line it
        // interrupted: order by start (stable for equal times).
        let mut transcript = self.recorder.transcript().to_vec();
        transcript.sort_by_key(|t| t.offset_ms);
        let mut result = InterviewResult::new(meta, questions_asked, outcomes, summary, transcript);
        result.models = Some(self.runner.options.models.clone());
        tracing::info!(
            key = %result.idempotency_key,
            end_reason = ?end_reason,
            asked = result.questions_asked,
            answered = result.questions_answered,
            scored = result.questions_scored,
            average = ?result.average_score,
            recommendation = ?result.summary.recommendation,
            "interview finished"
        );
        let errors_before = self.recorder.spool_errors;
        self.recorder
            .append(SpoolRecord::Result {
                result: Box::new(result.clone()),
            })
            .await;
        let spooled = self.recorder.spool_errors == errors_before;
        InterviewMetrics::inc(&interview_metrics().finished);
        self.deliver(&result, spooled).await;
        Ok(())
    }

    /// Wait for the background scores (bounded), recording each.
    async fn collect_scores(&mut self) {
        let limit = tokio::time::sleep(self.runner.options.scoring_timeout);
        tokio::pin!(limit);
        while !self.scoring.is_empty() {
            tokio::select! {
                _ = &mut limit => {
                    tracing::warn!(left = self.scoring.len(), "answer scoring took too long; unscored");
                    self.scoring.abort_all();
                    break;
                }
                done = self.scoring.join_next() => {
                    if let Some(Ok(outcome)) = done {
                        log_score(&outcome);
                        self.recorder.outcome(outcome).await;
                    }
                }
            }
        }
    }

    async fn deliver(&self, result: &InterviewResult, spooled: bool) {
        let r = self.runner;
        let key = self.recorder.key();
        if spooled {
            match deliver_key(&r.spool, r.sink.as_ref(), &r.options.delivery, key).await {
                Ok(report) if report.delivered.iter().any(|k| k == key) => {
                    InterviewMetrics::inc(&interview_metrics().results_delivered);
                    tracing::info!(%key, "interview result delivered");
                }
                Ok(report) => {
                    InterviewMetrics::inc(&interview_metrics().results_kept);
                    tracing::error!(%key, ?report.failed, "interview result not delivered yet; it is kept in the spool and redelivered later");
                }
                Err(e) => {
                    InterviewMetrics::inc(&interview_metrics().results_kept);
                    tracing::error!(%key, "interview result not delivered yet (spool: {e}); redelivered later");
                }
            }
            return;
        }
        // The spool failed: the backend is the only copy, so try it directly.
        match save_with_retry(r.sink.as_ref(), result, &r.options.delivery).await {
            Ok(()) => {
                InterviewMetrics::inc(&interview_metrics().results_delivered);
                tracing::warn!(%key, "interview result delivered directly (the spool failed)");
            }
            Err(f) => tracing::error!(
                %key,
                attempts = f.attempts,
                "interview result LOST: the spool failed and delivery failed: {}",
                f.error
            ),
        }
    }
}
