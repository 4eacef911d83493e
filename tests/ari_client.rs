//! The ARI client against `AriServer` over loopback: REST through
//! repositories and handles, events through callbacks, typed errors, and
//! the WebSocket's faults (malformed frames, unknown events, a cut
//! mid-frame, a peer that stops answering) with and without reconnection.
#![cfg(feature = "ari")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astrix::ari::events::{ChannelDestroyed, StasisEnd, StasisStart};
use astrix::ari::{AriError, Client, ConnectionState, Event, ReconnectPolicy};
use astrix::testing::{AriServer, HttpReply};
use astrix::ErrorChain;
use crossbeam_channel::{unbounded, Receiver};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

fn client(server: &AriServer, app: &str) -> Client {
    Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app(app)
        .connect()
        .expect("connect")
}

/// Every event type the client sees, in order.
fn event_log(client: &Client) -> Receiver<String> {
    let (tx, rx) = unbounded();
    client.on_any_event(move |_, e: &Event| {
        let _ = tx.send(e.event_type().to_owned());
    });
    rx
}

/// The next state other than `Connected` (which the reader reports first).
fn next_state(rx: &Receiver<ConnectionState>) -> ConnectionState {
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(ConnectionState::Connected) => continue,
            Ok(s) => return s,
            Err(_) => panic!("no connection state within {WAIT:?}"),
        }
    }
}

fn wait_for(rx: &Receiver<String>, kind: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(k) => {
                let done = k == kind;
                seen.push(k);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("no {kind} within {WAIT:?}; saw {seen:?}"),
        }
    }
}

#[test]
fn originate_answer_play_hangup_through_handles_and_callbacks() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "hello");
    let log = event_log(&client);

    // Subscribe before the channel exists: not even StasisStart is missed.
    let id = client.new_id();
    let channel = client.channel(id.clone());
    let (tx, per_channel) = unbounded();
    channel.on_event("*", move |ch, e| {
        let _ = tx.send((ch.id().to_owned(), e.event_type().to_owned()));
    });
    client.start();
    let created = client
        .channels()
        .originate("PJSIP/alice")
        .app("hello")
        .app_args("one,two")
        .channel_id(&id)
        .variable("ASTRIX_TAG", "x y/z")
        .send()
        .unwrap();
    assert_eq!(created.id(), id);
    assert_eq!(
        created.data().map(|c| c.name.starts_with("PJSIP/alice")),
        Some(true)
    );
    let seen = wait_for(&log, "StasisStart");
    assert!(seen.contains(&"ChannelVarset".to_owned()), "{seen:?}");
    let (first_id, first) = per_channel.recv_timeout(WAIT).unwrap();
    assert_eq!(first_id, id);
    assert_eq!(first, "ChannelVarset");

    channel.answer().unwrap();
    channel.set_channel_var("ASTRIX_ARI", "ok").send().unwrap();
    assert_eq!(
        server.channel_variable(&id, "ASTRIX_ARI").as_deref(),
        Some("ok")
    );
    let var = channel.get_channel_var("ASTRIX_ARI").unwrap();
    assert_eq!(var.value, "ok");
    let missing = channel.get_channel_var("NOPE").unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    let playback = channel.play("sound:beep").send().unwrap();
    assert!(playback.data().is_some());
    wait_for(&log, "PlaybackFinished");

    channel.hangup().send().unwrap();
    let seen = wait_for(&log, "ChannelDestroyed");
    assert!(seen.contains(&"StasisEnd".to_owned()), "{seen:?}");
    let kinds: Vec<String> = per_channel.try_iter().map(|(_, k)| k).collect();
    assert!(kinds.contains(&"StasisStart".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"ChannelDestroyed".to_owned()), "{kinds:?}");
    // The channel is gone, and so is its subscription.
    assert_eq!(client.object_subscriptions(), 0);
    let gone = channel.answer().unwrap_err();
    assert_eq!(gone.status(), Some(404));
    client.close();
}

#[test]
fn callbacks_make_rest_calls_without_deadlock() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, answered) = unbounded();
    client.on(move |client: &Client, e: &StasisStart| {
        let channel = client.channel(e.channel.id.clone());
        let result = channel
            .answer()
            .and_then(|()| channel.set_channel_var("FROM_CALLBACK", "1").send())
            .and_then(|()| client.channels().get(channel.id()))
            .map(|c| c.data().map(|d| d.state.clone()));
        let _ = tx.send(result);
    });
    client.start();
    for i in 0..20 {
        server.incoming_call("app", &[&i.to_string()]);
    }
    for _ in 0..20 {
        let state = answered
            .recv_timeout(WAIT)
            .expect("callback finished")
            .unwrap();
        assert_eq!(state.as_deref(), Some("Up"));
    }
}

