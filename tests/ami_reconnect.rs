//! Reconnection: the `Manager` connects again after the server goes away,
//! logs in again, replays filters, keeps its callbacks and tells the
//! application.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astrix::ami::actions::Ping;
use astrix::ami::{
    AmiError, ConnectionState, DisconnectReason, Manager, Message, RawAction, ReconnectPolicy,
};
use astrix::testing::{AmiServer, Reply};

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

fn fast() -> ReconnectPolicy {
    ReconnectPolicy::new()
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(100))
}

fn count(server: &AmiServer, name: &str) -> usize {
    server
        .actions()
        .iter()
        .filter(|a| {
            a.get("Action")
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .count()
}

#[test]
fn reconnects_logs_in_again_replays_filters_and_keeps_callbacks() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .reconnect(fast())
        .action_timeout(Duration::from_secs(5))
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
    for _ in 0..2 {
        m.send_action(
            &RawAction::new("Filter")
                .header("Operation", "Add")
                .header("Filter", "Event: UserEvent"),
        )
        .unwrap();
    }
    m.send_action(&astrix::ami::actions::Events::off()).unwrap();
    m.send_action(&astrix::ami::actions::Events::on()).unwrap();
    assert_eq!(count(&server, "Login"), 1);

    server.close_connections();
    assert!(
        wait_until(|| states.lock().unwrap().len() == 2),
        "{:?}",
        states.lock().unwrap()
    );
    let st = states.lock().unwrap().clone();
    assert!(st[0].starts_with("Lost(Eof"), "{st:?}");
    assert_eq!(st[1], "Reconnected");
    assert!(m.is_connected());
    // Logged in again (with MD5, as the first time) and the filter replayed.
    assert_eq!(count(&server, "Login"), 2);
    let logins: Vec<Message> = server
        .actions()
        .into_iter()
        .filter(|a| a.get("Action") == Some("Login"))
        .collect();
    assert_eq!(logins[1].get("AuthType"), Some("MD5"));
    // Each filter once, and only the last Events mask.
    assert_eq!(count(&server, "Filter"), 3);
    assert_eq!(count(&server, "Events"), 3);
    let last_events = server
        .actions()
        .into_iter()
        .rev()
        .find(|a| a.get("Action") == Some("Events"))
        .unwrap();
    assert_eq!(last_events.get("EventMask"), Some("on"));
    // Actions and callbacks work on the new connection.
    m.send_action(&Ping).unwrap();
    server.push_event(
        Message::new()
            .with("Event", "UserEvent")
            .with("UserEvent", "after"),
    );
    assert!(wait_until(|| events.load(Ordering::SeqCst) == 1));
    m.close();
    assert!(matches!(
        m.disconnect_reason(),
        Some(DisconnectReason::Closed)
    ));
}

#[test]
fn in_flight_and_downtime_calls_fail_at_once() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .reconnect(
            ReconnectPolicy::new()
                .initial_delay(Duration::from_millis(400))
                .jitter(0.0),
        )
        .action_timeout(Duration::from_secs(30))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    server.on_action("Ping", |_| Reply::none());
    let m2 = m.clone();
    let waiter = std::thread::spawn(move || m2.send_action(&Ping));
    assert!(wait_until(|| count(&server, "Ping") == 1));
    let t0 = Instant::now();
    server.close_connections();
    let r = waiter.join().unwrap();
    assert!(
        matches!(r, Err(AmiError::Disconnected(DisconnectReason::Eof))),
        "{r:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    // While it is down, a call fails at once.
    let t1 = Instant::now();
    let r = m.send_action(&Ping);
    assert!(matches!(r, Err(AmiError::Disconnected(_))), "{r:?}");
    assert!(t1.elapsed() < Duration::from_millis(300));
    server.clear_action("Ping");
    assert!(wait_until(|| m.is_connected()));
    m.send_action(&Ping).unwrap();
}

#[test]
fn close_during_backoff_returns_at_once() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .reconnect(ReconnectPolicy::new().initial_delay(Duration::from_secs(30)))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    server.close_connections();
    assert!(wait_until(|| !m.is_connected()));
    let t0 = Instant::now();
    m.close();
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(matches!(
        m.disconnect_reason(),
        Some(DisconnectReason::Eof | DisconnectReason::Closed)
    ));
}

#[test]
fn gives_up_after_max_attempts() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .reconnect(fast().max_attempts(3))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let lost = Arc::new(AtomicUsize::new(0));
    let l = lost.clone();
    m.on_connection_state(move |st| {
        if matches!(st, ConnectionState::Lost(_)) {
            l.fetch_add(1, Ordering::SeqCst);
        }
    });
    drop(server); // nobody listens any more
    assert!(wait_until(|| lost.load(Ordering::SeqCst) == 1));
    std::thread::sleep(Duration::from_millis(600));
    assert!(!m.is_connected());
    assert!(matches!(
        m.send_action(&Ping),
        Err(AmiError::Disconnected(_))
    ));
    m.close();
}

