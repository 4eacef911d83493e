//! pystrix's AMI core loop, as its documentation writes it: callbacks
//! registered before logging in (by event name, by event class, a
//! catch-all and an orphan handler, each lent the manager), a `Challenge`
//! then a `Login` with the MD5 key, and a loop that runs until Asterisk
//! sends `Shutdown` (or `--seconds` pass).
//!
//! ```sh
//! cargo run --example pystrix_ami                       # the emulator
//! cargo run --example pystrix_ami -- --addr 127.0.0.1:5038 --username admin --secret wordpass
//! ```
//!
//! Exit status: 0 after `Shutdown` or `--seconds`, 2 on a usage error, 3
//! when Asterisk cannot be reached or refuses the login.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use astrix::ami::actions::{Challenge, CoreStatus, Login};
use astrix::ami::events::FullyBooted;
use astrix::ami::{md5_key, Message};

use cli::Failure;

const NAME: &str = "pystrix_ami";

fn help() -> String {
    format!(
        "usage: pystrix_ami [connection flags] [--seconds N]

pystrix's AMI core loop: handlers by name, by class, catch-all and
orphan; Challenge and an MD5 Login; runs until Asterisk sends Shutdown
(the emulator sends one after a second) or N seconds pass.

  --seconds N   stop after N seconds (default 10)
{}

exit status:
  0  Shutdown received, or N seconds passed
  2  usage error
  3  no connection: cannot connect, or the login is refused",
        ami_conn::CONN_HELP
    )
}

fn name(event: &Message) -> &str {
    event.event_name().unwrap_or("?")
}

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let help = help();
    let (conn, seconds) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let mut seconds = 10u64;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--seconds") => seconds = cli.number("--seconds")?,
                _ => conn.take(arg, cli)?,
            }
        }
        Ok((conn.finish()?, seconds))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let (manager, emulator) = match conn.connect() {
        Ok(m) => m,
        Err(f) => return f.report(NAME),
    };

    // Callbacks before the login, so that no event is missed. Each is lent
    // the manager for the length of the call (pystrix's `(event, manager)`).
    manager.on_event_with("FullyBooted", |event, _manager| {
        println!("Received string event: {}", name(event));
    });
    manager.on_with(|event: &FullyBooted, _manager| {
        let uptime = event
            .uptime
            .map_or("unknown".to_owned(), |s| format!("{s} s"));
        println!("Received class event: FullyBooted (uptime {uptime})");
    });
    manager.on_any_event_with(|event, _manager| {
        println!("Received event: {}", name(event));
    });
    manager.on_orphan_with(|response, _manager| {
        println!(
            "Received orphan response: {}",
            response.response().unwrap_or("?")
        );
    });
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&shutdown);
    manager.on_event_with("Shutdown", move |_event, _manager| {
        println!("Asterisk is shutting down");
        flag.store(true, Ordering::SeqCst);
    });

    // Challenge, then Login with md5(challenge + secret): the secret never
    // crosses the wire. A refused Login is AmiError::Authentication.
    let challenge = match manager.send_action(&Challenge) {
        Ok(c) => c,
        Err(e) => return Failure::from(e).report(NAME),
    };
    let key = md5_key(&challenge, &conn.secret);
    if let Err(e) = manager.send_action(&Login::md5(conn.username.clone(), key)) {
        return Failure::from(e).report(NAME);
    }
    println!("Logged in with an MD5 challenge");
    match manager.send_action(&CoreStatus) {
        Ok(status) => println!("Core status: {} calls", status.current_calls.unwrap_or(0)),
        Err(e) => println!("CoreStatus failed: {e}"),
    }

    // The emulator plays Asterisk shutting down after a second.
    let started = Instant::now();
    let mut shutdown_sent = false;
    while !shutdown.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(seconds) {
        if let Some(server) = &emulator {
            if !shutdown_sent && started.elapsed() >= Duration::from_secs(1) {
                server.push_event(
                    Message::new()
                        .with("Event", "Shutdown")
                        .with("Privilege", "system,all")
                        .with("Shutdown", "Cleanly")
                        .with("Restart", "False"),
                );
                shutdown_sent = true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !shutdown.load(Ordering::SeqCst) {
        let _ = manager.logoff();
        println!("{seconds} s passed; logged off");
    }
    ExitCode::SUCCESS
}
