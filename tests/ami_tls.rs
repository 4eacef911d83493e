//! AMI over TLS against the emulator in its TLS mode, with certificates
//! made at test time: a private CA, certificates it did not sign, wrong
//! names, Mozilla's roots, reconnection, and event floods.
#![cfg(feature = "tls")]

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astrix::ami::actions::{Command, CoreShowChannels, Originate, Ping};
use astrix::ami::events::OriginateResponse;
use astrix::ami::{AmiError, DisconnectReason, Manager, Message, ReconnectPolicy};
use astrix::testing::AmiServer;
use astrix::tls::{TlsConfig, TlsError};
use common::tls::{pki, Pki};

const T: Duration = Duration::from_secs(10);

fn wait_until(f: impl Fn() -> bool) -> bool {
    let end = Instant::now() + T;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn tls_server(p: &Pki) -> AmiServer {
    AmiServer::builder()
        .tls(p.chain.as_bytes(), p.key.as_bytes())
        .start()
        .unwrap()
}

fn private_ca(p: &Pki) -> TlsConfig {
    TlsConfig::with_ca_pem(p.ca.as_bytes()).unwrap()
}

fn port(server: &AmiServer) -> u16 {
    server.socket_addr().port()
}

/// Connects with `tls`; the result and how long it took.
fn try_connect(addr: String, tls: TlsConfig) -> (Result<Manager, AmiError>, Duration) {
    let t0 = Instant::now();
    let r = Manager::builder(addr)
        .connect_timeout(Duration::from_secs(5))
        .tls(tls)
        .connect();
    (r, t0.elapsed())
}

fn certificate_error(r: Result<Manager, AmiError>) -> String {
    match r {
        Err(AmiError::Tls(TlsError::Certificate { source, .. })) => source.to_string(),
        other => panic!("expected a refused certificate, got {other:?}"),
    }
}

#[test]
fn login_actions_and_events_over_tls_with_a_private_ca() {
    let p = pki();
    let server = tls_server(&p);
    // By IP address: the leaf names 127.0.0.1 too.
    let m = Manager::builder(server.addr())
        .tls(private_ca(&p))
        .action_timeout(T)
        .connect()
        .unwrap();
    assert_eq!(m.ami_version(), "11.0.0");
    let (tx, rx) = crossbeam_channel::unbounded();
    m.on(move |e: &OriginateResponse| {
        let _ = tx.send(e.response.clone());
    });
    let users = Arc::new(AtomicUsize::new(0));
    let u = users.clone();
    m.on_event("UserEvent", move |_| {
        u.fetch_add(1, Ordering::SeqCst);
    });
    m.login("admin", "wordpass").unwrap();
    m.wait_fully_booted(T).unwrap();
    assert!(m.send_action(&Ping).unwrap().timestamp.is_some());
    let out = m.send_action(&Command::new("core show channels")).unwrap();
    assert!(out.lines.iter().any(|l| l.contains("active channels")));
    m.send_action(&Originate::to_extension("Local/100@test", "test", "100", 1).async_(true))
        .unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), "Success");
    // A Local call: both halves, `;1` and `;2`, as Asterisk lists them.
    assert_eq!(m.send_action(&CoreShowChannels).unwrap().len(), 2);
    server.push_event(
        Message::new()
            .with("Event", "UserEvent")
            .with("UserEvent", "tls"),
    );
    assert!(wait_until(|| users.load(Ordering::SeqCst) == 1));
    // The emulator saw the actions in clear.
    let login = server.wait_for_action("Login", T).unwrap();
    assert_eq!(login.get("AuthType"), Some("MD5"));
    m.logoff().unwrap();
    assert!(matches!(
        m.disconnect_reason(),
        Some(DisconnectReason::LoggedOff)
    ));
}

