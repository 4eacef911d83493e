//! [`Agi`]: one AGI session over any `BufRead` + `Write` pair, the adapter
//! of classic stdin/stdout scripts and of FastAGI. It reads lines and writes
//! command lines; every limit is the sans-IO parsers' (`protocol/`).

use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::error::{AgiError, HangupReason};
use super::execute::AgiExecute;
use super::protocol::command::check_len;
use super::protocol::lines::LineParser;
use super::protocol::{
    finish_command, AgiCommand, CommandLine, EnvParser, Environment, Limits, Reply, ReplyEvent,
    ReplyParser,
};

/// An AGI session: the environment Asterisk sent, and [`Agi::execute`] to
/// run commands, over any reader/writer pair — stdin/stdout for classic
/// scripts ([`Agi::stdio`]), a TCP stream for FastAGI, pipes or sockets in
/// tests.
///
/// Once the channel has hung up (a `HANGUP` line, SIGHUP, a closed
/// stream), every later command fails at once with
/// [`AgiError::Hangup`].
///
/// ```
/// use std::io::Cursor;
/// use astrix::agi::{Agi, commands::{Answer, GetVariable}};
///
/// // What Asterisk would send: the environment, then one reply per command.
/// let from_asterisk = "agi_request: demo.agi\nagi_channel: PJSIP/100-00000001\n\
///                      agi_arg_1: hello\n\n200 result=0\n200 result=1 (5551234)\n";
/// let mut to_asterisk = Vec::new();
/// let mut agi = Agi::new(Cursor::new(from_asterisk), &mut to_asterisk)?;
/// assert_eq!(agi.environment().args(), ["hello"]);
/// agi.execute(&Answer)?;
/// let cid = agi.execute(&GetVariable::new("CALLERID(num)"))?;
/// assert_eq!(cid.as_deref(), Some("5551234"));
/// drop(agi);
/// assert_eq!(to_asterisk, b"ANSWER\nGET VARIABLE CALLERID(num)\n");
/// # Ok::<(), astrix::agi::AgiError>(())
/// ```
pub struct Agi<R, W> {
    reader: R,
    writer: W,
    env: Environment,
    limits: Limits,
    line: CommandLine,
    input: Vec<u8>,
    parser: ReplyParser,
    hangup: Option<HangupReason>,
    sighup: Option<Arc<AtomicBool>>,
}

impl<R, W> std::fmt::Debug for Agi<R, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agi")
            .field("channel", &self.env.channel())
            .field("hangup", &self.hangup)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead, W: Write> Agi<R, W> {
    /// Reads the environment from `reader` (blocking until its blank line)
    /// and returns the session. Fails on a malformed or oversized
    /// environment, or with [`AgiError::Hangup`] if the stream ends first.
    pub fn new(reader: R, writer: W) -> Result<Self, AgiError> {
        Self::with_limits(reader, writer, Limits::default())
    }

    /// [`Agi::new`] with other [`Limits`].
    pub fn with_limits(reader: R, writer: W, limits: Limits) -> Result<Self, AgiError> {
        let mut agi = Self::with_environment(reader, writer, Environment::default(), limits);
        let mut parser = EnvParser::new(limits);
        loop {
            read_line(&mut agi.reader, &mut agi.input, |pending| {
                parser.check_partial(pending)
            })?;
            if let Some(env) = parser.push_line(&agi.input)? {
                agi.env = env;
                return Ok(agi);
            }
        }
    }

    /// A session whose environment was already read elsewhere.
    pub fn with_environment(reader: R, writer: W, env: Environment, limits: Limits) -> Self {
        Agi {
            reader,
            writer,
            env,
            limits,
            line: CommandLine::new(),
            input: Vec::with_capacity(256),
            parser: ReplyParser::new(limits),
            hangup: None,
            sighup: None,
        }
    }

    /// The `agi_*` variables Asterisk sent.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// Watches `flag` (set by a SIGHUP handler): once it is set, the next
    /// command fails with [`AgiError::Hangup`]`(Signal)`.
    pub fn set_hangup_flag(&mut self, flag: Arc<AtomicBool>) {
        self.sighup = Some(flag);
    }

    /// Why the session is hung up, if it is.
    pub fn hangup_reason(&mut self) -> Option<HangupReason> {
        if self.hangup.is_none() {
            if let Some(flag) = &self.sighup {
                if flag.load(Ordering::Relaxed) {
                    self.hangup = Some(HangupReason::Signal);
                }
            }
        }
        self.hangup
    }

    /// True once the channel hung up.
    pub fn is_hung_up(&mut self) -> bool {
        self.hangup_reason().is_some()
    }

    /// Sends `command`, waits for its reply and returns its typed output.
    ///
    /// Blocks until Asterisk answers (as long as the command runs: EXEC
    /// Dial can take the whole call), bounded only by the transport's read
    /// timeout. Fails with the error the reply means (see [`AgiError`]),
    /// at once with [`AgiError::Hangup`] after a hangup, and with
    /// [`AgiError::InvalidArgument`] before sending anything if an
    /// argument holds CR, LF or NUL.
    pub fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        let reply = self.execute_reply(command)?;
        finish_command(command, reply)
    }

    /// Sends `command` and returns its raw [`Reply`], without interpreting
    /// it.
    pub fn execute_reply<C: AgiCommand + ?Sized>(
        &mut self,
        command: &C,
    ) -> Result<Reply, AgiError> {
        if let Some(reason) = self.hangup_reason() {
            return Err(AgiError::Hangup(reason));
        }
        self.line.clear();
        command.encode(&mut self.line);
        let text = self.line.finish()?;
        check_len(text, &self.limits)?;
        self.line.push_newline();
        let sent = self
            .writer
            .write_all(self.line.as_str().as_bytes())
            .and_then(|()| self.writer.flush());
        if let Err(e) = sent {
            return Err(self.fail(AgiError::from_io(e)));
        }
        self.read_reply()
    }

    fn read_reply(&mut self) -> Result<Reply, AgiError> {
        loop {
            let read = read_line(&mut self.reader, &mut self.input, |pending| {
                self.parser.check_partial(pending)
            });
            if let Err(e) = read {
                self.parser = ReplyParser::new(self.limits);
                return Err(self.fail(e));
            }
            match self.parser.push_line(&self.input)? {
                None | Some(ReplyEvent::Trying(_)) => continue,
                Some(ReplyEvent::Hangup) => {
                    return Err(self.fail(AgiError::Hangup(HangupReason::HangupLine)));
                }
                Some(ReplyEvent::Reply(reply)) => return Ok(reply),
            }
        }
    }

    fn fail(&mut self, err: AgiError) -> AgiError {
        if let AgiError::Hangup(reason) = err {
            self.hangup.get_or_insert(reason);
        }
        err
    }

    /// The reader and writer, e.g. to close a connection.
    pub fn into_parts(self) -> (R, W) {
        (self.reader, self.writer)
    }

    /// The writer (e.g. the TCP stream, to set options).
    pub fn writer(&self) -> &W {
        &self.writer
    }
}

