//! `conf_dump PATH`: reads an Asterisk `.conf` file (and its includes) and
//! prints the resolved configuration in a stable form: each real category
//! in file order as `[name]`, then one `key = value` line per value, in
//! order, inherited values first; a blank line between categories;
//! templates left out.
//!
//! Exit status: 0 when the file was read, 1 with `file:line: message` on
//! standard error when it could not be (unreadable, or a parse error), 2 on
//! a usage error. Warnings (lines Asterisk would ignore) go to standard
//! error too.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use astrix::config::Config;

use cli::{Arg, FAILED};

const HELP: &str = "usage: conf_dump PATH

Reads an Asterisk .conf file (and its includes) and prints the resolved
configuration: each category in file order as [name], then one
key = value line per value, inherited values first; a blank line between
categories; templates left out. Warnings (lines Asterisk would ignore) go
to stderr as file:line: warning: message.

exit status:
  0  the file was read
  1  it could not be (unreadable, or a parse error): file:line: message on stderr
  2  usage error";

fn main() -> ExitCode {
    let path = match cli::parse("conf_dump", HELP, |cli| {
        let mut path = None;
        while let Some(arg) = cli.next()? {
            match arg {
                Arg::Value(p) if path.is_none() => path = Some(p),
                arg => return Err(arg.unexpected()),
            }
        }
        Ok(path.ok_or("missing PATH")?)
    }) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let config = match Config::from_path(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(FAILED);
        }
    };
    for w in config.warnings() {
        eprintln!("{}:{}: warning: {}", w.file.display(), w.line, w.kind);
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let _ = dump(&config, &mut out).and_then(|()| out.flush());
    ExitCode::SUCCESS
}

fn dump(config: &Config, out: &mut impl Write) -> std::io::Result<()> {
    for (i, cat) in config.categories().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "[{}]", cat.name())?;
        for v in cat.variables() {
            writeln!(out, "{} = {}", v.name(), v.value())?;
        }
    }
    Ok(())
}
