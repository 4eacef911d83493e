//! The one dialler of AMI and ARI: TCP to every address the name resolves
//! to, then (feature `tls`) the TLS handshake, all under one [`Deadline`]
//! that the protocol's own greeting (AMI's banner, ARI's WebSocket
//! upgrade) goes on spending.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::transport::Transport;

/// One deadline for everything a connection does before it is up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    /// The timeout it was made from, for error messages.
    timeout: Duration,
}

impl Deadline {
    /// `timeout` from now; none if it cannot be represented
    /// (`Duration::MAX`).
    pub(crate) fn after(timeout: Duration) -> Self {
        Deadline {
            at: Instant::now().checked_add(timeout),
            timeout,
        }
    }

    /// What is left: `None` without a deadline, zero once passed.
    pub(crate) fn left(&self) -> Option<Duration> {
        self.at.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether it has passed.
    pub(crate) fn passed(&self) -> bool {
        self.left().is_some_and(|t| t.is_zero())
    }

    /// What is left as a socket timeout: `None` (block) without a deadline,
    /// at least a millisecond (a zero timeout is refused by the OS).
    pub(crate) fn socket_timeout(&self) -> Option<Duration> {
        self.left().map(|t| t.max(Duration::from_millis(1)))
    }

    /// The timeout it was made from.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Why dialling failed.
#[derive(Debug)]
pub(crate) enum DialError {
    /// No address could be connected to (the last error), or the name did
    /// not resolve.
    Connect(io::Error),
    /// The TLS handshake failed, or did not finish by the deadline
    /// ([`TlsError::Timeout`](crate::tls::TlsError::Timeout)).
    #[cfg(feature = "tls")]
    Tls(crate::tls::TlsError),
}

/// Connects to `addr` and, with `tls`, does the handshake, by `deadline`.
/// The socket has `TCP_NODELAY` and no timeouts set.
pub(crate) fn dial(
    addr: impl ToSocketAddrs,
    deadline: Deadline,
    #[cfg(feature = "tls")] tls: Option<&crate::tls::Connector>,
) -> Result<Transport, DialError> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    for a in addr.to_socket_addrs().map_err(DialError::Connect)? {
        let tried = match deadline.left() {
            None => TcpStream::connect(a),
            Some(t) if t.is_zero() => {
                last = io::Error::new(io::ErrorKind::TimedOut, "connect timeout spent");
                break;
            }
            Some(t) => TcpStream::connect_timeout(&a, t),
        };
        match tried {
            Ok(s) => {
                s.set_nodelay(true).map_err(DialError::Connect)?;
                #[cfg(feature = "tls")]
                if let Some(connector) = tls {
                    return secure(connector, s, deadline);
                }
                return Ok(Transport::Plain(s));
            }
            Err(e) => last = e,
        }
    }
    Err(DialError::Connect(last))
}

#[cfg(feature = "tls")]
fn secure(
    connector: &crate::tls::Connector,
    s: TcpStream,
    deadline: Deadline,
) -> Result<Transport, DialError> {
    // Without a deadline, `Duration::MAX` is none for the handshake too;
    // a deadline already spent still gives the handshake a millisecond,
    // so that it fails as a TLS timeout.
    let timeout = deadline.socket_timeout().unwrap_or(Duration::MAX);
    match connector.connect(s, timeout) {
        Ok(t) => Ok(Transport::Tls(t)),
        Err(e) => Err(DialError::Tls(e)),
    }
}
