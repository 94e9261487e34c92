//! HTTP health and metrics: `GET /` (200 when registered, 503 otherwise), `GET /worker` (JSON),
//! `GET /metrics` (Prometheus). A deliberately tiny HTTP/1.1 responder: three read-only routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::load::rss_bytes;
use super::state::WorkerState;
use super::WORKER_PROTOCOL_VERSION;

/// Bind and serve until `stop`; returns the bound address (port 0 = random).
pub async fn serve(
    addr: SocketAddr,
    state: Arc<WorkerState>,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        let state = state.clone();
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(Duration::from_secs(5), handle(stream, &state)).await;
                        });
                    }
                }
            }
        }
    });
    Ok(local)
}

async fn handle(mut stream: TcpStream, state: &WorkerState) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, ctype, body) = route(method, path, state);
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

fn route(method: &str, path: &str, state: &WorkerState) -> (&'static str, &'static str, String) {
    if method != "GET" && method != "HEAD" {
        return (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".into(),
        );
    }
    match path {
        "/" => {
            if state.is_registered() {
                ("200 OK", "text/plain", "OK\n".into())
            } else {
                (
                    "503 Service Unavailable",
                    "text/plain",
                    "worker is not registered with the LiveKit server\n".into(),
                )
            }
        }
        "/worker" => {
            let body = serde_json::json!({
                "agent_name": state.agent_name,
                "worker_id": state.worker_id(),
                "status": state.status_name(),
                "load": state.load(),
                "worker_load": state.load(),
                "active_jobs": state.job_count(),
                "max_jobs": state.max_jobs,
                "jobs": state.jobs_json(),
                "version": state.version,
                "protocol_version": WORKER_PROTOCOL_VERSION,
                "rss_bytes": rss_bytes(),
            });
            ("200 OK", "application/json", body.to_string())
        }
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4",
            state
                .metrics
                .render(state.job_count(), state.load(), state.is_registered())
                + &crate::telemetry::voice_metrics().render()
                + &crate::telemetry::speculation_metrics().render()
                + &crate::telemetry::interview_metrics().render(),
        ),
        _ => ("404 Not Found", "text/plain", "not found\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_answer_as_specified() {
        let s = WorkerState::new("interviewer".into(), "1.0".into(), 4, 0.7);
        assert_eq!(route("GET", "/", &s).0, "503 Service Unavailable");
        s.set_registered(Some("AW_1".into()));
        assert_eq!(route("GET", "/", &s).0, "200 OK");
        let (_, ctype, body) = route("GET", "/worker", &s);
        assert_eq!(ctype, "application/json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["agent_name"], "interviewer");
        assert_eq!(v["worker_id"], "AW_1");
        assert_eq!(v["status"], "available");
        assert!(route("GET", "/metrics", &s)
            .2
            .contains("interview_agent_active_jobs 0"));
        assert_eq!(route("GET", "/nope", &s).0, "404 Not Found");
        assert_eq!(route("POST", "/", &s).0, "405 Method Not Allowed");
    }
}
