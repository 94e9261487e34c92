//! One agent session inside a room: the interviewer (`interview`), the free-conversation
//! voice agent (`voice`), and the media diagnostics (`echo`, `tone`) that prove the path end
//! to end without any AI. `candidate` (the candidate's audio and presence) and `recording`
//! (the interview's audio file) are shared parts.

pub mod candidate;
pub mod echo;
pub mod job;
pub mod recording;
pub mod tone;
pub mod voice;

pub use echo::{run_echo, EchoOptions, EchoStats};
pub use interview::{Applications, InterviewOptions, InterviewRunner, LookupError};
pub use job::{EchoRunner, JobSpec, SessionError, SessionRunner};
pub use voice::VoiceRunner;
pub mod interview;
