//! The signalling WebSocket under livekit-signaling, registered as its process-wide
//! transport: tokio-tungstenite with a small read buffer.
//!
//! Why our own: livekit-net's built-in transport opens the socket with tungstenite's default
//! 128 KiB read buffer, which tungstenite zero-fills on every read, so each room keeps 128 KiB
//! resident for messages that are a few KiB (offers, answers, candidates; the largest, a
//! `JoinResponse`, grows the buffer as needed). With a hundred interviews in a process that is
//! 12.5 MB of zeroes. Behind an HTTP(S) proxy (`HTTP_PROXY`/`HTTPS_PROXY` set) we leave the
//! built-in transport in place: it knows how to tunnel through one.

use std::sync::{Arc, Once};
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use livekit_net::{Header, TransportError, WsClient, WsConnectResult, WsConnection};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::telemetry::redact;

/// Read buffer of one signalling socket. Signal messages are mostly far smaller; a larger
/// frame makes tungstenite reserve what it needs.
const SIGNAL_READ_BUFFER: usize = 4 * 1024;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Register [`SignalTransport`] for every room of this process (once; a later call is a no-op).
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let proxied = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()));
        if !proxied {
            livekit_net::set_ws_client(Arc::new(SignalTransport));
        }
    });
}

/// Opens signalling WebSockets with [`SIGNAL_READ_BUFFER`].
pub(crate) struct SignalTransport;

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(SIGNAL_READ_BUFFER)
        // Each signal message is sent (and flushed) on its own: nothing to batch.
        .write_buffer_size(0)
}

fn connection_error(e: impl std::fmt::Display) -> TransportError {
    TransportError::Connection(redact(&e.to_string()))
}

#[async_trait::async_trait]
impl WsClient for SignalTransport {
    async fn connect(
        &self,
        url: String,
        headers: Vec<Header>,
        timeout_ms: u64,
    ) -> Result<WsConnectResult, TransportError> {
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(connection_error)?;
        for h in headers {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| TransportError::Other(format!("bad header name {:?}", h.name)))?;
            // The value is a bearer token: never echo it.
            let value = HeaderValue::from_str(&h.value)
                .map_err(|_| TransportError::Other(format!("bad value for header {name}")))?;
            request.headers_mut().insert(name, value);
        }
        // Nagle off: back-to-back small messages (trickled candidates) are not held for an ACK.
        let connecting =
            tokio_tungstenite::connect_async_with_config(request, Some(config()), true);
        let (socket, _) = tokio::time::timeout(Duration::from_millis(timeout_ms), connecting)
            .await
            .map_err(|_| TransportError::Timeout)?
            .map_err(|e| match e {
                // The status lets livekit-signaling ask the server why (401: bad token).
                WsError::Http(resp) => TransportError::Http {
                    status: resp.status().as_u16(),
                },
                other => connection_error(other),
            })?;
        let (writer, reader) = socket.split();
        Ok(WsConnectResult {
            connection: Arc::new(SignalSocket {
                writer: Mutex::new(writer),
                reader: Mutex::new(reader),
            }),
        })
    }
}

/// One open signalling socket: binary frames in and out.
struct SignalSocket {
    writer: Mutex<SplitSink<Socket, Message>>,
    reader: Mutex<SplitStream<Socket>>,
}

#[async_trait::async_trait]
impl WsConnection for SignalSocket {
    async fn send(&self, frame: Vec<u8>) -> Result<(), TransportError> {
        self.writer
            .lock()
            .await
            .send(Message::Binary(frame.into()))
            .await
            .map_err(connection_error)
    }

    async fn recv(&self) -> Result<Option<Vec<u8>>, TransportError> {
        let mut reader = self.reader.lock().await;
        loop {
            match reader.next().await {
                Some(Ok(Message::Binary(data))) => return Ok(Some(data.to_vec())),
                // tungstenite queues the pong for a ping itself and sends it as this loop
                // reads on (the tests hold it to that). Signalling is binary protobuf; nothing
                // else carries a message.
                Some(Ok(
                    Message::Ping(_) | Message::Text(_) | Message::Pong(_) | Message::Frame(_),
                )) => {}
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                // The server going away without a close frame (or TLS close_notify) is a
                // close, not an error: the engine resumes or rejoins either way.
                Some(Err(
                    WsError::ConnectionClosed
                    | WsError::AlreadyClosed
                    | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                )) => return Ok(None),
                Some(Err(WsError::Io(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(None)
                }
                Some(Err(e)) => return Err(connection_error(e)),
            }
        }
    }

    async fn close(&self) {
        let _ = self.writer.lock().await.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A WebSocket server on 127.0.0.1:0 that pings first and answers each binary frame with
    /// its reverse only once the ping has been answered (a client that ignores pings hears
    /// nothing), then closes after `frames` answers.
    async fn reversing_server(frames: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
            let (mut ponged, mut held, mut answered) = (false, Vec::new(), 0);
            while let Some(Ok(msg)) = ws.next().await {
                match msg {
                    Message::Binary(b) => held.push(b.to_vec()),
                    Message::Pong(p) if &p[..] == b"hi" => ponged = true,
                    _ => {}
                }
                if !ponged {
                    continue;
                }
                for mut v in held.drain(..) {
                    v.reverse();
                    ws.send(Message::Binary(v.into())).await.unwrap();
                    answered += 1;
                }
                if answered == frames {
                    ws.close(None).await.unwrap();
                }
            }
        });
        format!("ws://{addr}/rtc")
    }

    #[tokio::test]
    async fn carries_frames_larger_than_its_read_buffer_and_reports_the_close() {
        let url = reversing_server(2).await;
        let conn = SignalTransport
            .connect(url, vec![], 5_000)
            .await
            .unwrap()
            .connection;
        // A JoinResponse with many participants can be far larger than the read buffer.
        let big: Vec<u8> = (0..10 * SIGNAL_READ_BUFFER)
            .map(|i| (i % 251) as u8)
            .collect();
        conn.send(big.clone()).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(10), conn.recv()).await;
        let mut back = answer
            .expect("no answer: the ping went unanswered")
            .unwrap()
            .unwrap();
        back.reverse();
        assert_eq!(back, big);
        conn.send(vec![1, 2, 3]).await.unwrap();
        assert_eq!(conn.recv().await.unwrap(), Some(vec![3, 2, 1]));
        assert_eq!(
            conn.recv().await.unwrap(),
            None,
            "a close frame ends the stream"
        );
    }

    #[tokio::test]
    async fn a_refused_upgrade_reports_its_status() {
        // An HTTP server that refuses every upgrade with 401, as livekit-server does for a
        // bad token.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let body = "invalid token";
            let resp = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            tcp.write_all(resp.as_bytes()).await.unwrap();
        });
        let headers = vec![Header {
            name: "Authorization".into(),
            value: "Bearer secret-token".into(),
        }];
        let err = match SignalTransport
            .connect(format!("ws://{addr}/rtc"), headers, 5_000)
            .await
        {
            Err(e) => e,
            Ok(_) => panic!("the upgrade was refused"),
        };
        assert!(matches!(err, TransportError::Http { status: 401 }), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_connection_error() {
        // Bind then drop: nothing listens on the port.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = match SignalTransport
            .connect(format!("ws://127.0.0.1:{port}/rtc"), vec![], 5_000)
            .await
        {
            Err(e) => e,
            Ok(_) => panic!("nothing listens there"),
        };
        assert!(matches!(err, TransportError::Connection(_)), "{err}");
    }
}
