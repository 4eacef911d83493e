//! The reader thread: frames the stream, hands responses to waiting callers
//! and events to the dispatcher.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::callbacks::Dispatch;
use super::codec::{DecodeError, Decoder, Frame};
use super::error::{AmiError, DisconnectReason};
use super::manager::Shared;
use super::message::{Message, MessageKind};
use super::pending::Routed;

/// Reads until the connection ends, then fails every waiting caller.
pub(crate) fn run_reader(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    mut decoder: Decoder,
    tx: Sender<Vec<Dispatch>>,
) {
    let mut reader = Reader {
        shared: &shared,
        tx,
        batch: Vec::with_capacity(256),
    };
    // Frames already buffered while the banner was read.
    reader.drain(&mut decoder);
    reader.flush();
    let mut buf = vec![0u8; 128 * 1024];
    let reason = loop {
        match stream.read(&mut buf) {
            Ok(0) => break DisconnectReason::Eof,
            Ok(n) => {
                decoder.feed(&buf[..n]);
                reader.drain(&mut decoder);
                reader.flush();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break DisconnectReason::Io(Arc::new(e)),
        }
    };
    let reason = if shared.keepalive_failed.load(Ordering::Acquire) {
        DisconnectReason::KeepaliveTimeout
    } else if shared.logging_off.load(Ordering::Acquire) {
        DisconnectReason::LoggedOff
    } else if shared.closing.load(Ordering::Acquire) {
        DisconnectReason::Closed
    } else {
        reason
    };
    if let Err(e) = decoder.finish() {
        // A caller waiting for the cut message gets the disconnect error
        // below; the bytes themselves go to the decode-error callbacks.
        log::warn!("AMI connection ended: {e}");
        reader.batch.push(Dispatch::Error(e));
        reader.flush();
    }
    log::debug!("AMI reader stops: {reason}");
    shared.pending.close(reason);
    shared.booted.notify();
    shared.side_tx.lock().take();
    // Dropping `reader` drops the dispatcher's sender: it finishes the
    // queued events and stops.
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
                log::warn!("AMI reply to {id} refused: {e}");
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
