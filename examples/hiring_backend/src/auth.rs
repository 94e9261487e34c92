//! Who is calling: the operator credentials and the console's sessions.
//!
//! - Machines (the interview agent, automation) send `Authorization: Bearer <api token>`.
//! - People sign in to the console with the operator password and get a session cookie
//!   (`hb_session`, `HttpOnly`, `SameSite=Strict`, `Secure` behind https, 8 hours).
//!
//! Either makes a request an operator's. Everything about applications (reading, creating,
//! inviting, results, recordings, the console) needs it; the candidate's page and its password
//! endpoint (and `getRoomToken`) do not. Secrets are compared in constant time; failed
//! sign-ins are limited (5 a minute per backend) so the password cannot be guessed quickly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use rand::RngCore;

use crate::clock::Clock;

pub const SESSION_COOKIE: &str = "hb_session";
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
const LOGIN_FAILURES_PER_MINUTE: usize = 5;

/// What a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    pub operator: bool,
}

/// The configured credentials and the live sessions.
pub struct Auth {
    api_token: Option<String>,
    operator_password: Option<String>,
    clock: Clock,
    /// Session id -> expiry (ms since the epoch).
    sessions: Mutex<HashMap<String, u64>>,
    /// Times of recent failed sign-ins (ms).
    failures: Mutex<Vec<u64>>,
    secure_cookie: bool,
}

/// Compares without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a sign-in failed.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInError {
    Wrong,
    TooMany,
    NotConfigured,
}

impl Auth {
    pub fn new(
        api_token: Option<String>,
        operator_password: Option<String>,
        clock: Clock,
        secure_cookie: bool,
    ) -> Auth {
        Auth {
            api_token: api_token.filter(|t| !t.is_empty()),
            operator_password: operator_password.filter(|p| !p.is_empty()),
            clock,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(Vec::new()),
            secure_cookie,
        }
    }

    /// Whether anyone can sign in to the console.
    pub fn console_enabled(&self) -> bool {
        self.operator_password.is_some()
    }

    /// The access a request's headers give.
    pub fn access(&self, headers: &HeaderMap) -> Access {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let (Some(given), Some(token)) = (bearer, &self.api_token) {
            if constant_time_eq(given.as_bytes(), token.as_bytes()) {
                return Access { operator: true };
            }
        }
        let operator = session_id(headers).is_some_and(|id| self.session_valid(&id));
        Access { operator }
    }

    fn session_valid(&self, id: &str) -> bool {
        let now = self.clock.now_ms();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, exp| *exp > now);
        // Constant time over the candidates: no early exit on a matching prefix.
        sessions.keys().fold(false, |found, k| {
            found | constant_time_eq(k.as_bytes(), id.as_bytes())
        })
    }

    /// Check the operator password; a new session id on success.
    pub fn sign_in(&self, password: &str) -> Result<String, SignInError> {
        let Some(expected) = &self.operator_password else {
            return Err(SignInError::NotConfigured);
        };
        let now = self.clock.now_ms();
        {
            let mut f = lock(&self.failures);
            f.retain(|t| now.saturating_sub(*t) < 60_000);
            if f.len() >= LOGIN_FAILURES_PER_MINUTE {
                return Err(SignInError::TooMany);
            }
        }
        if !constant_time_eq(password.as_bytes(), expected.as_bytes()) {
            lock(&self.failures).push(now);
            return Err(SignInError::Wrong);
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let expires = now.saturating_add(SESSION_TTL.as_millis() as u64);
        lock(&self.sessions).insert(id.clone(), expires);
        Ok(id)
    }

    pub fn sign_out(&self, headers: &HeaderMap) {
        if let Some(id) = session_id(headers) {
            lock(&self.sessions).remove(&id);
        }
    }

    /// `Set-Cookie` for a new session (empty id: clear the cookie).
    pub fn cookie(&self, id: &str) -> String {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let max_age = if id.is_empty() {
            0
        } else {
            SESSION_TTL.as_secs()
        };
        format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        )
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_token_and_session_cookie_make_an_operator() {
        let clock = ManualClock::starting_now();
        let auth = Auth::new(Some("tok".into()), Some("pw".into()), clock.clock(), false);
        assert!(!auth.access(&HeaderMap::new()).operator);
        assert!(
            auth.access(&headers(&[(header::AUTHORIZATION, "Bearer tok")]))
                .operator
        );
        assert!(
            !auth
                .access(&headers(&[(header::AUTHORIZATION, "Bearer tox")]))
                .operator
        );
        assert_eq!(auth.sign_in("nope"), Err(SignInError::Wrong));
        let id = auth.sign_in("pw").unwrap();
        let cookie = format!("other=1; {SESSION_COOKIE}={id}");
        assert!(auth.access(&headers(&[(header::COOKIE, &cookie)])).operator);
        assert!(
            !auth
                .access(&headers(&[(
                    header::COOKIE,
                    &format!("{SESSION_COOKIE}=abc")
                )]))
                .operator
        );
        clock.advance(SESSION_TTL + Duration::from_secs(1));
        assert!(
            !auth.access(&headers(&[(header::COOKIE, &cookie)])).operator,
            "expired"
        );
        assert!(auth.cookie(&id).contains("HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn sign_in_is_rate_limited_and_needs_a_password_configured() {
        let clock = ManualClock::starting_now();
        let auth = Auth::new(None, Some("pw".into()), clock.clock(), true);
        for _ in 0..5 {
            assert_eq!(auth.sign_in("x"), Err(SignInError::Wrong));
        }
        assert_eq!(auth.sign_in("pw"), Err(SignInError::TooMany));
        clock.advance(Duration::from_secs(61));
        assert!(auth.sign_in("pw").is_ok());
        assert!(auth.cookie("x").ends_with("; Secure"));
        let none = Auth::new(None, None, clock.clock(), false);
        assert_eq!(none.sign_in(""), Err(SignInError::NotConfigured));
        assert!(!none.console_enabled());
    }
}
