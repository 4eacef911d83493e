//! The examples as a user runs them: `--help` on stdout with exit 0, an
//! unknown flag on stderr with exit 2, and a normal run against the
//! built-in emulators (loopback only).
//!
//! `cargo test` builds the examples before it runs any test, into
//! `target/<profile>/examples/`, next to this test's `deps/` folder. When a
//! test target is built alone (`cargo test --test examples_cli`) they may
//! be missing: the tests that run them then say so on stderr and pass; the
//! shared argument parser (examples/common/cli.rs, whose own tests run
//! here) is checked either way.

#[allow(dead_code)]
#[path = "../examples/common/cli.rs"]
mod cli;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use astrix::ami::Message;
use astrix::testing::{AmiServer, FastAgiClient};

/// The examples that every build has.
const EXAMPLES: &[&str] = &[
    "agi_script",
    "ami_action",
    "ami_tail",
    "ami_own_loop",
    "live_calls",
    "async_agi",
    "bench_ami_actions",
    "bench_ami_events",
    "bench_fastagi",
    "conf_dump",
    "fastagi_server",
    "obelus_calls",
    "originate",
    "pyst_manager",
    "pystrix_ami",
    "pystrix_fastagi",
    "quickstart",
    "soak",
];

/// How long an example may take before it is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(120);

/// The built example, or `None` (with a note) when it was not built.
fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/examples_cli-HASH -> target/<profile>/examples/
    let dir = exe.parent()?.parent()?.join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is not built (`cargo test` builds the examples; \
             or run `cargo build --examples --all-features`)",
            path.display()
        );
        None
    }
}

/// What a finished example left.
#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A running example whose stdout and stderr are being collected.
struct Running {
    name: String,
    child: Child,
    stdout: JoinHandle<String>,
    stderr: Option<JoinHandle<String>>,
}

fn collect(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = r.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Starts example `name` (None when it is not built), its stdout being
/// collected, and its stderr too unless `own_stderr` (then the caller
/// reads `child.stderr`).
fn start(name: &str, args: &[&str], own_stderr: bool) -> Option<Running> {
    let path = example(name)?;
    let mut child = Command::new(path)
        .args(args)
        .env("ASTRIX_LOG", "info")
        .env_remove("ASTRIX_AMI_SECRET")
        .env_remove("ASTRIX_ARI_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = if own_stderr {
        None
    } else {
        child.stderr.take().map(collect)
    };
    Some(Running {
        name: name.to_owned(),
        child,
        stdout,
        stderr,
    })
}

impl Running {
    /// Waits for the end (killing the example after [`DEADLINE`]).
    fn finish(mut self) -> Output {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if started.elapsed() > DEADLINE {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} still running after {DEADLINE:?}", self.name);
            }
            thread::sleep(Duration::from_millis(20));
        };
        Output {
            code: status.code(),
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self
                .stderr
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
        }
    }
}

/// Runs example `name` to its end (None when it is not built).
fn run(name: &str, args: &[&str]) -> Option<Output> {
    Some(start(name, args, false)?.finish())
}

/// Every example of this build.
fn examples() -> Vec<&'static str> {
    let mut all = EXAMPLES.to_vec();
    if cfg!(feature = "ari") {
        all.push("ari_hello");
        all.push("ari_dtmf");
    }
    all
}

/// A person's text: no Debug of an `Option`.
fn assert_readable(text: &str) {
    assert!(
        !text.contains("Some(") && !text.contains("None"),
        "Debug output in {text}"
    );
}

