//! `Agi` over in-memory streams, the stdio harnesses, and the demo script
//! shared with the examples.

#[path = "../examples/common/demo.rs"]
mod demo;

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use astrix::agi::commands::*;
use astrix::agi::{Agi, AgiError, FastAgiServer, HangupReason, Limits};
use astrix::testing::{FastAgiClient, Fault};

const ENV: &str = "agi_request: test.agi\nagi_channel: PJSIP/1-1\n\n";

fn session(replies: &str) -> Agi<Cursor<Vec<u8>>, Vec<u8>> {
    Agi::new(
        Cursor::new(format!("{ENV}{replies}").into_bytes()),
        Vec::new(),
    )
    .unwrap()
}

#[test]
fn gosub_skips_trying_line() {
    let mut agi = session("100 result=0 Trying...\n200 result=0 Gosub complete\n");
    agi.execute(&Gosub::new("c", "s", "1")).unwrap();
}

#[test]
fn glued_hangup_then_fail_fast() {
    let mut agi = session("HANGUP\n200 result=1\n");
    assert!(matches!(
        agi.execute(&Noop),
        Err(AgiError::Hangup(HangupReason::HangupLine))
    ));
    assert!(agi.is_hung_up());
    let (_, written) = agi.into_parts();
    assert_eq!(written, b"NOOP\n");
}

#[test]
fn closed_stream_is_a_hangup() {
    let mut agi = session("200 res");
    assert!(matches!(
        agi.execute(&Noop),
        Err(AgiError::Hangup(HangupReason::Closed))
    ));
    assert!(matches!(
        agi.execute(&Noop),
        Err(AgiError::Hangup(HangupReason::Closed))
    ));
    assert!(matches!(
        Agi::new(Cursor::new(b"agi_request: x\n".to_vec()), Vec::new()),
        Err(AgiError::Hangup(HangupReason::Closed))
    ));
}

#[test]
fn sighup_flag_fails_the_next_command() {
    let mut agi = session("200 result=0\n200 result=0\n");
    let flag = Arc::new(AtomicBool::new(false));
    agi.set_hangup_flag(Arc::clone(&flag));
    agi.execute(&Noop).unwrap();
    flag.store(true, Ordering::Relaxed);
    assert!(matches!(
        agi.execute(&Noop),
        Err(AgiError::Hangup(HangupReason::Signal))
    ));
    let (_, written) = agi.into_parts();
    assert_eq!(written, b"NOOP\n");
}

#[test]
fn bad_arguments_are_refused_before_sending() {
    let mut agi = session("200 result=1\n");
    for bad in ["x\nHANGUP", "x\r", "x\0y"] {
        let err = agi.execute(&SetVariable::new("A", bad)).unwrap_err();
        assert!(matches!(err, AgiError::InvalidArgument { .. }), "{err:?}");
    }
    let long = "x".repeat(10_000);
    assert!(matches!(
        agi.execute(&Verbose::new(long)),
        Err(AgiError::LimitExceeded { .. })
    ));
    agi.execute(&SetVariable::new("A", "fine \"quoted\" \\ value"))
        .unwrap();
    let (_, written) = agi.into_parts();
    assert_eq!(
        written,
        b"SET VARIABLE A \"fine \\\"quoted\\\" \\\\ value\"\n"
    );
}

#[test]
fn malformed_reply_and_limits() {
    let mut agi = session("this is not AGI\n");
    assert!(matches!(
        agi.execute(&Noop),
        Err(AgiError::MalformedReply { .. })
    ));
    let mut agi = Agi::with_limits(
        Cursor::new(format!("{ENV}200 result=1 ({})\n", "v".repeat(100)).into_bytes()),
        Vec::new(),
        Limits::default().max_line_len(50),
    )
    .unwrap();
    assert!(matches!(
        agi.execute(&GetVariable::new("X")),
        Err(AgiError::LimitExceeded { .. })
    ));
    assert!(matches!(
        Agi::with_limits(
            Cursor::new(ENV.as_bytes().to_vec()),
            Vec::new(),
            Limits::default().max_env_bytes(10)
        ),
        Err(AgiError::LimitExceeded { .. })
    ));
}

