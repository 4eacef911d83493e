//! Replays the WebSocket bytes a real Asterisk 22 sent
//! (`ari_events_ws.bin`: the 101 answer, 28 event frames and a close) to
//! the ARI client over loopback, a few bytes at a time, and checks that
//! every event arrives typed, in order, equal to the recording, and that
//! Asterisk's close is reported. Then the start-up rule: events Asterisk
//! sends the moment the WebSocket opens wait for `start()`, so none is
//! lost to callbacks registered after `connect()`.
#![cfg(feature = "ari")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use astrix::ari::{Client, ConnectionState, Event};
use astrix::subscription::RecvTimeoutError;
use serde_json::Value;

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Numbers compare by value (the typed model may write `0` as `0.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// The recorded frames (28 events and Asterisk's close) and the events as
/// JSON.
fn recording() -> (Vec<u8>, Vec<Value>) {
    let bin = common::fixture("ari_events_ws.bin");
    let split = bin.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let expected: Vec<Value> = String::from_utf8(common::fixture("ari_events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(expected.len(), 28);
    (bin[split..].to_vec(), expected)
}

/// Plays Asterisk on `listener`: answers the upgrade as Asterisk did, with
/// this client's key, and writes `frames` in pieces of `chunk` bytes. With
/// `at_once`, the frames go out in the same write as the 101, before the
/// client has even asked whether its application is registered.
fn play_asterisk(
    listener: TcpListener,
    frames: Vec<u8>,
    chunk: usize,
    at_once: bool,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let (mut ws, _) = listener.accept().unwrap();
        let head = read_head(&mut ws);
        assert!(
            head.starts_with("GET /ari/events?app=hello HTTP/1.1\r\n"),
            "{head}"
        );
        let key = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| v.trim().to_owned())
            })
            .unwrap();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let mut answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .into_bytes();
        ws.set_nodelay(true).unwrap();
        if at_once {
            answer.extend_from_slice(&frames);
        }
        ws.write_all(&answer).unwrap();
        // The client checks that the application is registered.
        let (mut http, _) = listener.accept().unwrap();
        let head = read_head(&mut http);
        assert!(
            head.starts_with("GET /ari/applications/hello HTTP/1.1\r\n"),
            "{head}"
        );
        http.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            .unwrap();
        if !at_once {
            for piece in frames.chunks(chunk) {
                ws.write_all(piece).unwrap();
            }
        }
        // Keep the socket until the client has read the close.
        let mut rest = Vec::new();
        let _ = ws.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = ws.read_to_end(&mut rest);
    })
}

fn connect(listener: &TcpListener) -> Client {
    Client::builder(format!("http://{}", listener.local_addr().unwrap()))
        .credentials("hey", "peekaboo")
        .app("hello")
        .connect()
        .unwrap()
}

#[test]
fn recorded_websocket_bytes_become_typed_events() {
    let (frames, expected) = recording();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = play_asterisk(listener.try_clone().unwrap(), frames, 7, false);
    let client = connect(&listener);
    drop(listener);
    let (lost_tx, lost_rx) = crossbeam_channel::unbounded();
    client.on_connection_state(move |s: &ConnectionState| {
        if let ConnectionState::Lost(why) = s {
            let _ = lost_tx.send(why.clone());
        }
    });
    // A small queue: the dispatcher waits for this thread, nothing drops.
    let events = client.subscribe(4);
    client.start();
    let mut got = Vec::new();
    loop {
        match events.recv_timeout(Duration::from_secs(10)) {
            Ok(e) => got.push(e),
            Err(RecvTimeoutError::Closed) => break,
            Err(e) => panic!("{e} after {} events", got.len()),
        }
    }
    let lost = lost_rx.try_recv().expect("the close is reported");
    assert!(lost.contains("closed by Asterisk"), "{lost}");
    assert_eq!(got.len(), expected.len());
    for (event, want) in got.iter().zip(&expected) {
        assert!(!matches!(event, Event::Unknown(_)), "untyped: {want}");
        assert!(
            same(&event.to_json(), want),
            "{} differs",
            event.event_type()
        );
    }
    assert!(client.wait_closed().is_err());
    peer.join().unwrap();
}

/// Asterisk writes the events in the same segment as its 101 answer; the
/// callbacks are registered only after `connect()` returned, under two
/// busy threads. Every event must reach them, 200 times out of 200.
#[test]
fn no_event_is_lost_between_connect_and_start() {
    let (frames, expected) = recording();
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    std::hint::black_box(x);
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    for round in 0..200 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = play_asterisk(listener.try_clone().unwrap(), frames.clone(), 0, true);
        let client = connect(&listener);
        drop(listener);
        // Registered after connect(): the events are already here.
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        client.on_any_event(move |_, _| {
            c.fetch_add(1, Ordering::Relaxed);
        });
        let typed = client.subscribe_to::<astrix::ari::events::StasisStart>(64);
        client.start();
        assert!(
            client
                .wait_closed_timeout(Duration::from_secs(20))
                .is_some_and(|r| r.is_err()),
            "round {round}: Asterisk's close"
        );
        // The dispatcher has finished: every event was delivered.
        let starts = typed.iter().count();
        assert_eq!(
            count.load(Ordering::Relaxed),
            expected.len(),
            "round {round}"
        );
        let want = expected
            .iter()
            .filter(|e| e["type"] == "StasisStart")
            .count();
        assert_eq!(starts, want, "round {round}");
        peer.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for b in busy {
        b.join().unwrap();
    }
    eprintln!("200 start-ups in {:?}", t0.elapsed());
}
