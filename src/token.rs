//! Minting LiveKit access tokens from the API key and secret.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};

use crate::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot sign access token: {0}")]
    Sign(String),
    #[error("{0} must not be empty")]
    Empty(&'static str),
}

/// A token that lets `identity` join `room`, publish, subscribe and publish data.
pub fn join_token(
    api_key: &str,
    api_secret: &Secret,
    room: &str,
    identity: &str,
    name: Option<&str>,
    ttl: Duration,
) -> Result<String, TokenError> {
    if room.trim().is_empty() {
        return Err(TokenError::Empty("room"));
    }
    if identity.trim().is_empty() {
        return Err(TokenError::Empty("identity"));
    }
    let grants = VideoGrants {
        room_join: true,
        room: room.to_string(),
        can_publish: Some(true),
        can_subscribe: Some(true),
        can_publish_data: Some(true),
        can_update_own_metadata: Some(true),
        ..Default::default()
    };
    AccessToken::with_api_key(api_key, api_secret.expose())
        .with_identity(identity)
        .with_name(name.unwrap_or(identity))
        .with_ttl(ttl)
        .with_grants(grants)
        .to_jwt()
        // The underlying error text never includes the secret, but keep it short anyway.
        .map_err(|e| TokenError::Sign(crate::telemetry::redact(&e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::TokenVerifier;

    #[test]
    fn minted_token_verifies_with_the_same_secret_only() {
        let secret = Secret::new("s3cret-s3cret-s3cret-s3cret-s3cret");
        let jwt = join_token(
            "key",
            &secret,
            "interview-1",
            "cand",
            None,
            Duration::from_secs(60),
        )
        .unwrap();
        let claims = TokenVerifier::with_api_key("key", secret.expose())
            .verify(&jwt)
            .unwrap();
        assert_eq!(claims.sub, "cand");
        assert!(claims.video.room_join);
        assert_eq!(claims.video.room, "interview-1");
        assert!(
            TokenVerifier::with_api_key("key", "other-secret-other-secret")
                .verify(&jwt)
                .is_err()
        );
        assert!(matches!(
            join_token("key", &secret, "", "x", None, Duration::from_secs(1)),
            Err(TokenError::Empty("room"))
        ));
    }
}
