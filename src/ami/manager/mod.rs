//! [`Manager`]: a threaded AMI client with blocking actions and event
//! callbacks.

mod builder;
mod handlers;
mod patience;
mod reader;
mod reply;
mod shared;
mod trial;
mod wake;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use parking_lot::Mutex;

pub use super::connection::AuthMethod;
pub use builder::ManagerBuilder;

use super::action::Action;
use super::callbacks::run_dispatcher;
use super::codec::Limits;
use super::connection::Connection;
use super::error::{AmiError, DisconnectReason};
use super::response::Response;
use crate::ended::Ended;
use crate::net::transport::Transport;
use crate::reconnect::Interrupt;
use crate::Secret;
use builder::Dial;
use reader::run_reader;
use shared::{Booted, EventQueue, Gate, Link, Pumped, Shared, Waiter};

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
        self.shared.gate.open();
        self.shared.link.close();
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
/// that needs the manager takes it as its second argument, as pystrix's
/// handlers do ([`Manager::on_event_with`], [`Manager::on_with`],
/// [`Manager::on_any_event_with`], [`Manager::on_orphan_with`]): it is lent
/// for the call, so it never keeps the connection open, which a strong
/// clone captured by a callback would, until `close()`.
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
            .field("banner", &self.inner.shared.conn().banner())
            .field("closed", &self.inner.shared.disconnect_reason())
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
            reply_spin: Duration::from_micros(200),
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
        conn: std::sync::Mutex<Connection<Waiter>>,
        stream: Transport,
        first: Pumped,
    ) -> Result<Manager, AmiError> {
        let io_err = AmiError::io;
        let link = Link::new(&stream, cfg.action_timeout)?;
        let (gate, gate_rx) = Gate::new();
        let shared = Arc::new(Shared {
            conn,
            link,
            callbacks: Default::default(),
            queue: EventQueue::new(cfg.event_queue),
            booted: Booted::default(),
            closing: AtomicBool::new(false),
            ended: Ended::default(),
            gate,
            dial,
            interrupt: Interrupt::default(),
            side_tx: Mutex::new(None),
            dispatcher_id: Mutex::new(None),
            wakeups: Default::default(),
            patience: patience::Patience::new(cfg.reply_spin),
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        *shared.side_tx.lock() = Some(tx.clone());
        let (done_tx, done_rx) = bounded(1);
        let d_shared = shared.clone();
        // The dispatcher lends callbacks the manager, held weakly so that it
        // never keeps the connection open; set once the handle exists.
        let owner: Arc<OnceLock<Weak<Inner>>> = Arc::default();
        let d_owner = owner.clone();
        let dispatcher = thread::Builder::new()
            .name("astrix-ami-dispatch".into())
            .spawn(move || {
                *d_shared.dispatcher_id.lock() = Some(thread::current().id());
                let _ = gate_rx.recv();
                let lend = || {
                    let inner = d_owner.get()?.upgrade()?;
                    Some(Manager { inner })
                };
                run_dispatcher(rx, &d_shared.callbacks, lend, |n| d_shared.queue.done(n));
                // The connection is gone: drop the callbacks so that any
                // manager clone they hold is released, and subscriptions
                // end.
                d_shared.callbacks.clear();
                d_shared.ended.finish(match d_shared.disconnect_reason() {
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
                run_reader(r_shared.clone(), stream, first, tx);
                // Ended for good: what is queued (the loss at least) is
                // dispatched even if no action was ever sent.
                r_shared.gate.open();
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
        let _ = owner.set(Arc::downgrade(&manager.inner));
        if let Some(interval) = cfg.keepalive {
            manager.start_keepalive(interval).map_err(io_err)?;
        }
        Ok(manager)
    }

    /// The keepalive timer: gives the connection the time, which sends the
    /// `Ping` when due and asks for a close when one goes unanswered.
    fn start_keepalive(&self, interval: Duration) -> io::Result<()> {
        let (stop, stopped) = bounded::<()>(0);
        let shared = self.inner.shared.clone();
        let thread = thread::Builder::new()
            .name("astrix-ami-keepalive".into())
            .spawn(move || loop {
                let next = shared.conn().poll_timeout();
                let wait = next
                    .map(|t| t.saturating_duration_since(Instant::now()))
                    .unwrap_or(interval)
                    .min(interval);
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                if shared.is_closing() {
                    return;
                }
                if shared.dial.reconnect.is_none() && shared.disconnect_reason().is_some() {
                    // Down for good.
                    return;
                }
                shared.drive(|c| c.handle_timeout(Instant::now()));
            })?;
        *self.inner.keepalive.lock() = Some(Keepalive {
            thread,
            _stop: stop,
        });
        Ok(())
    }

    /// The AMI version from the banner (`11.0.0` for Asterisk 22).
    pub fn ami_version(&self) -> String {
        let conn = self.inner.shared.conn();
        conn.banner().unwrap_or_default().to_owned()
    }

    /// A handle that does not keep the connection open.
    pub fn downgrade(&self) -> WeakManager {
        WeakManager {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Why the connection ended, or `None` while it is up.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.inner.shared.disconnect_reason()
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
        let response = self.call(action.name(), timeout, |conn, tx, now| {
            conn.send_timeout(action, tx, now, timeout)
        })?;
        action.parse_response(response)
    }

    /// Submits to the connection what `submit` says (an action, a login),
    /// writes it, and waits for its reply until `timeout`, or the end of
    /// the connection.
    fn call(
        &self,
        action: &str,
        timeout: Duration,
        submit: impl FnOnce(&mut Connection<Waiter>, Waiter, Instant) -> Result<String, AmiError>,
    ) -> Result<Response, AmiError> {
        let shared = &self.inner.shared;
        shared.gate.open();
        let (tx, rx) = reply::slot(&shared.wakeups);
        let rx = Leaving(shared, rx);
        shared.submit(|conn| submit(conn, tx, Instant::now()))?;
        let rx = &rx.1;
        let waited = match rx.wait(timeout, &shared.patience) {
            // The connection times the action out (and hands a list's
            // events so far to the orphan handler); the reply may also
            // have landed just now.
            reply::Waited::TimedOut => {
                shared.drive(|conn| conn.handle_timeout(Instant::now()));
                rx.take()
            }
            waited => waited,
        };
        match waited {
            reply::Waited::Done(r) => r,
            reply::Waited::TimedOut => Err(AmiError::Timeout {
                action: action.to_owned(),
                after: timeout,
            }),
            reply::Waited::Dropped => Err(AmiError::Disconnected(
                shared
                    .disconnect_reason()
                    .unwrap_or(DisconnectReason::Closed),
            )),
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
    /// The credentials are kept for a reconnection, which logs in the same
    /// way (see [`Connection::login`](super::Connection::login)).
    pub fn login_with(
        &self,
        username: &str,
        secret: &Secret,
        method: AuthMethod,
    ) -> Result<(), AmiError> {
        let timeout = self.inner.action_timeout;
        self.call("Login", timeout, |conn, tx, now| {
            conn.login(username, secret, method, tx, now)
        })?;
        Ok(())
    }

    /// Waits until `FullyBooted` has arrived (Asterisk sends it right after
    /// login once it has started), or `timeout`.
    pub fn wait_fully_booted(&self, timeout: Duration) -> Result<(), AmiError> {
        let deadline = Instant::now().checked_add(timeout);
        let seen = self
            .inner
            .shared
            .booted
            .wait(deadline, || self.disconnect_reason().is_some());
        if seen {
            return Ok(());
        }
        match self.disconnect_reason() {
            Some(r) => Err(AmiError::Disconnected(r)),
            None => Err(AmiError::Timeout {
                action: "FullyBooted".into(),
                after: timeout,
            }),
        }
    }

    /// Sends `Logoff`, waits for `Goodbye` (up to the action timeout), then
    /// closes. Never hangs.
    pub fn logoff(&self) -> Result<(), AmiError> {
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

/// A caller's reply slot, reported as left when `call` returns, whichever
/// way it returns.
struct Leaving<'a>(&'a Shared, reply::ReplyRx);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.left(&self.1);
    }
}
