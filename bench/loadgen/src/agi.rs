//! FastAGI caller side: plays Asterisk connecting to a FastAGI server under test.

use crate::util::{lock, pct, Args, Json};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Environment block as res_agi.c's setup_env() writes it for a FastAGI call.
fn environment(target: &SocketAddr, script: &str, session: u64) -> Vec<u8> {
    let ext = 1000 + (session % 1000);
    let mut s = String::with_capacity(900);
    use std::fmt::Write as _;
    let _ = write!(
        s,
        "agi_network: yes\n\
agi_network_script: {script}\n\
agi_request: agi://{ip}:{port}/{script}\n\
agi_channel: PJSIP/{ext}-{session:08x}\n\
agi_language: en\n\
agi_type: PJSIP\n\
agi_uniqueid: 1700000000.{session}\n\
agi_version: 22.1.0\n\
agi_callerid: {ext}\n\
agi_calleridname: Bench Caller {ext}\n\
agi_callingpres: 0\n\
agi_callingani2: 0\n\
agi_callington: 0\n\
agi_callingtns: 0\n\
agi_dnid: 500\n\
agi_rdnis: unknown\n\
agi_context: from-internal\n\
agi_extension: 500\n\
agi_priority: 2\n\
agi_enhanced: 0.0\n\
agi_accountcode: \n\
agi_threadid: 140536362383104\n\
agi_arg_1: hello\n\
agi_arg_2: world\n\
\n",
        ip = target.ip(),
        port = target.port(),
    );
    s.into_bytes()
}

const KNOWN: &[&str] = &[
    "ANSWER",
    "ASYNCAGI BREAK",
    "CHANNEL STATUS",
    "CONTROL STREAM FILE",
    "DATABASE DEL",
    "DATABASE DELTREE",
    "DATABASE GET",
    "DATABASE PUT",
    "EXEC",
    "GET DATA",
    "GET FULL VARIABLE",
    "GET OPTION",
    "GET VARIABLE",
    "GOSUB",
    "HANGUP",
    "NOOP",
    "RECEIVE CHAR",
    "RECEIVE TEXT",
    "RECORD FILE",
    "SAY ALPHA",
    "SAY DATE",
    "SAY DATETIME",
    "SAY DIGITS",
    "SAY NUMBER",
    "SAY PHONETIC",
    "SAY TIME",
    "SEND IMAGE",
    "SEND TEXT",
    "SET AUTOHANGUP",
    "SET CALLERID",
    "SET CONTEXT",
    "SET EXTENSION",
    "SET MUSIC",
    "SET PRIORITY",
    "SET VARIABLE",
    "SPEECH ACTIVATE GRAMMAR",
    "SPEECH CREATE",
    "SPEECH DEACTIVATE GRAMMAR",
    "SPEECH DESTROY",
    "SPEECH LOAD GRAMMAR",
    "SPEECH RECOGNIZE",
    "SPEECH SET",
    "SPEECH UNLOAD GRAMMAR",
    "STREAM FILE",
    "TDD MODE",
    "VERBOSE",
    "WAIT FOR DIGIT",
];

