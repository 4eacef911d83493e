//! ARI over https and wss (features `ari` and `tls`) against `AriServer`
//! serving a certificate from a private CA made at test time.
#![cfg(all(feature = "ari", feature = "tls"))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use astrix::ari::events::StasisStart;
use astrix::ari::{AriError, Client, ConnectionState};
use astrix::testing::AriServer;
use astrix::tls::TlsConfig;
use crossbeam_channel::unbounded;

#[test]
fn rest_and_events_over_tls_with_a_private_ca() {
    let pki = common::tls::pki();
    let server = AriServer::builder()
        .tls(pki.chain.as_bytes(), pki.key.as_bytes())
        .start()
        .unwrap();
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let client = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app("secure")
        .tls(TlsConfig::with_ca_pem(pki.ca.as_bytes()).unwrap())
        .keepalive(Duration::from_millis(50))
        .connect()
        .unwrap();
    // Pings over TLS: the read timeouts that trigger them must not end
    // the stream.
    let lost = Arc::new(AtomicUsize::new(0));
    let l2 = lost.clone();
    client.on_connection_state(move |s: &ConnectionState| {
        if matches!(s, ConnectionState::Lost(_)) {
            l2.fetch_add(1, Ordering::SeqCst);
        }
    });
    std::thread::sleep(Duration::from_millis(400));
    let (tx, rx) = unbounded();
    client.on(move |client: &Client, e: &StasisStart| {
        let _ = tx.send(client.channel(e.channel.id.clone()).answer());
    });
    client.start();
    client
        .channels()
        .originate("PJSIP/bob")
        .app("secure")
        .send()
        .unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(client.channels().list().unwrap().len(), 1);
    assert_eq!(lost.load(Ordering::SeqCst), 0);
    client.close();
}

#[test]
fn certificates_outside_the_trust_are_refused() {
    let pki = common::tls::pki();
    let server = AriServer::builder()
        .tls(pki.rogue.as_bytes(), pki.rogue_key.as_bytes())
        .start()
        .unwrap();
    let trusted = TlsConfig::with_ca_pem(pki.ca.as_bytes()).unwrap();
    let e = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app("x")
        .tls(trusted.clone())
        .connect()
        .unwrap_err();
    assert!(matches!(e, AriError::Tls(_)), "{e}");

    // REST only: the same refusal, as a transport error of the call.
    let rest = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .tls(trusted)
        .connect()
        .unwrap();
    let e = rest.channels().list().unwrap_err();
    assert!(matches!(e, AriError::Transport { .. }), "{e}");

    // Mozilla's roots (the default) do not know the test CA either.
    let e = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app("x")
        .connect()
        .unwrap_err();
    assert!(matches!(e, AriError::Tls(_)), "{e}");
}

#[test]
fn plain_http_to_a_tls_server_fails_cleanly() {
    let pki = common::tls::pki();
    let server = AriServer::builder()
        .tls(pki.chain.as_bytes(), pki.key.as_bytes())
        .start()
        .unwrap();
    let url = server.url().replace("https://", "http://");
    let e = Client::builder(url.as_str())
        .credentials("hey", "peekaboo")
        .app("x")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .unwrap_err();
    assert!(
        matches!(e, AriError::WebSocket { .. } | AriError::Status { .. }),
        "{e}"
    );
}
