//! Fuzzing the ARI event and model parsers on stable Rust: byte mutations
//! of the recorded Asterisk 22 events (`ari_events.jsonl`) and response
//! bodies (`ari_rest.json`), structural mutations of their JSON (fields
//! removed, values of the wrong kind, the `type` swapped for another), and
//! arbitrary text.
//!
//! Properties: no panic; [`Event::parse`] fails only on text that is not a
//! JSON object; an `Event::Unknown` keeps the JSON it was given; a typed
//! event writes back to JSON that types again to the same event; a model
//! that reads writes back to JSON that reads again to the same model.
//!
//! `cargo test --features ari --test fuzz_ari_events` runs a short seeded run;
//! `ASTRIX_FUZZ_CASES=1000000 cargo test --release --all-features --test fuzz_ari_events -- --nocapture`
//! a long one.
#![cfg(feature = "ari")]

mod common;

use astrix::ari::events::Event;
use astrix::ari::{models, AriError};
use common::mutate::{self, cases, Rng};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

const EVENTS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/asterisk-22/ari_events.jsonl"
));
const REST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/asterisk-22/ari_rest.json"
));

/// The recorded events and the JSON response bodies, one text each.
fn corpus() -> Vec<String> {
    let mut out: Vec<String> = EVENTS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let rest: Value = serde_json::from_str(REST).unwrap();
    for pair in rest.as_array().unwrap() {
        let body = pair["response"]["body"].as_str().unwrap();
        if !body.is_empty() {
            out.push(body.to_owned());
        }
    }
    out
}

/// Checks one parse of `text`.
fn event_case(text: &str) {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    match Event::parse(text) {
        Ok(event) => {
            let Some(Value::Object(json)) = parsed else {
                panic!("{text:?} parsed as an event: {event:?}");
            };
            check_event(&event, &json);
        }
        Err(AriError::Json { context, .. }) => {
            assert_eq!(context, "event");
            assert!(
                !matches!(parsed, Some(Value::Object(_))),
                "a JSON object refused: {text:?}"
            );
        }
        Err(e) => panic!("{text:?}: unexpected error {e}"),
    }
}

/// The invariants of an event typed from `json`.
fn check_event(event: &Event, json: &Map<String, Value>) {
    let _ = (event.application(), event.timestamp(), event.objects());
    let _ = format!("{event:?}");
    match event {
        Event::Unknown(u) => {
            // Kept whole, and why.
            assert_eq!(&u.json, json);
            assert_eq!(event.to_json(), Value::Object(json.clone()));
            let kind = json.get("type").and_then(Value::as_str);
            assert_eq!(u.kind, kind.unwrap_or(""));
            match kind {
                Some(k) if Event::TYPES.contains(&k) => assert!(u.error.is_some()),
                Some(_) => assert!(u.error.is_none()),
                None => assert!(u.error.is_some()),
            }
        }
        typed => {
            assert_eq!(
                Some(typed.event_type()),
                json.get("type").and_then(Value::as_str)
            );
            let back = typed.to_json();
            assert_eq!(back["type"], json["type"]);
            let again = Event::from_json(back.clone());
            assert_eq!(&again, typed, "re-typing changed the event: {back}");
        }
    }
}

/// Reads `text` as a `T`; what reads must write back and read again the same.
fn model_case<T>(text: &str)
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(m) = serde_json::from_str::<T>(text) {
        let back = serde_json::to_value(&m).unwrap();
        let again: T = serde_json::from_value(back.clone())
            .unwrap_or_else(|e| panic!("{back} does not read again: {e}"));
        assert_eq!(again, m);
    }
}

fn all_models(text: &str) {
    model_case::<models::Channel>(text);
    model_case::<Vec<models::Channel>>(text);
    model_case::<models::Bridge>(text);
    model_case::<models::Playback>(text);
    model_case::<models::LiveRecording>(text);
    model_case::<models::Endpoint>(text);
    model_case::<models::AsteriskInfo>(text);
    model_case::<models::Application>(text);
    model_case::<models::Variable>(text);
}

/// A random JSON value, small.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => Value::from(rng.next() as i64 >> rng.below(64)),
        3 => Value::from((rng.next() as f64) / 1e9 - 9e9),
        4 => {
            let n = rng.below(12);
            Value::String(String::from_utf8_lossy(&rng.bytes(n)).into_owned())
        }
        5 => Value::Array(
            (0..rng.below(3))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(3) {
                m.insert(format!("k{}", rng.below(4)), random_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// One structural mutation somewhere in `v`.
fn mutate_json(rng: &mut Rng, v: &mut Value, depth: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            match rng.below(6) {
                0 => {
                    m.remove(&key);
                }
                1 => {
                    m.insert(key, random_value(rng, depth));
                }
                2 => {
                    m.insert("type".to_owned(), Value::from(*rng.pick(Event::TYPES)));
                }
                3 => {
                    m.insert(format!("new_{}", rng.below(3)), random_value(rng, depth));
                }
                _ => mutate_json(rng, m.get_mut(&key).unwrap(), depth + 1),
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let i = rng.below(a.len());
            if rng.one_in(3) {
                a.remove(i);
            } else {
                mutate_json(rng, &mut a[i], depth + 1);
            }
        }
        other => *other = random_value(rng, depth),
    }
}

#[test]
fn fuzz_ari_bytes() {
    let corpus = corpus();
    let refs: Vec<&[u8]> = corpus.iter().map(|s| s.as_bytes()).collect();
    mutate::run("ari bytes", 0xA121, cases(3_000), |rng| {
        let data = mutate::input(rng, &refs, 4096, 4096);
        let text = String::from_utf8_lossy(&data);
        event_case(&text);
        all_models(&text);
    });
}

#[test]
fn fuzz_ari_json_structure() {
    let corpus: Vec<Value> = corpus()
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    mutate::run("ari json", 0xA122, cases(3_000), |rng| {
        let mut v = rng.pick(&corpus).clone();
        for _ in 0..rng.range(1, 4) {
            mutate_json(rng, &mut v, 0);
        }
        let text = v.to_string();
        event_case(&text);
        all_models(&text);
        if let Value::Object(json) = &v {
            check_event(&Event::from_json(v.clone()), json);
        }
    });
}

#[test]
fn every_recorded_event_survives_a_type_swap() {
    // Each recorded event under every type name: typed or Unknown, never a
    // panic, never a lost field.
    for line in EVENTS.lines().filter(|l| !l.trim().is_empty()) {
        let mut v: Value = serde_json::from_str(line).unwrap();
        for kind in Event::TYPES {
            v["type"] = Value::from(*kind);
            let Value::Object(json) = &v else {
                unreachable!()
            };
            check_event(&Event::from_json(v.clone()), json);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256).min(20_000) as u32))]

    #[test]
    fn arbitrary_text(text in ".{0,300}") {
        event_case(&text);
        all_models(&text);
    }

    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&data);
        event_case(&text);
    }

    #[test]
    fn objects_with_arbitrary_fields(
        kind in prop::sample::select(Event::TYPES.to_vec()),
        fields in prop::collection::btree_map("[a-z_]{1,12}", "[ -~]{0,8}", 0..8),
    ) {
        let mut json: Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
        json.insert("type".to_owned(), Value::from(kind));
        let text = Value::Object(json.clone()).to_string();
        let event = Event::parse(&text).unwrap();
        check_event(&event, &json);
    }
}
