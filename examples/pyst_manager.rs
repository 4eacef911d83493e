//! pyst's everyday calls: `manager.command()` (a CLI command's output
//! over AMI, its lines kept as they come, empty ones too) and
//! `asterisk.config.Config` (categories and their items).
//!
//! ```sh
//! cargo run --example pyst_manager                       # the emulator, a built-in sample file
//! cargo run --example pyst_manager -- --addr 127.0.0.1:5038 --username admin --secret wordpass \
//!     --config /etc/asterisk/manager.conf
//! ```
//!
//! Exit status: 0 when done, 1 when a command fails or the file cannot be
//! read (`file:line: message` on stderr), 2 on a usage error, 3 when
//! Asterisk cannot be reached or refuses the login.

#[allow(dead_code)]
#[path = "common/ami_conn.rs"]
mod ami_conn;
#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::process::ExitCode;

use astrix::ami::actions::Command;
use astrix::config::Config;

use cli::{Failure, FAILED};

const NAME: &str = "pyst_manager";

/// The file read when `--config` is not given: a manager.conf in the
/// shape pyst's users read.
const SAMPLE: &str = "\
[general]
enabled = yes
port = 5038

[admin]
secret = wordpass
read = all
write = all
";

fn help() -> String {
    format!(
        "usage: pyst_manager [connection flags] [--command LINE]... [--config FILE]

pyst's manager.command() and asterisk.config.Config: runs CLI commands over
AMI and prints their output, then prints a .conf file's categories and
items.

  --command LINE   a CLI command (default: core show version, then
                   core show channels); may repeat
  --config FILE    the .conf file to read (default: a built-in manager.conf)
{}

exit status:
  0  done
  1  a command failed, or the file cannot be read
  2  usage error
  3  no connection: cannot connect or log in",
        ami_conn::CONN_HELP
    )
}

fn main() -> ExitCode {
    let help = help();
    let (conn, mut commands, config) = match cli::parse(NAME, &help, |cli| {
        let mut conn = ami_conn::Conn::new();
        let mut commands = Vec::new();
        let mut config = None;
        while let Some(arg) = cli.next()? {
            match arg.flag() {
                Some("--command") => commands.push(cli.string("--command")?),
                Some("--config") => config = Some(cli.value_os("--config")?),
                _ => conn.take(arg, cli)?,
            }
        }
        Ok((conn.finish()?, commands, config))
    }) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    if commands.is_empty() {
        commands = vec!["core show version".into(), "core show channels".into()];
    }

    // pyst: manager = asterisk.manager.Manager(); manager.connect(host);
    // manager.login(user, secret)
    let (manager, _emulator) = match conn.connect() {
        Ok(m) => m,
        Err(f) => return f.report(NAME),
    };
    if let Err(f) = conn.login(&manager) {
        return f.report(NAME);
    }
    // pyst: print(manager.command('core show channels').data)
    for line in &commands {
        match manager.send_action(&Command::new(line.as_str())) {
            Ok(out) => {
                println!("> {line}");
                for l in &out.lines {
                    println!("{l}");
                }
            }
            Err(e) => {
                let _ = manager.logoff();
                return Failure::from(e).report(NAME);
            }
        }
    }
    // pyst: manager.logoff(); manager.close()
    let _ = manager.logoff();

    // pyst: for c in asterisk.config.Config(path).categories: …
    let parsed = match &config {
        Some(path) => Config::from_path(path),
        None => Config::parse_str(SAMPLE),
    };
    let cfg = match parsed {
        Ok(c) => c,
        // `file:line: message`, or `file: message` for a missing file.
        Err(e) => return cli::fail(NAME, FAILED, e),
    };
    for w in cfg.warnings() {
        eprintln!("{NAME}: warning: {w}");
    }
    for category in cfg.categories() {
        println!("[{}]", category.name());
        for item in category.variables() {
            println!("  {} = {}", item.name(), item.value());
        }
    }
    ExitCode::SUCCESS
}
