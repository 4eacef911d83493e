//! Fuzzing the AGI parsers on stable Rust: the environment block
//! ([`parse_environment`], [`EnvParser`]), replies ([`decode_reply`],
//! [`ReplyParser`], [`parse_reply_text`]) and every typed command's `parse`
//! on what they give, and script requests ([`ScriptRequest::parse`],
//! [`percent_decode`]). Inputs: arbitrary bytes and mutations of the
//! recorded FastAGI and stdio sessions and of the decoded `Env:` and
//! `Result:` values of the AsyncAGI recording.
//!
//! Properties: no panic; nothing past a [`Limits`] bound; the one-shot and
//! line-by-line parsers agree; percent-decoding undoes percent-encoding.
//!
//! `cargo test --test fuzz_agi` runs a short seeded run;
//! `ASTRIX_FUZZ_CASES=1000000 cargo test --release --test fuzz_agi -- --nocapture`
//! a long one.

mod common;

use astrix::agi::commands::*;
use astrix::agi::{
    decode_reply, finish_command, parse_environment, parse_reply_text, percent_decode, AgiCommand,
    EnvParser, Environment, Limits, Reply, ReplyEvent, ReplyParser, Response, ScriptRequest,
};
use astrix::ami::codec::{Decoder, Frame};
use common::mutate::{self, cases, Rng};
use proptest::prelude::*;

const FASTAGI: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/asterisk-22/fastagi_session.bin"
));
const STDIO: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/asterisk-22/agi_stdio_session.bin"
));
const ASYNC: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/asterisk-22/asyncagi_over_ami.bin"
));

/// The decoded `Env:` and `Result:` values of the AsyncAGI recording.
fn async_values() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut d = Decoder::new();
    d.feed(ASYNC);
    let (mut env, mut res) = (Vec::new(), Vec::new());
    while let Ok(Some(f)) = d.decode() {
        if let Frame::Message(m) = f {
            if let Some(e) = m.get("Env") {
                env.push(percent_decode(e, false).into_bytes());
            }
            if let Some(r) = m.get("Result") {
                res.push(percent_decode(r, false).into_bytes());
            }
        }
    }
    assert!(!env.is_empty() && !res.is_empty());
    (env, res)
}

/// The replies part of a session: everything after the environment.
fn replies_of(session: &[u8]) -> &[u8] {
    let at = session
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(0, |p| p + 2);
    &session[at..]
}

fn small() -> Limits {
    Limits::default()
        .max_line_len(64)
        .max_env_bytes(512)
        .max_env_lines(8)
        .max_usage_lines(4)
        .max_command_len(64)
}

fn limits(rng: &mut Rng) -> Limits {
    match rng.below(3) {
        0 => small(),
        1 => Limits::default()
            .max_line_len(16)
            .max_env_lines(2)
            .max_usage_lines(1),
        _ => Limits::default(),
    }
}

fn check_env(env: &Environment, l: &Limits) {
    assert!(env.vars().len() <= l.max_env_lines, "too many variables");
    let bytes: usize = env
        .vars()
        .iter()
        .map(|v| v.name().len() + v.raw().len())
        .sum();
    assert!(bytes <= l.max_env_bytes, "environment past max_env_bytes");
    for v in env.vars() {
        assert!(v.name().len() + v.raw().len() < l.max_line_len + 2);
        assert!(!v.name().is_empty());
        assert!(v
            .name()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)));
        assert_eq!(v.is_lossy(), std::str::from_utf8(v.raw()).is_err());
    }
    // Every accessor.
    let _ = (
        env.request(),
        env.channel(),
        env.priority(),
        env.caller_id(),
        env.is_enhanced(),
        env.is_network(),
        env.network_script(),
        env.args(),
        env.iter().count(),
    );
    let s = env.script();
    let _ = (
        s.path(),
        s.query_pairs(),
        s.query_map(),
        s.query_value("name"),
    );
}

/// The environment parsers on `buf`: one-shot and line by line agree.
fn env_case(buf: &[u8], l: &Limits) {
    let one = parse_environment(buf, l);
    let mut p = EnvParser::new(*l);
    let mut lines = Vec::new();
    let mut pos = 0;
    let by_line = loop {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            break None;
        };
        let end = pos + nl + 1;
        lines.push(end);
        match p.push_line(&buf[pos..end]) {
            Ok(Some(env)) => break Some(Ok((env, end))),
            Ok(None) => {}
            Err(e) => break Some(Err(e)),
        }
        pos = end;
    };
    match &one {
        Ok(Some((env, used))) => {
            assert!(*used <= buf.len() && buf[used - 1] == b'\n');
            check_env(env, l);
            assert_eq!(
                by_line.as_ref().map(|r| r.as_ref().ok()),
                Some(Some(&(env.clone(), *used)))
            );
        }
        Ok(None) => {
            assert!(buf.len() <= l.max_env_bytes, "buffered past max_env_bytes");
            assert!(by_line.is_none());
        }
        Err(e) => {
            let _ = e.to_string();
            if let Some(r) = &by_line {
                assert!(r.is_err() || buf.len() > l.max_env_bytes);
            }
        }
    }
}

