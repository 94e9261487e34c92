//! Tests of the result spool (`spool`, `spool_recover`) and its delivery (`delivery`): on-disk
//! records in a temp directory, crash leftovers simulated by writing torn lines, delivery with
//! a scripted sink and a paused clock.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::delivery::{deliver_pending, ResultSink};
use super::error::{InterviewError, SinkError};
use super::language::Language;
use super::scoring::AnswerScore;
use super::spool::{Spool, SpoolRecord};
use super::spool_recover::{Recovered, NOT_SCORED_INTERRUPTED, PARTIAL_SUMMARY_PREFIX};
use super::summary::{
    fallback_summary, idempotency_key, InterviewMeta, InterviewResult, Models, QuestionOutcome,
};
use super::transcript::{Speaker, TranscriptEntry};
use super::EndReason;
use crate::providers::RetryPolicy;

const T0: u64 = 1_700_000_000_000;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let suffix: u64 = rand::random();
        TempDir(std::env::temp_dir().join(format!("spool-test-{nanos}-{suffix:016x}")))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn started(app: &str) -> (String, SpoolRecord) {
    let room = format!("interview-{app}-1");
    let key = idempotency_key(app, &room, T0);
    let rec = SpoolRecord::Started {
        application_id: app.into(),
        room,
        started_at_ms: T0,
        language: Language::parse("de"),
        models: None,
    };
    (key, rec)
}

fn said(speaker: Speaker, text: &str, offset: u64) -> SpoolRecord {
    SpoolRecord::Transcript {
        speaker,
        text: text.into(),
        at_ms: T0 + offset,
    }
}

fn outcome(index: usize, answer: &str, score: u8) -> QuestionOutcome {
    QuestionOutcome {
        index,
        question: format!("Question {index}?"),
        answer: answer.into(),
        score: Some(AnswerScore {
            score,
            key_points: vec![format!("point {index}")],
            improvement_areas: vec![],
            confidence: 0.75,
            evidence_quotes: vec![],
            injection_attempt: false,
        }),
        scoring_error: None,
    }
}

fn final_result(app: &str) -> InterviewResult {
    let outcomes = vec![outcome(0, "An answer.", 8)];
    let meta = InterviewMeta {
        application_id: app.into(),
        room: format!("interview-{app}-1"),
        started_at_unix_ms: T0,
        duration: Duration::from_secs(600),
        language: Language::parse("de"),
        end_reason: Some(EndReason::Completed),
    };
    let transcript = vec![TranscriptEntry {
        speaker: Speaker::Interviewer,
        text: "Hallo".into(),
        offset_ms: 0,
    }];
    InterviewResult::new(
        meta,
        1,
        outcomes.clone(),
        fallback_summary(&outcomes),
        transcript,
    )
}

/// Spool a complete interview for `app`; returns its key.
fn spool_complete(spool: &Spool, app: &str) -> String {
    let (key, start) = started(app);
    spool.append(&key, &start).unwrap();
    spool
        .append(&key, &said(Speaker::Interviewer, "Hallo", 0))
        .unwrap();
    let result = Box::new(final_result(app));
    spool.append(&key, &SpoolRecord::Result { result }).unwrap();
    key
}

fn append_raw(spool: &Spool, key: &str, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(spool.path_of(key).unwrap())
        .unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn append_reopen_and_pending() {
    let tmp = TempDir::new();
    let key = spool_complete(&Spool::open(&tmp.0.join("nested/dir")).unwrap(), "app-1");
    let spool = Spool::open(&tmp.0.join("nested/dir")).unwrap();
    assert_eq!(spool.keys().unwrap(), vec![key.clone()]);
    let file = spool.read(&key).unwrap();
    assert_eq!(file.records.len(), 3);
    assert!(!file.torn_tail && file.corrupt_lines.is_empty());
    let pending = spool.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, key);
    assert_eq!(
        pending[0].recovered,
        Recovered::Final(Box::new(final_result("app-1")))
    );
    assert_eq!(pending[0].result().unwrap().idempotency_key, key);
    // One JSON object per line, tagged by type.
    let text = std::fs::read_to_string(spool.path_of(&key).unwrap()).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "started");
    assert_eq!(first["language"], "de");

    spool.mark_delivered(&key).unwrap();
    assert!(spool.pending().unwrap().is_empty());
    assert!(spool.read(&key).unwrap().is_delivered());
}

