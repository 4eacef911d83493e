//! [`Manager`]: a threaded AMI client with blocking actions and event
//! callbacks.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};

use super::action::Action;
use super::auth;
use super::callbacks::{
    run_dispatcher, CallbackId, Callbacks, ConnectionState, Dispatch, ProtocolError,
};
use super::codec::{encode_message, DecodeError, Decoder, Frame, Limits};
use super::error::{AmiError, DisconnectReason};
use super::events::Event;
use super::message::Message;
use super::reader::run_reader;
use super::response::Response;
use crate::ended::Ended;
use crate::ids::ActionId;
use crate::reconnect::{Interrupt, ReconnectPolicy};
use crate::subscription::{self, Subscription};
#[cfg(feature = "tls")]
use crate::tls::{Connector, TlsConfig};
use crate::transport::Transport;
use crate::{ErrorChain, Secret};

/// How to log in; see [`Manager::login_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// Challenge/MD5 when the server offers it, plain otherwise. The default.
    #[default]
    Auto,
    /// Challenge/MD5 only: the secret never crosses the wire.
    Md5,
    /// The secret is sent as is.
    Plain,
}

/// Settings for a [`Manager`]; start from [`Manager::builder`].
#[derive(Clone, Debug)]
pub struct ManagerBuilder {
    addr: String,
    connect_timeout: Duration,
    action_timeout: Duration,
    limits: Limits,
    event_queue: usize,
    close_timeout: Duration,
    keepalive: Option<Duration>,
    reconnect: Option<ReconnectPolicy>,
    #[cfg(feature = "tls")]
    tls: Option<TlsConfig>,
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
    /// [`DisconnectReason::KeepaliveTimeout`], so a peer that vanished
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
            limits: self.limits,
            reconnect: self.reconnect.clone(),
            #[cfg(feature = "tls")]
            tls: match &self.tls {
                Some(c) => Some(c.connector(crate::tls::host_of(&self.addr))?),
                None => None,
            },
        };
        let (mut stream, deadline) = open(&dial)?;
        let (banner, decoder) = read_banner(&mut stream, &dial, deadline)?;
        Manager::start(self, dial, stream, banner, decoder)
    }
}

