//! The sans-IO AGI core: reply forms, environment, encoding, limits, and
//! property tests against an oracle of res_agi's argument splitting.

use astrix::agi::{
    decode_reply, parse_environment, parse_reply_text, quote_arg, AgiError, CommandLine, Limits,
    Reply, ReplyEvent, ReplyParser, Response,
};
use astrix::testing::split_agi_args;
use proptest::prelude::*;

fn one(bytes: &[u8]) -> ReplyEvent {
    let (ev, used) = decode_reply(bytes, &Limits::default()).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    ev
}

fn success(line: &str) -> Response {
    match one(format!("{line}\n").as_bytes()) {
        ReplyEvent::Reply(Reply::Success(r)) => r,
        e => panic!("{e:?}"),
    }
}

macro_rules! success_cases {
    ($($line:literal => ($result:literal, $data:expr, $endpos:expr, $extra:literal);)*) => {
        #[test]
        fn success_forms() {
            $(
                let r = success($line);
                assert_eq!(r.result(), $result, "{}", $line);
                assert_eq!(r.data(), $data, "{}", $line);
                assert_eq!(r.endpos(), $endpos, "{}", $line);
                assert_eq!(r.extra(), $extra, "{}", $line);
            )*
        }
    };
}

success_cases! {
    "200 result=0" => ("0", None, None, "");
    "200 result=-1" => ("-1", None, None, "");
    "200 result=1 (fastagi-200)" => ("1", Some("fastagi-200"), None, "");
    "200 result=1 (a (nested) value)" => ("1", Some("a (nested) value"), None, "");
    "200 result=1 (x) y)" => ("1", Some("x) y"), None, "");
    "200 result=1 ()" => ("1", Some(""), None, "");
    "200 result=-1 endpos=0" => ("-1", None, Some(0), "endpos=0");
    "200 result=0 endpos=12345" => ("0", None, Some(12345), "endpos=12345");
    "200 result=49 (dtmf) endpos=8000" => ("49", Some("dtmf"), Some(8000), "endpos=8000");
    "200 result= (timeout)" => ("", Some("timeout"), None, "");
    "200 result=12# (timeout)" => ("12#", Some("timeout"), None, "");
    "200 result=0 Gosub complete" => ("0", None, None, "Gosub complete");
    "200 result=-1 Gosub label not found" => ("-1", None, None, "Gosub label not found");
    "200 result=1 (speech) endpos=0 results=1 score0=900 text0=\"hi (there)\" grammar0=g" =>
        ("1", Some("speech"), Some(0), "endpos=0 results=1 score0=900 text0=\"hi (there)\" grammar0=g");
}

#[test]
fn speech_fields() {
    let r = success("200 result=1 (speech) endpos=5 results=2 score0=900 text0=\"one two\" grammar0=g score1=10 text1=\"x\" grammar1=h");
    assert_eq!(r.field("results"), Some("2"));
    assert_eq!(r.field("text0"), Some("one two"));
    assert_eq!(r.field("grammar1"), Some("h"));
    let r = success("200 result=1 (digit) digit=5 endpos=0");
    assert_eq!(r.field("digit"), Some("5"));
}

#[test]
fn error_forms() {
    assert_eq!(
        one(b"510 Invalid or unknown command\n"),
        ReplyEvent::Reply(Reply::InvalidCommand)
    );
    assert_eq!(
        one(b"511 Command Not Permitted on a dead channel or intercept routine\n"),
        ReplyEvent::Reply(Reply::DeadChannel)
    );
    assert_eq!(
        one(b"520 Invalid command syntax.  Proper usage not available.\n"),
        ReplyEvent::Reply(Reply::Usage(
            "Invalid command syntax.  Proper usage not available.".into()
        ))
    );
    assert_eq!(
        one(b"520-Invalid command syntax.  Proper usage follows:\nline one\n\nline three\n520 End of proper usage.\n"),
        ReplyEvent::Reply(Reply::Usage("line one\n\nline three".into()))
    );
    assert!(matches!(
        one(b"503 result=-2 Memory allocation failure\n"),
        ReplyEvent::Reply(Reply::Other { code: 503, .. })
    ));
    assert!(matches!(
        one(b"100 result=0 Trying...\n"),
        ReplyEvent::Trying(_)
    ));
    assert_eq!(one(b"HANGUP\n"), ReplyEvent::Hangup);
    assert_eq!(one(b"HANGUP\r\n"), ReplyEvent::Hangup);
}

/// A usage block whose end marker is glued to its last line, as it is in
/// the test suite of a Go AGI library (zaf/agi, `agi_test.go`): a usage
/// text without its final newline.
const GLUED_USAGE: &[u8] = b"520-Invalid command syntax.  Proper usage follows:\n\
Answers channel if not already in answer state. Returns -1 on channel failure, or 0 if successful.520 End of proper usage.\n\
HANGUP\n";

