//! Real configurations: every `.conf` of `tests/data/asterisk-etc/`, and
//! Asterisk's own samples from the directory named by
//! `ASTRIX_CONF_SAMPLES` (not in the repository: their licence is not
//! ours). Each must parse, and read and written back unedited must give the
//! same bytes.

use std::path::{Path, PathBuf};

use astrix::config::{Config, Document, FsResolver, Loader};

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
            Ok(_) => parsed += 1,
            Err(e) if matches!(e.kind, astrix::config::ErrorKind::InvalidUtf8 { .. }) => {
                Loader::new(FsResolver::new())
                    .latin1_fallback(true)
                    .load(path)
                    .unwrap_or_else(|e| panic!("{e}"));
                latin1 += 1;
                eprintln!("note: {name} is not UTF-8 ({e}); parsed as Latin-1, not round-tripped");
                continue;
            }
            Err(e) => panic!("{e}"),
        }
        if round_trip(path) {
            tripped += 1;
        }
    }
    eprintln!(
        "{} sample files: {parsed} parsed as UTF-8 and {tripped} round-tripped, {latin1} parsed as Latin-1, {skipped} not Asterisk syntax",
        files.len()
    );
}
