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

#[path = "differential/agi.rs"]
mod agi;
#[path = "differential/ami.rs"]
mod ami;
#[cfg(feature = "ari")]
#[path = "differential/ari.rs"]
mod ari;
#[path = "differential/normalise.rs"]
mod normalise;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use std::net::TcpListener;

use agi::AgiCall;
use ami::Ami;
use astrix::testing::{AmiServer, FastAgiClient};

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
    let server = emulator();
    compare(
        s.name,
        |host| run_ami(&format!("{host}:5038"), &s),
        || run_ami(&server.addr(), &s),
    );
}

/// Compares what `emulated` gives with the recording of `name`, after
/// `real` (given the host of `ASTRIX_LIVE`) re-recorded it or was checked
/// against it.
fn compare(name: &str, real: impl FnOnce(&str) -> String, emulated: impl FnOnce() -> String) {
    let path = recorded_path(name);
    if let Some(host) = live() {
        let real = real(&host);
        if recording() {
            std::fs::write(&path, &real).expect("write the recording");
        } else {
            let recorded = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                real == recorded,
                "{name}: Asterisk no longer gives the recorded transcript, {}\n{real}",
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
    let emu = emulated();
    assert!(
        emu == recorded,
        "{name}: the emulator differs from Asterisk 22, {}\n{emu}",
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
fn originate_congestion() {
    check(Scenario {
        name: "originate_congestion",
        events: CALL_EVENTS,
        script: |ami| {
            admin(ami);
            originate(ami, "Local/105@test", &[]);
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
    let target = local_up(ami, half);
    ami.send(&[("Action", "Hangup"), ("Channel", &target)]);
    ami.settle(2);
    logoff(ami);
}

/// Logs in, originates a Local channel into 104 (answers, waits 300 s)
/// into `Wait(300)` and waits until it is up and the originate answered;
/// the name of its half `half` (`1` or `2`).
fn local_up(ami: &mut Ami, half: &str) -> String {
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
    target
}

#[test]
fn dtmf_play() {
    check(Scenario {
        name: "dtmf_play",
        events: &[
            "Newchannel",
            "Newstate",
            "Hangup",
            "OriginateResponse",
            "DTMFBegin",
            "DTMFEnd",
        ],
        script: |ami| {
            let one = local_up(ami, "1");
            // Until `;2` is in `Wait`: digits that reach it while Answer()
            // reads its frames come out garbled (two DTMFBegin, the
            // DTMFEnd only at the hangup).
            std::thread::sleep(std::time::Duration::from_secs(1));
            // Sent out of `;1` (its `;2` half reads it), then received on
            // `;1` as if from its far end, then a channel that is not.
            ami.send(&[
                ("Action", "PlayDTMF"),
                ("Channel", &one),
                ("Digit", "5"),
                ("Duration", "200"),
            ]);
            ami.wait_event("DTMFEnd", &twin(&one)).expect("DTMFEnd");
            ami.send(&[
                ("Action", "PlayDTMF"),
                ("Channel", &one),
                ("Digit", "#"),
                ("Duration", "150"),
                ("Receive", "true"),
            ]);
            ami.wait(|m| {
                m.event_name() == Some("DTMFEnd")
                    && m.get("Digit") == Some("#")
                    && m.get("Channel") == Some(one.as_str())
            })
            .expect("DTMFEnd of #");
            ami.send(&[
                ("Action", "PlayDTMF"),
                ("Channel", "Local/nothing@test-gone;1"),
                ("Digit", "1"),
            ]);
            ami.send(&[("Action", "Hangup"), ("Channel", &one)]);
            ami.settle(2);
            logoff(ami);
        },
    });
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

/// The AMI events of a call through a bridge (`DialBegin` / `DialEnd` of
/// the dialplan's `Dial` are not modelled).
const BRIDGE_EVENTS: &[&str] = &[
    "Newchannel",
    "Newstate",
    "Hangup",
    "OriginateResponse",
    "BridgeCreate",
    "BridgeEnter",
    "BridgeLeave",
    "BridgeDestroy",
];

/// Originates `Local/600@test` (its `;2` half dials `Local/610@test`, which
/// answers, and `Local/101@test`, cancelled) into `Wait(300)`, with
/// `__WAITSECS=300` so that the callee waits too; waits until the caller
/// (`;2`) and the callee (`Local/610@test-…;1`) are bridged and the
/// originate answered. The names of both.
fn two_party_bridge(ami: &mut Ami) -> (String, String) {
    admin(ami);
    let id = ami.channel_id(1);
    let r = ami.send(&[
        ("Action", "Originate"),
        ("Channel", "Local/600@test"),
        ("Application", "Wait"),
        ("Data", "300"),
        ("Async", "true"),
        ("ChannelId", id.as_str()),
        ("Variable", "__WAITSECS=300"),
    ]);
    assert!(r.is_some(), "no answer to Originate");
    let entered = |ami: &Ami, prefix: &str| {
        ami.wait_event("BridgeEnter", prefix)
            .and_then(|m| m.get("Channel").map(str::to_owned))
            .expect("BridgeEnter")
    };
    let caller = entered(ami, "Local/600@test-");
    let callee = entered(ami, "Local/610@test-");
    let tag = ami.tag().to_owned();
    assert!(ami
        .wait(|m| m.event_name() == Some("OriginateResponse")
            && m.action_id().is_some_and(|a| a.starts_with(&tag)))
        .is_some());
    (caller, callee)
}

/// The other half's name of a Local channel (`…;1` ↔ `…;2`).
fn twin(name: &str) -> String {
    match name.strip_suffix(";1") {
        Some(base) => format!("{base};2"),
        None => format!("{};1", name.trim_end_matches(";2")),
    }
}

/// The two-party bridge, then the Hangup action on the caller's end (the
/// originated `;1` half) or the callee's (the `;2` half running 610).
fn bridge_hangup(ami: &mut Ami, callee: bool) {
    let (caller_side, callee_side) = two_party_bridge(ami);
    let end = twin(if callee { &callee_side } else { &caller_side });
    ami.send(&[("Action", "Hangup"), ("Channel", &end)]);
    ami.settle(6);
    logoff(ami);
}

#[test]
fn bridge_hangup_caller() {
    check(Scenario {
        name: "bridge_hangup_caller",
        events: BRIDGE_EVENTS,
        script: |ami| bridge_hangup(ami, false),
    });
}

#[test]
fn bridge_hangup_callee() {
    check(Scenario {
        name: "bridge_hangup_callee",
        events: BRIDGE_EVENTS,
        script: |ami| bridge_hangup(ami, true),
    });
}

#[test]
fn queue_agent_answers() {
    check(Scenario {
        name: "queue_agent_answers",
        events: &[
            "Newchannel",
            "Newstate",
            "Hangup",
            "OriginateResponse",
            "BridgeCreate",
            "BridgeEnter",
            "BridgeLeave",
            "BridgeDestroy",
            "QueueCallerJoin",
            "QueueCallerLeave",
            "QueueCallerAbandon",
            "AgentCalled",
            "AgentConnect",
            "AgentComplete",
            "AgentRingNoAnswer",
            "AgentDump",
        ],
        script: |ami| {
            admin(ami);
            // 500 answers and queues its `;2` half in `support`: agent1
            // answers after a second and hangs up 3 s later, agent2 rings.
            let id = ami.channel_id(1);
            ami.send(&[
                ("Action", "Originate"),
                ("Channel", "Local/500@test"),
                ("Application", "Wait"),
                ("Data", "300"),
                ("Async", "true"),
                ("ChannelId", id.as_str()),
            ]);
            let tag = ami.tag().to_owned();
            ami.wait(|m| {
                m.event_name() == Some("OriginateResponse")
                    && m.action_id().is_some_and(|a| a.starts_with(&tag))
            })
            .expect("OriginateResponse");
            ami.settle(6);
            logoff(ami);
        },
    });
}

/// The AMI events of a transfer.
const TRANSFER_EVENTS: &[&str] = &[
    "Newchannel",
    "Newstate",
    "Hangup",
    "OriginateResponse",
    "BridgeCreate",
    "BridgeEnter",
    "BridgeLeave",
    "BridgeDestroy",
    "BridgeMerge",
    "BlindTransfer",
    "AttendedTransfer",
    "MusicOnHoldStart",
    "MusicOnHoldStop",
    "LocalOptimizationBegin",
    "LocalOptimizationEnd",
];

#[test]
fn blind_transfer() {
    check(Scenario {
        name: "blind_transfer",
        events: TRANSFER_EVENTS,
        script: |ami| {
            ami.racing();
            let (caller, callee) = two_party_bridge(ami);
            // The callee sends the caller to 104 (answers, waits 300 s).
            ami.send(&[
                ("Action", "BlindTransfer"),
                ("Channel", &callee),
                ("Exten", "104"),
                ("Context", "test"),
            ]);
            let tag = ami.tag().to_owned();
            ami.wait(|m| {
                m.event_name() == Some("BlindTransfer")
                    && m.get("TransfererLinkedid")
                        .is_some_and(|l| l.starts_with(&tag))
            })
            .expect("BlindTransfer");
            ami.wait_event("Hangup", &twin(&callee))
                .expect("callee gone");
            ami.send(&[("Action", "Hangup"), ("Channel", &twin(&caller))]);
            ami.settle(6);
            logoff(ami);
        },
    });
}

#[test]
fn attended_transfer() {
    check(Scenario {
        name: "attended_transfer",
        events: TRANSFER_EVENTS,
        script: |ami| {
            ami.racing();
            let (caller, callee) = two_party_bridge(ami);
            // The callee consults 104 (answers, waits 300 s), then hangs
            // up: the caller and 104 are left together.
            ami.send(&[
                ("Action", "Atxfer"),
                ("Channel", &callee),
                ("Exten", "104"),
                ("Context", "test"),
            ]);
            ami.wait(|m| {
                m.event_name() == Some("BridgeEnter")
                    && ami.owns(m)
                    && m.get("Channel")
                        .is_some_and(|c| c.starts_with("Local/104@test-"))
            })
            .expect("the target bridged with the transferer");
            ami.send(&[("Action", "Hangup"), ("Channel", &twin(&callee))]);
            let tag = ami.tag().to_owned();
            ami.wait(|m| {
                m.event_name() == Some("AttendedTransfer")
                    && m.iter()
                        .any(|(h, v)| h.ends_with("Linkedid") && v.starts_with(&tag))
            })
            .expect("AttendedTransfer");
            std::thread::sleep(std::time::Duration::from_secs(1));
            ami.send(&[("Action", "Hangup"), ("Channel", &twin(&caller))]);
            ami.settle(8);
            logoff(ami);
        },
    });
}

/// An AGI call's sides: the scenario's listener and the run's ids.
struct AgiRun {
    listener: TcpListener,
    port: u16,
    tag: String,
    /// The ChannelId of the originated Local channel.
    id: String,
}

impl AgiRun {
    fn new() -> AgiRun {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local address").port();
        let tag = new_tag();
        let id = format!("{tag}-1");
        AgiRun {
            listener,
            port,
            tag,
            id,
        }
    }

    /// Originates `Local/EXTEN@test` into `Wait(5)` on the live Asterisk
    /// with the channel variables `vars`; the thread that waits for its
    /// end.
    fn live_call(&self, host: &str, exten: &str, vars: &[String]) -> std::thread::JoinHandle<()> {
        let mut ami = Ami::connect(&format!("{host}:5038"), &self.tag);
        admin(&mut ami);
        let channel = format!("Local/{exten}@test");
        let mut h = vec![
            ("Action", "Originate"),
            ("Channel", channel.as_str()),
            ("Application", "Wait"),
            ("Data", "5"),
            ("Async", "true"),
            ("ChannelId", self.id.as_str()),
        ];
        h.extend(vars.iter().map(|v| ("Variable", v.as_str())));
        ami.send(&h);
        std::thread::spawn(move || {
            ami.settle(2);
            logoff(&mut ami);
        })
    }

    /// `client` set up as the `;2` half of an originated
    /// `Local/EXTEN@test` (no caller id; no sound files on the test
    /// instance), calling the scenario.
    fn emulated_call(&self, client: FastAgiClient, exten: &str) -> std::thread::JoinHandle<()> {
        let client = client
            .env("agi_channel", &format!("Local/{exten}@test-00000001;2"))
            .env("agi_type", "Local")
            .env("agi_uniqueid", &format!("{};2", self.id))
            .env("agi_callerid", "unknown")
            .env("agi_calleridname", "unknown")
            .env("agi_callingpres", "67")
            .sounds(Vec::<String>::new());
        let addr = self.listener.local_addr().expect("local address");
        std::thread::spawn(move || {
            client.run(addr).expect("the emulated call");
        })
    }

    /// Takes the call, runs `script`, waits for `driver`; the transcript.
    fn finish(self, driver: std::thread::JoinHandle<()>, script: fn(&mut AgiCall)) -> String {
        let mut call = AgiCall::accept(&self.listener);
        call.environment();
        script(&mut call);
        let lines = call.close();
        driver.join().expect("the call's driver");
        let mut t = AgiCall::transcript(&lines, self.port, &self.tag).join("\n");
        t.push('\n');
        t
    }
}

/// A FastAGI call of the test dialplan's `200`
/// (`AGI(agi://HOST:PORT/demo?name=World,a,b)` on the `;2` half of
/// `Local/200@test`), driven by `script`; its transcript as text. On the
/// live Asterisk an Originate makes the call (`FASTAGI_PORT` pointing
/// here); on the emulator a [`FastAgiClient`] set up as that channel.
fn run_fastagi(live: Option<&str>, script: fn(&mut AgiCall)) -> String {
    let run = AgiRun::new();
    let driver = match live {
        Some(host) => run.live_call(host, "200", &[format!("FASTAGI_PORT={}", run.port)]),
        None => {
            let client = FastAgiClient::new()
                .script("demo?name=World")
                .env(
                    "agi_request",
                    &format!("agi://127.0.0.1:{}/demo?name=World", run.port),
                )
                .arg("a")
                .arg("b")
                .variable("ASTRIX_TAG", "fastagi-200");
            run.emulated_call(client, "200")
        }
    };
    run.finish(driver, script)
}

/// A classic AGI call of the test dialplan's `800`
/// (`AGI(${AGISCRIPT},one,two)` on the `;2` half of `Local/800@test`,
/// `AGISIGHUP=no`), driven by `script`; its transcript as text. On the
/// live Asterisk the AGI script is a few lines of bash that relay its
/// stdin and stdout to the scenario over TCP; on the emulator a
/// [`FastAgiClient`] in classic mode, set up as that channel, does the
/// same over the socket.
fn run_classic_agi(live: Option<&str>, script: fn(&mut AgiCall)) -> String {
    let run = AgiRun::new();
    let path = std::env::temp_dir().join(format!("{}.sh", run.tag));
    let path_s = path.display().to_string();
    let driver = match live {
        Some(host) => {
            // The script's stdout is held only by the copy from the
            // socket: when the scenario closes the socket, Asterisk sees
            // the script end and closes its stdin, which ends the other
            // copy (its stdin named: a background job's is /dev/null).
            let relay = format!(
                "#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/{}\ncat <&0 >&3 &\nexec cat <&3\n",
                run.port
            );
            std::fs::write(&path, relay).expect("write the AGI script");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .expect("make the AGI script executable");
            }
            let vars = [
                format!("AGISCRIPT={path_s}"),
                "AGIARG1=one".into(),
                "AGIARG2=two".into(),
                "AGISIGHUP=no".into(),
            ];
            run.live_call(host, "800", &vars)
        }
        None => {
            let client = FastAgiClient::new()
                .classic(&path_s)
                .env("agi_extension", "800")
                .env("agi_priority", "2")
                .arg("one")
                .arg("two")
                .variable("AGISIGHUP", "no");
            run.emulated_call(client, "800")
        }
    };
    let t = run.finish(driver, script);
    let _ = std::fs::remove_file(&path);
    t
}

/// Checks a FastAGI scenario.
fn check_fastagi(name: &str, script: fn(&mut AgiCall)) {
    compare(
        name,
        |host| run_fastagi(Some(host), script),
        || run_fastagi(None, script),
    );
}

#[test]
fn fastagi_replies_and_hangup() {
    check_fastagi("fastagi_replies_and_hangup", |agi| {
        agi.command("ANSWER");
        agi.command("GET VARIABLE ASTRIX_TAG");
        // No sound files on the test instance: every sound is missing.
        agi.command("STREAM FILE no-such-sound \"\"");
        agi.command("NO SUCH COMMAND");
        agi.command("DATABASE GET");
        agi.command("HANGUP");
        assert!(agi.hangup_line(), "no HANGUP line after HANGUP");
        agi.command("ANSWER");
        agi.command("GET VARIABLE ASTRIX_TAG");
    });
}

#[test]
fn async_agi_command_and_break() {
    check(Scenario {
        name: "async_agi_command_and_break",
        events: &[
            "Newchannel",
            "Newstate",
            "Hangup",
            "OriginateResponse",
            "AsyncAGIStart",
            "AsyncAGIExec",
            "AsyncAGIEnd",
        ],
        script: |ami| {
            admin(ami);
            // Its ;2 half runs AGI(agi:async), never answered.
            let id = ami.channel_id(1);
            ami.send(&[
                ("Action", "Originate"),
                ("Channel", "Local/300@test"),
                ("Application", "Wait"),
                ("Data", "5"),
                ("Async", "true"),
                ("ChannelId", &id),
            ]);
            let start = ami
                .wait_event("AsyncAGIStart", "Local/300@test-")
                .expect("AsyncAGIStart");
            let ch = start.get("Channel").unwrap_or("").to_owned();
            ami.send(&[
                ("Action", "AGI"),
                ("Channel", &ch),
                ("Command", "GET VARIABLE ASTRIX_TAG"),
                ("CommandID", "c1"),
            ]);
            ami.wait_event("AsyncAGIExec", &ch).expect("AsyncAGIExec");
            ami.send(&[
                ("Action", "AGI"),
                ("Channel", &ch),
                ("Command", "ASYNCAGI BREAK"),
                ("CommandID", "c2"),
            ]);
            ami.wait_event("AsyncAGIEnd", &ch).expect("AsyncAGIEnd");
            let tag = ami.tag().to_owned();
            ami.wait(|m| {
                m.event_name() == Some("OriginateResponse")
                    && m.action_id().is_some_and(|a| a.starts_with(&tag))
            })
            .expect("OriginateResponse");
            ami.settle(2);
            logoff(ami);
        },
    });
}

/// A channel of the scenario's own ARI application: originated into it
/// (`Local/104@test`, whose `;2` half answers), answered, a missing sound
/// played, put in a bridge, hung up; its transcript as text.
#[cfg(feature = "ari")]
fn run_ari(addr: &str) -> String {
    let tag = new_tag();
    let mut ari = ari::Ari::connect(addr, &tag);
    let app = ari.app().to_owned();
    let ch = format!("{tag}-1");
    ari.request(
        "POST",
        &format!(
            "/channels?endpoint=Local/104@test&app={app}&channelId={ch}&otherChannelId={tag}-2"
        ),
    );
    ari.wait("StasisStart").expect("StasisStart");
    ari.request("POST", &format!("/channels/{ch}/answer"));
    ari.request(
        "POST",
        &format!("/channels/{ch}/play/{tag}-p?media=sound:no-such-sound"),
    );
    ari.wait("PlaybackFinished").expect("PlaybackFinished");
    ari.request("POST", &format!("/bridges/{tag}-b?type=mixing"));
    ari.request("POST", &format!("/bridges/{tag}-b/addChannel?channel={ch}"));
    ari.wait("ChannelEnteredBridge")
        .expect("ChannelEnteredBridge");
    ari.request("DELETE", &format!("/channels/{ch}"));
    ari.wait("StasisEnd").expect("StasisEnd");
    ari.request("DELETE", &format!("/bridges/{tag}-b"));
    let mut t = ari.transcript().join("\n");
    t.push('\n');
    t
}

#[cfg(feature = "ari")]
#[test]
fn ari_answer_play_bridge_hangup() {
    let server = astrix::testing::AriServer::builder()
        // The test instance has no sound files.
        .sounds(&[])
        .start()
        .expect("start the ARI emulator");
    compare(
        "ari_answer_play_bridge_hangup",
        |host| run_ari(&format!("{host}:8088")),
        || run_ari(&server.addr()),
    );
}

#[test]
fn classic_agi_hangup() {
    let script: fn(&mut AgiCall) = |agi| {
        agi.command("ANSWER");
        agi.command("STREAM FILE no-such-sound \"\"");
        agi.command("HANGUP");
        // No HANGUP line for a classic script (and no SIGHUP here).
        agi.command("ANSWER");
        agi.command("GET VARIABLE AGISIGHUP");
    };
    compare(
        "classic_agi_hangup",
        |host| run_classic_agi(Some(host), script),
        || run_classic_agi(None, script),
    );
}