/// A deadline `timeout` from now; `None` (no deadline) if it cannot be
/// represented, as for `Duration::MAX`.
pub(crate) fn deadline_in(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// What is left until `deadline`: `None` without one, zero once passed.
fn left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Connects to `dial.addr` and, over TLS, does the handshake, all within
/// the connect timeout (one deadline for every address tried and the
/// handshake); returns that deadline too, for the banner.
pub(crate) fn open(dial: &Dial) -> Result<(Transport, Option<Instant>), AmiError> {
    let addr = &dial.addr;
    let deadline = deadline_in(dial.connect_timeout);
    let err = |e: io::Error| AmiError::Connect {
        addr: addr.to_owned(),
        source: Arc::new(e),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing");
    for a in addr.to_socket_addrs().map_err(err)? {
        let tried = match left(deadline) {
            None => TcpStream::connect(a),
            Some(t) if t.is_zero() => {
                last = io::Error::new(io::ErrorKind::TimedOut, "connect timeout spent");
                break;
            }
            Some(t) => TcpStream::connect_timeout(&a, t),
        };
        match tried {
            Ok(s) => {
                s.set_nodelay(true).map_err(err)?;
                return Ok((secure(dial, s, deadline)?, deadline));
            }
            Err(e) => last = e,
        }
    }
    Err(err(last))
}

#[cfg(feature = "tls")]
fn secure(dial: &Dial, s: TcpStream, deadline: Option<Instant>) -> Result<Transport, AmiError> {
    use crate::tls::TlsError;
    let Some(connector) = &dial.tls else {
        return Ok(Transport::Plain(s));
    };
    let timed_out = || AmiError::Timeout {
        action: "TLS handshake".into(),
        after: dial.connect_timeout,
    };
    // Without a deadline, `Duration::MAX` is none for the handshake too.
    let timeout = match left(deadline) {
        None => Duration::MAX,
        Some(t) if t.is_zero() => return Err(timed_out()),
        Some(t) => t,
    };
    match connector.connect(s, timeout) {
        Ok(t) => Ok(Transport::Tls(t)),
        Err(TlsError::Timeout { .. }) => Err(timed_out()),
        Err(e) => Err(AmiError::Tls(e)),
    }
}

#[cfg(not(feature = "tls"))]
fn secure(_dial: &Dial, s: TcpStream, _deadline: Option<Instant>) -> Result<Transport, AmiError> {
    Ok(Transport::Plain(s))
}

/// Reads the banner by `deadline` (the rest of the connect timeout that
/// [`open`] started).
pub(crate) fn read_banner(
    stream: &mut Transport,
    dial: &Dial,
    deadline: Option<Instant>,
) -> Result<(String, Decoder), AmiError> {
    let mut decoder = Decoder::with_limits(dial.limits);
    let mut buf = [0u8; 4096];
    let io_err = AmiError::io;
    loop {
        match decoder.decode() {
            Ok(Some(Frame::Banner(v))) => {
                stream.set_read_timeout(None).map_err(io_err)?;
                return Ok((v, decoder));
            }
            Ok(Some(Frame::Message(_))) => {
                return Err(AmiError::BadBanner("a message before any banner".into()))
            }
            Ok(None) => {}
            Err(DecodeError::BadBanner { line }) => return Err(AmiError::BadBanner(line)),
            Err(e) => return Err(AmiError::BadBanner(e.to_string())),
        }
        let left = left(deadline);
        if left.is_some_and(|t| t.is_zero()) {
            return Err(AmiError::Timeout {
                action: "banner".into(),
                after: dial.connect_timeout,
            });
        }
        stream.set_read_timeout(left).map_err(io_err)?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(AmiError::Disconnected(DisconnectReason::Eof)),
            Ok(n) => decoder.feed(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
}

/// The dispatcher queue's fill level, shared by reader and dispatcher.
pub(crate) struct Queue {
    pub(crate) queued: AtomicUsize,
    pub(crate) high_water: usize,
    pub(crate) reader_waiting: AtomicBool,
    pub(crate) lock: Mutex<()>,
    pub(crate) cond: Condvar,
}

/// Whether `FullyBooted` has been seen.
#[derive(Default)]
pub(crate) struct Booted {
    seen: Mutex<bool>,
    cond: Condvar,
}

impl Booted {
    pub(crate) fn set(&self) {
        *self.seen.lock() = true;
        self.cond.notify_all();
    }
    pub(crate) fn notify(&self) {
        self.cond.notify_all();
    }
}

/// State shared by the handles and the two threads.
pub(crate) struct Shared {
    pub(crate) pending: super::pending::Pending,
    pub(crate) callbacks: Callbacks,
    pub(crate) queue: Queue,
    pub(crate) booted: Booted,
    pub(crate) closing: AtomicBool,
    pub(crate) logging_off: AtomicBool,
    /// Set when the events end for good (the dispatcher has finished):
    /// `None` after `close`/`logoff`, the reason otherwise.
    pub(crate) ended: Ended<Option<DisconnectReason>>,
    /// The dispatcher waits until this sender is dropped: at the first
    /// action sent (the login, normally), at `close`, or when the reader
    /// ends. Events that arrive before it wait in the queue, so callbacks
    /// registered before `login` miss none of them.
    gate: Mutex<Option<Sender<()>>>,
    gate_open: AtomicBool,
    /// A std mutex (see `crate::util::lock`). Replaced on a reconnect.
    pub(crate) writer: std::sync::Mutex<Transport>,
    /// A handle on the current socket, to shut it down from any thread;
    /// replaced on a reconnect (under this lock, which `close` takes too).
    pub(crate) socket: Mutex<Transport>,
    /// The AMI version of the current connection's banner.
    pub(crate) banner: Mutex<String>,
    /// Where and how to connect again.
    pub(crate) dial: Dial,
    /// The last successful login, replayed after a reconnect.
    pub(crate) credentials: Mutex<Option<(String, Secret, AuthMethod)>>,
    /// `Filter` and `Events` actions that succeeded, replayed after a
    /// reconnect.
    pub(crate) replay: Mutex<Vec<Message>>,
    /// Wakes a reconnect backoff when the manager closes.
    pub(crate) interrupt: Interrupt,
    /// A sender into the dispatcher queue for other threads; the reader
    /// clears it when it stops so the dispatcher can finish.
    pub(crate) side_tx: Mutex<Option<Sender<Vec<Dispatch>>>>,
    ids: ActionId,
    dispatcher_id: Mutex<Option<ThreadId>>,
    /// Set when a keepalive Ping went unanswered.
    pub(crate) keepalive_failed: AtomicBool,
}

/// Connection settings kept for reconnecting.
#[derive(Clone, Debug)]
pub(crate) struct Dial {
    pub(crate) addr: String,
    pub(crate) connect_timeout: Duration,
    /// The socket's write timeout (the action timeout).
    pub(crate) write_timeout: Duration,
    pub(crate) limits: Limits,
    pub(crate) reconnect: Option<ReconnectPolicy>,
    /// TLS: the client configuration (kept so that a reconnection can
    /// resume the session) and the name to check.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Connector>,
}

/// The handles the other threads use on a new connection's `stream`: the
/// writer (with the socket's write timeout set to `write_timeout`: a server
/// that stops reading must not hang a caller in write()) and the handle
/// `close` shuts down.
pub(crate) fn handles(
    stream: &Transport,
    write_timeout: Duration,
) -> Result<(Transport, Transport), AmiError> {
    let writer = stream.try_clone().map_err(AmiError::io)?;
    writer
        .set_write_timeout(Some(write_timeout))
        .map_err(AmiError::io)?;
    let socket = stream.try_clone().map_err(AmiError::io)?;
    Ok((writer, socket))
}

impl Shared {
    /// Lets the dispatcher start (see `gate`). Cheap once open.
    pub(crate) fn open_gate(&self) {
        if !self.gate_open.load(Ordering::Acquire) {
            drop(self.gate.lock().take());
            self.gate_open.store(true, Ordering::Release);
        }
    }

    /// Shuts the current socket down (wakes the reader).
    pub(crate) fn shutdown_socket(&self) {
        self.socket.lock().shutdown();
    }

    /// Closes the current connection: over TLS with a `close_notify` when
    /// it can be sent at once; then as [`Shared::shutdown_socket`].
    pub(crate) fn close_socket(&self) {
        self.socket.lock().close();
    }
}

/// The keepalive thread and the sender whose drop stops it.
struct Keepalive {
    thread: JoinHandle<()>,
    _stop: Sender<()>,
}

struct Threads {
    reader: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    dispatcher_done: crossbeam_channel::Receiver<()>,
}

/// Owns the threads; closing happens when the last [`Manager`] clone drops.
struct Inner {
    shared: Arc<Shared>,
    threads: Mutex<Option<Threads>>,
    action_timeout: Duration,
    close_timeout: Duration,
    keepalive: Mutex<Option<Keepalive>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    fn close(&self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.open_gate();
        self.shared.close_socket();
        self.shared.interrupt.interrupt();
        if let Some(k) = self.keepalive.lock().take() {
            let Keepalive { thread: t, _stop } = k;
            drop(_stop);
            // The last handle may be dropped on the keepalive thread itself.
            if t.thread().id() != thread::current().id() && t.join().is_err() {
                log::error!("AMI keepalive thread panicked");
            }
        }
        let Some(t) = self.threads.lock().take() else {
            return;
        };
        if t.reader.join().is_err() {
            log::error!("AMI reader thread panicked");
        }
        let on_dispatcher = *self.shared.dispatcher_id.lock() == Some(thread::current().id());
        if on_dispatcher {
            // Called from a callback: the dispatcher ends on its own once
            // this callback returns.
            return;
        }
        match t.dispatcher_done.recv_timeout(self.close_timeout) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                let _ = t.dispatcher.join();
            }
            Err(RecvTimeoutError::Timeout) => {
                log::warn!(
                    "AMI dispatcher still busy in a callback after close; leaving it to finish"
                )
            }
        }
    }
}

/// A connection to the Asterisk Manager Interface.
///
/// A reader thread frames the stream: a response goes straight to the
/// caller waiting in [`Manager::send_action`] (matched by ActionID); events
/// go to a dispatcher thread that runs the callbacks in order. A callback
/// may call `send_action` without deadlock.
///
/// `Manager` is a cheap handle: clones share the connection. It closes
/// when the last clone is dropped or on [`Manager::close`]. A callback
/// that needs the manager should capture a [`WeakManager`]
/// ([`Manager::downgrade`]); a strong clone inside a callback keeps the
/// connection open until `close()`.
///
/// ```
/// use astrix::ami::{actions::Ping, Manager};
/// use astrix::testing::AmiServer;
///
/// let server = AmiServer::builder().credentials("admin", "wordpass").start()?;
/// let manager = Manager::connect(server.addr())?;
/// manager.on_event("FullyBooted", |e| println!("booted: {:?}", e.get("Status")));
/// manager.login("admin", "wordpass")?;
/// let pong = manager.send_action(&Ping)?;
/// assert!(pong.timestamp.is_some());
/// manager.logoff()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

/// A handle that does not keep the connection open; see
/// [`Manager::downgrade`].
#[derive(Clone)]
pub struct WeakManager {
    inner: Weak<Inner>,
}

impl std::fmt::Debug for WeakManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakManager")
            .field("open", &(self.inner.strong_count() > 0))
            .finish_non_exhaustive()
    }
}

