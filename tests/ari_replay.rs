//! Replays the WebSocket bytes a real Asterisk 22 sent
//! (`ari_events_ws.bin`: the 101 answer, 28 event frames and a close) to
//! the ARI client over loopback, a few bytes at a time, and checks that
//! every event arrives typed, in order, equal to the recording, and that
//! Asterisk's close is reported.
#![cfg(feature = "ari")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use astrix::ari::{Client, ConnectionState, Event};
use crossbeam_channel::unbounded;
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

#[test]
fn recorded_websocket_bytes_become_typed_events() {
    let bin = common::fixture("ari_events_ws.bin");
    let split = bin.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let frames = bin[split..].to_vec();
    let expected: Vec<Value> = String::from_utf8(common::fixture("ari_events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(expected.len(), 28);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let peer = std::thread::spawn(move || {
        // The upgrade: answered as Asterisk did, with this client's key.
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
        write!(
            ws,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        // The client checks that the application is registered.
        let (mut http, _) = listener.accept().unwrap();
        let head = read_head(&mut http);
        assert!(
            head.starts_with("GET /ari/applications/hello HTTP/1.1\r\n"),
            "{head}"
        );
        http.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            .unwrap();
        // The recorded frames, in pieces of 7 bytes.
        ws.set_nodelay(true).unwrap();
        for chunk in frames.chunks(7) {
            ws.write_all(chunk).unwrap();
        }
        // Keep the socket until the client has read the close.
        let mut rest = Vec::new();
        let _ = ws.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = ws.read_to_end(&mut rest);
    });

    let client = Client::builder(url.as_str())
        .credentials("hey", "peekaboo")
        .app("hello")
        .connect()
        .unwrap();
    let (tx, rx) = unbounded();
    let events = tx.clone();
    client.on_any_event(move |_, e: &Event| {
        let _ = events.send(Ok(e.clone()));
    });
    client.on_connection_state(move |s: &ConnectionState| {
        if let ConnectionState::Lost(why) = s {
            let _ = tx.send(Err(why.clone()));
        }
    });
    let mut got = Vec::new();
    let lost = loop {
        match rx.recv_timeout(Duration::from_secs(10)).expect("events") {
            Ok(e) => got.push(e),
            Err(why) => break why,
        }
    };
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
