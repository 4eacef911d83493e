//! Criterion benches for the `.conf` reader and editor.
//!
//! `config/parse/extensions_10mb` reads about 10 MB of extensions.conf-like
//! text (contexts inheriting a template, `exten =>`/`same =>` lines with
//! `${…}` and trailing comments, a block comment now and then);
//! `config/parse/pjsip_1mb` reads templates and many small categories;
//! `config/document/set` edits one value of a 1 MB file.

use std::fmt::Write;
use std::hint::black_box;

use astrix::config::{Config, Document};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// About `bytes` of extensions.conf-like text.
pub fn extensions(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 4096);
    s.push_str("[globals]\nTRUNK = PJSIP/trunk\n\n[ctx-tpl](!)\nlanguage = en\n");
    let mut i = 0usize;
    while s.len() < bytes {
        if i % 500 == 0 {
            let _ = write!(
                s,
                "\n;-- context {i}\n   generated --;\n[ctx-{i}](ctx-tpl)\n"
            );
        }
        let _ = write!(
            s,
            "exten => {i},1,NoOp(call ${{CALLERID(num)}} to ${{EXTEN}}) ; entry\n \
             same => n,Set(CDR(userfield)=ext\\;{i})\n \
             same => n,Dial(${{TRUNK}}/{i},30,tT)\n \
             same => n,Hangup()\n"
        );
        i += 1;
    }
    s
}

/// About `bytes` of pjsip.conf-like text.
pub fn pjsip(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 4096);
    s.push_str("[endpoint-tpl](!)\ntype = endpoint\ncontext = from-internal\ndisallow = all\nallow = ulaw\nallow = alaw\n\n");
    s.push_str("[aor-tpl](!)\ntype = aor\nmax_contacts = 1\n\n");
    let mut i = 0usize;
    while s.len() < bytes {
        let _ = write!(
            s,
            "[{i}](endpoint-tpl)\nauth = {i}-auth\naors = {i}\ncallerid = \"User {i}\" <{i}>\n\n\
             [{i}](aor-tpl)\n\n[{i}-auth]\ntype = auth\nusername = {i}\npassword = secret{i}\n\n"
        );
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("config/parse");
    let ext = extensions(10 << 20);
    g.throughput(Throughput::Bytes(ext.len() as u64));
    g.sample_size(10);
    g.bench_function("extensions_10mb", |b| {
        b.iter(|| Config::parse_str(black_box(&ext)).map(|c| c.categories().count()))
    });
    let pj = pjsip(1 << 20);
    g.throughput(Throughput::Bytes(pj.len() as u64));
    g.bench_function("pjsip_1mb", |b| {
        b.iter(|| Config::parse_str(black_box(&pj)).map(|c| c.categories().count()))
    });
    g.finish();

    let mut g = c.benchmark_group("config/document");
    let one = extensions(1 << 20);
    g.throughput(Throughput::Bytes(one.len() as u64));
    g.sample_size(10);
    g.bench_function("set_1mb", |b| {
        b.iter(|| {
            let mut d = Document::parse("e.conf", black_box(one.as_bytes())).ok()?;
            d.set("ctx-0", "language", "fr").ok()?;
            Some(d.as_bytes().len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