#[test]
fn help_goes_to_stdout_with_exit_0() {
    for name in examples() {
        let Some(out) = run(name, &["--help"]) else {
            continue;
        };
        assert_eq!(out.code, Some(0), "{name} --help: {out:#?}");
        assert!(
            out.stdout.starts_with(&format!("usage: {name}")),
            "{name} --help: {out:#?}"
        );
        assert!(out.stdout.contains("exit status"), "{name}: {out:#?}");
        assert_eq!(out.stderr, "", "{name} --help");
        let short = run(name, &["-h"]).expect("built");
        assert_eq!((short.code, short.stdout), (Some(0), out.stdout));
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error_on_stderr_with_exit_2() {
    for name in examples() {
        let Some(out) = run(name, &["--bogus"]) else {
            continue;
        };
        assert_eq!(out.code, Some(2), "{name} --bogus: {out:#?}");
        assert_eq!(out.stdout, "", "{name} --bogus");
        assert!(
            out.stderr
                .starts_with(&format!("{name}: unknown option --bogus\nusage: {name}")),
            "{name} --bogus: {out:#?}"
        );
        assert!(out.stderr.contains(&format!("'{name} --help'")));
    }
}

#[test]
fn missing_and_bad_values_are_usage_errors() {
    for (name, args, message) in [
        ("ami_action", &[][..], "missing ACTION"),
        ("ami_action", &["Ping", "Foo"], "expected Key=Value"),
        (
            "ami_tail",
            &["--count", "many"],
            "--count \"many\": not a valid number",
        ),
        ("ami_tail", &["--count"], "--count needs a value"),
        ("ami_tail", &["--tls=yes"], "--tls takes no value"),
        ("originate", &["--exten", "100"], "--channel is required"),
        ("conf_dump", &[], "missing PATH"),
        ("bench_ami_events", &[], "--port P is required"),
        ("bench_fastagi", &["--port", "70000"], "--port \"70000\""),
        ("soak", &["stray"], "unexpected argument \"stray\""),
    ] {
        let Some(out) = run(name, args) else {
            continue;
        };
        assert_eq!(out.code, Some(2), "{name} {args:?}: {out:#?}");
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr.starts_with(&format!("{name}: {message}")),
            "{name} {args:?}: {out:#?}"
        );
    }
}

#[test]
fn quickstart_prints_values_as_text() {
    let Some(out) = run("quickstart", &[]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_readable(&out.stdout);
    assert!(out
        .stdout
        .contains("Ping -> Pong (server clock: Unix time "));
    assert!(out.stdout.contains(", reason 4 (answered)"), "{out:#?}");
    assert!(out.stdout.ends_with("logged off\n"), "{out:#?}");
}

#[test]
fn ami_action_exit_codes() {
    let Some(ok) = run("ami_action", &["Ping"]) else {
        return;
    };
    assert_eq!(ok.code, Some(0), "{ok:#?}");
    assert!(ok.stdout.starts_with("Response: Success\n"), "{ok:#?}");
    assert!(ok.stdout.ends_with("\n\n"));

    let error = run("ami_action", &["NoSuchAction"]).expect("built");
    assert_eq!(error.code, Some(1), "{error:#?}");
    assert!(error.stdout.starts_with("Response: Error\n"), "{error:#?}");

    // Nothing listens on a port that was just closed.
    let port = closed_port();
    let addr = format!("127.0.0.1:{port}");
    let refused = run("ami_action", &["--addr", &addr, "Ping"]).expect("built");
    assert_eq!(refused.code, Some(3), "{refused:#?}");
    assert_eq!(refused.stdout, "");
    assert!(refused.stderr.starts_with("ami_action: cannot connect"));
}

#[test]
fn ami_own_loop_drives_the_connection_against_the_emulator() {
    let Some(out) = run("ami_own_loop", &[]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    for line in [
        "connected: AMI ",
        "logged in as admin",
        "ping: Pong",
        "channels up",
    ] {
        assert!(out.stdout.contains(line), "{line:?} missing: {out:#?}");
    }
}

#[test]
fn live_calls_shows_the_emulator_calls() {
    let Some(out) = run("live_calls", &["--seconds", "2", "--every-ms", "100"]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    for line in ["channels", "Local/100@test-", "queue support: "] {
        assert!(out.stdout.contains(line), "{line:?} missing: {out:#?}");
    }
}

#[test]
fn ami_tail_stops_after_count() {
    let Some(out) = run("ami_tail", &["--count", "3"]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout.matches("Event: ").count(), 3, "{out:#?}");
}

#[test]
fn originate_exit_status_says_whether_the_call_was_answered() {
    let args = [
        "--channel",
        "Local/100@test",
        "--exten",
        "100",
        "--context",
        "test",
    ];
    let Some(out) = run("originate", &args) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_readable(&out.stdout);
    assert!(
        out.stdout
            .contains("answered: yes, cause: 0 (Unknown), originate reason: 4 (answered)"),
        "{out:#?}"
    );
    let busy = [
        "--channel",
        "Local/busy@test",
        "--exten",
        "busy",
        "--context",
        "test",
    ];
    let out = run("originate", &busy).expect("built");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stdout.contains("answered: no"), "{out:#?}");
}

#[test]
fn async_agi_serves_the_emulator_calls() {
    let Some(out) = run("async_agi", &["--calls", "2"]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    // The example's own log lines (the library's have their own target).
    let own: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("] async_agi: "))
        .collect();
    assert_readable(&own.join("\n"));
    assert!(out.stderr.contains("served 2 calls"), "{out:#?}");
}

#[cfg(feature = "ari")]
#[test]
fn ari_hello_handles_the_emulator_calls() {
    let Some(out) = run("ari_hello", &["--calls", "2"]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_readable(&out.stdout);
    assert_eq!(out.stdout.matches("left the application").count(), 2);
    assert!(out.stdout.ends_with("done\n"), "{out:#?}");
}

#[cfg(feature = "ari")]
#[test]
fn ari_dtmf_reads_digits_back_and_leaves_at_hash() {
    let Some(out) = run("ari_dtmf", &["--digits", "12*#"]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_readable(&out.stdout);
    for key in ["1", "2", "*", "#"] {
        assert!(out.stdout.contains(&format!(": key {key}\n")), "{out:#?}");
    }
    assert!(
        out.stdout
            .contains("goodbye done, continuing in the dialplan"),
        "{out:#?}"
    );
    assert!(out.stdout.contains("left the application"), "{out:#?}");
    assert!(out.stdout.ends_with("done\n"), "{out:#?}");
    assert_eq!(out.stderr, "", "{out:#?}");
    let out = run("ari_dtmf", &["--digits", "1x"]).expect("built");
    assert_eq!(out.code, Some(2), "{out:#?}");
}

#[test]
fn conf_dump_prints_the_file_or_fails_with_1() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/config/main.conf");
    let Some(out) = run("conf_dump", &[path]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.starts_with("[general]\n"), "{out:#?}");
    let missing = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/config/no-such.conf"
    );
    let out = run("conf_dump", &[missing]).expect("built");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("no-such.conf"), "{out:#?}");
    // After `--`, `--help` is a file name.
    let out = run("conf_dump", &["--", "--help"]).expect("built");
    assert_eq!(out.code, Some(1), "{out:#?}");
}

#[test]
fn agi_script_runs_the_demo_over_stdio() {
    let Some(path) = example("agi_script") else {
        return;
    };
    let (transcript, status) = FastAgiClient::new()
        .classic("/usr/local/bin/agi_script")
        .arg("a")
        .timeout(DEADLINE)
        .run_child(Command::new(path).arg("a"))
        .expect("the AGI emulator");
    assert!(status.success(), "{status:?}");
    assert_eq!(
        transcript.variables.get("ASTRIX_ARGS").map(String::as_str),
        Some("a")
    );
}

#[test]
fn fastagi_server_serves_one_call() {
    let Some(mut running) = start(
        "fastagi_server",
        &["--bind", "127.0.0.1:0", "--calls", "1"],
        true,
    ) else {
        return;
    };
    // The address is in the log line "FastAGI demo listening on ADDR".
    let stderr = running.child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr: SocketAddr = loop {
        let line = lines
            .next()
            .expect("fastagi_server logs its address")
            .expect("stderr");
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr.trim().parse().expect("an address");
        }
    };
    let rest = thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let transcript = FastAgiClient::new()
        .script("demo?name=World")
        .run(addr)
        .expect("a FastAGI call");
    assert_eq!(
        transcript.variables.get("ASTRIX_NAME").map(String::as_str),
        Some("World")
    );
    let out = running.finish();
    assert_eq!(out.code, Some(0), "{out:#?}");
    let log = rest.join().unwrap_or_default().join("\n");
    assert!(log.contains("served 1 calls"), "{log}");
}

#[test]
fn soak_prints_its_csv_header() {
    let Some(out) = run("soak", &["--minutes", "0"]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.starts_with("minute,rss_kb,threads,"), "{out:#?}");
}

/// A loopback port that nothing listens on (just closed).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a port");
    l.local_addr().expect("its address").port()
}

