//! "Results are never lost": a local spool of interview progress and results, one JSON-lines
//! file per interview, `<dir>/<idempotency_key>.jsonl`, every record fsynced before
//! [`Spool::append`] returns.
//!
//! Record order in a file: `started`, then `transcript` / `score` as the interview goes,
//! `result` when the report is built, `delivered` once the backend has stored it. Recovery
//! ([`Spool::pending`], see `spool_recover`) yields the final result when there is one, else a
//! partial result rebuilt from the progress records, so a `kill -9` mid-interview still
//! delivers the transcript so far.
//!
//! Crash safety: each record is one `write` of `json + "\n"` on an `O_APPEND` file followed by
//! `sync_data`. A crash mid-write can only leave a torn LAST line (no trailing newline); the
//! reader skips it and reports it, and the next append first terminates it with a newline so
//! it never swallows a later record. Lines that are not valid records elsewhere in the file are
//! skipped and reported too; nothing is ever rewritten or deleted except delivered files by
//! [`Spool::remove_delivered_older_than`].
//!
//! The key is the interview's [`idempotency_key`]: `started`
//! and `result` records are checked against it, so a partial and a final result of one
//! interview carry the same key to the backend. All methods do blocking file I/O (an fsync is
//! milliseconds); async code uses [`Spool::append_async`] or `spawn_blocking`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::error::InterviewError;
use super::language::Language;
use super::summary::{idempotency_key, InterviewResult, Models, QuestionOutcome};
use super::transcript::Speaker;

pub type Result<T, E = InterviewError> = std::result::Result<T, E>;

const EXT: &str = "jsonl";
const MAX_KEY_LEN: usize = 200;

/// One line of a spool file. All `*_ms` fields are Unix epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SpoolRecord {
    Started {
        application_id: String,
        room: String,
        started_at_ms: u64,
        #[serde(default)]
        language: Language,
        /// The models of this interview (None in files from before the field).
        #[serde(default)]
        models: Option<Models>,
    },
    /// A planned question was asked (the `index`-th, 0-based), so a partial result counts it
    /// even when the interview stopped before it was answered.
    Asked {
        index: usize,
        question: String,
        at_ms: u64,
    },
    Transcript {
        speaker: Speaker,
        text: String,
        at_ms: u64,
    },
    /// One question's outcome (question, answer, score or scoring error); a later record for
    /// the same `outcome.index` replaces an earlier one.
    Score {
        outcome: QuestionOutcome,
    },
    Result {
        result: Box<InterviewResult>,
    },
    Delivered {
        at_ms: u64,
    },
}

/// What [`Spool::read`] found in one file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpoolFile {
    pub key: String,
    pub records: Vec<SpoolRecord>,
    /// The last line had no newline (a write was cut short) and was skipped.
    pub torn_tail: bool,
    /// 1-based numbers of complete lines that were not valid records (skipped).
    pub corrupt_lines: Vec<usize>,
}

impl SpoolFile {
    pub fn is_delivered(&self) -> bool {
        self.records
            .iter()
            .any(|r| matches!(r, SpoolRecord::Delivered { .. }))
    }

    pub fn delivered_at_ms(&self) -> Option<u64> {
        self.records.iter().rev().find_map(|r| match r {
            SpoolRecord::Delivered { at_ms } => Some(*at_ms),
            _ => None,
        })
    }
}

/// A directory of spool files. Cheap to clone; clones share the per-key write locks and the
/// set of live interviews. Several worker processes may share one directory.
///
/// Live interviews: a `started` record appended through this spool makes the key live until
/// its `result` record, `mark_delivered` or [`Spool::release`]; the file is held with an
/// exclusive `flock` meanwhile. [`Spool::pending`] flags live interviews (this process's, and
/// other processes' through their locks: `PendingInterview::live`) and delivery skips them, so
/// a delivery run never ships a partial result of an interview that is still going (the final
/// result, sent later under the same idempotency key, would replace it, but the hiring team
/// would see a half interview meanwhile). A process that dies loses its locks with it, so the
/// dead interview's partial result is delivered by the next run.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    locks: Arc<Mutex<HashMap<String, Arc<Mutex<()>>>>>,
    live: Arc<Mutex<HashSet<String>>>,
    /// Live interviews' files, each held open with an exclusive `flock`, so OTHER processes
    /// sharing the directory see them as live too (the kernel drops the lock when this process
    /// dies, however it dies).
    held: Arc<Mutex<HashMap<String, File>>>,
}

