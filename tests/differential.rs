//! The differential check of the emulators against a real Asterisk 22.
//!
//! Each scenario is one script, run against the emulator and, when
//! `ASTRIX_LIVE` names a host running the test instance of
//! `tests/data/asterisk-etc/`, against that Asterisk too. Both runs give a
//! normalised transcript (see `differential/normalise.rs`);
//! `tests/data/differential/NAME.txt` holds the one recorded from Asterisk
//! 22.10.1, and the emulator's must equal it. `ASTRIX_RECORD=1` with
//! `ASTRIX_LIVE` re-records those files; `tests/data/differential/README.md`
//! says how.

#[path = "differential/ami.rs"]
mod ami;
#[path = "differential/normalise.rs"]
mod normalise;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use ami::Ami;
use astrix::testing::AmiServer;

/// The AMI events an originate is compared on (the others Asterisk sends,
/// `Newexten`, `VarSet`, `LocalBridge`, `DialBegin`, … are not modelled).
const CALL_EVENTS: &[&str] = &["Newchannel", "Newstate", "Hangup", "OriginateResponse"];

/// One scenario: its name (the recording's file name), the events its
/// transcript keeps and the script.
struct Scenario {
    name: &'static str,
    events: &'static [&'static str],
    script: fn(&mut Ami),
}

/// The host of a real Asterisk to compare with, from `ASTRIX_LIVE`.
fn live() -> Option<String> {
    std::env::var("ASTRIX_LIVE").ok().filter(|h| !h.is_empty())
}

/// Whether the live transcripts replace the recorded ones.
fn recording() -> bool {
    std::env::var("ASTRIX_RECORD").is_ok_and(|v| v == "1")
}

fn recorded_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/differential"
    ))
    .join(format!("{name}.txt"))
}

/// A tag no other run of this process uses, and no prefix of another.
fn new_tag() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "dx{}x{}x",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs the script against the AMI at `addr`; its transcript as text.
fn run_ami(addr: &str, s: &Scenario) -> String {
    let mut ami = Ami::connect(addr, &new_tag());
    (s.script)(&mut ami);
    let mut t = ami.transcript(s.events).join("\n");
    t.push('\n');
    t
}

/// The emulator, with the users of the test instance's `manager.conf`.
fn emulator() -> AmiServer {
    AmiServer::builder()
        .user("limited", "limitedpass", "system,call", "system")
        .start()
        .expect("start the AMI emulator")
}

/// Where two transcripts part, for the failure message.
fn first_difference(want: &str, got: &str, label: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let i = w.iter().zip(&g).take_while(|(a, b)| a == b).count();
    format!(
        "line {}:\n  recorded: {}\n  {label}: {}",
        i + 1,
        w.get(i).unwrap_or(&"(end)"),
        g.get(i).unwrap_or(&"(end)")
    )
}

/// Compares the emulator's transcript with the recorded one (after
/// re-recording it, or checking it still holds, against `ASTRIX_LIVE`).
fn check(s: Scenario) {
    let path = recorded_path(s.name);
    if let Some(host) = live() {
        let real = run_ami(&format!("{host}:5038"), &s);
        if recording() {
            std::fs::write(&path, &real).expect("write the recording");
        } else {
            let recorded = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                real == recorded,
                "{}: Asterisk no longer gives the recorded transcript, {}\n{real}",
                s.name,
                first_difference(&recorded, &real, "Asterisk")
            );
        }
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (record it with ASTRIX_LIVE and ASTRIX_RECORD=1)",
            path.display()
        )
    });
    let server = emulator();
    let emu = run_ami(&server.addr(), &s);
    assert!(
        emu == recorded,
        "{}: the emulator differs from Asterisk 22, {}\n{emu}",
        s.name,
        first_difference(&recorded, &emu, "emulator")
    );
}

fn admin(ami: &mut Ami) {
    assert!(ami.login("admin", "wordpass"), "admin login");
}

/// Originates `channel` into `Wait(1)`, asynchronously, with a ChannelId of
/// the run, and waits for the outcome.
fn originate(ami: &mut Ami, channel: &str, extra: &[(&str, &str)]) {
    let id = ami.channel_id(1);
    let mut h = vec![
        ("Action", "Originate"),
        ("Channel", channel),
        ("Application", "Wait"),
        ("Data", "1"),
        ("Async", "true"),
        ("ChannelId", id.as_str()),
    ];
    h.extend_from_slice(extra);
    let r = ami.send(&h);
    assert!(r.is_some(), "no answer to Originate");
    let tag = ami.tag().to_owned();
    assert!(
        ami.wait(|m| m.event_name() == Some("OriginateResponse")
            && m.action_id().is_some_and(|a| a.starts_with(&tag)))
            .is_some(),
        "no OriginateResponse"
    );
}

