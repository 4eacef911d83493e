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
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use astrix::ami::actions::Originate;
use astrix::ami::Message;

const NAME: &str = "ami_tail";

fn help() -> String {
    format!(
        "usage: ami_tail [connection flags] [--count N]

Prints every AMI event in wire form (Key: Value lines, a blank line after
each) until N events, the end of the stream, or Ctrl-C. Against the
built-in emulator, a short call is placed so that there is something to see.

  --count N           stop after N events

{}

exit status:
  0  done (N events, or the connection ended: a note on stderr)
  2  usage error
  3  no connection: cannot connect or log in",
        ami_conn::CONN_HELP
    )
}

fn main() -> ExitCode {
    let help = help();
    let (conn, count) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let mut count: Option<u64> = None;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--count") => count = Some(cli.number("--count")?),
                _ => conn.take(arg, cli)?,
            }
        }
        Ok((conn.finish()?, count))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let (manager, emulator) = match conn.connect() {
        Ok(m) => m,
        Err(f) => return f.report(NAME),
    };
    let (tx, rx) = crossbeam_channel::unbounded::<Message>();
    manager.on_any_event(move |e| {
        let _ = tx.send(e.clone());
    });
    if let Err(f) = conn.login(&manager) {
        return f.report(NAME);
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
        eprintln!("{NAME}: connection ended ({r}) after {seen} event(s)");
    }
    ExitCode::SUCCESS
}
