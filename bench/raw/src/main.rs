//! Raw "physical limit" peers: no parsing beyond framing (bench/README.md).
//!   rust-raw ami-events  --port P                      (memmem split on \r\n\r\n, count messages)
//!   rust-raw ami-actions --port P --threads T --actions N [--shared]
//!   rust-raw fastagi     --port P --commands K --sessions N   (thread per connection)
//!   rust-raw fastagi     --port P --sessions N --hold-secs S --interval-ms I
//!                        (each call: a command every I ms for S s; latency per command)
//!
//! Each mode prints one JSON line on stdout; errors go to stderr with exit
//! status 1 (2 for a usage error).

use memchr::memmem;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: rust-raw ami-events  --port P
       rust-raw ami-actions --port P [--threads T] [--actions N] [--shared]
       rust-raw fastagi     --port P [--commands K] [--sessions N]
                            [--hold-secs S --interval-ms I]";

/// How long a caller waits for its response in `ami-actions --shared`.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The value after `name` on the command line, parsed, or `default`.
fn arg<T: FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|x| x == name) {
        None => Ok(default),
        Some(i) => {
            let v = args.get(i + 1).ok_or(format!("{name}: missing value"))?;
            v.replace('_', "")
                .parse()
                .map_err(|_| format!("{name}: cannot parse {v:?}"))
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let s = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
    s.set_nodelay(true).ok();
    Ok(s)
}

fn ami_events(port: u16) -> Result<(), String> {
    let mut s = connect(port)?;
    s.write_all(b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\nActionID: 1\r\n\r\n")
        .map_err(|e| format!("write Login: {e}"))?;
    let finder = memmem::Finder::new(b"\r\n\r\n");
    let mut buf = vec![0u8; 1 << 20];
    let (mut filled, mut bytes, mut msgs, mut events) = (0usize, 0u64, 0u64, 0u64);
    let mut t_first: Option<Instant> = None;
    let mut done = false;
    // skip banner line
    let mut banner_skipped = false;
    while !done {
        if filled == buf.len() {
            return Err(format!("a message longer than {} bytes", buf.len()));
        }
        let n = s
            .read(&mut buf[filled..])
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        if t_first.is_none() && msgs >= 1 {
            t_first = Some(Instant::now());
        }
        bytes += n as u64;
        filled += n;
        let mut start = 0usize;
        if !banner_skipped {
            if let Some(p) = memchr::memchr(b'\n', &buf[..filled]) {
                start = p + 1;
                banner_skipped = true;
            } else {
                continue;
            }
        }
        while let Some(p) = finder.find(&buf[start..filled]) {
            let m = &buf[start..start + p];
            msgs += 1;
            if m.starts_with(b"Event: ") {
                if m.starts_with(b"Event: BenchDone") {
                    done = true;
                } else if !m.starts_with(b"Event: FullyBooted") {
                    events += 1;
                }
            }
            start += p + 4;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
    let secs = t_first
        .map(|t| t.elapsed().as_secs_f64())
        .unwrap_or(f64::NAN);
    let _ = s.write_all(b"Action: BenchDone\r\nActionID: 2\r\n\r\n");
    println!(
        "{{\"peer\": \"rust-raw\", \"test\": \"ami-events\", \"events\": {events}, \"messages\": {msgs}, \"bytes\": {bytes}, \"secs\": {secs:.4}, \"events_per_s\": {:.0}, \"mb_per_s\": {:.1}}}",
        events as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    if !done {
        return Err("the server closed the connection before Event: BenchDone".into());
    }
    Ok(())
}

/// Reads one message (lines up to an empty one) into `out`; `Ok(false)` at
/// the end of the stream.
fn read_msg(r: &mut BufReader<TcpStream>, out: &mut Vec<u8>) -> io::Result<bool> {
    out.clear();
    loop {
        if r.read_until(b'\n', out)? == 0 {
            return Ok(false);
        }
        if out.ends_with(b"\r\n\r\n") {
            return Ok(true);
        }
    }
}

/// Reads messages up to the next response; an error at the end of the stream.
fn read_response(r: &mut BufReader<TcpStream>, m: &mut Vec<u8>) -> Result<(), String> {
    loop {
        match read_msg(r, m) {
            Ok(true) if m.starts_with(b"Response:") => return Ok(()),
            Ok(true) => {}
            Ok(false) => return Err("the server closed the connection".into()),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

fn action_id(m: &[u8]) -> Option<u64> {
    let p = memmem::find(m, b"ActionID: ")? + 10;
    let e = memchr::memchr(b'\r', &m[p..])? + p;
    std::str::from_utf8(&m[p..e]).ok()?.parse().ok()
}

fn login(s: &TcpStream, r: &mut BufReader<TcpStream>) -> Result<(), String> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)
        .map_err(|e| format!("read banner: {e}"))?;
    (&*s)
        .write_all(b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\nActionID: 0\r\n\r\n")
        .map_err(|e| format!("write Login: {e}"))?;
    read_response(r, &mut Vec::new())
}

/// Writes `Action: Ping` with ActionID `id` to `w`.
fn ping(w: &mut impl Write, out: &mut Vec<u8>, id: u64) -> Result<(), String> {
    out.clear();
    let _ = write!(out, "Action: Ping\r\nActionID: {id}\r\n\r\n");
    w.write_all(out).map_err(|e| format!("write Ping: {e}"))
}

/// Counts the response `m` in `total` if it carries ActionID `id`.
fn count_response(m: &[u8], id: u64, total: &AtomicU64) -> Result<(), String> {
    if action_id(m) != Some(id) {
        return Err(format!("ActionID mismatch: expected {id}"));
    }
    total.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Joins the worker threads; the first error (or panic) wins.
fn join_all(hs: Vec<thread::JoinHandle<Result<(), String>>>) -> Result<(), String> {
    let mut first = Ok(());
    for h in hs {
        let r = h.join().unwrap_or_else(|_| Err("a thread panicked".into()));
        if first.is_ok() {
            first = r;
        }
    }
    first
}

fn ami_actions(port: u16, threads: usize, per_thread: u64, shared: bool) -> Result<(), String> {
    let t0;
    let total = Arc::new(AtomicU64::new(0));
    if !shared {
        // one connection per thread
        let mut socks = Vec::with_capacity(threads);
        for _ in 0..threads {
            let s = connect(port)?;
            let mut r = BufReader::with_capacity(65536, s.try_clone().map_err(|e| e.to_string())?);
            login(&s, &mut r)?;
            socks.push((s, r));
        }
        t0 = Instant::now();
        let hs: Vec<_> = socks
            .into_iter()
            .map(|(mut s, mut r)| {
                let total = total.clone();
                thread::spawn(move || {
                    let mut m = Vec::new();
                    let mut out = Vec::new();
                    for i in 1..=per_thread {
                        ping(&mut s, &mut out, i)?;
                        read_response(&mut r, &mut m)?;
                        count_response(&m, i, &total)?;
                    }
                    Ok(())
                })
            })
            .collect();
        join_all(hs)?;
    } else {
        // one shared connection: writer mutex + reader thread dispatching by ActionID
        let s = connect(port)?;
        let mut r = BufReader::with_capacity(65536, s.try_clone().map_err(|e| e.to_string())?);
        login(&s, &mut r)?;
        let waiters: Arc<Mutex<HashMap<u64, SyncSender<Vec<u8>>>>> =
            Arc::new(Mutex::new(HashMap::new()));
        {
            let waiters = waiters.clone();
            thread::spawn(move || {
                let mut m = Vec::new();
                while let Ok(true) = read_msg(&mut r, &mut m) {
                    if let Some(id) = action_id(&m) {
                        if let Some(tx) = lock(&waiters).remove(&id) {
                            let _ = tx.send(std::mem::take(&mut m));
                        }
                    }
                }
            });
        }
        let w = Arc::new(Mutex::new(s));
        let next = Arc::new(AtomicU64::new(1));
        t0 = Instant::now();
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let (w, waiters, next, total) =
                    (w.clone(), waiters.clone(), next.clone(), total.clone());
                thread::spawn(move || {
                    let mut out = Vec::new();
                    for _ in 0..per_thread {
                        let id = next.fetch_add(1, Ordering::Relaxed);
                        let (tx, rx) = sync_channel(1);
                        lock(&waiters).insert(id, tx);
                        ping(&mut *lock(&w), &mut out, id)?;
                        let m = rx
                            .recv_timeout(RESPONSE_TIMEOUT)
                            .map_err(|_| format!("no response to ActionID {id}"))?;
                        count_response(&m, id, &total)?;
                    }
                    Ok(())
                })
            })
            .collect();
        join_all(hs)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    let n = total.load(Ordering::Relaxed);
    println!(
        "{{\"peer\": \"rust-raw\", \"test\": \"ami-actions\", \"threads\": {threads}, \"connections\": {}, \"actions\": {n}, \"secs\": {secs:.4}, \"actions_per_s\": {:.0}}}",
        if shared { 1 } else { threads },
        n as f64 / secs
    );
    Ok(())
}

const SCRIPT: [&str; 10] = [
    "ANSWER\n",
    "GET VARIABLE CALLERID(num)\n",
    "SET VARIABLE BENCH_VAR 42\n",
    "GET VARIABLE BENCH_VAR\n",
    "VERBOSE \"bench step\" 1\n",
    "CHANNEL STATUS\n",
    "GET FULL VARIABLE ${CHANNEL}\n",
    "STREAM FILE hello-world \"\"\n",
    "DATABASE GET bench key\n",
    "VERBOSE \"bench done\" 1\n",
];

/// The pace of `fastagi --hold-secs`: a command every `interval` for
/// `secs` per call.
#[derive(Clone, Copy)]
struct Hold {
    secs: Duration,
    interval: Duration,
}

/// Per-command latencies (command written -> reply line read), in ns.
type Latencies = Arc<Mutex<Vec<u64>>>;

fn agi_session(s: TcpStream, k: usize, hold: Option<Hold>, lat: &Latencies) -> io::Result<()> {
    s.set_nodelay(true).ok();
    let mut w = s.try_clone()?;
    let mut r = BufReader::with_capacity(4096, s);
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line == b"\n" || line == b"\r\n" {
            break;
        }
    }
    let start = Instant::now();
    let mut mine = Vec::new();
    for (i, cmd) in SCRIPT.iter().cycle().enumerate() {
        match hold {
            None if i == k => break,
            Some(h) if i > 0 => {
                if start.elapsed() >= h.secs {
                    break;
                }
                thread::sleep(h.interval);
            }
            _ => {}
        }
        let t = Instant::now();
        w.write_all(cmd.as_bytes())?;
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if hold.is_some() {
            mine.push(t.elapsed().as_nanos() as u64);
        }
        if !line.starts_with(b"200 ") {
            eprintln!("unexpected reply {:?}", String::from_utf8_lossy(&line));
        }
    }
    lock(lat).extend_from_slice(&mine);
    Ok(())
}

/// Percentile of an ascending-sorted slice (nearest-rank), in µs.
fn pct_us(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn fastagi(port: u16, k: usize, sessions: u64, hold: Option<Hold>) -> Result<(), String> {
    let l = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    let done = Arc::new(AtomicU64::new(0));
    let lat: Latencies = Arc::default();
    {
        let (done, lat) = (done.clone(), lat.clone());
        thread::spawn(move || loop {
            thread::sleep(Duration::from_millis(50));
            if sessions > 0 && done.load(Ordering::Relaxed) >= sessions {
                thread::sleep(Duration::from_millis(200));
                let mut v = std::mem::take(&mut *lock(&lat));
                v.sort_unstable();
                let hold_fields = match hold {
                    None => String::new(),
                    Some(_) => format!(
                        ", \"commands\": {}, \"cmd_p50_us\": {:.1}, \"cmd_p99_us\": {:.1}, \"cmd_max_us\": {:.1}",
                        v.len(),
                        pct_us(&v, 50.0),
                        pct_us(&v, 99.0),
                        pct_us(&v, 100.0)
                    ),
                };
                println!(
                    "{{\"peer\": \"rust-raw\", \"test\": \"fastagi-server\", \"sessions_handled\": {}, \"handler_errors\": 0{hold_fields}}}",
                    done.load(Ordering::Relaxed)
                );
                std::process::exit(0);
            }
        });
    }
    for c in l.incoming() {
        let Ok(s) = c else { continue };
        let (done, lat) = (done.clone(), lat.clone());
        let spawned = thread::Builder::new().spawn(move || {
            let _ = agi_session(s, k, hold, &lat);
            done.fetch_add(1, Ordering::Relaxed);
        });
        if let Err(e) = spawned {
            eprintln!("rust-raw: can't start a thread: {e}");
        }
    }
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let mode = args.get(1).map(String::as_str).unwrap_or_default();
    let port: u16 = arg(args, "--port", 5038)?;
    match mode {
        "ami-events" => ami_events(port),
        "ami-actions" => {
            let threads: usize = arg(args, "--threads", 1)?;
            let actions: u64 = arg(args, "--actions", 100_000)?;
            if threads == 0 {
                return Err("--threads: at least 1".into());
            }
            let shared = args.iter().any(|x| x == "--shared");
            ami_actions(port, threads, actions / threads as u64, shared)
        }
        "fastagi" => {
            let hold_secs: u64 = arg(args, "--hold-secs", 0)?;
            let hold = (hold_secs > 0)
                .then(|| -> Result<Hold, String> {
                    Ok(Hold {
                        secs: Duration::from_secs(hold_secs),
                        interval: Duration::from_millis(arg(args, "--interval-ms", 300)?),
                    })
                })
                .transpose()?;
            fastagi(
                port,
                arg(args, "--commands", 10)?,
                arg(args, "--sessions", 0)?,
                hold,
            )
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Err(e) = run(&args) {
        eprintln!("rust-raw: {e}");
        std::process::exit(1);
    }
}