#[test]
fn bridges_take_channel_handles() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let log = event_log(&client);
    client.start();
    let a = client.channel(server.incoming_call("app", &[]));
    let b = client.channel(server.incoming_call("app", &[]));
    let bridge = client
        .bridges()
        .create()
        .kind("mixing")
        .name("room")
        .send()
        .unwrap();
    bridge.add_channel([&a, &b]).send().unwrap();
    wait_for(&log, "ChannelEnteredBridge");
    let snapshot = bridge.refresh().unwrap();
    let mut members = snapshot.data().unwrap().channels.clone();
    members.sort();
    let mut want = vec![a.id().to_owned(), b.id().to_owned()];
    want.sort();
    assert_eq!(members, want);
    bridge.remove_channel(&a).unwrap();
    wait_for(&log, "ChannelLeftBridge");
    bridge.destroy().unwrap();
    wait_for(&log, "BridgeDestroyed");
    assert!(client
        .bridges()
        .get(bridge.id())
        .unwrap_err()
        .is_not_found());
}

#[test]
fn http_errors_are_typed_with_asterisks_message() {
    let server = AriServer::start().unwrap();
    let client = Client::new(&server.url(), "hey", "peekaboo").unwrap();

    let e = client.channels().get("no-such-channel").unwrap_err();
    assert!(e.is_not_found());
    assert!(
        matches!(&e, AriError::Status { message, .. } if message == "Channel not found"),
        "{e}"
    );

    let e = client.channels().originate("").app("x").send().unwrap_err();
    assert!(e.is_bad_request(), "{e}");
    assert!(e.to_string().contains("Endpoint must be specified"), "{e}");

    // 409: the channel left the application.
    let id = server.incoming_call("x", &[]);
    client
        .channel(id.clone())
        .continue_in_dialplan()
        .send()
        .unwrap();
    let e = client.channel(id).answer().unwrap_err();
    assert!(e.is_conflict(), "{e}");

    let bad = Client::new(&server.url(), "hey", "wrong").unwrap();
    let e = bad.asterisk().get_info().send().unwrap_err();
    assert!(e.is_unauthorized(), "{e}");

    // A proxy's 500 page, then a 200 whose body is not JSON.
    server.on_request(|req| {
        (req.path == "/ari/channels").then(|| {
            HttpReply::new(500)
                .header("Content-Type", "text/html")
                .body("<html><body>Internal Server Error</body></html>")
        })
    });
    let e = client.channels().list().unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert!(e.to_string().contains("Internal Server Error"), "{e}");
    server.clear_request_handlers();
    server.on_request(|req| {
        (req.path == "/ari/channels").then(|| {
            HttpReply::new(200)
                .header("Content-Type", "application/json")
                .body("[{\"id\":")
        })
    });
    let e = client.channels().list().unwrap_err();
    assert!(matches!(e, AriError::Json { .. }), "{e}");
}

#[test]
fn ids_with_reserved_characters_are_encoded() {
    let server = AriServer::start().unwrap();
    let client = Client::new(&server.url(), "hey", "peekaboo").unwrap();
    let id = "a/b?c d+e&f#g%h";
    let e = client.channels().get(id).unwrap_err();
    assert!(e.is_not_found());
    let req = server.requests().into_iter().last().unwrap();
    assert_eq!(req.path, format!("/ari/channels/{id}"));
    let ch = client
        .channels()
        .originate("Local/1@ctx")
        .app("x")
        .channel_id(id)
        .app_args("a b,c&d")
        .send()
        .unwrap();
    assert_eq!(ch.id(), id);
    let req = server.requests().into_iter().last().unwrap();
    assert_eq!(req.query_value("appArgs"), Some("a b,c&d"));
    assert_eq!(req.query_value("channelId"), Some(id));
}

