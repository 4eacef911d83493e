//! Bad input: every refusal carries the file and the line; nothing panics,
//! loops forever, or grows without bound.

use std::time::{Duration, Instant};

use astrix::config::{Config, ConfigError, Document, ErrorKind, Loader, MemoryResolver};
use proptest::prelude::*;

fn err(text: &str) -> ConfigError {
    match Config::parse_str(text) {
        Ok(_) => panic!("parsed: {text:?}"),
        Err(e) => e,
    }
}

#[test]
fn unterminated_block_comment() {
    let e = err("[a]\nx=1\n;-- never closed\ny=2\n");
    assert_eq!(
        (e.line, e.kind.clone()),
        (3, ErrorKind::UnterminatedComment)
    );
    assert_eq!(
        e.to_string(),
        "<string>:3: unterminated block comment (`;--` without `--;`)"
    );
    // The innermost open comment is reported.
    let e = err("[a]\n;-- one\n;-- two\n--;\n");
    assert_eq!(e.line, 2);
    let e = err("[a]\n;-- one\n;-- two\n");
    assert_eq!(e.line, 3);
    assert!(Document::parse("d.conf", b"[a]\n;-- x\n").is_err());
}

#[test]
fn include_loop_is_an_error() {
    let files = MemoryResolver::new()
        .with_file("a.conf", "[a]\n#include b.conf\n")
        .with_file("b.conf", "x=1\n#include \"./a.conf\"\n");
    let e = Loader::new(files).load("a.conf").unwrap_err();
    assert_eq!(e.file.to_str(), Some("b.conf"));
    assert_eq!(e.line, 2);
    assert!(matches!(e.kind, ErrorKind::IncludeLoop { .. }), "{e}");

    let files = MemoryResolver::new().with_file("self.conf", "#tryinclude self.conf\n");
    let e = Loader::new(files).load("self.conf").unwrap_err();
    assert!(matches!(e.kind, ErrorKind::IncludeLoop { .. }), "{e}");
}

#[test]
fn include_loop_on_disk() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/config/loop_a.conf");
    let e = Config::from_path(path).unwrap_err();
    assert!(e.file.ends_with("loop_b.conf"), "{e}");
    assert_eq!(e.line, 1);
    assert!(matches!(e.kind, ErrorKind::IncludeLoop { .. }), "{e}");
}

#[test]
fn includes_too_deep() {
    let mut files = MemoryResolver::new();
    for i in 0..20 {
        files.insert(format!("f{i}.conf"), format!("#include f{}.conf\n", i + 1));
    }
    let e = Loader::new(files).load("f0.conf").unwrap_err();
    assert_eq!(e.kind, ErrorKind::IncludeTooDeep { limit: 10 });
    assert_eq!(e.file.to_str(), Some("f10.conf"));
}

#[test]
fn missing_include_is_an_error_tryinclude_is_not() {
    let e = err("[a]\nx=1\n#include \"nothere.conf\"\n");
    assert_eq!(e.line, 3);
    assert!(
        matches!(&e.kind, ErrorKind::IncludeNotFound { pattern, .. } if pattern == "nothere.conf")
    );
    assert!(Config::parse_str("[a]\n#tryinclude \"nothere.conf\"\n").is_ok());

    let files = MemoryResolver::new().with_file("m.conf", "[a]\n#include d/*.conf\n");
    let e = Loader::new(files).load("m.conf").unwrap_err();
    assert_eq!((e.file.to_str(), e.line), (Some("m.conf"), 2));
}

#[test]
fn line_outside_a_category() {
    for text in ["x = 1\n", "; c\n\nexten => 1,1,A\n", "junk\n", "x += 1\n"] {
        let e = err(text);
        assert_eq!(e.kind, ErrorKind::NoCategory, "{text:?}");
    }
    assert_eq!(err("; c\n\nexten => 1,1,A\n").line, 3);
}

#[test]
fn unknown_template_and_unknown_category() {
    let e = err("[t](!)\n[a](t,nope)\n");
    assert_eq!(e.line, 2);
    assert_eq!(
        e.kind,
        ErrorKind::UnknownTemplate {
            name: "nope".into()
        }
    );
    // Inheritance looks backwards only.
    let e = err("[a](later)\n[later](!)\n");
    assert_eq!(e.line, 1);
    let e = err("[x]\n[a](+)\n");
    assert_eq!(
        (e.line, e.kind),
        (2, ErrorKind::UnknownCategory { name: "a".into() })
    );
}

#[test]
fn broken_headers() {
    let e = err("[a]\nx=1\n[b\n");
    assert_eq!((e.line, e.kind), (3, ErrorKind::MissingBracket));
    let e = err("[a](!\n");
    assert_eq!((e.line, e.kind), (1, ErrorKind::MissingParen));
    let e = err("[a] ; [fine]\n[b ; ]\n");
    assert_eq!(e.line, 2); // the `]` is in the comment
    let e = err("[a]\n\\ x = 1\n");
    assert_eq!((e.line, e.kind), (2, ErrorKind::InvalidEscape));
}

