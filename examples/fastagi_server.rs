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

#[path = "common/demo.rs"]
mod demo;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use astrix::agi::FastAgiServer;

const USAGE: &str = "usage: fastagi_server [--bind ADDR] [--calls N]

Serves the astrix demo AGI script over FastAGI.

  --bind ADDR   address to listen on (default 127.0.0.1:4573; [::1]:4573 for IPv6)
  --calls N     exit after N calls (default: run until Ctrl-C)
  --help        this text

Route a call to it with AGI(agi://127.0.0.1:4573/demo?name=World,a,b).";

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Info);
    let mut bind = "127.0.0.1:4573".to_owned();
    let mut calls: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--bind" => match args.next() {
                Some(v) => bind = v,
                None => return usage_error("--bind needs an address"),
            },
            "--calls" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => calls = Some(n),
                None => return usage_error("--calls needs a number"),
            },
            other => return usage_error(&format!("unknown option {other}")),
        }
    }

    let server = match FastAgiServer::bind(&bind) {
        Ok(s) => s,
        Err(e) => {
            log::error!("can't listen on {bind}: {e}");
            return ExitCode::from(1);
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
            "call from {:?}: channel {:?}, args {:?}, name {name:?}",
            req.peer_addr(),
            req.environment().channel(),
            req.args()
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
        return ExitCode::from(1);
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
        return ExitCode::from(1);
    }
    if !shutdown.wait(Duration::from_secs(5)) {
        log::warn!("calls still running at exit");
    }
    log::info!("served {} calls", done.load(Ordering::SeqCst));
    ExitCode::SUCCESS
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("fastagi_server: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}
