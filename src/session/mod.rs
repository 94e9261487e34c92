//! One agent session inside a room. For now: the media diagnostics (`echo`, `tone`) that
//! prove the path end to end without any AI; the interview session plugs in here later.

pub mod echo;
pub mod job;
pub mod tone;

pub use echo::{run_echo, EchoOptions, EchoStats};
pub use job::{EchoRunner, JobSpec, SessionError, SessionRunner};