#[test]
fn torn_last_line_is_skipped_reported_and_terminated_by_the_next_append() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let (key, start) = started("app-2");
    spool.append(&key, &start).unwrap();
    spool
        .append(&key, &said(Speaker::Interviewer, "First question?", 1_000))
        .unwrap();
    // kill -9 in the middle of writing a record.
    append_raw(&spool, &key, br#"{"type":"transcript","speaker":"candid"#);
    let file = spool.read(&key).unwrap();
    assert!(file.torn_tail);
    assert_eq!(file.records.len(), 2, "earlier records are intact");
    let pending = spool.pending().unwrap();
    assert!(pending[0].torn_tail && pending[0].is_partial());
    assert_eq!(pending[0].result().unwrap().transcript.len(), 1);

    // The next append must not be glued to the torn bytes (it would be lost with them).
    spool.mark_delivered(&key).unwrap();
    let file = spool.read(&key).unwrap();
    assert!(!file.torn_tail);
    assert_eq!(
        file.corrupt_lines,
        vec![3],
        "the torn line is now a skipped corrupt line"
    );
    assert!(file.is_delivered());
    assert!(spool.pending().unwrap().is_empty());
}

#[test]
fn corrupt_middle_lines_and_blank_lines_are_skipped() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let (key, start) = started("app-3");
    spool.append(&key, &start).unwrap();
    append_raw(&spool, &key, b"not json\n\n{\"type\":\"unknown\"}\n");
    spool
        .append(&key, &said(Speaker::Candidate, "Hi", 5))
        .unwrap();
    let file = spool.read(&key).unwrap();
    assert_eq!(file.records.len(), 2);
    assert_eq!(file.corrupt_lines, vec![2, 4]);
    assert!(!file.torn_tail);
}

#[test]
fn partial_result_after_a_mid_interview_crash() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let (key, start) = started("app-4");
    spool.append(&key, &start).unwrap();
    let lines = [
        said(Speaker::Interviewer, "Welcome. First question?", 0),
        said(Speaker::Candidate, "I built a compiler.", 4_000),
        SpoolRecord::Score {
            outcome: outcome(0, "I built a compiler.", 4),
        },
        said(Speaker::Interviewer, "Second question?", 9_000),
        said(Speaker::Candidate, "Teams of five.", 15_000),
        // A re-score of question 0 replaces the first one.
        SpoolRecord::Score {
            outcome: outcome(0, "I built a compiler.", 9),
        },
        said(Speaker::Interviewer, "Third question?", 20_500),
    ];
    for r in &lines {
        spool.append(&key, r).unwrap();
    }
    // No result record: the process died here. While it runs it sees the interview live (and
    // so does any other process, through its file lock); once it is gone, a new one does not.
    assert!(spool.pending().unwrap()[0].live);
    assert!(Spool::open(&tmp.0).unwrap().pending().unwrap()[0].live);
    drop(spool);
    let spool = Spool::open(&tmp.0).unwrap();
    let pending = spool.pending().unwrap();
    assert!(!pending[0].live);
    assert_eq!(pending.len(), 1);
    let Recovered::Partial(r) = &pending[0].recovered else {
        panic!("expected a partial result, got {:?}", pending[0].recovered);
    };
    let texts: Vec<(Speaker, &str, u64)> = r
        .transcript
        .iter()
        .map(|t| (t.speaker, t.text.as_str(), t.offset_ms))
        .collect();
    assert_eq!(
        texts,
        vec![
            (Speaker::Interviewer, "Welcome. First question?", 0),
            (Speaker::Candidate, "I built a compiler.", 4_000),
            (Speaker::Interviewer, "Second question?", 9_000),
            (Speaker::Candidate, "Teams of five.", 15_000),
            (Speaker::Interviewer, "Third question?", 20_500),
        ]
    );
    assert_eq!(
        r.idempotency_key, key,
        "same key a final result would carry"
    );
    assert_eq!(r.application_id, "app-4");
    assert_eq!(r.language.code(), "de");
    assert_eq!(r.end_reason, None);
    assert_eq!(r.duration_ms, 20_500);
    assert_eq!(r.questions.len(), 1);
    assert_eq!(r.average_score, Some(9.0));
    assert!(r.summary.summary.starts_with(PARTIAL_SUMMARY_PREFIX));

    // Without even a started record there is nothing to deliver, but the file is kept.
    let lost = idempotency_key("x", "y", 1);
    spool
        .append(&lost, &said(Speaker::Candidate, "orphan", 1))
        .unwrap();
    let pending = spool.pending().unwrap();
    let orphan = pending.iter().find(|p| p.key == lost).unwrap();
    assert!(matches!(orphan.recovered, Recovered::Unrecoverable(_)));
}

