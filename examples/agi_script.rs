//! A classic AGI script (stdin/stdout) running the demo script.
//!
//! ```text
//! cargo build --example agi_script
//! # dialplan: same => n,AGI(/path/to/target/debug/examples/agi_script,a,b)
//! ```
//!
//! Logs go to stderr. Exit codes: 0 when the script ran (or the caller
//! hung up), 1 when an AGI command failed, 2 for bad options.

#[path = "common/demo.rs"]
mod demo;
#[path = "common/logger.rs"]
mod logger;

use std::process::ExitCode;

use astrix::agi::Agi;

const USAGE: &str = "usage: agi_script [--help]

A classic AGI script: Asterisk starts it with AGI(/path/to/agi_script,ARG1,ARG2)
and talks to it over stdin/stdout. It answers, reads CALLERID(num), sets
ASTRIX_ARGS, ASTRIX_NAME (empty here) and ASTRIX_CID, plays beep, logs
\"astrix demo done\", and returns to the dialplan.";

fn main() -> ExitCode {
    logger::init(log::LevelFilter::Warn);
    if let Some(arg) = std::env::args().nth(1) {
        if arg == "--help" || arg == "-h" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        // Asterisk passes the AGI() arguments on the command line too;
        // they are also in the environment (agi_arg_N), which is what we use.
    }
    let mut agi = match Agi::stdio() {
        Ok(agi) => agi,
        Err(e) => {
            log::error!("no AGI environment on stdin: {e}");
            return ExitCode::from(1);
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
            ExitCode::from(1)
        }
    }
}
