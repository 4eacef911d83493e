//! Every syntax rule of Asterisk's `.conf` reader, one test each, on
//! hand-made files (inline, with the in-memory resolver, or on disk in
//! `tests/data/config/`).

use astrix::config::{Config, DirectiveKind, Loader, MemoryResolver, WarningKind};

fn parse(text: &str) -> Config {
    match Config::parse_str(text) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn pairs(c: &Config, cat: &str) -> Vec<(String, String)> {
    let Some(cat) = c.category(cat).or_else(|| c.template(cat)) else {
        panic!("no category {cat}");
    };
    cat.variables()
        .map(|v| (v.name().to_string(), v.value().to_string()))
        .collect()
}

fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn categories_in_order_with_locations() {
    let c = parse("[b]\nx=1\n\n[a]\ny = 2\n[c]\n");
    let names: Vec<_> = c.categories().map(|c| c.name()).collect();
    assert_eq!(names, ["b", "a", "c"]);
    let a = c.category("A").unwrap(); // names compare case-insensitively
    assert_eq!(a.location().line, 4);
    assert_eq!(a.location().file.to_str(), Some("<string>"));
    assert_eq!(c.variable("a", "y").unwrap().location().line, 5);
    assert!(c.category("c").unwrap().is_empty());
}

#[test]
fn equals_and_arrow() {
    let c = parse("[ctx]\nexten => 100,1,Answer()\nsame=>n,Hangup()\nkey=value\nk2 = a=b\n");
    let vars: Vec<_> = c.category("ctx").unwrap().variables().collect();
    assert_eq!(vars[0].name(), "exten");
    assert_eq!(vars[0].value(), "100,1,Answer()");
    assert!(vars[0].is_object());
    assert_eq!(vars[1].value(), "n,Hangup()");
    assert!(vars[1].is_object());
    assert!(!vars[2].is_object());
    assert_eq!(vars[3].value(), "a=b");
}

#[test]
fn repeated_keys_kept_in_order() {
    let c = parse("[ctx]\nexten => 1,1,A\nexten => 1,2,B\nsame => n,C\nexten => 2,1,D\n");
    assert_eq!(c.get_all("ctx", "exten"), ["1,1,A", "1,2,B", "2,1,D"]);
    assert_eq!(c.get("ctx", "exten"), Some("2,1,D")); // the last, as Asterisk
    assert_eq!(c.get("ctx", "EXTEN"), Some("2,1,D"));
}

#[test]
fn templates_apart_and_inheritance_order() {
    let c = parse(
        "[t1](!)\na = 1\nb = 1\n[t2](!)\nb = 2\nc = 2\n[real](t1,t2)\nc = own\nd = own\n[other](!,t1)\ne = x\n",
    );
    let real: Vec<_> = c.categories().map(|c| c.name()).collect();
    assert_eq!(real, ["real"]);
    let tpls: Vec<_> = c.templates().map(|c| c.name()).collect();
    assert_eq!(tpls, ["t1", "t2", "other"]);
    assert_eq!(
        pairs(&c, "real"),
        kv(&[
            ("a", "1"),
            ("b", "1"),
            ("b", "2"),
            ("c", "2"),
            ("c", "own"),
            ("d", "own")
        ])
    );
    assert_eq!(c.get("real", "b"), Some("2"));
    assert_eq!(c.get("real", "c"), Some("own"));
    let cat = c.category("real").unwrap();
    assert_eq!(cat.inherits().collect::<Vec<_>>(), ["t1", "t2"]);
    let a = cat.variable("a").unwrap();
    assert!(a.is_inherited());
    assert_eq!(a.inherited_from(), Some("t1"));
    assert_eq!(a.location().line, 2); // where the template wrote it
    assert_eq!(cat.own_variables().count(), 2);
    // A template is not a category for lookups.
    assert_eq!(c.get("t1", "a"), None);
    assert_eq!(c.template("t1").unwrap().get("a"), Some("1"));
    assert_eq!(
        pairs(&c, "other"),
        kv(&[("a", "1"), ("b", "1"), ("e", "x")])
    );
}

#[test]
fn inheritance_copies_at_the_header() {
    // Asterisk copies the template when it reads the header: what is added
    // to the template later is not seen.
    // `(+)` finds the first *real* category of that name: for a template
    // there is none, as in Asterisk.
    let e = Config::parse_str("[t](!)\na=1\n[c](t)\n[t](+)\nb=2\n").unwrap_err();
    assert_eq!(e.line, 4);
    let c2 = parse("[base]\na=1\n[c](base)\n[base](+)\nb=2\n");
    assert_eq!(pairs(&c2, "c"), kv(&[("a", "1")]));
    assert_eq!(pairs(&c2, "base"), kv(&[("a", "1"), ("b", "2")]));
}

#[test]
fn plus_adds_to_earlier_category() {
    let c = parse("[a]\nx=1\n[b]\ny=1\n[a](+)\nz=2\n");
    let names: Vec<_> = c.categories().map(|c| c.name()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(pairs(&c, "a"), kv(&[("x", "1"), ("z", "2")]));
    assert_eq!(c.variable("a", "z").unwrap().location().line, 6);
}

#[test]
fn same_name_twice_without_plus_is_two_categories() {
    let c = parse("[a]\nx=1\n[a]\nx=2\n");
    assert_eq!(c.categories().count(), 2);
    assert_eq!(c.get("a", "x"), Some("1"));
    let all: Vec<_> = c.categories_named("a").map(|c| c.get("x")).collect();
    assert_eq!(all, [Some("1"), Some("2")]);
}

#[test]
fn comments() {
    let c = parse(
        "; a comment\n[a] ; after a header\nx = 1 ; trailing\ny = 2;no space\n;---- a line of dashes is a plain comment\nz = 3\n",
    );
    assert_eq!(pairs(&c, "a"), kv(&[("x", "1"), ("y", "2"), ("z", "3")]));
}

#[test]
fn block_comments_across_lines_and_nested() {
    let c = parse(
        "[a]\nx = 1 ;-- start\ny = hidden\n;-- nested\nz = hidden\n--; still inside\nw = hidden\n--; v = 2\nu = be;-- inline --;fore\n",
    );
    assert_eq!(
        pairs(&c, "a"),
        kv(&[("x", "1"), ("v", "2"), ("u", "before")])
    );
    assert_eq!(c.variable("a", "v").unwrap().location().line, 8);
}

#[test]
fn escaped_semicolons() {
    let c = parse("[a]\nre = ^a\\;b$ ; comment\nend = x\\;\n\\;name = odd\n");
    assert_eq!(c.get("a", "re"), Some("^a;b$"));
    assert_eq!(c.get("a", "end"), Some("x;"));
    assert_eq!(c.get("a", ";name"), Some("odd"));
}

#[test]
fn leading_backslash_escapes_the_first_character() {
    let c = parse("[a]\n\\[x] = 1\n\\#y = 2\n\\=z = 3\n");
    assert_eq!(c.get("a", "[x]"), Some("1"));
    assert_eq!(c.get("a", "#y"), Some("2"));
    assert_eq!(c.get("a", "=z"), Some("3"));
}

#[test]
fn variables_left_as_text() {
    let c = parse("[a]\nx => n,Set(A=${IF($[\"${B}\" = \"\"]?1:${B})})\n");
    assert_eq!(
        c.get("a", "x"),
        Some("n,Set(A=${IF($[\"${B}\" = \"\"]?1:${B})})")
    );
}

#[test]
fn crlf_whitespace_and_bom() {
    let c = parse("\u{feff}[a]\r\n  x   =   spaced value \t \r\n\ty=\r\nz = \"quoted \"\r\n");
    assert_eq!(
        pairs(&c, "a"),
        kv(&[("x", "spaced value"), ("y", ""), ("z", "\"quoted \"")])
    );
}

#[test]
fn plus_equals_appends() {
    let c = parse("[a]\nx = one\nx += ,two\nx +=  three\nnew += fresh\n");
    // The text after `+=` is appended as is (only the line's ends are
    // stripped), as Asterisk does.
    assert_eq!(c.get("a", "x"), Some("one ,two  three"));
    assert_eq!(c.get("a", "new"), Some("fresh"));
    assert_eq!(c.category("a").unwrap().len(), 2);
}

#[test]
fn header_suffix_without_paren_is_ignored() {
    let c = parse("[a] trailing words\nx=1\n");
    assert_eq!(c.get("a", "x"), Some("1"));
}

#[test]
fn lines_asterisk_ignores_are_warnings() {
    let c = parse("[a]\njunk line\n= novalue\n#frobnicate x\n#include\nx=1\n");
    assert_eq!(c.get("a", "x"), Some("1"));
    let kinds: Vec<_> = c
        .warnings()
        .iter()
        .map(|w| (w.line, w.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (2, WarningKind::NoEquals),
            (3, WarningKind::EmptyName),
            (
                4,
                WarningKind::UnknownDirective {
                    name: "frobnicate".into()
                }
            ),
            (
                5,
                WarningKind::MissingArgument {
                    name: "include".into()
                }
            ),
        ]
    );
}

#[test]
fn long_lines_are_skipped_like_asterisk() {
    let long = "y".repeat(9000);
    let c = parse(&format!("[a]\nx = {long}\nz = 1\n"));
    assert_eq!(c.get("a", "x"), None);
    assert_eq!(c.get("a", "z"), Some("1"));
    assert_eq!(c.variable("a", "z").unwrap().location().line, 3);
}

#[test]
fn includes_in_memory_with_quotes_and_current_category() {
    let files = MemoryResolver::new()
        .with_file(
            "/etc/asterisk/main.conf",
            "[general]\n#include \"inc/one.conf\"\nback = here\n#include <inc/two.conf>\n#include inc/three.conf\n",
        )
        .with_file("/etc/asterisk/inc/one.conf", "first = 1\n[other]\nx = 1\n")
        .with_file("/etc/asterisk/inc/two.conf", "second = 2\n")
        .with_file("/etc/asterisk/inc/three.conf", "[third]\n");
    let c = Loader::new(files).load("/etc/asterisk/main.conf").unwrap();
    // An included file continues the current category; after it, the
    // includer's own category goes on.
    assert_eq!(
        pairs(&c, "general"),
        kv(&[("first", "1"), ("back", "here")])
    );
    // Asterisk: the next include starts in the category current after the
    // last header read, here [other].
    assert_eq!(pairs(&c, "other"), kv(&[("x", "1"), ("second", "2")]));
    let v = c.variable("other", "second").unwrap();
    assert_eq!(
        v.location().file.to_str(),
        Some("/etc/asterisk/inc/two.conf")
    );
    assert_eq!(v.location().line, 1);
    assert_eq!(c.files().len(), 4);
    let d: Vec<_> = c
        .directives()
        .map(|d| (d.kind(), d.argument().to_string(), d.location().line))
        .collect();
    assert_eq!(
        d,
        [
            (DirectiveKind::Include, "inc/one.conf".to_string(), 2),
            (DirectiveKind::Include, "inc/two.conf".to_string(), 4),
            (DirectiveKind::Include, "inc/three.conf".to_string(), 5),
        ]
    );
}

#[test]
fn include_globs_sorted_and_braces() {
    let files = MemoryResolver::new()
        .with_file("main.conf", "#include d/*.conf\n#include x/{b,a}.conf\n#tryinclude none/*.conf\n#include d/[0-9]?-c.conf\n")
        .with_file("d/20-b.conf", "[b]\n")
        .with_file("d/10-a.conf", "[a]\n")
        .with_file("d/.hidden.conf", "[hidden]\n")
        .with_file("d/notes.txt", "[txt]\n")
        .with_file("d/30-c.conf", "[c]\n")
        .with_file("x/a.conf", "[xa]\n")
        .with_file("x/b.conf", "[xb]\n");
    let c = Loader::new(files).load("main.conf").unwrap();
    let names: Vec<_> = c.categories().map(|c| c.name()).collect();
    assert_eq!(names, ["a", "b", "c", "xb", "xa", "c"]);
    assert_eq!(c.warnings().len(), 1); // the #tryinclude that matched nothing
}

#[test]
fn tryinclude_of_missing_file_is_fine() {
    let c = parse("[a]\n#tryinclude nowhere.conf\nx=1\n");
    assert_eq!(c.get("a", "x"), Some("1"));
    assert!(matches!(
        c.warnings()[0].kind,
        WarningKind::TryIncludeMissing { .. }
    ));
}

#[test]
fn exec_is_parsed_but_not_run_unless_allowed() {
    let text = "[a]\n#exec \"/usr/bin/gen --x\"\nx=1\n";
    let c = parse(text);
    assert_eq!(c.get("a", "y"), None);
    let d = c.directives().next().unwrap();
    assert_eq!(
        (d.kind(), d.argument()),
        (DirectiveKind::Exec, "/usr/bin/gen --x")
    );
    assert_eq!(d.files().count(), 0);
    assert!(matches!(
        c.warnings()[0].kind,
        WarningKind::ExecDisabled { .. }
    ));

    let files = MemoryResolver::new()
        .with_file("m.conf", text)
        .with_command("/usr/bin/gen --x", "y = generated\n[gen]\nz = 1\n");
    let c = Loader::new(files).allow_exec(true).load("m.conf").unwrap();
    assert_eq!(c.get("a", "y"), Some("generated"));
    assert_eq!(c.get("gen", "z"), Some("1"));
    assert_eq!(c.get("a", "x"), Some("1"));
}

#[test]
fn exec_runs_a_command_on_disk_when_allowed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/config");
    let text = "[a]\n#exec echo made = by-exec\n";
    let c = Loader::new(astrix::config::FsResolver::new())
        .allow_exec(true)
        .parse(format!("{dir}/virtual.conf"), text.as_bytes())
        .unwrap();
    assert_eq!(c.get("a", "made"), Some("by-exec"));
}

#[test]
fn includes_on_disk_relative_to_the_including_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/config/main.conf");
    let c = Config::from_path(path).unwrap();
    let names: Vec<_> = c.categories().map(|c| c.name()).collect();
    assert_eq!(names, ["general", "a-cat", "b-cat", "sibling"]);
    assert_eq!(
        pairs(&c, "general"),
        kv(&[
            ("bindaddr", "0.0.0.0"),
            ("early", "a"),
            ("after", "include")
        ])
    );
    assert_eq!(c.get("sibling", "where"), Some("sub"));
    let early = c.variable("general", "early").unwrap();
    assert!(early.location().file.ends_with("conf.d/10-a.conf"));
    assert_eq!(early.location().line, 1);
}

