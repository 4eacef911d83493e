//! [`AmiError`] and [`DisconnectReason`]: what can go wrong talking to AMI.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::codec::{DecodeError, EncodeError};
use super::response::Response;

/// Why a [`crate::ami::Manager`]'s connection ended. Cloned into the error of
/// every caller that was waiting when it happened.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// `close()` was called or the `Manager` was dropped.
    #[error("closed by the client")]
    Closed,
    /// `logoff()` was called and the server said goodbye.
    #[error("logged off")]
    LoggedOff,
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Eof,
    /// A keepalive Ping went unanswered (see
    /// [`crate::ami::ManagerBuilder::keepalive`]).
    #[error("no answer to the keepalive Ping")]
    KeepaliveTimeout,
    /// Reading or writing the socket failed. Over TLS this also carries
    /// the TLS failures met mid-stream: a record that does not decrypt
    /// (bad MAC) or an alert from the peer (`InvalidData` wrapping the
    /// rustls error), and `ConnectionAborted` once a write failed or timed
    /// out part way, which ends the TLS session (the records rustls sealed
    /// cannot be sent again).
    ///
    /// The I/O error is the [`source`](std::error::Error::source) (an
    /// `Arc<io::Error>`), not repeated in the message.
    #[error("connection I/O error")]
    Io(#[source] Arc<io::Error>),
}

/// Errors of the AMI client.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AmiError {
    /// The TCP connection could not be made: the name did not resolve, the
    /// connection was refused (`ConnectionRefused`) or not answered within
    /// the connect timeout (`TimedOut`)…
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address tried.
        addr: String,
        /// What the OS said (the [`source`](std::error::Error::source)).
        #[source]
        source: Arc<io::Error>,
    },
    /// The server did not greet with `Asterisk Call Manager/…`.
    #[error("not an AMI server: {0}")]
    BadBanner(String),
    /// No answer within the time allowed.
    #[error("no response to {action} within {after:?}")]
    Timeout {
        /// The action (or step, such as `banner`) that timed out.
        action: String,
        /// How long the caller waited.
        after: Duration,
    },
    /// The connection is gone; carries the reason, whose message and
    /// source this error shows as its own.
    #[error(transparent)]
    Disconnected(DisconnectReason),
    /// Login was refused (wrong user, secret, or ACL).
    #[error("authentication failed: {message}")]
    Authentication {
        /// The server's `Message:` text.
        message: String,
    },
    /// Asterisk answered `Response: Error`. The whole reply is kept.
    #[error("{} failed: {}", .0.action_name(), .0.message_text().unwrap_or("(no message)"))]
    ActionFailed(Box<Response>),
    /// The action could not be encoded (CR/LF in a header): nothing was
    /// sent. The [`EncodeError`] is the source.
    #[error("invalid action")]
    Encode(#[from] EncodeError),
    /// The reply to this action could not be decoded. The [`DecodeError`]
    /// is the source.
    #[error("malformed reply")]
    Protocol(#[from] DecodeError),
    /// The reply decoded but did not have the shape the typed action expects.
    #[error("unexpected reply to {action}: {reason}")]
    UnexpectedResponse {
        /// The action sent.
        action: String,
        /// What was wrong with the reply.
        reason: String,
        /// The reply itself.
        response: Box<Response>,
    },
    /// Another call is already waiting on this ActionID.
    #[error("ActionID {0:?} is already in use")]
    DuplicateActionId(String),
    /// TLS failed (cargo feature `tls`): the server's certificate was
    /// refused, the handshake failed, or the TLS settings are unusable.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

impl AmiError {
    /// A socket error: the connection is gone.
    pub(crate) fn io(e: io::Error) -> AmiError {
        AmiError::Disconnected(DisconnectReason::Io(Arc::new(e)))
    }

    /// True for errors that mean the connection is gone.
    pub fn is_disconnect(&self) -> bool {
        matches!(self, AmiError::Disconnected(_))
    }

    /// True for a timeout: no response in time ([`AmiError::Timeout`]),
    /// or a connection not answered within the connect timeout
    /// ([`AmiError::Connect`] with an I/O error of kind `TimedOut`).
    pub fn is_timeout(&self) -> bool {
        match self {
            AmiError::Timeout { .. } => true,
            AmiError::Connect { source, .. } => source.kind() == io::ErrorKind::TimedOut,
            _ => false,
        }
    }

    /// The I/O error underneath, for [`AmiError::Connect`], a
    /// [`DisconnectReason::Io`] and a failed TLS handshake: its
    /// [`kind`](io::Error::kind) tells a refused connection
    /// (`ConnectionRefused`) from one that timed out (`TimedOut`) or was
    /// reset (`ConnectionReset`).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            AmiError::Connect { source, .. } => Some(source),
            AmiError::Disconnected(DisconnectReason::Io(e)) => Some(e),
            #[cfg(feature = "tls")]
            AmiError::Tls(crate::tls::TlsError::Handshake { source, .. }) => Some(source),
            _ => None,
        }
    }

    /// The server's reply, for errors that have one.
    pub fn response(&self) -> Option<&Response> {
        match self {
            AmiError::ActionFailed(r) => Some(r),
            AmiError::UnexpectedResponse { response, .. } => Some(response),
            _ => None,
        }
    }
}
