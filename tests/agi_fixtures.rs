//! Replays the recordings of a real Asterisk 22 (tests/data/asterisk-22):
//! every reply must parse into the right typed result, and the commands
//! astrix writes must be the bytes the recording's client wrote.

use std::io::{Cursor, Read};

use astrix::testing::split_agi_args;

use astrix::agi::commands::*;
use astrix::agi::{
    decode_reply, encode_command, finish_command, parse_environment, parse_reply_text,
    percent_decode, Agi, AgiCommand, AgiError, HangupReason, Limits, Reply, ReplyEvent,
};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/asterisk-22/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}{name}")).expect("fixture present (tests/data/asterisk-22)")
}

/// The `C:` lines of a `.txt` recording, unescaped, without the `\n`.
fn client_lines(name: &str) -> Vec<String> {
    let txt = String::from_utf8(fixture(name)).unwrap();
    txt.lines()
        .filter_map(|l| l.strip_prefix("C: "))
        .map(unescape)
        .map(|l| l.trim_end_matches(['\r', '\n']).to_owned())
        .collect()
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('x') => {
                let h: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&h, 16).unwrap() as char);
            }
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[test]
fn fastagi_environment() {
    let bin = fixture("fastagi_session.bin");
    let (env, used) = parse_environment(&bin, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(&bin[used..used + 13], b"200 result=0\n");
    assert_eq!(env.vars().len(), 24);
    assert!(env.is_network());
    assert_eq!(env.network_script(), Some("demo?name=World"));
    assert_eq!(env.script().path(), "demo");
    assert_eq!(env.script().query_values("name"), ["World"]);
    assert_eq!(env.args(), ["a", "b"]);
    assert_eq!(env.channel(), Some("Local/100@test-00000004;1"));
    assert_eq!(env.caller_id(), Some("5551234"));
    assert_eq!(env.caller_id_name(), Some("Astrix Test"));
    assert_eq!(env.account_code(), Some(""));
    assert_eq!(env.priority(), Some(3));
    assert_eq!(env.version(), Some("22.10.1"));
    assert_eq!(env.unique_id(), Some("1795418498.8"));
    assert_eq!(env.get("threadid"), Some("140389618804416"));
    assert!(!env.is_enhanced());
}

#[test]
fn fastagi_session_replayed_through_agi() {
    let bin = fixture("fastagi_session.bin");
    let mut written = Vec::new();
    let mut agi = Agi::new(Cursor::new(bin), &mut written).unwrap();

    agi.execute(&Answer).unwrap();
    assert_eq!(
        agi.execute(&ChannelStatus::new()).unwrap(),
        ChannelState::Up
    );
    assert_eq!(
        agi.execute(&GetVariable::new("ASTRIX_TAG"))
            .unwrap()
            .as_deref(),
        Some("fastagi-200")
    );
    assert_eq!(agi.execute(&GetVariable::new("NOT_SET_VAR")).unwrap(), None);
    assert_eq!(
        agi.execute(&GetFullVariable::new("${CALLERID(num)} / ${ASTRIX_TAG}"))
            .unwrap()
            .as_deref(),
        Some("5551234 / fastagi-200")
    );
    agi.execute(&SetVariable::new(
        "FOO",
        r#"value with spaces and "quotes""#,
    ))
    .unwrap();
    assert_eq!(
        agi.execute(&GetVariable::new("FOO")).unwrap().as_deref(),
        Some(r#"value with spaces and "quotes""#)
    );
    agi.execute(&DatabasePut::new("astrix", "agikey", "some value"))
        .unwrap();
    assert_eq!(
        agi.execute(&DatabaseGet::new("astrix", "agikey"))
            .unwrap()
            .as_deref(),
        Some("some value")
    );
    agi.execute(&DatabaseDel::new("astrix", "agikey")).unwrap();
    assert_eq!(
        agi.execute(&DatabaseGet::new("astrix", "agikey")).unwrap(),
        None
    );
    agi.execute(&Verbose::new("hello from fastagi").level(1))
        .unwrap();
    match agi.execute(&StreamFile::new("nosuchfile")).unwrap_err() {
        AgiError::AppError { result, endpos, .. } => {
            assert_eq!(result, "-1");
            assert_eq!(endpos, Some(0));
        }
        e => panic!("{e:?}"),
    }
    let e = agi
        .execute(&GetData::new("nosuchfile").timeout_ms(500).max_digits(2))
        .unwrap_err();
    assert!(e.is_app_error(), "{e:?}");
    assert!(agi.execute(&SayNumber::new(42)).unwrap_err().is_app_error());
    assert_eq!(agi.execute(&WaitForDigit::new(100)).unwrap(), None);
    assert_eq!(
        agi.execute(&Exec::new("NoOp").options("hello, from exec"))
            .unwrap(),
        0
    );
    assert!(agi
        .execute(&Exec::new("NoSuchApp").options("foo"))
        .unwrap_err()
        .is_app_error());
    agi.execute(&Gosub::new("sub-agi", "s", "1").args(["one", "two"]))
        .unwrap();
    assert_eq!(
        agi.execute(&GetVariable::new("GOSUB_RESULT"))
            .unwrap()
            .as_deref(),
        Some("done:one")
    );
    assert!(matches!(
        agi.execute(&RawCommand::new("NO SUCH COMMAND")),
        Err(AgiError::InvalidCommand)
    ));
    match agi.execute(&RawCommand::new("DATABASE PUT onlyfamily")) {
        Err(AgiError::Usage { usage }) => {
            assert!(usage.starts_with("Adds or updates an entry"), "{usage}");
            assert_eq!(usage.lines().count(), 2);
        }
        r => panic!("{r:?}"),
    }
    match agi.execute(&RawCommand::new("SET VARIABLE")) {
        Err(AgiError::Usage { usage }) => {
            assert_eq!(usage, "Sets a variable to the current channel.")
        }
        r => panic!("{r:?}"),
    }
    agi.execute(&Hangup::new()).unwrap();
    // The unsolicited HANGUP line arrives before the reply to NOOP.
    assert!(matches!(
        agi.execute(&Noop),
        Err(AgiError::Hangup(HangupReason::HangupLine))
    ));
    // From now on every command fails at once.
    assert!(matches!(
        agi.execute(&Answer),
        Err(AgiError::Hangup(HangupReason::HangupLine))
    ));
    let (mut rest_reader, _) = agi.into_parts();
    let mut rest = Vec::new();
    rest_reader.read_to_end(&mut rest).unwrap();

    // The replies after the hangup, through the sans-IO decoder.
    let limits = Limits::default();
    let mut pos = 0;
    let mut next = || {
        let (ev, used) = decode_reply(&rest[pos..], &limits).unwrap().unwrap();
        pos += used;
        match ev {
            ReplyEvent::Reply(r) => r,
            other => panic!("{other:?}"),
        }
    };
    finish_command(&Noop, next()).unwrap();
    assert!(finish_command(&Answer, next())
        .unwrap_err()
        .is_dead_channel());
    assert!(finish_command(&WaitForDigit::new(100), next())
        .unwrap_err()
        .is_dead_channel());
    assert_eq!(
        finish_command(&GetVariable::new("FOO"), next())
            .unwrap()
            .as_deref(),
        Some(r#"value with spaces and "quotes""#)
    );

    // What astrix wrote is byte for byte what the recording's client wrote
    // (up to the NOOP that met the hangup).
    let expected: Vec<String> = client_lines("fastagi_session.txt");
    let written = String::from_utf8(written).unwrap();
    let ours: Vec<&str> = written.lines().collect();
    assert_eq!(ours, expected[..ours.len()]);
    assert_eq!(ours.len(), expected.len() - 3);
}

#[test]
fn stdio_session_replayed_through_agi() {
    let bin = fixture("agi_stdio_session.bin");
    let mut written = Vec::new();
    let mut agi = Agi::new(Cursor::new(bin), &mut written).unwrap();
    let env = agi.environment().clone();
    assert_eq!(env.script().path(), "astrix_agi_rec.py");
    assert_eq!(env.args(), ["one arg", "two"]);
    assert!(!env.is_network());

    agi.execute(&Answer).unwrap();
    assert_eq!(
        agi.execute(&GetVariable::new("ASTRIX_TAG"))
            .unwrap()
            .as_deref(),
        Some("stdio")
    );
    agi.execute(&SetVariable::new("BAR", "stdio value"))
        .unwrap();
    assert_eq!(
        agi.execute(&GetFullVariable::new("${BAR}-${CALLERID(num)}"))
            .unwrap()
            .as_deref(),
        Some("stdio value-5550800")
    );
    assert_eq!(agi.execute(&Exec::new("Set").options("X=1")).unwrap(), 0);
    assert!(agi
        .execute(&StreamFile::new("nosuchfile").escape_digits("#"))
        .unwrap_err()
        .is_app_error());
    assert!(matches!(
        agi.execute(&RawCommand::new("NO SUCH")),
        Err(AgiError::InvalidCommand)
    ));
    match agi.execute(&RawCommand::new("GET VARIABLE")) {
        Err(AgiError::Usage { usage }) => {
            assert!(usage.contains("Example return code: 200 result=1 (testvariable)"))
        }
        r => panic!("{r:?}"),
    }
    agi.execute(&Hangup::new()).unwrap();
    // Classic AGI gets SIGHUP, not a HANGUP line: the session goes on.
    agi.execute(&Noop).unwrap();
    assert!(agi.execute(&Answer).unwrap_err().is_dead_channel());
    drop(agi);
    let written = String::from_utf8(written).unwrap();
    // The recording's client quoted more than astrix needs to: compare
    // the arguments Asterisk reads from each line.
    let ours: Vec<Vec<String>> = written.lines().map(split_agi_args).collect();
    let theirs: Vec<Vec<String>> = client_lines("agi_stdio_session.txt")
        .iter()
        .map(|l| split_agi_args(l))
        .collect();
    assert_eq!(ours, theirs);
}

/// Values of `Header: value` lines in the AMI bytes.
fn header_values(bin: &[u8], header: &str) -> Vec<String> {
    String::from_utf8_lossy(bin)
        .split("\r\n")
        .filter_map(|l| l.strip_prefix(header).map(str::to_owned))
        .collect()
}

#[test]
fn asyncagi_results_and_commands() {
    let bin = fixture("asyncagi_over_ami.bin");
    let limits = Limits::default();
    let env_text = percent_decode(&header_values(&bin, "Env: ")[0], false);
    let (env, _) = parse_environment(env_text.as_bytes(), &limits)
        .unwrap()
        .unwrap();
    assert_eq!(env.request(), Some("async"));
    assert_eq!(env.caller_id_name(), Some("Async Caller"));
    assert_eq!(env.vars().len(), 20);

    let results: Vec<Reply> = header_values(&bin, "Result: ")
        .iter()
        .map(|r| parse_reply_text(&percent_decode(r, false), &limits).unwrap())
        .collect();
    assert_eq!(results.len(), 8);
    let commands: Vec<String> = client_lines("asyncagi_over_ami.txt")
        .into_iter()
        .filter_map(|l| l.strip_prefix("Command: ").map(str::to_owned))
        .collect();

    fn check<C: AgiCommand>(cmd: &C, line: &str, reply: &Reply) -> Result<C::Output, AgiError> {
        assert_eq!(encode_command(cmd).unwrap(), line);
        finish_command(cmd, reply.clone())
    }
    check(&Answer, &commands[0], &results[0]).unwrap();
    assert_eq!(
        check(&GetVariable::new("ASTRIX_TAG"), &commands[1], &results[1])
            .unwrap()
            .as_deref(),
        Some("async-300")
    );
    check(
        &SetVariable::new("FOO", "async value"),
        &commands[2],
        &results[2],
    )
    .unwrap();
    assert_eq!(
        check(&GetVariable::new("FOO"), &commands[3], &results[3])
            .unwrap()
            .as_deref(),
        Some("async value")
    );
    assert!(matches!(
        check(
            &RawCommand::new("NO SUCH COMMAND"),
            &commands[4],
            &results[4]
        ),
        Err(AgiError::InvalidCommand)
    ));
    match check(&RawCommand::new("DATABASE GET"), &commands[5], &results[5]) {
        Err(AgiError::Usage { usage }) => assert!(usage.starts_with("Retrieves an entry")),
        r => panic!("{r:?}"),
    }
    assert_eq!(
        check(
            &Exec::new("NoOp").options("from async"),
            &commands[6],
            &results[6]
        )
        .unwrap(),
        0
    );
    check(&Hangup::new(), &commands[7], &results[7]).unwrap();
}

/// Splitting the recorded replies at every position gives the same events.
#[test]
fn fastagi_replies_split_anywhere() {
    let bin = fixture("fastagi_session.bin");
    let limits = Limits::default();
    let (_, used) = parse_environment(&bin, &limits).unwrap().unwrap();
    let replies = &bin[used..];
    let whole = decode_all(replies, &limits);
    assert_eq!(whole.len(), 30, "{whole:?}");
    assert_eq!(
        whole
            .iter()
            .filter(|e| matches!(e, ReplyEvent::Hangup))
            .count(),
        1
    );
    assert_eq!(
        whole
            .iter()
            .filter(|e| matches!(e, ReplyEvent::Trying(_)))
            .count(),
        1
    );
    for cut in 0..replies.len() {
        // Only the prefix is available: decoding must answer "need more"
        // at the cut, never an error.
        let mut events = Vec::new();
        let mut pos = 0;
        while let Some((ev, n)) = decode_reply(&replies[pos..cut], &limits).unwrap() {
            events.push(ev);
            pos += n;
        }
        events.extend(decode_all(&replies[pos..], &limits));
        assert_eq!(events, whole, "cut at {cut}");
    }
    // The environment, too.
    for cut in 0..used {
        assert!(parse_environment(&bin[..cut], &limits).unwrap().is_none());
    }
}

fn decode_all(mut buf: &[u8], limits: &Limits) -> Vec<ReplyEvent> {
    let mut out = Vec::new();
    while let Some((ev, n)) = decode_reply(buf, limits).unwrap() {
        out.push(ev);
        buf = &buf[n..];
    }
    assert!(buf.is_empty());
    out
}