#[test]
fn urls_are_checked_by_connect_before_any_io() {
    // Typed errors, whether or not applications would open a WebSocket.
    for url in [
        "http://host:8088:99",
        "http://host:99999",
        "http://host:port",
        "http://:8088",
        "http://[::1:8088",
        "http://ho st:8088",
        "http://host/a b",
        "ftp://host",
        "host:8088",
        "http://host/a?b",
    ] {
        let e = Client::new(url, "hey", "peekaboo").unwrap_err();
        assert!(matches!(e, AriError::Url { .. }), "{url}: {e:?}");
        let e = Client::builder(url).app("x").connect().unwrap_err();
        assert!(matches!(e, AriError::Url { .. }), "{url}: {e:?}");
    }
    // Good ones open a REST-only client without touching the network.
    for url in [
        "http://127.0.0.1:8088",
        "http://[::1]:8088",
        "http://pbx.example.com/asterisk",
        "HTTP://PBX:8088/asterisk/ari/",
    ] {
        assert!(Client::new(url, "hey", "peekaboo").is_ok(), "{url}");
    }
    let https = Client::new("https://pbx.example.com:8089", "hey", "peekaboo");
    if cfg!(feature = "tls") {
        assert!(https.is_ok(), "{https:?}");
    } else {
        assert!(matches!(https, Err(AriError::Url { .. })), "{https:?}");
    }
}

#[test]
fn refused_connections_are_errors_not_hangs() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let e = Client::builder(url.as_str())
        .credentials("a", "b")
        .app("x")
        .connect()
        .unwrap_err();
    assert!(matches!(e, AriError::WebSocket { .. }), "{e}");
    let rest = Client::new(&url, "a", "b").unwrap();
    let e = rest.channels().list().unwrap_err();
    assert!(matches!(e, AriError::Transport { .. }), "{e}");

    let server = AriServer::start().unwrap();
    let e = Client::builder(server.url())
        .credentials("hey", "nope")
        .app("x")
        .connect()
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    for bad in ["ftp://x", "127.0.0.1:8088", "http://u:p@h:1"] {
        assert!(
            matches!(Client::new(bad, "a", "b"), Err(AriError::Url { .. })),
            "{bad}"
        );
    }
}

#[test]
fn bad_frames_are_reported_and_later_events_still_arrive() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e2 = errors.clone();
    client.on_protocol_error(move |e| e2.lock().unwrap().push(e.to_string()));
    let (tx, rx) = unbounded();
    client.on_any_event(move |_, e: &Event| {
        let _ = tx.send(e.clone());
    });
    // A callback that panics does not stop the others or later events.
    client.on_event("Marker", |_, _| panic!("callback bug"));
    client.start();

    server.push_raw_frame("{not json");
    server.push_raw_frame("[1,2,3]");
    server.push_event(json!({"type": "BrandNewEvent", "application": "app", "x": 1}));
    server.push_event(json!({"type": "StasisStart", "application": "app", "args": []}));
    server.push_event(json!({"type": "Marker", "application": "app"}));
    server.incoming_call("app", &[]);

    let mut got = Vec::new();
    while !got
        .iter()
        .any(|e: &Event| matches!(e, Event::StasisStart(_)))
    {
        got.push(rx.recv_timeout(WAIT).expect("events after the bad frames"));
    }
    let unknown: Vec<_> = got
        .iter()
        .filter_map(|e| match e {
            Event::Unknown(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(unknown[0].kind, "BrandNewEvent");
    assert_eq!(unknown[0].json.get("x"), Some(&json!(1)));
    assert!(unknown[0].error.is_none());
    // A StasisStart without its channel: kept, with the reason.
    assert_eq!(unknown[1].kind, "StasisStart");
    assert!(
        unknown[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("channel")),
        "{:?}",
        unknown[1]
    );
    assert_eq!(unknown[2].kind, "Marker");
    assert_eq!(
        errors.lock().unwrap().len(),
        2,
        "{:?}",
        errors.lock().unwrap()
    );
}

#[test]
fn a_websocket_cut_mid_frame_is_reported_and_reconnected() {
    let server = AriServer::start().unwrap();
    let client = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app("app")
        .reconnect(ReconnectPolicy::new().initial_delay(Duration::from_millis(20)))
        .connect()
        .unwrap();
    let (tx, states) = unbounded();
    client.on_connection_state(move |s: &ConnectionState| {
        let _ = tx.send(s.clone());
    });
    let started = Arc::new(AtomicUsize::new(0));
    let s2 = started.clone();
    client.on(move |_: &Client, _: &StasisStart| {
        s2.fetch_add(1, Ordering::SeqCst);
    });
    client.start();
    assert!(server.wait_for_websockets(1, WAIT));
    server.cut_websockets_mid_frame();
    assert!(matches!(next_state(&states), ConnectionState::Lost(_)));
    assert!(matches!(next_state(&states), ConnectionState::Reconnected));
    // The application is registered again: its calls arrive.
    server.incoming_call("app", &[]);
    let deadline = Instant::now() + WAIT;
    while started.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(started.load(Ordering::SeqCst), 1);
    client.close();
    assert_eq!(client.wait_closed().ok(), Some(()));
}

#[test]
fn without_reconnection_a_dead_websocket_ends_the_events_with_an_error() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, states) = unbounded();
    client.on_connection_state(move |s: &ConnectionState| {
        let _ = tx.send(s.clone());
    });
    client.start();
    assert!(server.wait_for_websockets(1, WAIT));
    server.close_websockets();
    assert!(matches!(next_state(&states), ConnectionState::Lost(_)));
    let e = client.wait_closed().unwrap_err();
    assert!(matches!(e, AriError::WebSocket { .. }), "{e}");
    // REST still works.
    assert!(client.channels().list().unwrap().is_empty());
}

