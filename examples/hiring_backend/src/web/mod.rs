//! The web pages the backend serves, from files in the repository (`web/public`, and
//! `livekit-client` from `web/node_modules`, pinned by `web/package-lock.json`): the candidate's
//! interview page (`GET /interview/{applicationId}`) with its password endpoint, and the static
//! files under `/static/`. Every response carries a strict Content-Security-Policy: scripts and
//! styles from this origin only, network access to this origin and the LiveKit server only,
//! no inline code, no framing; nothing is ever loaded from another host.

mod assets;
mod candidate;
mod console;
mod recordings;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;

use crate::auth::Auth;
use crate::rooms::Rooms;
use crate::store::Store;

/// What the page routes need.
pub(crate) struct Web {
    pub rooms: Arc<Rooms>,
    pub store: Store,
    pub auth: Arc<Auth>,
    pub files: assets::Files,
    /// Seconds a locked interview stays locked (the password attempt window).
    pub lock_secs: u64,
    pub recordings_dir: PathBuf,
}

pub(crate) struct WebOptions {
    pub rooms: Arc<Rooms>,
    pub store: Store,
    pub auth: Arc<Auth>,
    pub web_root: PathBuf,
    pub livekit_url: Option<String>,
    pub lock_secs: u64,
    pub recordings_dir: PathBuf,
}

/// Largest recording upload (about 7 hours of the agent's Ogg/Opus).
const MAX_RECORDING_BYTES: usize = 200 << 20;

/// The page routes, with their security headers.
pub(crate) fn router(o: WebOptions) -> Router {
    let headers = Arc::new(SecurityHeaders::new(o.livekit_url.as_deref()));
    let web = Arc::new(Web {
        rooms: o.rooms,
        store: o.store,
        auth: o.auth,
        files: assets::Files::new(o.web_root),
        lock_secs: o.lock_secs,
        recordings_dir: o.recordings_dir,
    });
    Router::new()
        .route("/interview/{application_id}", get(candidate::page))
        .route(
            "/api/interview/{application_id}/token",
            post(candidate::token),
        )
        .route("/console", get(console::list_page))
        .route(
            "/console/applications/{application_id}",
            get(console::application_page),
        )
        .route(
            "/console/login",
            get(console::login_page).post(console::sign_in),
        )
        .route("/console/logout", post(console::sign_out))
        .route("/console/recordings/{key}", get(recordings::download))
        .route(
            "/api/recordings/{key}",
            put(recordings::upload).layer(DefaultBodyLimit::max(MAX_RECORDING_BYTES)),
        )
        .route("/static/{*path}", get(assets::serve))
        .with_state(web)
        .layer(middleware::from_fn_with_state(headers, security_headers))
}

/// The headers every page, file and API answer carries.
struct SecurityHeaders {
    csp: HeaderValue,
}

impl SecurityHeaders {
    fn new(livekit_url: Option<&str>) -> SecurityHeaders {
        let connect = livekit_url.map(livekit_origins).unwrap_or_default();
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             media-src 'self' blob: mediastream:; connect-src 'self' blob:{connect}; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        SecurityHeaders {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        }
    }
}

/// The LiveKit server's WebSocket and HTTP origins (the client uses both), for connect-src.
fn livekit_origins(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains([' ', ';', '\'', ',']) {
        return String::new();
    }
    let (ws, http) = match scheme {
        "wss" | "https" => ("wss", "https"),
        _ => ("ws", "http"),
    };
    format!(" {ws}://{host} {http}://{host}")
}

async fn security_headers(
    State(h): State<Arc<SecurityHeaders>>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, h.csp.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("microphone=(self), camera=(), geolocation=(), payment=()"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn livekit_origins_cover_websocket_and_http() {
        assert_eq!(
            livekit_origins("ws://127.0.0.1:7880"),
            " ws://127.0.0.1:7880 http://127.0.0.1:7880"
        );
        assert_eq!(
            livekit_origins("https://lk.example.com/"),
            " wss://lk.example.com https://lk.example.com"
        );
        assert_eq!(livekit_origins("nonsense"), "");
        assert_eq!(livekit_origins("ws://a b"), "");
    }
}
