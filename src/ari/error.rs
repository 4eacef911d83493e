//! The ARI client's errors.

use std::io;
use std::sync::Arc;

use thiserror::Error;

/// Everything an ARI call or the event connection can fail with.
///
/// The error underneath (ureq's, the socket's, rustls'…) is kept as the
/// [`source`](std::error::Error::source) and is not repeated in the
/// message; [`ErrorChain`](crate::ErrorChain) prints both.
/// [`is_timeout`](AriError::is_timeout) and
/// [`io_error`](AriError::io_error) tell a timeout from a refusal.
#[derive(Clone, Debug, Error)]
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
    /// refused, timeout, TLS failure, a response cut short or too large.
    #[error("{method} {path}: request failed")]
    Transport {
        /// The request's method.
        method: &'static str,
        /// The request's path (without the query).
        path: String,
        /// What went wrong: [`ureq::Error::Timeout`] for a timeout,
        /// [`ureq::Error::Io`] with the socket's error (kind
        /// `ConnectionRefused` for a refused connection),
        /// [`ureq::Error::BodyExceedsLimit`]…
        #[source]
        source: Arc<ureq::Error>,
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
    /// The event WebSocket could not be opened, or it failed.
    #[error("ARI WebSocket: {reason}")]
    WebSocket {
        /// What failed: `cannot connect to pbx:8088`, `handshake failed`,
        /// `connection lost`, `closed by Asterisk (1001 Going away)`…
        reason: String,
        /// The cause, when there is one: the socket's I/O error
        /// (`ConnectionRefused`, `TimedOut`, `ConnectionReset`…), or one of
        /// kind `Other` wrapping the [`tungstenite::Error`] of a WebSocket
        /// failure (reach it with [`io::Error::get_ref`]).
        #[source]
        source: Option<Arc<io::Error>>,
    },
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
        source: Option<Arc<::http::uri::InvalidUri>>,
    },
    /// The TLS configuration cannot be used, or the TLS handshake of the
    /// WebSocket failed (certificate refused, wrong name…).
    #[cfg(feature = "tls")]
    #[error(transparent)]
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

    /// True for a timeout: a REST request without an answer in time
    /// ([`ureq::Error::Timeout`]), a WebSocket that did not open or went
    /// silent (an I/O error of kind `TimedOut`), or a TLS handshake that
    /// did not finish in time.
    pub fn is_timeout(&self) -> bool {
        match self {
            AriError::Transport { source, .. } if matches!(**source, ureq::Error::Timeout(_)) => {
                true
            }
            #[cfg(feature = "tls")]
            AriError::Tls(crate::tls::TlsError::Timeout { .. }) => true,
            _ => self.io_error().is_some_and(|e| {
                matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                )
            }),
        }
    }

    /// The socket's I/O error underneath, if any: its
    /// [`kind`](io::Error::kind) tells a refused connection
    /// (`ConnectionRefused`) from a reset one (`ConnectionReset`) or one
    /// that timed out (`TimedOut`).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            AriError::Transport { source, .. } => match &**source {
                ureq::Error::Io(e) => Some(e),
                _ => None,
            },
            AriError::WebSocket { source, .. } => source.as_deref(),
            #[cfg(feature = "tls")]
            AriError::Tls(crate::tls::TlsError::Handshake { source, .. }) => Some(source),
            _ => None,
        }
    }
}
