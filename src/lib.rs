//! interview-agent: a realtime AI interviewer that joins LiveKit rooms as a participant.
//!
//! Module map (dependencies point one way, downwards):
//! `cli` -> `session` -> `room` -> `audio`; `config`, `error`, `telemetry` are leaves.

pub mod audio;
pub mod cli;
pub mod config;
pub mod error;
pub mod room;
pub mod session;
pub mod telemetry;
pub mod token;
