//! The errors of every layer chain as anyhow, eyre and `std::error::Error`
//! reporters expect: each message shows once along the `source()` chain
//! (a variant with a source leaves it out of its own message), the error
//! underneath stays typed, and a refused connection can be told from one
//! that timed out.

mod common;

use std::error::Error;
use std::io::{self, BufReader, Read};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use astrix::agi::{Agi, AgiError};
use astrix::ami::{AmiError, DisconnectReason, Manager, RawAction};
use astrix::testing::AmiServer;
use astrix::ErrorChain;

/// The message of every link of the chain, outermost first.
fn messages(e: &(dyn Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        out.push(s.to_string());
        next = s.source();
    }
    out
}

/// Checks that the chain has a source and that each link's message appears
/// exactly once in the whole chain, as anyhow's `{:#}` would print it;
/// returns that line.
fn each_message_once(e: &(dyn Error + 'static)) -> String {
    let line = ErrorChain(e).to_string();
    let links = messages(e);
    assert!(links.len() >= 2, "no source: {line:?}");
    assert_eq!(line, links.join(": "));
    for m in &links {
        assert!(!m.is_empty(), "an empty message in {line:?}");
        assert_eq!(
            line.matches(m.as_str()).count(),
            1,
            "{m:?} repeated in {line:?}"
        );
    }
    line
}

/// The kind of the first I/O error along the chain (astrix keeps them in an
/// `Arc` so that its errors stay `Clone`).
fn io_kind(e: &(dyn Error + 'static)) -> Option<io::ErrorKind> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        if let Some(io) = e.downcast_ref::<Arc<io::Error>>() {
            return Some(io.kind());
        }
        next = e.source();
    }
    None
}

/// An address where nothing listens: connections to it are refused.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
fn ami_errors_show_each_cause_once() {
    // Refused: the io error is the source, not part of the message.
    let addr = closed_port();
    let e = Manager::builder(addr.as_str()).connect().unwrap_err();
    assert!(matches!(e, AmiError::Connect { .. }), "{e:?}");
    assert_eq!(e.to_string(), format!("cannot connect to {addr}"));
    let line = each_message_once(&e);
    assert!(
        line.starts_with(&format!("cannot connect to {addr}: ")),
        "{line}"
    );
    assert_eq!(io_kind(&e), Some(io::ErrorKind::ConnectionRefused));
    assert_eq!(
        e.io_error().map(io::Error::kind),
        Some(io::ErrorKind::ConnectionRefused)
    );
    assert!(!e.is_timeout());

    // Timed out: the same variant, told apart by the source's kind.
    let e = Manager::builder(addr.as_str())
        .connect_timeout(Duration::ZERO)
        .connect()
        .unwrap_err();
    assert!(matches!(e, AmiError::Connect { .. }), "{e:?}");
    each_message_once(&e);
    assert_eq!(io_kind(&e), Some(io::ErrorKind::TimedOut));
    assert!(e.is_timeout());

    // A lost connection: the reason's message, then its I/O error.
    let reset = io::Error::new(io::ErrorKind::ConnectionReset, "reset by peer");
    let e = AmiError::Disconnected(DisconnectReason::Io(Arc::new(reset)));
    assert_eq!(each_message_once(&e), "connection I/O error: reset by peer");
    assert_eq!(io_kind(&e), Some(io::ErrorKind::ConnectionReset));
    assert!(e.is_disconnect());
    let e = AmiError::Disconnected(DisconnectReason::Eof);
    assert_eq!(e.to_string(), "connection closed by the server");
    assert!(e.source().is_none());

    // An action that cannot be encoded: the codec's error is the source.
    let server = AmiServer::start().unwrap();
    let m = Manager::connect(server.addr()).unwrap();
    let e = m
        .send_action(&RawAction::new("UserEvent").header("UserEvent", "a\r\nb"))
        .unwrap_err();
    assert!(matches!(e, AmiError::Encode(_)), "{e:?}");
    assert_eq!(
        each_message_once(&e),
        "invalid action: the value of AMI header \"UserEvent\" holds CR or LF"
    );
}

/// A stream whose reads fail with `kind`.
struct Failing(io::ErrorKind);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(self.0, "the read failed"))
    }
}

fn agi_over(kind: io::ErrorKind) -> AgiError {
    Agi::new(BufReader::new(Failing(kind)), io::sink()).unwrap_err()
}

#[test]
fn agi_errors_show_each_cause_once() {
    let e = agi_over(io::ErrorKind::PermissionDenied);
    assert!(matches!(e, AgiError::Io(_)), "{e:?}");
    assert_eq!(e.to_string(), "I/O error");
    assert_eq!(each_message_once(&e), "I/O error: the read failed");
    assert_eq!(io_kind(&e), Some(io::ErrorKind::PermissionDenied));

    // A refusal keeps its kind; a timeout is a variant of its own.
    let e = agi_over(io::ErrorKind::ConnectionRefused);
    assert_eq!(
        e.io_error().map(io::Error::kind),
        Some(io::ErrorKind::ConnectionRefused)
    );
    assert!(!e.is_timeout());
    let e = agi_over(io::ErrorKind::TimedOut);
    assert!(e.is_timeout(), "{e:?}");
    assert!(e.io_error().is_none());
    // A reset stream is the channel hanging up.
    assert!(agi_over(io::ErrorKind::ConnectionReset).is_hangup());
}