#[test]
fn error_helpers() {
    assert!(AgiError::Hangup(HangupReason::Signal).is_hangup());
    assert!(AgiError::DeadChannel.is_channel_gone());
    assert!(AgiError::Usage {
        usage: String::new()
    }
    .is_usage());
    assert!(matches!(
        AgiError::from_io(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        AgiError::Hangup(HangupReason::Closed)
    ));
    assert!(matches!(
        AgiError::from_io(std::io::Error::from(std::io::ErrorKind::WouldBlock)),
        AgiError::Timeout
    ));
}

#[test]
fn demo_over_fastagi() {
    let server = FastAgiServer::bind("127.0.0.1:0").unwrap();
    server
        .register_script_handler("^demo$", |req| {
            let name = req.query_value("name").unwrap_or("").to_owned();
            demo::run_demo(req.agi(), &name)
        })
        .unwrap();
    let addr = server.local_addr();
    let handle = server.shutdown_handle();
    let t = std::thread::spawn(move || server.serve_forever());
    let call = FastAgiClient::new()
        .script("demo?name=World")
        .arg("a")
        .arg("b")
        .reply("STREAM FILE", ["200 result=-1 endpos=0"])
        .run(addr)
        .unwrap();
    assert_eq!(
        call.commands,
        [
            "ANSWER",
            "GET VARIABLE CALLERID(num)",
            "SET VARIABLE ASTRIX_ARGS a,b",
            "SET VARIABLE ASTRIX_NAME World",
            "SET VARIABLE ASTRIX_CID 5551234",
            "STREAM FILE beep \"\"",
            "VERBOSE \"astrix demo done\" 1",
        ]
    );
    assert_eq!(call.variables["ASTRIX_ARGS"], "a,b");
    assert_eq!(call.variables["ASTRIX_NAME"], "World");
    assert_eq!(call.variables["ASTRIX_CID"], "5551234");
    handle.shutdown();
    t.join().unwrap().unwrap();
}

#[test]
fn demo_over_the_stdio_harness() {
    let client = FastAgiClient::new()
        .classic("/var/lib/asterisk/agi-bin/agi_script")
        .arg("one arg")
        .arg("two");
    let (result, call) = client
        .run_script(|agi| {
            assert!(!agi.environment().is_network());
            demo::run_demo(agi, "")
        })
        .unwrap();
    result.unwrap();
    assert_eq!(call.commands.len(), 7);
    assert_eq!(call.variables["ASTRIX_ARGS"], "one arg,two");
    assert_eq!(call.variables["ASTRIX_NAME"], "");
    assert_eq!(call.commands[3], "SET VARIABLE ASTRIX_NAME \"\"");

    // A hangup in the middle ends the script with the hangup error.
    let (result, call) = FastAgiClient::new()
        .fault(Fault::GluedHangupAt(3))
        .run_script(|agi| demo::run_demo(agi, ""))
        .unwrap();
    assert!(result.unwrap_err().is_hangup());
    assert_eq!(call.commands.len(), 3);
}

#[test]
fn child_process_harness() {
    // A tiny shell "AGI script": skip the environment, send ANSWER, echo the
    // reply to stderr, exit 3.
    let script = r#"while IFS= read -r l && [ -n "$l" ]; do :; done; echo ANSWER; IFS= read -r r; echo "got $r" >&2; exit 3"#;
    let (call, status) = FastAgiClient::new()
        .classic("sh")
        .timeout(Duration::from_secs(10))
        .run_child(std::process::Command::new("sh").arg("-c").arg(script))
        .unwrap();
    assert_eq!(call.commands, ["ANSWER"]);
    assert_eq!(status.code(), Some(3));
}

/// What the emulator writes after the environment when `commands` are played.
fn replies_to(client: &FastAgiClient, commands: &str) -> String {
    let mut out = Vec::new();
    client.play(commands.as_bytes(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    text.split_once("\n\n").unwrap().1.to_owned()
}

#[test]
fn hangup_is_signalled_as_asterisk_does_in_each_mode() {
    let fast = FastAgiClient::new();
    let classic = FastAgiClient::new().classic("/agi-bin/x");
    assert!(classic.is_classic() && !fast.is_classic());
    // The HANGUP command: FastAGI gets the line right after the reply.
    let cmds = "HANGUP\nANSWER\nGET VARIABLE X\n";
    assert_eq!(
        replies_to(&fast, cmds),
        "200 result=1\nHANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n200 result=0\n"
    );
    assert_eq!(
        replies_to(&classic, cmds),
        "200 result=1\n511 Command Not Permitted on a dead channel or intercept routine\n200 result=0\n"
    );
    // A far-end hangup while STREAM FILE plays: -1 to it, then a dead channel.
    let cmds = "STREAM FILE hello \"\"\nWAIT FOR DIGIT 100\n";
    let dead = "511 Command Not Permitted on a dead channel or intercept routine\n";
    assert_eq!(
        replies_to(&fast.clone().fault(Fault::HangupDuring(1)), cmds),
        format!("200 result=-1 endpos=0\nHANGUP\n{dead}")
    );
    assert_eq!(
        replies_to(&classic.clone().fault(Fault::HangupDuring(1)), cmds),
        format!("200 result=-1 endpos=0\n{dead}")
    );
    // A hangup between commands: no line for a classic script either.
    assert_eq!(
        replies_to(&classic.clone().fault(Fault::HangupAt(2)), cmds),
        format!("200 result=0 endpos=12345\n{dead}")
    );
    assert_eq!(
        replies_to(&fast.clone().fault(Fault::HangupAt(2)), cmds),
        format!("200 result=0 endpos=12345\nHANGUP\n{dead}")
    );
}

#[test]
fn missing_sounds_answer_as_res_agi() {
    let client = FastAgiClient::new().sounds(["hello-world", "digits/1"]);
    let cmds =
        "STREAM FILE hello-world \"\"\nSTREAM FILE nope \"\" 800\nCONTROL STREAM FILE nope \"\"\n\
                GET OPTION nope 1\nGET DATA nope\nGET DATA digits/1\nSTREAM FILE digits/1 \"\"\n";
    assert_eq!(
        replies_to(&client, cmds),
        "200 result=0 endpos=12345\n200 result=-1 endpos=800\n200 result=-1 endpos=0\n\
         200 result=-1 endpos=0\n200 result=-1\n200 result=1234\n200 result=0 endpos=12345\n"
    );
    // By default every sound exists.
    assert_eq!(
        replies_to(&FastAgiClient::new(), "STREAM FILE nope \"\"\n"),
        "200 result=0 endpos=12345\n"
    );
}