/// Reads one line, its `\n` included, into `line`.
///
/// Before buffering more of a line, asks `check` (the parser that will take
/// the line) whether a line that long is still within its limits: a peer
/// can't make the session buffer without end, and the limit and its error
/// are the parser's.
fn read_line<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    mut check: impl FnMut(usize) -> Result<(), AgiError>,
) -> Result<(), AgiError> {
    line.clear();
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(AgiError::from_io(e)),
        };
        if buf.is_empty() {
            return Err(AgiError::Hangup(HangupReason::Closed));
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                check(line.len() + i)?;
                line.extend_from_slice(&buf[..=i]);
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                check(line.len() + n)?;
                line.extend_from_slice(buf);
                reader.consume(n);
            }
        }
    }
}

impl<R: BufRead, W: Write> AgiExecute for Agi<R, W> {
    fn execute<C: AgiCommand + ?Sized>(&mut self, command: &C) -> Result<C::Output, AgiError> {
        Agi::execute(self, command)
    }
    fn environment(&self) -> &Environment {
        Agi::environment(self)
    }
}

impl Agi<io::StdinLock<'static>, io::Stdout> {
    /// The session of a classic AGI script: reads the environment from
    /// stdin, writes commands to stdout, and installs a SIGHUP handler so
    /// that once Asterisk signals the hangup the next command fails with
    /// [`AgiError::Hangup`]`(Signal)`.
    ///
    /// SIGHUP exists on Unix only. Elsewhere (Asterisk does not run there;
    /// this keeps the crate compiling) no handler is installed, and a
    /// hangup shows when Asterisk sends `HANGUP` or closes stdin
    /// ([`AgiError::Hangup`]`(HangupLine)` or `(Closed)`).
    ///
    /// Blocks until the environment is read. Nothing else may read stdin
    /// or write stdout meanwhile: log to stderr.
    pub fn stdio() -> Result<Self, AgiError> {
        // Installed before the environment is read: SIGHUP's default
        // action ends the process.
        #[cfg(unix)]
        let flag = sighup_flag();
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut agi = Agi::new(io::stdin().lock(), io::stdout())?;
        #[cfg(unix)]
        agi.set_hangup_flag(flag);
        Ok(agi)
    }
}

/// A flag that a SIGHUP handler sets (left unset, with a warning, if the
/// handler cannot be installed).
#[cfg(unix)]
fn sighup_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&flag)) {
        log::warn!("can't install a SIGHUP handler: {e}");
    }
    flag
}
