//! The ARI client's errors.

use thiserror::Error;

/// Everything an ARI call or the event connection can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AriError {
    /// Asterisk answered with an HTTP error status. `message` is Asterisk's
    /// own explanation (the `message` of its `{"message": "…"}` body), or an
    /// excerpt of the body when it was not JSON (a proxy's HTML page, say).
    #[error("{method} {path}: {status} {message}")]
    Status {
        /// The HTTP status: 400 bad parameter, 401 bad credentials, 404 no
        /// such object, 409 object in the wrong state, 422, 500…
        status: u16,
        /// Asterisk's message, or an excerpt of the body.
        message: String,
        /// The request's method.
        method: &'static str,
        /// The request's path (without the query).
        path: String,
    },
    /// The HTTP request could not be made or its answer not read: connection
    /// refused, timeout, TLS failure, a response cut short.
    #[error("{method} {path}: {message}")]
    Transport {
        /// The request's method.
        method: &'static str,
        /// The request's path (without the query).
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A response or event body was not the JSON its model describes.
    #[error("malformed JSON from Asterisk ({context}): {message}; body: {excerpt}")]
    Json {
        /// Where the body came from (a request path or "event").
        context: String,
        /// serde_json's explanation.
        message: String,
        /// The start of the offending body.
        excerpt: String,
    },
    /// The event WebSocket could not be opened or failed.
    #[error("ARI WebSocket: {0}")]
    WebSocket(String),
    /// The URL given to the builder is not a usable `http://` or `https://`
    /// URL (or `https://` without the `tls` feature).
    #[error("invalid ARI URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: &'static str,
        /// The parser's error, when the text is not a URI at all.
        #[source]
        source: Option<std::sync::Arc<::http::uri::InvalidUri>>,
    },
    /// The TLS configuration cannot be used, or the TLS handshake of the
    /// WebSocket failed (certificate refused, wrong name…).
    #[cfg(feature = "tls")]
    #[error("ARI TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// A value that cannot be sent: a header value with CR or LF, say.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The client was closed.
    #[error("the ARI client is closed")]
    Closed,
}

impl AriError {
    /// The HTTP status, if Asterisk answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            AriError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for 404: the channel, bridge, playback… does not exist (any
    /// more).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for 409: the object is in the wrong state for the operation (a
    /// channel not in a Stasis application, say).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// True for 400: a parameter is missing or invalid.
    pub fn is_bad_request(&self) -> bool {
        self.status() == Some(400)
    }

    /// True for 401: wrong username or password.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }
}
