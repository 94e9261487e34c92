//! The hiring backend's GraphQL client: [`BackendClient::application`] (which application an
//! interview is for) and [`BackendClient::save_result`] (store an interview's result).
//!
//! Transport: one `POST <url>` per attempt with the JSON body
//! `{"query", "variables", "operationName"}` and `Authorization: Bearer <token>` when a token is
//! set. Retries with the [`RetryPolicy`] backoff (`tokio::time::sleep`) on timeouts, connection
//! failures and HTTP 408/429/5xx only; 401/403, other 4xx, GraphQL `errors` and malformed
//! answers fail at once (see [`BackendError::is_retryable`]). Retrying the save is safe: the
//! backend stores each `idempotencyKey` once.
//!
//! The token is only ever handed to the `Authorization` header; server text kept in errors is
//! redacted and shortened.

use std::time::Duration;

use graphql_client::{GraphQLQuery, QueryBody};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::convert::{application_from_response, result_input};
use super::error::{is_retryable_status, BackendError};
use super::operations::{
    application_query, save_interview_result, ApplicationQuery, SaveInterviewResult,
};
use crate::config::Secret;
use crate::interview::{Application, InterviewResult};
use crate::providers::error::redact;
use crate::providers::RetryPolicy;

/// Larger answers are not GraphQL answers to our two small operations.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct BackendOptions {
    /// The GraphQL endpoint. Default: the example hiring backend's,
    /// "http://127.0.0.1:8090/graphql".
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`; None or empty: no header.
    pub token: Option<Secret>,
    /// Whole request, connect to last body byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts and backoff for retryable failures.
    pub retry: RetryPolicy,
}

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions {
            url: "http://127.0.0.1:8090/graphql".into(),
            token: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(2),
            },
        }
    }
}

/// What the backend said about a saved result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveOutcome {
    /// The backend's id of the stored result.
    pub result_id: String,
    /// The idempotency key was already stored: nothing new was stored.
    pub duplicate: bool,
}

/// Cheap to clone (the HTTP connection pool is shared).
#[derive(Debug, Clone)]
pub struct BackendClient {
    pub(super) http: reqwest::Client,
    pub(super) url: reqwest::Url,
    pub(super) token: Option<Secret>,
    pub(super) timeout: Duration,
    retry: RetryPolicy,
}

/// A GraphQL response with the `data` left raw, so `errors` are read even when `data` does not
/// match the operation.
#[derive(Deserialize)]
struct RawResponse {
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Option<Vec<graphql_client::Error>>,
}

impl BackendClient {
    /// Err([`BackendError::Config`]) for a URL that is not http(s) or an HTTP client that
    /// cannot be built. Does not contact the backend.
    pub fn new(options: BackendOptions) -> Result<Self, BackendError> {
        let url = reqwest::Url::parse(options.url.trim())
            .map_err(|e| BackendError::Config(format!("backend url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BackendError::Config(format!(
                "backend url: scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .build()
            .map_err(|e| BackendError::Config(format!("HTTP client: {e}")))?;
        Ok(BackendClient {
            http,
            url,
            token: options.token.filter(|t| !t.is_empty()),
            timeout: options.timeout,
            retry: options.retry,
        })
    }

    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The application `id`, with nulls defaulted and validated.
    /// Err([`BackendError::NotFound`]) when the backend has no such application,
    /// Err([`BackendError::InvalidApplication`]) when an interview cannot run with it.
    pub async fn application(&self, id: &str) -> Result<Application, BackendError> {
        let data = self
            .execute::<ApplicationQuery>(application_query::Variables { id: id.to_string() })
            .await?;
        let app = data
            .application
            .ok_or_else(|| BackendError::NotFound(id.to_string()))?;
        application_from_response(app)
    }

    /// Store `result` under its idempotency key. A key the backend already holds is success
    /// with `duplicate: true` (nothing new stored).
    pub async fn save_result(&self, result: &InterviewResult) -> Result<SaveOutcome, BackendError> {
        let data = self
            .execute::<SaveInterviewResult>(save_interview_result::Variables {
                input: result_input(result),
            })
            .await?;
        let payload = data.save_interview_result;
        Ok(SaveOutcome {
            result_id: payload.result_id,
            duplicate: payload.duplicate,
        })
    }

    /// Run operation `Q`, retrying retryable failures; the last error when attempts run out.
    async fn execute<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
    ) -> Result<Q::ResponseData, BackendError>
    where
        Q::ResponseData: DeserializeOwned,
    {
        let query = Q::build_query(variables);
        let operation = query.operation_name;
        let body = serde_json::to_vec(&query).map_err(|e| BackendError::BadResponse {
            operation,
            message: format!("cannot serialize the request: {e}"),
        })?;
        let mut attempt = 1;
        loop {
            match self.post_once::<Q>(&query, &body).await {
                Ok(data) => return Ok(data),
                Err(e) if e.is_retryable() && attempt < self.retry.max_attempts.max(1) => {
                    let delay = self.retry.backoff(attempt);
                    tracing::warn!(operation, attempt, error = %e, ?delay,
                        "backend call failed, retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn post_once<Q: GraphQLQuery>(
        &self,
        query: &QueryBody<Q::Variables>,
        body: &[u8],
    ) -> Result<Q::ResponseData, BackendError>
    where
        Q::ResponseData: DeserializeOwned,
    {
        let operation = query.operation_name;
        let mut request = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/graphql-response+json, application/json",
            )
            .body(body.to_vec());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| self.map_reqwest(operation, e))?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(BackendError::Unauthorized { operation, status });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.map_reqwest(operation, e))?
        {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(BackendError::BadResponse {
                    operation,
                    message: format!("answer larger than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let success = (200..300).contains(&status);
        if is_retryable_status(status) {
            return Err(BackendError::Status {
                operation,
                status,
                message: self.snippet(&bytes),
            });
        }
        let raw: RawResponse = match serde_json::from_slice(&bytes) {
            Ok(raw) => raw,
            Err(_) if !success => {
                return Err(BackendError::Status {
                    operation,
                    status,
                    message: self.snippet(&bytes),
                })
            }
            Err(e) => {
                return Err(BackendError::BadResponse {
                    operation,
                    message: format!("not a GraphQL JSON answer ({e}): {}", self.snippet(&bytes)),
                })
            }
        };
        // GraphQL errors first, also on a 4xx (GraphQL over HTTP answers invalid requests with
        // 400 and errors): they say what is wrong better than the status does.
        if let Some(errors) = raw.errors.filter(|e| !e.is_empty()) {
            return Err(BackendError::GraphQl {
                operation,
                messages: errors.iter().map(|e| self.graphql_message(e)).collect(),
                codes: errors.iter().filter_map(error_code).collect(),
            });
        }
        if !success {
            return Err(BackendError::Status {
                operation,
                status,
                message: self.snippet(&bytes),
            });
        }
        match raw.data {
            None | Some(serde_json::Value::Null) => Err(BackendError::BadResponse {
                operation,
                message: "neither data nor errors in the answer".into(),
            }),
            Some(data) => serde_json::from_value(data).map_err(|e| BackendError::BadResponse {
                operation,
                message: format!("data does not match the operation: {e}"),
            }),
        }
    }

    pub(super) fn map_reqwest(&self, operation: &'static str, e: reqwest::Error) -> BackendError {
        // reqwest's messages hold the URL, never headers; redact anyway in case the token was
        // put into the URL.
        let message = self.redact(&error_chain(&e));
        if e.is_timeout() {
            BackendError::Timeout {
                operation,
                after: self.timeout,
            }
        } else if e.is_connect() {
            BackendError::Connect { operation, message }
        } else if e.is_builder() {
            BackendError::Config(message)
        } else {
            BackendError::Transport { operation, message }
        }
    }

    /// "message (at saveInterviewResult.input)": the message with its path when given.
    fn graphql_message(&self, e: &graphql_client::Error) -> String {
        let message = self.redact(&e.message);
        match e.path.as_deref() {
            Some(path) if !path.is_empty() => {
                let path: Vec<String> = path.iter().map(ToString::to_string).collect();
                format!("{message} (at {})", path.join("."))
            }
            _ => message,
        }
    }

    fn snippet(&self, bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        if text.is_empty() {
            "(empty body)".into()
        } else {
            self.redact(text)
        }
    }

    fn redact(&self, text: &str) -> String {
        match &self.token {
            Some(token) => redact(text, token),
            None => redact(text, &Secret::default()),
        }
    }
}

/// The error's `extensions.code`, when it is a string.
fn error_code(e: &graphql_client::Error) -> Option<String> {
    e.extensions
        .as_ref()?
        .get("code")?
        .as_str()
        .map(str::to_string)
}

/// `e` and its sources ("error sending request: connection refused"), since reqwest's own
/// message alone rarely says what happened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::backend::fake_http::{FakeHttp, Reply};
    use crate::backend::testing::sample_result;
    use crate::interview::EndReason;

    const TOKEN: &str = "s3cret-token-value";

    fn options(url: String) -> BackendOptions {
        BackendOptions {
            url,
            token: Some(Secret::new(TOKEN)),
            retry: RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
            },
            ..BackendOptions::default()
        }
    }

    fn client(url: String) -> BackendClient {
        BackendClient::new(options(url)).unwrap()
    }

    fn application_json() -> serde_json::Value {
        json!({"data": {"application": {
            "id": "app-1",
            "candidate": {"name": "Ana", "email": null, "phone": "+49 1"},
            "job": {"title": "Rust Engineer", "description": null, "questions": ["Why Rust?"],
                    "language": "fr"},
            "settings": {"voiceGender": "MALE", "maxDurationSeconds": 900}
        }}})
    }

    #[test]
    fn defaults_and_invalid_options() {
        let o = BackendOptions::default();
        assert_eq!(o.timeout, Duration::from_secs(10));
        assert_eq!(o.connect_timeout, Duration::from_secs(3));
        assert_eq!(o.retry.max_attempts, 3);
        assert_eq!(o.retry.backoff(1), Duration::from_millis(200));
        assert_eq!(o.retry.backoff(2), Duration::from_millis(400));
        assert_eq!(o.retry.backoff(5), Duration::from_secs(2));
        for bad in ["", "not a url", "ftp://example.com/graphql"] {
            let e = BackendClient::new(options(bad.into())).unwrap_err();
            assert!(matches!(e, BackendError::Config(_)), "{bad}: {e}");
            assert!(!e.is_retryable());
        }
    }

    #[test]
    fn the_token_never_prints() {
        let o = options("http://127.0.0.1:1/graphql".into());
        let c = BackendClient::new(o.clone()).unwrap();
        for text in [format!("{o:?}"), format!("{c:?}")] {
            assert!(!text.contains(TOKEN), "{text}");
            assert!(text.contains("<redacted>"));
        }
    }

    // HTTP fake: checks the request itself (method, headers, GraphQL body).
    #[tokio::test]
    async fn posts_the_operation_with_the_bearer_token() {
        let fake = FakeHttp::start(vec![Reply::json(200, application_json())]).await;
        let app = client(fake.url()).application("app-1").await.unwrap();
        assert_eq!(app.candidate.phone.as_deref(), Some("+49 1"));
        assert_eq!(app.job.language().code(), "fr");
        assert_eq!(app.settings.max_duration, Duration::from_secs(900));
        let reqs = fake.requests();
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body = r.json();
        assert_eq!(body["operationName"], "ApplicationQuery");
        assert_eq!(body["variables"], json!({"id": "app-1"}));
        assert!(body["query"]
            .as_str()
            .unwrap()
            .contains("query ApplicationQuery($id: ID!)"));

        // No token (or an empty one): no Authorization header.
        for token in [None, Some(Secret::new(""))] {
            let fake = FakeHttp::start(vec![Reply::json(200, application_json())]).await;
            let c = BackendClient::new(BackendOptions {
                token,
                ..options(fake.url())
            })
            .unwrap();
            c.application("app-1").await.unwrap();
            assert_eq!(fake.requests()[0].header("authorization"), None);
        }
    }

    #[tokio::test]
    async fn save_sends_the_result_input() {
        let fake = FakeHttp::start(vec![Reply::json(
            200,
            json!({"data": {"saveInterviewResult": {"resultId": "r-9", "duplicate": true}}}),
        )])
        .await;
        let r = sample_result(Some(EndReason::Silence));
        let out = client(fake.url()).save_result(&r).await.unwrap();
        assert_eq!(
            out,
            SaveOutcome {
                result_id: "r-9".into(),
                duplicate: true
            }
        );
        let body = fake.requests()[0].json();
        assert_eq!(body["operationName"], "SaveInterviewResult");
        let input = &body["variables"]["input"];
        assert_eq!(input["idempotencyKey"], r.idempotency_key.as_str());
        assert_eq!(input["endReason"], "silence");
        assert_eq!(input["startedAt"], "2026-11-21T09:30:00.123Z");
        assert_eq!(input["partial"], false);
    }

    // HTTP fake: a 503 the real backend only gives when it is broken.
    #[tokio::test]
    async fn retries_503_then_succeeds() {
        let fake = FakeHttp::start(vec![
            Reply::text(503, "maintenance"),
            Reply::json(200, application_json()),
        ])
        .await;
        let app = client(fake.url()).application("app-1").await.unwrap();
        assert_eq!(app.id, "app-1");
        assert_eq!(fake.requests().len(), 2);
    }

    #[tokio::test]
    async fn returns_the_last_retryable_error_when_attempts_run_out() {
        let fake = FakeHttp::start(vec![
            Reply::text(502, "bad gateway"),
            Reply::text(429, "slow down"),
            Reply::text(500, "oops"),
        ])
        .await;
        let e = client(fake.url()).application("app-1").await.unwrap_err();
        assert_eq!(
            e,
            BackendError::Status {
                operation: "ApplicationQuery",
                status: 500,
                message: "oops".into()
            }
        );
        assert!(e.is_retryable());
        assert_eq!(fake.requests().len(), 3);
    }

    #[tokio::test]
    async fn does_not_retry_client_errors() {
        let fake = FakeHttp::start(vec![Reply::text(404, "no such route")]).await;
        let e = client(fake.url()).application("app-1").await.unwrap_err();
        assert_eq!(
            e,
            BackendError::Status {
                operation: "ApplicationQuery",
                status: 404,
                message: "no such route".into()
            }
        );
        assert!(!e.is_retryable());
        assert_eq!(fake.requests().len(), 1);

        // The server echoing the token back never puts it into the error.
        for status in [401, 403] {
            let fake =
                FakeHttp::start(vec![Reply::text(status, &format!("bad token {TOKEN}"))]).await;
            let e = client(fake.url()).application("app-1").await.unwrap_err();
            assert_eq!(
                e,
                BackendError::Unauthorized {
                    operation: "ApplicationQuery",
                    status
                }
            );
            assert!(!e.to_string().contains(TOKEN));
            assert!(!format!("{e:?}").contains(TOKEN));
            assert_eq!(fake.requests().len(), 1);
        }
        let fake = FakeHttp::start(vec![Reply::text(400, &format!("token {TOKEN} is odd"))]).await;
        let e = client(fake.url()).application("app-1").await.unwrap_err();
        assert!(!e.to_string().contains(TOKEN), "{e}");
    }

    #[tokio::test]
    async fn graphql_errors_are_listed_with_their_paths_and_not_retried() {
        let fake = FakeHttp::start(vec![Reply::json(
            200,
            json!({"data": null, "errors": [
                {"message": "boom", "path": ["application", "job", 0, "title"],
                 "extensions": {"code": "INTERNAL"}},
                {"message": "second", "locations": [{"line": 1, "column": 2}]}
            ]}),
        )])
        .await;
        let e = client(fake.url()).application("app-1").await.unwrap_err();
        assert_eq!(
            e,
            BackendError::GraphQl {
                operation: "ApplicationQuery",
                messages: vec!["boom (at application.job.0.title)".into(), "second".into()],
                codes: vec!["INTERNAL".into()],
            }
        );
        assert!(!e.is_retryable());
        assert_eq!(fake.requests().len(), 1);

        // GraphQL over HTTP: a 400 with errors reports the errors.
        let fake = FakeHttp::start(vec![Reply::json(
            400,
            json!({"errors": [{"message": "Unknown argument \"x\""}]}),
        )])
        .await;
        let e = client(fake.url()).application("app-1").await.unwrap_err();
        assert!(
            matches!(&e, BackendError::GraphQl { messages, .. }
                if messages == &["Unknown argument \"x\""]),
            "{e}"
        );
    }

    #[tokio::test]
    async fn malformed_answers_are_bad_responses() {
        for reply in [
            Reply::text(200, "<html>hello</html>"),
            Reply::text(200, ""),
            Reply::json(200, json!({})),
            Reply::json(200, json!({"data": null})),
            Reply::json(200, json!({"data": null, "errors": []})),
            Reply::json(200, json!({"data": {"application": {"id": 5}}})),
            Reply::json(200, json!([1, 2])),
        ] {
            let fake = FakeHttp::start(vec![reply.clone()]).await;
            let e = client(fake.url()).application("app-1").await.unwrap_err();
            assert!(
                matches!(e, BackendError::BadResponse { .. }),
                "{reply:?}: {e}"
            );
            assert_eq!(fake.requests().len(), 1, "{reply:?}");
        }
    }

    #[tokio::test]
    async fn unknown_and_invalid_applications() {
        let fake = FakeHttp::start(vec![Reply::json(
            200,
            json!({"data": {"application": null}}),
        )])
        .await;
        let e = client(fake.url()).application("nope").await.unwrap_err();
        assert_eq!(e, BackendError::NotFound("nope".into()));
        let mut app = application_json();
        app["data"]["application"]["settings"]["maxDurationSeconds"] = json!(30);
        let fake = FakeHttp::start(vec![Reply::json(200, app)]).await;
        let e = client(fake.url()).application("app-1").await.unwrap_err();
        assert!(matches!(e, BackendError::InvalidApplication(_)), "{e}");
    }

    // HTTP fake: connections that break or hang, which a real backend does only when broken.
    #[tokio::test]
    async fn dropped_connections_are_retried() {
        let fake = FakeHttp::start(vec![Reply::Close, Reply::json(200, application_json())]).await;
        client(fake.url()).application("app-1").await.unwrap();
        assert_eq!(fake.requests().len(), 2);

        let fake = FakeHttp::start(vec![Reply::Close]).await;
        let e = client(fake.url()).application("app-1").await.unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert_eq!(fake.requests().len(), 3);
    }

    #[tokio::test]
    async fn hanging_backends_time_out() {
        let fake = FakeHttp::start(vec![Reply::Hang, Reply::json(200, application_json())]).await;
        // Generous: the retry after the timeout must succeed however busy the machine is.
        let c = BackendClient::new(BackendOptions {
            timeout: Duration::from_secs(2),
            ..options(fake.url())
        })
        .unwrap();
        c.application("app-1").await.unwrap();
        assert_eq!(fake.requests().len(), 2);

        let fake = FakeHttp::start(vec![Reply::Hang]).await;
        let c = BackendClient::new(BackendOptions {
            timeout: Duration::from_millis(100),
            retry: RetryPolicy::none(),
            ..options(fake.url())
        })
        .unwrap();
        let e = c.application("app-1").await.unwrap_err();
        assert_eq!(
            e,
            BackendError::Timeout {
                operation: "ApplicationQuery",
                after: Duration::from_millis(100)
            }
        );
        assert!(e.is_retryable());
    }

    #[tokio::test]
    async fn refused_connections_are_retryable() {
        // A port that was just free: nothing listens there.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e = client(format!("http://{addr}/graphql"))
            .application("app-1")
            .await
            .unwrap_err();
        assert!(matches!(e, BackendError::Connect { .. }), "{e}");
        assert!(e.is_retryable());
        assert!(!e.to_string().contains(TOKEN));
    }
}
