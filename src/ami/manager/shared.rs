//! What the [`Manager`](super::Manager) handles and its threads share: the
//! [`Connection`] behind a lock, and small types with one owner each for
//! the rest (the socket handles, the dispatcher's queue level, its start
//! gate, `FullyBooted`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};

use super::builder::Dial;
use crate::ami::callbacks::{Callbacks, ConnectionState, Dispatch};
use crate::ami::connection::{Connection, Output};
use crate::ami::error::{AmiError, DisconnectReason};
use crate::ami::response::Response;
use crate::ended::Ended;
use crate::net::transport::Transport;
use crate::reconnect::Interrupt;

/// Where a caller waits for its reply: the tag of its action on the
/// [`Connection`].
pub(crate) type Waiter = super::reply::ReplyTx;

/// The current transport's handles for the other threads: the writer (with
/// a write timeout: a server that stops reading must not hang a caller in
/// write()) and the handle `close` shuts down. Replaced on a reconnect.
pub(crate) struct Link {
    /// A std mutex (see `crate::util::lock`); with the buffer the bytes
    /// taken from the connection are written from.
    writer: std::sync::Mutex<(Transport, Vec<u8>)>,
    socket: Mutex<Transport>,
}

impl Link {
    /// Handles on `stream`.
    pub(crate) fn new(stream: &Transport, write_timeout: Duration) -> Result<Link, AmiError> {
        let (writer, socket) = Self::handles(stream, write_timeout)?;
        Ok(Link {
            writer: std::sync::Mutex::new((writer, Vec::with_capacity(4096))),
            socket: Mutex::new(socket),
        })
    }

    fn handles(
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

    /// Puts a new connection's `stream` in place, unless the manager is
    /// closing (checked under the lock `close` takes: a close that came
    /// meanwhile wins).
    pub(crate) fn replace(
        &self,
        stream: &Transport,
        write_timeout: Duration,
        closing: &AtomicBool,
    ) -> Result<(), AmiError> {
        let (writer, socket) = Self::handles(stream, write_timeout)?;
        {
            let mut current = self.socket.lock();
            if closing.load(Ordering::Acquire) {
                return Err(AmiError::Disconnected(DisconnectReason::Closed));
            }
            *current = socket;
        }
        crate::util::lock(&self.writer).0 = writer;
        Ok(())
    }

    /// Writes what `conn` has to send, unless another thread is writing
    /// (then that thread writes it): the bytes of actions submitted while a
    /// write is under way go out together, in one system call. The writer
    /// looks again after letting go, so no byte is left behind. On failure
    /// the connection is shut down (part of an action may be on the wire:
    /// the stream is no longer in step), and the reader fails every caller.
    pub(crate) fn flush(&self, conn: &std::sync::Mutex<Connection<Waiter>>) {
        loop {
            let mut writer = match self.writer.try_lock() {
                Ok(w) => w,
                Err(std::sync::TryLockError::WouldBlock) => return,
                // A writer panicked: the stream state is still sound.
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            };
            let (stream, buf) = &mut *writer;
            loop {
                buf.clear();
                crate::util::lock(conn).take_transmit(buf);
                if buf.is_empty() {
                    break;
                }
                if let Err(e) = stream.write_all(buf) {
                    log::warn!("AMI write failed, closing the connection: {e}");
                    buf.clear();
                    drop(writer);
                    self.shutdown();
                    return;
                }
            }
            drop(writer);
            if crate::util::lock(conn).transmit().is_empty() {
                return;
            }
        }
    }

    /// Shuts the socket down (wakes the reader). Never blocks.
    pub(crate) fn shutdown(&self) {
        self.socket.lock().shutdown();
    }

    /// Closes: over TLS with a `close_notify` when it can be sent at once;
    /// then as [`Link::shutdown`].
    pub(crate) fn close(&self) {
        self.socket.lock().close();
    }
}

/// How many events wait for the dispatcher; the reader holds back above the
/// high-water mark (and TCP pushes back on Asterisk) unless a caller waits
/// for a response.
pub(crate) struct EventQueue {
    queued: AtomicUsize,
    high_water: usize,
    reader_waiting: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
}

impl EventQueue {
    pub(crate) fn new(high_water: usize) -> Self {
        EventQueue {
            queued: AtomicUsize::new(0),
            high_water,
            reader_waiting: AtomicBool::new(false),
            lock: Mutex::new(()),
            cond: Condvar::new(),
        }
    }

