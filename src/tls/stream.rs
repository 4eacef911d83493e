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
//! holding no lock, then takes `conn` for a moment. Records rustls wants
//! to send on its own (an alert, a key update) are written by the reader
//! when `send` is free and otherwise leave with the next write.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, TryLockError};
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
/// `timeout` (applied as the socket's read and write timeouts, which are
/// cleared afterwards); `peer` names the other side in errors and logs.
pub(crate) fn handshake(
    mut conn: Connection,
    sock: TcpStream,
    timeout: Duration,
    peer: &str,
) -> Result<TlsStream, TlsError> {
    // Records are taken out at once after each write: no limit needed.
    conn.set_buffer_limit(None);
    let deadline = Instant::now() + timeout;
    let timed_out = || TlsError::Timeout {
        peer: peer.to_owned(),
        after: timeout,
    };
    let failed = |e: io::Error| classify(e, peer);
    while conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        sock.set_read_timeout(Some(left)).map_err(failed)?;
        sock.set_write_timeout(Some(left)).map_err(failed)?;
        match conn.complete_io(&mut &sock) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Err(TlsError::Handshake {
                    peer: peer.to_owned(),
                    message: "no progress".into(),
                })
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed(e)),
        }
    }
    // What the handshake left to send (the client's Finished, tickets).
    while conn.wants_write() {
        conn.write_tls(&mut &sock).map_err(failed)?;
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
    let n = state.plaintext_bytes_to_read();
    if n > 0 {
        plain.resize(n, 0);
        conn.reader().read_exact(&mut plain).map_err(failed)?;
    }
    let eof = state.peer_has_closed();
    Ok(TlsStream {
        session: Arc::new(Session {
            conn: Mutex::new(conn),
            send: Mutex::new(Vec::new()),
        }),
        sock,
        raw: Vec::new(),
        plain,
        pos: 0,
        eof,
        error: None,
    })
}

/// A handshake's I/O error as a [`TlsError`]: rustls' own error when there
/// is one.
fn classify(e: io::Error, peer: &str) -> TlsError {
    let peer = peer.to_owned();
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(r @ rustls::Error::InvalidCertificate(_)) => TlsError::Certificate {
            peer,
            message: r.to_string(),
        },
        Some(r) => TlsError::Handshake {
            peer,
            message: r.to_string(),
        },
        None if e.kind() == io::ErrorKind::UnexpectedEof => TlsError::Handshake {
            peer,
            message: "connection closed during the handshake".into(),
        },
        None => TlsError::Handshake {
            peer,
            message: e.to_string(),
        },
    }
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

    /// Seals `data` and writes it; see the module's lock discipline.
    pub(crate) fn send(&self, data: &[u8]) -> io::Result<()> {
        let mut out = lock(&self.session.send);
        out.clear();
        {
            let mut conn = lock(&self.session.conn);
            conn.writer().write_all(data)?;
            while conn.wants_write() {
                conn.write_tls(&mut *out)?;
            }
        }
        let r = (&self.sock).write_all(&out);
        if out.capacity() > 4 * RAW_READ {
            *out = Vec::new();
        }
        r
    }

    /// Sends `close_notify` if no other write is under way, waiting at
    /// most a few milliseconds for the socket; never blocks longer.
    pub(crate) fn close_notify(&self) {
        let mut out = match self.session.send.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        out.clear();
        {
            let mut conn = lock(&self.session.conn);
            conn.send_close_notify();
            while conn.wants_write() {
                if conn.write_tls(&mut *out).is_err() {
                    break;
                }
            }
        }
        let _ = self.sock.set_write_timeout(Some(CLOSE_NOTIFY_TIMEOUT));
        let _ = (&self.sock).write_all(&out);
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
            if k > 0 {
                let start = self.plain.len();
                self.plain.resize(start + k, 0);
                if let Err(e) = conn.reader().read_exact(&mut self.plain[start..]) {
                    self.plain.truncate(start);
                    result = Err(e);
                    break;
                }
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
        let wants_write = conn.wants_write();
        drop(conn);
        if wants_write {
            self.flush_queued();
        }
        result.map(|()| ended)
    }

    /// Writes what rustls queued on its own, unless a writer holds `send`
    /// (then it leaves with that writer's next write).
    fn flush_queued(&self) {
        let mut out = match self.session.send.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        out.clear();
        {
            let mut conn = lock(&self.session.conn);
            while conn.wants_write() {
                if conn.write_tls(&mut *out).is_err() {
                    break;
                }
            }
        }
        if let Err(e) = (&self.sock).write_all(&out) {
            log::debug!("TLS: writing a record rustls queued failed: {e}");
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

#[cfg(test)]
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
