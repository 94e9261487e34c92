//! The GraphQL backend as the interview's source of applications.

use async_trait::async_trait;

use super::{Applications, LookupError};
use crate::backend::{BackendClient, BackendError};
use crate::interview::Application;

#[async_trait]
impl Applications for BackendClient {
    async fn application(&self, id: &str) -> Result<Application, LookupError> {
        BackendClient::application(self, id)
            .await
            .map_err(|e| match e {
                BackendError::NotFound(id) => LookupError::NotFound(id),
                BackendError::InvalidApplication(m) => LookupError::Invalid(m),
                // Down, refusing our token, or answering nonsense: a technical problem on
                // our side, not a wrong link; the candidate is asked to come back.
                other => LookupError::Unavailable(other.to_string()),
            })
    }
}