/// Every typed command's `parse` on a response, and `finish_command`.
fn all_commands(r: &Response, reply: &Reply) {
    macro_rules! each {
        ($($c:expr),* $(,)?) => {$(
            let c = $c;
            let _ = format!("{:?}", c.parse(r));
            let _ = format!("{:?}", finish_command(&c, reply.clone()));
        )*};
    }
    each!(
        Answer,
        AsyncAgiBreak,
        ChannelStatus::new(),
        ControlStreamFile::new("f"),
        DatabaseDel::new("a", "b"),
        DatabaseDelTree::new("a"),
        DatabaseGet::new("a", "b"),
        DatabasePut::new("a", "b", "c"),
        Exec::new("X"),
        GetData::new("f"),
        GetFullVariable::new("${X}"),
        GetOption::new("f", "12"),
        GetVariable::new("X"),
        Gosub::new("c", "e", "1"),
        Hangup::new(),
        Noop,
        ReceiveChar::new(1),
        ReceiveText::new(1),
        RecordFile::new("f", "wav", 1),
        SayAlpha::new("a"),
        SayDate::new(1),
        SayDateTime::new(1),
        SayDigits::new("1"),
        SayNumber::new(1),
        SayPhonetic::new("a"),
        SayTime::new(1),
        SendImage::new("i"),
        SendText::new("t"),
        SetAutoHangup::new(1.0),
        SetCallerId::new("x"),
        SetContext::new("x"),
        SetExtension::new("x"),
        SetMusic::new(true),
        SetPriority::new("1"),
        SetVariable::new("a", "b"),
        SpeechActivateGrammar::new("g"),
        SpeechCreate::new("e"),
        SpeechDeactivateGrammar::new("g"),
        SpeechDestroy,
        SpeechLoadGrammar::new("n", "p"),
        SpeechRecognize::new("p", 1),
        SpeechSet::new("a", "b"),
        SpeechUnloadGrammar::new("g"),
        StreamFile::new("f"),
        TddMode::new(TddSetting::On),
        Verbose::new("m"),
        WaitForDigit::new(1),
        RawCommand::new("X"),
    );
    let _ = (
        r.code(),
        r.result(),
        r.result_int(),
        r.data(),
        r.endpos(),
        r.extra(),
    );
    let _ = (r.field("endpos"), r.line(), r.is_lossy());
}

fn check_reply(reply: &Reply, l: &Limits, commands: bool) {
    match reply {
        Reply::Usage(u) => {
            assert!(
                u.lines().count() <= l.max_usage_lines.max(1),
                "usage past its limit"
            );
            assert!(u.len() <= (l.max_line_len * 3 + 1) * l.max_usage_lines.max(1));
        }
        Reply::Success(r) => {
            assert!(r.line().len() <= 3 * l.max_line_len);
            if commands {
                all_commands(r, reply);
            }
        }
        Reply::Other { line, .. } => assert!(line.len() <= 3 * l.max_line_len),
        _ => {}
    }
    let _ = format!("{:?}", reply.clone().into_response());
}

