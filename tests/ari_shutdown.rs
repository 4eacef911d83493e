//! Dropping an `AriServer` in a busy state leaves no thread behind. One test
//! in its own binary, so that the thread count is this test's alone.
#![cfg(feature = "ari")]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use astrix::testing::{AriServer, HttpReply};

fn server_threads() -> usize {
    common::threads_named("astrix-arisrv")
}

#[test]
fn drop_joins_every_thread() {
    let server = AriServer::builder()
        .playback_duration(Duration::from_secs(60))
        .start()
        .unwrap();
    // A new thread names itself once it runs.
    let end = Instant::now() + Duration::from_secs(5);
    while server_threads() < 2 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server_threads(), 2, "accept and timer");

    // A WebSocket, an idle keep-alive connection, half a request, and a
    // request whose scripted answer is slow.
    let stream = TcpStream::connect(server.socket_addr()).unwrap();
    let (mut ws, _) = tungstenite::client(server.events_url("hello"), stream).unwrap();
    assert!(server.wait_for_websockets(1, Duration::from_secs(5)));
    let id = server.incoming_call("hello", &[]);
    let mut idle = TcpStream::connect(server.socket_addr()).unwrap();
    idle.write_all(b"GET /ari/asterisk/ping?api_key=hey:peekaboo HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut half = TcpStream::connect(server.socket_addr()).unwrap();
    half.write_all(b"GET /ari/chan").unwrap();
    server.on_request(|r| {
        (r.path == "/ari/slow").then(|| HttpReply::no_content().delay(Duration::from_secs(30)))
    });
    let mut slow = TcpStream::connect(server.socket_addr()).unwrap();
    slow.write_all(b"GET /ari/slow HTTP/1.1\r\n\r\n").unwrap();
    assert!(server
        .wait_for_request(|r| r.path == "/ari/slow", Duration::from_secs(5))
        .is_some());
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for (path, status) in [("answer", 204), ("play?media=sound:long", 201)] {
        let r = http
            .post(&format!(
                "{}/ari/channels/{id}/{path}{}api_key=hey:peekaboo",
                server.url(),
                if path.contains('?') { "&" } else { "?" }
            ))
            .send_empty()
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
    }

    assert!(server_threads() >= 6, "{} threads", server_threads());

    let t0 = Instant::now();
    drop(server);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(server_threads(), 0);

    // Every peer sees the end.
    let ended =
        |e: &std::io::Error| !matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock);
    for s in [&mut idle, &mut half, &mut slow] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        if let Err(e) = s.read_to_end(&mut buf) {
            assert!(ended(&e), "a connection did not end: {e}");
        }
    }
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let end = loop {
        match ws.read() {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    match end {
        tungstenite::Error::Io(e) => assert!(ended(&e), "the WebSocket did not end: {e}"),
        tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Protocol(_) => {}
        other => panic!("the WebSocket ended oddly: {other}"),
    }
}
