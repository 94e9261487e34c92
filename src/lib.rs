//! interview-agent: a realtime AI interviewer that joins LiveKit rooms as a participant.
//!
//! Module map (dependencies point one way, downwards):
//! `cli` -> `worker` -> `session` -> {`room`, `pipeline`} -> {`interview`, `providers`, `audio`};
//! `config`, `error`, `telemetry` are leaves.

pub mod audio;
pub mod backend;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod interview;
pub mod pipeline;
pub mod providers;
pub mod room;
pub mod session;
pub mod telemetry;
pub mod token;
pub mod worker;