impl Spool {
    /// Create `dir` (and parents) if needed.
    pub fn open(dir: &Path) -> Result<Spool> {
        fs::create_dir_all(dir).map_err(|e| InterviewError::spool_io("create dir", dir, e))?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            locks: Arc::default(),
            live: Arc::default(),
            held: Arc::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.dir.join(format!("{key}.{EXT}")))
    }

    /// Where the interview's audio recording is written (Ogg/Opus), next to its records.
    pub fn recording_path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.dir.join(format!("{key}.ogg")))
    }

    /// Append one record as one line and fsync it. `started` and `result` records must belong
    /// to `key` (its idempotency key); `delivered` requires an existing file.
    pub fn append(&self, key: &str, record: &SpoolRecord) -> Result<()> {
        let path = self.path_of(key)?;
        check_record(key, record)?;
        if matches!(record, SpoolRecord::Delivered { .. }) && !path.exists() {
            return Err(InterviewError::SpoolUnknownKey(key.to_string()));
        }
        let mut line = serde_json::to_vec(record).map_err(|e| InterviewError::SpoolInvalid {
            key: key.to_string(),
            reason: format!("cannot serialize the record: {e}"),
        })?;
        line.push(b'\n');
        let lock = self.lock_for(key);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (mut file, created) = open_append(&path)?;
        if !created && !ends_with_newline(&mut file, &path)? {
            // A torn tail from a crash: terminate it so this record stays a line of its own.
            line.insert(0, b'\n');
        }
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(|e| InterviewError::spool_io("append", &path, e))?;
        if created {
            sync_dir(&self.dir)?;
        }
        match record {
            SpoolRecord::Started { .. } => self.set_live(key, true),
            SpoolRecord::Result { .. } | SpoolRecord::Delivered { .. } => self.set_live(key, false),
            _ => {}
        }
        Ok(())
    }

    /// The session of `key` ended without a `result` record (it failed): its partial result
    /// becomes deliverable.
    pub fn release(&self, key: &str) {
        self.set_live(key, false);
    }

    /// Started through this spool and not yet finished (see the type docs), or held live by
    /// another process sharing the directory (its `flock` on the file).
    pub fn is_live(&self, key: &str) -> bool {
        let here = self
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key);
        here || self.path_of(key).is_ok_and(|p| locked_elsewhere(&p))
    }

    fn set_live(&self, key: &str, live: bool) {
        let mut set = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if live {
            set.insert(key.to_string());
            if let Ok(path) = self.path_of(key) {
                if let Some(file) = lock_exclusive(&path) {
                    held.insert(key.to_string(), file);
                }
            }
        } else {
            set.remove(key);
            held.remove(key); // closing the file releases the flock
        }
    }

    /// [`Spool::append`] on the blocking pool.
    pub async fn append_async(&self, key: &str, record: SpoolRecord) -> Result<()> {
        let (spool, key) = (self.clone(), key.to_string());
        let path = self.dir.clone();
        tokio::task::spawn_blocking(move || spool.append(&key, &record))
            .await
            .map_err(|e| InterviewError::spool_io("append", &path, std::io::Error::other(e)))?
    }

    /// Append `delivered` now (fsync): the interview is no longer [`Spool::pending`].
    pub fn mark_delivered(&self, key: &str) -> Result<()> {
        self.append(key, &SpoolRecord::Delivered { at_ms: now_ms() })?;
        if let Ok(mut locks) = self.locks.lock() {
            locks.remove(key);
        }
        Ok(())
    }

    /// Every record of one interview; torn and corrupt lines are skipped and reported.
    pub fn read(&self, key: &str) -> Result<SpoolFile> {
        let path = self.path_of(key)?;
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => InterviewError::SpoolUnknownKey(key.to_string()),
                _ => InterviewError::spool_io("read", &path, e),
            })?;
        Ok(parse_lines(key, &bytes))
    }

    /// Keys of all spooled interviews, sorted.
    pub fn keys(&self) -> Result<Vec<String>> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| InterviewError::spool_io("list", &self.dir, e))?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| InterviewError::spool_io("list", &self.dir, e))?;
            let path = entry.path();
            let key = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|_| path.extension().is_some_and(|e| e == EXT));
            if let Some(key) = key.filter(|k| check_key(k).is_ok()) {
                keys.push(key.to_string());
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Delete the files of interviews delivered more than `max_age` ago; returns their keys.
    /// Undelivered interviews are never deleted, whatever their age.
    pub fn remove_delivered_older_than(&self, max_age: Duration) -> Result<Vec<String>> {
        let cutoff = now_ms().saturating_sub(u64::try_from(max_age.as_millis()).unwrap_or(0));
        let mut removed = Vec::new();
        for key in self.keys()? {
            let file = self.read(&key)?;
            if file.delivered_at_ms().is_some_and(|at| at <= cutoff) {
                let path = self.path_of(&key)?;
                fs::remove_file(&path).map_err(|e| InterviewError::spool_io("remove", &path, e))?;
                let _ = fs::remove_file(self.recording_path(&key)?);
                removed.push(key);
            }
        }
        Ok(removed)
    }

    fn lock_for(&self, key: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(key.to_string()).or_default().clone()
    }
}