/// The one-line reply Asterisk would give (result values made up but well-formed).
pub fn agi_reply(cmd: &str) -> &'static [u8] {
    let words: Vec<String> = cmd
        .split_ascii_whitespace()
        .take(3)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let joined = words.join(" ");
    let mut best: Option<&str> = None;
    for k in KNOWN {
        let hit = joined == *k
            || (joined.starts_with(k) && joined.as_bytes().get(k.len()) == Some(&b' '));
        if hit && best.map(|b| k.len() > b.len()).unwrap_or(true) {
            best = Some(k);
        }
    }
    match best {
        None => b"510 Invalid or unknown command\n",
        Some("ANSWER")
        | Some("NOOP")
        | Some("EXEC")
        | Some("WAIT FOR DIGIT")
        | Some("SET CONTEXT")
        | Some("SET EXTENSION")
        | Some("SET PRIORITY")
        | Some("SET AUTOHANGUP")
        | Some("SET MUSIC") => b"200 result=0\n",
        Some(k) if k.starts_with("SAY ") => b"200 result=0\n",
        Some("CHANNEL STATUS") => b"200 result=6\n",
        Some("GET DATA") => b"200 result=1234\n",
        Some("STREAM FILE") | Some("CONTROL STREAM FILE") | Some("GET OPTION") => {
            b"200 result=0 endpos=12345\n"
        }
        Some("RECORD FILE") => b"200 result=0 (timeout) endpos=8000\n",
        Some("VERBOSE")
        | Some("HANGUP")
        | Some("SET VARIABLE")
        | Some("SET CALLERID")
        | Some("DATABASE PUT")
        | Some("DATABASE DEL")
        | Some("DATABASE DELTREE") => b"200 result=1\n",
        Some(_) => b"200 result=1 (value)\n",
    }
}

#[derive(Default)]
struct Tally {
    cmd_lat_ns: Vec<u64>,
    setup_ns: Vec<u64>,
    session_ns: Vec<u64>,
    /// First and last command line received (any session).
    first_cmd: Option<Instant>,
    last_cmd: Option<Instant>,
    ok: u64,
    failed: u64,
    mismatched: u64,
    commands: u64,
    unknown_replies: u64,
    first_error: Option<String>,
}

impl Tally {
    /// Adds another thread's tally to this one.
    fn merge(&mut self, mut t: Tally) {
        self.cmd_lat_ns.extend_from_slice(&t.cmd_lat_ns);
        self.setup_ns.extend_from_slice(&t.setup_ns);
        self.session_ns.extend_from_slice(&t.session_ns);
        self.first_cmd = match (self.first_cmd, t.first_cmd) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_cmd = self.last_cmd.max(t.last_cmd);
        self.ok += t.ok;
        self.failed += t.failed;
        self.mismatched += t.mismatched;
        self.commands += t.commands;
        self.unknown_replies += t.unknown_replies;
        if self.first_error.is_none() {
            self.first_error = t.first_error.take();
        }
    }
}

/// Plays one call; `k`: the expected command count (`None`: any).
fn one_session(
    target: &SocketAddr,
    script: &str,
    idx: u64,
    k: Option<u64>,
    timeout: Duration,
    t: &mut Tally,
) -> Result<u64, String> {
    let start = Instant::now();
    let sock = TcpStream::connect_timeout(target, timeout).map_err(|e| format!("connect: {e}"))?;
    let _ = sock.set_nodelay(true);
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut w = sock.try_clone().map_err(|e| e.to_string())?;
    let mut r = BufReader::with_capacity(8192, sock);
    w.write_all(&environment(target, script, idx))
        .map_err(|e| format!("write env: {e}"))?;
    let mut sent = Instant::now();
    let mut line = Vec::with_capacity(256);
    let mut n = 0u64;
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(format!("read after {n} commands: {e}")),
        }
        if line.last() != Some(&b'\n') {
            break; // partial line then EOF
        }
        let now = Instant::now();
        if n == 0 {
            t.setup_ns.push(now.duration_since(start).as_nanos() as u64);
            t.first_cmd = Some(t.first_cmd.map_or(now, |f| f.min(now)));
        } else {
            t.cmd_lat_ns
                .push(now.duration_since(sent).as_nanos() as u64);
        }
        t.last_cmd = t.last_cmd.max(Some(now));
        let cmd = String::from_utf8_lossy(&line);
        let reply = agi_reply(cmd.trim_end());
        if reply[0] == b'5' {
            t.unknown_replies += 1;
        }
        if w.write_all(reply).is_err() {
            n += 1;
            break;
        }
        sent = Instant::now();
        n += 1;
    }
    t.session_ns.push(start.elapsed().as_nanos() as u64);
    if k.is_some_and(|k| n != k) {
        t.mismatched += 1;
    }
    Ok(n)
}

