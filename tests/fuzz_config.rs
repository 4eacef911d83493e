//! Fuzzing the `.conf` reader and editor on stable Rust: arbitrary bytes
//! and mutations of the real Asterisk 22 configuration
//! (`tests/data/asterisk-etc/*.conf`) through [`Config::parse_str`], a
//! [`Loader`] over a [`MemoryResolver`] (includes, globs, `#exec`,
//! Latin-1), and random [`Document`] edits.
//!
//! Properties: no panic; a read configuration stays bounded by its input;
//! every successful edit reads back; errors carry a location.
//!
//! `cargo test --test fuzz_config` runs a short seeded run;
//! `ASTRIX_FUZZ_CASES=1000000 cargo test --release --test fuzz_config -- --nocapture`
//! a long one.

mod common;

use astrix::config::{Config, Document, Loader, MemoryResolver};
use common::mutate::{self, cases, Rng};
use proptest::prelude::*;

fn etc() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/asterisk-etc");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("tests/data/asterisk-etc")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    // What the real files lack: includes, templates, comments, objects.
    files.push((
        "synthetic.conf".into(),
        b"\xef\xbb\xbf;-- block ;-- nested --; --;\r\n#include \"inc.conf\"\n#tryinclude sub/*.conf\n\
#include <{a,b}.conf>\n#exec echo hi\n[tpl](!)\nx = 1 ; c\ny => 2\n[c](tpl,+)\nx += 3\n\
z=\\;${V}\n[c](+)\nw=\n[d](!,tpl,c)\nexten => s,1,NoOp()\n same => n,Hangup()\n"
            .to_vec(),
    ));
    files
}

fn resolver(files: &[(String, Vec<u8>)]) -> MemoryResolver {
    let mut r = MemoryResolver::new()
        .with_file(
            "/etc/asterisk/inc.conf",
            b"[inc]\nq=1\n#include main.conf\n".to_vec(),
        )
        .with_file("/etc/asterisk/a.conf", b"[a]\n#include b.conf\n".to_vec())
        .with_file("/etc/asterisk/b.conf", b"[b](a)\nk=v\n".to_vec())
        .with_file("/etc/asterisk/sub/x.conf", b"x=1\n[sub]\n".to_vec())
        .with_command("echo hi", b"[exec]\nout=1\n".to_vec());
    for (name, bytes) in files.iter().take(4) {
        r.insert(format!("/etc/asterisk/sub/{name}"), bytes.clone());
    }
    r
}

/// Walks everything a read configuration holds; checks its bounds.
fn check_config(cfg: &Config, input_len: usize) {
    let mut vars = 0usize;
    for cat in cfg.all_categories() {
        let _ = (cat.name(), cat.is_template(), cat.location().line);
        let _ = cat.inherits().count();
        for v in cat.variables() {
            vars += 1;
            let _ = (v.name(), v.value(), v.is_object(), v.inherited_from());
            let _ = v.location();
        }
        if let Some(v) = cat.variable("x") {
            let _ = v.value();
        }
        let _ = cat.get_all("exten").count();
    }
    assert!(
        vars <= input_len.max(1 << 22) * 2,
        "{vars} variables from {input_len} bytes"
    );
    for d in cfg.directives() {
        let _ = (d.kind(), d.argument(), d.files().count(), d.location());
    }
    for w in cfg.warnings() {
        let _ = format!("{w:?}");
    }
    let _ = (
        cfg.files(),
        cfg.get("general", "x"),
        cfg.categories().count(),
    );
}

fn parse_case(bytes: &[u8], files: &[(String, Vec<u8>)], rng: &mut Rng) {
    let text = String::from_utf8_lossy(bytes);
    match Config::parse_str(&text) {
        Ok(cfg) => check_config(&cfg, bytes.len()),
        Err(e) => {
            let _ = (e.to_string(), e.location());
        }
    }
    if rng.one_in(2) {
        let mut loader = Loader::new(resolver(files))
            .allow_exec(rng.one_in(2))
            .max_include_depth(rng.below(12))
            .max_line_len(*rng.pick(&[16, 200, 8190]));
        let total = bytes.len() * 12 + 4096;
        match loader.parse("/etc/asterisk/main.conf", bytes) {
            Ok(cfg) => check_config(&cfg, total),
            Err(e) => {
                let _ = (e.to_string(), e.location());
            }
        }
    }
}

