//! Sends one AMI action and prints the reply, then any list events, in AMI
//! wire form (`Key: Value` lines in received order, a blank line after each
//! message).
//!
//! ```sh
//! cargo run --example ami_action -- CoreShowChannels
//! cargo run --example ami_action -- --addr 127.0.0.1:5038 --username admin Command Command="core show version"
//! ```
//!
//! Exit status: 0 on Success/Follows, 1 on an Error response, 2 on a
//! connection, login or timeout failure (one line on stderr).

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;

use std::io::Write;
use std::process::ExitCode;

use astrix::ami::{AmiError, RawAction, Response};

const USAGE: &str = "usage: ami_action [connection flags] ACTION [Key=Value ...]";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}\n\n{}", ami_conn::CONN_HELP);
        return if args.is_empty() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let conn = match ami_conn::Conn::from_args(&mut args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut it = args.into_iter();
    let Some(name) = it.next() else {
        return fail(USAGE);
    };
    let mut action = RawAction::new(name);
    for kv in it {
        match kv.split_once('=') {
            Some((k, v)) => action.push(k, v),
            None => return fail(&format!("expected Key=Value, got {kv:?}")),
        }
    }
    let (manager, _emulator) = match conn.connect() {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    if let Err(e) = conn.login(&manager) {
        return fail(&e);
    }
    let result = manager.send_action(&action);
    let _ = manager.logoff();
    match result {
        Ok(r) => {
            print_wire(&r);
            ExitCode::SUCCESS
        }
        Err(AmiError::ActionFailed(r)) => {
            print_wire(&r);
            ExitCode::from(1)
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn print_wire(r: &Response) {
    let mut out = Vec::new();
    r.write_wire(&mut out);
    // Wire form with LF line endings, for shells.
    let text = String::from_utf8_lossy(&out).replace("\r\n", "\n");
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("ami_action: {msg}");
    ExitCode::from(2)
}
