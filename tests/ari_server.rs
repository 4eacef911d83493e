//! `AriServer` over loopback: plain ureq for HTTP, tungstenite for the
//! events WebSocket, raw sockets for keep-alive and malformed HTTP.
#![cfg(feature = "ari")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use astrix::testing::{AriServer, HttpReply};
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

const AUTH: &str = "Basic aGV5OnBlZWthYm9v"; // hey:peekaboo

struct Http {
    agent: ureq::Agent,
    base: String,
}

/// (status, reason, headers we look at, body)
struct Answer {
    status: u16,
    location: Option<String>,
    www_auth: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

impl Http {
    fn new(server: &AriServer) -> Http {
        Http {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            base: server.url(),
        }
    }

    fn finish(mut r: ureq::http::Response<ureq::Body>) -> Answer {
        let h = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Answer {
            status: r.status().as_u16(),
            location: h("Location"),
            www_auth: h("WWW-Authenticate"),
            content_type: h("Content-Type"),
            body: r.body_mut().read_to_string().unwrap(),
        }
    }

    fn get(&self, path: &str) -> Answer {
        let r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Authorization", AUTH)
            .call()
            .unwrap();
        Self::finish(r)
    }

    fn post(&self, path: &str) -> Answer {
        let r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Authorization", AUTH)
            .send_empty()
            .unwrap();
        Self::finish(r)
    }

    fn post_json(&self, path: &str, body: &Value) -> Answer {
        let r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Authorization", AUTH)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        Self::finish(r)
    }

    fn delete(&self, path: &str) -> Answer {
        let r = self
            .agent
            .delete(&format!("{}{path}", self.base))
            .header("Authorization", AUTH)
            .call()
            .unwrap();
        Self::finish(r)
    }
}

struct Events {
    ws: WebSocket<TcpStream>,
    apps: Vec<String>,
    /// Events read so far.
    received: usize,
}

impl Events {
    fn open(server: &AriServer, apps: &str) -> Events {
        let stream = TcpStream::connect(server.socket_addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let (ws, resp) = tungstenite::client(server.events_url(apps), stream).unwrap();
        assert_eq!(resp.status().as_u16(), 101);
        let apps = apps
            .split('&')
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::to_owned)
            .collect();
        Events {
            ws,
            apps,
            received: 0,
        }
    }

