//! Logging set-up and secret redaction. Everything that prints server text goes through
//! [`redact`] first, because a LiveKit 401 echoes the whole access token.

use std::sync::OnceLock;

mod histogram;
mod interviews;
mod speculation;
pub use histogram::{voice_metrics, Histogram, VoiceMetrics};
pub use interviews::{interview_metrics, InterviewMetrics};
pub use speculation::{speculation_metrics, SpeculationMetrics};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

static INIT: OnceLock<()> = OnceLock::new();

/// Initialise tracing once (later calls are no-ops). `RUST_LOG` wins over `level` when set.
pub fn init(level: &str, format: LogFormat) {
    INIT.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter(level)));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        match format {
            LogFormat::Pretty => builder.compact().init(),
            LogFormat::Json => builder.json().init(),
        }
    });
}

/// Our crate at `level`, others at warn. The WebRTC stack logs routine protocol noise
/// (unknown DTLS extensions, writes before SRTP is keyed) at warn/error: only its errors
/// that matter surface through our own logs, so it is kept quiet unless RUST_LOG asks.
fn default_filter(level: &str) -> String {
    let quiet = [
        "rtc",
        "rtc_ice",
        "rtc_dtls",
        "rtc_sctp",
        "rtc_srtp",
        "rtc_interceptor",
        "rtc_datachannel",
        "webrtc",
    ]
    .map(|c| format!(",{c}=off"))
    .concat();
    format!("warn,interview_agent={level}{quiet}")
}

/// Replace anything that looks like a JWT (three base64url segments, the first starting with
/// `eyJ`) with `<redacted-token>`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        if candidate.matches('.').count() >= 2 {
            out.push_str("<redacted-token>");
        } else {
            out.push_str(candidate);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_jwts_and_keeps_other_text() {
        let s =
            "401 unauthorized: invalid token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc-_d, retry";
        assert_eq!(
            redact(s),
            "401 unauthorized: invalid token: <redacted-token>, retry"
        );
        assert_eq!(redact("eyJ alone"), "eyJ alone");
        assert_eq!(redact("no token"), "no token");
    }
}
