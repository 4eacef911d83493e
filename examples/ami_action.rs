//! Sends one AMI action and prints the reply, then any list events, in AMI
//! wire form (`Key: Value` lines in received order, a blank line after each
//! message).
//!
//! ```sh
//! cargo run --example ami_action -- CoreShowChannels
//! cargo run --example ami_action -- --addr 127.0.0.1:5038 --username admin Command Command="core show version"
//! ```
//!
//! Exit status: 0 on Success/Follows, 1 on an Error response (or a
//! malformed reply), 2 on a usage error, 3 on a connection, login or
//! timeout failure (one line on stderr).

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::io::Write;
use std::process::ExitCode;

use astrix::ami::{AmiError, RawAction, Response};

use cli::{Arg, Failure, FAILED, USAGE};

const NAME: &str = "ami_action";

fn help() -> String {
    format!(
        "usage: ami_action [connection flags] ACTION [Key=Value ...]

Sends one AMI action and prints the reply, then any list events, in AMI
wire form (Key: Value lines, a blank line after each message).

{}

exit status:
  0  Success (or Follows)
  1  an Error response (printed like a success), or a malformed reply
  2  usage error
  3  no connection: cannot connect or log in, or no reply in time",
        ami_conn::CONN_HELP
    )
}

fn main() -> ExitCode {
    let help = help();
    let (conn, action) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let mut action: Option<RawAction> = None;
        while let Some(arg) = cli.next()? {
            let Arg::Value(v) = arg else {
                conn.take(arg, cli)?;
                continue;
            };
            let v = v
                .into_string()
                .map_err(|v| format!("{:?}: not UTF-8", v.to_string_lossy()))?;
            match &mut action {
                None => action = Some(RawAction::new(v)),
                Some(a) => match v.split_once('=') {
                    Some((k, val)) => a.push(k, val),
                    None => return Err(format!("expected Key=Value, got {v:?}").into()),
                },
            }
        }
        let action = action.ok_or("missing ACTION")?;
        Ok((conn.finish()?, action))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let (manager, _emulator) = match conn.connect() {
        Ok(m) => m,
        Err(f) => return f.report(NAME),
    };
    if let Err(f) = conn.login(&manager) {
        return f.report(NAME);
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
            ExitCode::from(FAILED)
        }
        // A header or value the wire cannot carry (a line break, say).
        Err(e @ AmiError::Encode(_)) => cli::fail(NAME, USAGE, e),
        Err(e) => Failure::from(e).report(NAME),
    }
}

fn print_wire(r: &Response) {
    let mut out = Vec::new();
    r.write_wire(&mut out);
    // Wire form with LF line endings, for shells.
    let text = String::from_utf8_lossy(&out).replace("\r\n", "\n");
    let _ = std::io::stdout().write_all(text.as_bytes());
}
