//! The hiring team's console pages: the application list (`/console`), one application
//! (`/console/applications/{id}`: invitation, live view, scorecard) and signing in and out.
//! A page asked for without an operator session answers 401 with the sign-in page, so nothing
//! about applications is ever sent to someone who is not signed in (the pages' data comes from
//! `/graphql`, which checks the same credentials).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::Web;
use crate::auth::SignInError;

async fn operator_page(web: &Web, headers: &HeaderMap, page: &str) -> Response {
    if web.auth.access(headers).operator {
        return web.files.page(page).await;
    }
    let mut res = web.files.page("login.html").await;
    *res.status_mut() = StatusCode::UNAUTHORIZED;
    res
}

pub(crate) async fn list_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    operator_page(&web, &headers, "console.html").await
}

pub(crate) async fn application_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    operator_page(&web, &headers, "application.html").await
}

pub(crate) async fn login_page(State(web): State<Arc<Web>>) -> Response {
    web.files.page("login.html").await
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    password: String,
}

/// `POST /console/login` `{"password"}` -> 204 with the session cookie, or 401 / 429 / 503
/// with `{"message"}`.
pub(crate) async fn sign_in(State(web): State<Arc<Web>>, body: Option<Json<SignIn>>) -> Response {
    let password = body.map(|Json(b)| b.password).unwrap_or_default();
    match web.auth.sign_in(&password) {
        Ok(id) => {
            tracing::info!("console: operator signed in");
            let mut res = StatusCode::NO_CONTENT.into_response();
            if let Ok(v) = HeaderValue::from_str(&web.auth.cookie(&id)) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => {
            let (status, message) = match e {
                SignInError::Wrong => (StatusCode::UNAUTHORIZED, "That password is not right."),
                SignInError::TooMany => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many wrong passwords: wait a minute and try again.",
                ),
                SignInError::NotConfigured => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The console is off: start the backend with an operator password.",
                ),
            };
            tracing::warn!(?e, "console: sign-in refused");
            (status, Json(json!({ "message": message }))).into_response()
        }
    }
}

pub(crate) async fn sign_out(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    web.auth.sign_out(&headers);
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&web.auth.cookie("")) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