/// The target address: loopback only.
fn target(args: &Args) -> Result<SocketAddr, String> {
    let target_s = args.str_or("target", "127.0.0.1:4573");
    let target = target_s
        .to_socket_addrs()
        .map_err(|e| format!("--target {target_s}: {e}"))?
        .next()
        .ok_or("--target resolves to nothing")?;
    if !target.ip().is_loopback() {
        return Err(format!("--target must be a loopback address, got {target}"));
    }
    Ok(target)
}

/// How the sessions are played.
struct Plan {
    target: SocketAddr,
    script: String,
    timeout: Duration,
    sessions: u64,
    /// Threads, each playing sessions one after another.
    threads: u64,
    /// The expected command count per session (`None`: any).
    commands: Option<u64>,
    /// Stack size of the threads (`None`: std's default).
    stack: Option<usize>,
}

/// Plays the plan's sessions; the merged tally and the seconds it took.
fn play(plan: Plan) -> Result<(Tally, f64), String> {
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicU64::new(0));
    let all = Arc::new(Mutex::new(Tally::default()));
    let t0 = Instant::now();
    let mut hs = Vec::new();
    for _ in 0..plan.threads.max(1) {
        let (plan, next, all) = (plan.clone(), next.clone(), all.clone());
        let mut b = thread::Builder::new();
        if let Some(size) = plan.stack {
            b = b.stack_size(size);
        }
        let spawned = b.spawn(move || {
            let mut t = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.sessions {
                    break;
                }
                match one_session(
                    &plan.target,
                    &plan.script,
                    i,
                    plan.commands,
                    plan.timeout,
                    &mut t,
                ) {
                    Ok(n) => {
                        t.ok += 1;
                        t.commands += n;
                    }
                    Err(e) => {
                        t.failed += 1;
                        if t.first_error.is_none() {
                            t.first_error = Some(e);
                        }
                    }
                }
            }
            lock(&all).merge(t);
        });
        match spawned {
            Ok(h) => hs.push(h),
            Err(e) => return Err(format!("can't start thread {}: {e}", hs.len() + 1)),
        }
    }
    for h in hs {
        let _ = h.join();
    }
    let secs = t0.elapsed().as_secs_f64();
    let mut a = std::mem::take(&mut *lock(&all));
    a.cmd_lat_ns.sort_unstable();
    a.setup_ns.sort_unstable();
    a.session_ns.sort_unstable();
    Ok((a, secs))
}

fn us(v: u64) -> f64 {
    v as f64 / 1000.0
}

pub fn fastagi(args: &Args) -> Result<(), String> {
    args.check_known(&[
        "target",
        "sessions",
        "concurrency",
        "commands",
        "script",
        "timeout-ms",
    ])?;
    let target = target(args)?;
    let sessions: u64 = args.num("sessions", 10_000)?;
    let conc: u64 = args.num("concurrency", 10)?;
    let k: u64 = args.num("commands", 10)?;
    let (a, secs) = play(Plan {
        target,
        script: args.str_or("script", "bench/path?x=1"),
        timeout: Duration::from_millis(args.num("timeout-ms", 10_000)?),
        sessions,
        threads: conc,
        commands: Some(k),
        stack: None,
    })?;
    let j = Json::new()
        .s("tool", "loadgen")
        .s("mode", "fastagi")
        .s("target", &target.to_string())
        .u("sessions", sessions)
        .u("concurrency", conc)
        .u("expected_commands", k)
        .u("sessions_ok", a.ok)
        .u("sessions_failed", a.failed)
        .u("sessions_wrong_command_count", a.mismatched)
        .u("commands", a.commands)
        .u("replies_5xx", a.unknown_replies)
        .f("secs", secs)
        .f("sessions_per_s", a.ok as f64 / secs)
        .f("commands_per_s", a.commands as f64 / secs)
        .f("cmd_p50_us", us(pct(&a.cmd_lat_ns, 50.0)))
        .f("cmd_p90_us", us(pct(&a.cmd_lat_ns, 90.0)))
        .f("cmd_p99_us", us(pct(&a.cmd_lat_ns, 99.0)))
        .f("cmd_max_us", us(a.cmd_lat_ns.last().copied().unwrap_or(0)))
        .f("setup_p50_us", us(pct(&a.setup_ns, 50.0)))
        .f("setup_p99_us", us(pct(&a.setup_ns, 99.0)))
        .f("session_p50_us", us(pct(&a.session_ns, 50.0)))
        .f("session_p99_us", us(pct(&a.session_ns, 99.0)))
        .s("first_error", a.first_error.as_deref().unwrap_or(""));
    println!("{}", j.finish());
    eprintln!(
        "loadgen fastagi: {} ok / {} failed / {} wrong-count sessions in {:.2}s: {:.0} sessions/s, {:.0} commands/s, cmd p50 {:.0}us p99 {:.0}us",
        a.ok,
        a.failed,
        a.mismatched,
        secs,
        a.ok as f64 / secs,
        a.commands as f64 / secs,
        us(pct(&a.cmd_lat_ns, 50.0)),
        us(pct(&a.cmd_lat_ns, 99.0))
    );
    Ok(())
}

