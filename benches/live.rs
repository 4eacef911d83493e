//! The live model against the decoder: applying the recorded call traffic
//! (tests/data/asterisk-22/ami_actions.bin, a real Asterisk 22 session) to
//! a `live::State` should cost a small fraction of decoding it.
//! `decode` decodes the whole recording; `decode+apply` also applies
//! every event to a state. Run with `cargo bench --bench live`.

use std::hint::black_box;

use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::Message;
use astrix::live::{Channel, State};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECORDING: &[u8] = include_bytes!("../tests/data/asterisk-22/ami_actions.bin");

fn decode_all(bytes: &[u8], mut each: impl FnMut(&Message)) -> usize {
    let mut d = Decoder::new();
    d.feed(bytes);
    let mut n = 0;
    while let Ok(Some(f)) = d.decode() {
        if let Frame::Message(m) = f {
            if m.event_name().is_some() {
                n += 1;
            }
            each(&m);
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let events = decode_all(RECORDING, |_| {});
    eprintln!(
        "{events} events in the recording; size_of::<Channel>() = {} bytes",
        std::mem::size_of::<Channel>()
    );
    let vars = vec!["ASTRIX_TAG".to_owned()];
    let mut g = c.benchmark_group("live");
    g.throughput(Throughput::Elements(events as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            decode_all(black_box(RECORDING), |m| {
                black_box(m);
            })
        })
    });
    g.bench_function("decode+apply", |b| {
        b.iter(|| {
            let mut st = State::default();
            decode_all(black_box(RECORDING), |m| {
                st.apply_event(m, &vars);
            });
            black_box(st)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
