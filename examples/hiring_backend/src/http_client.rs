//! The outgoing HTTP client (webhook notifier; also handy for tests): reqwest on rustls with
//! the ring provider and the webpki root certificates, the TLS stack livekit-api already
//! builds. reqwest is compiled without a default crypto provider here, so a plain
//! `reqwest::Client::new()` panics; use [`http_client_builder`].

use std::sync::Arc;

use crate::BackendError;

/// A reqwest builder with the TLS backend preconfigured.
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, BackendError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BackendError::Internal(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls))
}

/// A client from [`http_client_builder`] with default settings.
pub fn http_client() -> Result<reqwest::Client, BackendError> {
    http_client_builder()?
        .build()
        .map_err(|e| BackendError::Internal(format!("HTTP client: {e}")))
}
