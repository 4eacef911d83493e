//! A FastAGI server that runs the demo script for `agi://HOST:PORT/demo`.
//!
//! ```text
//! cargo run --example fastagi_server -- [--bind ADDR] [--calls N]
//! ```
//!
//! Dialplan: `same => n,AGI(agi://127.0.0.1:4573/demo?name=World,a,b)`.
//! Logs go to stderr (`ASTRIX_LOG=debug` for more). Exit codes: 0 after
//! Ctrl-C / SIGTERM or N calls, 1 if the address can't be bound, 2 for bad
//! options.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/demo.rs"]
mod demo;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use astrix::agi::FastAgiServer;

use cli::FAILED;

const NAME: &str = "fastagi_server";

const HELP: &str = "usage: fastagi_server [--bind ADDR] [--calls N]

Serves the astrix demo AGI script over FastAGI. Logs go to stderr
(ASTRIX_LOG=debug for more).

  --bind ADDR   address to listen on (default 127.0.0.1:4573; [::1]:4573 for IPv6)
  --calls N     exit after N calls (default: run until Ctrl-C)
  --help        this text

Route a call to it with AGI(agi://127.0.0.1:4573/demo?name=World,a,b).

exit status:
  0  done (N calls, or Ctrl-C / SIGTERM)
  1  the address cannot be bound, or the server failed
  2  usage error";

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Info);
    let (bind, calls) = match cli::parse(NAME, HELP, |cli| {
        let mut bind = "127.0.0.1:4573".to_owned();
        let mut calls: Option<usize> = None;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--bind") => bind = cli.string("--bind")?,
                Some("--calls") => calls = Some(cli.number("--calls")?),
                _ => return Err(arg.unexpected()),
            }
        }
        Ok((bind, calls))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };

    let server = match FastAgiServer::bind(&bind) {
        Ok(s) => s,
        Err(e) => {
            log::error!("can't listen on {bind}: {e}");
            return ExitCode::from(FAILED);
        }
    };
    let shutdown = server.shutdown_handle();
    let done = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&done);
    let stop_after = calls;
    let stopper = shutdown.clone();
    let registered = server.register_script_handler("^demo$", move |req| {
        let name = req.query_value("name").unwrap_or("").to_owned();
        log::info!(
            "call from {}: channel {}, args [{}], name {name:?}",
            req.peer_addr()
                .map_or("an unknown address".to_owned(), |a| a.to_string()),
            req.environment().channel().unwrap_or("unknown"),
            req.args().join(", ")
        );
        let result = demo::run_demo(req.agi(), &name);
        match &result {
            Ok(()) => log::info!("call done"),
            Err(e) => log::info!("call ended: {e}"),
        }
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        if stop_after == Some(n) {
            stopper.shutdown();
        }
        result
    });
    if let Err(e) = registered {
        log::error!("bad route: {e}");
        return ExitCode::from(FAILED);
    }

    // Ctrl-C / SIGTERM: stop accepting, give running calls 5 s.
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&interrupted)) {
            log::warn!("can't handle signal {sig}: {e}");
        }
    }
    let watcher = shutdown.clone();
    std::thread::spawn(move || loop {
        if interrupted.load(Ordering::Relaxed) {
            log::info!("interrupted; shutting down");
            watcher.shutdown();
            return;
        }
        if watcher.is_shutdown() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    });

    log::info!("FastAGI demo listening on {}", server.local_addr());
    if let Err(e) = server.serve_forever() {
        log::error!("server failed: {e}");
        return ExitCode::from(FAILED);
    }
    if !shutdown.wait(Duration::from_secs(5)) {
        log::warn!("calls still running at exit");
    }
    log::info!("served {} calls", done.load(Ordering::SeqCst));
    ExitCode::SUCCESS
}