/// The one JSON line of a bench example, checked for its keys.
fn assert_json_line(out: &Output, keys: &[&str]) {
    assert_eq!(out.code, Some(0), "{out:#?}");
    let line = out.stdout.strip_suffix('\n').expect("one line");
    assert!(!line.contains('\n'), "{out:#?}");
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    for key in keys {
        assert!(line.contains(&format!("\"{key}\":")), "{key} in {line}");
    }
}

#[test]
fn bench_ami_actions_prints_one_json_line() {
    let server = AmiServer::builder()
        .credentials("bench", "bench")
        .start()
        .expect("emulator");
    let port = server.socket_addr().port().to_string();
    let args = ["--port", &port, "--threads", "2", "--actions", "1_00"];
    let Some(out) = run("bench_ami_actions", &args) else {
        return;
    };
    assert_json_line(&out, &["actions", "secs", "actions_per_s"]);
    assert!(out.stdout.starts_with("{\"actions\":100,"), "{out:#?}");
}

#[test]
fn bench_ami_events_prints_one_json_line() {
    let server = AmiServer::builder()
        .credentials("bench", "bench")
        .start()
        .expect("emulator");
    let port = server.socket_addr().port().to_string();
    let Some(running) = start("bench_ami_events", &["--port", &port], false) else {
        return;
    };
    // Events reach a connection once its login is through: send some, then
    // BenchDone, until the example has what it waits for.
    let done = AtomicBool::new(false);
    let out = thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                for i in 0..10 {
                    server.push_event(
                        Message::new()
                            .with("Event", "UserEvent")
                            .with("N", &i.to_string()),
                    );
                }
                server.push_event(Message::new().with("Event", "BenchDone"));
                thread::sleep(Duration::from_millis(50));
            }
        });
        let out = running.finish();
        done.store(true, Ordering::Relaxed);
        out
    });
    assert_json_line(&out, &["events", "secs", "events_per_s"]);
}