const NAMES: &[&str] = &[
    "general", "x", "exten", "same", "a b", "", " x", "x ", "k=", "k;", "[k", "#k", "\\k", "k+",
    "k]", "tpl", "c", "d", "\u{e9}", "k\nv", "(!)",
];
const VALUES: &[&str] = &[
    "1",
    "",
    " v",
    "v ",
    "v;c",
    "\\;",
    "${X}",
    "a\nb",
    "=> x",
    "\u{e9}",
    "s,1,NoOp()",
    "--;",
    ";--",
    "[x]",
    "#include y",
];

fn edit_case(bytes: &[u8], rng: &mut Rng) {
    let Ok(mut doc) = Document::parse("edit.conf", bytes) else {
        return;
    };
    for _ in 0..rng.range(1, 8) {
        let cats: Vec<String> = doc.category_names().iter().map(|s| s.to_string()).collect();
        let cat = if !cats.is_empty() && rng.one_in(2) {
            rng.pick(&cats).clone()
        } else {
            rng.pick(NAMES).to_string()
        };
        let key = *rng.pick(NAMES);
        let value = *rng.pick(VALUES);
        let before = doc.as_bytes().to_vec();
        let r = match rng.below(9) {
            0 => doc.set(&cat, key, value).map(|_| 0),
            1 => doc.append(&cat, key, value).map(|_| 0),
            2 => doc.append_object(&cat, key, value).map(|_| 0),
            3 => doc.delete(&cat, key),
            4 => doc.add_category(key).map(|_| 0),
            5 => doc.add_template(key).map(|_| 0),
            6 => doc
                .add_category_from(key, rng.one_in(2), &[cat.as_str()])
                .map(|_| 0),
            7 => doc.delete_category(&cat).map(|_| 0),
            _ => doc.rename_category(&cat, key).map(|_| 0),
        };
        match r {
            Ok(_) => {
                let again = Document::parse("edit.conf", doc.as_bytes());
                assert!(again.is_ok(), "edit does not read back: {again:?}");
                let _ = doc.values(&cat, key);
            }
            Err(e) => {
                let _ = e.to_string();
                assert_eq!(
                    doc.as_bytes(),
                    &before[..],
                    "a failed edit changed the text"
                );
            }
        }
    }
    let _ = Config::parse_str(doc.as_str());
}

#[test]
fn fuzz_config_parser() {
    let files = etc();
    let corpus: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    for (name, b) in &files {
        if name != "synthetic.conf" {
            let cfg = Config::parse_str(std::str::from_utf8(b).unwrap()).unwrap();
            check_config(&cfg, b.len());
        }
    }
    mutate::run("config parser", 0xC0F, cases(20_000), |rng| {
        let bytes = mutate::input(rng, &corpus, 4096, 16 * 1024);
        parse_case(&bytes, &files, rng);
    });
}

#[test]
fn fuzz_config_document_edits() {
    let files = etc();
    let corpus: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    mutate::run("config document edits", 0xD0C, cases(10_000), |rng| {
        let bytes = if rng.one_in(3) {
            rng.pick(&corpus).to_vec()
        } else {
            mutate::input(rng, &corpus, 4096, 8 * 1024)
        };
        edit_case(&bytes, rng);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256).min(20_000) as u32))]

    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let files = Vec::new();
        let mut rng = Rng::new(data.len() as u64);
        parse_case(&data, &files, &mut rng);
        edit_case(&data, &mut rng);
    }

    #[test]
    fn arbitrary_lines(
        lines in prop::collection::vec(
            prop::sample::select(vec![
                "[a]", "[b](a)", "[t](!)", "[c](!,t,a)", "[a](+)", "x=1", "x+=2", "e => 1", "",
                ";--", "--;", ";---", "; c", "#include a.conf", "#tryinclude *.conf", "#exec echo hi",
                "\\;=;", "=", "[", "]", "[](", "x", " = ", "#include \"", "[a](b,c,d,e,f)",
            ]),
            0..40,
        ),
    ) {
        let text = lines.join("\n");
        let files = etc();
        let mut rng = Rng::new(lines.len() as u64);
        parse_case(text.as_bytes(), &files[..2], &mut rng);
        edit_case(text.as_bytes(), &mut rng);
    }
}
