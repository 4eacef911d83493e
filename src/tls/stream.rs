//! [`TlsStream`]: a TLS connection over a `TcpStream` that one thread can
//! read while others write, like a `TcpStream` and its `try_clone`s.
//!
//! Lock discipline. A connection's rustls state sits behind `conn`, which
//! is only ever held for work in memory (feeding received bytes, sealing
//! plaintext, taking the records to send): never across a socket call.
//! `send` orders the socket writes (TLS records must leave in the order
//! they were sealed): a writer takes `send`, then `conn` to seal its
//! plaintext, lets `conn` go and writes the records while holding `send`
//! only. So a reader never waits for a blocked writer: it reads the socket
//! holding no lock, then takes `conn` for a moment.
//!
//! Records rustls queues on its own (an alert, a reply to a key update)
//! are not written by the reader while the connection goes on: they leave
//! with the next write, so the reader never blocks on the socket. When the
//! connection is ending (the peer closed, or what it sent was refused) the
//! reader writes them at once, if no writer holds `send`, waiting at most
//! [`CLOSE_NOTIFY_TIMEOUT`] (the socket's write timeout is then left at
//! that: the connection is over anyway).
//!
//! A failed socket write ends the session. rustls sealed the records (and
//! spent their sequence numbers) before the write; after a write that
//! failed or timed out part way, nothing sent later could be read by the
//! peer. So the socket is shut down both ways (the reader wakes with the
//! end of the stream) and this write and every later one fail with
//! `ConnectionAborted`, carrying the first error's text; never with
//! `WouldBlock` or `TimedOut`, which would invite a retry.

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use rustls::Connection;

use super::TlsError;
use crate::util::lock;

/// Bytes read from the socket in one call.
const RAW_READ: usize = 64 * 1024;

/// How long closing waits to write its `close_notify`.
const CLOSE_NOTIFY_TIMEOUT: Duration = Duration::from_millis(50);

/// The state shared by the handles of one connection.
struct Session {
    /// The rustls state; never held across a socket call.
    conn: Mutex<Connection>,
    /// Orders socket writes; holds the sealed records being written.
    send: Mutex<Vec<u8>>,
    /// Set (to the error's text) once a socket write failed: the session
    /// is over, every write fails.
    dead: OnceLock<String>,
}

