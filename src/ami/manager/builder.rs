//! [`ManagerBuilder`]: a [`Manager`]'s settings, and how it connects.

use std::time::Duration;

use super::reader::establish;
use super::shared::Pumped;
use super::Manager;
use crate::ami::codec::Limits;
use crate::ami::connection::Connection;
use crate::ami::error::AmiError;
use crate::net::dial::{dial, Deadline, DialError};
use crate::net::transport::Transport;
use crate::reconnect::ReconnectPolicy;
#[cfg(feature = "tls")]
use crate::tls::{Connector, TlsConfig};

/// Settings for a [`Manager`]; start from [`Manager::builder`].
#[derive(Clone, Debug)]
pub struct ManagerBuilder {
    pub(super) addr: String,
    pub(super) connect_timeout: Duration,
    pub(super) action_timeout: Duration,
    pub(super) limits: Limits,
    pub(super) event_queue: usize,
    pub(super) close_timeout: Duration,
    pub(super) keepalive: Option<Duration>,
    pub(super) reconnect: Option<ReconnectPolicy>,
    pub(super) reply_spin: Duration,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<TlsConfig>,
}

impl ManagerBuilder {
    /// Speaks TLS (cargo feature `tls`), verifying the server's certificate
    /// as `config` says: against Mozilla's roots ([`TlsConfig::new`]) or a
    /// private CA ([`TlsConfig::with_ca_pem`]), by default for the host of
    /// the address. Asterisk's AMI over TLS listens on port 5039
    /// (`manager.conf`, `[general]`: `tlsenable=yes`,
    /// `tlsbindaddr=0.0.0.0:5039`, `tlscertfile=…`, `tlsprivatekey=…`);
    /// the address still needs its port, as without TLS.
    ///
    /// The handshake happens in [`ManagerBuilder::connect`], before the
    /// banner, within the connect timeout, and again on every reconnection.
    /// A refused certificate or a wrong name fails with
    /// [`AmiError::Tls`]`(`[`TlsError::Certificate`](crate::tls::TlsError::Certificate)`)`,
    /// another handshake failure with
    /// [`TlsError::Handshake`](crate::tls::TlsError::Handshake), a
    /// handshake that does not finish in time with [`AmiError::Timeout`].
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects again, with backoff, when the connection is lost (not after
    /// `close()` or `logoff()`). Each new connection logs in with the
    /// credentials of the last successful login and replays the `Filter`
    /// and `Events` actions that succeeded; callbacks stay registered.
    /// Callers waiting when the connection was lost get
    /// [`AmiError::Disconnected`] at once, and so do calls made while it is
    /// down. [`Manager::on_connection_state`] tells the application when to
    /// resynchronise. Off by default.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Sends `Ping` every `interval`; a Ping unanswered within the action
    /// timeout ends the connection with
    /// [`DisconnectReason::KeepaliveTimeout`](crate::ami::DisconnectReason::KeepaliveTimeout), so a peer that vanished
    /// without closing is noticed. Off by default.
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = Some(interval).filter(|d| !d.is_zero());
        self
    }

    /// How long to wait for the TCP connection, the TLS handshake if any,
    /// and the banner (default 10 s): one deadline for the three (and for
    /// every address the name resolves to), on each connection and
    /// reconnection.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// How long [`Manager::send_action`] waits for a reply (default 10 s).
    pub fn action_timeout(mut self, t: Duration) -> Self {
        self.action_timeout = t;
        self
    }

    /// Codec limits: line length, message size, header count.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Events queued for the callbacks before the reader stops reading and
    /// lets TCP push back on Asterisk (default 50,000). While a caller waits
    /// for a response the reader never stops, so a callback that sends an
    /// action cannot deadlock.
    pub fn event_queue(mut self, events: usize) -> Self {
        self.event_queue = events.max(1);
        self
    }

    /// How long `close()` waits for queued events to be dispatched before it
    /// leaves the dispatcher to finish on its own (default 5 s).
    pub fn close_timeout(mut self, t: Duration) -> Self {
        self.close_timeout = t;
        self
    }

