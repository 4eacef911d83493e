//! Criterion benches for the sans-IO AMI codec.
//!
//! `decode/events` decodes a realistic event stream (channel snapshots,
//! DialBegin with a second snapshot, VarSet), `frame_only` is the ceiling
//! (only finds the blank lines), `decode/fixture` replays the recorded
//! Asterisk 22 session, and `encode` writes an Originate.

use std::hint::black_box;

use astrix::ami::codec::{encode_message, Decoder, Frame, Limits};
use astrix::ami::Message;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn snapshot(prefix: &str, i: usize, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "{p}Channel: PJSIP/{n}-{i:08x}\r\n{p}ChannelState: 6\r\n{p}ChannelStateDesc: Up\r\n\
         {p}CallerIDNum: {n}\r\n{p}CallerIDName: Bob Jones\r\n{p}ConnectedLineNum: 1645\r\n\
         {p}ConnectedLineName: <unknown>\r\n{p}Language: en\r\n{p}AccountCode: \r\n\
         {p}Context: from-internal\r\n{p}Exten: 1645\r\n{p}Priority: 9\r\n\
         {p}Uniqueid: 1700000000.{i}\r\n{p}Linkedid: 1700000000.{i}\r\n",
        p = prefix,
        n = 1000 + i % 900,
    );
}

/// A stream of `n` events shaped like Asterisk 22's.
pub fn event_stream(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 500);
    for i in 0..n {
        match i % 4 {
            0 => {
                s.push_str("Event: Newchannel\r\nPrivilege: call,all\r\n");
                snapshot("", i, &mut s);
            }
            1 => {
                s.push_str("Event: VarSet\r\nPrivilege: dialplan,all\r\n");
                snapshot("", i, &mut s);
                s.push_str("Variable: RTPAUDIOQOS\r\nValue: ssrc=12345;themssrc=67890;lp=0;rxjitter=0.000000;rxcount=100\r\n");
            }
            2 => {
                s.push_str("Event: DialBegin\r\nPrivilege: call,all\r\n");
                snapshot("", i, &mut s);
                snapshot("Dest", i + 1, &mut s);
                s.push_str("DialString: 1645\r\n");
            }
            _ => {
                s.push_str("Event: Hangup\r\nPrivilege: call,all\r\n");
                snapshot("", i, &mut s);
                s.push_str("Cause: 16\r\nCause-txt: Normal Clearing\r\n");
            }
        }
        s.push_str("\r\n");
    }
    s.into_bytes()
}

fn decode_all(bytes: &[u8], chunk: usize, banner: bool) -> usize {
    let mut d = if banner {
        Decoder::new()
    } else {
        Decoder::without_banner(Limits::default())
    };
    let mut n = 0;
    for c in bytes.chunks(chunk) {
        d.feed(c);
        while let Ok(Some(f)) = d.decode() {
            if let Frame::Message(m) = f {
                n += m.len();
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let events = event_stream(2000);
    let mut g = c.benchmark_group("ami");
    g.throughput(Throughput::Elements(2000));
    g.bench_function("decode/events", |b| {
        b.iter(|| decode_all(black_box(&events), 128 * 1024, false))
    });
    g.bench_function("frame_only/events", |b| {
        b.iter(|| memchr::memmem::find_iter(black_box(&events), b"\r\n\r\n").count())
    });
    g.finish();

    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-22/ami_actions.bin"
    ));
    if let Ok(fixture) = fixture {
        let mut g = c.benchmark_group("ami");
        g.throughput(Throughput::Bytes(fixture.len() as u64));
        g.bench_function("decode/fixture", |b| {
            b.iter(|| decode_all(black_box(&fixture), 4096, true))
        });
        g.finish();
    }

    let action = Message::new()
        .with("Action", "Originate")
        .with("ActionID", "astrix-0123456789abcdef-42")
        .with("Channel", "PJSIP/1000")
        .with("Context", "from-internal")
        .with("Exten", "1001")
        .with("Priority", "1")
        .with("Variable", "A=1")
        .with("Variable", "B=2")
        .with("Async", "true");
    let mut out = Vec::with_capacity(512);
    c.bench_function("ami/encode/originate", |b| {
        b.iter(|| {
            out.clear();
            encode_message(black_box(&action), &mut out).ok();
            out.len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