#[test]
fn bytes_that_are_not_utf8_read_as_latin1_value_by_value() {
    // The same name in UTF-8 and in Latin-1; an UTF-8 value on a line
    // beside Latin-1 bytes (in the comment) stays UTF-8.
    let bytes = b"[a]\nutf = J\xc3\xb6rg ; \xe9\nlatin = J\xf6rg\nmixed = \xc3\xb6 \xf6\nmore = x\nmore += \xe9\n";
    let c = Config::parse("l.conf", bytes, astrix::config::NoIncludes).unwrap();
    let v = |k| c.variable("a", k).unwrap();
    assert_eq!(v("utf").value(), "J\u{f6}rg");
    assert!(!v("utf").is_latin1());
    assert_eq!(&*v("utf").value_bytes(), b"J\xc3\xb6rg");
    assert_eq!(v("latin").value(), "J\u{f6}rg");
    assert!(v("latin").is_latin1());
    assert_eq!(&*v("latin").value_bytes(), b"J\xf6rg");
    // A value that is not UTF-8 as a whole reads byte by byte.
    assert_eq!(v("mixed").value(), "\u{c3}\u{b6} \u{f6}");
    assert_eq!(&*v("mixed").value_bytes(), b"\xc3\xb6 \xf6");
    // `+=` decides on the bytes of the whole value (the text after `+=`
    // is appended as it is, its space too).
    assert_eq!(v("more").value(), "x \u{e9}");
    assert_eq!(&*v("more").value_bytes(), b"x \xe9");
    // The option that used to be needed changes nothing.
    #[allow(deprecated)]
    let again = Loader::new(astrix::config::NoIncludes)
        .latin1_fallback(false)
        .parse("l.conf", bytes)
        .unwrap();
    assert_eq!(again.get("a", "latin"), Some("J\u{f6}rg"));
}