#[test]
fn usage_end_marker_glued_to_the_last_line() {
    let limits = Limits::default();
    let (ev, used) = decode_reply(GLUED_USAGE, &limits).unwrap().unwrap();
    assert_eq!(
        ev,
        ReplyEvent::Reply(Reply::Usage(
            "Answers channel if not already in answer state. Returns -1 on channel failure, or 0 if successful.".into()
        ))
    );
    // The HANGUP line after it is the next event, not usage text.
    assert_eq!(
        decode_reply(&GLUED_USAGE[used..], &limits).unwrap(),
        Some((ReplyEvent::Hangup, GLUED_USAGE.len() - used))
    );
    // Line by line, and as text (AsyncAGI's `Result:`).
    let mut parser = ReplyParser::new(limits);
    let mut events = Vec::new();
    for line in GLUED_USAGE.split_inclusive(|&b| b == b'\n') {
        events.extend(parser.push_line(line).unwrap());
    }
    assert!(matches!(
        events[..],
        [ReplyEvent::Reply(Reply::Usage(_)), ReplyEvent::Hangup]
    ));
    let text = std::str::from_utf8(GLUED_USAGE).unwrap();
    assert!(
        matches!(parse_reply_text(text, &limits), Ok(Reply::Usage(u)) if u.ends_with("0 if successful."))
    );
    // Without the final period, and after several usage lines.
    assert_eq!(
        one(b"520-Invalid command syntax.  Proper usage follows:\nUsage: X\n Does x.520 End of proper usage\n"),
        ReplyEvent::Reply(Reply::Usage("Usage: X\n Does x.".into()))
    );
}

#[test]
fn hangup_glued_to_the_next_reply() {
    let buf = b"HANGUP\n200 result=1\n";
    let limits = Limits::default();
    let (ev, n) = decode_reply(buf, &limits).unwrap().unwrap();
    assert_eq!(ev, ReplyEvent::Hangup);
    let (ev, m) = decode_reply(&buf[n..], &limits).unwrap().unwrap();
    assert!(matches!(ev, ReplyEvent::Reply(Reply::Success(_))));
    assert_eq!(n + m, buf.len());
    // As text (AsyncAGI), the HANGUP line is skipped.
    assert!(matches!(
        parse_reply_text("HANGUP\n200 result=1\n", &limits),
        Ok(Reply::Success(_))
    ));
}

#[test]
fn incomplete_input_is_need_more() {
    let limits = Limits::default();
    for partial in [
        &b""[..],
        b"200 res",
        b"200 result=1",
        b"520-Invalid\nusage\n",
        b"HANG",
    ] {
        assert_eq!(decode_reply(partial, &limits).unwrap(), None, "{partial:?}");
    }
    assert_eq!(
        parse_environment(b"agi_request: x\nagi_chan", &limits).unwrap(),
        None
    );
}

