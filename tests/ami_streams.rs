//! Events as streams (`Manager::subscribe`) and the start-up rule: what
//! arrives between `Manager::connect` and the login reaches the callbacks
//! and subscriptions registered before `login`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use astrix::ami::events::UserEvent;
use astrix::ami::{AmiError, AuthMethod, DisconnectReason, Manager, Message};
use astrix::subscription::{RecvTimeoutError, TryRecvError};
use astrix::testing::AmiServer;
use astrix::Secret;

const T: Duration = Duration::from_secs(10);

fn user_event(i: usize) -> Message {
    let mut m = Message::new();
    m.push("Event", "UserEvent");
    m.push("UserEvent", "Tick");
    m.push("N", &i.to_string());
    m
}

/// A server that sends an event right after its banner, another between
/// the login and its reply, and a third after the reply.
#[test]
fn events_before_the_login_reply_reach_callbacks_registered_before_login() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"Asterisk Call Manager/11.0.0\r\nEvent: Early\r\n\r\n")
            .unwrap();
        let mut action = Vec::new();
        let mut byte = [0u8; 1];
        while !action.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1, "the login");
            action.push(byte[0]);
        }
        let action = String::from_utf8(action).unwrap();
        assert!(action.starts_with("Action: Login\r\n"), "{action}");
        let id = action
            .lines()
            .find_map(|l| l.strip_prefix("ActionID: "))
            .unwrap()
            .to_owned();
        write!(
            s,
            "Event: BeforeReply\r\n\r\nResponse: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\nEvent: After\r\n\r\n"
        )
        .unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });

    let manager = Manager::connect(addr.to_string()).unwrap();
    // "Early" is in this process's socket (or queue) before anything is
    // registered.
    std::thread::sleep(Duration::from_millis(200));
    let names = Arc::new(Mutex::new(Vec::new()));
    let n2 = names.clone();
    manager.on_any_event(move |e| {
        n2.lock()
            .unwrap()
            .push(e.event_name().unwrap_or("").to_owned())
    });
    let events = manager.subscribe(16);
    manager
        .login_with("admin", &Secret::new("wordpass"), AuthMethod::Plain)
        .unwrap();
    let streamed: Vec<String> = (0..3)
        .map(|_| {
            let e = events.recv_timeout(T).expect("three events");
            e.event_name().unwrap_or("").to_owned()
        })
        .collect();
    assert_eq!(streamed, ["Early", "BeforeReply", "After"]);
    assert_eq!(*names.lock().unwrap(), ["Early", "BeforeReply", "After"]);
    manager.close();
    assert!(manager.wait_closed().is_ok());
    peer.join().unwrap();
}

#[test]
fn a_small_subscription_delivers_every_event_in_order() {
    let server = AmiServer::start().unwrap();
    let manager = Manager::connect(server.addr()).unwrap();
    let ticks = manager.subscribe_to::<UserEvent>(2);
    let all = manager.subscribe(1);
    manager.login("admin", "wordpass").unwrap();
    // The second subscription is drained on a thread of its own.
    let counter = std::thread::spawn(move || {
        let mut n = 0;
        while all.recv_timeout(T).is_ok() {
            n += 1;
        }
        n
    });
    for i in 0..5_000 {
        server.push_event(user_event(i));
    }
    for i in 0..5_000 {
        let e = ticks.recv_timeout(T).expect("every event");
        assert_eq!(e.name, "Tick");
        assert_eq!(e.headers, [("N".to_owned(), i.to_string())]);
    }
    assert_eq!(ticks.try_recv().unwrap_err(), TryRecvError::Empty);
    manager.close();
    // FullyBooted and the 5,000 ticks; then the stream ended.
    assert_eq!(counter.join().unwrap(), 5_001);
    assert!(ticks.recv().is_err());
}

#[test]
fn a_dropped_subscription_unsubscribes_and_never_blocks_the_dispatcher() {
    let server = AmiServer::start().unwrap();
    let manager = Manager::connect(server.addr()).unwrap();
    let forgotten = manager.subscribe(1);
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    manager.on::<UserEvent>(move |_| {
        s2.fetch_add(1, Ordering::SeqCst);
    });
    manager.login("admin", "wordpass").unwrap();
    for i in 0..100 {
        server.push_event(user_event(i));
    }
    // Full after one event: the dispatcher waits for it, until it is
    // dropped.
    std::thread::sleep(Duration::from_millis(100));
    assert!(seen.load(Ordering::SeqCst) < 100);
    drop(forgotten);
    let deadline = std::time::Instant::now() + T;
    while seen.load(Ordering::SeqCst) < 100 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(seen.load(Ordering::SeqCst), 100);
}

#[test]
fn subscriptions_end_with_the_connection_and_wait_closed_says_why() {
    let server = AmiServer::start().unwrap();
    let manager = Manager::connect(server.addr()).unwrap();
    let events = manager.subscribe(64);
    manager.login("admin", "wordpass").unwrap();
    assert!(manager
        .wait_closed_timeout(Duration::from_millis(50))
        .is_none());
    server.push_event(user_event(1));
    let first = events.recv_timeout(T).unwrap();
    assert_eq!(first.event_name(), Some("FullyBooted"));
    server.close_connections();
    // What was queued is still received, then the end.
    let tick = events.recv_timeout(T).unwrap();
    assert_eq!(tick.get("N"), Some("1"));
    assert_eq!(
        events.recv_timeout(T).unwrap_err(),
        RecvTimeoutError::Closed
    );
    match manager.wait_closed() {
        Err(AmiError::Disconnected(DisconnectReason::Eof)) => {}
        other => panic!("{other:?}"),
    }
    assert!(manager.wait_closed_timeout(Duration::ZERO).is_some());
    // A subscription made after the end ends at once.
    let late = manager.subscribe(4);
    assert_eq!(late.try_recv().unwrap_err(), TryRecvError::Closed);
    assert!(late.iter().next().is_none());
}
