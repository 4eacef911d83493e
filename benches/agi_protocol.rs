//! The sans-IO AGI core: parsing the environment and replies, encoding
//! commands.

use astrix::agi::commands::{GetFullVariable, SetVariable, StreamFile, Verbose};
use astrix::agi::{decode_reply, parse_environment, AgiCommand, CommandLine, Limits};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

const ENV: &[u8] = b"agi_network: yes\nagi_network_script: demo?name=World\nagi_request: agi://127.0.0.1:4573/demo?name=World\nagi_channel: PJSIP/100-00000004\nagi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1795418498.8\nagi_version: 22.10.1\nagi_callerid: 5551234\nagi_calleridname: Astrix Test\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\nagi_context: test\nagi_extension: 200\nagi_priority: 3\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 140389618804416\nagi_arg_1: a\nagi_arg_2: b\n\n";

const REPLIES: &[u8] = b"200 result=0\n200 result=6\n200 result=1 (fastagi-200)\n200 result=0\n200 result=1 (5551234 / fastagi-200)\n200 result=-1 endpos=0\n100 result=0 Trying...\n200 result=0 Gosub complete\n510 Invalid or unknown command\n520-Invalid command syntax.  Proper usage follows:\nSets a variable to the current channel.\n520 End of proper usage.\nHANGUP\n200 result=0\n";

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("agi");
    g.throughput(Throughput::Bytes(ENV.len() as u64));
    g.bench_function("parse_environment", |b| {
        b.iter(|| parse_environment(black_box(ENV), &limits).unwrap().unwrap())
    });
    g.throughput(Throughput::Bytes(REPLIES.len() as u64));
    g.bench_function("decode_replies", |b| {
        b.iter(|| {
            let mut buf = black_box(REPLIES);
            let mut n = 0;
            while let Some((_, used)) = decode_reply(buf, &limits).unwrap() {
                buf = &buf[used..];
                n += 1;
            }
            n
        })
    });
    g.throughput(Throughput::Elements(4));
    let cmds = (
        SetVariable::new("FOO", "value with spaces and \"quotes\""),
        GetFullVariable::new("${CALLERID(num)}"),
        StreamFile::new("hello-world"),
        Verbose::new("bench step"),
    );
    let mut line = CommandLine::new();
    g.bench_function("encode_commands", |b| {
        b.iter(|| {
            let mut total = 0;
            line.clear();
            cmds.0.encode(&mut line);
            total += line.finish().unwrap().len();
            line.clear();
            cmds.1.encode(&mut line);
            total += line.finish().unwrap().len();
            line.clear();
            cmds.2.encode(&mut line);
            total += line.finish().unwrap().len();
            line.clear();
            cmds.3.encode(&mut line);
            total += line.finish().unwrap().len();
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
