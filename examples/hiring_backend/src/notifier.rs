//! Password delivery: how the 6-digit room password reaches the candidate. [`Notifier`] is the
//! configuration (console, webhook, or a channel for tests); [`Delivery`] does the sending.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::BackendError;

/// Where room passwords go.
#[derive(Clone, Default)]
pub enum Notifier {
    /// Print a `NOTIFY application=... room=... password=... link=... expiresAt=...` line on
    /// stdout (demo only: the password is in the output).
    #[default]
    Console,
    /// POST a JSON [`RoomNotification`] (camelCase) to this URL; a non-2xx answer is an error.
    Webhook { url: String },
    /// TEST ONLY: send every notification into a channel (see [`Notifier::channel`]).
    Channel(mpsc::UnboundedSender<RoomNotification>),
}

impl Notifier {
    pub fn webhook(url: impl Into<String>) -> Notifier {
        Notifier::Webhook { url: url.into() }
    }

    /// TEST ONLY: a notifier whose notifications (passwords included) arrive on the receiver.
    pub fn channel() -> (Notifier, mpsc::UnboundedReceiver<RoomNotification>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Notifier::Channel(tx), rx)
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The webhook URL may carry a secret (a token in the query): not shown.
        f.write_str(match self {
            Notifier::Console => "Console",
            Notifier::Webhook { .. } => "Webhook",
            Notifier::Channel(_) => "Channel",
        })
    }
}

/// One room password for one candidate. This is also the webhook notifier's JSON body.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomNotification {
    pub application_id: String,
    pub room_name: String,
    /// 6 digits.
    pub password: String,
    /// The candidate's interview page (`{public_url}/interview/{applicationId}`).
    pub link: String,
    /// RFC 3339.
    pub expires_at: String,
    pub candidate_email: Option<String>,
    pub candidate_phone: Option<String>,
}

impl fmt::Debug for RoomNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomNotification")
            .field("application_id", &self.application_id)
            .field("room_name", &self.room_name)
            .field("password", &"<redacted>")
            .field("link", &self.link)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Sends notifications as configured (holds the HTTP client of the webhook notifier).
pub(crate) struct Delivery {
    notifier: Notifier,
    http: Option<reqwest::Client>,
}

impl Delivery {
    pub(crate) fn new(notifier: Notifier) -> Result<Delivery, BackendError> {
        let http = match notifier {
            Notifier::Webhook { .. } => Some(
                crate::http_client::http_client_builder()?
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| BackendError::Internal(format!("HTTP client: {e}")))?,
            ),
            _ => None,
        };
        Ok(Delivery { notifier, http })
    }

    pub(crate) async fn send(&self, n: &RoomNotification) -> Result<(), BackendError> {
        match &self.notifier {
            Notifier::Console => {
                use std::io::Write;
                let line = format!(
                    "NOTIFY application={} room={} password={} link={} expiresAt={}",
                    n.application_id, n.room_name, n.password, n.link, n.expires_at
                );
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}").and_then(|()| out.flush())?;
                Ok(())
            }
            Notifier::Webhook { url } => {
                let http = self.http.as_ref().ok_or_else(|| {
                    BackendError::Internal("webhook notifier has no client".into())
                })?;
                let res = http
                    .post(url)
                    .json(n)
                    .send()
                    .await
                    // Without the URL: it may carry a secret.
                    .map_err(|e| BackendError::Notify(format!("webhook: {}", e.without_url())))?;
                if !res.status().is_success() {
                    return Err(BackendError::Notify(format!(
                        "webhook answered {}",
                        res.status()
                    )));
                }
                Ok(())
            }
            Notifier::Channel(tx) => tx
                .send(n.clone())
                .map_err(|_| BackendError::Notify("notification channel closed".into())),
        }
    }
}