/// One handle on a TLS connection. Reading needs `&mut` and belongs to
/// one thread (its buffers are its own); writing (`&self`) may happen from
/// any handle. A handle from [`TlsStream::try_clone`] starts with empty
/// buffers: read from the handle [`handshake`] returned.
pub(crate) struct TlsStream {
    session: Arc<Session>,
    sock: TcpStream,
    /// Raw bytes from the socket (allocated on the first read).
    raw: Vec<u8>,
    /// Plaintext received and not yet returned; `pos` is how far it was.
    plain: Vec<u8>,
    pos: usize,
    /// The peer closed (with or without `close_notify`).
    eof: bool,
    /// An error met after some plaintext: returned once that is read.
    error: Option<io::Error>,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.sock.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

/// Does the handshake of `conn` (client or server) on `sock` within
/// `timeout`, a deadline for the whole handshake (each socket call waits
/// at most what is left of it; the socket's timeouts are cleared
/// afterwards); `peer` names the other side in errors and logs.
pub(crate) fn handshake(
    mut conn: Connection,
    sock: TcpStream,
    timeout: Duration,
    peer: &str,
) -> Result<TlsStream, TlsError> {
    // Records are taken out at once after each write: no limit needed.
    conn.set_buffer_limit(None);
    // No deadline if `timeout` is too large to add.
    let deadline = Instant::now().checked_add(timeout);
    let timed_out = || TlsError::Timeout {
        peer: peer.to_owned(),
        after: timeout,
    };
    let failed = |e: io::Error| classify(e, peer);
    // The socket's timeouts for the next call: what is left, or a timeout.
    let arm = |sock: &TcpStream| -> Result<(), TlsError> {
        let left = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(timed_out());
                }
                Some(left)
            }
            None => None,
        };
        sock.set_read_timeout(left).map_err(failed)?;
        sock.set_write_timeout(left).map_err(failed)
    };
    let io_failed = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out(),
        _ => failed(e),
    };
    while conn.is_handshaking() {
        arm(&sock)?;
        if conn.wants_write() {
            match conn.write_tls(&mut &sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_failed(e)),
            }
            continue;
        }
        match conn.read_tls(&mut &sock) {
            Ok(0) => {
                return Err(closed_early(peer));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_failed(e)),
        }
        if let Err(e) = conn.process_new_packets() {
            // The alert rustls queued for the peer, if it can go at once.
            if conn.wants_write() && arm(&sock).is_ok() {
                let _ = conn.write_tls(&mut &sock);
            }
            return Err(failed(io::Error::new(io::ErrorKind::InvalidData, e)));
        }
    }
    // What the handshake left to send (the client's Finished, tickets).
    while conn.wants_write() {
        arm(&sock)?;
        match conn.write_tls(&mut &sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_failed(e)),
        }
    }
    sock.set_read_timeout(None).map_err(failed)?;
    sock.set_write_timeout(None).map_err(failed)?;
    log::debug!(
        "TLS with {peer}: {:?}, {:?}",
        conn.protocol_version(),
        conn.negotiated_cipher_suite().map(|s| s.suite())
    );
    // Application data that came with the end of the handshake.
    let mut plain = Vec::new();
    let state = conn
        .process_new_packets()
        .map_err(|e| failed(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    take_plaintext(&mut conn, state.plaintext_bytes_to_read(), &mut plain).map_err(failed)?;
    let eof = state.peer_has_closed();
    Ok(TlsStream {
        session: Arc::new(Session {
            conn: Mutex::new(conn),
            send: Mutex::new(Vec::new()),
            dead: OnceLock::new(),
        }),
        sock,
        raw: Vec::new(),
        plain,
        pos: 0,
        eof,
        error: None,
    })
}

/// Appends the `n` bytes of plaintext rustls holds to `plain`, without
/// zero-filling first; on error `plain` is left as it was.
fn take_plaintext(conn: &mut Connection, n: usize, plain: &mut Vec<u8>) -> io::Result<()> {
    let start = plain.len();
    plain.reserve(n);
    let mut reader = conn.reader();
    while plain.len() - start < n {
        let chunk = match reader.fill_buf() {
            Ok(c) if !c.is_empty() => c,
            Ok(_) => {
                plain.truncate(start);
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Err(e) => {
                plain.truncate(start);
                return Err(e);
            }
        };
        let k = chunk.len().min(n - (plain.len() - start));
        plain.extend_from_slice(&chunk[..k]);
        reader.consume(k);
    }
    Ok(())
}

/// Moves every record rustls wants to send into `out`. Writing into a
/// `Vec` does not fail; should it ever, the caller ends the session as
/// for a failed socket write.
fn take_records(conn: &mut Connection, out: &mut Vec<u8>) -> io::Result<()> {
    while conn.wants_write() {
        conn.write_tls(out)?;
    }
    Ok(())
}

/// A handshake's I/O error as a [`TlsError`]: a refused certificate is
/// [`TlsError::Certificate`] with rustls' error, anything else
/// [`TlsError::Handshake`] with the I/O error (which wraps rustls' error
/// when there is one).
fn classify(e: io::Error, peer: &str) -> TlsError {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(r @ rustls::Error::InvalidCertificate(_)) => TlsError::Certificate {
            peer: peer.to_owned(),
            source: r.clone(),
        },
        None if e.kind() == io::ErrorKind::UnexpectedEof => closed_early(peer),
        _ => TlsError::Handshake {
            peer: peer.to_owned(),
            source: Arc::new(e),
        },
    }
}

/// The peer closed the connection before the handshake was done.
fn closed_early(peer: &str) -> TlsError {
    TlsError::Handshake {
        peer: peer.to_owned(),
        source: Arc::new(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed during the handshake",
        )),
    }
}

/// The error of every write once the session is dead.
fn aborted(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        format!("TLS session ended by a failed write: {why}"),
    )
}

impl TlsStream {
    /// Another handle on the same connection (the socket is duplicated).
    pub(crate) fn try_clone(&self) -> io::Result<TlsStream> {
        Ok(TlsStream {
            session: self.session.clone(),
            sock: self.sock.try_clone()?,
            raw: Vec::new(),
            plain: Vec::new(),
            pos: 0,
            eof: false,
            error: None,
        })
    }

