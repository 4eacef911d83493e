//! The intake: connections still reading their `agi_*` environment.
//!
//! A connection is not a call until its environment is whole. Until then
//! it holds no call slot and no thread of its own: one thread
//! (`astrix-fastagi-env`) keeps every such connection on a nonblocking
//! socket and looks at each in turn, at once when it arrives, then ever
//! less often while it sends nothing (1 ms, doubling to 100 ms; any byte
//! received starts over at 1 ms). Bytes are peeked and only whole lines up
//! to the blank line are taken, so that whatever follows the environment
//! (a `HANGUP` line) stays in the socket for the session. Past the
//! environment timeout a connection is closed; at the intake's cap a new
//! connection closes the oldest unfinished one. See docs/DESIGN.md.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::agi::protocol::lines::LineParser;
use crate::agi::{AgiError, EnvParser, Environment};
use crate::util::lock;
use crate::ErrorChain;

use super::{spawn_call, Shared, Throttle};

/// The first wait after a connection had nothing to read.
const FIRST_WAIT: Duration = Duration::from_millis(1);
/// The longest wait between two looks at a silent connection.
const LONGEST_WAIT: Duration = Duration::from_millis(100);
/// Connections due this close to now are looked at in the same round.
const SLACK: Duration = Duration::from_millis(2);
/// Bytes peeked at a time.
const PEEK: usize = 4096;

/// A connection on its way in: accepted, not yet handed to the intake.
pub(super) struct Arrival {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
}

/// A connection reading its environment.
pub(super) struct Pending {
    stream: TcpStream,
    peer: SocketAddr,
    parser: EnvParser,
    /// The unfinished line taken so far.
    line: Vec<u8>,
    deadline: Option<Instant>,
    next: Instant,
    wait: Duration,
}

/// Why a pending connection is dropped.
pub(super) enum Failure {
    Closed,
    Io(io::Error),
    Invalid(AgiError),
}

impl Pending {
    /// `arrival`, on a nonblocking socket, with nothing read yet.
    fn new(arrival: Arrival, config: &super::Config) -> io::Result<Pending> {
        arrival.stream.set_nonblocking(true)?;
        let now = Instant::now();
        Ok(Pending {
            stream: arrival.stream,
            peer: arrival.peer,
            parser: EnvParser::new(config.limits),
            line: Vec::new(),
            deadline: config.environment_timeout.map(|t| now + t),
            next: now,
            wait: FIRST_WAIT,
        })
    }

    /// Takes what has arrived: `Ok(Some(env))` once the environment is
    /// whole, `Ok(None)` when the socket has nothing more for now.
    fn poll(&mut self, scratch: &mut [u8]) -> Result<Option<Environment>, Failure> {
        loop {
            let n = match self.stream.peek(scratch) {
                Ok(0) => return Err(Failure::Closed),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Io(e)),
            };
            self.wait = FIRST_WAIT;
            let (taken, env) = self.take_lines(&scratch[..n])?;
            discard(&mut self.stream, taken, scratch).map_err(Failure::Io)?;
            if env.is_some() {
                return Ok(env);
            }
            if n < scratch.len() {
                return Ok(None);
            }
        }
    }

    /// Feeds the parser the lines of `data` up to the end of the
    /// environment; answers how many bytes it took.
    fn take_lines(&mut self, data: &[u8]) -> Result<(usize, Option<Environment>), Failure> {
        let mut pos = 0;
        while pos < data.len() {
            let Some(nl) = memchr::memchr(b'\n', &data[pos..]) else {
                self.line.extend_from_slice(&data[pos..]);
                LineParser::check_partial(&mut self.parser, self.line.len())
                    .map_err(Failure::Invalid)?;
                return Ok((data.len(), None));
            };
            let end = pos + nl + 1;
            self.line.extend_from_slice(&data[pos..end]);
            pos = end;
            let done = self
                .parser
                .push_line(&self.line)
                .map_err(Failure::Invalid)?;
            self.line.clear();
            if done.is_some() {
                return Ok((pos, done));
            }
        }
        Ok((pos, None))
    }
}