/// Killed right after the third question was asked (the second answered but not yet scored):
/// the partial result counts three questions asked, lists the unscored ones with their
/// answers from the transcript and the reason, and keeps the models.
#[test]
fn partial_result_counts_every_question_asked() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let (key, start) = started("app-5");
    let start = match start {
        SpoolRecord::Started {
            application_id,
            room,
            started_at_ms,
            language,
            ..
        } => SpoolRecord::Started {
            application_id,
            room,
            started_at_ms,
            language,
            models: Some(Models {
                stt: "whisper-1".into(),
                judge: "smollm2-135m-instruct".into(),
                tts: "tts-1".into(),
            }),
        },
        other => other,
    };
    let asked = |index: usize, offset: u64| SpoolRecord::Asked {
        index,
        question: format!("Question {index}?"),
        at_ms: T0 + offset,
    };
    spool.append(&key, &start).unwrap();
    for r in [
        asked(0, 0),
        said(Speaker::Interviewer, "Welcome. Question 0?", 0),
        said(Speaker::Candidate, "I built a compiler.", 4_000),
        SpoolRecord::Score {
            outcome: outcome(0, "I built a compiler.", 6),
        },
        asked(1, 9_000),
        said(Speaker::Interviewer, "Question 1?", 9_000),
        said(Speaker::Candidate, "Teams of five.", 15_000),
        asked(2, 20_000),
        said(Speaker::Interviewer, "Question 2?", 20_000),
    ] {
        spool.append(&key, &r).unwrap();
    }
    drop(spool);
    let pending = Spool::open(&tmp.0).unwrap().pending().unwrap();
    let Recovered::Partial(r) = &pending[0].recovered else {
        panic!("expected a partial result, got {:?}", pending[0].recovered);
    };
    assert_eq!(r.questions_asked, 3);
    assert_eq!(r.questions_answered, 2);
    assert_eq!(r.questions_scored, 1);
    let qs: Vec<(usize, &str, Option<&str>)> = r
        .questions
        .iter()
        .map(|q| (q.index, q.answer.as_str(), q.scoring_error.as_deref()))
        .collect();
    assert_eq!(
        qs,
        vec![
            (0, "I built a compiler.", None),
            (1, "Teams of five.", Some(NOT_SCORED_INTERRUPTED)),
            (2, "", Some(NOT_SCORED_INTERRUPTED)),
        ]
    );
    let models = r.models.as_ref().expect("models kept");
    assert!(models.scores_not_meaningful());
}

#[test]
fn keys_and_records_are_validated() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let (key, start) = started("app-5");
    for bad in ["", "../etc/passwd", "a b", "a.jsonl", &"k".repeat(201)] {
        let e = spool.append(bad, &start).unwrap_err();
        assert!(
            matches!(e, InterviewError::SpoolInvalid { .. }),
            "{bad}: {e}"
        );
        assert!(!e.is_retryable());
    }
    // A record of another interview is refused.
    let (other_key, _) = started("app-6");
    let e = spool.append(&other_key, &start).unwrap_err();
    assert!(matches!(e, InterviewError::SpoolInvalid { .. }));
    let result = Box::new(final_result("app-6"));
    assert!(spool.append(&key, &SpoolRecord::Result { result }).is_err());
    // Delivered needs an existing interview.
    let e = spool.mark_delivered(&key).unwrap_err();
    assert!(matches!(e, InterviewError::SpoolUnknownKey(_)));
    assert!(matches!(
        spool.read(&key),
        Err(InterviewError::SpoolUnknownKey(_))
    ));
    assert!(spool.keys().unwrap().is_empty());
    // Foreign files in the directory are ignored.
    std::fs::write(tmp.0.join("notes.txt"), "x").unwrap();
    std::fs::write(tmp.0.join("bad key.jsonl"), "x").unwrap();
    assert!(spool.pending().unwrap().is_empty());
}