/// The reply parsers on `buf`: `decode_reply` event after event (skipping
/// a line after an error) and a `ReplyParser` fed the same lines agree.
fn reply_case(buf: &[u8], l: &Limits, commands: bool) {
    let mut pos = 0;
    let mut events = 0;
    while pos < buf.len() && events < 10_000 {
        events += 1;
        match decode_reply(&buf[pos..], l) {
            Ok(Some((ev, used))) => {
                assert!(used > 0 && used <= buf.len() - pos, "bad length {used}");
                // The same lines through a ReplyParser give the same event.
                let mut p = ReplyParser::new(*l);
                let mut got = None;
                for line in buf[pos..pos + used].split_inclusive(|&b| b == b'\n') {
                    got = p
                        .push_line(line)
                        .expect("decode_reply accepted these lines");
                }
                assert_eq!(got.as_ref(), Some(&ev));
                match &ev {
                    ReplyEvent::Reply(r) => check_reply(r, l, commands),
                    ReplyEvent::Trying(r) if commands => {
                        all_commands(r, &Reply::Success(r.clone()));
                    }
                    _ => {}
                }
                pos += used;
            }
            Ok(None) => {
                assert!(buf.len() - pos <= l.max_line_len * (l.max_usage_lines + 2) + 2);
                break;
            }
            Err(e) => {
                let _ = e.to_string();
                match buf[pos..].iter().position(|&b| b == b'\n') {
                    Some(nl) => pos += nl + 1,
                    None => break,
                }
            }
        }
    }
    let text = String::from_utf8_lossy(buf);
    if let Ok(r) = parse_reply_text(&text, l) {
        check_reply(&r, l, false);
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// A script request: parsing never panics; paths and values stay bounded.
fn request_case(s: &str, rng: &mut Rng) {
    let r = ScriptRequest::parse(s);
    assert!(r.path().len() <= 3 * s.len());
    for (k, v) in r.query_pairs() {
        assert!(k.len() + v.len() <= 3 * s.len());
    }
    let _ = r.query_map();
    let plus = rng.one_in(2);
    let d = percent_decode(s, plus);
    assert!(d.len() <= 3 * s.len());
    if !(s.contains('%') || plus && s.contains('+')) {
        assert_eq!(d, s);
    }
    // The oracle: decoding undoes encoding.
    assert_eq!(percent_decode(&percent_encode(s), plus), s);
    // And an environment that names it.
    let env = Environment::from_pairs([("agi_request", s), ("agi_network_script", s)]);
    let _ = (env.script().path(), env.args());
}

struct Corpus {
    env: Vec<Vec<u8>>,
    replies: Vec<Vec<u8>>,
    requests: Vec<Vec<u8>>,
}

fn corpus() -> Corpus {
    let (env, res) = async_values();
    let mut envs = vec![FASTAGI.to_vec(), STDIO.to_vec()];
    envs.extend(env.iter().map(|e| {
        let mut e = e.clone();
        e.push(b'\n');
        e
    }));
    let mut replies = vec![replies_of(FASTAGI).to_vec(), replies_of(STDIO).to_vec()];
    replies.extend(res);
    replies.push(
        b"520-Invalid command syntax.  Proper usage follows:\nUsage: X\n520 End of proper usage.\n"
            .to_vec(),
    );
    replies.push(
        b"HANGUP\n100 result=0 Trying...\n200 result=1 (timeout) endpos=42 x=\"y z\"\n".to_vec(),
    );
    let mut requests: Vec<Vec<u8>> = Vec::new();
    for e in &envs {
        for line in e.split(|&b| b == b'\n') {
            for p in [&b"agi_request: "[..], b"agi_network_script: "] {
                if let Some(v) = line.strip_prefix(p) {
                    requests.push(v.to_vec());
                }
            }
        }
    }
    requests.push(b"agi://host:4573/a%20b/c?x=1&y=%C3%A9+z&flag&=v&%zz=%4".to_vec());
    Corpus {
        env: envs,
        replies,
        requests,
    }
}

fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(Vec::as_slice).collect()
}

#[test]
fn fuzz_agi_environment() {
    let c = corpus();
    let env = refs(&c.env);
    for e in &env {
        env_case(e, &Limits::default());
    }
    mutate::run("agi environment", 0xE11, cases(20_000), |rng| {
        let buf = mutate::input(rng, &env, 4096, 8192);
        let l = limits(rng);
        env_case(&buf, &l);
    });
}

#[test]
fn fuzz_agi_replies() {
    let c = corpus();
    let replies = refs(&c.replies);
    let long = mutate::long_run();
    mutate::run("agi replies", 0x4E9, cases(20_000), |rng| {
        let buf = mutate::input(rng, &replies, 4096, 8192);
        let l = limits(rng);
        let commands = !long || rng.one_in(16);
        reply_case(&buf, &l, commands);
    });
}

#[test]
fn fuzz_agi_requests() {
    let c = corpus();
    let requests = refs(&c.requests);
    mutate::run("agi request/URI", 0x0E1, cases(20_000), |rng| {
        let buf = mutate::input(rng, &requests, 512, 2048);
        let s = String::from_utf8_lossy(&buf);
        request_case(&s, rng);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256).min(20_000) as u32))]

    #[test]
    fn arbitrary_bytes_everywhere(data in prop::collection::vec(any::<u8>(), 0..1024), small_limits in any::<bool>()) {
        let l = if small_limits { small() } else { Limits::default() };
        env_case(&data, &l);
        reply_case(&data, &l, true);
        let mut rng = Rng::new(data.len() as u64);
        request_case(&String::from_utf8_lossy(&data), &mut rng);
    }

    #[test]
    fn arbitrary_reply_lines(
        lines in prop::collection::vec(
            prop::sample::select(vec![
                "200 result=", "200 result=0", "200 result=-1 (hangup) endpos=x", "200 result=1 (",
                "100 result=0 Trying...", "520-Usage", "520 End", "520", "HANGUP", "510 x", "511",
                "999 y", "200", "200 ", "20", "", "text", "200 result=9999999999999999999999",
                "200 result=1 endpos=-99999999999999999999", "200 result=\"", "200 result=1 a=\"b",
            ]),
            0..24,
        ),
        small_limits in any::<bool>(),
    ) {
        let l = if small_limits { small() } else { Limits::default() };
        let text = lines.join("\n");
        reply_case(text.as_bytes(), &l, true);
    }
}

/// `ScriptRequest::parse` sliced the request at the length of `agi://`
/// before comparing: a multi-byte character across that boundary panicked.
#[test]
fn regression_request_with_multibyte_char_at_scheme_end() {
    for s in [
        "abcde\u{e9}",
        "agi:/\u{e9}x",
        "hagi:/\u{4EEB}",
        "\u{FFFD}\u{FFFD}\u{FFFD}",
    ] {
        let _ = ScriptRequest::parse(s);
        let env = Environment::from_pairs([("agi_request", s)]);
        let _ = env.script().path();
    }
    let r = ScriptRequest::parse("AGI://h/\u{e9}?q=%C3%A9");
    assert_eq!(r.path(), "\u{e9}");
    assert_eq!(r.query_value("q"), Some("\u{e9}"));
}
