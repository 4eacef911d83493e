//! The reader thread: frames the stream, hands responses to waiting callers
//! and events to the dispatcher.

use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::auth::{LoginStep, LoginSteps};
use super::callbacks::{ConnectionState, Dispatch};
use super::codec::{encode_message, DecodeError, Decoder, Frame};
use super::error::{AmiError, DisconnectReason};
use super::manager::Shared;
use super::manager::{handles, open, read_banner};
use super::message::{Message, MessageKind};
use super::pending::Routed;
use crate::reconnect::{self, Retried};
use crate::transport::Transport;
use crate::ErrorChain;

/// Reads until the connection ends; then, with a reconnect policy, connects
/// again and goes on; otherwise fails every waiting caller and stops.
pub(crate) fn run_reader(
    shared: Arc<Shared>,
    mut stream: Transport,
    mut decoder: Decoder,
    tx: Sender<Vec<Dispatch>>,
) {
    let mut reader = Reader {
        shared: &shared,
        tx,
        batch: Vec::with_capacity(256),
    };
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        let reason = read_connection(&mut reader, &mut stream, &mut decoder, &mut buf);
        let reason = if shared.keepalive_failed.swap(false, Ordering::AcqRel) {
            DisconnectReason::KeepaliveTimeout
        } else if shared.logging_off.load(Ordering::Acquire) {
            DisconnectReason::LoggedOff
        } else if shared.closing.load(Ordering::Acquire) {
            DisconnectReason::Closed
        } else {
            reason
        };
        if let Err(e) = decoder.finish() {
            // A caller waiting for the cut message gets the disconnect
            // error; the bytes themselves go to the decode-error callbacks.
            log::warn!("AMI connection ended: {}", ErrorChain(&e));
            reader.batch.push(Dispatch::Error(e));
        }
        log::debug!("AMI connection ends: {}", ErrorChain(&reason));
        shared.pending.close(reason.clone());
        reader
            .batch
            .push(Dispatch::State(ConnectionState::Lost(reason.clone())));
        reader.flush();
        let again = shared.dial.reconnect.is_some()
            && !matches!(
                reason,
                DisconnectReason::Closed | DisconnectReason::LoggedOff
            );
        if !again {
            break;
        }
        match reconnect(&mut reader) {
            Some((s, d)) => {
                stream = s;
                decoder = d;
                shared.pending.set_up();
                reader
                    .batch
                    .push(Dispatch::State(ConnectionState::Reconnected));
                reader.flush();
            }
            None => break,
        }
    }
    shared.booted.notify();
    shared.side_tx.lock().take();
    // Dropping `reader` drops the dispatcher's sender: it finishes the
    // queued events and stops.
}

/// Reads one connection until it ends; answers why.
fn read_connection(
    reader: &mut Reader<'_>,
    stream: &mut Transport,
    decoder: &mut Decoder,
    buf: &mut [u8],
) -> DisconnectReason {
    // Frames already buffered while the banner (and login) were read.
    reader.drain(decoder);
    reader.flush();
    loop {
        match stream.read(buf) {
            Ok(0) => return DisconnectReason::Eof,
            Ok(n) => {
                decoder.feed(&buf[..n]);
                reader.drain(decoder);
                reader.flush();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return DisconnectReason::Io(Arc::new(e)),
        }
    }
}

/// Connects again with backoff, logs in, replays filters. `None` once the
/// manager closes or the policy gives up.
fn reconnect(reader: &mut Reader<'_>) -> Option<(Transport, Decoder)> {
    let shared = reader.shared;
    let policy = shared.dial.reconnect.clone()?;
    match reconnect::retry(&policy, &shared.interrupt, "AMI", || connect_again(reader)) {
        Retried::Connected(conn, attempt) => {
            log::info!(
                "AMI reconnected to {} (attempt {attempt})",
                shared.dial.addr
            );
            Some(conn)
        }
        Retried::GaveUp(attempts) => {
            log::error!("AMI: giving up reconnecting after {attempts} attempts");
            None
        }
        Retried::Closed => None,
    }
}

/// One attempt: connect, banner, login, replay; the new socket is put in
/// place for writers and `close`. Once it is, a failure shuts it down:
/// the handles given out must not keep it (or its TLS session) open.
fn connect_again(reader: &mut Reader<'_>) -> Result<(Transport, Decoder), AmiError> {
    let shared = reader.shared;
    let dial = &shared.dial;
    let (mut stream, deadline) = open(dial)?;
    let (banner, mut decoder) = read_banner(&mut stream, dial, deadline)?;
    let (writer, socket) = handles(&stream, dial.write_timeout)?;
    {
        // Under the lock `close` takes: a close that came meanwhile wins.
        let mut current = shared.socket.lock();
        if shared.closing.load(Ordering::Acquire) {
            stream.close();
            return Err(AmiError::Disconnected(DisconnectReason::Closed));
        }
        *current = socket;
    }
    *crate::util::lock(&shared.writer) = writer;
    *shared.banner.lock() = banner;
    match log_in_again(reader, &mut stream, &mut decoder) {
        Ok(()) => Ok((stream, decoder)),
        Err(e) => {
            stream.close();
            Err(e)
        }
    }
}

/// The login and replay of [`connect_again`] on the new `stream`.
fn log_in_again(
    reader: &mut Reader<'_>,
    stream: &mut Transport,
    decoder: &mut Decoder,
) -> Result<(), AmiError> {
    let shared = reader.shared;
    let dial = &shared.dial;
    stream
        .set_read_timeout(Some(dial.connect_timeout))
        .map_err(AmiError::io)?;
    let mut hs = Handshake {
        reader,
        stream,
        decoder,
        seq: 0,
    };
    let creds = shared.credentials.lock().clone();
    if let Some((user, secret, method)) = creds {
        // The same steps as the first login (auth::login).
        let (mut steps, mut next) = LoginSteps::start(&user, &secret, method);
        loop {
            let r = hs.exchange(next.to_message())?;
            let success = r
                .response()
                .is_some_and(|v| v.eq_ignore_ascii_case("Success"));
            match steps.answer(success, r.get("Challenge"), r.message_text()) {
                LoginStep::Send(action) => next = action,
                LoginStep::Done(result) => break result?,
            }
        }
    }
    let replay = shared.replay.lock().clone();
    for m in replay {
        let r = hs.exchange(m)?;
        if !r
            .response()
            .is_some_and(|v| v.eq_ignore_ascii_case("Success"))
        {
            log::warn!(
                "AMI: replayed action refused after reconnect: {:?}",
                r.message_text()
            );
        }
    }
    hs.stream.set_read_timeout(None).map_err(AmiError::io)?;
    Ok(())
}

/// The login and replay of a new connection, driven by the reader thread
/// itself (no caller can wait on a reader that is busy here).
struct Handshake<'r, 'a, 's> {
    reader: &'r mut Reader<'a>,
    stream: &'s mut Transport,
    decoder: &'s mut Decoder,
    seq: u64,
}

