//! TEST FIXTURE, not a product: access-token checks for the LiveKit test server
//! (HS256 JWT verified with livekit-api's `TokenVerifier`).

use crate::http::Request;
use livekit_api::access_token::{Claims, TokenVerifier};

/// Extracts the token from `?access_token=` or `Authorization: Bearer`.
pub(crate) fn token_from(req: &Request) -> Option<String> {
    if let Some(t) = req.query.get("access_token").filter(|t| !t.is_empty()) {
        return Some(t.clone());
    }
    req.header("authorization").and_then(|h| {
        let h = h.trim();
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(|t| t.trim().to_string())
    })
}

/// Verifies the token's signature/expiry. The error text never contains the token itself.
pub(crate) fn verify(verifier: &TokenVerifier, token: Option<&str>) -> Result<Claims, String> {
    let token = token.ok_or_else(|| "no authorization token provided".to_string())?;
    verifier
        .verify(token)
        .map_err(|e| format!("invalid authorization token: {e}"))
}

/// Checks the grants needed to join: `video.roomJoin` and a non-empty `video.room`.
pub(crate) fn check_join(claims: &Claims) -> Result<(), String> {
    if !claims.video.room_join {
        return Err("no permissions to access the room (roomJoin grant missing)".into());
    }
    if claims.video.room.is_empty() {
        return Err("no permissions to access the room (room grant missing)".into());
    }
    if claims.sub.is_empty() {
        return Err("token has no identity".into());
    }
    Ok(())
}
