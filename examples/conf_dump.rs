//! `conf_dump PATH`: reads an Asterisk `.conf` file (and its includes) and
//! prints the resolved configuration in a stable form: each real category
//! in file order as `[name]`, then one `key = value` line per value, in
//! order, inherited values first; a blank line between categories;
//! templates left out.
//!
//! Exit status: 0 when the file was read, 2 with `file:line: message` on
//! standard error when it could not be (unreadable, or a parse error).
//! Warnings (lines Asterisk would ignore) go to standard error too.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use astrix::config::Config;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: conf_dump PATH");
        return ExitCode::from(2);
    };
    let config = match Config::from_path(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
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