/// A reconnection whose login is refused gives the new connection up:
/// the handles put in place for writers and `close` do not keep it open.
#[test]
fn a_refused_relogin_closes_the_new_connection() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .reconnect(fast().max_attempts(2))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    let lost = Arc::new(AtomicUsize::new(0));
    let l = lost.clone();
    m.on_connection_state(move |st| {
        if matches!(st, ConnectionState::Lost(_)) {
            l.fetch_add(1, Ordering::SeqCst);
        }
    });
    server.on_action("Login", |_| Reply::error("Authentication failed"));
    server.close_connections();
    assert!(wait_until(|| lost.load(Ordering::SeqCst) == 1));
    // Both attempts logged in and were refused.
    assert!(wait_until(|| count(&server, "Login") == 3));
    assert!(
        wait_until(|| server.connections() == 0),
        "{} connections left open",
        server.connections()
    );
    assert!(!m.is_connected());
    m.close();
}

#[test]
fn a_logoff_is_not_followed_by_a_reconnect() {
    let server = AmiServer::start().unwrap();
    let m = Manager::builder(server.addr())
        .reconnect(fast())
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    m.logoff().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&server, "Login"), 1);
    assert!(matches!(
        m.disconnect_reason(),
        Some(DisconnectReason::LoggedOff)
    ));
}

#[test]
fn after_a_reconnect_a_server_that_stops_reading_does_not_hang_a_writer() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        // The first connection: a banner, then cut.
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"Asterisk Call Manager/11.0.0\r\n").unwrap();
        drop(s);
        // The second: a banner, then never a byte read.
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"Asterisk Call Manager/11.0.0\r\n").unwrap();
        s
    });
    let m = Manager::builder(addr)
        .reconnect(fast())
        .action_timeout(Duration::from_millis(300))
        .connect()
        .unwrap();
    let _held = server.join().unwrap();
    assert!(wait_until(|| m.is_connected()));
    // Writes fill the socket buffers; the write that blocks must give up
    // after the action timeout, as on the first connection.
    let (tx, rx) = std::sync::mpsc::channel();
    let m2 = m.clone();
    std::thread::spawn(move || {
        let big = RawAction::new("UserEvent").header("Data", &"x".repeat(256 * 1024));
        for _ in 0..10_000 {
            if let Err(AmiError::Disconnected(r)) =
                m2.send_action_timeout(&big, Duration::from_millis(1))
            {
                let _ = tx.send(r);
                return;
            }
        }
    });
    let r = rx.recv_timeout(Duration::from_secs(20));
    assert!(r.is_ok(), "a write blocked for good after the reconnect");
    m.close();
}

/// Whether any action the server received carried a `Secret:` header.
fn secret_sent(server: &AmiServer) -> bool {
    server.actions().iter().any(|a| a.get("Secret").is_some())
}

fn md5_manager(server: &AmiServer) -> Manager {
    Manager::builder(server.addr())
        .reconnect(fast().max_attempts(3))
        .action_timeout(Duration::from_secs(5))
        .connect()
        .unwrap()
}

/// With `AuthMethod::Md5` the secret never crosses the wire, on the first
/// connection or a reconnection, whatever the server answers to
/// `Challenge`: a refusal, or a success without a challenge.
#[test]
fn an_md5_login_never_sends_the_secret_first_time_or_on_reconnect() {
    use astrix::ami::AuthMethod;
    use astrix::Secret;
    let secret = Secret::new("wordpass");
    let refusals: [fn() -> Reply; 2] = [
        || Reply::error("Must specify AuthType"),
        || Reply::success_with("no challenge here"),
    ];
    for refuse in refusals {
        // First connection.
        let server = AmiServer::start().unwrap();
        server.on_action("Challenge", move |_| refuse());
        let m = md5_manager(&server);
        let e = m.login_with("admin", &secret, AuthMethod::Md5).unwrap_err();
        assert!(matches!(e, AmiError::Authentication { .. }), "{e}");
        assert!(!secret_sent(&server));
        assert_eq!(count(&server, "Login"), 0);

        // A reconnection to a server that has stopped offering MD5.
        let server = AmiServer::start().unwrap();
        let m = md5_manager(&server);
        m.login_with("admin", &secret, AuthMethod::Md5).unwrap();
        server.on_action("Challenge", move |_| refuse());
        server.close_connections();
        assert!(wait_until(|| count(&server, "Challenge") >= 2));
        assert!(m.wait_closed_timeout(T).is_some(), "reconnecting gives up");
        assert!(!secret_sent(&server));
        assert_eq!(count(&server, "Login"), 1, "only the first, MD5 login");
    }
}

/// `AuthMethod::Auto` falls back to a plain secret when `Challenge` is
/// refused, and `AuthMethod::Plain` sends no `Challenge` at all: the same
/// on a reconnection.
#[test]
fn plain_secrets_only_where_the_method_allows_them() {
    use astrix::ami::AuthMethod;
    use astrix::Secret;
    let server = AmiServer::builder().md5(false).start().unwrap();
    let m = md5_manager(&server);
    m.login_with("admin", &Secret::new("wordpass"), AuthMethod::Auto)
        .unwrap();
    assert!(secret_sent(&server));
    server.clear_actions();
    server.close_connections();
    assert!(wait_until(|| count(&server, "Login") == 1));
    assert_eq!(count(&server, "Challenge"), 1);
    assert!(secret_sent(&server));

    let server = AmiServer::start().unwrap();
    let m = md5_manager(&server);
    m.login_with("admin", &Secret::new("wordpass"), AuthMethod::Plain)
        .unwrap();
    server.close_connections();
    assert!(wait_until(|| count(&server, "Login") == 2));
    assert_eq!(count(&server, "Challenge"), 0);
}
