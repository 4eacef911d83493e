//! Typed events against the decoder: reading a decoded `Message` into its
//! typed event should cost no more than twice decoding the message.
//!
//! For each of Newchannel, VarSet, DialBegin and Hangup, shaped like
//! Asterisk 22's (with two `ChanVariable` headers, as `channelvars` gives),
//! `decode/NAME` decodes the bytes into a `Message` and `typed/NAME` reads
//! that `Message` as the typed event (the message is cloned into the event,
//! so this includes that copy). Run with `cargo bench --bench ami_events`.

use std::hint::black_box;

use astrix::ami::codec::{Decoder, Frame};
use astrix::ami::events::{DialBegin, Event, Hangup, Newchannel, VarSet};
use astrix::ami::Message;
use criterion::{criterion_group, criterion_main, Criterion};

fn snapshot(prefix: &str, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "{p}Channel: PJSIP/1001-0000002a\r\n{p}ChannelState: 6\r\n{p}ChannelStateDesc: Up\r\n\
         {p}CallerIDNum: 1001\r\n{p}CallerIDName: Bob Jones\r\n{p}ConnectedLineNum: 1645\r\n\
         {p}ConnectedLineName: <unknown>\r\n{p}Language: en\r\n{p}AccountCode: \r\n\
         {p}Context: from-internal\r\n{p}Exten: 1645\r\n{p}Priority: 9\r\n\
         {p}Uniqueid: 1700000000.42\r\n{p}Linkedid: 1700000000.42\r\n\
         {p}ChanVariable: ASTRIX_TAG=t1\r\n{p}ChanVariable: ASTRIX_LONG=\r\n",
        p = prefix,
    );
}

fn event(name: &str) -> Vec<u8> {
    let mut s = format!("Event: {name}\r\nPrivilege: call,all\r\n");
    match name {
        "Newchannel" => snapshot("", &mut s),
        "VarSet" => {
            snapshot("", &mut s);
            s.push_str("Variable: RTPAUDIOQOS\r\nValue: ssrc=12345;themssrc=67890;lp=0;rxjitter=0.000000\r\n");
        }
        "DialBegin" => {
            snapshot("", &mut s);
            snapshot("Dest", &mut s);
            s.push_str("DialString: 1645\r\n");
        }
        _ => {
            snapshot("", &mut s);
            s.push_str("Cause: 16\r\nCause-txt: Normal Clearing\r\n");
        }
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn decode(d: &mut Decoder, bytes: &[u8]) -> Message {
    d.feed(bytes);
    match d.decode() {
        Ok(Some(Frame::Message(m))) => m,
        other => panic!("bench input did not decode: {other:?}"),
    }
}

fn bench_one<E: Event + std::fmt::Debug>(c: &mut Criterion) {
    let bytes = event(E::NAME);
    let mut d = Decoder::new();
    // The decoder expects the banner first.
    d.feed(b"Asterisk Call Manager/11.0.0\r\n");
    let _ = d.decode();
    let msg = decode(&mut d, &bytes);
    E::from_message(&msg).expect("bench event reads");

    let mut g = c.benchmark_group(E::NAME);
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode(&mut d, black_box(&bytes))))
    });
    g.bench_function("typed", |b| {
        b.iter(|| black_box(E::from_message(black_box(&msg))))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_one::<Newchannel>(c);
    bench_one::<VarSet>(c);
    bench_one::<DialBegin>(c);
    bench_one::<Hangup>(c);
}

criterion_group!(events, benches);
criterion_main!(events);
