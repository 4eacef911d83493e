//! Over TLS, close and drop in every state leave no thread behind and
//! never hang. One test in its own binary, so that the thread count is
//! this test's alone.
#![cfg(feature = "tls")]

mod common;

use std::time::{Duration, Instant};

use astrix::ami::actions::Ping;
use astrix::ami::{Manager, ManagerBuilder, Message, ReconnectPolicy};
use astrix::testing::{AmiServer, Reply};
use astrix::tls::TlsConfig;

fn manager_threads() -> usize {
    common::threads_named("astrix-ami-")
}

fn settle() -> usize {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let n = manager_threads();
        if n == 0 || Instant::now() > end {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn no_thread_is_left_behind_over_tls() {
    let p = common::tls::pki();
    let server = AmiServer::builder()
        .tls(p.chain.as_bytes(), p.key.as_bytes())
        .start()
        .unwrap();
    let tls = TlsConfig::with_ca_pem(p.ca.as_bytes()).unwrap();
    let builder = || Manager::builder(server.addr()).tls(tls.clone());
    let connect = |b: ManagerBuilder| {
        let m = b.connect().unwrap();
        m.login("admin", "wordpass").unwrap();
        m
    };
    let t0 = Instant::now();

    // Dropped right after connecting.
    drop(builder().connect().unwrap());
    assert_eq!(settle(), 0, "after drop");

    // Closed while a caller waits; the emulator sees the end.
    server.on_action("Ping", |_| Reply::none());
    let m = connect(builder());
    let m2 = m.clone();
    let waiter = std::thread::spawn(move || m2.send_action(&Ping));
    assert!(server
        .wait_for_action("Ping", Duration::from_secs(5))
        .is_some());
    m.close();
    assert!(waiter.join().unwrap().is_err());
    drop(m);
    assert_eq!(settle(), 0, "after close with a waiting caller");
    server.clear_action("Ping");

    // Logged off (the emulator closes with a close_notify).
    let m = connect(builder());
    m.logoff().unwrap();
    drop(m);
    assert_eq!(settle(), 0, "after logoff");

    // The server cut the connection, with events in flight.
    let m = connect(builder());
    for _ in 0..100 {
        server.push_event(Message::new().with("Event", "UserEvent"));
    }
    server.close_connections();
    drop(m);
    assert_eq!(settle(), 0, "after the server cut the connection");

    // With a keepalive, dropped while its Ping waits.
    server.on_action("Ping", |_| {
        Reply::none()
            .delay(Duration::from_millis(100))
            .then(Reply::success())
    });
    let m = connect(builder().keepalive(Duration::from_millis(20)));
    std::thread::sleep(Duration::from_millis(60));
    drop(m);
    assert_eq!(settle(), 0, "after drop while the keepalive waits");
    server.clear_action("Ping");

    // Reconnecting: dropped while waiting to connect again.
    let m =
        connect(builder().reconnect(ReconnectPolicy::new().initial_delay(Duration::from_secs(30))));
    server.close_connections();
    let t1 = Instant::now();
    while m.is_connected() && t1.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(m);
    assert_eq!(settle(), 0, "after drop during a reconnect backoff");

    // A server that never answers the handshake: connect times out and
    // leaves nothing behind.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = listener.local_addr().unwrap().to_string();
    let r = Manager::builder(silent)
        .tls(tls.clone())
        .connect_timeout(Duration::from_millis(200))
        .connect();
    assert!(r.is_err());
    drop(listener);
    assert_eq!(settle(), 0, "after a handshake timeout");

    assert!(t0.elapsed() < Duration::from_secs(20));
}
