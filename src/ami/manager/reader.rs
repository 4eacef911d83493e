//! The reader thread: feeds the bytes it reads to the [`Connection`] and
//! hands out what comes of them (replies to the waiting callers, the rest
//! to the dispatcher); on a loss, connects again and lets the connection
//! log in and replay on the new transport.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::Sender;

use super::shared::{Pumped, Shared, Waiter};
use crate::ami::callbacks::Dispatch;
use crate::ami::connection::{Connection, Phase};
use crate::ami::error::{AmiError, DisconnectReason};
use crate::net::dial::Deadline;
use crate::net::transport::Transport;
use crate::reconnect::{self, Retried};

/// Reads until the connection ends; then, with a reconnect policy, connects
/// again and goes on; otherwise stops. `first` holds what the first
/// connection's banner came with.
pub(crate) fn run_reader(
    shared: Arc<Shared>,
    mut stream: Transport,
    mut first: Pumped,
    tx: Sender<Vec<Dispatch>>,
) {
    let mut buf = vec![0u8; 128 * 1024];
    deliver(&shared, &tx, &mut first);
    let mut out = first;
    loop {
        let reason = read_connection(&shared, &tx, &mut stream, &mut buf, &mut out);
        let reason = if shared.is_closing() {
            DisconnectReason::Closed
        } else {
            reason
        };
        let reason = {
            let mut conn = shared.conn();
            conn.connection_lost(reason);
            out.take(&mut conn);
            conn.disconnect_reason().cloned()
        };
        log::debug!("AMI connection ends: {reason:?}");
        deliver(&shared, &tx, &mut out);
        let again = shared.dial.reconnect.is_some()
            && !matches!(
                reason,
                Some(DisconnectReason::Closed | DisconnectReason::LoggedOff)
            );
        if !again {
            break;
        }
        match reconnect(&shared, &tx) {
            Some(s) => stream = s,
            None => break,
        }
    }
    shared.booted.notify();
    shared.side_tx.lock().take();
    // Dropping `tx` lets the dispatcher finish the queued events and stop.
}

/// Reads one transport until it ends; answers why.
fn read_connection(
    shared: &Shared,
    tx: &Sender<Vec<Dispatch>>,
    stream: &mut Transport,
    buf: &mut [u8],
    out: &mut Pumped,
) -> DisconnectReason {
    loop {
        match stream.read(buf) {
            Ok(0) => return DisconnectReason::Eof,
            Ok(n) => {
                let now = Instant::now();
                {
                    let mut conn = shared.conn();
                    conn.feed(&buf[..n], now);
                    out.take(&mut conn);
                }
                deliver(shared, tx, out);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return DisconnectReason::Io(Arc::new(e)),
        }
    }
}

/// Hands out what the reader took from the connection: replies first, then
/// bytes to write and a close asked for, then the batch for the
/// dispatcher, holding back while its queue is full unless a caller waits
/// for a response (then reading must go on, or a callback that sends an
/// action would deadlock).
fn deliver(shared: &Shared, tx: &Sender<Vec<Dispatch>>, out: &mut Pumped) {
    out.reply(&shared.booted, &shared.wakeups);
    shared.link.flush(&shared.conn);
    if out.close.take().is_some() {
        shared.link.shutdown();
    }
    if out.batch.is_empty() {
        return;
    }
    let n = out.batch.len();
    let batch = std::mem::replace(&mut out.batch, Vec::with_capacity(n.max(16)));
    if shared.queue.send(tx, batch) {
        shared
            .queue
            .wait_for_room(|| shared.conn().in_flight() == 0 && !shared.is_closing());
    }
}

/// Reads a new transport until the connection is open: its banner, and on a
/// reconnection the login and replay the connection does by itself. The
/// banner must come by `deadline` (the dial's); the login and replay have
/// the connection's own deadlines. What arrives meanwhile is left in `out`.
pub(crate) fn establish(
    conn: &Mutex<Connection<Waiter>>,
    stream: &mut Transport,
    deadline: Deadline,
    out: &mut Pumped,
) -> Result<(), AmiError> {
    let mut buf = [0u8; 16 * 1024];
    let mut transmit = Vec::new();
    let io_err = AmiError::io;
    loop {
        if let Some(e) = out.close.take() {
            return Err(e);
        }
        let (phase, next) = {
            let mut c = crate::util::lock(conn);
            c.take_transmit(&mut transmit);
            (c.phase(), c.poll_timeout())
        };
        stream.write_all(&transmit).map_err(io_err)?;
        transmit.clear();
        let timeout = match phase {
            Phase::Open => break,
            Phase::Banner if deadline.passed() => {
                return Err(AmiError::Timeout {
                    action: "banner".into(),
                    after: deadline.timeout(),
                })
            }
            Phase::Banner => deadline.socket_timeout(),
            _ => next.map(|t| {
                t.saturating_duration_since(Instant::now())
                    .max(std::time::Duration::from_millis(1))
            }),
        };
        stream.set_read_timeout(timeout).map_err(io_err)?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(AmiError::Disconnected(DisconnectReason::Eof)),
            Ok(n) => {
                let mut c = crate::util::lock(conn);
                c.feed(&buf[..n], Instant::now());
                out.take(&mut c);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let mut c = crate::util::lock(conn);
                c.handle_timeout(Instant::now());
                out.take(&mut c);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    stream.set_read_timeout(None).map_err(io_err)
}

/// Connects again with backoff until the connection is restored. `None`
/// once the manager closes or the policy gives up.
fn reconnect(shared: &Shared, tx: &Sender<Vec<Dispatch>>) -> Option<Transport> {
    let policy = shared.dial.reconnect.clone()?;
    match reconnect::retry(&policy, &shared.interrupt, "AMI", || {
        connect_again(shared, tx)
    }) {
        Retried::Connected(stream, attempt) => {
            log::info!(
                "AMI reconnected to {} (attempt {attempt})",
                shared.dial.addr
            );
            Some(stream)
        }
        Retried::GaveUp(attempts) => {
            log::error!("AMI: giving up reconnecting after {attempts} attempts");
            None
        }
        Retried::Closed => None,
    }
}

/// One attempt: connect, then the connection's own banner, login and
/// replay. The new socket is put in place for writers and `close` first;
/// a failure shuts it down, so the handles given out do not keep it (or
/// its TLS session) open.
fn connect_again(shared: &Shared, tx: &Sender<Vec<Dispatch>>) -> Result<Transport, AmiError> {
    let (mut stream, deadline) = shared.dial.open()?;
    if let Err(e) = shared
        .link
        .replace(&stream, shared.dial.write_timeout, &shared.closing)
    {
        stream.close();
        return Err(e);
    }
    shared.conn().connection_made();
    let mut out = Pumped::default();
    let established = establish(&shared.conn, &mut stream, deadline, &mut out);
    // Events that came meanwhile are delivered whatever the outcome.
    out.close = None;
    deliver(shared, tx, &mut out);
    match established {
        Ok(()) => Ok(stream),
        Err(e) => {
            stream.close();
            Err(e)
        }
    }
}