#[test]
fn reconnection_gives_up_after_max_attempts() {
    let server = AriServer::start().unwrap();
    let client = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app("app")
        .reconnect(
            ReconnectPolicy::new()
                .initial_delay(Duration::from_millis(5))
                .max_attempts(3),
        )
        .connect()
        .unwrap();
    let (tx, states) = unbounded();
    client.on_connection_state(move |s: &ConnectionState| {
        let _ = tx.send(s.clone());
    });
    client.start();
    assert!(server.wait_for_websockets(1, WAIT));
    drop(server);
    assert!(matches!(next_state(&states), ConnectionState::Lost(_)));
    assert!(matches!(next_state(&states), ConnectionState::GaveUp(_)));
    assert!(client.wait_closed().is_err());
}

/// A server that completes the WebSocket handshake, then never reads or
/// writes again: only the keepalive can tell it is dead.
#[test]
fn keepalive_detects_a_silent_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte).unwrap() == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let key = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("Sec-WebSocket-Key: ")
                    .or_else(|| l.strip_prefix("sec-websocket-key: "))
            })
            .unwrap()
            .trim()
            .to_owned();
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        // Answer the registration check (GET /ari/applications/x), then
        // stay silent on the WebSocket.
        let (mut http, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = http.read(&mut buf);
        http.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            .unwrap();
        std::thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let client = Client::builder(url.as_str())
        .credentials("a", "b")
        .app("x")
        .keepalive(Duration::from_millis(100))
        .connect()
        .unwrap();
    let started = Instant::now();
    let e = client.wait_closed().unwrap_err();
    let why = ErrorChain(&e).to_string();
    assert!(why.contains("ping"), "{why}");
    assert!(e.is_timeout(), "{why}");
    assert!(started.elapsed() < Duration::from_secs(3));
    peer.join().unwrap();
}

#[test]
fn typed_callbacks_and_removal() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let ends = Arc::new(AtomicUsize::new(0));
    let e2 = ends.clone();
    let sub = client.on(move |_: &Client, e: &StasisEnd| {
        assert!(!e.channel.id.is_empty());
        e2.fetch_add(1, Ordering::SeqCst);
    });
    let (tx, destroyed) = unbounded();
    client.on(move |_: &Client, e: &ChannelDestroyed| {
        let _ = tx.send(e.cause);
    });
    client.start();
    let id = server.incoming_call("app", &[]);
    server.hangup_with_cause(&id, 17);
    assert_eq!(destroyed.recv_timeout(WAIT).unwrap(), 17);
    assert_eq!(ends.load(Ordering::SeqCst), 1);
    assert!(client.remove_callback(sub));
    assert!(!client.remove_callback(sub));
    let id = server.incoming_call("app", &[]);
    server.hangup(&id);
    destroyed.recv_timeout(WAIT).unwrap();
    assert_eq!(ends.load(Ordering::SeqCst), 1);
}

