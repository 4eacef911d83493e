//! The `bench_fastagi` program of the bench contract in bench/README.md: a
//! FastAgiServer on 127.0.0.1:P running the standard 10-command script for
//! script paths matching `bench/path`, until N sessions are done; then one
//! JSON line on stdout: `{"sessions":N,"secs":S}`.
//!
//! ```text
//! cargo run --release --example bench_fastagi -- --port P --commands 10 --sessions N
//! ```
//!
//! With `--hold-secs S` (driven by `loadgen fastagi-hold --calls N`), each
//! call paces the script as an IVR would: a command, `--interval-ms I`
//! (default 300) of sleep, the next, for S seconds; every command's latency
//! (from `execute` called to its reply parsed) is kept, and the line also
//! has `"commands"`, `"cmd_p50_us"`, `"cmd_p99_us"`, `"cmd_max_us"`.
//!
//! Exit codes: 0 when N sessions completed, 1 on a failure, 2 for bad options.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use astrix::agi::commands::{
    Answer, ChannelStatus, DatabaseGet, GetFullVariable, GetVariable, SetVariable, StreamFile,
    Verbose,
};
use astrix::agi::{AgiError, FastAgiRequest, FastAgiServer};

use cli::FAILED;

const NAME: &str = "bench_fastagi";

const HELP: &str = "usage: bench_fastagi --port P [--commands K] --sessions N
                     [--hold-secs S [--interval-ms I]]

Serves N FastAGI sessions on 127.0.0.1:P, each running K commands of the
standard bench script (default 10), then prints {\"sessions\":N,\"secs\":S}.

  --hold-secs S    each call runs the script round and round for S seconds,
                   sleeping I ms (default 300) between commands; prints the
                   commands' latency percentiles too (cmd_p50_us, ...)

exit status:
  0  N sessions completed
  1  a session failed, or 127.0.0.1:P cannot be bound
  2  usage error";

fn step(req: &mut FastAgiRequest<'_>, i: usize) -> Result<(), AgiError> {
    match i % 10 {
        0 => req.execute(&Answer),
        1 => req.execute(&GetVariable::new("CALLERID(num)")).map(drop),
        2 => req.execute(&SetVariable::new("BENCH_VAR", "42")),
        3 => req.execute(&GetVariable::new("BENCH_VAR")).map(drop),
        4 => req.execute(&Verbose::new("bench step").level(1)),
        5 => req.execute(&ChannelStatus::new()).map(drop),
        6 => req.execute(&GetFullVariable::new("${CHANNEL}")).map(drop),
        7 => req.execute(&StreamFile::new("hello-world")).map(drop),
        8 => req.execute(&DatabaseGet::new("bench", "key")).map(drop),
        _ => req.execute(&Verbose::new("bench done").level(1)),
    }
}

/// The pace of `--hold-secs`: a command every `interval` for `secs` per call.
#[derive(Clone, Copy)]
struct Hold {
    secs: Duration,
    interval: Duration,
}

/// Runs one call's script: `commands` steps, or with `hold` steps paced
/// by its interval for its duration, each one's latency (ns) added to
/// `latencies`.
fn script(
    req: &mut FastAgiRequest<'_>,
    commands: usize,
    hold: Option<Hold>,
    latencies: &Mutex<Vec<u64>>,
) -> Result<(), AgiError> {
    let Some(hold) = hold else {
        return (0..commands).try_for_each(|i| step(req, i));
    };
    let start = Instant::now();
    let mut mine =
        Vec::with_capacity((hold.secs.as_millis() / hold.interval.as_millis().max(1)) as usize + 1);
    let mut i = 0;
    let result = loop {
        let t = Instant::now();
        if let Err(e) = step(req, i) {
            break Err(e);
        }
        mine.push(t.elapsed().as_nanos() as u64);
        i += 1;
        if start.elapsed() >= hold.secs {
            break Ok(());
        }
        std::thread::sleep(hold.interval);
    };
    latencies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend_from_slice(&mine);
    result
}

/// Percentile of an ascending-sorted slice (nearest-rank), in µs.
fn pct_us(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let (port, commands, sessions, hold) = match cli::parse(NAME, HELP, |cli| {
        let (mut port, mut commands, mut sessions) = (None, 10usize, None);
        let (mut hold_secs, mut interval_ms) = (0u64, 300u64);
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--port") => port = Some(cli.number::<u16>("--port")?),
                Some("--commands") => commands = cli.number("--commands")?,
                Some("--sessions") => sessions = Some(cli.number::<usize>("--sessions")?),
                Some("--hold-secs") => hold_secs = cli.number("--hold-secs")?,
                Some("--interval-ms") => interval_ms = cli.number("--interval-ms")?,
                _ => return Err(arg.unexpected()),
            }
        }
        let hold = (hold_secs > 0).then(|| Hold {
            secs: Duration::from_secs(hold_secs),
            interval: Duration::from_millis(interval_ms),
        });
        match (port, sessions) {
            (Some(port), Some(sessions)) => Ok((port, commands, sessions, hold)),
            _ => Err("--port and --sessions are required".into()),
        }
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };

    // Every call of the run open at once must fit: the call cap and the
    // intake (connections still sending their environment) are raised to N.
    let server = match FastAgiServer::builder()
        .max_connections(sessions.max(4096))
        .max_pending_environments(sessions.max(1024))
        .bind(("127.0.0.1", port))
    {
        Ok(s) => s,
        Err(e) => {
            return cli::fail(
                NAME,
                FAILED,
                format!("can't listen on 127.0.0.1:{port}: {e}"),
            )
        }
    };
    let started: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let finished: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let shutdown = server.shutdown_handle();
    {
        let (started, finished, done, failed, latencies, shutdown) = (
            Arc::clone(&started),
            Arc::clone(&finished),
            Arc::clone(&done),
            Arc::clone(&failed),
            Arc::clone(&latencies),
            shutdown.clone(),
        );
        let registered = server.register_script_handler("bench/(path|hold)", move |req| {
            started.get_or_init(Instant::now);
            let result = script(req, commands, hold, &latencies);
            if result.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            if done.fetch_add(1, Ordering::SeqCst) + 1 == sessions {
                let _ = finished.set(Instant::now());
                shutdown.shutdown();
            }
            result
        });
        if let Err(e) = registered {
            return cli::fail(NAME, FAILED, e);
        }
    }
    if let Err(e) = server.serve_forever() {
        return cli::fail(NAME, FAILED, format!("server failed: {e}"));
    }
    shutdown.wait(Duration::from_secs(10));
    let secs = match (started.get(), finished.get()) {
        (Some(a), Some(b)) => b.duration_since(*a).as_secs_f64(),
        _ => 0.0,
    };
    let hold_fields = match hold {
        None => String::new(),
        Some(_) => {
            let mut v =
                std::mem::take(&mut *latencies.lock().unwrap_or_else(PoisonError::into_inner));
            v.sort_unstable();
            format!(
                ",\"commands\":{},\"cmd_p50_us\":{:.1},\"cmd_p99_us\":{:.1},\"cmd_max_us\":{:.1}",
                v.len(),
                pct_us(&v, 50.0),
                pct_us(&v, 99.0),
                pct_us(&v, 100.0)
            )
        }
    };
    println!(
        "{{\"sessions\":{},\"secs\":{secs:.6}{hold_fields}}}",
        done.load(Ordering::SeqCst)
    );
    match failed.load(Ordering::Relaxed) {
        0 => {}
        n => return cli::fail(NAME, FAILED, format!("{n} session(s) failed")),
    }
    ExitCode::SUCCESS
}