impl Handshake<'_, '_, '_> {
    /// Sends `action` with an ActionID of its own and reads until its
    /// response; events met on the way are dispatched as usual.
    fn exchange(&mut self, mut action: Message) -> Result<Message, AmiError> {
        self.seq += 1;
        let id = format!("astrix-reconnect-{}-{}", std::process::id(), self.seq);
        action.set("ActionID", &id);
        let mut bytes = Vec::new();
        encode_message(&action, &mut bytes)?;
        let io_err = AmiError::io;
        self.stream.write_all(&bytes).map_err(io_err)?;
        let mut buf = [0u8; 16 * 1024];
        loop {
            loop {
                match self.decoder.decode() {
                    Ok(Some(Frame::Message(m))) => {
                        if !m.is_event() && m.action_id() == Some(id.as_str()) {
                            self.reader.flush();
                            return Ok(m);
                        }
                        self.reader.route(m);
                    }
                    Ok(Some(Frame::Banner(_))) => {}
                    Ok(None) => break,
                    Err(e) => self.reader.refused(e),
                }
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(AmiError::Disconnected(DisconnectReason::Eof)),
                Ok(n) => self.decoder.feed(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
    }
}

struct Reader<'a> {
    shared: &'a Shared,
    tx: Sender<Vec<Dispatch>>,
    batch: Vec<Dispatch>,
}

impl Reader<'_> {
    fn drain(&mut self, decoder: &mut Decoder) {
        loop {
            match decoder.decode() {
                Ok(Some(Frame::Message(m))) => self.route(m),
                Ok(Some(Frame::Banner(b))) => log::debug!("AMI banner again: {b}"),
                Ok(None) => return,
                Err(e) => self.refused(e),
            }
        }
    }

    fn route(&mut self, m: Message) {
        let pending = &self.shared.pending;
        match m.kind() {
            MessageKind::Event => {
                if m.event_name()
                    .is_some_and(|n| n.eq_ignore_ascii_case("FullyBooted"))
                {
                    self.shared.booted.set();
                }
                let m = if pending.waiting() > 0 {
                    match pending.route_event(m) {
                        Routed::Taken => return,
                        Routed::NotMine(m) => m,
                    }
                } else {
                    m
                };
                self.batch.push(Dispatch::Event(m));
            }
            _ => match pending.route_response(m) {
                Routed::Taken => {}
                Routed::NotMine(m) => self.batch.push(Dispatch::Orphan(m)),
            },
        }
    }

    fn refused(&mut self, e: DecodeError) {
        let id = e.partial().and_then(|p| p.action_id()).map(str::to_owned);
        let is_event = e.partial().is_some_and(|p| p.is_event());
        if let (Some(id), false) = (id, is_event) {
            if self
                .shared
                .pending
                .route_error(&id, AmiError::Protocol(e.clone()))
            {
                log::warn!("AMI reply to {id} refused: {}", ErrorChain(&e));
                return;
            }
        }
        self.batch.push(Dispatch::Error(e));
    }

    /// Hands the batch to the dispatcher, holding back while its queue is
    /// full unless a caller waits for a response (then reading must go on,
    /// or a callback that sends an action would deadlock).
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let n = self.batch.len();
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(n.max(16)));
        let q = &self.shared.queue;
        q.queued.fetch_add(n, Ordering::AcqRel);
        if self.tx.send(batch).is_err() {
            q.queued.fetch_sub(n, Ordering::AcqRel);
            log::warn!("AMI dispatcher gone; {n} events not delivered");
            return;
        }
        while q.queued.load(Ordering::Acquire) > q.high_water
            && self.shared.pending.waiting() == 0
            && !self.shared.closing.load(Ordering::Acquire)
        {
            let mut g = q.lock.lock();
            q.reader_waiting.store(true, Ordering::Release);
            q.cond.wait_for(&mut g, Duration::from_millis(20));
            q.reader_waiting.store(false, Ordering::Release);
        }
    }
}