    /// The longest a caller of [`Manager::send_action`] looks for its
    /// reply, yielding its processor between looks, before it sleeps
    /// (default 200 µs; zero: sleep at once). A sleeping caller costs its
    /// reply a wake-up, and when its processor went idle meanwhile that is
    /// an inter-processor interrupt, tens of µs on a virtual machine: for
    /// the fast replies of a nearby Asterisk, looking is cheaper. How long
    /// is learnt: four times the running mean of how long replies take,
    /// and not at all while that mean is longer than this limit. Who
    /// looks is measured: a caller that waits alone always may, and
    /// whether all callers may is a running trial of which rule gives the
    /// shorter waits, so looking never crowds out an Asterisk that needs
    /// the processors. Measured on a 2-core VM: one thread sends 1.7× the
    /// actions to a real Asterisk 22 on the same VM; 16 threads send 1.5×
    /// to the load generator of bench/ and as many as before to the real
    /// Asterisk.
    pub fn reply_spin(mut self, budget: Duration) -> Self {
        self.reply_spin = budget;
        self
    }

    /// Connects, reads the banner and starts the reader and dispatcher
    /// threads. Does not log in: register callbacks and subscriptions
    /// first, then call [`Manager::login`]. No event is lost in between:
    /// the dispatcher starts with the first action sent (normally the
    /// login's), so whatever arrives before it, even an event a server
    /// sends ahead of its login reply, waits for the callbacks registered
    /// by then.
    ///
    /// Fails with [`AmiError::Connect`], [`AmiError::BadBanner`],
    /// [`AmiError::Timeout`] (no banner within the connect timeout) or, over
    /// TLS, `AmiError::Tls`.
    pub fn connect(self) -> Result<Manager, AmiError> {
        let dial = Dial {
            addr: self.addr.clone(),
            connect_timeout: self.connect_timeout,
            write_timeout: self.action_timeout,
            reconnect: self.reconnect.clone(),
            #[cfg(feature = "tls")]
            tls: match &self.tls {
                Some(c) => Some(c.connector(crate::tls::host_of(&self.addr))?),
                None => None,
            },
        };
        let mut conn = Connection::with_limits(self.limits);
        conn.set_action_timeout(self.action_timeout);
        conn.set_keepalive(self.keepalive);
        let conn = std::sync::Mutex::new(conn);
        let (mut stream, deadline) = dial.open()?;
        let mut first = Pumped::default();
        let established = establish(&conn, &mut stream, deadline, &mut first);
        if let Err(e) = established {
            stream.close();
            return Err(e);
        }
        Manager::start(self, dial, conn, stream, first)
    }
}

/// Connection settings kept for reconnecting.
#[derive(Clone, Debug)]
pub(crate) struct Dial {
    pub(crate) addr: String,
    pub(crate) connect_timeout: Duration,
    /// The socket's write timeout (the action timeout).
    pub(crate) write_timeout: Duration,
    pub(crate) reconnect: Option<ReconnectPolicy>,
    /// TLS: the client configuration (kept so that a reconnection can
    /// resume the session) and the name to check.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Connector>,
}

impl Dial {
    /// Connects and, over TLS, does the handshake, all within the connect
    /// timeout (one deadline for every address tried and the handshake);
    /// returns that deadline too, for the banner.
    pub(crate) fn open(&self) -> Result<(Transport, Deadline), AmiError> {
        let deadline = Deadline::after(self.connect_timeout);
        let dialled = dial(
            self.addr.as_str(),
            deadline,
            #[cfg(feature = "tls")]
            self.tls.as_ref(),
        );
        match dialled {
            Ok(t) => Ok((t, deadline)),
            Err(DialError::Connect(e)) => Err(AmiError::Connect {
                addr: self.addr.clone(),
                source: std::sync::Arc::new(e),
            }),
            #[cfg(feature = "tls")]
            Err(DialError::Tls(crate::tls::TlsError::Timeout { .. })) => Err(AmiError::Timeout {
                action: "TLS handshake".into(),
                after: self.connect_timeout,
            }),
            #[cfg(feature = "tls")]
            Err(DialError::Tls(e)) => Err(AmiError::Tls(e)),
        }
    }
}