#[test]
fn by_dns_name_and_with_the_ca_in_der_or_added_to_mozillas_roots() {
    let p = pki();
    let server = tls_server(&p);
    let addr = format!("localhost:{}", port(&server));
    let m = Manager::builder(addr.clone())
        .tls(private_ca(&p))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    m.send_action(&Ping).unwrap();
    m.close();

    let der = rustls_pki_types_der(&p.ca);
    let m = Manager::builder(server.addr())
        .tls(TlsConfig::with_ca_der(&der).unwrap())
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    m.close();

    let both = TlsConfig::new().add_ca_pem(p.ca.as_bytes()).unwrap();
    let m = Manager::builder(addr).tls(both).connect().unwrap();
    m.login("admin", "wordpass").unwrap();
    m.close();
}

/// The DER bytes of the first certificate of a PEM text.
fn rustls_pki_types_der(pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[test]
fn a_certificate_the_ca_did_not_sign_is_refused() {
    let p = pki();
    let server = AmiServer::builder()
        .tls(p.rogue.as_bytes(), p.rogue_key.as_bytes())
        .start()
        .unwrap();
    let (r, took) = try_connect(server.addr(), private_ca(&p));
    let msg = certificate_error(r);
    assert!(msg.contains("UnknownIssuer"), "{msg}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The emulator never served it.
    assert!(server.actions().is_empty());
}

#[test]
fn a_wrong_server_name_is_refused() {
    let p = pki();
    let server = tls_server(&p);
    let (r, took) = try_connect(
        server.addr(),
        private_ca(&p).server_name("asterisk.example.com"),
    );
    let msg = certificate_error(r);
    assert!(msg.contains("not valid for name"), "{msg}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // And a name that is no name at all, before any byte is sent.
    let (r, _) = try_connect(server.addr(), private_ca(&p).server_name("not a name"));
    assert!(
        matches!(r, Err(AmiError::Tls(TlsError::InvalidServerName(_)))),
        "{r:?}"
    );
    // The right name given explicitly works.
    let (r, _) = try_connect(server.addr(), private_ca(&p).server_name("localhost"));
    r.unwrap().close();
}

#[test]
fn mozillas_roots_refuse_the_test_certificate() {
    let p = pki();
    let server = tls_server(&p);
    let (r, took) = try_connect(server.addr(), TlsConfig::default());
    let msg = certificate_error(r);
    assert!(msg.contains("UnknownIssuer"), "{msg}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn tls_against_plain_and_plain_against_tls_fail_cleanly() {
    let p = pki();
    // TLS to a plain AMI port: the banner is no TLS record.
    let plain = AmiServer::start().unwrap();
    let (r, took) = try_connect(plain.addr(), private_ca(&p));
    assert!(
        matches!(r, Err(AmiError::Tls(TlsError::Handshake { .. }))),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Plain to a TLS port: no banner comes.
    let server = tls_server(&p);
    let t0 = Instant::now();
    let r = Manager::builder(server.addr())
        .connect_timeout(Duration::from_millis(300))
        .connect();
    assert!(matches!(r, Err(AmiError::Timeout { .. })), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_handshake_that_never_ends_times_out() {
    let p = pki();
    // Accepts, then says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let silent = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let t0 = Instant::now();
    let r = Manager::builder(addr)
        .connect_timeout(Duration::from_millis(300))
        .tls(private_ca(&p))
        .connect();
    match r {
        Err(AmiError::Timeout { action, .. }) => assert_eq!(action, "TLS handshake"),
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(3));
    drop(silent.join().unwrap());
}

/// A server that trickles the start of a TLS record, one byte every
/// 300 ms, forever: the connect timeout bounds the whole handshake, not
/// each read.
#[test]
fn a_trickling_handshake_times_out_on_the_deadline() {
    use std::io::Write;
    let p = pki();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        // A handshake record of 16 kB: its body never completes.
        let header = [0x16u8, 0x03, 0x03, 0x40, 0x00];
        for b in header.iter().copied().chain(std::iter::repeat(0x01)) {
            std::thread::sleep(Duration::from_millis(300));
            if s.write_all(&[b]).is_err() {
                return;
            }
        }
    });
    let t0 = Instant::now();
    let r = Manager::builder(addr)
        .connect_timeout(Duration::from_secs(1))
        .tls(private_ca(&p))
        .connect();
    match r {
        Err(AmiError::Timeout { action, .. }) => assert_eq!(action, "TLS handshake"),
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn bad_pem_is_a_typed_error() {
    let p = pki();
    assert!(matches!(
        TlsConfig::with_ca_pem(p.key.as_bytes()),
        Err(TlsError::NoCertificate)
    ));
    let e = AmiServer::builder()
        .tls(p.chain.as_bytes(), b"no key")
        .start()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<TlsError>());
    assert!(matches!(inner, Some(TlsError::NoPrivateKey)), "{e:?}");
    // A key that is not the certificate's.
    let e = AmiServer::builder()
        .tls(p.chain.as_bytes(), p.rogue_key.as_bytes())
        .start()
        .unwrap_err();
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<TlsError>());
    assert!(matches!(inner, Some(TlsError::BadCertificate(_))), "{e:?}");
}

#[test]
fn reconnects_over_tls_after_the_connection_is_cut() {
    let p = pki();
    let server = tls_server(&p);
    let m = Manager::builder(server.addr())
        .tls(private_ca(&p))
        .reconnect(
            ReconnectPolicy::new()
                .initial_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(100)),
        )
        .action_timeout(T)
        .connect()
        .unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let s = states.clone();
    m.on_connection_state(move |st| s.lock().unwrap().push(format!("{st:?}")));
    let events = Arc::new(AtomicUsize::new(0));
    let e = events.clone();
    m.on_event("UserEvent", move |_| {
        e.fetch_add(1, Ordering::SeqCst);
    });
    m.login("admin", "wordpass").unwrap();
    m.send_action(&astrix::ami::actions::Events::on()).unwrap();

    for round in 1..=2 {
        server.close_connections();
        assert!(
            wait_until(|| states.lock().unwrap().len() == 2 * round),
            "{:?}",
            states.lock().unwrap()
        );
        let st = states.lock().unwrap().clone();
        assert!(st[2 * round - 2].starts_with("Lost(Eof"), "{st:?}");
        assert_eq!(st[2 * round - 1], "Reconnected");
        assert!(m.is_connected());
        m.send_action(&Ping).unwrap();
        server.push_event(Message::new().with("Event", "UserEvent"));
        assert!(wait_until(|| events.load(Ordering::SeqCst) == round));
    }
    let logins = server
        .actions()
        .iter()
        .filter(|a| a.get("Action") == Some("Login"))
        .count();
    assert_eq!(logins, 3);
    m.close();
    assert!(matches!(
        m.disconnect_reason(),
        Some(DisconnectReason::Closed)
    ));
}

#[test]
fn a_reconnection_verifies_the_certificate_again() {
    let p = pki();
    let server = tls_server(&p);
    let addr = server.addr();
    let m = Manager::builder(addr.clone())
        .tls(private_ca(&p))
        .reconnect(
            ReconnectPolicy::new()
                .initial_delay(Duration::from_millis(20))
                .max_delay(Duration::from_millis(50)),
        )
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    // The server comes back on the same port with a certificate the CA
    // did not sign.
    drop(server);
    let mut rogue = None;
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(&addr) {
            rogue = Some(l);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let Some(listener) = rogue else {
        // The port was taken meanwhile: nothing to check.
        return;
    };
    let rogue_tls = p.rogue.clone();
    let rogue_key = p.rogue_key.clone();
    let refused = Arc::new(AtomicUsize::new(0));
    let r2 = refused.clone();
    // A minimal TLS server: handshakes with the rogue certificate.
    let srv = std::thread::spawn(move || {
        let chain = rustls_pki_types_der(&rogue_tls);
        let key = {
            use rustls_pki_types::pem::PemObject;
            rustls_pki_types::PrivateKeyDer::from_pem_slice(rogue_key.as_bytes()).unwrap()
        };
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![chain.into()], key)
        .unwrap();
        let cfg = Arc::new(cfg);
        for _ in 0..3 {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut s).is_err() {
                    r2.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
    });
    // Each attempt refused the certificate (the client sent an alert,
    // which fails the server's handshake).
    assert!(wait_until(|| refused.load(Ordering::SeqCst) == 3));
    srv.join().unwrap();
    assert!(!m.is_connected());
    assert!(matches!(
        m.send_action(&Ping),
        Err(AmiError::Disconnected(_))
    ));
    let t0 = Instant::now();
    m.close();
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn an_event_flood_over_tls_delivers_every_event() {
    const N: usize = 50_000;
    let p = pki();
    let server = tls_server(&p);
    let m = Manager::builder(server.addr())
        .tls(private_ca(&p))
        .action_timeout(T)
        .connect()
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let in_order = Arc::new(AtomicUsize::new(0));
    let (s, o) = (seen.clone(), in_order.clone());
    m.on_event("UserEvent", move |e| {
        let n = s.fetch_add(1, Ordering::SeqCst);
        if e.get("N").and_then(|v| v.parse::<usize>().ok()) == Some(n) {
            o.fetch_add(1, Ordering::SeqCst);
        }
    });
    m.login("admin", "wordpass").unwrap();
    // Actions from other threads meanwhile: writers and the reader share
    // the TLS connection.
    let pingers: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    m.send_action(&Ping).unwrap();
                }
            })
        })
        .collect();
    for i in 0..N {
        server.push_event(
            Message::new()
                .with("Event", "UserEvent")
                .with("UserEvent", "flood")
                .with("N", &i.to_string()),
        );
    }
    for t in pingers {
        t.join().unwrap();
    }
    let end = Instant::now() + Duration::from_secs(60);
    while seen.load(Ordering::SeqCst) < N && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(seen.load(Ordering::SeqCst), N);
    assert_eq!(in_order.load(Ordering::SeqCst), N);
    m.close();
}

#[test]
fn callbacks_send_actions_during_a_raw_flood_over_tls() {
    let p = pki();
    let server = tls_server(&p);
    let m = Manager::builder(server.addr())
        .tls(private_ca(&p))
        .action_timeout(T)
        .event_queue(16)
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let weak = m.downgrade();
    let answered = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let (a, s) = (answered.clone(), seen.clone());
    m.on_event("VarSet", move |_| {
        s.fetch_add(1, Ordering::SeqCst);
        if let Some(m) = weak.upgrade() {
            if m.send_action(&Ping).is_ok() {
                a.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // Far beyond the queue size, in one write (many TLS records).
    let mut flood = Vec::new();
    for i in 0..2000 {
        Message::new()
            .with("Event", "VarSet")
            .with("Channel", "none")
            .with("Uniqueid", "none")
            .with("Variable", "X")
            .with("Value", &i.to_string())
            .write_wire(&mut flood);
    }
    server.send_raw(&flood);
    assert!(wait_until(|| seen.load(Ordering::SeqCst) == 2000));
    assert_eq!(answered.load(Ordering::SeqCst), 2000);
}

#[test]
fn close_with_a_caller_waiting_over_tls_returns_at_once() {
    let p = pki();
    let server = tls_server(&p);
    server.on_action("Ping", |_| astrix::testing::Reply::none());
    let m = Manager::builder(server.addr())
        .tls(private_ca(&p))
        .action_timeout(Duration::from_secs(30))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let m2 = m.clone();
    let waiter = std::thread::spawn(move || m2.send_action(&Ping));
    assert!(server.wait_for_action("Ping", T).is_some());
    let t0 = Instant::now();
    m.close();
    let r = waiter.join().unwrap();
    assert!(
        matches!(r, Err(AmiError::Disconnected(DisconnectReason::Closed))),
        "{r:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(2));
    // The emulator saw the connection end.
    assert!(wait_until(|| server.connections() == 0));
}
