//! The `bench_fastagi` contract of `../shared/bench/README.md`: a
//! FastAgiServer on 127.0.0.1:P running the standard 10-command script for
//! script paths matching `bench/path`, until N sessions are done; then one
//! JSON line on stdout: `{"sessions":N,"secs":S}`.
//!
//! ```text
//! cargo run --release --example bench_fastagi -- --port P --commands 10 --sessions N
//! ```
//!
//! Exit codes: 0 when N sessions completed, 1 on a failure, 2 for bad options.

#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use astrix::agi::commands::{
    Answer, ChannelStatus, DatabaseGet, GetFullVariable, GetVariable, SetVariable, StreamFile,
    Verbose,
};
use astrix::agi::{AgiError, FastAgiRequest, FastAgiServer};

const USAGE: &str = "usage: bench_fastagi --port P [--commands K] --sessions N

Serves N FastAGI sessions on 127.0.0.1:P, each running K commands of the
standard bench script (default 10), then prints {\"sessions\":N,\"secs\":S}.";

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

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let (mut port, mut commands, mut sessions) = (None, 10usize, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut num = |name: &str| -> Option<usize> {
            let v = args.next()?.replace('_', "");
            v.parse()
                .map_err(|_| eprintln!("bad value for {name}"))
                .ok()
        };
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--port" => port = num("--port"),
            "--commands" => match num("--commands") {
                Some(k) => commands = k,
                None => return usage_error("--commands needs a number"),
            },
            "--sessions" => sessions = num("--sessions"),
            other => return usage_error(&format!("unknown option {other}")),
        }
    }
    let (Some(port), Some(sessions)) = (port, sessions) else {
        return usage_error("--port and --sessions are required");
    };
    let port = match u16::try_from(port) {
        Ok(p) => p,
        Err(_) => return usage_error("--port out of range"),
    };

    let server = match FastAgiServer::builder()
        .max_connections(4096)
        .bind(("127.0.0.1", port))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench_fastagi: can't listen on 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    let started: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let finished: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let shutdown = server.shutdown_handle();
    {
        let (started, finished, done, failed, shutdown) = (
            Arc::clone(&started),
            Arc::clone(&finished),
            Arc::clone(&done),
            Arc::clone(&failed),
            shutdown.clone(),
        );
        let registered = server.register_script_handler("bench/path", move |req| {
            started.get_or_init(Instant::now);
            let mut result = Ok(());
            for i in 0..commands {
                if let Err(e) = step(req, i) {
                    failed.fetch_add(1, Ordering::Relaxed);
                    result = Err(e);
                    break;
                }
            }
            if done.fetch_add(1, Ordering::SeqCst) + 1 == sessions {
                let _ = finished.set(Instant::now());
                shutdown.shutdown();
            }
            result
        });
        if let Err(e) = registered {
            eprintln!("bench_fastagi: {e}");
            return ExitCode::from(1);
        }
    }
    if let Err(e) = server.serve_forever() {
        eprintln!("bench_fastagi: server failed: {e}");
        return ExitCode::from(1);
    }
    shutdown.wait(Duration::from_secs(10));
    let secs = match (started.get(), finished.get()) {
        (Some(a), Some(b)) => b.duration_since(*a).as_secs_f64(),
        _ => 0.0,
    };
    println!(
        "{{\"sessions\":{},\"secs\":{secs:.6}}}",
        done.load(Ordering::SeqCst)
    );
    if failed.load(Ordering::Relaxed) > 0 {
        eprintln!(
            "bench_fastagi: {} sessions failed",
            failed.load(Ordering::Relaxed)
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("bench_fastagi: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}
