//! The signalling connection: connect with retries and exponential backoff, and sort failures
//! into "credentials are wrong" (stop) versus "server unreachable" (retry).

use std::sync::Arc;

use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalError, SignalEvent, SignalOptions};
use tokio::sync::mpsc;

use super::error::RoomError;
use super::options::RoomOptions;
use crate::telemetry::redact;

/// Signal protocol we speak: dual peer connections, in-band data channels.
pub(crate) const SIGNAL_PROTOCOL: u32 = 16;

pub(crate) struct Connected {
    pub client: Arc<SignalClient>,
    pub join: proto::JoinResponse,
    pub events: mpsc::UnboundedReceiver<SignalEvent>,
}

fn signal_options(opts: &RoomOptions) -> SignalOptions {
    let mut o = SignalOptions::default();
    o.auto_subscribe = opts.auto_subscribe;
    o.connect_timeout = opts.connect_timeout;
    // Self-hosted servers have no region list; we run our own retry loop.
    o.region_failover = false;
    o.single_peer_connection = false;
    // Protocol 18 switches `_reliable`/`_lossy` to pre-negotiated channels with fixed ids on
    // both sides; we open them in-band (as every client before 18 did), so ask for 16.
    o.protocol_version = SIGNAL_PROTOCOL;
    // What our data layer implements: header/chunk/trailer data streams (client protocol 0).
    // The server tells other clients this number; livekit-signaling's default (2, "data
    // stream v2") made the Python SDK send a stream format we do not parse.
    o.client_protocol = livekit_signaling::CLIENT_PROTOCOL_DEFAULT;
    o.sdk_options.sdk = "rust".into();
    o.sdk_options.sdk_version = Some(concat!("interview-agent-", env!("CARGO_PKG_VERSION")).into());
    o
}

/// Classify a signalling error: `Err(Unauthorized)` stops retrying, `Ok(text)` may be retried.
fn classify(e: &SignalError) -> Result<String, RoomError> {
    let text = redact(&e.to_string());
    match e {
        SignalError::Client(status, body) if status.as_u16() == 401 || status.as_u16() == 403 => {
            Err(RoomError::Unauthorized(redact(body)))
        }
        SignalError::Client(status, body) => {
            Err(RoomError::Signal(format!("{status}: {}", redact(body))))
        }
        SignalError::TokenFormat
        | SignalError::UrlParse(_)
        | SignalError::TransportNotConfigured => Err(RoomError::Invalid(text)),
        _ => Ok(text),
    }
}

/// Join with up to `opts.connect_attempts` attempts.
pub(crate) async fn connect(
    url: &str,
    token: &str,
    opts: &RoomOptions,
) -> Result<Connected, RoomError> {
    super::transport::install();
    let mut last = String::new();
    for attempt in 1..=opts.connect_attempts {
        match SignalClient::connect(url, token, signal_options(opts), None).await {
            Ok((client, join, events)) => {
                return Ok(Connected {
                    client: Arc::new(client),
                    join,
                    events,
                })
            }
            Err(e) => {
                last = classify(&e)?;
                if attempt < opts.connect_attempts {
                    let delay = opts.backoff(attempt);
                    tracing::warn!(attempt, ?delay, "cannot join {url}: {last}; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
    Err(RoomError::Unreachable {
        url: url.to_string(),
        attempts: opts.connect_attempts,
        last,
    })
}