    /// The next message, waiting up to 5 s.
    fn next_message(&mut self) -> Result<Message, tungstenite::Error> {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            match self.ws.read() {
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) && Instant::now() < end => {}
                other => return other,
            }
        }
    }

    fn next(&mut self) -> Value {
        match self.next_message() {
            Ok(Message::Text(t)) => {
                self.received += 1;
                serde_json::from_str(&t).unwrap()
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// True when nothing arrives within 100 ms and the server has logged
    /// no event for these applications beyond those read (so that an
    /// event arriving late on a loaded machine cannot pass unseen).
    fn quiet(&mut self, server: &AriServer) -> bool {
        let silent = matches!(self.ws.read(), Err(tungstenite::Error::Io(e))
            if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
        let logged = server
            .events()
            .iter()
            .filter(|e| {
                e["application"]
                    .as_str()
                    .is_some_and(|a| self.apps.iter().any(|x| x == a))
            })
            .count();
        silent && logged == self.received
    }

    /// The next `n` events.
    fn types(&mut self, n: usize) -> Vec<Value> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn kinds(evs: &[Value]) -> Vec<&str> {
    evs.iter()
        .map(|e| e["type"].as_str().unwrap_or("?"))
        .collect()
}

fn started(apps: &str) -> (AriServer, Http, Events) {
    let server = AriServer::start().unwrap();
    let http = Http::new(&server);
    let events = Events::open(&server, apps);
    assert!(server.wait_for_websockets(1, Duration::from_secs(5)));
    (server, http, events)
}

#[test]
fn originate_into_an_app_sends_varset_then_stasis_start() {
    let (server, http, mut ev) = started("hello");
    let r = http.post_json(
        "/ari/channels?endpoint=PJSIP/alice&app=hello&appArgs=orig,x&callerId=%22Ari%20Test%22%20%3C7000%3E",
        &json!({"variables": {"ASTRIX_TAG": "ari-originated"}}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let ch = r.json();
    assert_eq!(ch["state"], "Down");
    assert_eq!(ch["caller"], json!({"name": "Ari Test", "number": "7000"}));
    assert_eq!(ch["dialplan"]["app_name"], "AppDial2");
    let id = ch["id"].as_str().unwrap().to_owned();

    let evs = ev.types(4);
    assert_eq!(
        kinds(&evs),
        [
            "ChannelVarset",
            "ChannelStateChange",
            "ChannelVarset",
            "StasisStart"
        ]
    );
    assert_eq!(evs[0]["variable"], "ASTRIX_TAG");
    assert_eq!(evs[0]["value"], "ari-originated");
    assert_eq!(evs[2]["variable"], "STASISSTATUS");
    let start = &evs[3];
    assert_eq!(start["args"], json!(["orig", "x"]));
    assert_eq!(start["channel"]["id"], id.as_str());
    assert_eq!(start["channel"]["state"], "Up");
    assert_eq!(start["channel"]["dialplan"]["app_data"], "hello,orig,x");
    assert_eq!(start["application"], "hello");
    assert_eq!(start["asterisk_id"], "02:fc:00:00:00:01");
    let ts = start["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), "2026-11-23T07:21:44.273+0000".len());
    assert!(ts.ends_with("+0000"));

    assert_eq!(
        server.channel_variable(&id, "ASTRIX_TAG").as_deref(),
        Some("ari-originated")
    );
    let app = http.get("/ari/applications/hello").json();
    assert_eq!(app["channel_ids"], json!([id]));
    let list = http.get("/ari/applications").json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[test]
fn a_call_is_answered_played_to_and_hung_up() {
    let (server, http, mut ev) = started("hello");
    let id = server.incoming_call("hello", &["first arg", "second"]);
    let start = ev.next();
    assert_eq!(start["type"], "StasisStart");
    assert_eq!(start["args"], json!(["first arg", "second"]));
    assert_eq!(start["channel"]["state"], "Ring");

    assert_eq!(http.post(&format!("/ari/channels/{id}/answer")).status, 204);
    let e = ev.next();
    assert_eq!(
        (e["type"].as_str(), e["channel"]["state"].as_str()),
        (Some("ChannelStateChange"), Some("Up"))
    );

    let r = http.post(&format!(
        "/ari/channels/{id}/variable?variable=ASTRIX_TAG&value=set%20by%20ari"
    ));
    assert_eq!(r.status, 204);
    assert_eq!(r.body, "");
    let e = ev.next();
    assert_eq!(
        (e["variable"].as_str(), e["value"].as_str()),
        (Some("ASTRIX_TAG"), Some("set by ari"))
    );
    let r = http.get(&format!("/ari/channels/{id}/variable?variable=ASTRIX_TAG"));
    assert_eq!(r.body, r#"{"value":"set by ari"}"#);
    let r = http.get(&format!("/ari/channels/{id}/variable?variable=NOT_SET_VAR"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"message":"Provided variable was not found"}"#)
    );
    let r = http.get(&format!("/ari/channels/{id}/variable"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"message":"Variable name is required"}"#)
    );

    let r = http.post(&format!(
        "/ari/channels/{id}/play?media=sound:hello-world,digits:12"
    ));
    assert_eq!(r.status, 201);
    let pb = r.json();
    assert_eq!(pb["state"], "queued");
    assert_eq!(pb["media_uri"], "sound:hello-world");
    assert_eq!(pb["next_media_uri"], "digits:12");
    assert_eq!(pb["target_uri"], format!("channel:{id}"));
    let pid = pb["id"].as_str().unwrap().to_owned();
    assert_eq!(r.location, Some(format!("/ari/playbacks/{pid}")));
    let evs = ev.types(4);
    assert_eq!(
        kinds(&evs),
        [
            "PlaybackStarted",
            "PlaybackContinuing",
            "PlaybackStarted",
            "PlaybackFinished"
        ]
    );
    assert_eq!(evs[2]["playback"]["media_uri"], "digits:12");
    assert_eq!(evs[3]["playback"]["state"], "done");
    assert_eq!(http.get(&format!("/ari/playbacks/{pid}")).status, 404);

    assert_eq!(
        http.delete(&format!("/ari/channels/{id}?reason=busy"))
            .status,
        204
    );
    let evs = ev.types(3);
    assert_eq!(
        kinds(&evs),
        ["ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"]
    );
    assert_eq!(evs[0]["soft"], true);
    assert_eq!(evs[2]["cause"], 17);
    assert_eq!(evs[2]["cause_txt"], "User busy");
    assert!(server.channel(&id).is_none());
    let r = http.delete(&format!("/ari/channels/{id}"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"message":"Channel not found"}"#)
    );
}

#[test]
fn far_end_hangup_and_missing_sounds() {
    let server = AriServer::builder()
        .sounds(&["hello-world"])
        .playback_duration(Duration::from_secs(30))
        .start()
        .unwrap();
    let http = Http::new(&server);
    let mut ev = Events::open(&server, "hello");
    assert!(server.wait_for_app("hello", Duration::from_secs(5)));
    let id = server.incoming_call("hello", &[]);
    assert_eq!(ev.next()["args"], json!([]));
    http.post(&format!("/ari/channels/{id}/answer"));
    ev.next();
    let r = http.post(&format!("/ari/channels/{id}/play?media=sound:nosuchsound"));
    assert_eq!(r.status, 201);
    let evs = ev.types(2);
    assert_eq!(kinds(&evs), ["PlaybackStarted", "PlaybackFinished"]);
    assert_eq!(evs[1]["playback"]["state"], "failed");
    // A long playback ends when the far end hangs up.
    let r = http.post(&format!(
        "/ari/channels/{id}/play/pb1?media=sound:hello-world"
    ));
    assert_eq!(r.json()["id"], "pb1");
    assert_eq!(ev.next()["type"], "PlaybackStarted");
    assert_eq!(http.get("/ari/playbacks/pb1").json()["state"], "playing");
    assert_eq!(
        http.post("/ari/playbacks/pb1/control?operation=pause")
            .status,
        204
    );
    assert_eq!(http.get("/ari/playbacks/pb1").json()["state"], "paused");
    assert_eq!(
        http.post("/ari/playbacks/pb1/control?operation=jump")
            .status,
        400
    );
    assert!(server.hangup(&id));
    let evs = ev.types(4);
    assert_eq!(
        kinds(&evs),
        [
            "ChannelHangupRequest",
            "PlaybackFinished",
            "StasisEnd",
            "ChannelDestroyed"
        ]
    );
    assert_eq!(evs[0]["cause"], 16);
    assert!(evs[0].get("soft").is_none());
    assert_eq!(evs[3]["cause_txt"], "Normal Clearing");
    let sounds = http.get("/ari/sounds").json();
    assert_eq!(sounds[0]["id"], "hello-world");
}

#[test]
fn bridges() {
    let (server, http, mut ev) = started("hello");
    let a = server.incoming_call("hello", &[]);
    let b = server.incoming_call("hello", &[]);
    ev.types(2);
    let br = http.post("/ari/bridges?type=mixing&name=astrix").json();
    assert_eq!(br["technology"], "simple_bridge");
    assert_eq!(br["bridge_class"], "stasis");
    assert_eq!(br["channels"], json!([]));
    let bid = br["id"].as_str().unwrap().to_owned();
    assert_eq!(bid.len(), 36);

    let r = http.post(&format!("/ari/bridges/{bid}/addChannel?channel={a},{b}"));
    assert_eq!(r.status, 204);
    let evs = ev.types(2);
    assert_eq!(
        kinds(&evs),
        ["ChannelEnteredBridge", "ChannelEnteredBridge"]
    );
    assert_eq!(evs[1]["bridge"]["channels"], json!([a, b]));
    assert_eq!(
        http.get(&format!("/ari/bridges/{bid}")).json()["channels"],
        json!([a, b])
    );
    assert_eq!(server.bridge(&bid).unwrap()["name"], "astrix");

    let r = http.post(&format!("/ari/bridges/{bid}/addChannel?channel=nope"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"message":"Channel not found"}"#)
    );
    let r = http.post(&format!("/ari/bridges/{bid}/addChannel"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"message":"Missing parameter channel"}"#)
    );
    let r = http.post("/ari/bridges/nope/addChannel?channel=x");
    assert_eq!(r.status, 404);

    assert_eq!(
        http.post(&format!("/ari/bridges/{bid}/removeChannel?channel={b}"))
            .status,
        204
    );
    let e = ev.next();
    assert_eq!(e["type"], "ChannelLeftBridge");
    assert_eq!(e["channel"]["id"], b.as_str());
    let r = http.post(&format!("/ari/bridges/{bid}/removeChannel?channel={b}"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (422, r#"{"message":"Channel not in this bridge"}"#)
    );

    let r = http.post_json(
        "/ari/bridges/my-bridge",
        &json!({"type": "holding", "name": "wait"}),
    );
    assert_eq!(r.json()["technology"], "holding_bridge");
    let r = http.post("/ari/bridges/my-bridge");
    assert_eq!(r.status, 409);
    assert_eq!(
        http.get("/ari/bridges").json().as_array().map(Vec::len),
        Some(2)
    );

    assert_eq!(http.delete(&format!("/ari/bridges/{bid}")).status, 204);
    let evs = ev.types(2);
    assert_eq!(kinds(&evs), ["ChannelLeftBridge", "BridgeDestroyed"]);
    assert_eq!(evs[1]["bridge"]["channels"], json!([]));
    assert_eq!(http.delete(&format!("/ari/bridges/{bid}")).status, 404);
    // Once its channels have left, the application is no longer subscribed
    // to the bridge: destroying it sends no BridgeDestroyed (res/stasis/app.c).
    let r = http.post("/ari/bridges/empty-later");
    assert_eq!(r.status, 200);
    let path = format!("/ari/bridges/empty-later/addChannel?channel={a}");
    assert_eq!(http.post(&path).status, 204);
    let path = format!("/ari/bridges/empty-later/removeChannel?channel={a}");
    assert_eq!(http.post(&path).status, 204);
    let evs = ev.types(2);
    assert_eq!(kinds(&evs), ["ChannelEnteredBridge", "ChannelLeftBridge"]);
    assert_eq!(http.delete("/ari/bridges/empty-later").status, 204);
    assert!(ev.quiet(&server));
}

#[test]
fn continue_leaves_stasis_then_409() {
    let (server, http, mut ev) = started("hello");
    let id = server.incoming_call("hello", &[]);
    ev.next();
    let r = http.post(&format!(
        "/ari/channels/{id}/continue?context=next&extension=200&priority=2"
    ));
    assert_eq!(r.status, 204);
    assert_eq!(ev.next()["type"], "StasisEnd");
    let ch = server.channel(&id).unwrap();
    assert_eq!(ch["dialplan"]["context"], "next");
    assert_eq!(ch["dialplan"]["exten"], "200");
    assert_eq!(ch["dialplan"]["priority"], 2);
    for path in [
        "answer",
        "hold",
        "play?media=sound:x",
        "variable?variable=X&value=1",
    ] {
        let r = http.post(&format!("/ari/channels/{id}/{path}"));
        assert_eq!(
            (r.status, r.body.as_str()),
            (409, r#"{"message":"Channel not in Stasis application"}"#),
            "{path}"
        );
    }
    // Reading a variable needs no Stasis.
    assert_eq!(
        http.get(&format!("/ari/channels/{id}/variable?variable=X"))
            .status,
        404
    );
    // Its hangup reaches nobody: the app left with StasisEnd.
    assert!(server.hangup(&id));
    server.incoming_call("hello", &["after"]);
    assert_eq!(ev.next()["args"], json!(["after"]));
}

#[test]
fn errors_are_asterisks() {
    let server = AriServer::start().unwrap();
    let http = Http::new(&server);
    let r = http.get("/ari/channels/doesnotexist");
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"message":"Channel not found"}"#)
    );
    let r = http.post("/ari/channels");
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"message":"Endpoint must be specified"}"#)
    );
    let r = http.post("/ari/channels?endpoint=nobar");
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"message":"Invalid endpoint specified"}"#)
    );
    let r = http.get("/ari/nosuchresource");
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"message":"Resource not found"}"#)
    );
    let r = http.delete("/ari/asterisk/info");
    assert_eq!(
        (r.status, r.body.as_str()),
        (405, r#"{"message":"Invalid method"}"#)
    );
    let r = http.post("/ari/channels/x/record?name=a&format=wav");
    assert_eq!(r.status, 501);
    let r = http.get("/ari/channels/");
    assert_eq!(r.status, 404);
    let r = http.post_json(
        "/ari/channels",
        &json!({"endpoint": "PJSIP/a", "app": "x", "variables": {"A": 1}}),
    );
    assert_eq!(r.status, 400);
    let r = Http::finish(
        http.agent
            .post(&format!("{}/ari/channels", server.url()))
            .header("Authorization", AUTH)
            .header("Content-Type", "application/json")
            .send("{oops")
            .unwrap(),
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (400, r#"{"message":"Error parsing request body"}"#)
    );

    // 401: wrong password, no credentials, bad base64; api_key works.
    let bad = Http::finish(
        http.agent
            .get(&format!("{}/ari/asterisk/info", server.url()))
            .header("Authorization", "Basic aGV5Ondyb25n")
            .call()
            .unwrap(),
    );
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (401, r#"{"message":"Authentication required"}"#)
    );
    assert_eq!(
        bad.www_auth.as_deref(),
        Some("Basic realm=\"Asterisk REST Interface\"")
    );
    let none = Http::finish(
        http.agent
            .get(&format!("{}/ari/asterisk/info", server.url()))
            .call()
            .unwrap(),
    );
    assert_eq!(none.status, 401);
    let garbled = Http::finish(
        http.agent
            .get(&format!("{}/ari/asterisk/info", server.url()))
            .header("Authorization", "Basic aGV5!b")
            .call()
            .unwrap(),
    );
    assert_eq!(garbled.status, 401);
    let key = Http::finish(
        http.agent
            .get(&format!(
                "{}/ari/asterisk/info?api_key=hey:peekaboo",
                server.url()
            ))
            .call()
            .unwrap(),
    );
    assert_eq!(key.status, 200);
    assert_eq!(key.json()["system"]["entity_id"], "02:fc:00:00:00:01");
    assert_eq!(http.get("/ari/asterisk/ping").json()["ping"], "pong");
    assert_eq!(http.get("/ari/endpoints").body, "[]");
    assert_eq!(http.get("/ari/channels").body, "[]");
    assert_eq!(server.requests().len(), 16);
}

#[test]
fn ids_with_slashes_question_marks_and_spaces_round_trip() {
    let (server, http, mut ev) = started("hello");
    let r = http.post("/ari/channels/a%2Fb%3Fc%20d%2Be?endpoint=PJSIP/alice&app=hello");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], "a/b?c d+e");
    assert_eq!(ev.types(3)[2]["channel"]["id"], "a/b?c d+e");
    let r = http.get("/ari/channels/a%2Fb%3Fc%20d%2Be");
    assert_eq!(r.json()["id"], "a/b?c d+e");
    let r = http.post("/ari/channels/a%2Fb%3Fc%20d%2Be/variable?variable=V&value=x%26y%3Dz");
    assert_eq!(r.status, 204);
    assert_eq!(
        server.channel_variable("a/b?c d+e", "V").as_deref(),
        Some("x&y=z")
    );
    let req = server.requests().pop().unwrap();
    assert_eq!(req.path, "/ari/channels/a/b?c d+e/variable");
    assert_eq!(req.query_value("value"), Some("x&y=z"));
    // `+` decodes to a space in paths too, as in Asterisk (legacy decoding).
    assert_eq!(http.get("/ari/channels/a%2Fb%3Fc+d%2Be").status, 200);
}

fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return text[..end + 4 + len].to_owned();
            }
        }
        let n = s.read(&mut chunk).unwrap();
        if n == 0 {
            return String::from_utf8_lossy(&buf).into_owned();
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn keep_alive_and_malformed_requests() {
    let server = AriServer::start().unwrap();
    let mut s = TcpStream::connect(server.socket_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..3 {
        s.write_all(
            format!("GET /ari/asterisk/ping HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        let r = read_response(&mut s);
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\nServer: Asterisk\r\n"),
            "{r}"
        );
        assert!(!r.contains("Connection: close"));
    }
    // Pipelined, then chunked with Connection: close.
    s.write_all(
        format!(
            "POST /ari/asterisk/variable?variable=G HTTP/1.1\r\nAuthorization: {AUTH}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             d\r\n{{\"value\":\"1\"}}\r\n0\r\n\r\n\
             GET /ari/asterisk/variable?variable=G HTTP/1.1\r\nAuthorization: {AUTH}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    // Both answers, then the server closes.
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 204 No Content\r\n"), "{rest}");
    let second = &rest[rest.find("HTTP/1.1 200").unwrap()..];
    assert!(second.contains("Connection: close\r\n"), "{rest}");
    assert!(second.ends_with(r#"{"value":"1"}"#), "{rest}");

    for bad in [
        &b"NONSENSE\r\n\r\n"[..],
        b"GET /ari/channels HTTP/1.1\r\nBroken header\r\n\r\n",
        b"GET /ari/channels HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"\x00\xff\xfe garbage \r\n\r\n",
    ] {
        let mut s = TcpStream::connect(server.socket_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(bad).unwrap();
        let r = read_response(&mut s);
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    }
    let mut s = TcpStream::connect(server.socket_addr()).unwrap();
    s.write_all(b"PATCH /ari/channels HTTP/1.1\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut s).starts_with("HTTP/1.1 501 Not Implemented\r\n"));
    let mut s = TcpStream::connect(server.socket_addr()).unwrap();
    s.write_all(format!("GET /ari/x HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000)).as_bytes())
        .unwrap();
    assert!(read_response(&mut s).starts_with("HTTP/1.1 431 "));
    let mut s = TcpStream::connect(server.socket_addr()).unwrap();
    s.write_all(b"POST /ari/channels HTTP/1.1\r\nContent-Length: 999999\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut s).starts_with("HTTP/1.1 413 "));
    // Still serving.
    assert_eq!(Http::new(&server).get("/ari/asterisk/ping").status, 200);
}

#[test]
fn scripted_answers_and_faults() {
    let (server, http, mut ev) = started("hello");
    server.on_request(|r| {
        (r.path == "/ari/channels" && r.method == "GET").then(|| {
            HttpReply::new(500)
                .header("Content-type", "text/html")
                .body("<html><body>Internal error</body></html>")
        })
    });
    server.on_request(|r| {
        (r.path == "/ari/bridges").then(|| HttpReply::json(200, &json!({})).body("{\"id\": [1,"))
    });
    let r = http.get("/ari/channels");
    assert_eq!(
        (r.status, r.content_type.as_deref()),
        (500, Some("text/html"))
    );
    assert_eq!(http.get("/ari/bridges").body, "{\"id\": [1,");
    server.clear_request_handlers();
    assert_eq!(http.get("/ari/channels").status, 200);

    server.push_event(json!({"type": "NoSuchEvent", "application": "hello"}));
    assert_eq!(
        ev.next(),
        json!({"type": "NoSuchEvent", "application": "hello"})
    );
    server.push_event(json!({"type": "StasisStart", "application": "other"}));
    server.push_event(json!({"type": "StasisStart"}));
    assert_eq!(
        ev.next(),
        json!({"type": "StasisStart"}),
        "missing fields go out as is"
    );
    server.push_raw_frame("{not json");
    assert_eq!(ev.next_message().unwrap(), Message::text("{not json"));
    server.cut_websockets_mid_frame();
    assert!(ev.next_message().is_err());
    let end = Instant::now() + Duration::from_secs(5);
    while server.websocket_count() > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.websocket_count(), 0);
    assert!(server
        .wait_for_request(|r| r.path == "/ari/bridges", Duration::ZERO)
        .is_some());

    let mut ev = Events::open(&server, "hello");
    assert!(server.wait_for_websockets(1, Duration::from_secs(5)));
    server.close_websockets();
    let m = ev.next_message();
    assert!(matches!(m, Ok(Message::Close(_))), "{m:?}");
}

#[test]
fn several_websockets() {
    let server = AriServer::builder().asterisk_id("aa:bb").start().unwrap();
    let mut one = Events::open(&server, "one,shared");
    let mut two = Events::open(&server, "two");
    assert!(server.wait_for_websockets(2, Duration::from_secs(5)));
    server.incoming_call("two", &["2"]);
    server.incoming_call("one", &["1"]);
    assert_eq!(one.next()["args"], json!(["1"]));
    assert_eq!(two.next()["args"], json!(["2"]));
    assert!(two.quiet(&server), "nothing else for two");

    // A second socket for "shared" takes it over.
    let mut three = Events::open(&server, "shared");
    let replaced = one.next();
    assert_eq!(replaced["type"], "ApplicationReplaced");
    assert_eq!(replaced["application"], "shared");
    server.incoming_call("shared", &[]);
    let e = three.next();
    assert_eq!(
        (e["type"].as_str(), e["asterisk_id"].as_str()),
        (Some("StasisStart"), Some("aa:bb"))
    );
    assert_eq!(server.events().len(), 3);
}

#[test]
fn websocket_upgrade_errors() {
    let server = AriServer::start().unwrap();
    let mut s = TcpStream::connect(server.socket_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"GET /ari/events?api_key=hey:peekaboo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: qFjnHs52Fj2pwDtiXCk4EA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s);
    assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    assert!(r.contains("HTTP request is missing param: [app]"));

    let mut s = TcpStream::connect(server.socket_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"GET /ari/events?app=hello&api_key=hey:peekaboo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: qFjnHs52Fj2pwDtiXCk4EA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s);
    assert_eq!(
        r,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: rqIHjTopwoU7EdESfrv+2xcp/Ko=\r\n\r\n"
    );
    let stream = TcpStream::connect(server.socket_addr()).unwrap();
    let url = format!(
        "ws://{}/ari/events?app=hello&api_key=hey:wrong",
        server.addr()
    );
    assert!(tungstenite::client(url, stream).is_err());
    let r = Http::new(&server).get("/ari/events?app=hello");
    assert_eq!(r.status, 426);
}

#[test]
fn create_dial_move_user_events_and_subscriptions() {
    let server = AriServer::builder()
        .answer_delay(Duration::from_millis(20))
        .start()
        .unwrap();
    let http = Http::new(&server);
    let mut ev = Events::open(&server, "hello,other");
    let mut all = Events::open(&server, "watcher&subscribeAll=true");
    assert!(server.wait_for_websockets(2, Duration::from_secs(5)));

    // channels/create: in Stasis at once, Down; dial rings then answers.
    let r = http.post("/ari/channels/create?endpoint=PJSIP/bob&app=hello&appArgs=c");
    assert_eq!(r.status, 200);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let e = ev.next();
    assert_eq!(
        (e["type"].as_str(), e["channel"]["state"].as_str()),
        (Some("StasisStart"), Some("Down"))
    );
    let r = http.post(&format!("/ari/channels/{id}/answer"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (412, r#"{"message":"Channel in invalid state"}"#)
    );
    assert_eq!(http.post(&format!("/ari/channels/{id}/dial")).status, 204);
    let states: Vec<Value> = ev
        .types(2)
        .iter()
        .map(|e| e["channel"]["state"].clone())
        .collect();
    assert_eq!(states, [json!("Ringing"), json!("Up")]);
    let r = http.post(&format!("/ari/channels/{id}/dial"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (409, r#"{"message":"Channel is not in the 'Down' state"}"#)
    );

    // Several variables at once.
    let r = http.post_json(
        &format!("/ari/channels/{id}/variables"),
        &json!({"variables": {"A": "1", "B": "2"}}),
    );
    assert_eq!(r.status, 204);
    assert_eq!(kinds(&ev.types(2)), ["ChannelVarset", "ChannelVarset"]);
    let r = http.get(&format!(
        "/ari/channels/{id}/variables?variables=A,B,CALLERID(num)"
    ));
    assert_eq!(
        r.json(),
        json!({"variables": {"A": "1", "B": "2", "CALLERID(num)": ""}})
    );

    // DTMF from the caller, a user event, a move to another application.
    assert!(server.dtmf(&id, '5'));
    let e = ev.next();
    assert_eq!(
        (e["type"].as_str(), e["digit"].as_str()),
        (Some("ChannelDtmfReceived"), Some("5"))
    );
    let r = http.post_json(
        &format!("/ari/events/user/MyEvent?application=hello&source=channel:{id}"),
        &json!({"variables": {"k": "v"}}),
    );
    assert_eq!(r.status, 204);
    let e = ev.next();
    assert_eq!(e["type"], "ChannelUserevent");
    assert_eq!(e["userevent"], json!({"eventname": "MyEvent", "k": "v"}));
    assert_eq!(e["channel"]["id"], id.as_str());
    let r = http.post("/ari/events/user/X?application=nosuchapp");
    assert_eq!(r.status, 404);
    assert_eq!(
        http.post(&format!("/ari/channels/{id}/move?app=other&appArgs=m"))
            .status,
        204
    );
    let evs = ev.types(2);
    assert_eq!(kinds(&evs), ["StasisEnd", "StasisStart"]);
    assert_eq!(
        (evs[1]["application"].as_str(), evs[1]["args"].clone()),
        (Some("other"), json!(["m"]))
    );

    // A dialplan originate reaches no application until one subscribes.
    let r = http.post("/ari/channels?endpoint=PJSIP/carol&extension=100&context=internal");
    assert_eq!(r.status, 200);
    let carol = r.json()["id"].as_str().unwrap().to_owned();
    let r = http.post(&format!(
        "/ari/applications/hello/subscription?eventSource=channel:{carol}"
    ));
    assert_eq!(r.json()["channel_ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        http.post("/ari/applications/hello/subscription?eventSource=channel:nope")
            .status,
        422
    );
    assert_eq!(
        http.post("/ari/applications/hello/subscription?eventSource=foo:x")
            .status,
        400
    );
    assert!(server.hangup(&carol));
    // Carol may have been answered (answer_delay) before the hangup on a
    // slow machine: her ChannelStateChange is not what this checks.
    let mut after = Vec::new();
    while after.last().map(String::as_str) != Some("ChannelDestroyed") {
        let kind = ev.next()["type"].as_str().unwrap_or("").to_owned();
        if kind != "ChannelStateChange" {
            after.push(kind);
        }
    }
    assert_eq!(after, ["ChannelHangupRequest", "ChannelDestroyed"]);

    // The subscribeAll socket saw everything, BridgeCreated included.
    http.post("/ari/bridges?bridgeId=b1");
    let mut seen = Vec::new();
    while !seen.iter().any(|t| t == "BridgeCreated") {
        seen.push(all.next()["type"].as_str().unwrap_or("").to_owned());
    }
    assert!(seen.iter().any(|t| t == "ChannelDtmfReceived"));
    assert!(ev.quiet(&server));
    assert_eq!(
        http.get("/ari/applications")
            .json()
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}
