//! Test fake: a scripted HTTP/1.1 responder on a local `TcpListener`, for the transport-level
//! cases the real example backend (`hiring_backend`, used by `tests/backend_graphql.rs`) cannot
//! produce on demand: a 503 followed by a 200, a non-JSON body, a hanging or dropped
//! connection. It is NOT a GraphQL server; it answers each request with the next scripted
//! [`Reply`] (the last one repeats) and records what it received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// Answer with this status and body (`Content-Type: application/json` unless given).
    Respond {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Read the request, then never answer (the client's timeout fires).
    Hang,
    /// Read the request, then close the connection without answering.
    Close,
}

impl Reply {
    pub(crate) fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Respond {
            status,
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    pub(crate) fn text(status: u16, body: &str) -> Reply {
        Reply::Respond {
            status,
            content_type: "text/plain",
            body: body.to_string(),
        }
    }
}

/// One request as received: lower-case header names, the body as text.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("request body is JSON")
    }
}

pub(crate) struct FakeHttp {
    addr: SocketAddr,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl FakeHttp {
    pub(crate) async fn start(script: Vec<Reply>) -> FakeHttp {
        assert!(!script.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let recorded: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let rec = recorded.clone();
        let task = tokio::spawn(async move {
            let mut hanging = Vec::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                let Some(request) = read_request(&mut stream).await else {
                    continue;
                };
                let n = {
                    let mut r = rec.lock().expect("lock");
                    r.push(request);
                    r.len()
                };
                let reply = script[(n - 1).min(script.len() - 1)].clone();
                match reply {
                    Reply::Respond {
                        status,
                        content_type,
                        body,
                    } => {
                        let head = format!(
                            "HTTP/1.1 {status} Fake\r\ncontent-type: {content_type}\r\n\
                             content-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(body.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                    Reply::Hang => hanging.push(stream),
                    Reply::Close => drop(stream),
                }
            }
        });
        FakeHttp {
            addr,
            recorded,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("lock").clone()
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let method = lines.next()?.split(' ').next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        headers,
        body: String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string(),
    })
}