/// Open `path` and take an exclusive, non-blocking `flock` on it; None if that fails.
fn lock_exclusive(path: &Path) -> Option<File> {
    let file = File::open(path).ok()?;
    flock(&file, libc::LOCK_EX | libc::LOCK_NB).then_some(file)
}

/// Does another open file (another process, or another `Spool` of this one) hold `path`'s
/// exclusive lock?
fn locked_elsewhere(path: &Path) -> bool {
    match File::open(path) {
        // The probe's own shared lock is released when `file` is dropped.
        Ok(file) => !flock(&file, libc::LOCK_SH | libc::LOCK_NB),
        Err(_) => false,
    }
}

fn flock(file: &File, op: libc::c_int) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a valid, open file descriptor owned by `file` for this call.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Keys become file names: 1..=200 chars of `[A-Za-z0-9_-]`, as `idempotency_key` makes them.
fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(InterviewError::SpoolInvalid {
            key: key.to_string(),
            reason: "a spool key is 1-200 characters of A-Z a-z 0-9 - _".into(),
        })
    }
}

fn check_record(key: &str, record: &SpoolRecord) -> Result<()> {
    let expected = match record {
        SpoolRecord::Started {
            application_id,
            room,
            started_at_ms,
            ..
        } => idempotency_key(application_id, room, *started_at_ms),
        SpoolRecord::Result { result } => result.idempotency_key.clone(),
        _ => return Ok(()),
    };
    if expected == key {
        Ok(())
    } else {
        Err(InterviewError::SpoolInvalid {
            key: key.to_string(),
            reason: format!("the record belongs to interview {expected:?}"),
        })
    }
}

/// Open for appending; `true` when the file was created by this call.
fn open_append(path: &Path) -> Result<(File, bool)> {
    let new = OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .open(path);
    match new {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map(|f| (f, false))
            .map_err(|e| InterviewError::spool_io("open", path, e)),
        Err(e) => Err(InterviewError::spool_io("create", path, e)),
    }
}

fn ends_with_newline(file: &mut File, path: &Path) -> Result<bool> {
    let mut last = [0u8; 1];
    let len = file
        .seek(SeekFrom::End(0))
        .map_err(|e| InterviewError::spool_io("seek", path, e))?;
    if len == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))
        .and_then(|_| file.read_exact(&mut last))
        .map_err(|e| InterviewError::spool_io("read", path, e))?;
    Ok(last[0] == b'\n')
}

/// Make a newly created file's directory entry durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| InterviewError::spool_io("sync dir", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn parse_lines(key: &str, bytes: &[u8]) -> SpoolFile {
    let mut file = SpoolFile {
        key: key.to_string(),
        ..SpoolFile::default()
    };
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // `split` yields a final empty piece after a trailing newline, else the torn tail.
    file.torn_tail = lines.pop().is_some_and(|tail| !tail.is_empty());
    for (i, line) in lines.into_iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<SpoolRecord>(line) {
            Ok(r) => file.records.push(r),
            Err(_) => file.corrupt_lines.push(i + 1),
        }
    }
    if file.torn_tail || !file.corrupt_lines.is_empty() {
        tracing::warn!(
            key,
            torn_tail = file.torn_tail,
            corrupt_lines = ?file.corrupt_lines,
            "spool file has damaged lines; they were skipped"
        );
    }
    file
}