/// Reads (and drops) `n` bytes already seen by a peek.
fn discard(stream: &mut TcpStream, mut n: usize, scratch: &mut [u8]) -> io::Result<()> {
    while n > 0 {
        let want = n.min(scratch.len());
        match stream.read(&mut scratch[..want]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(got) => n -= got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Looks once at `arrival`'s environment on the accepting thread: a real
/// Asterisk sends it in one write right after connecting, so in a burst of
/// calls it is whole by the time the connection is accepted, and the call
/// starts at once. Otherwise the connection goes to the intake thread
/// (started if needed), and counts as reading its environment until the
/// intake is done with it.
pub(super) fn admit(shared: &Arc<Shared>, arrival: Arrival) {
    let peer = arrival.peer;
    let mut pending = match Pending::new(arrival, &shared.config) {
        Ok(p) => p,
        Err(e) => {
            log::warn!("FastAGI {peer}: can't make the socket nonblocking: {e}");
            return;
        }
    };
    let mut scratch = [0u8; PEEK];
    let first = match pending.poll(&mut scratch) {
        Ok(Some(env)) => return hand_over(shared, pending, env),
        Ok(None) => None,
        Err(f) => Some(f),
    };
    shared.count_environment(1);
    let mut intake = lock(&shared.intake);
    let entry = match intake.as_ref() {
        None => (pending, first),
        Some(tx) => match tx.send((pending, first)) {
            Ok(()) => return,
            // The thread is gone (the server stopped).
            Err(e) => e.into_inner(),
        },
    };
    if shared.shutdown.load(Ordering::Acquire) {
        shared.count_environment(-1);
        drop(entry);
        return;
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    let for_thread = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name("astrix-fastagi-env".into())
        .spawn(move || run(&for_thread, &rx));
    match spawned {
        Ok(_) => {
            // The receiver lives on the thread: this send can't fail.
            let _ = tx.send(entry);
            *intake = Some(tx);
        }
        Err(e) => {
            log::error!(
                "FastAGI: can't start the environment thread; closing the connection from {peer}: {e}"
            );
            *intake = None;
            shared.count_environment(-1);
        }
    }
}

/// What the intake thread receives: a connection, and the failure its
/// first look found, if any.
pub(super) type Entry = (Pending, Option<Failure>);

/// The intake thread: until the server stops and the connections accepted
/// before have their environment (or fail).
fn run(shared: &Arc<Shared>, rx: &Receiver<Entry>) {
    let config = &shared.config;
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut scratch = vec![0u8; PEEK];
    let mut evicted = Throttle::default();
    let mut failed = Throttle::default();
    let add = |pending: &mut VecDeque<Pending>,
               (p, first): Entry,
               evicted: &mut Throttle,
               failed: &mut Throttle| {
        if let Some(f) = first {
            return dismiss(shared, p, Some(f), failed);
        }
        if pending.len() >= config.max_pending {
            if let Some(old) = pending.pop_front() {
                let _ = old.stream.shutdown(Shutdown::Both);
                shared.count_environment(-1);
                if let Some(more) = evicted.hit() {
                    log::warn!(
                        "FastAGI: {} connections without a whole environment (the cap); \
                         closed the oldest, from {}{more}",
                        pending.len() + 1,
                        old.peer
                    );
                }
            }
        }
        pending.push_back(p);
    };
    loop {
        // Once stopped, nothing new comes in: the connections accepted
        // before still get their environment read, then the thread ends
        // (under the lock `admit` sends under, so that nothing is left in
        // the channel).
        if pending.is_empty() && shared.shutdown.load(Ordering::Acquire) {
            let mut intake = lock(&shared.intake);
            if rx.is_empty() {
                *intake = None;
                return;
            }
        }
        let now = Instant::now();
        let wait = pending
            .iter()
            .map(|p| p.next.saturating_duration_since(now))
            .min()
            .unwrap_or(LONGEST_WAIT)
            .min(LONGEST_WAIT);
        match rx.recv_timeout(wait) {
            Ok(a) => {
                add(&mut pending, a, &mut evicted, &mut failed);
                while let Ok(a) = rx.try_recv() {
                    add(&mut pending, a, &mut evicted, &mut failed);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        let horizon = now + SLACK;
        let mut i = 0;
        while i < pending.len() {
            let p = &mut pending[i];
            if p.next > horizon {
                i += 1;
                continue;
            }
            let outcome = p.poll(&mut scratch);
            let expired = p.deadline.is_some_and(|d| d <= now);
            let failure = match outcome {
                Ok(None) if !expired => {
                    p.next = now + p.wait;
                    p.wait = (p.wait * 2).min(LONGEST_WAIT);
                    i += 1;
                    continue;
                }
                Ok(Some(env)) => {
                    if let Some(p) = pending.remove(i) {
                        hand_over(shared, p, env);
                    }
                    shared.count_environment(-1);
                    continue;
                }
                Ok(None) => None,
                Err(f) => Some(f),
            };
            let Some(p) = pending.remove(i) else { break };
            dismiss(shared, p, failure, &mut failed);
        }
    }
    // Only when the channel is gone.
    for p in pending {
        let _ = p.stream.shutdown(Shutdown::Both);
        shared.count_environment(-1);
    }
}

/// Closes a connection that brought no valid environment (`None`: none
/// whole within the environment timeout), and says why.
fn dismiss(shared: &Shared, p: Pending, failure: Option<Failure>, failed: &mut Throttle) {
    let _ = p.stream.shutdown(Shutdown::Both);
    shared.count_environment(-1);
    let why = match failure {
        Some(Failure::Closed) => {
            log::debug!("FastAGI {}: closed before its environment", p.peer);
            return;
        }
        Some(Failure::Io(e)) => e.to_string(),
        Some(Failure::Invalid(e)) => ErrorChain(&e).to_string(),
        None => "none whole within the environment timeout".to_owned(),
    };
    match failed.hit() {
        Some(more) => log::warn!("FastAGI {}: no valid environment: {why}{more}", p.peer),
        None => log::debug!("FastAGI {}: no valid environment: {why}", p.peer),
    }
}

/// A whole environment: the connection becomes a call.
fn hand_over(shared: &Arc<Shared>, p: Pending, env: Environment) {
    if let Err(e) = p.stream.set_nonblocking(false) {
        log::warn!(
            "FastAGI {}: can't make the connection blocking: {e}",
            p.peer
        );
        return;
    }
    spawn_call(shared, p.stream, p.peer, env);
}

/// For the builder's default: how many connections may be reading their
/// environment at once.
pub(super) const DEFAULT_MAX_PENDING: usize = 1024;
