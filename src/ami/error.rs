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
    #[error("connection I/O error: {0}")]
    Io(#[source] Arc<io::Error>),
}

/// Errors of the AMI client.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AmiError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// What the OS said.
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
    /// The connection is gone; carries the reason.
    #[error("disconnected: {0}")]
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
    /// The action could not be encoded (CR/LF in a header): nothing was sent.
    #[error("invalid action: {0}")]
    Encode(#[from] EncodeError),
    /// The reply to this action could not be decoded.
    #[error("malformed reply: {0}")]
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

    /// True for a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, AmiError::Timeout { .. })
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
