//! Serves the demo AGI script over AsyncAGI: every channel that runs
//! `AGI(agi:async,ARGS)` gets the same script as `fastagi_server`, its
//! positional arguments taken from the environment.
//!
//! ```sh
//! cargo run --example async_agi -- --calls 2      # against the built-in emulator
//! cargo run --example async_agi -- --addr 127.0.0.1:5038 --username admin --secret wordpass
//! ```
//!
//! Runs until Ctrl-C or `--calls N`. Exit status: 0 when done, 2 on a
//! connection, login or usage error.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[path = "common/demo.rs"]
mod demo;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use astrix::agi::AsyncAgiServer;

const USAGE: &str = "usage: async_agi [connection flags] [--calls N]";

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Info);
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}\n\n{}", ami_conn::CONN_HELP);
        return ExitCode::SUCCESS;
    }
    let conn = match ami_conn::Conn::from_args(&mut args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut calls: Option<u64> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next().and_then(|v| v.parse().ok())) {
            ("--calls", Some(n)) => calls = Some(n),
            _ => return fail(&format!("bad argument {a:?}\n{USAGE}")),
        }
    }
    let (manager, emulator) = match conn.connect() {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    if let Err(e) = conn.login(&manager) {
        return fail(&e);
    }
    let server = AsyncAgiServer::new(&manager);
    server.set_default_handler(|agi| {
        log::info!(
            "AsyncAGI call on {}: args {:?}",
            agi.channel(),
            agi.environment().args()
        );
        let result = demo::run_demo(agi, "");
        match &result {
            Ok(()) => log::info!("call done"),
            Err(e) => log::info!("call ended: {e}"),
        }
        result
    });
    log::info!(
        "serving AsyncAGI (AGI(agi:async)) over AMI {}",
        manager.ami_version()
    );

    if let Some(em) = &emulator {
        // The emulator plays the dialplan: a few channels enter AGI(agi:async).
        for i in 0..calls.unwrap_or(2) {
            let ch = em.start_async_agi(&["a", &format!("call{i}")]);
            log::info!("emulator: {ch} entered AsyncAGI");
        }
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
    }
    let want = calls.or(emulator.as_ref().map(|_| 2));
    loop {
        if interrupted.load(Ordering::Relaxed) {
            log::info!("interrupted");
            break;
        }
        if want.is_some_and(|n| server.wait_idle(n, Duration::from_millis(100))) {
            break;
        }
        if want.is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        if !manager.is_connected() {
            log::warn!("AMI connection lost: {:?}", manager.disconnect_reason());
            break;
        }
    }
    log::info!("served {} calls", server.calls_served());
    drop(server);
    let _ = manager.logoff();
    ExitCode::SUCCESS
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("async_agi: {msg}");
    ExitCode::from(2)
}
