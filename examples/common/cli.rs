//! The command line of every example, on lexopt: `--help` (or `-h`) prints
//! the help on stdout and exits 0; a usage error (an unknown flag, a missing
//! or bad value, a missing argument) prints `NAME: message`, the synopsis
//! and a hint on stderr and exits 2. Flags take `--flag value` or
//! `--flag=value`; numbers may contain `_` (`100_000`).
//!
//! The exit statuses the examples share: 0 done, [`FAILED`] 1, [`USAGE`] 2,
//! [`NO_CONNECTION`] 3.
//!
//! ```ignore
//! let count = match cli::parse("ami_tail", HELP, |cli| {
//!     let mut count = None;
//!     while let Some(arg) = cli.next()? {
//!         match arg.flag() {
//!             Some("--count") => count = Some(cli.number::<u64>("--count")?),
//!             _ => return Err(arg.unexpected()),
//!         }
//!     }
//!     Ok(count)
//! }) {
//!     Ok(c) => c,
//!     Err(code) => return code,
//! };
//! ```

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;

/// Exit status: the work was done but did not succeed (an `Error`
/// response, a call not answered, an AGI command that failed, an address
/// that cannot be bound).
pub const FAILED: u8 = 1;
/// Exit status: a usage error (the message is on stderr).
pub const USAGE: u8 = 2;
/// Exit status: no connection: Asterisk (or the load generator) cannot be
/// reached, refuses the login, stops answering, or the connection is lost.
pub const NO_CONNECTION: u8 = 3;

/// One argument of the command line, owned, so that the parser can be
/// asked for a flag's value while the argument is being matched.
#[derive(Debug, PartialEq, Eq)]
pub enum Arg {
    /// A flag as the user would type it: `--name` or `-c`.
    Flag(String),
    /// A positional argument.
    Value(OsString),
}

impl Arg {
    /// The flag (`--name`, `-c`), or `None` for a positional argument.
    pub fn flag(&self) -> Option<&str> {
        match self {
            Arg::Flag(f) => Some(f),
            Arg::Value(_) => None,
        }
    }

    /// The usage error for an argument the example does not take.
    pub fn unexpected(self) -> Stop {
        match self {
            Arg::Flag(f) => Stop::Usage(format!("unknown option {f}")),
            Arg::Value(v) => Stop::Usage(format!("unexpected argument {:?}", v.to_string_lossy())),
        }
    }
}

/// Why parsing stopped before the example could run.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help` or `-h` was given.
    Help,
    /// A usage error, with its message.
    Usage(String),
}

impl From<String> for Stop {
    fn from(message: String) -> Self {
        Stop::Usage(message)
    }
}

impl From<&str> for Stop {
    fn from(message: &str) -> Self {
        Stop::Usage(message.to_owned())
    }
}

impl From<lexopt::Error> for Stop {
    fn from(e: lexopt::Error) -> Self {
        Stop::Usage(match e {
            lexopt::Error::UnexpectedValue { option, value } => {
                format!(
                    "{option} takes no value (got {:?})",
                    value.to_string_lossy()
                )
            }
            e => e.to_string(),
        })
    }
}

impl Stop {
    /// Reports the stop: the help on stdout (exit 0), or on stderr
    /// `NAME: message`, the synopsis (the first paragraph of `help`) and a
    /// hint (exit [`USAGE`]).
    pub fn report(self, name: &str, help: &str) -> ExitCode {
        match self {
            Stop::Help => {
                // A closed stdout (`--help | head -1`) is not an error.
                let _ = writeln!(std::io::stdout(), "{help}");
                ExitCode::SUCCESS
            }
            Stop::Usage(message) => {
                eprintln!(
                    "{name}: {message}\n{}\nTry '{name} --help' for more.",
                    synopsis(help)
                );
                ExitCode::from(USAGE)
            }
        }
    }
}

/// The synopsis of a help text: its first paragraph.
pub fn synopsis(help: &str) -> &str {
    help.split_once("\n\n").map_or(help, |(first, _)| first)
}

/// The command line being read.
pub struct Cli {
    parser: lexopt::Parser,
}

impl Cli {
    /// A command line of `args` (without the program name), for tests.
    pub fn from_args<I>(args: I) -> Cli
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        Cli {
            parser: lexopt::Parser::from_args(args),
        }
    }

    /// The next argument, `None` at the end. `--help` and `-h` stop with
    /// [`Stop::Help`].
    pub fn next(&mut self) -> Result<Option<Arg>, Stop> {
        Ok(match self.parser.next()? {
            None => None,
            Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h')) => return Err(Stop::Help),
            Some(lexopt::Arg::Long(name)) => Some(Arg::Flag(format!("--{name}"))),
            Some(lexopt::Arg::Short(c)) => Some(Arg::Flag(format!("-{c}"))),
            Some(lexopt::Arg::Value(v)) => Some(Arg::Value(v)),
        })
    }

    /// The value of `flag`, as given (a path, say).
    pub fn value_os(&mut self, flag: &str) -> Result<OsString, Stop> {
        self.parser
            .value()
            .map_err(|_| Stop::Usage(format!("{flag} needs a value")))
    }

    /// The value of `flag`, as text.
    pub fn string(&mut self, flag: &str) -> Result<String, Stop> {
        let v = self.value_os(flag)?;
        v.into_string()
            .map_err(|v| Stop::Usage(format!("{flag} {:?}: not UTF-8", v.to_string_lossy())))
    }

    /// The value of `flag`, a number (`_` allowed between digits).
    pub fn number<T>(&mut self, flag: &str) -> Result<T, Stop>
    where
        T: FromStr,
        T::Err: Display,
    {
        let v = self.string(flag)?;
        v.replace('_', "")
            .parse()
            .map_err(|e| Stop::Usage(format!("{flag} {v:?}: not a valid number ({e})")))
    }
}