impl WeakManager {
    /// The manager, if it is still open.
    pub fn upgrade(&self) -> Option<Manager> {
        self.inner.upgrade().map(|inner| Manager { inner })
    }
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("banner", &*self.inner.shared.banner.lock())
            .field("closed", &self.inner.shared.pending.closed_reason())
            .finish()
    }
}

impl Manager {
    /// Settings for a connection to `addr` (`host:port`; Asterisk's AMI
    /// listens on 5038, and with TLS, the `tls` feature, on 5039).
    pub fn builder(addr: impl Into<String>) -> ManagerBuilder {
        ManagerBuilder {
            addr: addr.into(),
            connect_timeout: Duration::from_secs(10),
            action_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            event_queue: 50_000,
            close_timeout: Duration::from_secs(5),
            keepalive: None,
            reconnect: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Connects to `addr` with default settings; see [`ManagerBuilder::connect`].
    pub fn connect(addr: impl Into<String>) -> Result<Manager, AmiError> {
        Self::builder(addr).connect()
    }

    fn start(
        cfg: ManagerBuilder,
        dial: Dial,
        stream: Transport,
        banner: String,
        decoder: Decoder,
    ) -> Result<Manager, AmiError> {
        let io_err = AmiError::io;
        let (writer, socket) = handles(&stream, cfg.action_timeout)?;
        let (gate_tx, gate_rx) = bounded::<()>(0);
        let shared = Arc::new(Shared {
            pending: Default::default(),
            callbacks: Default::default(),
            queue: Queue {
                queued: AtomicUsize::new(0),
                high_water: cfg.event_queue,
                reader_waiting: AtomicBool::new(false),
                lock: Mutex::new(()),
                cond: Condvar::new(),
            },
            booted: Booted::default(),
            closing: AtomicBool::new(false),
            logging_off: AtomicBool::new(false),
            ended: Ended::default(),
            gate: Mutex::new(Some(gate_tx)),
            gate_open: AtomicBool::new(false),
            writer: std::sync::Mutex::new(writer),
            side_tx: Mutex::new(None),
            ids: ActionId::new(),
            dispatcher_id: Mutex::new(None),
            keepalive_failed: AtomicBool::new(false),
            socket: Mutex::new(socket),
            banner: Mutex::new(banner),
            dial,
            credentials: Mutex::new(None),
            replay: Mutex::new(Vec::new()),
            interrupt: Interrupt::default(),
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        *shared.side_tx.lock() = Some(tx.clone());
        let (done_tx, done_rx) = bounded(1);
        let d_shared = shared.clone();
        let dispatcher = thread::Builder::new()
            .name("astrix-ami-dispatch".into())
            .spawn(move || {
                *d_shared.dispatcher_id.lock() = Some(thread::current().id());
                let _ = gate_rx.recv();
                let q = &d_shared.queue;
                run_dispatcher(rx, &d_shared.callbacks, |n| {
                    let left = q.queued.fetch_sub(n, Ordering::AcqRel) - n;
                    if left <= q.high_water / 2 && q.reader_waiting.load(Ordering::Acquire) {
                        q.cond.notify_one();
                    }
                });
                // The connection is gone: drop the callbacks so that any
                // manager clone they hold is released, and subscriptions
                // end.
                d_shared.callbacks.clear();
                d_shared
                    .ended
                    .finish(match d_shared.pending.closed_reason() {
                        Some(DisconnectReason::Closed | DisconnectReason::LoggedOff) => None,
                        Some(reason) => Some(reason),
                        None => Some(DisconnectReason::Closed),
                    });
                let _ = done_tx.send(());
            })
            .map_err(io_err)?;
        let r_shared = shared.clone();
        let reader = thread::Builder::new()
            .name("astrix-ami-reader".into())
            .spawn(move || {
                run_reader(r_shared.clone(), stream, decoder, tx);
                // Ended for good: what is queued (the loss at least) is
                // dispatched even if no action was ever sent.
                r_shared.open_gate();
            })
            .map_err(io_err)?;
        let manager = Manager {
            inner: Arc::new(Inner {
                shared,
                threads: Mutex::new(Some(Threads {
                    reader,
                    dispatcher,
                    dispatcher_done: done_rx,
                })),
                action_timeout: cfg.action_timeout,
                close_timeout: cfg.close_timeout,
                keepalive: Mutex::new(None),
            }),
        };
        if let Some(interval) = cfg.keepalive {
            manager.start_keepalive(interval).map_err(io_err)?;
        }
        Ok(manager)
    }

    fn start_keepalive(&self, interval: Duration) -> io::Result<()> {
        let (stop, stopped) = bounded::<()>(0);
        let weak = self.downgrade();
        let thread = thread::Builder::new()
            .name("astrix-ami-keepalive".into())
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let Some(m) = weak.upgrade() else { return };
                let shared = &m.inner.shared;
                if shared.closing.load(Ordering::Acquire) {
                    return;
                }
                if !m.is_connected() {
                    // Down: without a reconnect policy for good.
                    if shared.dial.reconnect.is_none() {
                        return;
                    }
                    continue;
                }
                match m.send_action(&super::actions::Ping) {
                    Err(e) if e.is_timeout() => {
                        log::warn!("AMI keepalive: {}; dropping the connection", ErrorChain(&e));
                        shared.keepalive_failed.store(true, Ordering::Release);
                        shared.shutdown_socket();
                    }
                    Ok(_) | Err(_) => {}
                }
            })?;
        *self.inner.keepalive.lock() = Some(Keepalive {
            thread,
            _stop: stop,
        });
        Ok(())
    }

    /// The AMI version from the banner (`11.0.0` for Asterisk 22).
    pub fn ami_version(&self) -> String {
        self.inner.shared.banner.lock().clone()
    }

    /// Calls `f` when the connection is lost or, with a reconnect policy,
    /// comes back ([`ConnectionState`]), in order with the events.
    pub fn on_connection_state(
        &self,
        f: impl Fn(&ConnectionState) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner.shared.callbacks.on_state(Arc::new(f))
    }

    /// A handle that does not keep the connection open.
    pub fn downgrade(&self) -> WeakManager {
        WeakManager {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Why the connection ended, or `None` while it is up.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.inner.shared.pending.closed_reason()
    }

    /// True while the connection is up.
    pub fn is_connected(&self) -> bool {
        self.disconnect_reason().is_none()
    }

    /// Sends an action and blocks until its reply, the action timeout, or
    /// the end of the connection (then it returns at once with
    /// [`AmiError::Disconnected`]).
    ///
    /// `Response: Error` becomes [`AmiError::ActionFailed`], which keeps the
    /// whole reply. For EventList actions the reply holds the list's events
    /// up to its `…Complete` event.
    pub fn send_action<A: Action>(&self, action: &A) -> Result<A::Output, AmiError> {
        self.send_action_timeout(action, self.inner.action_timeout)
    }

    /// [`Manager::send_action`] with its own timeout.
    pub fn send_action_timeout<A: Action>(
        &self,
        action: &A,
        timeout: Duration,
    ) -> Result<A::Output, AmiError> {
        let response = self.exchange(action, timeout)?;
        if response.is_error() {
            return Err(AmiError::ActionFailed(Box::new(response)));
        }
        let is_events = action.name().eq_ignore_ascii_case("Events");
        if is_events || action.name().eq_ignore_ascii_case("Filter") {
            // Kept for a reconnect: only the last Events mask matters, and
            // a filter added twice is replayed once.
            let mut m = Message::new();
            m.push("Action", action.name());
            action.write_headers(&mut m);
            let mut replay = self.inner.shared.replay.lock();
            if is_events {
                replay.retain(|r| {
                    !r.get("Action")
                        .is_some_and(|a| a.eq_ignore_ascii_case("Events"))
                });
            }
            if !replay.contains(&m) {
                replay.push(m);
            }
        }
        action.parse_response(response)
    }

    /// Sends an action and returns its reply as it is, `Response: Error`
    /// included (for the login steps, which read refusals themselves).
    pub(crate) fn exchange_raw<A: Action>(&self, action: &A) -> Result<Response, AmiError> {
        self.exchange(action, self.inner.action_timeout)
    }

    fn exchange<A: Action>(&self, action: &A, timeout: Duration) -> Result<Response, AmiError> {
        let shared = &self.inner.shared;
        shared.open_gate();
        let id = match action.action_id() {
            Some(id) => id.to_owned(),
            None => shared.ids.next_id(),
        };
        let mut msg = Message::with_capacity(8, 64);
        msg.push("Action", action.name());
        msg.push("ActionID", &id);
        action.write_headers(&mut msg);
        let mut bytes = Vec::with_capacity(msg.text_len() + 64);
        encode_message(&msg, &mut bytes)?;

        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        shared.pending.register(&id, action.expects_list(), tx)?;
        let written = crate::util::lock(&shared.writer).write_all(&bytes);
        if let Err(e) = written {
            shared.pending.cancel(&id);
            // Part of the action may be on the wire: the stream is no
            // longer in step, so the connection ends here for everyone.
            log::warn!("AMI write failed, closing the connection: {e}");
            self.inner.shared.shutdown_socket();
            return Err(AmiError::Disconnected(
                shared
                    .pending
                    .closed_reason()
                    .unwrap_or(DisconnectReason::Io(Arc::new(e))),
            ));
        }
        let to_response = |r: super::pending::Reply| {
            r.map(|(m, events, complete)| Response::with_list(action.name(), m, events, complete))
        };
        match rx.recv_timeout(timeout) {
            Ok(r) => to_response(r),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Some(partial) = shared.pending.cancel(&id) {
                    log::warn!(
                        "{} (ActionID {id}) timed out mid-list; {} messages go to the orphan handler",
                        action.name(),
                        partial.len()
                    );
                    self.requeue_orphans(partial);
                }
                // The reply may have landed between the timeout and the cancel.
                match rx.try_recv() {
                    Ok(r) => to_response(r),
                    Err(_) => Err(AmiError::Timeout {
                        action: action.name().to_owned(),
                        after: timeout,
                    }),
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(AmiError::Disconnected(
                shared
                    .pending
                    .closed_reason()
                    .unwrap_or(DisconnectReason::Closed),
            )),
        }
    }

    /// Hands the messages of a list whose caller gave up to the orphan
    /// callbacks, through the dispatcher.
    fn requeue_orphans(&self, messages: Vec<Message>) {
        let shared = &self.inner.shared;
        let n = messages.len();
        let batch = messages.into_iter().map(Dispatch::Orphan).collect();
        let sent = match &*shared.side_tx.lock() {
            Some(tx) => {
                shared.queue.queued.fetch_add(n, Ordering::AcqRel);
                tx.send(batch).is_ok()
            }
            None => false,
        };
        if !sent {
            log::warn!("{n} messages of an abandoned list not delivered: the connection is closed");
        }
    }

    /// Logs in with Challenge/MD5 when the server offers it, plain
    /// otherwise; see [`Manager::login_with`]. Callbacks and subscriptions
    /// registered before this call see every event since
    /// [`connect`](ManagerBuilder::connect).
    pub fn login(&self, username: &str, secret: impl Into<Secret>) -> Result<(), AmiError> {
        self.login_with(username, &secret.into(), AuthMethod::Auto)
    }

    /// Logs in with the given method. A refused login is
    /// [`AmiError::Authentication`] (Asterisk then closes the connection).
    pub fn login_with(
        &self,
        username: &str,
        secret: &Secret,
        method: AuthMethod,
    ) -> Result<(), AmiError> {
        auth::login(self, username, secret, method)
    }

    pub(crate) fn remember_login(&self, username: &str, secret: &Secret, method: AuthMethod) {
        *self.inner.shared.credentials.lock() = Some((username.to_owned(), secret.clone(), method));
    }

    /// Waits until `FullyBooted` has arrived (Asterisk sends it right after
    /// login once it has started), or `timeout`.
    pub fn wait_fully_booted(&self, timeout: Duration) -> Result<(), AmiError> {
        let b = &self.inner.shared.booted;
        let deadline = deadline_in(timeout);
        let mut seen = b.seen.lock();
        while !*seen {
            if let Some(r) = self.disconnect_reason() {
                return Err(AmiError::Disconnected(r));
            }
            let timed_out = match deadline {
                Some(d) => b.cond.wait_until(&mut seen, d).timed_out(),
                None => {
                    b.cond.wait(&mut seen);
                    false
                }
            };
            if timed_out {
                return Err(AmiError::Timeout {
                    action: "FullyBooted".into(),
                    after: timeout,
                });
            }
        }
        Ok(())
    }

    /// Sends `Logoff`, waits for `Goodbye` (up to the action timeout), then
    /// closes. Never hangs.
    pub fn logoff(&self) -> Result<(), AmiError> {
        self.inner.shared.logging_off.store(true, Ordering::Release);
        let r = self.send_action(&super::actions::Logoff);
        self.close();
        match r {
            Ok(()) | Err(AmiError::Disconnected(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Closes the connection: waiting callers get
    /// [`AmiError::Disconnected`] at once, queued events are still
    /// dispatched (up to the close timeout), and both threads are joined.
    /// Safe to call from a callback and more than once.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Calls `f` for every event called `name` (ASCII case ignored).
    pub fn on_event(&self, name: &str, f: impl Fn(&Message) + Send + Sync + 'static) -> CallbackId {
        self.inner.shared.callbacks.on_name(
            name,
            Arc::new(move |m: &Message| {
                f(m);
                Ok(())
            }),
        )
    }

    /// Calls `f` with every event of type `E`. An event that does not parse
    /// as `E` is reported to the [`Manager::on_protocol_error`] callbacks
    /// (and logged), and still reaches name and catch-all callbacks.
    pub fn on<E: Event>(&self, f: impl Fn(&E) + Send + Sync + 'static) -> CallbackId {
        self.inner.shared.callbacks.on_typed(f)
    }

    /// Calls `f` for every event (pystrix's `''` callback).
    pub fn on_any_event(&self, f: impl Fn(&Message) + Send + Sync + 'static) -> CallbackId {
        self.inner.shared.callbacks.on_any(Arc::new(f))
    }

    /// Calls `f` for every response no caller waits for: an unknown or
    /// late ActionID (pystrix's `None` callback).
    pub fn on_orphan(&self, f: impl Fn(&Message) + Send + Sync + 'static) -> CallbackId {
        self.inner.shared.callbacks.on_orphan(Arc::new(f))
    }

    /// Calls `f` for input that could not be read as intended: a message the
    /// decoder refused (too large, a line without a colon, cut off by the
    /// end of the connection, …) that no caller was waiting for, or an
    /// event that did not parse as the type of a [`Manager::on`] callback.
    pub fn on_protocol_error(
        &self,
        f: impl Fn(&ProtocolError) + Send + Sync + 'static,
    ) -> CallbackId {
        self.inner.shared.callbacks.on_error(Arc::new(f))
    }

    /// Unregisters a callback; false if it was not registered.
    pub fn remove_callback(&self, id: CallbackId) -> bool {
        self.inner.shared.callbacks.remove(id)
    }

    /// Every event as a stream, through a queue of `capacity` events (see
    /// [`Subscription`] for what happens when it is full: nothing is
    /// dropped). Subscribe before [`login`](Manager::login) to see the
    /// events that follow it at once; dropping the subscription
    /// unsubscribes. It ends when the connection ends for good (a
    /// reconnect does not end it).
    ///
    /// ```
    /// use astrix::ami::{actions::Ping, Manager};
    /// use astrix::testing::AmiServer;
    ///
    /// let server = AmiServer::start()?;
    /// let manager = Manager::connect(server.addr())?;
    /// let events = manager.subscribe(1024);
    /// manager.login("admin", "wordpass")?;
    /// let first = events.recv()?;
    /// assert_eq!(first.event_name(), Some("FullyBooted"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(&self, capacity: usize) -> Subscription<Message> {
        let (tx, rx) = subscription::queue(capacity);
        let id = self.on_any_event(move |m| {
            // An error means the subscription was dropped: nothing to do.
            let _ = tx.send(m.clone());
        });
        self.subscription(rx, id)
    }

    /// The events of type `E` as a stream, typed
    /// (`manager.subscribe_to::<Newchannel>(256)`); as
    /// [`subscribe`](Manager::subscribe) otherwise. An event that does not
    /// parse as `E` goes to the [`Manager::on_protocol_error`] callbacks.
    pub fn subscribe_to<E: Event>(&self, capacity: usize) -> Subscription<E> {
        let (tx, rx) = subscription::queue(capacity);
        let id = self.inner.shared.callbacks.on_name(
            E::NAME,
            Arc::new(move |m: &Message| {
                let _ = tx.send(E::from_message(m)?);
                Ok(())
            }),
        );
        self.subscription(rx, id)
    }

    fn subscription<T>(
        &self,
        rx: crossbeam_channel::Receiver<T>,
        id: CallbackId,
    ) -> Subscription<T> {
        let shared = Arc::downgrade(&self.inner.shared);
        Subscription::new(rx, move || {
            if let Some(s) = shared.upgrade() {
                s.callbacks.remove(id);
            }
        })
    }

    /// Blocks until the connection ends for good and its events have been
    /// dispatched: `Ok` after [`close`](Manager::close) or
    /// [`logoff`](Manager::logoff), [`AmiError::Disconnected`] with the
    /// reason when it died (with a reconnect policy: when reconnecting was
    /// given up).
    pub fn wait_closed(&self) -> Result<(), AmiError> {
        let how = self
            .inner
            .shared
            .ended
            .wait(|| self.inner.threads.lock().is_some());
        Self::closed_result(how)
    }

    /// [`wait_closed`](Manager::wait_closed) for at most `timeout`: `None`
    /// if the connection is still open then.
    pub fn wait_closed_timeout(&self, timeout: Duration) -> Option<Result<(), AmiError>> {
        let how = self
            .inner
            .shared
            .ended
            .wait_for(timeout, || self.inner.threads.lock().is_some())?;
        Some(Self::closed_result(how))
    }

    fn closed_result(how: Option<DisconnectReason>) -> Result<(), AmiError> {
        match how {
            None => Ok(()),
            Some(reason) => Err(AmiError::Disconnected(reason)),
        }
    }
}