#[cfg(feature = "ari")]
mod ari {
    use super::*;
    use astrix::ari::{AriError, Client};

    /// ureq's error, the source of a [`AriError::Transport`].
    fn ureq_source(e: &AriError) -> Option<&ureq::Error> {
        let source = e.source()?.downcast_ref::<Arc<ureq::Error>>()?;
        Some(source)
    }

    #[test]
    fn rest_errors_keep_ureqs_error() {
        // Refused.
        let url = format!("http://{}", closed_port());
        let client = Client::new(&url, "hey", "peekaboo").unwrap();
        let e = client.channels().list().unwrap_err();
        assert_eq!(e.to_string(), "GET /channels: request failed");
        each_message_once(&e);
        assert!(matches!(ureq_source(&e), Some(ureq::Error::Io(_))), "{e:?}");
        assert_eq!(
            e.io_error().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
        assert!(!e.is_timeout());

        // Accepted by the kernel, never answered.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", silent.local_addr().unwrap());
        let client = Client::builder(url.as_str())
            .timeout(Duration::from_millis(200))
            .connect()
            .unwrap();
        let e = client.channels().list().unwrap_err();
        each_message_once(&e);
        assert!(
            matches!(ureq_source(&e), Some(ureq::Error::Timeout(_))),
            "{e:?}"
        );
        assert!(e.is_timeout());
    }

    #[test]
    fn websocket_errors_keep_the_io_error() {
        let addr = closed_port();
        let e = Client::builder(format!("http://{addr}"))
            .app("x")
            .connect()
            .unwrap_err();
        assert!(matches!(e, AriError::WebSocket { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("ARI WebSocket: cannot connect to {addr}")
        );
        each_message_once(&e);
        assert_eq!(io_kind(&e), Some(io::ErrorKind::ConnectionRefused));
        assert!(!e.is_timeout());

        // The upgrade is never answered.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        let e = Client::builder(format!("http://{}", silent.local_addr().unwrap()))
            .app("x")
            .connect_timeout(Duration::from_millis(200))
            .connect()
            .unwrap_err();
        assert!(matches!(e, AriError::WebSocket { .. }), "{e:?}");
        assert!(
            each_message_once(&e).starts_with("ARI WebSocket: handshake failed: "),
            "{e}"
        );
        assert_eq!(io_kind(&e), Some(io::ErrorKind::TimedOut));
        assert!(e.is_timeout());
    }

    #[test]
    fn a_bad_url_keeps_the_parsers_error() {
        let e = Client::builder("http://host:8088:99")
            .app("x")
            .connect()
            .unwrap_err();
        assert!(matches!(e, AriError::Url { .. }), "{e:?}");
        let line = each_message_once(&e);
        assert!(
            line.starts_with("invalid ARI URL \"http://host:8088:99\": not a valid URL: "),
            "{line}"
        );
        let source = e
            .source()
            .and_then(|s| s.downcast_ref::<Arc<http::uri::InvalidUri>>());
        assert!(source.is_some(), "{e:?}");
    }
}

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use astrix::tls::{TlsConfig, TlsError};
    use common::tls::pki;

    #[test]
    fn tls_errors_keep_rustls_error() {
        let p = pki();
        let server = AmiServer::builder()
            .tls(p.chain.as_bytes(), p.key.as_bytes())
            .start()
            .unwrap();
        // Mozilla's roots do not know the test CA.
        let e = Manager::builder(server.addr())
            .tls(TlsConfig::new())
            .connect()
            .unwrap_err();
        assert!(
            matches!(e, AmiError::Tls(TlsError::Certificate { .. })),
            "{e:?}"
        );
        let line = each_message_once(&e);
        assert!(
            line.starts_with("certificate of 127.0.0.1 refused: "),
            "{line}"
        );
        let rustls = e.source().and_then(|s| s.downcast_ref::<rustls::Error>());
        assert!(
            matches!(rustls, Some(rustls::Error::InvalidCertificate(_))),
            "{e:?}"
        );

        // TLS to a plain AMI port: the handshake fails on the banner.
        let plain = AmiServer::start().unwrap();
        let e = Manager::builder(plain.addr())
            .tls(TlsConfig::with_ca_pem(p.ca.as_bytes()).unwrap())
            .connect()
            .unwrap_err();
        assert!(
            matches!(e, AmiError::Tls(TlsError::Handshake { .. })),
            "{e:?}"
        );
        each_message_once(&e);
        assert!(e.io_error().is_some(), "{e:?}");
        assert_eq!(io_kind(&e), e.io_error().map(io::Error::kind));

        // Bad PEM: the parser's error is the source.
        let e = TlsConfig::with_ca_pem(
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err();
        assert!(matches!(e, TlsError::Pem(_)), "{e:?}");
        assert!(each_message_once(&e).starts_with("bad PEM input: "));
    }
}
