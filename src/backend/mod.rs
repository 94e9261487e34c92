//! The hiring backend's GraphQL API as the agent uses it (contract: `graphql/*.graphql`):
//! fetch the application an interview is for, store the interview's result and its audio
//! recording.
//!
//! Files: `operations` (typed operations generated from the contract), `convert` (generated
//! types <-> interview types, RFC 3339 timestamps), `client` ([`BackendClient`]: HTTP,
//! bearer token, retries), `recordings` (the recording upload), `sink` (the client as the
//! result spool's `ResultSink`), `error`
//! ([`BackendError`]); tests: `fake_http` (scripted HTTP fake for transport failures),
//! `testing` (sample result). End-to-end tests against the example backend are in
//! `tests/backend_graphql.rs`.

pub mod client;
pub mod convert;
pub mod error;
pub mod operations;
pub mod recordings;
pub mod sink;

#[cfg(test)]
mod fake_http;
#[cfg(test)]
mod testing;

pub use client::{BackendClient, BackendOptions, SaveOutcome};
pub use error::BackendError;
pub use sink::sink_error;
