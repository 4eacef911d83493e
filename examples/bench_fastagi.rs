//! The `bench_fastagi` program of the bench contract in bench/README.md: a
//! FastAgiServer on 127.0.0.1:P running the standard 10-command script for
//! script paths matching `bench/path`, until N sessions are done; then one
//! JSON line on stdout: `{"sessions":N,"secs":S}`.
//!
//! ```text
//! cargo run --release --example bench_fastagi -- --port P --commands 10 --sessions N
//! ```
//!
//! Exit codes: 0 when N sessions completed, 1 on a failure, 2 for bad options.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
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

use cli::FAILED;

const NAME: &str = "bench_fastagi";

const HELP: &str = "usage: bench_fastagi --port P [--commands K] --sessions N

Serves N FastAGI sessions on 127.0.0.1:P, each running K commands of the
standard bench script (default 10), then prints {\"sessions\":N,\"secs\":S}.

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

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let (port, commands, sessions) = match cli::parse(NAME, HELP, |cli| {
        let (mut port, mut commands, mut sessions) = (None, 10usize, None);
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--port") => port = Some(cli.number::<u16>("--port")?),
                Some("--commands") => commands = cli.number("--commands")?,
                Some("--sessions") => sessions = Some(cli.number::<usize>("--sessions")?),
                _ => return Err(arg.unexpected()),
            }
        }
        match (port, sessions) {
            (Some(port), Some(sessions)) => Ok((port, commands, sessions)),
            _ => Err("--port and --sessions are required".into()),
        }
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };

    let server = match FastAgiServer::builder()
        .max_connections(4096)
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
    println!(
        "{{\"sessions\":{},\"secs\":{secs:.6}}}",
        done.load(Ordering::SeqCst)
    );
    match failed.load(Ordering::Relaxed) {
        0 => {}
        n => return cli::fail(NAME, FAILED, format!("{n} session(s) failed")),
    }
    ExitCode::SUCCESS
}