/// Stack of a call's thread in `fastagi-hold` (it only reads and writes
/// lines; Asterisk's own channel threads are not much bigger).
const HOLD_STACK: usize = 128 << 10;

/// `fastagi-hold`: C calls open at once, each answered until the server
/// closes it; the server sets the pace (a command every few hundred ms).
pub fn fastagi_hold(args: &Args) -> Result<(), String> {
    args.check_known(&["target", "calls", "script", "timeout-ms"])?;
    let target = target(args)?;
    let calls: u64 = args.num("calls", 500)?;
    let (a, secs) = play(Plan {
        target,
        script: args.str_or("script", "bench/hold"),
        timeout: Duration::from_millis(args.num("timeout-ms", 10_000)?),
        sessions: calls,
        threads: calls,
        commands: None,
        stack: Some(HOLD_STACK),
    })?;
    let span = match (a.first_cmd, a.last_cmd) {
        (Some(f), Some(l)) => l.duration_since(f).as_secs_f64(),
        _ => 0.0,
    };
    let cps = if span > 0.0 {
        a.commands as f64 / span
    } else {
        0.0
    };
    let j = Json::new()
        .s("tool", "loadgen")
        .s("mode", "fastagi-hold")
        .s("target", &target.to_string())
        .u("calls", calls)
        .u("sessions_ok", a.ok)
        .u("sessions_failed", a.failed)
        .u("commands", a.commands)
        .u("replies_5xx", a.unknown_replies)
        .f("secs", secs)
        .f("command_span_secs", span)
        .f("commands_per_s", cps)
        .f("gap_p50_us", us(pct(&a.cmd_lat_ns, 50.0)))
        .f("gap_p99_us", us(pct(&a.cmd_lat_ns, 99.0)))
        .f("gap_max_us", us(a.cmd_lat_ns.last().copied().unwrap_or(0)))
        .f("setup_p50_us", us(pct(&a.setup_ns, 50.0)))
        .f("setup_p99_us", us(pct(&a.setup_ns, 99.0)))
        .f("setup_max_us", us(a.setup_ns.last().copied().unwrap_or(0)))
        .s("first_error", a.first_error.as_deref().unwrap_or(""));
    println!("{}", j.finish());
    eprintln!(
        "loadgen fastagi-hold: {} ok / {} failed calls, {} commands, {cps:.0} commands/s; gap p50 {:.0}us p99 {:.0}us",
        a.ok,
        a.failed,
        a.commands,
        us(pct(&a.cmd_lat_ns, 50.0)),
        us(pct(&a.cmd_lat_ns, 99.0))
    );
    Ok(())
}
