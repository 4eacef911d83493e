//! AMI server side: `ami-events` (event blast) and `ami-actions` (action round-trips).

use crate::events;
use crate::util::{lock, read_ami_msg, AmiMsg, Args, Json};
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const BANNER: &[u8] = b"Asterisk Call Manager/9.0.0\r\n";
const FULLY_BOOTED: &str = "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 1234\r\nLastReload: 1234\r\nStatus: Fully Booted\r\n\r\n";

/// Appends the reply to one action to `out`; true for a Logoff.
fn reply(msg: &AmiMsg, out: &mut Vec<u8>, fully_booted: bool) -> bool {
    let action = msg.get("Action").unwrap_or("");
    let id = msg.get("ActionID");
    let head = |resp: &str, out: &mut Vec<u8>| {
        out.extend_from_slice(b"Response: ");
        out.extend_from_slice(resp.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(id) = id {
            out.extend_from_slice(b"ActionID: ");
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    };
    if action.eq_ignore_ascii_case("Login") {
        head("Success", out);
        out.extend_from_slice(b"Message: Authentication accepted\r\n\r\n");
        if fully_booted {
            out.extend_from_slice(FULLY_BOOTED.as_bytes());
        }
        return false;
    }
    if action.eq_ignore_ascii_case("Logoff") {
        head("Goodbye", out);
        out.extend_from_slice(b"Message: Thanks for all the fish.\r\n\r\n");
        return true;
    }
    if action.eq_ignore_ascii_case("Challenge") {
        head("Success", out);
        out.extend_from_slice(b"Challenge: 840415273\r\n\r\n");
        return false;
    }
    if action.eq_ignore_ascii_case("CoreShowChannels") {
        head("Success", out);
        out.extend_from_slice(b"EventList: start\r\nMessage: Channels will follow\r\n\r\n");
        let idh = id.map(|i| format!("ActionID: {i}\r\n")).unwrap_or_default();
        for i in 0..10u32 {
            let _ = write!(
                out,
                "Event: CoreShowChannel\r\n{idh}Channel: PJSIP/{e}-{i:08x}\r\nChannelState: 6\r\nChannelStateDesc: Up\r\nCallerIDNum: {e}\r\nCallerIDName: Bench User\r\nConnectedLineNum: {c}\r\nConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\nContext: from-internal\r\nExten: {c}\r\nPriority: 1\r\nUniqueid: 1700000000.{i}\r\nLinkedid: 1700000000.{i}\r\nApplication: Dial\r\nApplicationData: PJSIP/{c},30\r\nDuration: 00:00:{d:02}\r\nBridgeId: \r\n\r\n",
                e = 1000 + i,
                c = 2000 + i,
                d = i * 3
            );
        }
        let _ = write!(
            out,
            "Event: CoreShowChannelsComplete\r\n{idh}EventList: Complete\r\nListItems: 10\r\n\r\n"
        );
        return false;
    }
    head("Success", out);
    out.extend_from_slice(b"Ping: Pong\r\n\r\n");
    false
}

// ---------------------------------------------------------------- ami-events

#[derive(Debug, Clone, Copy, PartialEq)]
enum Done {
    BenchDoneAction,
    Logoff,
    Eof,
}

pub fn events(args: &Args) -> Result<(), String> {
    args.check_known(&[
        "port",
        "events",
        "size-mix",
        "seed",
        "chunk-kb",
        "trigger",
        "wait-secs",
        "no-fullybooted",
        "repeat",
    ])?;
    let port: u16 = args.num("port", 5038)?;
    let n_gen: u64 = args.num("events", 1_000_000)?;
    let repeat: u64 = args.num("repeat", 1)?;
    let n = n_gen
        .checked_mul(repeat)
        .ok_or("--events x --repeat overflows")?;
    let mix = args.str_or("size-mix", "realistic");
    if mix != "realistic" {
        return Err(format!(
            "--size-mix: only 'realistic' is implemented, got {mix:?}"
        ));
    }
    let seed: u64 = args.num("seed", 42)?;
    let chunk_kb: usize = args.num("chunk-kb", 256)?;
    let trigger = args.str_or("trigger", "Login");
    let wait_secs: u64 = args.num("wait-secs", 300)?;
    let fully_booted = !args.flag("no-fullybooted");

    // Bind first so a client may connect while the stream is generated; the
    // banner is only sent once generation is over.
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    let gen_start = Instant::now();
    let final_event = format!("Event: BenchDone\r\nPrivilege: system,all\r\nEvents: {n}\r\n\r\n");
    let stream = events::build(n_gen, seed, chunk_kb * 1024);
    eprintln!(
        "loadgen ami-events: generated {} events x{repeat}, {} bytes (mean {:.0} B/event, min {} max {}, {:.1} headers/event) in {:.2}s; listening on 127.0.0.1:{port}",
        n_gen,
        stream.buf.len(),
        stream.buf.len() as f64 / n_gen.max(1) as f64,
        stream.min_len,
        stream.max_len,
        stream.header_lines as f64 / n_gen.max(1) as f64,
        gen_start.elapsed().as_secs_f64()
    );

    let (sock, peer) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    drop(listener);
    let _ = sock.set_nodelay(true);
    eprintln!("loadgen ami-events: client {peer} connected");
    let writer = Arc::new(Mutex::new(sock.try_clone().map_err(|e| e.to_string())?));
    lock(&writer)
        .write_all(BANNER)
        .map_err(|e| format!("banner: {e}"))?;

    let (trig_tx, trig_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<(Done, Instant)>();
    let actions = Arc::new(AtomicU64::new(0));
    {
        let writer = writer.clone();
        let actions = actions.clone();
        let rd = sock.try_clone().map_err(|e| e.to_string())?;
        let trigger = trigger.clone();
        thread::spawn(move || {
            let mut r = BufReader::with_capacity(64 * 1024, rd);
            let mut line = Vec::new();
            let mut out = Vec::with_capacity(4096);
            let mut triggered = false;
            loop {
                let msg = match read_ami_msg(&mut r, &mut line) {
                    Ok(Some(m)) => m,
                    Ok(None) | Err(_) => {
                        let _ = done_tx.send((Done::Eof, Instant::now()));
                        return;
                    }
                };
                actions.fetch_add(1, Ordering::Relaxed);
                let action = msg.get("Action").unwrap_or("").to_string();
                out.clear();
                let is_bench_done = action.eq_ignore_ascii_case("BenchDone");
                let logoff = reply(&msg, &mut out, fully_booted);
                if lock(&writer).write_all(&out).is_err() {
                    let _ = done_tx.send((Done::Eof, Instant::now()));
                    return;
                }
                if !triggered && action.eq_ignore_ascii_case(&trigger) {
                    triggered = true;
                    let _ = trig_tx.send(());
                }
                if is_bench_done {
                    let _ = done_tx.send((Done::BenchDoneAction, Instant::now()));
                } else if logoff {
                    let _ = done_tx.send((Done::Logoff, Instant::now()));
                    let _ = lock(&writer).shutdown(Shutdown::Both);
                    return;
                }
            }
        });
    }

    trig_rx
        .recv_timeout(Duration::from_secs(wait_secs))
        .map_err(|_| format!("client never sent Action: {trigger} within {wait_secs}s"))?;

    // Blast. Chunks end on message boundaries, so replies from the reader
    // thread interleave only between whole events.
    let t0 = Instant::now();
    let mut bytes_sent = 0u64;
    let mut write_err = None;
    'outer: for _ in 0..repeat {
        let mut start = 0usize;
        for &end in &stream.chunk_ends {
            let mut w = lock(&writer);
            if let Err(e) = w.write_all(&stream.buf[start..end]) {
                write_err = Some(format!("write failed after {bytes_sent} bytes: {e}"));
                break 'outer;
            }
            bytes_sent += (end - start) as u64;
            start = end;
        }
    }
    if write_err.is_none() {
        match lock(&writer).write_all(final_event.as_bytes()) {
            Ok(()) => bytes_sent += final_event.len() as u64,
            Err(e) => write_err = Some(format!("write of BenchDone failed: {e}")),
        }
    }
    let write_secs = t0.elapsed().as_secs_f64();

    let (reason, done_secs) = match done_rx.recv_timeout(Duration::from_secs(wait_secs)) {
        Ok((d, at)) => (
            format!("{d:?}"),
            at.saturating_duration_since(t0).as_secs_f64(),
        ),
        Err(_) => ("Timeout".to_string(), f64::NAN),
    };
    let _ = lock(&writer).shutdown(Shutdown::Both);
    let mb = bytes_sent as f64 / 1e6;
    let mut kinds = String::new();
    for (i, k) in events::KIND_NAMES.iter().enumerate() {
        kinds.push_str(&format!(
            "{}{}={}",
            if i > 0 { "," } else { "" },
            k,
            stream.kind_counts[i] * repeat
        ));
    }
    let j = Json::new()
        .s("tool", "loadgen")
        .s("mode", "ami-events")
        .u("events", n)
        .u("repeat", repeat)
        .u("bytes_sent", bytes_sent)
        .f(
            "mean_event_bytes",
            stream.buf.len() as f64 / n_gen.max(1) as f64,
        )
        .u("min_event_bytes", stream.min_len as u64)
        .u("max_event_bytes", stream.max_len as u64)
        .f(
            "headers_per_event",
            stream.header_lines as f64 / n_gen.max(1) as f64,
        )
        .s("kinds", &kinds)
        .f("write_secs", write_secs)
        .f("done_secs", done_secs)
        .s("end", &reason)
        .f("events_per_s", n as f64 / done_secs)
        .f("mb_per_s", mb / done_secs)
        .u("actions_received", actions.load(Ordering::Relaxed))
        .s("error", write_err.as_deref().unwrap_or(""));
    println!("{}", j.finish());
    if reason == "Timeout" {
        return Err("client did not finish (no BenchDone action, Logoff or close) in time".into());
    }
    Ok(())
}

// --------------------------------------------------------------- ami-actions

/// What the connections of `ami-actions` share.
struct Served {
    /// Actions answered, over all connections.
    actions: AtomicU64,
    /// Connections closed.
    closed: AtomicUsize,
    /// When the first action arrived.
    first: Mutex<Option<Instant>>,
    /// When the last action was answered, in ns after `base`.
    last_ns: AtomicU64,
    base: Instant,
}

fn serve_actions(sock: TcpStream, served: &Served, fully_booted: bool) -> io::Result<()> {
    let _ = sock.set_nodelay(true);
    let mut w = BufWriter::with_capacity(64 * 1024, sock.try_clone()?);
    w.write_all(BANNER)?;
    w.flush()?;
    let mut r = BufReader::with_capacity(64 * 1024, sock);
    let mut line = Vec::new();
    let mut out = Vec::with_capacity(64 * 1024);
    while let Some(msg) = read_ami_msg(&mut r, &mut line)? {
        {
            let mut f = lock(&served.first);
            if f.is_none() {
                *f = Some(Instant::now());
            }
        }
        let logoff = reply(&msg, &mut out, fully_booted);
        served.actions.fetch_add(1, Ordering::Relaxed);
        served
            .last_ns
            .fetch_max(served.base.elapsed().as_nanos() as u64, Ordering::Relaxed);
        // Batch replies to pipelined actions: flush only when no more input is buffered.
        if r.buffer().is_empty() || out.len() > 48 * 1024 || logoff {
            w.write_all(&out)?;
            w.flush()?;
            out.clear();
        }
        if logoff {
            break;
        }
    }
    if !out.is_empty() {
        w.write_all(&out)?;
        w.flush()?;
    }
    Ok(())
}

pub fn actions(args: &Args) -> Result<(), String> {
    args.check_known(&["port", "clients", "max-secs", "no-fullybooted"])?;
    let port: u16 = args.num("port", 5038)?;
    let clients: usize = args.num("clients", 1)?;
    let max_secs: u64 = args.num("max-secs", 600)?;
    let fully_booted = !args.flag("no-fullybooted");
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    eprintln!("loadgen ami-actions: listening on 127.0.0.1:{port}; exits after {clients} client(s) disconnect or {max_secs}s");
    let served = Arc::new(Served {
        actions: AtomicU64::new(0),
        closed: AtomicUsize::new(0),
        first: Mutex::new(None),
        last_ns: AtomicU64::new(0),
        base: Instant::now(),
    });
    let (fin_tx, fin_rx) = mpsc::channel::<&'static str>();
    {
        let served = served.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(sock) = conn else { continue };
                let (served, fin_tx) = (served.clone(), fin_tx.clone());
                thread::spawn(move || {
                    let _ = serve_actions(sock, &served, fully_booted);
                    if served.closed.fetch_add(1, Ordering::SeqCst) + 1 >= clients {
                        let _ = fin_tx.send("clients-closed");
                    }
                });
            }
        });
    }
    let end = fin_rx
        .recv_timeout(Duration::from_secs(max_secs))
        .unwrap_or("max-secs");
    let n = served.actions.load(Ordering::Relaxed);
    let last = served.base + Duration::from_nanos(served.last_ns.load(Ordering::Relaxed));
    let secs = lock(&served.first)
        .map(|t| last.saturating_duration_since(t).as_secs_f64())
        .unwrap_or(f64::NAN);
    let j = Json::new()
        .s("tool", "loadgen")
        .s("mode", "ami-actions")
        .u("actions_served", n)
        .f("secs_first_to_last_action", secs)
        .f("actions_per_s", n.saturating_sub(1) as f64 / secs)
        .s("end", end);
    println!("{}", j.finish());
    Ok(())
}