    /// The socket underneath (for timeouts and shutdown).
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.sock
    }

    /// Seals `data` and writes it; see the module's lock discipline. A
    /// failure ends the session: `ConnectionAborted`, now and on every
    /// later write.
    pub(crate) fn send(&self, data: &[u8]) -> io::Result<()> {
        let mut out = lock(&self.session.send);
        self.emit(&mut out, None, |conn| conn.writer().write_all(data))
    }

    /// Sends `close_notify` if no other write is under way, waiting at
    /// most a few milliseconds for the socket; never blocks longer.
    pub(crate) fn close_notify(&self) {
        if let Some(mut out) = self.try_send_lock() {
            let _ = self.emit(&mut out, Some(CLOSE_NOTIFY_TIMEOUT), |conn| {
                conn.send_close_notify();
                Ok(())
            });
        }
    }

    /// `send` if no writer holds it, without waiting.
    fn try_send_lock(&self) -> Option<MutexGuard<'_, Vec<u8>>> {
        match self.session.send.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The one way records reach the socket, with `send` held (as `out`):
    /// `seal` works on the rustls state (under `conn`), then every record
    /// rustls wants to send is written, after setting the socket's write
    /// timeout to `timeout` if given. Any failure of the socket write (or
    /// of taking the records) ends the session; see the module doc.
    fn emit(
        &self,
        out: &mut Vec<u8>,
        timeout: Option<Duration>,
        seal: impl FnOnce(&mut Connection) -> io::Result<()>,
    ) -> io::Result<()> {
        if let Some(why) = self.session.dead.get() {
            return Err(aborted(why));
        }
        out.clear();
        let taken = {
            let mut conn = lock(&self.session.conn);
            seal(&mut conn)?;
            take_records(&mut conn, out)
        };
        let mut r = taken;
        if r.is_ok() && !out.is_empty() {
            if let Some(t) = timeout {
                let _ = self.sock.set_write_timeout(Some(t));
            }
            r = (&self.sock).write_all(out);
        }
        if out.capacity() > 4 * RAW_READ {
            *out = Vec::new();
        }
        r.map_err(|e| self.kill(e))
    }

    /// Ends the session after a failed write: the socket is shut down and
    /// the error to return (now and on every later write) is
    /// `ConnectionAborted`.
    fn kill(&self, e: io::Error) -> io::Error {
        let why = self.session.dead.get_or_init(|| e.to_string());
        log::warn!("TLS: a write failed, the session ends: {e}");
        let _ = self.sock.shutdown(Shutdown::Both);
        aborted(why)
    }

    /// Feeds bytes read from the socket (empty: the socket's end) to
    /// rustls and appends the plaintext to `self.plain`; true once the
    /// peer has closed.
    fn absorb(&mut self, n: usize) -> io::Result<bool> {
        let mut data = &self.raw[..n];
        let at_eof = data.is_empty();
        let mut conn = lock(&self.session.conn);
        let mut ended = at_eof;
        let mut result = Ok(());
        loop {
            let read = match conn.read_tls(&mut data) {
                Ok(r) => r,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            let state = match conn.process_new_packets() {
                Ok(s) => s,
                Err(e) => {
                    result = Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    break;
                }
            };
            let k = state.plaintext_bytes_to_read();
            if let Err(e) = take_plaintext(&mut conn, k, &mut self.plain) {
                result = Err(e);
                break;
            }
            if state.peer_has_closed() {
                ended = true;
                break;
            }
            // `read == 0`: the socket's end, or nothing more after a
            // close_notify.
            if read == 0 || data.is_empty() {
                break;
            }
        }
        // Queued records (alerts, key update replies) wait for the next
        // write, unless the connection is ending: see the module doc.
        let flush = conn.wants_write() && (ended || result.is_err());
        drop(conn);
        if flush {
            self.flush_queued();
        }
        result.map(|()| ended)
    }

    /// Writes what rustls queued on its own as the connection ends, unless
    /// a writer holds `send`, waiting at most [`CLOSE_NOTIFY_TIMEOUT`].
    fn flush_queued(&self) {
        if let Some(mut out) = self.try_send_lock() {
            let _ = self.emit(&mut out, Some(CLOSE_NOTIFY_TIMEOUT), |_| Ok(()));
        }
    }
}

impl Read for TlsStream {
    /// Plaintext, as `TcpStream::read`: `Ok(0)` at the end (with or without
    /// the peer's `close_notify`; AMI's framing notices a cut message),
    /// socket errors and timeouts as they come.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.plain.len() {
                let n = buf.len().min(self.plain.len() - self.pos);
                buf[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
                self.pos += n;
                if self.pos == self.plain.len() {
                    self.plain.clear();
                    self.pos = 0;
                }
                return Ok(n);
            }
            if let Some(e) = self.error.take() {
                self.eof = true;
                return Err(e);
            }
            if self.eof || buf.is_empty() {
                return Ok(0);
            }
            if self.raw.is_empty() {
                self.raw = vec![0; RAW_READ];
            }
            // No lock is held while the socket blocks.
            let n = (&self.sock).read(&mut self.raw)?;
            match self.absorb(n) {
                Ok(ended) => self.eof = ended,
                Err(e) if self.plain.is_empty() => {
                    self.eof = true;
                    return Err(e);
                }
                Err(e) => self.error = Some(e),
            }
        }
    }
}

