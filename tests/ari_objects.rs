//! ARI as aioari users write it, against `AriServer` over loopback:
//! client-wide callbacks that hand the object an event is about
//! (`on_channel_event` and its kin), typed per-object callbacks
//! (`channel.on::<ChannelDtmfReceived>`), and handles made from an id that
//! load their object.
#![cfg(feature = "ari")]

use std::time::Duration;

use astrix::ari::events::{
    ChannelDtmfReceived, ChannelEnteredBridge, EndpointStateChange, PlaybackFinished,
    RecordingFinished, StasisStart,
};
use astrix::ari::{Client, Event};
use astrix::testing::{AriServer, HttpReply};
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

fn next<T>(rx: &Receiver<T>, what: &str) -> T {
    rx.recv_timeout(WAIT)
        .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

/// The whole time stamp and application an event needs, around `fields`.
fn event(kind: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut e = json!({
        "type": kind,
        "application": "app",
        "timestamp": "2026-01-01T00:00:00.000+0000",
    });
    if let (Some(e), Some(f)) = (e.as_object_mut(), fields.as_object()) {
        e.extend(f.clone());
    }
    e
}

fn live_recording(name: &str, state: &str) -> serde_json::Value {
    json!({"name": name, "format": "wav", "target_uri": "channel:c1", "state": state})
}

fn endpoint(state: &str) -> serde_json::Value {
    json!({"technology": "PJSIP", "resource": "100", "state": state, "channel_ids": []})
}

#[test]
fn on_channel_event_hands_a_handle_that_acts_on_the_channel() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, rx) = unbounded();
    client.on_channel_event("StasisStart", move |channel, event| {
        let name = channel.data().map(|d| d.name.clone());
        let answered = channel.answer().is_ok();
        let _ = tx.send((
            channel.id().to_owned(),
            name,
            event.event_type().to_owned(),
            answered,
        ));
    });
    client.start();
    let id = server.incoming_call("app", &["x"]);
    let (got, name, kind, answered) = next(&rx, "StasisStart");
    assert_eq!(
        (got.as_str(), kind.as_str(), answered),
        (id.as_str(), "StasisStart", true)
    );
    let want = server.channel(&id).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(name, Some(want));
    assert_eq!(server.channel(&id).unwrap()["state"], "Up");
}

#[test]
fn an_event_with_a_channel_and_a_bridge_hands_each_method_its_own() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, rx) = unbounded();
    let to_channels = tx.clone();
    client.on_channel_event("ChannelEnteredBridge", move |channel, _| {
        let _ = to_channels.send(("channel", channel.id().to_owned()));
    });
    client.on_bridge_event("ChannelEnteredBridge", move |bridge, _| {
        let _ = tx.send(("bridge", bridge.id().to_owned()));
    });
    // A type that never carries a bridge: logged, never run.
    client.on_bridge_event("StasisStart", |_, _| panic!("StasisStart has no bridge"));
    client.start();
    let a = client.channel(server.incoming_call("app", &[]));
    let bridge = client.bridges().create().send().unwrap();
    bridge.add_channel(&a).send().unwrap();
    let mut got = vec![next(&rx, "a callback"), next(&rx, "a callback")];
    got.sort();
    assert_eq!(
        got,
        vec![
            ("bridge", bridge.id().to_owned()),
            ("channel", a.id().to_owned())
        ]
    );
}

#[test]
fn on_playback_recording_and_endpoint_events_hand_their_objects() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, rx) = unbounded();
    let t = tx.clone();
    client.on_playback_event("PlaybackFinished", move |playback, _| {
        let state = playback.data().map(|d| d.state.clone());
        let _ = t.send(format!("playback {} {state:?}", playback.id()));
    });
    let t = tx.clone();
    client.on_recording_event("RecordingFinished", move |recording, _| {
        let state = recording.data().map(|d| d.state.clone());
        let _ = t.send(format!("recording {} {state:?}", recording.id()));
    });
    client.on_endpoint_event("*", move |endpoint, event| {
        let _ = tx.send(format!(
            "endpoint {}/{} {}",
            endpoint.tech(),
            endpoint.resource(),
            event.event_type()
        ));
    });
    client.start();
    let channel = client.channel(server.incoming_call("app", &[]));
    let playback = channel.play("sound:beep").send().unwrap();
    assert_eq!(
        next(&rx, "PlaybackFinished"),
        format!("playback {} Some(\"done\")", playback.id())
    );
    server.push_event(event(
        "RecordingFinished",
        json!({"recording": live_recording("memo", "done")}),
    ));
    assert_eq!(
        next(&rx, "RecordingFinished"),
        "recording memo Some(\"done\")"
    );
    server.push_event(event(
        "EndpointStateChange",
        json!({"endpoint": endpoint("online")}),
    ));
    assert_eq!(
        next(&rx, "EndpointStateChange"),
        "endpoint PJSIP/100 EndpointStateChange"
    );
}