#[test]
fn bench_fastagi_prints_one_json_line() {
    let port = closed_port();
    let args = ["--port", &port.to_string(), "--sessions", "2"].map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(running) = start("bench_fastagi", &args, false) else {
        return;
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let mut served = 0;
    while served < 2 {
        match FastAgiClient::new().script("bench/path").run(addr) {
            Ok(_) => served += 1,
            // Not listening yet.
            Err(_) if started.elapsed() < DEADLINE => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("bench_fastagi does not answer: {e}"),
        }
    }
    let out = running.finish();
    assert_json_line(&out, &["sessions", "secs"]);
    assert!(out.stdout.starts_with("{\"sessions\":2,"), "{out:#?}");
}

#[test]
fn ami_tail_prints_an_empty_header_as_it_came() {
    let server = AmiServer::builder().fully_booted(false).start().unwrap();
    let addr = server.addr();
    let Some(running) = start("ami_tail", &["--addr", &addr, "--count", "1"], false) else {
        return;
    };
    // Once ami_tail is logged in, an Asterisk 11 event with an empty header.
    assert!(
        server
            .wait_for_action("Login", Duration::from_secs(30))
            .is_some(),
        "ami_tail never logged in"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = None;
    // The event may come before the example listens for events: repeat it.
    let mut running = Some(running);
    while Instant::now() < deadline {
        server.send_raw(b"Event: Newchannel\r\nChannel: SIP/100-00000001\r\nAccountCode:\r\nUniqueid: 1.1\r\n\r\n");
        thread::sleep(Duration::from_millis(100));
        if let Some(r) = running.as_mut() {
            if r.child.try_wait().unwrap().is_some() {
                out = running.take().map(Running::finish);
                break;
            }
        }
    }
    let out = out.unwrap_or_else(|| running.take().unwrap().finish());
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout, "Event: Newchannel\nChannel: SIP/100-00000001\nAccountCode:\nUniqueid: 1.1\n\n",
        "{out:#?}"
    );
}

#[test]
fn conf_dump_reads_a_latin1_sample() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/minivm.conf.sample");
    let Some(out) = run("conf_dump", &[path]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.stdout
            .contains("subject = Du har f\u{e5}tt r\u{f6}stmeddelande (se bilaga)\n"),
        "{out:#?}"
    );
}

#[test]
fn pystrix_ami_runs_until_the_emulator_shuts_down() {
    let Some(out) = run("pystrix_ami", &[]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_readable(&out.stdout);
    for line in [
        "Logged in with an MD5 challenge",
        "Received string event: FullyBooted",
        "Received class event: FullyBooted",
        "Received event: FullyBooted",
        "Asterisk is shutting down",
    ] {
        assert!(out.stdout.contains(line), "{line}: {out:#?}");
    }
    // A refused MD5 login is a connection failure.
    let out = run("pystrix_ami", &["--addr", "127.0.0.1:1"]).expect("built above");
    assert_eq!(out.code, Some(3), "{out:#?}");
}

#[test]
fn pystrix_fastagi_routes_by_regex_and_default() {
    let Some(out) = run("pystrix_fastagi", &[]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.stdout
            .contains(r#""notdemo/x" goes to the default handler"#),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains(r#"kwargs {"name": ["World"]}"#),
        "{out:#?}"
    );
    assert!(out.stdout.contains("served 2 calls"), "{out:#?}");
    // A bind failure names the address.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = run("pystrix_fastagi", &["--bind", &addr]).expect("built above");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains(&addr), "{out:#?}");
}

#[test]
fn pyst_manager_prints_command_output_and_the_config() {
    let Some(out) = run("pyst_manager", &[]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.contains("> core show version"), "{out:#?}");
    assert!(
        out.stdout.contains("[admin]\n  secret = wordpass"),
        "{out:#?}"
    );
    // A missing file: no line 0 in the message.
    let out = run(
        "pyst_manager",
        &["--config", "/nonexistent/astrix/missing.conf"],
    )
    .expect("built above");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr
            .contains("/nonexistent/astrix/missing.conf: cannot read file"),
        "{out:#?}"
    );
}

#[test]
fn obelus_calls_reports_the_call_and_serves_async_agi() {
    let Some(out) = run("obelus_calls", &[]) else {
        return;
    };
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_readable(&out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let pos = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}: {out:#?}"))
    };
    assert!(pos("call_queued") < pos("call_state_changed: Answered"));
    assert!(pos("dialing_started") < pos("dialing_finished: ANSWER"));
    assert!(pos("call_state_changed: Answered") < pos("call_ended"));
    assert!(
        out.stdout.contains("AsyncAGI sessions served: 1"),
        "{out:#?}"
    );
}
