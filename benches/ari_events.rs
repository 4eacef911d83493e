//! ARI events: typing an event against only parsing its JSON.
//!
//! Reads the 28 events a real Asterisk 22 sent on the WebSocket
//! (`tests/data/asterisk-22/ari_events.jsonl`). `json_value`
//! parses each into a `serde_json::Value` (the floor: any typed reading
//! parses the JSON at least once); `event_parse` runs `Event::parse`, which
//! reads the type, then the typed model with every field and `extra`.
//! Run with `cargo bench --features ari --bench ari_events`.

use std::hint::black_box;

use astrix::ari::Event;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn events() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22/ari_events.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("the ARI recording");
    text.lines().map(str::to_owned).collect()
}

fn bench(c: &mut Criterion) {
    let events = events();
    let bytes: usize = events.iter().map(String::len).sum();
    let mut g = c.benchmark_group("ari_events");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("json_value", |b| {
        b.iter(|| {
            for e in &events {
                let v: serde_json::Value = serde_json::from_str(black_box(e)).unwrap();
                black_box(v);
            }
        })
    });
    g.bench_function("event_parse", |b| {
        b.iter(|| {
            for e in &events {
                black_box(Event::parse(black_box(e)).unwrap());
            }
        })
    });
    g.finish();
    let mut g = c.benchmark_group("ari_events_bytes");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("event_parse", |b| {
        b.iter(|| {
            for e in &events {
                black_box(Event::parse(black_box(e)).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
