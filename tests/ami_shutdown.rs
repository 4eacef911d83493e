//! Shutdown in every state leaves no thread behind and never hangs. One test
//! in its own binary, so that the thread count is this test's alone.

mod common;

use std::time::{Duration, Instant};

use astrix::ami::actions::Ping;
use astrix::ami::{Manager, Message};
use astrix::testing::{AmiServer, Reply};

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
fn no_thread_is_left_behind() {
    let server = AmiServer::start().unwrap();
    let t0 = Instant::now();

    // Dropped right after connecting.
    drop(Manager::connect(server.addr()).unwrap());
    assert_eq!(settle(), 0, "after drop");

    // Dropped while a caller waits.
    server.on_action("Ping", |_| Reply::none());
    let m = Manager::connect(server.addr()).unwrap();
    m.login("admin", "wordpass").unwrap();
    let m2 = m.clone();
    let waiter = std::thread::spawn(move || m2.send_action(&Ping));
    std::thread::sleep(Duration::from_millis(100));
    m.close();
    assert!(waiter.join().unwrap().is_err());
    drop(m);
    assert_eq!(settle(), 0, "after close with a waiting caller");

    // Logged off.
    server.clear_action("Ping");
    let m = Manager::connect(server.addr()).unwrap();
    m.login("admin", "wordpass").unwrap();
    m.logoff().unwrap();
    drop(m);
    assert_eq!(settle(), 0, "after logoff");

    // A callback holding a strong clone: the connection ends, the
    // callbacks are dropped, and the threads go.
    let m = Manager::connect(server.addr()).unwrap();
    m.login("admin", "wordpass").unwrap();
    let strong = m.clone();
    m.on_any_event(move |_| {
        let _ = strong.is_connected();
    });
    server.push_event(Message::new().with("Event", "UserEvent"));
    server.close_connections();
    drop(m);
    assert_eq!(settle(), 0, "after the server closed, with a cycle");

    // Dropped from inside a callback (the last strong handle).
    let m = Manager::connect(server.addr()).unwrap();
    m.login("admin", "wordpass").unwrap();
    let slot = std::sync::Arc::new(parking_lot::Mutex::new(Some(m.clone())));
    let s2 = slot.clone();
    m.on_event("UserEvent", move |_| {
        s2.lock().take();
    });
    drop(m);
    server.push_event(Message::new().with("Event", "UserEvent"));
    assert_eq!(settle(), 0, "after the last handle dropped in a callback");

    // With a keepalive thread, dropped at once and dropped mid-Ping.
    drop(
        Manager::builder(server.addr())
            .keepalive(Duration::from_millis(20))
            .connect()
            .unwrap(),
    );
    assert_eq!(settle(), 0, "after drop with keepalive");
    server.on_action("Ping", |_| {
        Reply::none()
            .delay(Duration::from_millis(100))
            .then(Reply::success())
    });
    let m = Manager::builder(server.addr())
        .keepalive(Duration::from_millis(20))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    std::thread::sleep(Duration::from_millis(60));
    drop(m);
    assert_eq!(
        settle(),
        0,
        "after drop while the keepalive waits for its Ping"
    );

    // Reconnecting: closed while waiting to connect again.
    server.clear_action("Ping");
    let m = Manager::builder(server.addr())
        .reconnect(astrix::ami::ReconnectPolicy::new().initial_delay(Duration::from_secs(30)))
        .keepalive(Duration::from_millis(20))
        .connect()
        .unwrap();
    m.login("admin", "wordpass").unwrap();
    server.close_connections();
    let t1 = Instant::now();
    while m.is_connected() && t1.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(m);
    assert_eq!(settle(), 0, "after drop during a reconnect backoff");

    assert!(t0.elapsed() < Duration::from_secs(20));
}