#[test]
fn cleanup_removes_only_old_delivered_files() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let delivered = spool_complete(&spool, "app-7");
    let undelivered = spool_complete(&spool, "app-8");
    spool.mark_delivered(&delivered).unwrap();
    assert!(spool
        .remove_delivered_older_than(Duration::from_secs(86_400))
        .unwrap()
        .is_empty());
    let removed = spool.remove_delivered_older_than(Duration::ZERO).unwrap();
    assert_eq!(removed, vec![delivered]);
    assert_eq!(spool.keys().unwrap(), vec![undelivered]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_two_tasks() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let mut tasks = Vec::new();
    for app in ["app-a", "app-b"] {
        let spool = spool.clone();
        tasks.push(tokio::spawn(async move {
            let (key, start) = started(app);
            spool.append_async(&key, start).await.unwrap();
            for i in 0..50u64 {
                let r = said(Speaker::Candidate, &format!("{app} line {i}"), i);
                spool.append_async(&key, r).await.unwrap();
            }
            key
        }));
    }
    // And a third writer on the same interview as the first task, from a plain thread.
    let (key_a, _) = started("app-a");
    let writer = {
        let (spool, key) = (spool.clone(), key_a.clone());
        std::thread::spawn(move || {
            for i in 0..50u64 {
                let r = said(Speaker::Interviewer, &format!("thread line {i}"), 100 + i);
                spool.append(&key, &r).unwrap();
            }
        })
    };
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.unwrap());
    }
    writer.join().unwrap();
    for key in keys {
        let file = spool.read(&key).unwrap();
        assert!(!file.torn_tail && file.corrupt_lines.is_empty());
        let expected = if key == key_a { 101 } else { 51 };
        assert_eq!(file.records.len(), expected, "{key}");
        let app = if key == key_a { "app-a" } else { "app-b" };
        let own: Vec<String> = file
            .records
            .iter()
            .filter_map(|r| match r {
                SpoolRecord::Transcript { text, .. } if text.starts_with(app) => Some(text.clone()),
                _ => None,
            })
            .collect();
        let want: Vec<String> = (0..50).map(|i| format!("{app} line {i}")).collect();
        assert_eq!(own, want, "one task's records keep their order");
    }
}

/// Answers from a script, then Ok; records every key it was asked to save.
#[derive(Default)]
struct ScriptedSink {
    script: Mutex<VecDeque<Result<(), SinkError>>>,
    saves: Mutex<Vec<String>>,
}

impl ScriptedSink {
    fn new(script: impl IntoIterator<Item = Result<(), SinkError>>) -> Self {
        ScriptedSink {
            script: Mutex::new(script.into_iter().collect()),
            saves: Mutex::default(),
        }
    }

    fn saves(&self) -> Vec<String> {
        self.saves.lock().unwrap().clone()
    }
}

#[async_trait]
impl ResultSink for ScriptedSink {
    async fn save(&self, result: &InterviewResult) -> Result<(), SinkError> {
        self.saves
            .lock()
            .unwrap()
            .push(result.idempotency_key.clone());
        self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(30),
    }
}

#[tokio::test(start_paused = true)]
async fn delivery_retries_then_marks_delivered_once() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let key = spool_complete(&spool, "app-9");
    let sink = ScriptedSink::new([
        Err(SinkError::Retryable("503".into())),
        Err(SinkError::Retryable("timeout".into())),
    ]);
    let t0 = tokio::time::Instant::now();
    let report = deliver_pending(&spool, &sink, &policy()).await.unwrap();
    assert_eq!(report.delivered, vec![key.clone()]);
    assert!(report.all_delivered() && report.partial.is_empty());
    assert_eq!(
        sink.saves(),
        vec![key.clone(); 3],
        "every attempt carries the key"
    );
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(1 + 2),
        "exponential backoff"
    );
    assert!(spool.pending().unwrap().is_empty());
    let delivered = spool.read(&key).unwrap().records;
    let marks = delivered
        .iter()
        .filter(|r| matches!(r, SpoolRecord::Delivered { .. }))
        .count();
    assert_eq!(marks, 1);

    // A second run has nothing to do.
    let again = ScriptedSink::default();
    let report = deliver_pending(&spool, &again, &policy()).await.unwrap();
    assert!(again.saves().is_empty());
    assert!(report.delivered.is_empty() && report.all_delivered());
}

