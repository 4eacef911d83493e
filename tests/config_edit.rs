//! The writer: edits change only the bytes they must.

use std::path::{Path, PathBuf};

use astrix::config::{Config, Document, EditError};

fn doc(text: &str) -> Document {
    Document::parse("t.conf", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn reread(d: &Document) -> Config {
    Config::parse_str(d.as_str()).unwrap_or_else(|e| panic!("{e}\n{}", d.as_str()))
}

const SAMPLE: &str = "\
; manager.conf, by hand
[general]
enabled = no        ; switched off
port=5038
bindaddr => 0.0.0.0

;-- a block comment
    over lines --;
[admin](!)
read = all
write = all

[bob](admin)
secret = s3cret ; not really
";

#[test]
fn unedited_is_byte_identical() {
    for text in [
        SAMPLE,
        "",
        "no newline at end\n[a]\nx=1",
        "[a]\r\nx = 1\r\n\r\n",
    ] {
        let d = Document::parse("t.conf", text.as_bytes()).unwrap();
        assert_eq!(d.as_str(), text);
    }
}

#[test]
fn set_replaces_only_the_value() {
    let mut d = doc(SAMPLE);
    d.set("general", "enabled", "yes").unwrap();
    d.set("general", "PORT", "5039").unwrap();
    d.set("general", "bindaddr", "127.0.0.1").unwrap();
    let expected = SAMPLE
        .replace("enabled = no        ;", "enabled = yes        ;")
        .replace("port=5038", "port=5039")
        .replace("bindaddr => 0.0.0.0", "bindaddr => 127.0.0.1");
    assert_eq!(d.as_str(), expected);
    assert!(reread(&d)
        .variable("general", "bindaddr")
        .unwrap()
        .is_object());
}

#[test]
fn set_escapes_semicolons_and_guards_arrows() {
    let mut d = doc("[a]\nx=1;c\ny=2\n");
    d.set("a", "x", "p;q\\").unwrap();
    d.set("a", "y", ">gt").unwrap();
    assert_eq!(d.as_str(), "[a]\nx=p\\;q\\ ;c\ny= >gt\n");
    let c = reread(&d);
    assert_eq!(c.get("a", "x"), Some("p;q\\"));
    assert_eq!(c.get("a", "y"), Some(">gt"));
    assert!(!c.variable("a", "y").unwrap().is_object());
}

#[test]
fn set_missing_key_appends_it() {
    let mut d = doc(SAMPLE);
    d.set("bob", "context", "office").unwrap();
    assert_eq!(d.as_str(), format!("{SAMPLE}context = office\n"));
    let c = reread(&d);
    assert_eq!(c.get("bob", "context"), Some("office"));
    assert_eq!(c.get("bob", "read"), Some("all"));
}

#[test]
fn set_updates_the_last_and_drops_its_plus_equals() {
    let mut d = doc("[a]\nk = 1\nk = 2\nk += 3\nother = x\n");
    d.set("a", "k", "9").unwrap();
    assert_eq!(d.as_str(), "[a]\nk = 1\nk = 9\nother = x\n");
}

#[test]
fn append_goes_after_the_last_statement_of_the_category() {
    let mut d = doc(SAMPLE);
    d.append("general", "displayconnects", "yes").unwrap();
    let expected = SAMPLE.replace(
        "bindaddr => 0.0.0.0\n",
        "bindaddr => 0.0.0.0\ndisplayconnects = yes\n",
    );
    assert_eq!(d.as_str(), expected);
    let mut d = doc("[ctx]\nexten=>1,1,A\n\n[next]\n");
    d.append_object("ctx", "exten", "1,2,B").unwrap();
    d.append_object("ctx", "exten", "1,3,C").unwrap();
    assert_eq!(
        d.as_str(),
        "[ctx]\nexten=>1,1,A\nexten=>1,2,B\nexten=>1,3,C\n\n[next]\n"
    );
    assert_eq!(
        reread(&d).get_all("ctx", "exten"),
        ["1,1,A", "1,2,B", "1,3,C"]
    );
}

#[test]
fn append_after_a_block_comment_and_to_plus_blocks() {
    let mut d = doc("[a]\nx = 1 ;-- open\nstill comment --;\n[b]\n[a](+)\ny = 2 ; last\n");
    d.append("a", "z", "3").unwrap();
    assert_eq!(
        d.as_str(),
        "[a]\nx = 1 ;-- open\nstill comment --;\n[b]\n[a](+)\ny = 2 ; last\nz = 3\n"
    );
    let mut d = doc("[a]\nx = 1 ;-- open\nstill comment --;\n[b]\n");
    d.append("a", "z", "3").unwrap();
    assert_eq!(
        d.as_str(),
        "[a]\nx = 1 ;-- open\nstill comment --;\nz = 3\n[b]\n"
    );
}

#[test]
fn crlf_files_get_crlf_lines_and_missing_final_newline_is_added() {
    let mut d = doc("[a]\r\nx = 1\r\n");
    d.append("a", "y", "2").unwrap();
    d.add_category("b").unwrap();
    assert_eq!(d.as_str(), "[a]\r\nx = 1\r\ny = 2\r\n\r\n[b]\r\n");
    let mut d = doc("[a]\nx=1");
    d.append("a", "y", "2").unwrap();
    assert_eq!(d.as_str(), "[a]\nx=1\ny=2\n");
}

#[test]
fn delete_removes_whole_lines() {
    let mut d = doc(SAMPLE);
    assert_eq!(d.delete("general", "port").unwrap(), 1);
    assert_eq!(d.as_str(), SAMPLE.replace("port=5038\n", ""));
    assert_eq!(d.delete("general", "nothing").unwrap(), 0);
    let mut d = doc("[c]\nexten => 1,1,A\nsame => n,B\nexten => 2,1,C ; two\n");
    assert_eq!(d.delete("c", "exten").unwrap(), 2);
    assert_eq!(d.as_str(), "[c]\nsame => n,B\n");
    // A statement sharing its line with a block comment goes alone.
    let mut d = doc("[a]\n;-- c\n--; x = 1 ;-- d\n--;\ny=2\n");
    d.delete("a", "x").unwrap();
    assert_eq!(d.as_str(), "[a]\n;-- c\n--;  ;-- d\n--;\ny=2\n");
    assert_eq!(reread(&d).category("a").unwrap().len(), 1);
}

#[test]
fn categories_added_deleted_renamed() {
    let mut d = doc(SAMPLE);
    d.add_category("alice").unwrap();
    d.add_template("tpl").unwrap();
    d.add_category_from("carol", false, &["admin", "tpl"])
        .unwrap();
    assert!(d.as_str().starts_with(SAMPLE));
    assert_eq!(
        &d.as_str()[SAMPLE.len()..],
        "\n[alice]\n\n[tpl](!)\n\n[carol](admin,tpl)\n"
    );
    assert_eq!(
        d.add_category("ALICE"),
        Err(EditError::CategoryExists("ALICE".into()))
    );

    let mut d = doc(SAMPLE);
    d.rename_category("bob", "robert").unwrap();
    assert_eq!(
        d.as_str(),
        SAMPLE.replace("[bob](admin)", "[robert](admin)")
    );
    d.rename_category("admin", "staff").unwrap();
    // A rename does not follow references: [robert](admin) now names a
    // template that is gone, and the file no longer reads.
    assert!(Config::parse_str(d.as_str()).is_err());

    let mut d = doc(SAMPLE);
    d.delete_category("general").unwrap();
    assert_eq!(
        d.as_str(),
        SAMPLE.replace(
            "[general]\nenabled = no        ; switched off\nport=5038\nbindaddr => 0.0.0.0\n",
            ""
        )
    );
    let mut d = doc("[a]\nx=1\n[b]\ny=1\n[a](+)\nz=1\n; about c\n[c]\n");
    d.delete_category("a").unwrap();
    assert_eq!(d.as_str(), "[b]\ny=1\n; about c\n[c]\n");
}

#[test]
fn bad_edits_are_refused_and_change_nothing() {
    let mut d = doc(SAMPLE);
    assert_eq!(
        d.set("nope", "k", "v"),
        Err(EditError::NoSuchCategory("nope".into()))
    );
    assert!(matches!(
        d.set("general", "a=b", "v"),
        Err(EditError::InvalidName(_))
    ));
    assert!(matches!(
        d.set("general", "k+", "v"),
        Err(EditError::InvalidName(_))
    ));
    assert!(matches!(
        d.set("general", "[k", "v"),
        Err(EditError::InvalidName(_))
    ));
    assert!(matches!(
        d.set("general", "k", "two\nlines"),
        Err(EditError::InvalidValue(_))
    ));
    assert!(matches!(
        d.set("general", "k", " padded"),
        Err(EditError::InvalidValue(_))
    ));
    assert!(matches!(
        d.add_category("a]b"),
        Err(EditError::InvalidCategoryName(_))
    ));
    assert!(matches!(
        d.rename_category("general", "bob"),
        Err(EditError::CategoryExists(_))
    ));
    assert_eq!(d.as_str(), SAMPLE);
}

#[test]
fn save_and_read_back() {
    let dir = std::env::temp_dir().join(format!("astrix-config-edit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.conf");
    std::fs::write(&path, SAMPLE).unwrap();
    let mut d = Document::from_path(&path).unwrap();
    d.set("bob", "secret", "new").unwrap();
    d.save(&path).unwrap();
    assert_eq!(
        Config::from_path(&path).unwrap().get("bob", "secret"),
        Some("new")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn real_configs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/asterisk-etc"
    ))];
    if let Some(s) = std::env::var_os("ASTRIX_CONF_SAMPLES") {
        dirs.push(PathBuf::from(s));
    }
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.to_str()
                    .is_some_and(|s| s.ends_with(".conf") || s.ends_with(".conf.sample"))
            })
            .collect();
        files.sort();
        out.extend(files);
    }
    assert!(
        out.len() >= 20,
        "the recorded configs of tests/data/asterisk-etc"
    );
    out
}

fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// On every real config: set a new key in each category's last block,
/// then check that the only change is one added line and that the file
/// reads the same plus that value.
#[test]
fn edits_on_real_configs_touch_one_line() {
    let mut edited = 0;
    for path in real_configs() {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(before) = Config::parse(Path::new("x.conf"), &bytes, astrix::config::NoIncludes)
        else {
            continue; // not Asterisk syntax, not UTF-8, or needs includes
        };
        let mut d = Document::parse(&path, &bytes).unwrap();
        let names: Vec<String> = d.category_names().into_iter().map(String::from).collect();
        for name in names {
            if before.category(&name).is_none() {
                continue;
            }
            let orig = d.as_str().to_string();
            d.set(&name, "astrix_added", "yes; really").unwrap();
            // A last line without a newline gets one when a line goes after it.
            let base = if orig.ends_with('\n') || !d.as_str().ends_with('\n') {
                orig.clone()
            } else {
                format!("{orig}\n")
            };
            let (a, b) = (lines(&base), lines(d.as_str()));
            assert_eq!(b.len(), a.len() + 1, "{}", path.display());
            let at = a
                .iter()
                .zip(&b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len());
            assert_eq!(&b[..at], &a[..at]);
            assert_eq!(&b[at + 1..], &a[at..]);
            assert!(b[at].starts_with("astrix_added"), "{:?}", b[at]);
            let after = Config::parse_str(d.as_str()).unwrap();
            assert_eq!(
                after.get(&name, "astrix_added"),
                Some("yes; really"),
                "{}",
                path.display()
            );
            let other: Vec<_> = before.categories().map(|c| c.len()).collect();
            let now: Vec<_> = after.categories().map(|c| c.len()).collect();
            assert_eq!(other.len(), now.len());
            assert!(d.delete(&name, "astrix_added").unwrap() >= 1);
            assert!(
                d.as_str() == orig || d.as_str() == base,
                "{}: delete did not undo set",
                path.display()
            );
            edited += 1;
        }
    }
    eprintln!("{edited} categories edited and restored");
}

/// A block comment that opens on a header's line and closes on the line of
/// the next header (found by the config proptest): a new variable stays in
/// the category it was added to, and the comment keeps its bytes on a line
/// of its own.
#[test]
fn append_after_a_header_whose_line_opens_a_block_comment() {
    let mut doc = Document::parse("p.conf", b"[a];--\n--;[a]").unwrap();
    doc.set("a", "key", "v;1\\").unwrap();
    assert_eq!(doc.values("a", "key"), ["v;1\\"]);
    assert_eq!(doc.as_str(), "[a]\nkey = v\\;1\\\n;--\n--;[a]");
}
