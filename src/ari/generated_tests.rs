//! Tests of the generated code (`src/ari/generated/`): event typing, the
//! objects an event carries, and the requests the repositories and
//! builders make.

use serde_json::{json, Value};

use super::events::{
    AriEvent, BridgeAttendedTransfer, ChannelTransfer, ChannelVarset, Dial, Event, StasisStart,
};
use super::{asterisk, bridges, channels, playbacks, Client, ObjectRef};

fn client() -> Client {
    // A REST-only client makes no connection until a request is sent.
    Client::new("http://127.0.0.1:9", "user", "secret").unwrap()
}

fn channel(id: &str) -> Value {
    json!({
        "id": id, "name": format!("PJSIP/{id}"), "state": "Up", "protocol_id": "",
        "caller": {"name": "", "number": ""}, "connected": {"name": "", "number": ""},
        "accountcode": "", "creationtime": "2026-11-23T07:21:44.273+0000", "language": "en",
        "dialplan": {"context": "default", "exten": "s", "priority": 1, "app_name": "", "app_data": ""}
    })
}

fn bridge(id: &str) -> Value {
    json!({
        "id": id, "technology": "simple_bridge", "bridge_type": "mixing", "bridge_class": "stasis",
        "creator": "Stasis", "name": "", "channels": [], "creationtime": "2026-11-23T07:21:44.273+0000",
        "video_mode": "none"
    })
}

fn ids(event: &Event) -> Vec<String> {
    event
        .objects()
        .iter()
        .map(|o| match o {
            ObjectRef::Channel(c) => format!("channel:{}", c.id),
            ObjectRef::Bridge(b) => format!("bridge:{}", b.id),
            ObjectRef::Playback(p) => format!("playback:{}", p.id),
            ObjectRef::LiveRecording(r) => format!("recording:{}", r.name),
            ObjectRef::Endpoint(e) => format!("endpoint:{}/{}", e.technology, e.resource),
        })
        .collect()
}

#[test]
fn a_known_event_is_typed_and_written_back_whole() {
    let text = json!({
        "type": "StasisStart", "timestamp": "2026-11-23T07:21:44.280+0000", "args": ["a", "b"],
        "channel": channel("1.1"), "asterisk_id": "02:fc:00:00:00:01", "application": "hello",
        "added_in_asterisk_99": {"x": 1}
    })
    .to_string();
    let event = Event::parse(&text).unwrap();
    let e = StasisStart::from_event(&event).expect("a StasisStart");
    assert_eq!(e.args, ["a", "b"]);
    assert_eq!(e.channel.id, "1.1");
    assert_eq!(e.channel.dialplan.priority, 1);
    assert_eq!(e.extra["added_in_asterisk_99"], json!({"x": 1}));
    assert_eq!(event.event_type(), "StasisStart");
    assert_eq!(event.application(), Some("hello"));
    assert_eq!(event.timestamp(), Some("2026-11-23T07:21:44.280+0000"));
    assert_eq!(
        event.to_json(),
        serde_json::from_str::<Value>(&text).unwrap()
    );
    assert!(ChannelVarset::from_event(&event).is_none());
    assert_eq!(<StasisStart as AriEvent>::TYPE, "StasisStart");
    // Serialize and Deserialize go through the same JSON.
    let again: Event = serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
    assert_eq!(again, event);
}

#[test]
fn an_unknown_event_type_keeps_its_json() {
    let text =
        r#"{"type":"ChannelTeleported","application":"hello","timestamp":"t","where":"moon"}"#;
    let event = Event::parse(text).unwrap();
    let Event::Unknown(u) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(u.kind, "ChannelTeleported");
    assert_eq!(u.error, None);
    assert_eq!(u.json["where"], "moon");
    assert_eq!(event.event_type(), "ChannelTeleported");
    assert_eq!(event.application(), Some("hello"));
    assert_eq!(event.timestamp(), Some("t"));
    assert_eq!(
        event.to_json(),
        serde_json::from_str::<Value>(text).unwrap()
    );
    assert!(event.objects().is_empty());
    assert!(!Event::TYPES.contains(&"ChannelTeleported"));
}