    /// Queues `batch` on `tx`, counting it; false if the dispatcher is gone.
    pub(crate) fn send(&self, tx: &Sender<Vec<Dispatch>>, batch: Vec<Dispatch>) -> bool {
        let n = batch.len();
        self.queued.fetch_add(n, Ordering::AcqRel);
        if tx.send(batch).is_err() {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            log::warn!("AMI dispatcher gone; {n} events not delivered");
            return false;
        }
        true
    }

    /// The dispatcher ran `n` items: wakes a waiting reader once half the
    /// queue is free.
    pub(crate) fn done(&self, n: usize) {
        let left = self.queued.fetch_sub(n, Ordering::AcqRel) - n;
        if left <= self.high_water / 2 && self.reader_waiting.load(Ordering::Acquire) {
            self.cond.notify_one();
        }
    }

    /// Blocks the reader while the queue is over its mark and `hold_back`
    /// says so (no caller waits, the manager is not closing).
    pub(crate) fn wait_for_room(&self, hold_back: impl Fn() -> bool) {
        while self.queued.load(Ordering::Acquire) > self.high_water && hold_back() {
            let mut g = self.lock.lock();
            self.reader_waiting.store(true, Ordering::Release);
            self.cond.wait_for(&mut g, Duration::from_millis(20));
            self.reader_waiting.store(false, Ordering::Release);
        }
    }
}

/// Whether `FullyBooted` has been seen.
#[derive(Default)]
pub(crate) struct Booted {
    seen: Mutex<bool>,
    cond: Condvar,
}

impl Booted {
    pub(crate) fn set(&self) {
        let mut seen = self.seen.lock();
        if !*seen {
            *seen = true;
            self.cond.notify_all();
        }
    }

    /// Wakes the waiters to look at the connection (it ended).
    pub(crate) fn notify(&self) {
        self.cond.notify_all();
    }

    /// Waits until seen (true), `deadline`, or `gone()` says to stop.
    pub(crate) fn wait(&self, deadline: Option<Instant>, gone: impl Fn() -> bool) -> bool {
        let mut seen = self.seen.lock();
        while !*seen {
            if gone() {
                return false;
            }
            match deadline {
                Some(d) => {
                    if self.cond.wait_until(&mut seen, d).timed_out() {
                        return *seen;
                    }
                }
                None => self.cond.wait(&mut seen),
            }
        }
        true
    }
}

/// The dispatcher waits until this opens: at the first action sent (the
/// login, normally), at `close`, or when the reader ends. Events that
/// arrive before it wait in the queue, so callbacks registered before
/// `login` miss none of them.
pub(crate) struct Gate {
    tx: Mutex<Option<Sender<()>>>,
    open: AtomicBool,
}

impl Gate {
    /// A closed gate, and what the dispatcher waits on.
    pub(crate) fn new() -> (Gate, Receiver<()>) {
        let (tx, rx) = crossbeam_channel::bounded(0);
        let gate = Gate {
            tx: Mutex::new(Some(tx)),
            open: AtomicBool::new(false),
        };
        (gate, rx)
    }