#[tokio::test(start_paused = true)]
async fn live_interviews_are_not_delivered_until_finished_or_released() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let done = spool_complete(&spool, "app-13");
    let (running, start) = started("app-14");
    spool.append(&running, &start).unwrap();
    spool
        .append(&running, &said(Speaker::Interviewer, "Hello", 0))
        .unwrap();
    assert!(spool.is_live(&running) && !spool.is_live(&done));
    let sink = ScriptedSink::default();
    let report = deliver_pending(&spool, &sink, &policy()).await.unwrap();
    assert_eq!(report.delivered, vec![done]);
    assert_eq!(report.live, vec![running.clone()]);
    assert!(report.all_delivered(), "a live interview is not a failure");
    // The session failed without a result: release makes the partial deliverable.
    spool.release(&running);
    let report = deliver_pending(&spool, &sink, &policy()).await.unwrap();
    assert_eq!(report.partial, vec![running.clone()]);
    assert_eq!(sink.saves().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn another_process_sharing_the_spool_never_delivers_a_live_interview() {
    let tmp = TempDir::new();
    // Two worker processes on one spool directory (two `Spool`s: separate file locks).
    let worker_a = Spool::open(&tmp.0).unwrap();
    let worker_b = Spool::open(&tmp.0).unwrap();
    let (running, start) = started("app-20");
    worker_a.append(&running, &start).unwrap();
    worker_a
        .append(&running, &said(Speaker::Interviewer, "Hello", 0))
        .unwrap();
    assert!(worker_b.is_live(&running), "B sees A's flock");
    let sink = ScriptedSink::default();
    let report = deliver_pending(&worker_b, &sink, &policy()).await.unwrap();
    assert_eq!(report.live, vec![running.clone()]);
    assert!(sink.saves().is_empty());
    // A dies mid-interview (kill -9 drops its locks): B delivers the partial result.
    drop(worker_a);
    assert!(!worker_b.is_live(&running));
    let report = deliver_pending(&worker_b, &sink, &policy()).await.unwrap();
    assert_eq!(report.partial, vec![running]);
    assert_eq!(sink.saves().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn permanent_failures_and_exhausted_retries_stay_pending() {
    let tmp = TempDir::new();
    let spool = Spool::open(&tmp.0).unwrap();
    let rejected = spool_complete(&spool, "app-10");
    let flaky = spool_complete(&spool, "app-11");
    let (partial, start) = started("app-12");
    spool.append(&partial, &start).unwrap();
    spool
        .append(&partial, &said(Speaker::Interviewer, "Hello", 0))
        .unwrap();
    // The process dies (its locks go with it); a new one opens the spool: the partial is no
    // longer live.
    drop(spool);
    let spool = Spool::open(&tmp.0).unwrap();
    let mut order = [rejected.clone(), flaky.clone(), partial.clone()];
    order.sort();
    // Keys are delivered in sorted order; script the sink accordingly.
    let mut script = Vec::new();
    for k in &order {
        if *k == rejected {
            script.push(Err(SinkError::Permanent("400 unknown application".into())));
        } else if *k == flaky {
            script.extend((0..4).map(|_| Err(SinkError::Retryable("503".into()))));
        } else {
            script.push(Ok(()));
        }
    }
    let sink = ScriptedSink::new(script);
    let report = deliver_pending(&spool, &sink, &policy()).await.unwrap();
    assert_eq!(report.delivered, vec![partial.clone()]);
    assert_eq!(report.partial, vec![partial.clone()]);
    assert!(!report.all_delivered());
    let failed: Vec<(&str, u32, bool)> = report
        .failed
        .iter()
        .map(|f| (f.key.as_str(), f.attempts, f.error.is_retryable()))
        .collect();
    let mut want = vec![(rejected.as_str(), 1, false), (flaky.as_str(), 4, true)];
    want.sort();
    let mut got = failed.clone();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(sink.saves().len(), 1 + 4 + 1);
    let mut still: Vec<String> = spool
        .pending()
        .unwrap()
        .into_iter()
        .map(|p| p.key)
        .collect();
    still.sort();
    let mut want_pending = vec![rejected, flaky];
    want_pending.sort();
    assert_eq!(still, want_pending, "undelivered data is kept");
}