impl Write for TlsStream {
    /// Writes all of `buf` (a TLS write is sealed whole) or fails; see
    /// [`TlsStream::send`].
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;
    use crate::testing::tls_server::ServerTls;
    use crate::tls::TlsConfig;

    const T: Duration = Duration::from_secs(20);
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 128; // 8 MB each way: far more than socket buffers

    /// A TLS pair over loopback: (client, server).
    fn pair() -> (TlsStream, TlsStream) {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let (pem, key) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let server = ServerTls::from_pem(pem.as_bytes(), key.as_bytes()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            server.accept(s, T).unwrap()
        });
        let connector = TlsConfig::with_ca_pem(pem.as_bytes())
            .unwrap()
            .connector("127.0.0.1")
            .unwrap();
        let client = connector
            .connect(TcpStream::connect(addr).unwrap(), T)
            .unwrap();
        let server = accept.join().unwrap();
        for s in [&client, &server] {
            s.tcp().set_read_timeout(Some(T)).unwrap();
            s.tcp().set_write_timeout(Some(T)).unwrap();
        }
        (client, server)
    }

    fn read_n(s: &mut TlsStream, n: usize) -> usize {
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        while got < n {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => {
                    assert!(buf[..k].iter().all(|&b| b == b'x'));
                    got += k;
                }
                Err(e) => panic!("read failed after {got} bytes: {e}"),
            }
        }
        got
    }

    /// The peer sends 8 MB and reads nothing until it has sent them all;
    /// meanwhile our writer is blocked on a full socket. Our reader must go
    /// on (it would deadlock if the writer held the TLS state while
    /// blocked).
    #[test]
    fn a_blocked_writer_does_not_stop_the_reader() {
        let (mut client, mut server) = pair();
        let peer = thread::spawn(move || {
            let chunk = vec![b'x'; CHUNK];
            for _ in 0..CHUNKS {
                server.send(&chunk).unwrap();
            }
            read_n(&mut server, CHUNK * CHUNKS)
        });
        let writer = client.try_clone().unwrap();
        let w = thread::spawn(move || {
            let chunk = vec![b'x'; CHUNK];
            for _ in 0..CHUNKS {
                writer.send(&chunk).unwrap();
            }
        });
        assert_eq!(read_n(&mut client, CHUNK * CHUNKS), CHUNK * CHUNKS);
        w.join().unwrap();
        assert_eq!(peer.join().unwrap(), CHUNK * CHUNKS);
    }

    /// A write that times out part way ends the session: it fails with
    /// `ConnectionAborted` (never a timeout that invites a retry), and so
    /// does every later write.
    #[test]
    fn a_failed_write_ends_the_session() {
        let (client, _server) = pair(); // the server never reads
        client
            .tcp()
            .set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let chunk = vec![b'x'; CHUNK];
        let mut first = None;
        for _ in 0..CHUNKS * 4 {
            if let Err(e) = client.send(&chunk) {
                first = Some(e);
                break;
            }
        }
        let first = first.expect("the socket buffers never filled");
        assert_eq!(first.kind(), io::ErrorKind::ConnectionAborted, "{first}");
        let other = client.try_clone().unwrap();
        for s in [&client, &other] {
            let e = s.send(b"x").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionAborted, "{e}");
        }
        client.close_notify(); // no panic, no wait
    }

    /// A close_notify, a cut without one, and a shutdown from another
    /// handle all end a blocked read with `Ok(0)`.
    #[test]
    fn every_kind_of_end_reads_as_eof() {
        let (mut client, server) = pair();
        server.send(b"xx").unwrap();
        server.close_notify();
        assert_eq!(read_n(&mut client, 3), 2);
        assert_eq!(client.read(&mut [0u8; 8]).unwrap(), 0);

        let (mut client, server) = pair();
        server.send(b"x").unwrap();
        server.tcp().shutdown(std::net::Shutdown::Both).unwrap();
        assert_eq!(read_n(&mut client, 2), 1);

        let (mut client, _server) = pair();
        let other = client.try_clone().unwrap();
        let t = thread::spawn(move || client.read(&mut [0u8; 8]).unwrap());
        thread::sleep(Duration::from_millis(50));
        other.tcp().shutdown(std::net::Shutdown::Both).unwrap();
        assert_eq!(t.join().unwrap(), 0);
    }
}