fn logoff(ami: &mut Ami) {
    assert!(ami.send(&[("Action", "Logoff")]).is_some(), "no Goodbye");
    assert!(ami.wait_closed(), "not closed after Logoff");
}

#[test]
fn originate_answered() {
    check(Scenario {
        name: "originate_answered",
        events: CALL_EVENTS,
        script: |ami| {
            admin(ami);
            originate(ami, "Local/100@test", &[]);
            ami.settle(2);
            logoff(ami);
        },
    });
}

#[test]
fn originate_busy() {
    check(Scenario {
        name: "originate_busy",
        events: CALL_EVENTS,
        script: |ami| {
            admin(ami);
            originate(ami, "Local/103@test", &[]);
            ami.settle(2);
            logoff(ami);
        },
    });
}

#[test]
fn originate_no_answer() {
    check(Scenario {
        name: "originate_no_answer",
        events: CALL_EVENTS,
        script: |ami| {
            admin(ami);
            originate(ami, "Local/101@test", &[("Timeout", "2000")]);
            ami.settle(2);
            logoff(ami);
        },
    });
}

#[test]
fn refused_login() {
    check(Scenario {
        name: "refused_login",
        events: &[],
        script: |ami| {
            assert!(!ami.login("limited", "not-the-secret"));
            assert!(ami.wait_closed(), "not closed after a refused login");
        },
    });
}

#[test]
fn refused_action() {
    check(Scenario {
        name: "refused_action",
        events: &[],
        script: |ami| {
            assert!(ami.login("limited", "limitedpass"));
            let id = ami.channel_id(1);
            ami.send(&[
                ("Action", "Originate"),
                ("Channel", "Local/100@test"),
                ("Application", "Wait"),
                ("Data", "1"),
                ("ChannelId", &id),
            ]);
            ami.send(&[("Action", "Getvar"), ("Variable", "ASTRIX_TAG")]);
            ami.send(&[("Action", "Ping")]);
            logoff(ami);
        },
    });
}

/// A synchronous Originate into `Wait(1)`: its answer, no OriginateResponse.
fn originate_sync(ami: &mut Ami, channel: &str) {
    let id = ami.channel_id(1);
    let r = ami.send(&[
        ("Action", "Originate"),
        ("Channel", channel),
        ("Application", "Wait"),
        ("Data", "1"),
        ("ChannelId", id.as_str()),
    ]);
    assert!(r.is_some(), "no answer to Originate");
}

#[test]
fn originate_sync_answered() {
    check(Scenario {
        name: "originate_sync_answered",
        events: CALL_EVENTS,
        script: |ami| {
            admin(ami);
            originate_sync(ami, "Local/100@test");
            ami.settle(2);
            logoff(ami);
        },
    });
}

#[test]
fn originate_sync_busy() {
    check(Scenario {
        name: "originate_sync_busy",
        events: CALL_EVENTS,
        script: |ami| {
            admin(ami);
            originate_sync(ami, "Local/103@test");
            ami.settle(2);
            logoff(ami);
        },
    });
}

/// Originates a Local channel into 104 (answers, waits 300 s) and hangs up
/// half `half` (`;1` or `;2`) with the Hangup action.
fn local_hangup(ami: &mut Ami, half: &str) {
    admin(ami);
    let id = ami.channel_id(1);
    let r = ami.send(&[
        ("Action", "Originate"),
        ("Channel", "Local/104@test"),
        ("Application", "Wait"),
        ("Data", "300"),
        ("Async", "true"),
        ("ChannelId", id.as_str()),
    ]);
    assert!(r.is_some(), "no answer to Originate");
    let up = ami.wait_event("Newstate", "Local/104@test-").and_then(|_| {
        ami.wait(|m| {
            m.event_name() == Some("Newstate")
                && m.get("ChannelState") == Some("6")
                && m.get("Channel").is_some_and(|c| c.ends_with(";1"))
                && m.get("Linkedid") == Some(id.as_str())
        })
    });
    let name = up
        .and_then(|m| m.get("Channel").map(str::to_owned))
        .expect(";1 half up");
    let target = format!("{};{half}", name.trim_end_matches(";1"));
    let tag = ami.tag().to_owned();
    assert!(ami
        .wait(|m| m.event_name() == Some("OriginateResponse")
            && m.action_id().is_some_and(|a| a.starts_with(&tag)))
        .is_some());
    ami.send(&[("Action", "Hangup"), ("Channel", &target)]);
    ami.settle(2);
    logoff(ami);
}

#[test]
fn local_hangup_first_half() {
    check(Scenario {
        name: "local_hangup_first_half",
        events: CALL_EVENTS,
        script: |ami| local_hangup(ami, "1"),
    });
}

#[test]
fn local_hangup_second_half() {
    check(Scenario {
        name: "local_hangup_second_half",
        events: CALL_EVENTS,
        script: |ami| local_hangup(ami, "2"),
    });
}
