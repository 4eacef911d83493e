//! The live model against the decoder: applying the recorded call traffic
//! (tests/data/asterisk-22/ami_actions.bin, a real Asterisk 22 session) to
//! a `live::State` should cost a small fraction of decoding it.
//! `decode` decodes the whole recording; `decode+apply` also applies
//! every event to a state. Run with `cargo bench --bench live`.
//!
//! Before the benches, it prints the memory a tracked channel costs: the
//! bytes a global counting allocator sees held by a `State` of 10,000
//! channels (from their `Newchannel` events), per channel.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};

use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::Message;
use astrix::live::{Channel, State};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The system allocator, counting the bytes held.
struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call goes to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        HELD.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        HELD.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        HELD.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A `Newchannel` as Asterisk 22 sends it: a PJSIP channel, or a Local
/// half (whose 25-byte name no longer fits inline in a `Text`).
fn newchannel(i: usize) -> Message {
    let (name, uid) = if i % 2 == 0 {
        (
            format!("PJSIP/{}-{i:08x}", 1000 + i % 100),
            format!("1796319030.{i}"),
        )
    } else {
        (
            format!("Local/100@test-{i:08x};1"),
            format!("1796319030.{i}"),
        )
    };
    Message::new()
        .with("Event", "Newchannel")
        .with("Privilege", "call,all")
        .with("Channel", &name)
        .with("ChannelState", "0")
        .with("ChannelStateDesc", "Down")
        .with("CallerIDNum", &format!("{}", 1000 + i % 100))
        .with("CallerIDName", "Alice Example")
        .with("ConnectedLineNum", "<unknown>")
        .with("ConnectedLineName", "<unknown>")
        .with("Language", "en")
        .with("AccountCode", "")
        .with("Context", "from-internal")
        .with("Exten", "100")
        .with("Priority", "1")
        .with("Uniqueid", &uid)
        .with("Linkedid", &uid)
}

/// Bytes held per channel by a state tracking `n` channels.
fn bytes_per_channel(n: usize) -> f64 {
    let events: Vec<Message> = (0..n).map(newchannel).collect();
    let before = HELD.load(Ordering::Relaxed);
    let mut st = State::default();
    for e in &events {
        st.apply_event(e, &[]);
    }
    let held = HELD.load(Ordering::Relaxed) - before;
    assert_eq!(st.channels.len(), n);
    drop(st);
    held as f64 / n as f64
}

const RECORDING: &[u8] = include_bytes!("../tests/data/asterisk-22/ami_actions.bin");

fn decode_all(bytes: &[u8], mut each: impl FnMut(&Message)) -> usize {
    let mut d = Decoder::new();
    d.feed(bytes);
    let mut n = 0;
    while let Ok(Some(f)) = d.decode() {
        if let Frame::Message(m) = f {
            // Only events reach the model (the Manager hands it events
            // alone); responses are decoded and dropped.
            if m.event_name().is_some() {
                n += 1;
                each(&m);
            }
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
    // `ASTRIX_BENCH_MEMORY=0` skips it (for a profile of the benches alone).
    if std::env::var_os("ASTRIX_BENCH_MEMORY").is_none_or(|v| v != "0") {
        eprintln!(
            "memory: {:.0} bytes per tracked channel (10,000 channels, half PJSIP, half Local)",
            bytes_per_channel(10_000)
        );
    }
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
