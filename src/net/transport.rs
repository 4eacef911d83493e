//! [`Transport`]: the byte stream under a protocol connection, plain TCP or
//! (feature `tls`) TLS, with the `TcpStream` habits the threaded adapters
//! rely on: one handle reads on its own thread, clones write, any clone
//! can shut the connection down to wake the reader.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

#[cfg(feature = "tls")]
use crate::tls::TlsStream;

/// A connection's byte stream.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP; see `crate::tls::TlsStream` for its lock discipline.
    #[cfg(feature = "tls")]
    Tls(TlsStream),
}

impl Transport {
    /// Another handle on the same connection. Read from the original (a
    /// TLS clone starts with empty buffers); write from any.
    pub(crate) fn try_clone(&self) -> io::Result<Transport> {
        Ok(match self {
            Transport::Plain(s) => Transport::Plain(s.try_clone()?),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => Transport::Tls(s.try_clone()?),
        })
    }

    /// The socket underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            #[cfg(feature = "tls")]
            Transport::Tls(s) => s.tcp(),
        }
    }

    /// The socket's read timeout (shared by every handle).
    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(t)
    }

    /// The socket's write timeout (shared by every handle).
    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(t)
    }

    /// Shuts the socket down both ways: the reader wakes with the end of
    /// the stream. Never blocks.
    pub(crate) fn shutdown(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Closes politely: over TLS a `close_notify` first, if it can be sent
    /// at once (a few milliseconds at most); then [`Transport::shutdown`].
    pub(crate) fn close(&self) {
        #[cfg(feature = "tls")]
        if let Transport::Tls(s) = self {
            s.close_notify();
        }
        self.shutdown();
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => s.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.write_all(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => s.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