#[test]
fn limits_bound_events_and_responses() {
    let server = AriServer::start().unwrap();
    let client = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app("app")
        .max_event_size(4096)
        .max_response_size(4096)
        .connect()
        .unwrap();
    // A small event passes; one over the limit ends the connection with an
    // error instead of growing a buffer.
    let (tx, rx) = unbounded();
    client.on_any_event(move |_, e: &Event| {
        let _ = tx.send(e.event_type().to_owned());
    });
    client.start();
    server.push_event(json!({"type": "Small", "application": "app"}));
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), "Small");
    server.push_event(json!({"type": "Big", "application": "app", "x": "y".repeat(10_000)}));
    let e = client.wait_closed().unwrap_err();
    let why = ErrorChain(&e).to_string();
    assert!(why.contains("too long"), "{why}");

    let big = "z".repeat(10_000);
    server.on_request(move |req| {
        (req.path == "/ari/sounds").then(|| {
            HttpReply::new(200)
                .header("Content-Type", "application/json")
                .body(format!("[{{\"id\":\"{big}\",\"formats\":[]}}]"))
        })
    });
    let e = client.sounds().list().send().unwrap_err();
    assert!(matches!(e, AriError::Transport { .. }), "{e}");
}

#[test]
fn header_injection_and_bad_names_are_refused_before_sending() {
    let server = AriServer::start().unwrap();
    let e = Client::builder(server.url())
        .credentials("hey\r\nX-Evil: 1", "peekaboo")
        .connect()
        .unwrap_err();
    assert!(matches!(e, AriError::Invalid(_)), "{e}");
    let e = Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app("a,b")
        .connect()
        .unwrap_err();
    assert!(matches!(e, AriError::Invalid(_)), "{e}");
    assert!(server.requests().is_empty());
}

#[test]
fn closing_from_a_callback_while_the_queue_is_full_does_not_deadlock() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, closed) = unbounded();
    let calls = AtomicUsize::new(0);
    client.on_event("Flood", move |client: &Client, _| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            // Let the reader fill the dispatcher's queue, then close.
            std::thread::sleep(Duration::from_millis(300));
            client.close();
            let _ = tx.send(());
        }
    });
    client.start();
    // 6,000 events, more than the client's queue of 4,096, written as one
    // block of frames: the emulator drops a WebSocket whose own queue of
    // commands overflows (as Asterisk drops a slow consumer), which would
    // end the events with an error instead of the close under test.
    let mut frames = Vec::new();
    for i in 0..6_000 {
        let text = json!({"type": "Flood", "application": "app", "i": i}).to_string();
        frames.push(0x81); // FIN, text
        match u16::try_from(text.len()) {
            Ok(n) if n < 126 => frames.push(n as u8),
            Ok(n) => {
                frames.push(126);
                frames.extend_from_slice(&n.to_be_bytes());
            }
            Err(_) => unreachable!("a short event"),
        }
        frames.extend_from_slice(text.as_bytes());
    }
    server.push_raw_bytes(&frames);
    closed.recv_timeout(WAIT).expect("close() returned");
    if let Err(e) = client.wait_closed() {
        panic!("{}", astrix::ErrorChain(&e));
    }
}

#[test]
fn subscriptions_stream_events_and_end_with_them() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    // A queue of one, drained on a thread of its own: the dispatcher
    // waits for it at each event, and nothing is dropped.
    let all = client.subscribe(1);
    let drain = std::thread::spawn(move || {
        let kinds: Vec<String> = all.iter().map(|e| e.event_type().to_owned()).collect();
        (kinds, all.recv().is_err())
    });
    let starts = client.subscribe_to::<StasisStart>(8);
    // Dropped without reading: it unsubscribes, nothing waits for it.
    let forgotten = client.subscribe(1);
    drop(forgotten);
    client.start();
    assert!(client
        .wait_closed_timeout(Duration::from_millis(50))
        .is_none());
    let id = server.incoming_call("app", &["x"]);
    let start = starts.recv_timeout(WAIT).unwrap();
    assert_eq!(start.channel.id, id);
    assert_eq!(start.args, ["x"]);
    client.close();
    assert!(client.wait_closed_timeout(WAIT).is_some_and(|r| r.is_ok()));
    let (kinds, ended) = drain.join().unwrap();
    assert!(kinds.contains(&"StasisStart".to_owned()), "{kinds:?}");
    assert!(ended);
    assert!(starts.recv_timeout(WAIT).is_err());
    // A REST-only client has no events: its streams end at once.
    let rest = Client::new(&server.url(), "hey", "peekaboo").unwrap();
    assert!(rest.subscribe(4).recv().is_err());
    assert!(rest.wait_closed().is_ok());
}