#[test]
fn typed_per_object_callbacks_get_the_event_as_its_type() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, rx) = unbounded();
    let digits = tx.clone();
    client.on_channel_event("StasisStart", move |channel, _| {
        let digits = digits.clone();
        channel.on::<ChannelDtmfReceived>(move |channel, dtmf| {
            let _ = digits.send(format!("{} {}", channel.id(), dtmf.digit));
        });
    });
    client.start();
    let id = server.incoming_call("app", &[]);
    // Another channel's digits are not this channel's.
    let other = server.incoming_call("app", &[]);
    // The callbacks are in place once the StasisStart callbacks returned.
    let deadline = std::time::Instant::now() + WAIT;
    while client.object_subscriptions() < 2 {
        assert!(std::time::Instant::now() < deadline, "no subscriptions");
        std::thread::sleep(Duration::from_millis(5));
    }
    for digit in ['1', '#'] {
        assert!(server.dtmf(&id, digit));
    }
    assert!(server.dtmf(&other, '9'));
    let mut got: Vec<String> = (0..3).map(|_| next(&rx, "a digit")).collect();
    got.sort();
    let mut want = vec![format!("{id} 1"), format!("{id} #"), format!("{other} 9")];
    want.sort();
    assert_eq!(got, want);

    // Bridges, playbacks, recordings and endpoints have theirs too.
    let channel = client.channel(id.clone());
    let bridge = client.bridges().create().send().unwrap();
    let t = tx.clone();
    bridge.on::<ChannelEnteredBridge>(move |bridge, e| {
        let who = e.channel.as_ref().map(|c| c.id.clone()).unwrap_or_default();
        let _ = t.send(format!("{} got {who}", bridge.id()));
    });
    bridge.add_channel(&channel).send().unwrap();
    assert_eq!(
        next(&rx, "ChannelEnteredBridge"),
        format!("{} got {id}", bridge.id())
    );
    bridge.remove_channel(&channel).unwrap();

    let playback = client.playback(client.new_id());
    let t = tx.clone();
    playback.on::<PlaybackFinished>(move |playback, e| {
        let _ = t.send(format!("{} {}", playback.id(), e.playback.state));
    });
    channel
        .play_with_id(playback.id(), "sound:beep")
        .send()
        .unwrap();
    assert_eq!(
        next(&rx, "PlaybackFinished"),
        format!("{} done", playback.id())
    );

    let t = tx.clone();
    client
        .live_recording("memo")
        .on::<RecordingFinished>(move |rec, e| {
            let _ = t.send(format!("{} {}", rec.id(), e.recording.state));
        });
    client
        .endpoint("PJSIP", "100")
        .on::<EndpointStateChange>(move |ep, e| {
            let state = e.endpoint.state.clone().unwrap_or_default();
            let _ = tx.send(format!("{}/{} {state}", ep.tech(), ep.resource()));
        });
    server.push_event(event(
        "RecordingFinished",
        json!({"recording": live_recording("other", "done")}),
    ));
    server.push_event(event(
        "RecordingFinished",
        json!({"recording": live_recording("memo", "done")}),
    ));
    assert_eq!(next(&rx, "RecordingFinished"), "memo done");
    server.push_event(event(
        "EndpointStateChange",
        json!({"endpoint": endpoint("offline")}),
    ));
    assert_eq!(next(&rx, "EndpointStateChange"), "PJSIP/100 offline");
}

