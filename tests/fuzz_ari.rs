//! Fuzzing `AriServer` over loopback: mutations of the recorded ARI
//! requests (`ari_rest.txt`, `ari_events_ws.txt`) and arbitrary bytes at the
//! HTTP reader, and well-formed requests with random paths, parameters and
//! JSON bodies at the REST resources.
//!
//! Properties: no thread of the server panics; every connection ends; the
//! server still answers afterwards.
//!
//! `cargo test --features ari --test fuzz_ari` runs a short seeded run;
//! `ASTRIX_FUZZ_CASES=100000` a long one.
#![cfg(feature = "ari")]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

use astrix::testing::AriServer;
use common::mutate::{self, cases, Rng};
use common::{transcript, Side};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics of the server's threads (the test thread's own panics go
/// through as usual).
fn count_server_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("astrix-arisrv"))
            {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Sends `bytes`, half-closes, and reads until the server closes.
fn exchange(server: &AriServer, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(server.socket_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    // Every connection ends: an end of stream or a reset (the server
    // closing with input unread), never a timeout.
    if let Err(e) = s.read_to_end(&mut out) {
        assert!(
            !matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
            "the connection did not end: {e}"
        );
    }
    out
}

fn still_serving(server: &AriServer) {
    let r = exchange(
        server,
        b"GET /ari/asterisk/ping?api_key=hey:peekaboo HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(
        r.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        String::from_utf8_lossy(&r)
    );
}

/// The requests the recording clients sent.
fn corpus() -> Vec<Vec<u8>> {
    ["ari_rest.txt", "ari_events_ws.txt"]
        .iter()
        .flat_map(|f| transcript(f))
        .filter(|(side, _)| *side == Side::Client)
        .map(|(_, b)| b)
        .collect()
}

#[test]
fn http_reader_survives_mutated_requests() {
    count_server_panics();
    let server = AriServer::start().unwrap();
    let corpus = corpus();
    let refs: Vec<&[u8]> = corpus.iter().map(Vec::as_slice).collect();
    assert!(refs.len() >= 10);
    mutate::run("ari_http", 0xA71, cases(300), |rng| {
        let input = mutate::input(rng, &refs, 4096, 64 * 1024);
        let answer = exchange(&server, &input);
        if !answer.is_empty() {
            assert!(
                answer.starts_with(b"HTTP/1.1 "),
                "{:?}",
                String::from_utf8_lossy(&answer)
            );
        }
    });
    still_serving(&server);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "HEAD"];
const PATHS: &[&str] = &[
    "channels",
    "channels/{c}",
    "channels/create",
    "channels/{c}/answer",
    "channels/{c}/ring",
    "channels/{c}/continue",
    "channels/{c}/move",
    "channels/{c}/play",
    "channels/{c}/play/{p}",
    "channels/{c}/variable",
    "channels/{c}/variables",
    "channels/{c}/dial",
    "channels/{c}/mute",
    "channels/{c}/dtmf",
    "channels/{c}/hold",
    "bridges",
    "bridges/{b}",
    "bridges/{b}/addChannel",
    "bridges/{b}/removeChannel",
    "bridges/{b}/play",
    "playbacks/{p}",
    "playbacks/{p}/control",
    "applications",
    "applications/{a}",
    "applications/{a}/subscription",
    "events/user/{x}",
    "asterisk/info",
    "asterisk/variable",
    "sounds",
    "sounds/{x}",
    "endpoints",
    "events",
];
const PARAMS: &[&str] = &[
    "endpoint",
    "app",
    "appArgs",
    "channelId",
    "otherChannelId",
    "callerId",
    "extension",
    "context",
    "priority",
    "label",
    "reason",
    "reason_code",
    "variable",
    "value",
    "variables",
    "media",
    "lang",
    "skipms",
    "offsetms",
    "playbackId",
    "operation",
    "channel",
    "type",
    "name",
    "bridgeId",
    "eventSource",
    "application",
    "source",
    "direction",
    "dtmf",
    "only",
];

fn value(rng: &mut Rng, ids: &[String]) -> String {
    match rng.below(8) {
        0 => String::new(),
        1 => rng.pick(ids).clone(),
        2 => format!("{},{}", rng.pick(ids), rng.pick(ids)),
        3 => [
            "-1",
            "0",
            "99999999999999999999",
            "9223372036854775807",
            "1.5",
        ][rng.below(5)]
        .into(),
        4 => [
            "PJSIP/a",
            "Local/1@t",
            "x",
            "/",
            "sound:hello",
            "channel:",
            "pause",
            "busy",
        ][rng.below(8)]
        .into(),
        _ => {
            let n = rng.below(12);
            rng.bytes(n).iter().map(|b| format!("%{b:02X}")).collect()
        }
    }
}

fn json_value(rng: &mut Rng, ids: &[String], depth: usize) -> serde_json::Value {
    use serde_json::json;
    match rng.below(if depth > 2 { 4 } else { 6 }) {
        0 => json!(value(rng, ids)),
        1 => json!(rng.next() as i64),
        2 => json!(rng.one_in(2)),
        3 => serde_json::Value::Null,
        4 => json!((0..rng.below(3))
            .map(|_| json_value(rng, ids, depth + 1))
            .collect::<Vec<_>>()),
        _ => {
            let mut o = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                o.insert(
                    rng.pick(PARAMS).to_string(),
                    json_value(rng, ids, depth + 1),
                );
            }
            serde_json::Value::Object(o)
        }
    }
}

#[test]
fn rest_resources_survive_random_requests() {
    count_server_panics();
    let server = AriServer::builder()
        .playback_duration(Duration::from_millis(1))
        .start()
        .unwrap();
    let stream = TcpStream::connect(server.socket_addr()).unwrap();
    let (_ws, _) = tungstenite::client(server.events_url("app1,app2"), stream).unwrap();
    assert!(server.wait_for_websockets(1, Duration::from_secs(5)));
    mutate::run("ari_rest", 0xA72, cases(400), |rng| {
        if rng.one_in(10) {
            server.incoming_call(if rng.one_in(2) { "app1" } else { "app2" }, &["a"]);
        }
        let mut ids = server.channel_ids();
        ids.extend(server.bridge_ids());
        ids.extend(["app1".to_string(), "nope".to_string(), "a%2Fb".to_string()]);
        let path: String = rng
            .pick(PATHS)
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    value(rng, &ids).replace(['/', '?', '#', ' '], "_")
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let query: Vec<String> = (0..rng.below(5))
            .map(|_| {
                format!(
                    "{}={}",
                    rng.pick(PARAMS),
                    value(rng, &ids).replace([' ', '#'], "+")
                )
            })
            .collect();
        let body = if rng.one_in(2) {
            json_value(rng, &ids, 0).to_string()
        } else {
            String::new()
        };
        let req = format!(
            "{} /ari/{path}?{}&api_key=hey:peekaboo HTTP/1.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            rng.pick(&METHODS),
            query.join("&"),
            body.len()
        );
        let answer = exchange(&server, req.as_bytes());
        assert!(answer.starts_with(b"HTTP/1.1 "), "{req}");
        if rng.one_in(20) {
            if let Some(id) = server.channel_ids().first() {
                server.hangup(id);
            }
        }
    });
    still_serving(&server);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}
