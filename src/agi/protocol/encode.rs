//! Command lines: quoting and escaping so that no argument can end the line
//! or split into two arguments (sans-IO).

use std::fmt::Write as _;

use crate::agi::error::{excerpt, AgiError};

/// A command line being built, reused between commands.
///
/// The command's words go in bare ([`CommandLine::word`]); each argument
/// goes through [`quote_arg`] ([`CommandLine::arg`]), which Asterisk's
/// argument splitter reads back as exactly that one argument. An argument
/// holding CR, LF or NUL is refused: the first such error is kept and
/// returned by [`CommandLine::finish`].
#[derive(Debug, Default, Clone)]
pub struct CommandLine {
    buf: String,
    error: Option<AgiError>,
}

impl CommandLine {
    /// An empty line.
    pub fn new() -> CommandLine {
        CommandLine::default()
    }

    /// Empties the line, keeping its buffer.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.error = None;
    }

    /// Appends a command word (`STREAM`, `FILE`) as it is; a word holding
    /// CR, LF or NUL is refused like an argument.
    pub fn word(&mut self, word: &str) -> &mut Self {
        if word.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            let mut scratch = String::new();
            if let (Err(e), None) = (quote_arg(word, &mut scratch), &self.error) {
                self.error = Some(e);
            }
            return self;
        }
        self.space();
        self.buf.push_str(word);
        self
    }

    /// Appends an argument, quoted and escaped where needed.
    pub fn arg(&mut self, arg: &str) -> &mut Self {
        self.space();
        if let Err(e) = quote_arg(arg, &mut self.buf) {
            if self.error.is_none() {
                self.error = Some(e);
            }
        }
        self
    }

    /// Appends a number argument.
    pub fn num<N: std::fmt::Display>(&mut self, n: N) -> &mut Self {
        self.space();
        // Writing to a String can't fail.
        let _ = write!(self.buf, "{n}");
        self
    }

    /// Appends an argument if it is `Some`.
    pub fn opt_arg(&mut self, arg: Option<&str>) -> &mut Self {
        if let Some(a) = arg {
            self.arg(a);
        }
        self
    }

    fn space(&mut self) {
        if !self.buf.is_empty() {
            self.buf.push(' ');
        }
    }

    /// The line so far (without `\n`).
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// Ends the line with `\n` (for transports that send it as is).
    pub(crate) fn push_newline(&mut self) {
        self.buf.push('\n');
    }

    /// The finished line (without `\n`), or the first argument error.
    pub fn finish(&self) -> Result<&str, AgiError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(&self.buf),
        }
    }
}

/// True if `arg` can be sent without quotes.
fn is_bare(arg: &str) -> bool {
    !arg.is_empty()
        && arg
            .bytes()
            .all(|b| !matches!(b, b' ' | b'\t' | b'"' | b'\\' | b'\r' | b'\n' | 0))
}

/// Appends `arg` to `out` so that Asterisk reads it back as one argument:
/// bare when it has no space, tab, quote or backslash and is not empty;
/// otherwise in double quotes with `"` and `\` escaped by a backslash.
///
/// CR, LF (they would end the command line) and NUL (Asterisk would cut
/// the line there) are refused with [`AgiError::InvalidArgument`]; `out`
/// is then left unchanged.
pub fn quote_arg(arg: &str, out: &mut String) -> Result<(), AgiError> {
    if is_bare(arg) {
        out.push_str(arg);
        return Ok(());
    }
    if let Some(bad) = arg.bytes().find(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(AgiError::InvalidArgument {
            argument: excerpt(arg.as_bytes()),
            reason: match bad {
                b'\r' => "it holds a carriage return (CR)",
                b'\n' => "it holds a line feed (LF)",
                _ => "it holds a NUL byte",
            },
        });
    }
    out.reserve(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(())
}