#[test]
fn a_known_type_with_a_missing_field_is_unknown_with_the_reason() {
    // ChannelVarset without its required `variable`.
    let text = r#"{"type":"ChannelVarset","value":"1","application":"a","timestamp":"t"}"#;
    let event = Event::parse(text).unwrap();
    let Event::Unknown(u) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(u.kind, "ChannelVarset");
    let error = u.error.as_deref().unwrap();
    assert!(error.contains("variable"), "{error}");
    assert_eq!(u.json["type"], "ChannelVarset");
    assert_eq!(u.json["value"], "1");
    assert_eq!(
        event.to_json(),
        serde_json::from_str::<Value>(text).unwrap()
    );

    // A field of the wrong type.
    let event = Event::parse(
        r#"{"type":"ChannelVarset","variable":5,"value":"1","application":"a","timestamp":"t"}"#,
    )
    .unwrap();
    assert!(matches!(&event, Event::Unknown(u) if u.error.is_some() && u.json["variable"] == 5));

    // No type at all.
    let event = Event::parse(r#"{"application":"a"}"#).unwrap();
    assert!(matches!(&event, Event::Unknown(u) if u.kind.is_empty() && u.error.is_some()));
    assert_eq!(event.event_type(), "");
}

#[test]
fn malformed_json_and_non_objects_are_errors() {
    for text in [
        "",
        "{",
        r#"{"type":"StasisStart""#,
        "[1,2]",
        "\"StasisStart\"",
        "42",
        "null",
    ] {
        match Event::parse(text) {
            Err(super::AriError::Json { context, .. }) => assert_eq!(context, "event", "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // from_json never fails.
    let event = Event::from_json(json!([1]));
    assert!(matches!(event, Event::Unknown(u) if u.error.is_some()));
}

#[test]
fn objects_of_a_dial_and_of_transfers() {
    let dial = Event::from_json(json!({
        "type": "Dial", "application": "a", "timestamp": "t", "dialstatus": "ANSWER",
        "caller": channel("caller"), "peer": channel("peer"), "forwarded": channel("fwd")
    }));
    assert!(Dial::from_event(&dial).is_some(), "{dial:?}");
    assert_eq!(
        ids(&dial),
        ["channel:caller", "channel:peer", "channel:fwd"]
    );

    let attended = Event::from_json(json!({
        "type": "BridgeAttendedTransfer", "application": "a", "timestamp": "t",
        "transferer_first_leg": channel("first"), "transferer_second_leg": channel("second"),
        "transferee": channel("transferee"), "result": "Success", "is_external": false,
        "transferer_first_leg_bridge": bridge("b1"), "destination_type": "bridge",
        "destination_bridge": "b1", "destination_threeway_bridge": bridge("b3")
    }));
    assert!(
        BridgeAttendedTransfer::from_event(&attended).is_some(),
        "{attended:?}"
    );
    assert_eq!(
        ids(&attended),
        [
            "channel:first",
            "channel:second",
            "channel:transferee",
            "bridge:b1",
            "bridge:b3"
        ]
    );

    // Objects nested in the ChannelTransfer's refer_to and referred_by.
    let transfer = Event::from_json(json!({
        "type": "ChannelTransfer", "application": "a", "timestamp": "t",
        "refer_to": {"requested_destination": {"destination": "100"},
                     "destination_channel": channel("dest"), "bridge": bridge("rb")},
        "referred_by": {"source_channel": channel("source")}
    }));
    assert!(
        ChannelTransfer::from_event(&transfer).is_some(),
        "{transfer:?}"
    );
    assert_eq!(
        ids(&transfer),
        ["channel:dest", "bridge:rb", "channel:source"]
    );

    let endpoint = Event::from_json(json!({
        "type": "EndpointStateChange", "application": "a", "timestamp": "t",
        "endpoint": {"technology": "PJSIP", "resource": "100", "channel_ids": []}
    }));
    assert_eq!(ids(&endpoint), ["endpoint:PJSIP/100"]);
}

#[test]
fn every_event_type_round_trips_its_name() {
    for &kind in Event::TYPES {
        let event = Event::from_json(json!({"type": kind}));
        // Missing fields make most of them Unknown, but the type is kept.
        assert_eq!(event.event_type(), kind);
        assert_eq!(event.to_json()["type"], kind);
    }
    let mut sorted = Event::TYPES.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), Event::TYPES.len());
}

#[test]
fn builders_encode_path_segments_and_queries() {
    let c = client();
    let r = c
        .channels()
        .originate("PJSIP/alice smith")
        .app("hello")
        .app_args("a,b")
        .caller_id("\"Ari\" <7000>")
        .timeout(45)
        .variable("CALLERID(name)", "Alice")
        .request();
    assert_eq!(
        r.path_and_query(),
        "/channels?endpoint=PJSIP%2Falice%20smith&app=hello&appArgs=a%2Cb\
         &callerId=%22Ari%22%20%3C7000%3E&timeout=45"
    );
    assert_eq!(
        r.body_json(),
        Some(&json!({"variables": {"CALLERID(name)": "Alice"}}))
    );

    let r = c
        .channels()
        .hangup("a/b?c d")
        .reason(channels::Reason::NoAnswer)
        .request();
    assert_eq!(
        r.path_and_query(),
        "/channels/a%2Fb%3Fc%20d?reason=no_answer"
    );

    let r = c.channels().play("id/1", "sound:beep").lang("fr").request();
    assert_eq!(
        r.path_and_query(),
        "/channels/id%2F1/play?media=sound%3Abeep&lang=fr"
    );
    let r = c.channels().play("x", ["sound:a", "sound:b"]).request();
    assert_eq!(
        r.path_and_query(),
        "/channels/x/play?media=sound%3Aa%2Csound%3Ab"
    );
    let media = vec!["sound:a".to_owned()];
    let r = c.channels().play("x", &media).skipms(10).request();
    assert_eq!(
        r.path_and_query(),
        "/channels/x/play?media=sound%3Aa&skipms=10"
    );

    let r = c
        .channels()
        .record("x", "my rec", "wav")
        .if_exists(channels::IfExists::Overwrite)
        .terminate_on(channels::TerminateOn::Hash)
        .beep(true)
        .request();
    assert_eq!(
        r.path_and_query(),
        "/channels/x/record?name=my%20rec&format=wav&ifExists=overwrite&beep=true&terminateOn=%23"
    );

    let r = c.channels().set_channel_var("x", "FOO", "a b").request();
    assert_eq!(
        r.path_and_query(),
        "/channels/x/variable?variable=FOO&value=a%20b"
    );
    let r = c
        .channels()
        .set_channel_var("x", "FOO", None)
        .report_events(true)
        .request();
    assert_eq!(
        r.path_and_query(),
        "/channels/x/variable?variable=FOO&report_events=true"
    );
    let r = c.channel("x").set_channel_var("FOO", "ok").request();
    assert_eq!(
        r.path_and_query(),
        "/channels/x/variable?variable=FOO&value=ok"
    );

    let r = c
        .channels()
        .external_media("app", "ulaw")
        .external_host("127.0.0.1:4000")
        .direction(channels::ExternalMediaDirection::Both)
        .request();
    assert_eq!(
        r.path_and_query(),
        "/channels/externalMedia?app=app&external_host=127.0.0.1%3A4000&format=ulaw&direction=both"
    );
    let r = c
        .channels()
        .mute("x")
        .direction(channels::Direction::In)
        .request();
    assert_eq!(r.path_and_query(), "/channels/x/mute?direction=in");

    // A handle's operations fill in its id.
    let chan = c.channel("1.2/3");
    assert_eq!(
        chan.hangup().request().path_and_query(),
        "/channels/1.2%2F3"
    );
    assert_eq!(
        chan.play("sound:beep").request().path_and_query(),
        "/channels/1.2%2F3/play?media=sound%3Abeep"
    );
    let r = c.bridge("b 1").add_channel(&chan).mute(true).request();
    assert_eq!(
        r.path_and_query(),
        "/bridges/b%201/addChannel?channel=1.2%2F3&mute=true"
    );
    let other = c.channel("4");
    let r = c.bridges().add_channel("b", [&chan, &other]).request();
    assert_eq!(
        r.path_and_query(),
        "/bridges/b/addChannel?channel=1.2%2F3%2C4"
    );

    let r = c
        .bridges()
        .create()
        .kind("mixing,dtmf_events")
        .name("conf")
        .variable_with_events("STATE", "waiting")
        .request();
    assert_eq!(
        r.path_and_query(),
        "/bridges?type=mixing%2Cdtmf_events&name=conf"
    );
    assert_eq!(
        r.body_json(),
        Some(&json!({"variables": {"STATE": {"value": "waiting", "report_events": true}}}))
    );

    let r = c
        .asterisk()
        .get_info()
        .only([asterisk::Only::Build, asterisk::Only::Status])
        .request();
    assert_eq!(r.path_and_query(), "/asterisk/info?only=build%2Cstatus");

    let r = c
        .asterisk()
        .update_object("res_pjsip", "endpoint", "alice")
        .field("allow", "ulaw")
        .fields([("direct_media", "no")])
        .request();
    assert_eq!(
        r.path_and_query(),
        "/asterisk/config/dynamic/res_pjsip/endpoint/alice"
    );
    assert_eq!(
        r.body_json(),
        Some(&json!({"fields": [{"attribute": "allow", "value": "ulaw"},
                                {"attribute": "direct_media", "value": "no"}]}))
    );

    let r = c
        .applications()
        .filter("app")
        .filter(json!({"allowed": [{"type": "StasisStart"}]}))
        .request();
    assert_eq!(r.path_and_query(), "/applications/app/eventFilter");
    assert_eq!(
        r.body_json(),
        Some(&json!({"allowed": [{"type": "StasisStart"}]}))
    );

    let r = c
        .events()
        .user_event("my event", "app")
        .source(["channel:1", "bridge:2"])
        .variable("k", "v")
        .request();
    assert_eq!(
        r.path_and_query(),
        "/events/user/my%20event?application=app&source=channel%3A1%2Cbridge%3A2"
    );
    assert_eq!(r.body_json(), Some(&json!({"variables": {"k": "v"}})));

    let r = c
        .endpoint("PJSIP", "bob/1")
        .send_message("pjsip:alice")
        .body("hi")
        .request();
    assert_eq!(
        r.path_and_query(),
        "/endpoints/PJSIP/bob%2F1/sendMessage?from=pjsip%3Aalice&body=hi"
    );
    let r = c.playback("p").control(playbacks::Operation::Pause);
    assert!(r.is_err(), "no server: a transport error");
    assert_eq!(bridges::IfExists::Append.to_string(), "append");
    assert_eq!(playbacks::Operation::Forward.as_str(), "forward");
}

/// The requests a test server saw: request line (without `/ari`) and body.
type Seen = std::sync::Arc<parking_lot::Mutex<Vec<(String, String)>>>;

/// A one-request-per-connection HTTP server answering from `routes`
/// (`"METHOD /path?query"` → status and body); returns its URL and the
/// requests it saw (request line and body).
fn serve(routes: Vec<(&'static str, u16, Vec<u8>)>) -> (String, Seen) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let target = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
            let target = target.replacen(" /ari/", " /", 1);
            log.lock()
                .push((target.clone(), String::from_utf8(body).unwrap()));
            let (status, reply) = routes
                .iter()
                .find(|(r, _, _)| *r == target)
                .map(|(_, s, b)| (*s, b.clone()))
                .unwrap_or((404, br#"{"message":"Resource not found"}"#.to_vec()));
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&reply).unwrap();
        }
    });
    (url, seen)
}

#[test]
fn responses_become_handles_models_bytes_and_errors() {
    let chan = channel("c/1").to_string().into_bytes();
    let list = format!("[{},{}]", channel("a"), channel("b")).into_bytes();
    let (url, seen) = serve(vec![
        ("POST /channels?endpoint=PJSIP%2F100&app=hello", 200, chan),
        ("GET /channels", 200, list),
        ("POST /channels/c%2F1/answer", 204, Vec::new()),
        (
            "GET /channels/c%2F1/variable?variable=X",
            200,
            br#"{"value":"1"}"#.to_vec(),
        ),
        ("GET /recordings/stored/r/file", 200, b"RIFF\0\x01".to_vec()),
        (
            "POST /channels/c%2F1/play?media=sound%3Abeep",
            201,
            br#"{"id":"p1","media_uri":"sound:beep","target_uri":"channel:c/1","state":"queued"}"#
                .to_vec(),
        ),
        ("POST /bridges/b/addChannel?channel=c%2F1", 204, Vec::new()),
    ]);
    let c = Client::new(&url, "u", "p").unwrap();
    let ch = c
        .channels()
        .originate("PJSIP/100")
        .app("hello")
        .variable("V", "1")
        .send()
        .unwrap();
    assert_eq!(ch.id(), "c/1");
    assert_eq!(ch.data().unwrap().name, "PJSIP/c/1");
    let all = c.channels().list().unwrap();
    assert_eq!(all.iter().map(|c| c.id()).collect::<Vec<_>>(), ["a", "b"]);
    ch.answer().unwrap();
    assert_eq!(ch.get_channel_var("X").unwrap().value, "1");
    assert_eq!(c.stored_recording("r").get_file().unwrap(), b"RIFF\0\x01");
    let playback = ch.play("sound:beep").send().unwrap();
    assert_eq!(
        (playback.id(), playback.data().unwrap().state.as_str()),
        ("p1", "queued")
    );
    c.bridge("b").add_channel(&ch).send().unwrap();
    let err = c.bridges().destroy("nope").unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let seen = seen.lock();
    assert_eq!(seen[0].1, r#"{"variables":{"V":"1"}}"#);
    assert!(
        seen[1..].iter().all(|(_, body)| body.is_empty()),
        "{seen:?}"
    );
}