    /// Lets the dispatcher start. Cheap once open.
    pub(crate) fn open(&self) {
        if !self.open.load(Ordering::Acquire) {
            drop(self.tx.lock().take());
            self.open.store(true, Ordering::Release);
        }
    }
}

/// What driving the [`Connection`] produced, to be handed out once its lock
/// is released: replies for waiting callers, items for the dispatcher, a
/// close it asked for. (The bytes to write stay in the connection for
/// [`Link::flush`].)
#[derive(Default)]
pub(crate) struct Pumped {
    replies: Vec<(Waiter, Result<Response, AmiError>)>,
    pub(crate) batch: Vec<Dispatch>,
    pub(crate) close: Option<AmiError>,
    pub(crate) restored: bool,
    booted: bool,
}

impl Pumped {
    /// Takes everything `conn` has to hand out.
    pub(crate) fn take(&mut self, conn: &mut Connection<Waiter>) {
        while let Some(o) = conn.poll_output() {
            match o {
                Output::Reply { tag, result, .. } => self.replies.push((tag, result)),
                Output::Event(m) => self.batch.push(Dispatch::Event(m)),
                Output::Orphan(m) => self.batch.push(Dispatch::Orphan(m)),
                Output::ProtocolError(e) => self.batch.push(Dispatch::Error(e)),
                Output::Lost(r) => self.batch.push(Dispatch::State(ConnectionState::Lost(r))),
                Output::Restored => {
                    self.restored = true;
                    self.batch
                        .push(Dispatch::State(ConnectionState::Reconnected));
                }
                Output::Close(e) => self.close = Some(e),
                Output::Connected(_) => {}
                // `Output` is non-exhaustive for users; every variant is
                // handled above.
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
        self.booted = conn.is_fully_booted();
    }

    /// Hands the replies to their callers and marks `FullyBooted`; the
    /// batch, bytes and close stay for the caller.
    pub(crate) fn reply(&mut self, booted: &Booted, wakeups: &super::wake::Wakeups) {
        let mut batch = super::wake::Batch::default();
        for (tx, result) in self.replies.drain(..) {
            // The caller may have given up: nothing happens then.
            tx.send(result, &mut batch);
        }
        wakeups.wake(batch);
        if self.booted {
            booted.set();
        }
    }
}

/// State shared by the handles and the threads.
pub(crate) struct Shared {
    /// The protocol, driven by every thread that has something for it.
    pub(crate) conn: std::sync::Mutex<Connection<Waiter>>,
    pub(crate) link: Link,
    pub(crate) callbacks: Callbacks<super::Manager>,
    pub(crate) queue: EventQueue,
    pub(crate) booted: Booted,
    pub(crate) closing: AtomicBool,
    /// Set when the events end for good (the dispatcher has finished):
    /// `None` after `close`/`logoff`, the reason otherwise.
    pub(crate) ended: Ended<Option<DisconnectReason>>,
    pub(crate) gate: Gate,
    /// Where and how to connect again.
    pub(crate) dial: Dial,
    /// Wakes a reconnect backoff when the manager closes.
    pub(crate) interrupt: Interrupt,
    /// A sender into the dispatcher queue for threads other than the
    /// reader; the reader clears it when it stops so the dispatcher can
    /// finish.
    pub(crate) side_tx: Mutex<Option<Sender<Vec<Dispatch>>>>,
    pub(crate) dispatcher_id: Mutex<Option<ThreadId>>,
    /// Where callers sleep until their replies come.
    pub(crate) wakeups: std::sync::Arc<super::wake::Wakeups>,
    /// How long callers look for their replies before they sleep.
    pub(crate) patience: super::patience::Patience,
}

impl Shared {
    /// The connection, locked.
    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection<Waiter>> {
        crate::util::lock(&self.conn)
    }

    /// Runs `f` on the connection from a thread other than the reader (a
    /// caller, the keepalive timer), then hands out what it produced.
    pub(crate) fn drive<R>(&self, f: impl FnOnce(&mut Connection<Waiter>) -> R) -> R {
        self.drive_then(f, true)
    }

    /// [`Shared::drive`] for a caller submitting its action: the write is
    /// left to the callers on their way back, if any (see
    /// [`Wakeups::returning`](super::wake::Wakeups::returning)).
    pub(crate) fn submit<R>(&self, f: impl FnOnce(&mut Connection<Waiter>) -> R) -> R {
        self.drive_then(f, false)
    }

    /// A caller leaves `call`: the last of those on their way back writes
    /// what the others left.
    pub(crate) fn left(&self, rx: &super::reply::ReplyRx) {
        if rx.leave() && self.wakeups.returned() {
            self.link.flush(&self.conn);
        }
    }

    fn drive_then<R>(&self, f: impl FnOnce(&mut Connection<Waiter>) -> R, always: bool) -> R {
        let mut out = Pumped::default();
        let r = {
            let mut conn = self.conn();
            let r = f(&mut conn);
            out.take(&mut conn);
            r
        };
        out.reply(&self.booted, &self.wakeups);
        if always || self.wakeups.returning() == 0 {
            self.link.flush(&self.conn);
        }
        if out.close.is_some() {
            self.link.shutdown();
        }
        if !out.batch.is_empty() {
            let n = out.batch.len();
            let sent = match &*self.side_tx.lock() {
                Some(tx) => self.queue.send(tx, std::mem::take(&mut out.batch)),
                None => false,
            };
            if !sent {
                log::warn!("{n} AMI messages not delivered: the connection is closed");
            }
        }
        r
    }

    /// Why the connection is down, while it is.
    pub(crate) fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.conn().disconnect_reason().cloned()
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}
