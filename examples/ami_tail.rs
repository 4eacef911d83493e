//! Prints every AMI event in wire form (`Key: Value` lines, a blank line
//! after each) until `--count N` events, the end of the stream, or Ctrl-C.
//!
//! ```sh
//! cargo run --example ami_tail -- --count 5     # the emulator plays a short call
//! cargo run --example ami_tail -- --addr 127.0.0.1:5038 --username admin
//! ```

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use astrix::ami::actions::Originate;
use astrix::ami::Message;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: ami_tail [connection flags] [--count N]\n\n{}",
            ami_conn::CONN_HELP
        );
        return ExitCode::SUCCESS;
    }
    let conn = match ami_conn::Conn::from_args(&mut args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut count: Option<u64> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let v = match a.as_str() {
            "--count" => it.next(),
            s if s.starts_with("--count=") => Some(s["--count=".len()..].to_owned()),
            other => return fail(&format!("unknown argument {other:?}")),
        };
        match v.and_then(|v| v.parse().ok()) {
            Some(n) => count = Some(n),
            None => return fail("--count needs a number"),
        }
    }
    let (manager, emulator) = match conn.connect() {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    let (tx, rx) = crossbeam_channel::unbounded::<Message>();
    manager.on_any_event(move |e| {
        let _ = tx.send(e.clone());
    });
    if let Err(e) = conn.login(&manager) {
        return fail(&e);
    }
    if emulator.is_some() {
        // Something to watch: a short call, placed from a second connection.
        let conn2 = ami_conn::Conn {
            addr: emulator.as_ref().map(|s| s.addr()),
            ..conn
        };
        std::thread::spawn(move || {
            if let Ok((m, _)) = conn2.connect() {
                if conn2.login(&m).is_ok() {
                    let o =
                        Originate::to_extension("Local/100@test", "test", "100", 1).async_(true);
                    let _ = m.send_action(&o);
                    std::thread::sleep(Duration::from_millis(300));
                    let _ = m.logoff();
                }
            }
        });
    }
    let stdout = std::io::stdout();
    let mut seen = 0u64;
    loop {
        if count.is_some_and(|n| seen >= n) {
            break;
        }
        let e = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(e) => e,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if manager.is_connected() {
                    continue;
                }
                break;
            }
            Err(_) => break,
        };
        let mut out = stdout.lock();
        if write!(out, "{e}").and_then(|_| out.flush()).is_err() {
            break; // the pipe reader went away
        }
        seen += 1;
    }
    if manager.is_connected() {
        let _ = manager.logoff();
    }
    if let Some(r) = manager.disconnect_reason() {
        eprintln!("ami_tail: {seen} events; connection ended: {r}");
    }
    ExitCode::SUCCESS
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("ami_tail: {msg}");
    ExitCode::from(2)
}
