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
//! usage error, 3 on a connection or login failure, or when the connection
//! is lost.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/demo.rs"]
mod demo;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use astrix::agi::AsyncAgiServer;

use cli::NO_CONNECTION;

const NAME: &str = "async_agi";

fn help() -> String {
    format!(
        "usage: async_agi [connection flags] [--calls N]

Serves the astrix demo AGI script over AsyncAGI: every channel that runs
AGI(agi:async,ARGS) is answered, CALLERID(num) read, ASTRIX_ARGS,
ASTRIX_NAME and ASTRIX_CID set, beep played. Against the built-in emulator,
N calls (default 2) enter AGI(agi:async). Logs go to stderr (ASTRIX_LOG).

  --calls N           exit after N calls (default: run until Ctrl-C)

{}

exit status:
  0  done (N calls, or Ctrl-C)
  2  usage error
  3  no connection: cannot connect or log in, or the connection was lost",
        ami_conn::CONN_HELP
    )
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Info);
    let help = help();
    let (conn, calls) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let mut calls: Option<u64> = None;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--calls") => calls = Some(cli.number("--calls")?),
                _ => conn.take(arg, cli)?,
            }
        }
        Ok((conn.finish()?, calls))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let (manager, emulator) = match conn.connect() {
        Ok(m) => m,
        Err(f) => return f.report(NAME),
    };
    if let Err(f) = conn.login(&manager) {
        return f.report(NAME);
    }
    let server = AsyncAgiServer::new(&manager);
    server.set_default_handler(|agi| {
        log::info!(
            "AsyncAGI call on {}: args [{}]",
            agi.channel(),
            agi.environment().args().join(", ")
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
    let mut lost = None;
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
            lost = Some(match manager.disconnect_reason() {
                Some(reason) => format!("AMI connection lost: {reason}"),
                None => "AMI connection lost".to_owned(),
            });
            break;
        }
    }
    log::info!("served {} calls", server.calls_served());
    drop(server);
    if let Some(lost) = lost {
        return cli::fail(NAME, NO_CONNECTION, lost);
    }
    let _ = manager.logoff();
    ExitCode::SUCCESS
}