#[test]
fn not_an_agi_reply() {
    let limits = Limits::default();
    for bad in [
        &b"hello world\n"[..],
        b"HTTP/1.1 200 OK\n",
        b"200 ok\n",
        b"20\n",
        b"200result=1\n",
        b"\n",
    ] {
        let err = decode_reply(bad, &limits).unwrap_err();
        assert!(
            matches!(err, AgiError::MalformedReply { .. }),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn reply_limits() {
    let limits = Limits::default().max_line_len(16).max_usage_lines(2);
    assert!(matches!(
        decode_reply(b"200 result=1 (a long value here)\n", &limits),
        Err(AgiError::LimitExceeded { .. })
    ));
    // An endless line without newline is refused before it is complete.
    assert!(matches!(
        decode_reply(&[b'2'; 100], &limits),
        Err(AgiError::LimitExceeded { .. })
    ));
    assert!(matches!(
        decode_reply(b"520-x\na\nb\nc\n520 End\n", &limits),
        Err(AgiError::LimitExceeded { .. })
    ));
    let mut parser = ReplyParser::new(limits);
    assert_eq!(parser.push_line(b"520-x").unwrap(), None);
    assert!(parser.in_usage_block());
}

#[test]
fn non_utf8_reply_is_kept_lossily() {
    let r = match one(b"200 result=1 (caf\xe9)\n") {
        ReplyEvent::Reply(Reply::Success(r)) => r,
        e => panic!("{e:?}"),
    };
    assert!(r.is_lossy());
    assert_eq!(r.data(), Some("caf\u{fffd}"));
}

#[test]
fn environment_bad_input() {
    let limits = Limits::default();
    // Garbage lines.
    for bad in [
        &b"agi_request: x\nthis is not a variable\n\n"[..],
        b": empty name\n\n",
        b"bad name: x\n\n",
    ] {
        assert!(
            matches!(
                parse_environment(bad, &limits),
                Err(AgiError::MalformedEnvironment { .. })
            ),
            "{bad:?}"
        );
    }
    // No blank line: need more, until the limit.
    let endless: Vec<u8> = (0..10_000)
        .flat_map(|i| format!("agi_x{i}: value\n").into_bytes())
        .collect();
    assert!(matches!(
        parse_environment(&endless, &limits),
        Err(AgiError::LimitExceeded { .. })
    ));
    assert!(matches!(
        parse_environment(&endless[..200], &limits),
        Ok(None)
    ));
    // Oversized block.
    let small = Limits::default().max_env_bytes(64);
    let block = b"agi_request: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nagi_channel: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n\n";
    assert!(matches!(
        parse_environment(block, &small),
        Err(AgiError::LimitExceeded { .. })
    ));
    let few = Limits::default().max_env_lines(1);
    assert!(matches!(
        parse_environment(b"agi_a: 1\nagi_b: 2\n\n", &few),
        Err(AgiError::LimitExceeded { .. })
    ));
    // Non-UTF-8 values are kept, raw bytes included.
    let (env, _) = parse_environment(b"agi_calleridname: Jos\xe9\nagi_arg_1: \n\n", &limits)
        .unwrap()
        .unwrap();
    let var = env.var("agi_calleridname").unwrap();
    assert!(var.is_lossy());
    assert_eq!(var.raw(), b"Jos\xe9");
    assert_eq!(env.args(), [""]);
}

#[test]
fn script_requests() {
    use astrix::agi::ScriptRequest;
    let s = ScriptRequest::parse(
        "agi://10.0.0.1:4573/ivr/main%20menu?lang=en&x=1&x=2&name=J%C3%B6rg+B&flag",
    );
    assert_eq!(s.path(), "ivr/main menu");
    assert_eq!(s.query_values("x"), ["1", "2"]);
    assert_eq!(s.query_value("name"), Some("Jörg B"));
    assert_eq!(s.query_value("flag"), Some(""));
    assert_eq!(s.query_map()["x"], ["1", "2"]);
    assert_eq!(
        ScriptRequest::parse("/var/lib/agi-bin/x.agi").path(),
        "/var/lib/agi-bin/x.agi"
    );
    assert_eq!(ScriptRequest::parse("agi://host").path(), "");
    assert_eq!(
        ScriptRequest::parse("bad%zzescape%").path(),
        "bad%zzescape%"
    );
}

#[test]
fn encoding_quotes_and_refuses() {
    let mut line = CommandLine::new();
    line.word("SET VARIABLE")
        .arg("FOO")
        .arg(r#"a "b" \c"#)
        .arg("")
        .arg("plain");
    assert_eq!(
        line.finish().unwrap(),
        r#"SET VARIABLE FOO "a \"b\" \\c" "" plain"#
    );
    for bad in ["a\nNOOP", "a\r", "nul\0"] {
        let mut out = String::new();
        assert!(matches!(
            quote_arg(bad, &mut out),
            Err(AgiError::InvalidArgument { .. })
        ));
        assert!(out.is_empty());
        let mut line = CommandLine::new();
        line.word("VERBOSE").arg(bad).num(1);
        assert!(line.finish().is_err());
    }
    let mut line = CommandLine::new();
    line.word("NOOP\nANSWER");
    assert!(line.finish().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reply_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let limits = Limits::default().max_line_len(128).max_usage_lines(4);
        let mut buf = &bytes[..];
        while let Ok(Some((_, n))) = decode_reply(buf, &limits) {
            prop_assert!(n > 0 && n <= buf.len());
            buf = &buf[n..];
        }
        let _ = parse_reply_text(&String::from_utf8_lossy(&bytes), &limits);
        let _ = parse_environment(&bytes, &limits);
    }

    #[test]
    fn reply_like_lines_never_panic(
        code in "[0-9]{3}", sep in "[ -]?", rest in "[ -~]{0,40}"
    ) {
        let line = format!("{code}{sep}{rest}\n");
        let _ = decode_reply(line.as_bytes(), &Limits::default());
    }

    #[test]
    fn any_argument_round_trips_or_is_refused(arg in any::<String>()) {
        let mut line = CommandLine::new();
        line.word("SET VARIABLE").arg("X").arg(&arg);
        match line.finish() {
            Ok(text) => {
                prop_assert!(!arg.contains(['\r', '\n', '\0']));
                let argv = split_agi_args(text);
                prop_assert_eq!(argv, vec!["SET".to_owned(), "VARIABLE".to_owned(), "X".to_owned(), arg.clone()]);
            }
            Err(e) => {
                prop_assert!(arg.contains(['\r', '\n', '\0']), "{e}");
            }
        }
    }

    #[test]
    fn tricky_arguments_round_trip(parts in proptest::collection::vec("[ \"\\\\\ta-z]{0,6}", 1..5)) {
        let mut line = CommandLine::new();
        line.word("EXEC");
        for p in &parts {
            line.arg(p);
        }
        let text = line.finish().unwrap().to_owned();
        let mut expected = vec!["EXEC".to_owned()];
        expected.extend(parts.iter().cloned());
        prop_assert_eq!(split_agi_args(&text), expected);
    }
}
