//! The `/agent` WebSocket: authenticate with a `video.agent` JWT, register, exchange protobuf
//! `WorkerMessage` / `ServerMessage` frames.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::error::WorkerError;
use crate::config::Secret;
use crate::telemetry::redact;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `ws(s)://host[/path]/agent` from a LiveKit URL given as ws(s):// or http(s)://.
pub fn agent_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_string()
    };
    format!("{url}/agent")
}

fn worker_token(api_key: &str, api_secret: &Secret) -> Result<String, WorkerError> {
    AccessToken::with_api_key(api_key, api_secret.expose())
        .with_grants(VideoGrants {
            agent: true,
            ..Default::default()
        })
        .with_ttl(Duration::from_secs(3600))
        .to_jwt()
        .map_err(|e| WorkerError::Invalid(format!("cannot sign worker token: {e}")))
}

/// Open the WebSocket. A 401/403 is [`WorkerError::Unauthorized`]; anything else is retryable.
pub async fn open(
    url: &str,
    api_key: &str,
    api_secret: &Secret,
    timeout: Duration,
) -> Result<Ws, WorkerError> {
    let target = agent_url(url);
    let mut req = target
        .as_str()
        .into_client_request()
        .map_err(|e| WorkerError::Invalid(format!("bad LiveKit URL {url:?}: {e}")))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {}", worker_token(api_key, api_secret)?))
        .map_err(|e| WorkerError::Invalid(e.to_string()))?;
    req.headers_mut().insert("Authorization", bearer);
    let connecting = tokio_tungstenite::connect_async(req);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(WorkerError::Connect {
            url: target,
            reason: format!("timed out after {timeout:?}"),
        }),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tungstenite::Error::Http(resp))) if matches!(resp.status().as_u16(), 401 | 403) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| redact(&String::from_utf8_lossy(b)))
                .unwrap_or_default();
            Err(WorkerError::Unauthorized(format!(
                "{} {}",
                resp.status(),
                body.trim()
            )))
        }
        Ok(Err(e)) => Err(WorkerError::Connect {
            url: target,
            reason: redact(&e.to_string()),
        }),
    }
}

pub fn encode(msg: proto::worker_message::Message) -> Message {
    Message::Binary(
        proto::WorkerMessage { message: Some(msg) }
            .encode_to_vec()
            .into(),
    )
}

pub fn decode(bytes: &[u8]) -> Result<Option<proto::server_message::Message>, WorkerError> {
    proto::ServerMessage::decode(bytes)
        .map(|m| m.message)
        .map_err(|e| WorkerError::Protocol(format!("undecodable server message: {e}")))
}

/// Send `register` and wait for the server's `register` answer, which must come first.
pub async fn register(
    ws: &mut Ws,
    req: proto::RegisterWorkerRequest,
) -> Result<proto::RegisterWorkerResponse, WorkerError> {
    ws.send(encode(proto::worker_message::Message::Register(req)))
        .await
        .map_err(|e| WorkerError::Protocol(format!("cannot send register: {e}")))?;
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => return decode(&b),
                Some(Ok(Message::Close(f))) => {
                    return Err(WorkerError::Protocol(format!(
                        "server closed the connection: {f:?}"
                    )))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(WorkerError::Protocol(e.to_string())),
                None => {
                    return Err(WorkerError::Protocol(
                        "connection closed before register".into(),
                    ))
                }
            }
        }
    })
    .await
    .map_err(|_| WorkerError::Protocol("no register response within 10 s".into()))??;
    match first {
        Some(proto::server_message::Message::Register(r)) => Ok(r),
        other => Err(WorkerError::Protocol(format!(
            "expected register response as first message, got {}",
            match other {
                Some(m) => format!("{m:?}").chars().take(60).collect::<String>(),
                None => "an empty message".into(),
            }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_url_from_any_scheme() {
        assert_eq!(
            agent_url("ws://localhost:7880"),
            "ws://localhost:7880/agent"
        );
        assert_eq!(
            agent_url("http://localhost:7880/"),
            "ws://localhost:7880/agent"
        );
        assert_eq!(
            agent_url("https://lk.example.com/base"),
            "wss://lk.example.com/base/agent"
        );
    }

    #[test]
    fn worker_token_carries_the_agent_grant() {
        let secret = Secret::new("0123456789abcdef0123456789abcdef");
        let jwt = worker_token("key", &secret).unwrap();
        let claims = livekit_api::access_token::TokenVerifier::with_api_key("key", secret.expose())
            .verify(&jwt)
            .unwrap();
        assert!(claims.video.agent);
        assert!(!claims.video.room_join);
    }
}