/// Reads the process's command line with `parse`. `Err` carries the exit
/// code to return from `main` once [`Stop::report`] has printed the help or
/// the usage error.
pub fn parse<T>(
    name: &str,
    help: &str,
    parse: impl FnOnce(&mut Cli) -> Result<T, Stop>,
) -> Result<T, ExitCode> {
    let mut cli = Cli {
        parser: lexopt::Parser::from_env(),
    };
    parse(&mut cli).map_err(|stop| stop.report(name, help))
}

/// Prints `NAME: message` on stderr and returns the exit `code`.
pub fn fail(name: &str, code: u8, message: impl Display) -> ExitCode {
    eprintln!("{name}: {message}");
    ExitCode::from(code)
}

/// What ends a run early: the exit code and the message for stderr.
#[derive(Debug)]
pub struct Failure {
    /// The exit code ([`FAILED`], [`NO_CONNECTION`], ...).
    pub code: u8,
    /// One line for stderr.
    pub message: String,
}

impl Failure {
    /// Prints `NAME: message` on stderr and returns the exit code.
    pub fn report(self, name: &str) -> ExitCode {
        fail(name, self.code, self.message)
    }
}

/// Gives any error an exit code: `manager.login(..).or_exit(NO_CONNECTION)?`.
pub trait OrExit<T> {
    /// The error, with its message, as a [`Failure`] with exit `code`.
    fn or_exit(self, code: u8) -> Result<T, Failure>;
}

impl<T, E: Into<Box<dyn std::error::Error>>> OrExit<T> for Result<T, E> {
    fn or_exit(self, code: u8) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            code,
            // The error and its sources, each cause once.
            message: astrix::ErrorChain(&*e.into()).to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_values_and_numbers() {
        let mut cli = Cli::from_args(["--count", "1_000", "--name=x", "pos", "-v"]);
        assert_eq!(cli.next(), Ok(Some(Arg::Flag("--count".into()))));
        assert_eq!(cli.number::<u64>("--count"), Ok(1000));
        assert_eq!(cli.next(), Ok(Some(Arg::Flag("--name".into()))));
        assert_eq!(cli.string("--name"), Ok("x".into()));
        assert_eq!(cli.next(), Ok(Some(Arg::Value("pos".into()))));
        assert_eq!(cli.next(), Ok(Some(Arg::Flag("-v".into()))));
        assert_eq!(cli.next(), Ok(None));
    }

    #[test]
    fn help_stops_wherever_it_is_unless_after_dashes() {
        for args in [&["--help"][..], &["-h"], &["x", "--help", "--bogus"]] {
            let mut cli = Cli::from_args(args);
            let stop = loop {
                match cli.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("no stop for {args:?}"),
                    Err(stop) => break stop,
                }
            };
            assert_eq!(stop, Stop::Help, "{args:?}");
        }
        let mut cli = Cli::from_args(["--", "--help"]);
        assert_eq!(cli.next(), Ok(Some(Arg::Value("--help".into()))));
    }

    fn usage<T>(message: &str) -> Result<T, Stop> {
        Err(Stop::Usage(message.into()))
    }

    #[test]
    fn usage_errors_name_the_flag() {
        let mut cli = Cli::from_args(["--count", "many"]);
        cli.next().ok();
        assert_eq!(
            cli.number::<u32>("--count"),
            usage("--count \"many\": not a valid number (invalid digit found in string)")
        );
        let mut cli = Cli::from_args(["--count"]);
        cli.next().ok();
        assert_eq!(cli.number::<u32>("--count"), usage("--count needs a value"));
        let mut cli = Cli::from_args(["--tls=yes"]);
        assert_eq!(cli.next(), Ok(Some(Arg::Flag("--tls".into()))));
        assert_eq!(cli.next(), usage("--tls takes no value (got \"yes\")"));
        assert_eq!(
            Arg::Flag("--bogus".into()).unexpected(),
            Stop::Usage("unknown option --bogus".into())
        );
        assert_eq!(
            Arg::Value("x".into()).unexpected(),
            Stop::Usage("unexpected argument \"x\"".into())
        );
    }

    #[test]
    fn the_synopsis_is_the_first_paragraph() {
        assert_eq!(
            synopsis("usage: x [-y]\n  [-z]\n\nMore."),
            "usage: x [-y]\n  [-z]"
        );
        assert_eq!(synopsis("usage: x"), "usage: x");
    }

    #[test]
    fn any_error_gets_an_exit_code() {
        let f = Err::<(), _>("refused").or_exit(NO_CONNECTION).unwrap_err();
        assert_eq!((f.code, f.message.as_str()), (3, "refused"));
    }
}
