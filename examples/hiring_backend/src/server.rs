//! The HTTP server: routes (`POST /graphql`, where operator fields need the API token or a
//! console session, see [`crate::auth`]; `POST /livekit/webhook`, `GET /healthz`, and the
//! pages of [`crate::web`]), [`start`] and the [`RunningBackend`] handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::Auth;
use crate::livekit::LiveKit;
use crate::notifier::Delivery;
use crate::rooms::{PasswordPolicy, Rooms};
use crate::schema::{build_schema, Backend, BackendSchema};
use crate::store::Store;
use crate::web;
use crate::webhook::{self, WebhookState};
use crate::{BackendError, BackendOptions};

/// How long [`RunningBackend::shutdown`] lets in-flight requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A backend serving in the background on the current tokio runtime. Dropping it also stops
/// the server (gracefully, without waiting); [`RunningBackend::shutdown`] waits.
pub struct RunningBackend {
    addr: SocketAddr,
    store: Store,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningBackend {
    /// The address it listens on (the real port when `bind` asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/graphql`
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url())
    }

    /// The database (a cheap clone sharing the connection).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// Stops listening (the port is free when this returns), lets in-flight requests finish
    /// for up to 5 s, and returns once the server task ended.
    pub async fn shutdown(self) {
        let RunningBackend { stop, mut task, .. } = self;
        let _ = stop.send(());
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Opens the database, binds `opts.bind` and serves in the background.
pub async fn start(opts: BackendOptions) -> Result<RunningBackend, BackendError> {
    if !(4..=31).contains(&opts.bcrypt_cost) {
        return Err(BackendError::InvalidInput(format!(
            "bcrypt cost must be 4..=31 (got {})",
            opts.bcrypt_cost
        )));
    }
    let store = Store::open(opts.db_path.as_deref(), opts.clock.clone())?;
    // Bound first: invitation links carry the real address.
    let listener = bind(opts.bind)?;
    let addr = listener.local_addr()?;
    let public_url = match &opts.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None if addr.ip().is_unspecified() => {
            tracing::warn!(
                "listening on all interfaces: invitation links say 127.0.0.1; set the public URL"
            );
            format!("http://127.0.0.1:{}", addr.port())
        }
        None => format!("http://{addr}"),
    };
    let livekit = opts.livekit.clone().map(LiveKit::new);
    let receiver = livekit.as_ref().map(|lk| Arc::new(lk.webhook_receiver()));
    let rooms = Arc::new(Rooms::new(
        store.clone(),
        public_url.clone(),
        livekit,
        Delivery::new(opts.notifier.clone())?,
        PasswordPolicy {
            ttl: opts.password_ttl,
            max_attempts: opts.max_password_attempts,
            window: opts.attempt_window,
            bcrypt_cost: opts.bcrypt_cost,
        },
        opts.clock.clone(),
    ));
    let auth = Arc::new(Auth::new(
        opts.api_token.clone(),
        opts.operator_password.clone(),
        opts.clock.clone(),
        public_url.starts_with("https://"),
    ));
    let recordings_dir = match &opts.recordings_dir {
        Some(d) => d.clone(),
        None => match &opts.db_path {
            Some(db) => db.with_extension("recordings"),
            None => std::env::temp_dir()
                .join(format!("hiring-backend-recordings-{}", std::process::id())),
        },
    };
    std::fs::create_dir_all(&recordings_dir)?;
    let pages = web::router(web::WebOptions {
        rooms: rooms.clone(),
        store: store.clone(),
        auth: auth.clone(),
        web_root: opts.web_root.clone(),
        livekit_url: rooms.livekit_url().map(str::to_string),
        lock_secs: opts.attempt_window.as_secs(),
        recordings_dir,
    });
    let schema = build_schema(Arc::new(Backend {
        store: store.clone(),
        rooms,
    }));
    let app = router(
        schema,
        WebhookState {
            store: store.clone(),
            receiver,
        },
        auth.clone(),
    )
    .merge(pages);

    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            // A dropped RunningBackend stops the server too.
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!("hiring backend server failed: {e}");
        }
    });
    tracing::info!(%addr, %public_url, api_token = opts.api_token.is_some(), console = auth.console_enabled(), livekit = opts.livekit.is_some(), "hiring backend listening");
    Ok(RunningBackend {
        addr,
        store,
        stop,
        task,
    })
}

/// SO_REUSEADDR, so a restart can bind the port again right away.
fn bind(addr: SocketAddr) -> Result<TcpListener, BackendError> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket.listen(1024)?)
}

fn router(schema: BackendSchema, hooks: WebhookState, auth: Arc<Auth>) -> Router {
    let graphql = Router::new()
        .route("/graphql", post(graphql))
        .with_state(GraphQl { schema, auth });
    let webhooks = Router::new()
        .route("/livekit/webhook", post(webhook::receive))
        .with_state(hooks);
    Router::new()
        .merge(graphql)
        .merge(webhooks)
        .route("/healthz", get(|| async { "ok\n" }))
}

#[derive(Clone)]
struct GraphQl {
    schema: BackendSchema,
    auth: Arc<Auth>,
}

/// Runs the request with the caller's [`Access`]; a request that used an operator-only field
/// without a credential gets 401 and no data (only the error).
async fn graphql(State(g): State<GraphQl>, headers: HeaderMap, req: GraphQLRequest) -> Response {
    let access = g.auth.access(&headers);
    let res = g.schema.execute(req.into_inner().data(access)).await;
    let unauthenticated = res.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from("UNAUTHENTICATED"))
    });
    if !unauthenticated {
        return GraphQLResponse::from(res).into_response();
    }
    let body = serde_json::json!({
        "data": null,
        "errors": [{
            "message": BackendError::Unauthenticated.to_string(),
            "extensions": { "code": "UNAUTHENTICATED" }
        }]
    });
    let mut r = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}
