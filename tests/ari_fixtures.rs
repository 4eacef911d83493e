//! The generated ARI models and events against a real Asterisk 22.10.1:
//! every response body of `ari_rest.json` that has a model and every event
//! of `ari_events.jsonl` reads into its typed model (never
//! `Event::Unknown`), writes back to the same JSON, and leaves nothing in
//! `extra` (every field Asterisk 22 sends is typed).
#![cfg(feature = "ari")]

mod common;

use astrix::ari::events::Event;
use astrix::ari::models;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// JSON equality, numbers compared by their `f64` value (a `double` field
/// reads `0` and writes `0.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Every `extra` map in `typed` (whatever the nesting) is empty: its Debug
/// form never shows a non-empty `extra`.
fn assert_no_extra(typed: &impl std::fmt::Debug, what: &str) {
    let debug = format!("{typed:?}");
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("extra: ") {
        rest = &rest[i + "extra: ".len()..];
        assert!(
            rest.starts_with("{}"),
            "{what}: untyped fields: {}",
            &rest[..rest.len().min(300)]
        );
    }
}

/// Reads `body` as `T`, checks it writes back to the same JSON with no
/// untyped field.
fn check<T: DeserializeOwned + Serialize + std::fmt::Debug>(body: &str, what: &str) -> T {
    let json: Value = serde_json::from_str(body).unwrap();
    let typed: T = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}\n{body}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert!(
        same(&json, &back),
        "{what}: written back differently\n{json}\n{back}"
    );
    assert_no_extra(&typed, what);
    typed
}

#[test]
fn rest_responses_read_into_their_models() {
    let rest: Value = serde_json::from_slice(&common::fixture("ari_rest.json")).unwrap();
    let mut checked = 0;
    for pair in rest.as_array().unwrap() {
        let method = pair["request"]["method"].as_str().unwrap();
        let path = pair["request"]["path"].as_str().unwrap();
        let path = path.split('?').next().unwrap();
        let status: u16 = pair["response"]["status_line"].as_str().unwrap()[9..12]
            .parse()
            .unwrap();
        let body = pair["response"]["body"].as_str().unwrap();
        let what = format!("{method} {path} ({status})");
        if status >= 400 || body.is_empty() {
            // Error bodies ({"message": …}) and 204s have no model.
            continue;
        }
        let segments: Vec<&str> = path.trim_start_matches("/ari/").split('/').collect();
        match (method, segments.as_slice()) {
            ("GET", ["asterisk", "info"]) => {
                let info: models::AsteriskInfo = check(body, &what);
                assert_eq!(info.system.unwrap().version, "22.10.1");
            }
            ("GET", ["channels"]) => {
                check::<Vec<models::Channel>>(body, &what);
            }
            ("GET", ["applications", _]) => {
                let app: models::Application = check(body, &what);
                assert_eq!(app.name, "hello");
            }
            ("POST", ["channels"]) => {
                let c: models::Channel = check(body, &what);
                assert_eq!(c.caller.number, "7000");
            }
            ("GET", ["channels", _, "variable"]) => {
                let v: models::Variable = check(body, &what);
                assert_eq!(v.value, "set by ari");
            }
            ("POST", ["bridges"]) | ("GET", ["bridges", _]) => {
                let b: models::Bridge = check(body, &what);
                assert_eq!(b.bridge_type, "mixing");
            }
            ("POST", ["channels", _, "play"]) => {
                let p: models::Playback = check(body, &what);
                assert_eq!(p.media_uri, "sound:nosuchsound");
            }
            _ => panic!("{what}: a response body with no model mapped in this test:\n{body}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 9, "every model-bearing response was checked");
}

#[test]
fn events_read_into_their_types() {
    let text = String::from_utf8(common::fixture("ari_events.jsonl")).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let what = format!("ari_events.jsonl:{}", n + 1);
        let json: Value = serde_json::from_str(line).unwrap();
        let event = Event::parse(line).unwrap();
        if let Event::Unknown(u) = &event {
            panic!("{what}: {} is not typed: {:?}\n{line}", u.kind, u.error);
        }
        assert_eq!(event.event_type(), json["type"], "{what}");
        assert!(Event::TYPES.contains(&event.event_type()), "{what}");
        assert_eq!(event.application(), Some("hello"), "{what}");
        assert_eq!(event.timestamp(), json["timestamp"].as_str(), "{what}");
        let back = event.to_json();
        assert!(
            same(&json, &back),
            "{what}: written back differently\n{json}\n{back}"
        );
        assert_no_extra(&event, &what);
        assert!(!event.objects().is_empty(), "{what}: no objects");
        kinds.insert(event.event_type().to_owned());
    }
    // The recording's variety, so that a shorter fixture is noticed.
    assert!(kinds.len() >= 15, "{kinds:?}");
}

#[test]
fn the_extra_check_notices_untyped_fields() {
    let mut body: Value = serde_json::from_str(r#"{"value":"x"}"#).unwrap();
    let ok: models::Variable = check(&body.to_string(), "plain");
    assert!(ok.extra.is_empty());
    body["added_later"] = Value::from(1);
    let typed: models::Variable = serde_json::from_value(body).unwrap();
    let caught = std::panic::catch_unwind(|| assert_no_extra(&typed, "with an extra field"));
    assert!(caught.is_err());
}
