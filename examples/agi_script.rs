//! A classic AGI script (stdin/stdout) running the demo script.
//!
//! ```text
//! cargo build --example agi_script
//! # dialplan: same => n,AGI(/path/to/target/debug/examples/agi_script,a,b)
//! ```
//!
//! Logs go to stderr. Exit codes: 0 when the script ran (or the caller
//! hung up), 1 when there is no AGI environment on stdin or an AGI command
//! failed, 2 for bad options.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
#[path = "common/demo.rs"]
mod demo;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;

use astrix::agi::Agi;

use cli::{Arg, FAILED};

const NAME: &str = "agi_script";

const HELP: &str = "usage: agi_script [ARG ...]

A classic AGI script: Asterisk starts it with AGI(/path/to/agi_script,ARG1,ARG2)
and talks to it over stdin/stdout. It answers, reads CALLERID(num), sets
ASTRIX_ARGS, ASTRIX_NAME (empty here) and ASTRIX_CID, plays beep, logs
\"astrix demo done\", and returns to the dialplan. The arguments are read
from the AGI environment (agi_arg_N); those on the command line are
ignored (one that starts with - must come after --). Logs go to stderr
(ASTRIX_LOG=debug for more).

exit status:
  0  the script ran, or the caller hung up
  1  no AGI environment on stdin, or an AGI command failed
  2  usage error";

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    let parsed = cli::parse(NAME, HELP, |cli| {
        // Asterisk passes the AGI() arguments on the command line too;
        // they are also in the environment (agi_arg_N), which is what we use.
        while let Some(arg) = cli.next()? {
            if let Arg::Flag(_) = arg {
                return Err(arg.unexpected());
            }
        }
        Ok(())
    });
    if let Err(code) = parsed {
        return code;
    }
    let mut agi = match Agi::stdio() {
        Ok(agi) => agi,
        Err(e) => {
            log::error!("no AGI environment on stdin: {e}");
            return ExitCode::from(FAILED);
        }
    };
    match demo::run_demo(&mut agi, "") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_hangup() => {
            log::info!("caller hung up: {e}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("AGI failed: {e}");
            ExitCode::from(FAILED)
        }
    }
}
