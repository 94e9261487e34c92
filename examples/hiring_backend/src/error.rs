//! [`BackendError`]: every failure of the backend, and how it reaches GraphQL clients (the
//! message plus an `extensions.code` a client can match on).

use async_graphql::ErrorExtensions;

/// Everything that can go wrong in the backend. The `Display` text is what a GraphQL client
/// sees as the error message; it never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No application with this id.
    #[error("unknown application: {0}")]
    UnknownApplication(String),
    /// Input that breaks a rule of the API (score range, empty key...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A form's fields that need fixing: (field, message for a person), in form order.
    #[error("invalid input: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<(String, String)>),
    /// The request needs an operator (the API token or a console session).
    #[error("sign in required: send Authorization: Bearer <api token> or sign in to the console")]
    Unauthenticated,
    /// `getRoomToken` with a password that is not the latest room's.
    #[error("wrong password")]
    WrongPassword,
    /// `getRoomToken` after the latest room's password expired.
    #[error("password expired")]
    PasswordExpired,
    /// Too many failed `getRoomToken` attempts for this application in the window.
    #[error("too many attempts, try again later")]
    TooManyAttempts,
    /// `getRoomToken` for an application that has no interview room yet.
    #[error("no interview room for application {0}: create one first")]
    NoRoom(String),
    /// An operation that needs LiveKit settings (API key and secret) ran without them.
    #[error("LiveKit is not configured on this backend: {0}")]
    LiveKitNotConfigured(&'static str),
    /// A LiveKit server API call (RoomService, AgentDispatchService) or token signing failed.
    #[error("LiveKit: {0}")]
    LiveKit(String),
    /// The password could not be delivered to the candidate.
    #[error("password delivery failed: {0}")]
    Notify(String),
    /// SQLite.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// Binding or serving the HTTP listener.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// (De)serializing stored JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// bcrypt hashing or verification.
    #[error("password hashing: {0}")]
    Hash(#[from] bcrypt::BcryptError),
    /// Anything else that should not happen (a panicked worker thread, a poisoned lock).
    #[error("internal error: {0}")]
    Internal(String),
}

impl BackendError {
    /// The `extensions.code` of the GraphQL error.
    pub fn code(&self) -> &'static str {
        match self {
            BackendError::UnknownApplication(_) => "UNKNOWN_APPLICATION",
            BackendError::InvalidInput(_) | BackendError::InvalidFields(_) => "BAD_USER_INPUT",
            BackendError::Unauthenticated => "UNAUTHENTICATED",
            BackendError::WrongPassword => "WRONG_PASSWORD",
            BackendError::PasswordExpired => "PASSWORD_EXPIRED",
            BackendError::TooManyAttempts => "TOO_MANY_ATTEMPTS",
            BackendError::NoRoom(_) => "NO_ROOM",
            BackendError::LiveKitNotConfigured(_) => "LIVEKIT_NOT_CONFIGURED",
            BackendError::LiveKit(_) => "LIVEKIT_ERROR",
            BackendError::Notify(_) => "NOTIFY_FAILED",
            BackendError::Db(_)
            | BackendError::Io(_)
            | BackendError::Json(_)
            | BackendError::Hash(_)
            | BackendError::Internal(_) => "INTERNAL",
        }
    }
}

impl ErrorExtensions for BackendError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| {
            e.set("code", self.code());
            if let BackendError::InvalidFields(fields) = self {
                let list: Vec<async_graphql::Value> = fields
                    .iter()
                    .map(|(f, m)| {
                        let mut o = async_graphql::indexmap::IndexMap::new();
                        o.insert(
                            async_graphql::Name::new("field"),
                            async_graphql::Value::from(f.as_str()),
                        );
                        o.insert(
                            async_graphql::Name::new("message"),
                            async_graphql::Value::from(m.as_str()),
                        );
                        async_graphql::Value::Object(o)
                    })
                    .collect();
                e.set("fields", async_graphql::Value::List(list));
            }
        })
    }
}

/// `Result::map_err` helper for resolvers: a [`BackendError`] as a GraphQL error with a code.
pub(crate) fn gql(e: BackendError) -> async_graphql::Error {
    e.extend()
}