#[test]
fn typed_per_object_callbacks_end_with_their_object() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, rx) = unbounded();
    client.start();
    let id = server.incoming_call("app", &[]);
    let channel = client.channel(id.clone());
    channel.on::<ChannelDtmfReceived>(move |_, e| {
        let _ = tx.send(e.digit.clone());
    });
    // `StasisStart` on a channel handle compiles: it is about a channel.
    channel.on::<StasisStart>(|_, _| {});
    assert_eq!(client.object_subscriptions(), 2);
    assert!(server.dtmf(&id, '5'));
    assert_eq!(next(&rx, "a digit"), "5");
    let (ended_tx, ended) = unbounded();
    client.on_channel_event("ChannelDestroyed", move |c, _| {
        let _ = ended_tx.send(c.id().to_owned());
    });
    assert!(server.hangup(&id));
    assert_eq!(next(&ended, "ChannelDestroyed"), id);
    // The object's callbacks go once every callback of its destruction
    // event has run, just after the one above returned.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while client.object_subscriptions() != 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(client.object_subscriptions(), 0);
}

#[test]
fn handles_made_from_an_id_load_their_object() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    client.start();
    let id = server.incoming_call("app", &[]);
    let channel = client.channel(id.clone());
    assert!(channel.data().is_none());
    let model = channel.load().unwrap();
    assert_eq!(model.id, id);
    assert_eq!(model.state, "Ring");
    assert_eq!(channel.refresh().unwrap().data(), Some(&model));

    let bridge_id = client.bridges().create().send().unwrap().id().to_owned();
    assert_eq!(
        client.bridge(bridge_id.clone()).load().unwrap().id,
        bridge_id
    );
    let playback = channel.play("sound:beep").send().unwrap();
    let loaded = client.playback(playback.id()).load();
    // It may have finished already (100 ms): then it is gone.
    match loaded {
        Ok(p) => assert_eq!(p.id, playback.id()),
        Err(e) => assert!(e.is_not_found(), "{e}"),
    }

    // The emulator keeps no recordings or endpoints: answer for it.
    server.on_request(|r| match r.path.as_str() {
        "/ari/recordings/live/memo" => {
            Some(HttpReply::json(200, &live_recording("memo", "recording")))
        }
        "/ari/recordings/stored/memo" => Some(HttpReply::json(
            200,
            &json!({"name": "memo", "format": "wav"}),
        )),
        "/ari/endpoints/PJSIP/100" => Some(HttpReply::json(200, &endpoint("online"))),
        _ => None,
    });
    assert_eq!(
        client.live_recording("memo").load().unwrap().state,
        "recording"
    );
    let stored = client.stored_recording("memo");
    assert_eq!(stored.load().unwrap().format, "wav");
    assert_eq!(stored.refresh().unwrap().data().unwrap().name, "memo");
    let ep = client.endpoint("PJSIP", "100").load().unwrap();
    assert_eq!(ep.state.as_deref(), Some("online"));

    // A channel that is gone: 404, typed.
    assert!(server.hangup(&id));
    let err = std::iter::repeat_with(|| channel.load())
        .take(200)
        .find_map(|r| {
            std::thread::sleep(Duration::from_millis(5));
            r.err()
        })
        .expect("the channel goes");
    assert!(err.is_not_found(), "{err}");
}

/// Events the typed client API and `Event` agree on: the handle a string
/// callback gets is the one `Event::objects` lists.
#[test]
fn the_channel_handed_is_one_the_event_carries() {
    let server = AriServer::start().unwrap();
    let client = client(&server, "app");
    let (tx, rx) = unbounded();
    client.on_channel_event("*", move |channel, event: &Event| {
        let listed = event
            .objects()
            .iter()
            .any(|o| matches!(o, astrix::ari::ObjectRef::Channel(c) if c.id == channel.id()));
        let _ = tx.send((event.event_type().to_owned(), listed));
    });
    client.start();
    let id = server.incoming_call("app", &[]);
    assert!(server.hangup(&id));
    loop {
        let (kind, listed) = next(&rx, "an event");
        assert!(listed, "{kind}");
        if kind == "ChannelDestroyed" {
            break;
        }
    }
}
