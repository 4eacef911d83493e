//! Real configurations: every `.conf` of `tests/data/asterisk-etc/`, and
//! Asterisk's own samples from the directory named by
//! `ASTRIX_CONF_SAMPLES` (not in the repository: their licence is not
//! ours; only `minivm.conf.sample`, the Latin-1 one, is kept as test data). Each must parse, and read and written back unedited must give the
//! same bytes.

use std::path::{Path, PathBuf};

use astrix::config::{Config, Document};

const REPO_ETC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/asterisk-etc");

/// Files in Asterisk's samples directory that are not in Asterisk's config
/// syntax at all (a shell script and a Perl config).
const NOT_ASTERISK_SYNTAX: &[&str] = &["ast_debug_tools.conf.sample", "dbsep.conf.sample"];

fn conf_files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
        })
        .collect();
    files.sort();
    files
}

fn round_trip(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    match Document::parse(path, &bytes) {
        Ok(doc) => {
            assert_eq!(doc.as_bytes(), &bytes[..], "{} changed", path.display());
            true
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn recorded_etc_configs_parse_and_round_trip() {
    let files = conf_files(Path::new(REPO_ETC), &[".conf"]);
    assert!(files.len() >= 20, "{REPO_ETC}: {} files", files.len());
    for path in &files {
        let c = Config::from_path(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        round_trip(path);
    }
    eprintln!("{} recorded configs parsed and round-tripped", files.len());
}

#[test]
fn recorded_etc_values() {
    let path = Path::new(REPO_ETC).join("manager.conf");
    let c = Config::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("general", "port"), Some("5038"));
    assert_eq!(c.get("admin", "secret"), Some("wordpass"));
    let asterisk = Config::from_path(Path::new(REPO_ETC).join("asterisk.conf")).unwrap();
    // `[directories](!)` is a template there.
    assert!(asterisk.template("directories").is_some());
    let ext = Config::from_path(Path::new(REPO_ETC).join("extensions.conf")).unwrap();
    assert!(ext
        .categories()
        .any(|c| c.get_all("exten").count() > 1 || c.get_all("same").count() > 0));
}

#[test]
fn asterisk_sample_configs() {
    let Some(dir) = std::env::var_os("ASTRIX_CONF_SAMPLES") else {
        eprintln!("note: ASTRIX_CONF_SAMPLES is not set; Asterisk's sample configs skipped");
        return;
    };
    let files = conf_files(Path::new(&dir), &[".conf", ".conf.sample"]);
    assert!(!files.is_empty(), "no .conf or .conf.sample in {dir:?}");
    let (mut parsed, mut latin1, mut tripped, mut skipped) = (0, 0, 0, 0);
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let strict = Config::from_path(path);
        if NOT_ASTERISK_SYNTAX.contains(&name) {
            assert!(strict.is_err(), "{name} was expected not to parse");
            skipped += 1;
            continue;
        }
        match strict {
            Ok(c) => {
                parsed += 1;
                if c.all_categories()
                    .any(|c| c.variables().any(|v| v.is_latin1()))
                {
                    latin1 += 1;
                }
            }
            Err(e) => panic!("{e}"),
        }
        if round_trip(path) {
            tripped += 1;
        }
    }
    eprintln!(
        "{} sample files: {parsed} parsed and {tripped} round-tripped ({latin1} with Latin-1 values), {skipped} not Asterisk syntax",
        files.len()
    );
}

/// Asterisk 22.10.1's `minivm.conf.sample`, in the repository: Latin-1
/// (Swedish e-mail texts), read by default and written back byte for byte.
const MINIVM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/minivm.conf.sample");

#[test]
fn latin1_sample_reads_by_default_and_round_trips() {
    let bytes = std::fs::read(MINIVM).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the sample is Latin-1"
    );
    let c = Config::from_path(MINIVM).unwrap_or_else(|e| panic!("{e}"));
    let cat = "template-sv_SE_email";
    let subject = c.variable(cat, "subject").unwrap();
    assert_eq!(
        subject.value(),
        "Du har f\u{e5}tt r\u{f6}stmeddelande (se bilaga)"
    );
    assert!(subject.is_latin1());
    assert_eq!(
        &*subject.value_bytes(),
        b"Du har f\xe5tt r\xf6stmeddelande (se bilaga)"
    );
    let from = c.variable(cat, "fromemail").unwrap();
    assert!(!from.is_latin1());
    assert_eq!(c.get(cat, "charset"), Some("iso-8859-1"));

    round_trip(Path::new(MINIVM));
    let mut doc = Document::from_path(MINIVM).unwrap();
    assert_eq!(
        doc.values(cat, "fromaddress"),
        ["Asterisk R\u{f6}stbrevl\u{e5}da"]
    );
    assert!(doc
        .as_str()
        .contains("fromaddress = Asterisk R\u{f6}stbrevl\u{e5}da\n"));
    // An edit changes its own bytes only: the Latin-1 ones stay Latin-1.
    doc.set(cat, "charset", "utf-8").unwrap();
    let at = bytes
        .windows(18)
        .position(|w| w == b"charset=iso-8859-1")
        .unwrap();
    let mut want = bytes[..at].to_vec();
    want.extend_from_slice(b"charset=utf-8");
    want.extend_from_slice(&bytes[at + 18..]);
    assert!(doc.as_bytes() == want, "the edit changed other bytes");
}
