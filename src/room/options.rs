//! Options for joining a room, with defaults matching `agent.toml`.

use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RoomOptions {
    /// Subscribe to every published track automatically.
    pub auto_subscribe: bool,
    /// Timeout of one signalling connection attempt.
    pub connect_timeout: Duration,
    /// Attempts for the first join and for each rejoin after a lost connection.
    pub connect_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// UDP bind address for media; `None` picks from the server URL (loopback or all interfaces).
    pub udp_bind: Option<SocketAddr>,
    /// Frames buffered per remote audio track before the oldest are dropped.
    pub audio_queue_frames: usize,
    /// Capacity of the room event channel (control events, not audio).
    pub event_capacity: usize,
}

impl Default for RoomOptions {
    fn default() -> Self {
        RoomOptions {
            auto_subscribe: true,
            connect_timeout: Duration::from_secs(5),
            connect_attempts: 5,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(5),
            udp_bind: None,
            audio_queue_frames: 50,
            event_capacity: 256,
        }
    }
}

impl RoomOptions {
    pub fn from_config(c: &crate::config::RoomConfig) -> Self {
        RoomOptions {
            connect_timeout: Duration::from_millis(c.connect_timeout_ms),
            connect_attempts: c.connect_attempts,
            backoff_initial: Duration::from_millis(c.backoff_initial_ms),
            backoff_max: Duration::from_millis(c.backoff_max_ms),
            udp_bind: c.udp_bind.parse().ok(),
            audio_queue_frames: c.audio_queue_frames,
            ..Default::default()
        }
    }

    /// Delay before retry number `attempt` (1-based): initial, doubling, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff_initial
            .saturating_mul(factor)
            .min(self.backoff_max)
    }

    /// The UDP address media sockets bind to for a server at `url`.
    pub fn media_bind_addr(&self, url: &str) -> String {
        if let Some(a) = self.udp_bind {
            return a.to_string();
        }
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or(url)
            .split(['/', '?'])
            .next()
            .unwrap_or("");
        let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false);
        if loopback { "127.0.0.1:0" } else { "0.0.0.0:0" }.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let o = RoomOptions::default();
        assert_eq!(o.backoff(1), Duration::from_millis(500));
        assert_eq!(o.backoff(2), Duration::from_millis(1000));
        assert_eq!(o.backoff(4), Duration::from_millis(4000));
        assert_eq!(o.backoff(5), Duration::from_secs(5));
        assert_eq!(o.backoff(60), Duration::from_secs(5));
    }

    #[test]
    fn media_binds_loopback_only_for_a_local_server() {
        let o = RoomOptions::default();
        assert_eq!(o.media_bind_addr("ws://127.0.0.1:7880"), "127.0.0.1:0");
        assert_eq!(o.media_bind_addr("ws://localhost:7880/"), "127.0.0.1:0");
        assert_eq!(o.media_bind_addr("wss://lk.example.com"), "0.0.0.0:0");
        assert_eq!(o.media_bind_addr("http://[::1]:7880"), "127.0.0.1:0");
    }
}