#[test]
fn non_utf8_bytes_are_read_not_refused() {
    // Asterisk reads any bytes, and so does astrix: a value that is not
    // UTF-8 reads as Latin-1 (tests/config_syntax.rs has the rule).
    let c = Config::parse(
        "bad.conf",
        b"[a]\nx = 1\ny = caf\xe9\n",
        astrix::config::NoIncludes,
    )
    .unwrap();
    assert_eq!(c.get("a", "y"), Some("caf\u{e9}"));
    let files = MemoryResolver::new()
        .with_file("m.conf", "[a]\n#include i.conf\n")
        .with_file("i.conf", b"\n\n\xff\n".to_vec());
    let c = Loader::new(files).load("m.conf").unwrap();
    // A line without `=`: Asterisk warns and goes on.
    let w = c.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].file.to_str(), w[0].line), (Some("i.conf"), 3));
    let doc = Document::parse("d.conf", b"[a]\n\x80\n").unwrap();
    assert_eq!(doc.as_bytes(), b"[a]\n\x80\n");
}

#[test]
fn unreadable_top_file() {
    let e = Config::from_path("/nonexistent/astrix/x.conf").unwrap_err();
    assert_eq!(e.line, 0);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/astrix/x.conf:0: cannot read file"),
        "{e}"
    );
}

#[test]
fn block_comments_nested_too_deep() {
    let text = format!("[a]\n{}\n", ";--".repeat(200));
    let e = err(&text);
    assert_eq!(e.kind, ErrorKind::CommentsTooDeep { limit: 128 });
    assert_eq!(e.line, 2);
}

#[test]
fn inheritance_cannot_blow_up_memory() {
    // Each category inherits the previous one: the copies grow
    // quadratically until the limit stops them, with file and line.
    let mut text = String::from("[c0]\n");
    for i in 0..40 {
        text.push_str(&format!("v{i} = {}\n", "x".repeat(10)));
    }
    for i in 1..5000 {
        text.push_str(&format!("[c{i}](c{})\nk = v\n", i - 1));
    }
    let start = Instant::now();
    let e = err(&text);
    assert!(matches!(e.kind, ErrorKind::TooLarge { .. }), "{e}");
    assert!(e.line > 0);
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn plus_equals_cannot_go_quadratic() {
    // Alternating `+=` on two variables: each append copies the value; the
    // limit on the arena bounds the work.
    let mut text = String::from("[a]\nx = 1\ny = 2\n");
    let piece = "z".repeat(200);
    for _ in 0..20_000 {
        text.push_str(&format!("x += {piece}\ny += {piece}\n"));
    }
    let start = Instant::now();
    match Config::parse_str(&text) {
        Ok(c) => assert_eq!(c.get("a", "x").map(str::len), Some(1 + 20_000 * 201)),
        Err(e) => assert!(matches!(e.kind, ErrorKind::TooLarge { .. }), "{e}"),
    }
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// About 100 MB of extensions.conf-like text, with comments, templates and
/// includes of nothing; must parse in time and memory proportional to it.
#[test]
fn hundred_megabytes() {
    let mut text = String::with_capacity(101 << 20);
    text.push_str("[tpl](!)\nlanguage = en\n");
    let mut i = 0u64;
    while text.len() < 100 << 20 {
        if i % 1000 == 0 {
            text.push_str(&format!("\n; context {i}\n[ctx-{i}](tpl)\n"));
        }
        text.push_str(&format!(
            "exten => {i},1,Set(CALLERID(name)=${{DB(cidname/${{CALLERID(num)}})}}) ; look up\n same => n,Dial(PJSIP/{i}@trunk,30,tT)\n"
        ));
        i += 1;
    }
    let start = Instant::now();
    let c = Config::parse_str(&text).unwrap();
    let took = start.elapsed();
    assert_eq!(c.categories().count() as u64, i.div_ceil(1000));
    let last = c.categories().last().unwrap();
    assert_eq!(last.get("language"), Some("en"));
    let total: usize = c.categories().map(|c| c.len()).sum();
    assert_eq!(total as u64, 2 * i + i.div_ceil(1000));
    eprintln!("100 MB parsed in {took:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes never panic, in the reader or the editor.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Config::parse("p.conf", &bytes, MemoryResolver::new().with_file("x.conf", bytes.clone()));
        if let Ok(mut doc) = Document::parse("p.conf", &bytes) {
            let _ = doc.set("a", "k", "v;w");
            let _ = doc.append("a", "k", "x");
            let _ = doc.delete("a", "k");
            let _ = doc.rename_category("a", "b");
            let _ = doc.delete_category("b");
        }
    }

    /// Config-shaped text (the characters that matter, in any order) never
    /// panics, and an editor's edits always read back.
    #[test]
    fn config_shaped_text_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("["), Just("]"), Just("("), Just(")"), Just("!"), Just("+"), Just(","),
                Just("="), Just("=>"), Just("+="), Just(";"), Just(";--"), Just("--;"), Just("\\"),
                Just("\\;"), Just("#include x.conf"), Just("#tryinclude *"), Just("#exec c"),
                Just("\n"), Just("\r\n"), Just(" "), Just("a"), Just("t"), Just("x"), Just("é"),
            ],
            0..80,
        )
    ) {
        let text: String = parts.concat();
        let files = MemoryResolver::new().with_file("x.conf", text.clone());
        let _ = Loader::new(files).allow_exec(true).parse("x.conf", text.as_bytes());
        if let Ok(mut doc) = Document::parse("p.conf", text.as_bytes()) {
            for name in doc.category_names().into_iter().map(String::from).collect::<Vec<_>>() {
                if doc.set(&name, "key", "v;1\\").is_ok() {
                    let values = doc.values(&name, "key");
                    prop_assert_eq!(values.last().map(String::as_str), Some("v;1\\"));
                }
                let _ = doc.append_object(&name, "exten", ">x");
                let _ = doc.delete(&name, "a");
            }
        }
    }
}
